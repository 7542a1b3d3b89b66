"""``dlc style --batch-dir`` under torchrun: two CPU processes share the photos of a folder."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from dlclassics.cli import main
from test_distributed_sentiment import torchrun  # tests/ is on sys.path under pytest

SETTINGS = ["--size", "32", "--iters", "3", "--seed", "1"]


pytestmark = pytest.mark.usefixtures("one_torch_thread")  # conftest.py


def visible(folder: Path) -> set[str]:
    """The names in ``folder`` without hidden files (the run's ``.dlc.lock``)."""
    return {p.name for p in folder.iterdir() if not p.name.startswith(".")}


@pytest.fixture(scope="module")
def photos(styles_root: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three small content photos cut from the styles data set (an odd number for 2 ranks)."""
    folder = tmp_path_factory.mktemp("photos")
    for name in ("tubingen", "the_scream", "composition_vii"):
        with Image.open(styles_root / f"{name}.jpg") as image:
            image.convert("RGB").resize((48, 40)).save(folder / f"{name}.png")
    return folder


def test_two_processes_split_the_photos_and_paint_them_like_one(
    photos: Path, styles_root: Path, tmp_path: Path
):
    style = str(styles_root / "starry_night.jpg")
    one, two = tmp_path / "one", tmp_path / "two"
    assert main(["style", "--batch-dir", str(photos), style, "-o", str(one), *SETTINGS]) == 0
    job = torchrun("style", "--batch-dir", str(photos), style, "-o", str(two), *SETTINGS)
    assert job.returncode == 0, job.stderr[-3000:]
    assert job.stdout.count("styled 3 images with 2 process(es)") == 1

    summary = json.loads((two / "metrics.json").read_text())
    assert summary["processes"] == 2
    assert [row["folder"] for row in summary["photos"]] == [
        "composition_vii",
        "the_scream",
        "tubingen",
    ]
    assert sorted(row["rank"] for row in summary["photos"]) == [0, 0, 1]  # dealt out, not copied
    assert visible(two) == visible(one)  # one's lock file stays while this process runs
    for row in summary["photos"]:
        assert visible(two / row["folder"]) == {
            "result.png",
            "loss.png",
            "panel.png",
            "metrics.json",
        }
        # each photo is an independent run: the same pixels whichever process painted it
        ours = np.asarray(Image.open(two / row["image"]), dtype=np.int16)
        theirs = np.asarray(Image.open(one / row["image"]), dtype=np.int16)
        assert np.abs(ours - theirs).max() <= 1


def test_batch_dir_without_images_is_a_clear_error(tmp_path: Path, capsys, styles_root: Path):
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["style", "--batch-dir", str(empty), str(styles_root / "starry_night.jpg")]) == 2
    assert f"dlc: error: {empty}: no images to style" in capsys.readouterr().err
