"""The transfer API from Python (``transfer.train(Config) -> Result``, ``transfer.load``), a folder
of class subfolders split into train and val, ``dlc transfer predict`` in every ``--format``
with ``--topk`` and class-folder accuracy, and a feature cache that cannot be written."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from dlclassics import cli, transfer
from dlclassics.errors import DlcError
from dlclassics.results import Result
from dlclassics.transfer import features
from dlclassics.transfer.data import scan_image_folder, split_off_validation

COLOURS = {"reds": (210, 40, 40), "blues": (40, 40, 210)}
TINY = ["--epochs", "1", "--views", "1", "--no-tta", "--batch-size", "4", "--device", "cpu"]

pytestmark = pytest.mark.usefixtures("one_torch_thread")  # conftest.py


def _noisy(colour: tuple[int, int, int], rng: np.random.Generator) -> Image.Image:
    pixels = np.array(colour) + rng.normal(0, 25, (40, 56, 3))
    return Image.fromarray(np.clip(pixels, 0, 255).astype("uint8"))


@pytest.fixture(scope="module")
def my_images(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """my_images/{reds,blues}/ with 5 noisy images each: no train/ and val/ folders."""
    root = tmp_path_factory.mktemp("data") / "my_images"
    rng = np.random.default_rng(0)
    for name, colour in COLOURS.items():
        (root / name).mkdir(parents=True)
        for i in range(5):
            _noisy(colour, rng).save(root / name / f"{i}.png")
    return root


@pytest.fixture(scope="module")
def trained(my_images: Path, tmp_path_factory: pytest.TempPathFactory) -> Result:
    """One freeze epoch on ``my_images`` through the API; its Result."""
    out = tmp_path_factory.mktemp("run")
    config = transfer.Config(
        data=my_images,
        mode="freeze",
        epochs=1,
        views=1,
        tta=False,
        batch_size=4,
        out=out,
        device="cpu",
    )
    return transfer.train(config)


def test_api_train_returns_a_result_and_load_predicts_paths_and_pil_images(trained, my_images):
    assert set(trained.metrics) >= {"val_acc", "final_val_acc", "random_head_val_acc"}
    assert all(0 <= value <= 1 for value in trained.metrics.values())
    assert trained.checkpoint == trained.out / "freeze" / "best.pt" and trained.checkpoint.is_file()
    assert [row["epoch"] for row in trained.history] == [1]
    assert trained.files["metrics"].is_file() and trained.files["freeze_curves"].is_file()
    assert trained.details["mode"] == "freeze" and trained.details["num_val"] == 2

    model = transfer.load(trained.checkpoint, device="cpu")
    assert isinstance(model, transfer.Classifier) and model.classes == ["blues", "reds"]
    images = [my_images / "reds" / "0.png", Image.open(my_images / "blues" / "0.png")]
    probabilities = model.predict_proba(images)
    assert probabilities.shape == (2, 2)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)
    labels = model.predict(images)
    assert labels == [model.classes[j] for j in probabilities.argmax(axis=1)]
    assert transfer.load(trained.out / "freeze", device="cpu").classes == model.classes
    assert transfer.load(trained.out, device="cpu").classes == model.classes  # its one mode


def test_the_api_works_from_a_fresh_interpreter(my_images, tmp_path):
    """``from dlclassics import transfer`` imports no torch until ``train`` is used."""
    script = f"""
import sys
from dlclassics import transfer
assert "torch" not in sys.modules, "importing the package must stay light"
config = transfer.Config(data={str(my_images)!r}, mode="freeze", epochs=1, views=1, tta=False,
                         batch_size=4, out={str(tmp_path / "t")!r}, device="cpu", threads=1)
result = transfer.train(config)
model = transfer.load(result.checkpoint)
labels = model.predict([{str(my_images / "reds" / "1.png")!r}])
print(model.classes, labels, result.metrics["val_acc"])
"""
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    job = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=300
    )
    assert job.returncode == 0, job.stderr[-2000:]
    assert "['blues', 'reds']" in job.stdout.splitlines()[-1]


def test_a_folder_of_class_subfolders_is_split_per_class_with_a_seed(my_images, tmp_path, capsys):
    data = scan_image_folder(my_images, val_fraction=0.2, seed=0)
    assert data.classes == ["blues", "reds"] and (len(data.train), len(data.val)) == (8, 2)
    assert sorted(label for _, label in data.val) == [0, 1]  # stratified: one of each class
    assert "no val/ folder; held out 20 % of each class for validation (seed 0)" in data.split_note
    assert scan_image_folder(my_images, 0.2, seed=0).val == data.val  # seeded
    other_seeds = {tuple(scan_image_folder(my_images, 0.2, seed=s).val) for s in range(1, 6)}
    assert len(other_seeds | {tuple(data.val)}) > 1

    # train/ without val/: train/ is split the same way
    (tmp_path / "train").symlink_to(my_images, target_is_directory=True)
    assert len(scan_image_folder(tmp_path, 0.4, seed=0).val) == 4
    # a class of one image keeps it for training
    samples = [(Path("a.png"), 0), (Path("b.png"), 1), (Path("c.png"), 1)]
    train, val = split_off_validation(samples, 0.5, seed=0)
    assert (Path("a.png"), 0) in train and [label for _, label in val] == [1]
    # one image per class: nothing to hold out
    (tmp_path / "tiny" / "a").mkdir(parents=True)
    (tmp_path / "tiny" / "b").mkdir()
    for name in ("a", "b"):
        Image.new("RGB", (8, 8)).save(tmp_path / "tiny" / name / "0.png")
    with pytest.raises(DlcError, match="tiny: too few images to hold some out"):
        scan_image_folder(tmp_path / "tiny")


def test_train_says_the_split_once_and_the_accuracy_before_training_once(
    my_images, tmp_path, capsys
):
    argv = ["transfer", "train", "--data", str(my_images), "-o", str(tmp_path), "--mode", "both"]
    assert cli.main([*argv, *TINY, "--val-fraction", "0.4", "--threads", "1"]) == 0
    out = capsys.readouterr().out
    assert out.count("no val/ folder; held out 40 % of each class") == 1
    assert out.count("val acc before training") == 1
    epoch_lines = [line for line in out.splitlines() if " epoch 1/1: " in line]
    assert len(epoch_lines) == 2
    for line in epoch_lines:  # percentages, and a real time (a freeze epoch takes milliseconds)
        assert " % | val loss " in line and "(0.0 s)" not in line
    summary = json.loads((tmp_path / "metrics.json").read_text())
    assert summary["num_val"] == 4 and "held out" in summary["split_note"]


def _predict(checkpoint: Path, *args: str) -> list[str]:
    return ["transfer", "predict", "--checkpoint", str(checkpoint), "--device", "cpu", *args]


def test_predict_in_every_format_with_topk_and_class_folder_accuracy(
    trained, my_images, tmp_path, capsys
):
    checkpoint = trained.checkpoint
    loose = tmp_path / "loose.png"
    Image.open(my_images / "reds" / "2.png").save(loose)
    inputs = [str(loose), str(my_images)]  # one loose image, then a folder of class folders

    capsys.readouterr()
    assert cli.main(_predict(checkpoint, *inputs)) == 0
    captured = capsys.readouterr()
    txt = [line.split("\t") for line in captured.out.splitlines()]
    assert len(txt) == 11 and all(len(row) == 3 for row in txt)  # txt as before: no header
    assert captured.err.startswith("accuracy ") and "(" in captured.err
    assert "/10)" in captured.err.splitlines()[0]  # only the class-folder images are scored
    assert "true \\ predicted" in captured.err

    assert cli.main(_predict(checkpoint, *inputs, "--format", "csv", "--topk", "2")) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert list(rows[0]) == ["input", "label", "true", "p_blues", "p_reds", "topk"]
    assert rows[0]["input"] == str(loose) and rows[0]["true"] == ""
    assert {row["true"] for row in rows[1:]} == {"blues", "reds"}
    for row in rows:
        assert float(row["p_blues"]) + float(row["p_reds"]) == pytest.approx(1, abs=1e-5)
        assert json.loads(row["topk"])[0]["label"] == row["label"]

    out = tmp_path / "predictions.jsonl"
    args = [*inputs, "--format", "jsonl", "--topk", "1", "-o", str(out)]
    assert cli.main(_predict(checkpoint, *args)) == 0
    assert "wrote 11 predictions to" in capsys.readouterr().err
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(records) == 11 and "true" not in records[0]
    first = records[1]
    assert set(first) == {"input", "label", "probabilities", "true", "topk"}
    assert first["true"] == Path(first["input"]).parent.name
    assert first["topk"] == [
        {"label": first["label"], "probability": first["probabilities"][first["label"]]}
    ]

    assert cli.main(_predict(checkpoint, str(loose), "--topk", "2", "--threads", "1")) == 0
    path, *pairs = capsys.readouterr().out.strip().split("\t")
    assert path == str(loose) and len(pairs) == 4  # txt shows the top-k as more columns


def test_an_unwritable_feature_cache_is_one_line_naming_it(
    my_images, tmp_path, monkeypatch, capsys
):
    def refused(obj, path):
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(features, "torch_save_atomic", refused)
    cache = tmp_path / "cache"
    argv = ["transfer", "train", "--data", str(my_images), "-o", str(tmp_path / "run")]
    assert cli.main([*argv, "--mode", "freeze", "--cache-dir", str(cache), *TINY]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"dlc: error: {cache}/efficientnet_lite0-")
    assert "cannot write the feature cache (Permission denied); give a writable --cache-dir" in err


def test_predict_explain_writes_one_grad_cam_overlay_per_image(trained, my_images, tmp_path):
    maps = tmp_path / "maps"
    images = sorted(my_images.glob("*/*.png"))[:3] or sorted(my_images.glob("*/*.jpg"))[:3]
    assert cli.main(_predict(trained.checkpoint, *map(str, images), "--explain", str(maps))) == 0
    written = sorted(maps.iterdir())
    assert [p.name for p in written] == sorted(f"{p.stem}_gradcam.png" for p in images)
    with Image.open(written[0]) as overlay:
        assert overlay.mode == "RGB" and min(overlay.size) > 0
