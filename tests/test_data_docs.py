"""The examples in the data layer's docstrings run and print what they say (those that need the
network or a data set on disk are marked to be skipped)."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "dlclassics.data.archive",
    "dlclassics.data.catalog",
    "dlclassics.data.commands",
    "dlclassics.data.fetch",
    "dlclassics.data.images",
    "dlclassics.data.manifest",
    "dlclassics.data.registry",
    "dlclassics.data.root",
    "dlclassics.data.staging",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))  # cache_dir's example creates a folder
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS, verbose=False)
    assert result.failed == 0
