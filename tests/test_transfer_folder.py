"""`dlc transfer` on a user's own tiny image folder: odd image modes, a corrupt file, outputs,
the predict command, resume and ``--weights``."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from dlclassics import cli
from dlclassics.errors import DlcError
from dlclassics.io import torch_load_checkpoint
from dlclassics.transfer import train
from dlclassics.transfer.data import LabelledImages, fingerprint, scan_image_folder
from dlclassics.transfer.transforms import train_transform

COLOURS = {"reds": (210, 40, 40), "blues": (40, 40, 210)}


def _noisy(colour: tuple[int, int, int], rng: np.random.Generator) -> Image.Image:
    pixels = np.array(colour) + rng.normal(0, 25, (40, 56, 3))
    return Image.fromarray(np.clip(pixels, 0, 255).astype("uint8"))


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    """train/{reds,blues} with 2 RGB PNGs each plus a grayscale PNG, a CMYK JPEG and a corrupt
    JPEG; val/{reds,blues} with 1 each plus an RGBA PNG."""
    root = tmp_path_factory.mktemp("images")
    rng = np.random.default_rng(0)
    for split, count in (("train", 2), ("val", 1)):
        for name, colour in COLOURS.items():
            (root / split / name).mkdir(parents=True)
            for i in range(count):
                _noisy(colour, rng).save(root / split / name / f"{i}.png")
    Image.new("L", (40, 40), 90).save(root / "train/reds/gray.png")
    Image.new("CMYK", (48, 40), (200, 200, 0, 0)).save(root / "train/blues/cmyk.jpg")
    Image.new("RGBA", (48, 40), (210, 40, 40, 128)).save(root / "val/reds/alpha.png")
    (root / "train/reds/broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    return root


def test_scan_skips_corrupt_file_and_converts_modes(folder, capsys):
    data = scan_image_folder(folder)
    assert data.classes == ["blues", "reds"]
    assert len(data.train) == 6 and len(data.val) == 3
    assert [path.name for path, _ in data.skipped] == ["broken.jpg"]
    err = capsys.readouterr().err
    assert "broken.jpg" in err and "skipped 1 unreadable image" in err
    dataset = LabelledImages(data.train, train_transform(scan_preprocessing()), seed=0)
    shapes = {tuple(dataset[i][0].shape) for i in range(len(dataset))}
    assert shapes == {(3, 224, 224)}  # grayscale and CMYK come out as RGB
    first, again = dataset[0][0], dataset[0][0]
    assert torch.equal(first, again)  # seeded augmentation: the same item gives the same crop


def scan_preprocessing():
    from dlclassics.backbones import Preprocessing

    return Preprocessing(mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5))


def test_scan_errors_name_the_folder(tmp_path, folder):
    with pytest.raises(DlcError, match="no such folder"):
        scan_image_folder(tmp_path)
    (tmp_path / "train" / "only").mkdir(parents=True)
    with pytest.raises(DlcError, match="need at least two class folders"):
        scan_image_folder(tmp_path)
    (tmp_path / "train" / "other").mkdir()
    (tmp_path / "val" / "stray").mkdir(parents=True)
    with pytest.raises(DlcError, match=r"val/stray: class folder not present under train"):
        scan_image_folder(tmp_path)


def test_fingerprint_changes_when_an_image_changes(tmp_path):
    image = tmp_path / "a.png"
    Image.new("RGB", (8, 8)).save(image)
    before = fingerprint([(image, 0)])
    Image.new("RGB", (9, 8)).save(image)
    assert fingerprint([(image, 0)]) != before


def _run(folder: Path, out: Path, *extra: str) -> int:
    return cli.main(
        ["transfer", "--data", str(folder), "--out", str(out), "--batch-size", "4", *extra]
    )


def test_both_modes_write_outputs_and_predict(folder, tmp_path, capsys):
    out = tmp_path / "run"
    args = ["--mode", "both", "--epochs", "1", "--views", "2", "--no-tta", "--train-per-class", "1"]
    assert _run(folder, out, *args) == 0
    summary = json.loads((out / "metrics.json").read_text())
    assert summary["num_train"] == 6 and len(summary["skipped"]) == 1
    for mode in ("finetune", "freeze"):
        metrics = json.loads((out / mode / "metrics.json").read_text())
        assert metrics["zero_shot_val_acc"] is None  # "reds"/"blues" name no ImageNet class
        assert len(metrics["history"]) == 1 and 0 <= metrics["best_val_acc"] <= 1
        assert metrics["final_val_acc"] == metrics["history"][-1]["val_acc"]
        assert "optimistic" in metrics["selection_note"]
        for name in ("curves.png", "predictions.png", "confusion.png"):
            assert (out / mode / name).stat().st_size > 1000
        saved = torch_load_checkpoint(out / mode / "best.pt")  # weights_only=True
        assert saved["classes"] == ["blues", "reds"]
    assert (
        json.loads((out / "freeze" / "metrics.json").read_text())["feature_cache"]["train_views"]
        == 2
    )
    assert "optimistic" in capsys.readouterr().out

    image = folder / "val" / "reds" / "alpha.png"
    code = cli.main(
        [
            "transfer",
            "predict",
            "--checkpoint",
            str(out / "freeze" / "best.pt"),
            str(image),
            str(folder / "val"),
        ]
    )
    assert code == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 1 + 3
    path, name, probability = lines[0].split("\t")
    assert path == str(image) and name in ("blues", "reds") and 0.5 <= float(probability) <= 1


def test_predict_errors_are_one_line(folder, tmp_path, capsys):
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"nope")
    assert cli.main(["transfer", "predict", "--checkpoint", str(junk), str(folder)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("dlc: error:") and "junk.pt" in err and len(err.strip().splitlines()) == 1


def test_interrupted_run_resumes_to_the_same_result(folder, tmp_path, monkeypatch):
    args = ["--mode", "freeze", "--epochs", "4", "--views", "1", "--no-tta", "--lr", "0.05"]
    cache = ["--cache-dir", str(tmp_path / "cache")]
    assert _run(folder, tmp_path / "straight", *args, *cache) == 0

    real_epoch = train.train_one_epoch
    calls = []

    def interrupted(*a, **k):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real_epoch(*a, **k)

    monkeypatch.setattr(train, "train_one_epoch", interrupted)
    assert _run(folder, tmp_path / "resumed", *args, *cache) == 130
    assert torch_load_checkpoint(tmp_path / "resumed/freeze/last.pt")["loop"]["epochs_done"] == 2
    monkeypatch.setattr(train, "train_one_epoch", real_epoch)
    assert _run(folder, tmp_path / "resumed", *args, *cache, "--resume") == 0

    straight = json.loads((tmp_path / "straight/freeze/metrics.json").read_text())["history"]
    resumed = json.loads((tmp_path / "resumed/freeze/metrics.json").read_text())["history"]
    assert [h["epoch"] for h in resumed] == [1, 2, 3, 4]
    for a, b in zip(straight, resumed, strict=True):
        assert a["train_loss"] == pytest.approx(b["train_loss"], rel=1e-5)
        assert a["val_loss"] == pytest.approx(b["val_loss"], rel=1e-5)

    changed = ["--mode", "freeze", "--epochs", "5", "--views", "1", "--no-tta", "--lr", "0.05"]
    assert _run(folder, tmp_path / "resumed", *changed, *cache, "--resume") == 2


def test_local_weights_file_is_used(folder, tmp_path, capsys):
    from dlclassics.efficientnet_lite import efficientnet_lite0

    weights = tmp_path / "mine.pt"
    torch.save(efficientnet_lite0(weights=None).state_dict(), weights)  # random weights
    args = [
        "--mode",
        "freeze",
        "--epochs",
        "1",
        "--views",
        "1",
        "--no-tta",
        "--weights",
        str(weights),
    ]
    assert _run(folder, tmp_path / "run", *args) == 0
    metrics = json.loads((tmp_path / "run" / "freeze" / "metrics.json").read_text())
    assert metrics["weights"] == str(weights)

    assert _run(folder, tmp_path / "bad", "--weights", str(tmp_path / "missing.pt")) == 2
    assert "missing.pt: weights file not found" in capsys.readouterr().err
