"""Captioning new images: the Python API (``captioning.train`` → ``Result``, ``load`` →
``Captioner``), ``dlc caption predict`` in every format, attention maps, the renamed options and
a captions file naming images outside its folder."""

from __future__ import annotations

import ast
import csv
import io
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from dlclassics import captioning
from dlclassics.captioning.architecture import build_model
from dlclassics.captioning.attention_model import AttentionCaptioningRNN
from dlclassics.captioning.config import ShapesConfig
from dlclassics.captioning.folder import load_caption_folder
from dlclassics.captioning.model import CaptioningRNN
from dlclassics.captioning.shapes import make_shapes
from dlclassics.cli import main
from dlclassics.errors import DlcError

pytestmark = pytest.mark.usefixtures("one_torch_thread")

TINY_SHAPES = ShapesConfig(n_train=16, n_val=6, n_test=4, image_size=64)
SIZES = {"hidden_size": 16, "wordvec": 8, "image_size": 64, "pca": 6, "batch_size": 16}


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> dict[str, Path]:
    """A tiny shapes set, an LSTM and an attention model trained on it through the API."""
    root = tmp_path_factory.mktemp("caption_api")
    shapes = make_shapes(root / "shapes", TINY_SHAPES)
    runs = {"shapes": shapes, "root": root}
    for cell in ("lstm", "attention"):
        config = captioning.Config(
            data=str(shapes),
            cell=cell,
            epochs=2,
            beam=2,
            cache_dir=str(root / "cache"),
            out=str(root / cell),
            device="cpu",
            **SIZES,
        )
        result = captioning.train(config)
        assert result.checkpoint == root / cell / "checkpoint.pt"
        runs[cell] = result.checkpoint
        runs[f"{cell}_result"] = result
    return runs


def new_images(folder: Path, shapes: Path) -> Path:
    """A folder of images no captions file mentions: two test renders and a photo-like JPEG."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in ("test_00000.png", "test_00001.png"):
        shutil.copy(shapes / "images" / name, folder / name)
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 255, (48, 80, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(folder / "photo.jpg")
    return folder


def test_train_returns_a_result_with_fractions_and_files(trained) -> None:
    result = trained["lstm_result"]
    assert {"val_bleu4", "val_cider", "val_exact_match", "val_bleu4_beam2"} <= set(result.metrics)
    assert all(0 <= result.metrics[k] <= 1 for k in ("val_bleu1", "val_bleu4", "test_bleu4"))
    assert result.metrics["train_loss"] == result.history[-1]["train_loss"]
    assert [row["epoch"] for row in result.history] == [1, 2]
    assert {"checkpoint", "metrics", "loss_figure", "samples_val"} <= set(result.files)
    assert all(path.is_file() for path in result.files.values())
    assert "attention_val" in trained["attention_result"].files


def test_load_captions_paths_and_pil_images_alike(trained) -> None:
    captioner = captioning.load(trained["lstm"], device="cpu")
    path = trained["shapes"] / "images" / "val_00000.png"
    with Image.open(path) as image:
        pil = image.copy()
    for beam in (1, 3):
        captions = captioner.caption([str(path), pil, path], beam=beam)
        assert len(captions) == 3 and all(isinstance(c, str) for c in captions)
        assert captions[0] == captions[1] == captions[2]
    assert captioner.caption(path, beam=1) == captioner.caption([path], beam=1)
    with pytest.raises(DlcError, match="beam 0"):
        captioner.caption([path], beam=0)


def test_a_checkpoint_without_its_projection_refits_it(trained, tmp_path, capsys) -> None:
    """Checkpoints of 0.1 kept no feature projection: it is fitted again on the training data."""
    saved = torch.load(trained["lstm"], weights_only=True)
    del saved["projection"]
    saved["config"]["hidden"] = saved["config"].pop("hidden_size")  # the 0.1 field name
    old = tmp_path / "old.pt"
    torch.save(saved, old)
    path = trained["shapes"] / "images" / "val_00001.png"
    current = captioning.load(trained["lstm"], device="cpu").caption([path], beam=1)
    assert captioning.load(old, device="cpu").caption([path], beam=1) == current
    assert "refitting its feature projection" in capsys.readouterr().err


@pytest.mark.parametrize("fmt", ["txt", "csv", "jsonl"])
def test_predict_captions_a_folder_of_new_images(trained, tmp_path, capsys, fmt: str) -> None:
    folder = new_images(tmp_path / "new", trained["shapes"])
    out = tmp_path / f"captions.{fmt}"
    args = ["caption", "predict", "--checkpoint", str(trained["lstm"]), str(folder)]
    assert main([*args, "--format", fmt, "--beam", "1", "--device", "cpu", "-o", str(out)]) == 0
    text = out.read_text()
    images = sorted(str(p) for p in folder.iterdir())
    if fmt == "txt":
        rows = [line.split("\t") for line in text.splitlines()]
    elif fmt == "csv":
        table = list(csv.reader(io.StringIO(text)))
        assert table[0] == ["input", "caption"]
        rows = table[1:]
    else:
        records = [json.loads(line) for line in text.splitlines()]
        assert all(set(r) == {"input", "caption"} for r in records)
        rows = [[r["input"], r["caption"]] for r in records]
    assert sorted(row[0] for row in rows) == images
    expected = captioning.load(trained["lstm"], device="cpu").caption(images, beam=1)
    assert dict(rows) == dict(zip(images, expected, strict=True))


def test_attention_maps_one_figure_per_image(trained, tmp_path, capsys) -> None:
    folder = new_images(tmp_path / "new", trained["shapes"])
    maps = tmp_path / "maps"
    args = ["caption", "predict", "--checkpoint", str(trained["attention"]), str(folder)]
    assert main([*args, "--format", "jsonl", "--attention-maps", str(maps)]) == 0
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    figures = sorted(p.name for p in maps.iterdir())
    assert figures == [f"{Path(r['input']).stem}.attention.png" for r in records]
    assert all(Path(r["attention_map"]).is_file() for r in records)
    attended = captioning.load(trained["attention"], device="cpu").caption_with_attention(
        [folder / "photo.jpg"], beam=1
    )[0]
    assert attended.alphas.shape[0] == len(attended.words)
    np.testing.assert_allclose(attended.alphas.sum(axis=1), 1.0, rtol=1e-5)

    plain = ["caption", "predict", "--checkpoint", str(trained["lstm"]), str(folder)]
    assert main([*plain, "--attention-maps", str(tmp_path / "none")]) == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert "was trained with --cell lstm; attention maps need" in line
    assert not (tmp_path / "none").exists()


def test_predict_refuses_a_folder_without_images(trained, tmp_path, capsys) -> None:
    (tmp_path / "empty").mkdir()
    args = ["caption", "predict", "--checkpoint", str(trained["lstm"]), str(tmp_path / "empty")]
    assert main(args) == 2
    assert "no image files to caption" in capsys.readouterr().err


@pytest.mark.parametrize("name", ["/etc/hostname", "../../outside/im0.png", "sub/../../x.png"])
def test_captions_outside_their_folder_are_refused(tmp_path, name: str) -> None:
    folder = tmp_path / "mine"
    (folder / "images").mkdir(parents=True)
    Image.new("RGB", (8, 8)).save(folder / "images" / "a.png")
    (folder / "captions.txt").write_text(f"a.png#0\ta red box\n{name}#0\ta blue box\n")
    with pytest.raises(DlcError) as error:
        load_caption_folder(folder)
    assert str(error.value) == (
        f"{folder / 'captions.txt'}:2: image {name!r} is outside {folder / 'images'}; "
        "name images by their path inside it"
    )


def test_caption_train_refuses_an_absolute_image_path_in_one_line(tmp_path, capsys) -> None:
    folder = tmp_path / "mine"
    (folder / "images").mkdir(parents=True)
    for name in ("a.png", "b.png"):
        Image.new("RGB", (8, 8)).save(folder / "images" / name)
    outside = tmp_path / "elsewhere.png"
    Image.new("RGB", (8, 8)).save(outside)
    lines = ["a.png#0\ta red box", "b.png#0\ta blue box", f"{outside}#0\ta green box"]
    (folder / "captions.txt").write_text("\n".join(lines) + "\n")
    assert main(["caption", "train", "--data", str(folder), "--out", str(tmp_path / "run")]) == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line.startswith(f"dlc: error: {folder / 'captions.txt'}:3: image '{outside}' is outside")


def test_old_option_spellings_still_work_with_a_note(capsys) -> None:
    from dlclassics.captioning.commands import train_config
    from dlclassics.cli import build_parser

    old = ["--hidden", "24", "--feature-cache", "cachedir", "--device", "cpu"]
    config = train_config(build_parser().parse_args(["caption", "train", *old]))
    assert (config.hidden_size, config.cache_dir) == (24, "cachedir")
    notes = capsys.readouterr().err.splitlines()
    assert notes == [
        "dlc: note: --hidden is deprecated; use --hidden-size",
        "dlc: note: --feature-cache is deprecated; use --cache-dir",
    ]


def test_data_folder_prefix_still_works_with_a_note(trained, capsys) -> None:
    from dlclassics.captioning.run import data_source

    folder = trained["shapes"]
    assert data_source(captioning.Config(data=f"folder:{folder}")) == ("folder", folder)
    assert "--data folder:DIR is deprecated; use --data DIR" in capsys.readouterr().err
    assert data_source(captioning.Config(data=str(folder))) == ("shapes", folder)
    forced = captioning.Config(data=str(folder), data_format="folder")
    assert data_source(forced) == ("folder", folder)


def test_one_beam_default_for_training_and_captioning() -> None:
    from dlclassics.cli import build_parser

    parser = build_parser()
    train = parser.parse_args(["caption", "train"])
    sample = parser.parse_args(["caption", "sample", "--checkpoint", "c.pt"])
    predict = parser.parse_args(["caption", "predict", "--checkpoint", "c.pt", "a.jpg"])
    assert train.beam == sample.beam == predict.beam == captioning.Config().beam


def test_every_caption_action_has_a_description(capsys) -> None:
    for action in ("make-shapes", "train", "sample", "predict"):
        with pytest.raises(SystemExit):
            main(["caption", action, "--help"])
        rest = capsys.readouterr().out.partition("\n\n")[2]
        assert rest.split("\n\n")[0].strip() and not rest.startswith("positional"), action


def test_the_two_models_no_longer_import_each_other() -> None:
    package = Path(captioning.__file__).parent
    for module, other in (("model", "attention_model"), ("attention_model", "model")):
        tree = ast.parse((package / f"{module}.py").read_text())
        imported = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
        assert f"dlclassics.captioning.{other}" not in imported
    with pytest.raises(ValueError, match="AttentionCaptioningRNN"):
        CaptioningRNN({"<NULL>": 0, "<START>": 1}, cell_type="attention")
    config = captioning.Config(cell="attention", hidden_size=4, wordvec=2, attention_dim=3)
    model = build_model({"<NULL>": 0, "<START>": 1, "<END>": 2}, 5, config)
    assert type(model) is AttentionCaptioningRNN and model.params["Wh"].shape == (4, 16)
