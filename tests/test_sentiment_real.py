"""Quick runs on the real Yelp sentences: small models clearly beat chance, and their ensemble
is scored on dev and test."""

from __future__ import annotations

from pathlib import Path

import pytest

from dlclassics.sentiment.compare import comparison_row
from dlclassics.sentiment.experiment import RunOptions, run_experiment
from dlclassics.sentiment.predict import predict_file
from dlclassics.sentiment.reproduce import ensemble_row


def test_bag_of_words_on_yelp_beats_chance(yelp_root: Path, tmp_path: Path) -> None:
    options = RunOptions(
        model="bow", data_dir=yelp_root, out_dir=tmp_path, epochs=2, train_limit=10_000
    )
    metrics = run_experiment(options)
    assert metrics["sentences"] == {"train": 10_000, "dev": 10_000, "test": 10_000}
    assert metrics["accuracy"]["test"] > 88.0  # balanced classes: chance is 50 %
    assert (tmp_path / "metrics.json").is_file() and (tmp_path / "confusion.png").is_file()


def test_ensemble_row_scores_the_dev_chosen_members_on_test(
    yelp_root: Path, tmp_path: Path
) -> None:
    rows = []
    for name, seed in (("bow", 0), ("avg", 1)):
        options = RunOptions(
            model=name,
            data_dir=yelp_root,
            out_dir=tmp_path / name,
            epochs=1,
            train_limit=4_000,
            seed=seed,
        )
        rows.append(comparison_row(run_experiment(options)))
    row = ensemble_row(rows, yelp_root, tmp_path)
    assert row["members"] == ["bow", "avg"] and row["model"] == "ensemble: bow + avg"
    assert row["ours"]["test"] > 80.0 and set(row["ours"]) == {"dev", "test"}
    # `dlc sentiment predict` with both checkpoints is the same ensemble
    checkpoints = [tmp_path / name / "best.pt" for name in row["members"]]
    for split in ("dev", "test"):
        predictions = predict_file(checkpoints, yelp_root / f"{split}.txt")
        assert predictions.accuracy == pytest.approx(row["ours"][split], abs=1e-3)  # < 1 sentence
        assert len(predictions.member_accuracies) == 2
