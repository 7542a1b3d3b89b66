"""``dlc caption`` as a user runs it: make-shapes, train on an own folder, resume, sample."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from dlclassics.cli import main

pytestmark = pytest.mark.usefixtures("one_torch_thread")


WORDS = ("red", "blue", "green", "ball", "box", "cup")


def caption_folder(root: Path) -> Path:
    """Eight solid-colour pictures, two captions each (Flickr8k format)."""
    (root / "images").mkdir(parents=True)
    rng = np.random.default_rng(0)
    lines = []
    for i in range(8):
        colour = tuple(int(v) for v in rng.integers(0, 255, 3))
        Image.new("RGB", (40, 40), colour).save(root / "images" / f"p{i}.png")
        a, b = WORDS[i % 3], WORDS[3 + (i // 3) % 3]
        lines += [f"p{i}.png#0\ta {a} {b}", f"p{i}.png#1\tthe {b} is {a}"]
    (root / "captions.txt").write_text("\n".join(lines) + "\n")
    return root


def test_train_resume_and_sample_on_an_own_folder(tmp_path: Path, capsys) -> None:
    folder = caption_folder(tmp_path / "mine")
    out = tmp_path / "run"
    common = [
        "caption",
        "train",
        "--data",
        f"folder:{folder}",
        "--cell",
        "lstm",
        "--overfit",
        "4",
        "--batch-size",
        "4",
        "--hidden",
        "24",
        "--wordvec",
        "12",
        "--lr",
        "2e-2",
        "--lr-decay",
        "1",
        "--image-size",
        "32",
        "--feature-cache",
        str(tmp_path / "cache"),
        "--beam",
        "2",
        "--out",
        str(out),
    ]
    assert main([*common, "--epochs", "40"]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["epochs_done"] == 40 and metrics["train_captions"] == 4
    assert metrics["evaluation"]["train"]["greedy"]["exact match"] == 1.0
    assert set(metrics["evaluation"]["val"]) == {"greedy", "beam2"}
    assert all(
        (out / name).is_file() for name in ("loss.png", "samples_train.png", "samples_val.png")
    )

    assert main([*common, "--epochs", "45", "--resume"]) == 0
    resumed = json.loads((out / "metrics.json").read_text())
    assert resumed["epochs_done"] == 45 and len(resumed["epoch_seconds"]) == 45

    capsys.readouterr()
    sample = [
        "caption",
        "sample",
        "--checkpoint",
        str(out / "checkpoint.npz"),
        "--split",
        "train",
        "--n",
        "2",
    ]
    assert main(sample) == 0
    printed = capsys.readouterr().out
    train_captions = {s["generated"] for s in metrics["samples"]["train"]}
    assert printed.count("generated:") == 2 and any(c in printed for c in train_captions)


def test_user_errors_are_one_line(tmp_path: Path, capsys) -> None:
    assert main(["caption", "train", "--data", "pictures", "--out", str(tmp_path)]) == 2
    assert "dlc: error: --data 'pictures': expected shapes[:DIR]" in capsys.readouterr().err
    assert (
        main(
            ["caption", "train", "--data", f"folder:{tmp_path / 'nowhere'}", "--out", str(tmp_path)]
        )
        == 2
    )
    assert "nowhere: no such folder" in capsys.readouterr().err
    assert main(["caption", "sample", "--checkpoint", str(tmp_path / "none.npz")]) == 2
    assert "none.npz: checkpoint not found" in capsys.readouterr().err


def test_make_shapes_command(tmp_path: Path) -> None:
    args = [
        "caption",
        "make-shapes",
        "--out",
        str(tmp_path / "s"),
        "--n-train",
        "6",
        "--n-val",
        "3",
        "--n-test",
        "3",
    ]
    assert main(args) == 0
    assert len(list((tmp_path / "s" / "images").glob("*.png"))) == 12
    assert (tmp_path / "s" / "captions_val.txt").read_text().count("\n") == 15
