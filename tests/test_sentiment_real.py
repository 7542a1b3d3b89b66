"""Quick runs on the real Yelp sentences: small models clearly beat chance, and their ensemble
is scored on dev and test."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from dlclassics.sentiment.compare import ensemble_row, train_models
from dlclassics.sentiment.config import preset
from dlclassics.sentiment.predict import predict_file
from dlclassics.sentiment.run import load, train


def test_bag_of_words_on_yelp_beats_chance(yelp_root: Path, tmp_path: Path) -> None:
    config = replace(preset("bow"), data=str(yelp_root), out=str(tmp_path), epochs=2)
    metrics = train(replace(config, train_limit=10_000)).details
    assert metrics["sentences"] == {"train": 10_000, "dev": 10_000, "test": 10_000}
    assert metrics["accuracy"]["test"] > 0.88  # balanced classes: chance is 50 %
    assert (tmp_path / "metrics.json").is_file() and (tmp_path / "confusion.png").is_file()


def test_ensemble_row_scores_the_dev_chosen_members_on_test(
    yelp_root: Path, tmp_path: Path
) -> None:
    configs = [
        replace(preset(name), data=str(yelp_root), epochs=1, train_limit=4_000, seed=seed)
        for name, seed in (("bow", 0), ("avg", 1))
    ]
    rows = train_models(configs, tmp_path)
    row = ensemble_row(rows, yelp_root, tmp_path)
    assert row["members"] == ["bow", "avg"] and row["model"] == "ensemble: bow + avg"
    assert row["ours"]["test"] > 0.8 and set(row["ours"]) == {"dev", "test"}
    # `dlc sentiment predict` with both checkpoints is the same ensemble
    checkpoints = [tmp_path / name / "best.pt" for name in row["members"]]
    for split in ("dev", "test"):
        predictions = predict_file(load(checkpoints), yelp_root / f"{split}.txt")
        right = [row.label == row.true for row in predictions.rows]
        assert sum(right) / len(right) == pytest.approx(row["ours"][split], abs=1e-5)
        assert len(predictions.member_accuracies) == 2
