"""`dlc transfer` on a user's own tiny image folder: odd image modes, a corrupt file, outputs,
the predict command and the checkpoints it reads, resume, ``--weights``, ``--device`` and the
command line's one-line errors."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from dlclassics import cli, training, transfer
from dlclassics.checkpoint import load_checkpoint, make_checkpoint, save_checkpoint
from dlclassics.errors import DlcError
from dlclassics.transfer import run
from dlclassics.transfer.data import (
    LabelledImages,
    fingerprint,
    scan_image_folder,
    train_transform,
)

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
    with pytest.raises(DlcError, match="need at least two class folders, found 0"):
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


def _train(folder: Path, out: Path, *extra: str) -> int:
    """``dlc transfer train`` (the canonical form) on ``folder``."""
    args = ["--data", str(folder), "--out", str(out), "--batch-size", "4", *extra]
    return cli.main(["transfer", "train", *args])


@pytest.fixture(scope="module")
def both_modes(folder: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Both modes trained for one epoch with the bare form ``dlc transfer --data …``."""
    out = tmp_path_factory.mktemp("run")
    args = ["--mode", "both", "--epochs", "1", "--views", "2", "--no-tta", "--train-per-class", "1"]
    data = ["--data", str(folder), "--out", str(out), "--batch-size", "4", "--device", "cpu"]
    assert cli.main(["transfer", *data, *args]) == 0
    return out


def test_both_modes_write_outputs_and_checkpoints(both_modes: Path):
    summary = json.loads((both_modes / "metrics.json").read_text())
    assert summary["num_train"] == 6 and len(summary["skipped"]) == 1
    assert summary["device"] == "cpu"
    for mode in ("finetune", "freeze"):
        metrics = json.loads((both_modes / mode / "metrics.json").read_text())
        assert metrics["zero_shot_val_acc"] is None  # "reds"/"blues" name no ImageNet class
        assert len(metrics["history"]) == 1 and 0 <= metrics["best_val_acc"] <= 1
        assert metrics["final_val_acc"] == metrics["history"][-1]["val_acc"]
        assert metrics["final_val_correct"] == round(3 * metrics["final_val_acc"])
        assert "optimistic" in metrics["selection_note"]
        assert metrics["device"] == "cpu"
        for name in ("curves.png", "predictions.png", "confusion.png"):
            assert (both_modes / mode / name).stat().st_size > 1000
        saved = load_checkpoint(both_modes / mode / "best.pt", "transfer")  # weights_only=True
        assert saved["labels"] == ["blues", "reds"]
        assert saved["config"]["mode"] == mode and saved["config"]["flip_tta"] is False
        assert saved["config"]["backbone"] == "efficientnet_lite0"
        assert set(saved["fingerprint"]) == {"images"}
        assert any(key.startswith("backbone.") for key in saved["model"])  # the whole model
    freeze = json.loads((both_modes / "freeze" / "metrics.json").read_text())
    assert freeze["feature_cache"]["train_views"] == 2


def test_predict_reads_best_pt_of_either_mode(both_modes, folder, tmp_path, capsys, monkeypatch):
    image = folder / "val" / "reds" / "alpha.png"
    for mode in ("freeze", "finetune"):
        checkpoint = str(both_modes / mode / "best.pt")
        capsys.readouterr()
        code = cli.main(
            ["transfer", "predict", "--checkpoint", checkpoint, str(image), str(folder / "val")]
        )
        assert code == 0
        lines = capsys.readouterr().out.strip().splitlines()
        assert len(lines) == 1 + 3
        path, name, probability = lines[0].split("\t")
        assert path == str(image) and name in ("blues", "reds") and 0.5 <= float(probability) <= 1

    # image paths from standard input, the table into a file
    monkeypatch.setattr(sys, "stdin", io.StringIO(f"{image}\n\n{folder / 'val' / 'blues'}\n"))
    table = tmp_path / "out" / "predictions.tsv"
    args = ["--checkpoint", checkpoint, "-o", str(table), "--device", "cpu", "-"]
    assert cli.main(["transfer", "predict", *args]) == 0
    rows = [line.split("\t") for line in table.read_text().splitlines()]
    assert [Path(row[0]).name for row in rows] == ["alpha.png", "0.png"]


def test_predict_refuses_other_checkpoints_in_one_line(both_modes, folder, tmp_path, capsys):
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"nope")
    sentiment = save_checkpoint(
        make_checkpoint("sentiment", {}, {"model": "bow"}), tmp_path / "s.pt"
    )
    cases = {
        junk: "junk.pt: ",  # garbage: read_torch_file says why
        sentiment: "a sentiment checkpoint, expected a transfer checkpoint",
        both_modes / "freeze" / "last.pt": "a resume checkpoint (last.pt); predict with best.pt",
    }
    capsys.readouterr()
    for checkpoint, message in cases.items():
        assert cli.main(["transfer", "predict", "--checkpoint", str(checkpoint), str(folder)]) == 2
        err = capsys.readouterr().err
        assert err.startswith("dlc: error:") and message in err
        assert len(err.strip().splitlines()) == 1


def test_device_cpu_puts_the_model_on_the_cpu(both_modes, folder, tmp_path, capsys, monkeypatch):
    classifier = transfer.load(both_modes / "freeze" / "best.pt", "cpu")
    assert {p.device.type for p in classifier.model.parameters()} == {"cpu"}

    devices = []

    def recording(model, *args, **kwargs):
        devices.extend(p.device.type for p in model.parameters())
        return real_train(model, *args, **kwargs)

    real_train = run.train_loop
    monkeypatch.setattr(run, "train_loop", recording)
    args = ["--mode", "freeze", "--epochs", "1", "--views", "1", "--device", "cpu"]
    assert _train(folder, tmp_path / "cpu", *args) == 0
    assert devices and set(devices) == {"cpu"}
    if not torch.cuda.is_available():
        capsys.readouterr()
        assert _train(folder, tmp_path / "gpu", "--device", "cuda") == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "--device=cuda: no CUDA GPU is visible" in err


def test_interrupted_run_resumes_to_the_same_result(folder, tmp_path, monkeypatch):
    args = ["--mode", "freeze", "--epochs", "4", "--views", "1", "--no-tta", "--lr", "0.05"]
    cache = ["--cache-dir", str(tmp_path / "cache")]
    assert _train(folder, tmp_path / "straight", *args, *cache) == 0

    real_epoch = training.train_one_epoch
    calls = []

    def interrupted(*a, **k):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real_epoch(*a, **k)

    monkeypatch.setattr(training, "train_one_epoch", interrupted)
    assert _train(folder, tmp_path / "resumed", *args, *cache) == 130
    last = load_checkpoint(tmp_path / "resumed/freeze/last.pt", "transfer")
    assert last["loop"]["state"]["epochs_done"] == 2
    monkeypatch.setattr(training, "train_one_epoch", real_epoch)
    assert _train(folder, tmp_path / "resumed", *args, *cache, "--resume") == 0

    straight = json.loads((tmp_path / "straight/freeze/metrics.json").read_text())["history"]
    resumed = json.loads((tmp_path / "resumed/freeze/metrics.json").read_text())["history"]
    assert [h["epoch"] for h in resumed] == [1, 2, 3, 4]
    for a, b in zip(straight, resumed, strict=True):
        assert a["train_loss"] == pytest.approx(b["train_loss"], rel=1e-5)
        assert a["val_loss"] == pytest.approx(b["val_loss"], rel=1e-5)

    changed = ["--mode", "freeze", "--epochs", "5", "--views", "1", "--no-tta", "--lr", "0.05"]
    assert _train(folder, tmp_path / "resumed", *changed, *cache, "--resume") == 2


def test_local_weights_file_is_used(folder, tmp_path, capsys):
    from dlclassics.efficientnet_lite import efficientnet_lite0

    weights = tmp_path / "mine.pt"
    torch.save(efficientnet_lite0(weights=None).state_dict(), weights)  # random weights
    args = ["--mode", "freeze", "--epochs", "1", "--views", "1", "--no-tta"]
    assert _train(folder, tmp_path / "run", *args, "--weights", str(weights)) == 0
    metrics = json.loads((tmp_path / "run" / "freeze" / "metrics.json").read_text())
    assert metrics["weights"] == str(weights)

    capsys.readouterr()
    cut = tmp_path / "cut.pt"
    cut.write_bytes(weights.read_bytes()[:100_000])  # a truncated download
    for bad, message in (
        (tmp_path / "missing.pt", "missing.pt: weights file not found"),
        (cut, "cut.pt: not a readable checkpoint"),
    ):
        assert _train(folder, tmp_path / "bad", "--weights", str(bad)) == 2
        err = capsys.readouterr().err
        assert message in err and err.count("\n") == 1


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["transfer", "my_photos/"], "did you mean `dlc transfer train --data my_photos/`?"),
        (["transfer", "train", "--epochs", "0"], "--epochs: 0 is not ≥ 1"),
        (["transfer", "--batch-size", "0"], "--batch-size: 0 is not ≥ 1"),
        (["transfer", "--lr", "nan"], "--lr: expected a finite number"),
        (["transfer", "train", "--lr", "-1"], "--lr: -1 is not > 0.0"),
        (["transfer", "--views", "-1"], "--views: -1 is not ≥ 0"),
        (["transfer", "train", "--backbone", "alexnet"], "'efficientnet_lite0'"),
    ],
)
def test_argument_errors_are_one_line(argv, message, capsys):
    with pytest.raises(SystemExit) as stopped:
        cli.main(argv)
    assert stopped.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("dlc: error: ") and err.count("\n") == 1 and message in err


def test_outputs_are_checked_before_any_work(folder, tmp_path, capsys):
    taken = tmp_path / "a_file"
    taken.write_text("")
    assert _train(tmp_path / "no_such_data", taken) == 2  # refused before the data is looked at
    assert "a_file: exists and is not a folder" in capsys.readouterr().err
    args = ["transfer", "predict", "--checkpoint", str(tmp_path / "none.pt"), str(folder)]
    assert cli.main([*args, "-o", str(tmp_path)]) == 2  # refused before the checkpoint is read
    assert "is a folder; give a file name" in capsys.readouterr().err
