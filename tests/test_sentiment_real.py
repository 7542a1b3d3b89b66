"""A quick run on the real Yelp sentences: a small bag-of-words model clearly beats chance."""

from __future__ import annotations

from pathlib import Path

from dlclassics.sentiment.experiment import RunOptions, run_experiment


def test_bag_of_words_on_yelp_beats_chance(yelp_root: Path, tmp_path: Path) -> None:
    options = RunOptions(
        model="bow", data_dir=yelp_root, out_dir=tmp_path, epochs=2, train_limit=10_000
    )
    metrics = run_experiment(options)
    assert metrics["sentences"] == {"train": 10_000, "dev": 10_000, "test": 10_000}
    assert metrics["accuracy"]["test"] > 88.0  # balanced classes: chance is 50 %
    assert (tmp_path / "metrics.json").is_file() and (tmp_path / "confusion.png").is_file()
