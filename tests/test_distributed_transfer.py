"""``dlc transfer`` under torchrun: two CPU processes (gloo on 127.0.0.1) against one.

Freeze mode trains a linear head on cached features: the two processes compute half of the cache
each and gather it, then split every batch, so they must reproduce the single-process run up to
float rounding. Finetune mode trains the whole backbone; its BatchNorm statistics are per process
(each sees half a batch), so it is checked for one set of outputs and a resumable checkpoint.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from dlclassics import cli
from dlclassics.checkpoint import load_checkpoint, read_torch_file
from test_distributed_sentiment import (  # tests/ is on sys.path under pytest
    torchrun,
    torchrun_killing_rank_1,
)

COLOURS = {"reds": (210, 40, 40), "blues": (40, 40, 210)}
SETTINGS = ["--batch-size", "4", "--views", "2", "--no-tta", "--seed", "2"]
MODE_OUTPUTS = {
    "best.pt",
    "last.pt",
    "metrics.json",
    "curves.png",
    "predictions.png",
    "confusion.png",
}


pytestmark = pytest.mark.usefixtures("one_torch_thread")  # conftest.py


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """train/{reds,blues} with 5 noisy images each (10: uneven halves), val/ with 2 each."""
    root = tmp_path_factory.mktemp("images")
    rng = np.random.default_rng(0)
    for split, count in (("train", 5), ("val", 2)):
        for name, colour in COLOURS.items():
            (root / split / name).mkdir(parents=True)
            for i in range(count):
                pixels = np.array(colour) + rng.normal(0, 40, (40, 56, 3))
                image = Image.fromarray(np.clip(pixels, 0, 255).astype("uint8"))
                image.save(root / split / name / f"{i}.png")
    return root


def transfer_args(folder: Path, out: Path, *extra: str) -> list[str]:
    return ["transfer", "train", "--data", str(folder), "--out", str(out), *SETTINGS, *extra]


def test_two_processes_share_the_feature_cache_and_train_the_head_like_one(
    folder: Path, tmp_path: Path
):
    one, two = tmp_path / "one", tmp_path / "two"
    args = ["--mode", "freeze", "--epochs", "3"]
    assert cli.main(transfer_args(folder, one, *args)) == 0
    job = torchrun(*transfer_args(folder, two, *args))
    assert job.returncode == 0, job.stderr[-3000:]
    assert job.stdout.count("freeze epoch 1/3") == 1  # only rank 0 reports
    assert {p.name for p in two.iterdir()} == {"metrics.json", "freeze", "feature_cache"}

    # the gathered cache holds every image's features in order, as one process computes them
    [cache_one], [cache_two] = (list((run / "feature_cache").iterdir()) for run in (one, two))
    assert sorted(p.name for p in cache_two.iterdir()) == sorted(
        p.name for p in cache_one.iterdir()
    )
    for file in cache_one.iterdir():
        ours = read_torch_file(cache_two / file.name)["features"]
        torch.testing.assert_close(ours, read_torch_file(file)["features"], atol=1e-4, rtol=0)

    single, double = (
        json.loads((run / "freeze" / "metrics.json").read_text()) for run in (one, two)
    )
    assert {p.name for p in (two / "freeze").iterdir()} == MODE_OUTPUTS
    assert double["best_epoch"] == single["best_epoch"]
    for row, other in zip(double["history"], single["history"], strict=True):
        for key in ("train_loss", "train_acc", "val_loss", "val_acc"):
            assert row[key] == pytest.approx(other[key], abs=1e-4)


def test_an_interrupted_two_process_finetune_resumes_in_one_process(folder: Path, tmp_path: Path):
    out = tmp_path / "run"
    args = transfer_args(folder, out, "--mode", "finetune", "--epochs", "3")
    job = torchrun_killing_rank_1(*args, once=out / "finetune" / "last.pt")
    assert job.returncode != 0 and "rank      : 1 (local_rank: 1)" in job.stderr
    saved = load_checkpoint(out / "finetune" / "last.pt", "transfer")
    assert not any(key.startswith("module.") for key in saved["model"])
    done = saved["loop"]["state"]["epochs_done"]
    assert 1 <= done <= 2 and not (out / "finetune" / "metrics.json").exists()

    assert cli.main([*args, "--resume"]) == 0
    assert {p.name for p in (out / "finetune").iterdir()} == MODE_OUTPUTS
    metrics = json.loads((out / "finetune" / "metrics.json").read_text())
    assert [row["epoch"] for row in metrics["history"]] == [1, 2, 3]
    assert metrics["history"][:done] == saved["loop"]["state"]["history"]
