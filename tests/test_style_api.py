"""The style API from Python: ``stylize`` returns a PIL image and writes nothing; ``train`` writes
the run's files and returns a ``Result``."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from dlclassics import style
from dlclassics.errors import DlcError
from dlclassics.results import Result

SMALL = {"size": 32, "iters": 3, "device": "cpu"}


def files_under(folder: Path) -> set[Path]:
    return {path.relative_to(folder) for path in folder.rglob("*")}


def test_stylize_from_paths_returns_the_picture_and_writes_nothing(
    styles_root, tmp_path, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    before = files_under(tmp_path)
    picture = style.stylize(
        styles_root / "tubingen.jpg", str(styles_root / "starry_night.jpg"), **SMALL
    )
    assert isinstance(picture, Image.Image) and picture.mode == "RGB"
    assert picture.size == (43, 32)  # tubingen is 1024 x 768: the shorter side becomes 32
    assert files_under(tmp_path) == before


def test_stylize_takes_pil_images_as_it_takes_their_files(styles_root):
    content, starry = styles_root / "tubingen.jpg", styles_root / "starry_night.jpg"
    from_paths = style.stylize(content, starry, original_colors=True, **SMALL)
    with Image.open(content) as photo, Image.open(starry) as painting:
        from_images = style.stylize(photo, painting, original_colors=True, **SMALL)
    assert from_images.size == from_paths.size
    assert np.array_equal(np.asarray(from_images), np.asarray(from_paths))


def test_several_styles_blend_by_weights_given_as_a_list_or_one_by_one(styles_root):
    content = styles_root / "tubingen.jpg"
    scream, starry = styles_root / "the_scream.jpg", styles_root / "starry_night.jpg"
    as_list = style.stylize(content, [scream, starry], weights=[3, 1], **SMALL)
    one_by_one = style.stylize(content, scream, starry, weights=(3, 1), **SMALL)
    other_blend = style.stylize(content, scream, starry, weights=(1, 3), **SMALL)
    assert np.array_equal(np.asarray(as_list), np.asarray(one_by_one))
    assert not np.array_equal(np.asarray(as_list), np.asarray(other_blend))


def test_stylize_refuses_bad_input_clearly(styles_root):
    content, starry = styles_root / "tubingen.jpg", styles_root / "starry_night.jpg"
    with pytest.raises(DlcError, match="1 style images but 2 --style-blend weights"):
        style.stylize(content, starry, weights=[1, 2], **SMALL)
    with pytest.raises(TypeError, match="no_such_option"):
        style.stylize(content, starry, no_such_option=1, **SMALL)
    with pytest.raises(DlcError, match="the style picture: 300x2 pixels"):
        style.stylize(content, Image.new("RGB", (300, 2)), **SMALL)


def test_train_writes_its_files_and_returns_a_result(styles_root, tmp_path):
    config = style.Config(
        content=styles_root / "tubingen.jpg",
        styles=[styles_root / "starry_night.jpg"],
        out=tmp_path / "starry.webp",
        **SMALL,
    )
    result = style.train(config)
    assert isinstance(result, Result)
    assert result.checkpoint is None and result.out == tmp_path
    assert result.files == {
        "image": tmp_path / "starry.webp",
        "loss_figure": tmp_path / "starry.loss.png",
        "panel": tmp_path / "starry.panel.png",
        "metrics": tmp_path / "starry.metrics.json",
    }
    assert all(path.is_file() for path in result.files.values())
    assert result.metrics["style_loss_last"] < result.metrics["style_loss_first"]
    assert result.metrics["chroma_difference"] > 0
    assert [row["iteration"] for row in result.history] == [0, 1, 2, 3]
    assert result.details["settings"]["iters"] == 3
    assert not (tmp_path / ".dlc.lock").exists()  # given back when the run ends
    assert json.loads(json.dumps(result.to_dict()))["files"]["image"] == str(result.files["image"])
