"""The sentiment model packaged with dlclassics: the file its card describes, the accuracy it
records, and ``dlc sentiment predict`` using it when no checkpoint is given."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from dlclassics.cli import main
from dlclassics.data.manifest import sha256_file
from dlclassics.sentiment.classifier import load_classifier, sentence_logits
from dlclassics.sentiment.packaged import CARD_TEXT, MODEL, MOST_BYTES, read_card
from dlclassics.sentiment.text import read_sentences

pytestmark = pytest.mark.usefixtures("one_torch_thread")  # conftest.py


def test_the_packaged_file_is_the_one_its_card_describes() -> None:
    card = read_card()
    assert MODEL.stat().st_size <= MOST_BYTES
    assert sha256_file(MODEL) == card["sha256"]
    assert card["sha256"] in CARD_TEXT.read_text(encoding="utf-8")
    assert load_classifier(MODEL).config.model == card["model"]


def test_the_packaged_model_reproduces_its_recorded_dev_accuracy(yelp_root: Path) -> None:
    dev = read_sentences(yelp_root / "dev.txt", True)
    logits = sentence_logits(load_classifier(MODEL), dev.sentences)  # (N,)
    correct = int(((logits >= 0).long() == torch.tensor(dev.labels)).sum())
    assert correct == round(read_card()["dev_accuracy"] * len(dev))


def test_predict_without_a_checkpoint_uses_the_packaged_model(tmp_path: Path, capsys) -> None:
    reviews = tmp_path / "reviews.txt"
    reviews.write_text("the food was wonderful and the staff friendly\nawful , cold and rude\n")
    assert main(["sentiment", "predict", str(reviews)]) == 0
    captured = capsys.readouterr()
    assert captured.out.split() == ["1", "0"]
    assert "using the packaged" in captured.err


def test_predict_without_checkpoint_or_input_is_one_line(capsys) -> None:
    assert main(["sentiment", "predict"]) == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line.startswith("dlc: error:") and "no input" in line
