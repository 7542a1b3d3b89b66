"""``dlc style`` end to end at 64 px: it lowers the loss, writes every file, and fails cleanly."""

from __future__ import annotations

import json
import subprocess

import numpy as np
import pytest
from PIL import Image

from dlclassics.cli import main

OUTPUT_FILES = ("result.png", "loss.png", "panel.png", "metrics.json")


def run_cli(*args: str) -> int:
    return main(["style", *map(str, args)])


def test_64px_20_iterations_lowers_the_loss_and_writes_every_file(styles_root, tmp_path, capsys):
    out = tmp_path / "run.v2"  # a dot in a folder name does not make it an image
    rc = run_cli(
        styles_root / "tubingen.jpg",
        styles_root / "starry_night.jpg",
        "-o",
        out,
        "--size",
        "64",
        "--iters",
        "20",
    )
    assert rc == 0
    for name in OUTPUT_FILES:
        assert (out / name).is_file(), name
    assert f"metrics.json in {out}\n" in capsys.readouterr().out
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["losses_last"]["total"] < metrics["losses_first"]["total"]
    assert metrics["losses_last"]["style"] < metrics["losses_first"]["style"]
    assert len(metrics["history"]["total"]) == 21  # the start plus one point per step
    assert metrics["iterations_per_second"] > 0
    assert metrics["settings"]["backbone"] == "efficientnet_lite0"
    with Image.open(out / "result.png") as image:
        assert min(image.size) == 64
        assert image.size == (85, 64)  # tubingen is 1024 x 768, shorter side → 64


def test_image_output_path_and_blended_styles(styles_root, tmp_path):
    out = tmp_path / "painted.jpg"
    rc = run_cli(
        styles_root / "tubingen.jpg",
        styles_root / "the_scream.jpg",
        styles_root / "composition_vii.jpg",
        "-o",
        out,
        "--size",
        "48",
        "--iters",
        "3",
        "--style-blend",
        "3",
        "1",
        "--optimizer",
        "lbfgs",
        "--init",
        "noise",
    )
    assert rc == 0
    assert out.is_file()
    metrics = json.loads((tmp_path / "painted.metrics.json").read_text())
    assert metrics["settings"]["blend"] == [3.0, 1.0]
    assert metrics["files"]["image"] == "painted.jpg"
    assert (tmp_path / "painted.panel.png").is_file()
    assert (tmp_path / "painted.loss.png").is_file()
    assert not (tmp_path / ".dlc.lock").exists()  # the folder's lock is given back


def test_grayscale_alpha_and_cmyk_inputs_work(styles_root, tmp_path):
    with Image.open(styles_root / "tubingen.jpg") as photo:
        small = photo.resize((120, 90))
    gray, rgba, cmyk = tmp_path / "gray.png", tmp_path / "alpha.png", tmp_path / "cmyk.jpg"
    small.convert("L").save(gray)
    small.convert("RGBA").save(rgba)
    small.convert("CMYK").save(cmyk)
    rc = run_cli(gray, rgba, cmyk, "-o", tmp_path / "out", "--size", "40", "--iters", "2")
    assert rc == 0
    with Image.open(tmp_path / "out" / "result.png") as image:
        assert image.mode == "RGB" and min(image.size) == 40


def test_missing_style_file_is_a_one_line_error(styles_root, tmp_path, capsys):
    missing = tmp_path / "nope.jpg"
    rc = run_cli(styles_root / "tubingen.jpg", missing, "-o", tmp_path / "out")
    assert rc == 2
    err = capsys.readouterr().err.strip()
    assert err == f"dlc: error: {missing}: no such file"
    assert not (tmp_path / "out").exists()


def test_corrupt_content_file_is_a_one_line_error(styles_root, tmp_path, capsys):
    corrupt = tmp_path / "broken.jpg"
    corrupt.write_bytes((styles_root / "tubingen.jpg").read_bytes()[:3000])  # truncated JPEG
    rc = run_cli(corrupt, styles_root / "starry_night.jpg", "-o", tmp_path / "out")
    assert rc == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and str(corrupt) in err[0]


def test_not_an_image_is_a_one_line_error(styles_root, tmp_path, capsys):
    text = tmp_path / "notes.png"
    text.write_text("not an image")
    assert run_cli(styles_root / "tubingen.jpg", text) == 2
    assert capsys.readouterr().err.strip() == f"dlc: error: {text}: not a readable image file"


def run_cli_error(capsys, *args: str) -> tuple[int, list[str]]:
    """Exit status and stderr lines of a ``dlc style`` run that must fail (argparse exits)."""
    try:
        rc = run_cli(*args)
    except SystemExit as exc:
        rc = exc.code
    return rc, capsys.readouterr().err.strip().splitlines()


@pytest.mark.parametrize(
    ("flag", "value", "message"),
    [
        ("--content-weight", "nan", "expected a finite number, got 'nan'"),
        ("--iters", "0", "0 is not ≥ 1"),
        ("--size", "4", "4 is not in [8, 4096]"),
        ("--lr", "-1", "-1 is not > 0.0"),
    ],
)
def test_bad_numbers_are_refused_before_any_work(
    styles_root, tmp_path, capsys, flag, value, message
):
    """Numeric flags are checked by argparse (a NaN weight once ran and failed at iteration 0)."""
    out = tmp_path / "out"
    content, style = styles_root / "tubingen.jpg", styles_root / "starry_night.jpg"
    rc, err = run_cli_error(capsys, content, style, "-o", out, flag, value)
    assert rc == 2 and len(err) == 1
    assert err[0].startswith("dlc: error: dlc style: argument") and message in err[0]
    assert not out.exists()


def mean_change(image_path, content_path, size: int) -> float:
    """Mean absolute difference of a result from the content photo, in 1/255 units."""
    from dlclassics.style.images import load_pixels

    content = load_pixels(content_path, size)[0].permute(1, 2, 0).numpy() * 255
    with Image.open(image_path) as image:
        return float(abs(np.asarray(image, dtype=np.float64) - content).mean())


@pytest.mark.parametrize("optimizer", ["adam", "lbfgs"])
def test_huge_style_weights_paint_as_ordinary_ones(styles_root, tmp_path, optimizer):
    """Issue 27: at --style-weight 1e20 Adam's squared gradients overflowed float32 and the
    run returned the photo almost unchanged while its loss fell a little (L-BFGS stopped at
    once). Adam and L-BFGS do not depend on the loss's scale, so 1e20 must paint as 1e5 does."""
    content, style = styles_root / "tubingen.jpg", styles_root / "starry_night.jpg"
    changes, reductions = [], []
    for weight in ("1e5", "1e20"):
        out = tmp_path / f"{weight}.png"
        args = ["--size", "32", "--iters", "8", "--optimizer", optimizer]
        assert run_cli(content, style, "-o", out, *args, "--style-weight", *[weight] * 4) == 0
        metrics = json.loads((tmp_path / f"{weight}.metrics.json").read_text())
        reductions.append(metrics["style_reduction"])
        changes.append(mean_change(out, content, 32))
    assert changes[0] > 5  # the style visibly changed the photo
    assert changes[1] == pytest.approx(changes[0], rel=0.25)
    assert reductions[1] == pytest.approx(reductions[0], rel=0.25)


def test_tiny_loss_weights_paint_as_ordinary_ones(styles_root, tmp_path):
    """Every weight x 1e-20: Adam's ε no longer swamps the gradients (the photo moved < 1/255)."""
    content, style = styles_root / "tubingen.jpg", styles_root / "starry_night.jpg"
    common = ["--size", "32", "--iters", "8"]
    assert run_cli(content, style, "-o", tmp_path / "plain.png", *common) == 0
    tiny = ["--style-scale", "1e-20", "--content-weight", "5e-24", "--tv-weight", "1e-22"]
    assert run_cli(content, style, "-o", tmp_path / "tiny.png", *common, *tiny) == 0
    plain = mean_change(tmp_path / "plain.png", content, 32)
    assert mean_change(tmp_path / "tiny.png", content, 32) == pytest.approx(plain, rel=0.25)


def test_weights_beyond_float32_are_refused_in_one_line_with_the_reason(
    styles_root, tmp_path, capsys
):
    out = tmp_path / "out"
    rc, err = run_cli_error(
        capsys,
        styles_root / "tubingen.jpg",
        styles_root / "starry_night.jpg",
        "-o",
        out,
        "--size",
        "32",
        "--iters",
        "3",
        "--style-weight",
        *["1e40"] * 4,
    )
    assert rc == 2 and len(err) == 1
    assert "at iteration 0: the loss weights are too large for float32 arithmetic" in err[0]
    assert not (out / "result.png").exists()


def test_a_learning_rate_below_the_pixels_resolution_is_refused(styles_root, tmp_path, capsys):
    content, style = styles_root / "tubingen.jpg", styles_root / "starry_night.jpg"
    rc, err = run_cli_error(
        capsys,
        content,
        style,
        "-o",
        tmp_path / "o",
        "--size",
        "32",
        "--iters",
        "3",
        "--lr",
        "1e-12",
    )
    assert rc == 2 and len(err) == 1
    assert "iteration 0: the optimiser step left the image unchanged" in err[0] and "--lr" in err[0]


def test_two_runs_into_one_folder_keep_both_sets_of_files(styles_root, tmp_path, capsys):
    """Issue 25: the side files are named after the output image."""
    content, out = styles_root / "tubingen.jpg", tmp_path / "out"
    for name in ("starry_night", "the_scream"):
        image = out / f"{name}.png"
        assert (
            run_cli(
                content, styles_root / f"{name}.jpg", "-o", image, "--size", "32", "--iters", "2"
            )
            == 0
        )
        assert capsys.readouterr().out.endswith(
            f"wrote {image}, {name}.loss.png, {name}.panel.png, {name}.metrics.json in {out}\n"
        )
    names = {p.name for p in out.iterdir()}
    for name in ("starry_night", "the_scream"):
        assert {
            f"{name}{end}" for end in (".png", ".loss.png", ".panel.png", ".metrics.json")
        } <= names
        metrics = json.loads((out / f"{name}.metrics.json").read_text())
        assert metrics["styles"] == [str(styles_root / f"{name}.jpg")]
        assert metrics["files"]["panel"] == f"{name}.panel.png"


@pytest.mark.parametrize("suffix", [".tif", ".webp", ".bmp", ".jpg", ".TIFF"])
def test_any_suffix_pillow_writes_is_an_image_file(styles_root, tmp_path, suffix):
    out = tmp_path / f"y{suffix}"
    content, style = styles_root / "tubingen.jpg", styles_root / "starry_night.jpg"
    assert run_cli(content, style, "-o", out, "--size", "16", "--iters", "1") == 0
    assert out.is_file()
    with Image.open(out) as image:
        assert min(image.size) == 16
    assert (tmp_path / "y.metrics.json").is_file()


def test_a_suffix_pillow_cannot_write_in_colour_is_refused_before_the_work(
    styles_root, tmp_path, capsys
):
    out = tmp_path / "y.xbm"
    content, style = styles_root / "tubingen.jpg", styles_root / "starry_night.jpg"
    rc, err = run_cli_error(capsys, content, style, "-o", out, "--size", "16", "--iters", "1")
    assert rc == 2 and len(err) == 1
    assert f"{out}: Pillow cannot write a colour picture as XBM" in err[0]
    assert not out.exists()


@pytest.mark.parametrize("target", ["folder", "folder/painted.png"])
def test_a_folder_another_run_writes_into_is_refused(styles_root, tmp_path, capsys, target):
    """Issue 27: two runs into one folder do not both write (the second one stops at once)."""
    folder = tmp_path / "folder"
    folder.mkdir()
    other = subprocess.Popen(["sleep", "60"])  # a live process owns the folder's lock
    try:
        (folder / ".dlc.lock").write_text(f"{other.pid}\n")
        content, style = styles_root / "tubingen.jpg", styles_root / "starry_night.jpg"
        rc, err = run_cli_error(capsys, content, style, "-o", tmp_path / target, "--iters", "1")
    finally:
        other.kill()
        other.wait()
    assert rc == 2 and len(err) == 1
    assert f"another dlc run (PID {other.pid}) is writing here" in err[0]
    assert {p.name for p in folder.iterdir()} == {".dlc.lock"}


def test_threads_and_precision_are_taken_and_recorded(styles_root, tmp_path):
    content, style = styles_root / "tubingen.jpg", styles_root / "starry_night.jpg"
    out = tmp_path / "out"
    args = ["--size", "16", "--iters", "1", "--threads", "1", "--precision", "bf16"]
    assert run_cli(content, style, "-o", out, *args) == 0
    settings = json.loads((out / "metrics.json").read_text())["settings"]
    assert settings["threads"] == 1 and settings["precision"] == "bf16"  # CPU: runs in fp32


def test_a_5000_by_1_style_picture_is_refused_in_one_line(styles_root, tmp_path, capsys):
    strip = tmp_path / "strip.png"
    Image.new("RGB", (5000, 1), (200, 40, 10)).save(strip)
    rc, err = run_cli_error(
        capsys, styles_root / "tubingen.jpg", strip, "-o", tmp_path / "out", "--size", "64"
    )
    assert rc == 2
    assert err == [
        f"dlc: error: {strip}: 5000x1 pixels, an aspect ratio of 5000:1; style transfer takes "
        "pictures up to 10:1 (crop it first)"
    ]


def test_device_cpu_is_honoured(styles_root, tmp_path, monkeypatch):
    """``--device cpu``: the backbone's parameters and the result live on the CPU."""
    from dlclassics.style import run

    loaded = []

    def spy(*args, **kwargs):
        loaded.append(frozen_backbone(*args, **kwargs))
        return loaded[-1]

    frozen_backbone = run.frozen_backbone
    monkeypatch.setattr(run, "frozen_backbone", spy)
    content, style = styles_root / "tubingen.jpg", styles_root / "starry_night.jpg"
    out = tmp_path / "out"
    assert (
        run_cli(content, style, "-o", out, "--size", "32", "--iters", "2", "--device", "cpu") == 0
    )
    assert {p.device.type for p in loaded[0].parameters()} == {"cpu"}
    assert json.loads((out / "metrics.json").read_text())["settings"]["device"] == "cpu"


def test_unknown_or_missing_device_is_one_line(styles_root, tmp_path, capsys):
    import torch

    content, style = styles_root / "tubingen.jpg", styles_root / "starry_night.jpg"
    assert run_cli(content, style, "-o", tmp_path / "a", "--device", "tpu") == 2
    assert capsys.readouterr().err.strip() == (
        "dlc: error: --device=tpu: expected cpu, cuda or cuda:N"
    )
    if not torch.cuda.is_available():
        assert run_cli(content, style, "-o", tmp_path / "b", "--device", "cuda") == 2
        assert "no CUDA GPU is visible" in capsys.readouterr().err


def test_output_that_is_a_file_is_refused_before_the_work(styles_root, tmp_path, capsys):
    taken = tmp_path / "taken"
    taken.write_text("not a folder")
    content, style = styles_root / "tubingen.jpg", styles_root / "starry_night.jpg"
    assert run_cli(content, style, "-o", taken, "--size", "32", "--iters", "2") == 2
    assert capsys.readouterr().err.strip() == f"dlc: error: {taken}: exists and is not a folder"
    assert taken.read_text() == "not a folder"


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--style-weight", "1", "2"], "4 style layers (stem, block1, block3, block5) but 2 style"),
        (["--style-layers", "block0"], "give one --style-weight per layer"),
        (["--content-layer", "conv9"], "has no layer 'conv9'"),
        (["--style-blend", "1", "1"], "1 style images but 2 --style-blend weights"),
        (["--backbone", "resnet18"], "no style-transfer preset for backbone 'resnet18'"),
    ],
)
def test_inconsistent_options_are_one_line_errors(styles_root, tmp_path, capsys, extra, message):
    rc = run_cli(
        styles_root / "tubingen.jpg",
        styles_root / "starry_night.jpg",
        "-o",
        tmp_path / "out",
        "--size",
        "32",
        "--iters",
        "1",
        *extra,
    )
    assert rc == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0]


def test_needs_content_and_style(tmp_path, capsys):
    assert run_cli(tmp_path / "only.jpg") == 2
    assert "give a CONTENT image and at least one STYLE image" in capsys.readouterr().err


def test_reference_preset_runs_the_three_pairs(data_root, tmp_path):
    out = tmp_path / "reference"
    rc = run_cli(
        "--preset", "reference", "--data-root", data_root, "-o", out, "--size", "32", "--iters", "3"
    )
    assert rc == 0
    summary = json.loads((out / "metrics.json").read_text())
    assert list(summary["pairs"]) == ["composition_vii", "the_scream", "starry_night"]
    for pair in summary["pairs"].values():
        for key in ("image", "panel", "loss_curve"):
            assert (out / pair[key]).is_file()
        assert pair["style_last"] < pair["style_first"]


def test_reference_preset_without_data_names_the_data_set(tmp_path, capsys):
    rc = run_cli("--preset", "reference", "--data-root", tmp_path, "-o", tmp_path / "out")
    assert rc == 2
    assert "data set 'styles' not found" in capsys.readouterr().err


def test_help_lists_the_options(capsys):
    with pytest.raises(SystemExit):
        run_cli("--help")
    text = capsys.readouterr().out
    for option in ("--style-blend", "--tv-weight", "--optimizer", "--preset", "--init"):
        assert option in text


def test_reproduce_part_tiny_profile(data_root, tmp_path):
    from dlclassics.io import atomic_write_json
    from dlclassics.style.reproduce import run_part

    result = run_part(out_dir=tmp_path, data_root=data_root, profile="tiny")
    assert result.data["size"] == 48 and result.data["iterations"] == 10
    assert len(result.tables[0].rows) == 3
    for figure in result.figures:
        assert (tmp_path / figure.path).is_file()
    assert "the style loss fell" in result.summary
    record = result.to_record()
    atomic_write_json(tmp_path / "part.json", record)  # JSON-able as returned (paths as text)
    assert json.loads((tmp_path / "part.json").read_text())["summary"] == result.summary
