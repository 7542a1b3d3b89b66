"""The examples in the NumPy layers' docstrings run and print what they say."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "dlclassics.numpy_nn",
    "dlclassics.numpy_nn.activations",
    "dlclassics.numpy_nn.attention",
    "dlclassics.numpy_nn.commands",
    "dlclassics.numpy_nn.gradchecks",
    "dlclassics.numpy_nn.gradient_check",
    "dlclassics.numpy_nn.layers",
    "dlclassics.numpy_nn.optim",
    "dlclassics.numpy_nn.rnn_layers",
    "dlclassics.numpy_nn.validation",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS, verbose=False)
    assert result.attempted > 0, f"{name} has no examples"
    assert result.failed == 0
