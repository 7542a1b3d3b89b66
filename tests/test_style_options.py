"""``dlc style``'s artist options: original colours, coarse-to-fine scales and tiles (tiny sizes)."""

from __future__ import annotations

import itertools
import json

import numpy as np
import pytest
import torch
from PIL import Image

from dlclassics.cli import main
from dlclassics.style.colors import (
    chroma_difference,
    colour_statistics,
    grey,
    match_histogram,
    match_luminance,
    rgb_to_ycbcr,
    with_content_colors,
    ycbcr_to_rgb,
)
from dlclassics.style.images import load_pixels
from dlclassics.style.tiles import blend, blend_weights, tile_boxes, tile_starts


def read_png(path) -> torch.Tensor:
    with Image.open(path) as image:
        array = np.asarray(image.convert("RGB"), dtype=np.float32) / 255.0
    return torch.from_numpy(array).permute(2, 0, 1).unsqueeze(0)


@pytest.fixture(scope="module")
def pictures(styles_root):
    """Tübingen and Starry Night at 40 px."""
    return load_pixels(styles_root / "tubingen.jpg", 40), load_pixels(
        styles_root / "starry_night.jpg", 40
    )


# --- colours ---------------------------------------------------------------------------------


def test_ycbcr_round_trip_and_grey_has_no_chroma(pictures):
    content, _ = pictures
    assert torch.allclose(ycbcr_to_rgb(rgb_to_ycbcr(content)), content, atol=1e-5)
    chroma = rgb_to_ycbcr(grey(content))[:, 1:]
    assert torch.allclose(chroma, torch.full_like(chroma, 0.5), atol=1e-5)


def test_content_colours_keep_the_chroma_within_rounding_even_after_8_bits(pictures):
    content, _ = pictures
    painted = torch.rand(content.shape, generator=torch.Generator().manual_seed(0))
    result = with_content_colors(painted, content)
    assert result.min() >= 0 and result.max() <= 1
    as_8_bits = (result * 255).round() / 255
    assert chroma_difference(as_8_bits, content) <= 1.0  # mean |ΔCb|, |ΔCr| in 1/255 units
    # the luminance is the painted one wherever the content's chroma allows it
    kept = (rgb_to_ycbcr(result)[:, :1] - rgb_to_ycbcr(painted)[:, :1]).abs() < 1e-4
    assert kept.float().mean() > 0.5


def test_histogram_matching_moves_the_style_statistics_to_the_content(pictures):
    content, style = pictures
    matched = match_histogram(style, content)
    assert matched.shape == style.shape
    mean_c, cov_c = colour_statistics(content)
    mean_s, cov_s = colour_statistics(style)
    mean_m, cov_m = colour_statistics(matched)
    std = lambda cov: cov.diagonal().sqrt()  # noqa: E731
    assert (mean_m - mean_c).abs().max() < 0.01 < (mean_s - mean_c).abs().max()
    assert (std(cov_m) - std(cov_c)).abs().max() < 0.01 < (std(cov_s) - std(cov_c)).abs().max()
    y_style, y_content = rgb_to_ycbcr(match_luminance(style, content))[:, 0], rgb_to_ycbcr(content)
    assert abs(float(y_style.mean() - y_content[:, 0].mean())) < 0.01


# --- tiles -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("length", "tile", "overlap"), [(100, 48, 12), (64, 64, 16), (513, 512, 128)]
)
def test_tiles_cover_the_picture_with_the_overlap(length, tile, overlap):
    starts = tile_starts(length, tile, overlap)
    assert starts[0] == 0 and starts[-1] + min(tile, length) == length
    for a, b in itertools.pairwise(starts):
        assert a + tile - b >= overlap  # neighbours overlap by at least the overlap


def test_blend_weights_sum_to_one_and_a_constant_picture_has_no_seam():
    height, width = 70, 130
    boxes = tile_boxes(height, width, tile=40, overlap=10)
    assert len(boxes) > 4
    total = torch.zeros(height, width, dtype=torch.float64)
    for weight, box in zip(blend_weights(boxes, height, width), boxes, strict=True):
        assert weight.min() > 0
        box.crop(total).add_(weight)
    assert torch.allclose(total, torch.ones_like(total))
    constant = torch.full((1, 3, height, width), 0.3)
    assert torch.allclose(
        blend([b.crop(constant) for b in boxes], boxes, (height, width)), constant
    )
    ramp = torch.linspace(0, 1, width).expand(1, 3, height, width)
    assert torch.allclose(blend([b.crop(ramp) for b in boxes], boxes, (height, width)), ramp)


# --- the schedule, without a backbone --------------------------------------------------------


class FakeExtractor:
    def style_targets(self, styles, blend):
        return [s.mean() for s in styles]


def test_each_scale_starts_from_the_upsampled_previous_result(styles_root, monkeypatch):
    from dlclassics.style import multiscale
    from dlclassics.style.config import Config
    from dlclassics.style.optimize import LossHistory, LossWeights, OptimConfig

    calls = []

    def fake_optimise(extractor, content, targets, *, weights, config, seed, progress, start, desc):
        calls.append((content.shape, start.clone(), config.iterations, desc))
        history = LossHistory()
        for k in range(config.iterations + 1):
            history.append({"total": 1.0 / (k + 1), "content": 0.1, "style": 0.5, "tv": 0.1}, k)
        return (1.0 - start).clamp(0, 1), history  # an easily recognised "painting"

    monkeypatch.setattr(multiscale, "optimise_pixels", fake_optimise)
    monkeypatch.setattr(multiscale, "plan_tile", lambda *args, **kwargs: (None, {}))
    config = Config(
        content=styles_root / "tubingen.jpg",
        styles=(styles_root / "starry_night.jpg",),
        scales=(16, 24, 40),
        scale_iters=(3, 2, 1),
        device="cpu",
    )
    weights, optim = LossWeights(1.0, (1.0,), 1.0), OptimConfig(iterations=99)
    result, scales, _ = multiscale.paint(
        config, FakeExtractor(), weights=weights, optim=optim, blend=[1.0], progress=False
    )
    assert [s.size for s in scales] == [16, 24, 40]
    assert [len(s.history.total) for s in scales] == [4, 3, 2]  # one loss series per scale
    assert [c[2] for c in calls] == [3, 2, 1]
    assert [c[3] for c in calls] == ["style 16px", "style 24px", "style 40px"]
    first_content = load_pixels(styles_root / "tubingen.jpg", 16)
    assert torch.equal(calls[0][1], first_content)  # --init content
    for k in (1, 2):
        previous = 1.0 - calls[k - 1][1]
        expected = multiscale.upsample(previous, *calls[k][0][-2:])
        assert torch.allclose(calls[k][1], expected)
    assert result.shape[-2:] == (40, 53)


# --- end to end through dlc style ------------------------------------------------------------


def run_cli(capsys, *args) -> tuple[int, list[str], str]:
    """(exit status, stderr lines, stdout) of ``dlc style ARGS``."""
    try:
        rc = main(["style", *map(str, args)])
    except SystemExit as exc:
        rc = exc.code
    captured = capsys.readouterr()
    return rc, captured.err.strip().splitlines(), captured.out


def pair(styles_root) -> tuple:
    return styles_root / "tubingen.jpg", styles_root / "starry_night.jpg"


def test_original_colors_keep_the_content_chroma(styles_root, tmp_path, capsys):
    out = tmp_path / "oc"
    rc, *_ = run_cli(
        capsys,
        *pair(styles_root),
        "-o",
        out,
        "--size",
        "32",
        "--iters",
        "6",
        "--original-colors",
        "--match-histogram",
    )
    assert rc == 0
    metrics = json.loads((out / "metrics.json").read_text())
    content = load_pixels(styles_root / "tubingen.jpg", 32)
    result = read_png(out / "result.png")
    assert result.shape == content.shape
    assert chroma_difference(result, content) <= 1.0  # ≤ 1/255 mean |ΔCb|, |ΔCr|
    assert metrics["colors"]["chroma_difference"] <= 1.0
    assert metrics["settings"]["original_colors"] and metrics["settings"]["match_histogram"]
    assert metrics["losses_last"]["style"] < metrics["losses_first"]["style"]


def test_scales_write_one_loss_series_per_scale(styles_root, tmp_path, capsys):
    out = tmp_path / "c2f"
    rc, *_ = run_cli(
        capsys, *pair(styles_root), "-o", out, "--scales", "24", "40", "--scale-iters", "3", "2"
    )
    assert rc == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert [s["size"] for s in metrics["scales"]] == [24, 40]
    assert [len(s["history"]["style"]) for s in metrics["scales"]] == [4, 3]
    assert metrics["settings"]["size"] == 40 and metrics["image_size"] == [40, 53]
    assert (out / "loss.png").is_file()
    with Image.open(out / "result.png") as image:
        assert image.size == (53, 40)


def test_a_picture_in_one_tile_paints_as_without_tiles(styles_root, tmp_path, capsys):
    common = ["--size", "32", "--iters", "3"]
    assert run_cli(capsys, *pair(styles_root), "-o", tmp_path / "a", *common)[0] == 0
    assert (
        run_cli(capsys, *pair(styles_root), "-o", tmp_path / "b", *common, "--tile", "64")[0] == 0
    )
    plain, tiled = read_png(tmp_path / "a" / "result.png"), read_png(tmp_path / "b" / "result.png")
    assert (plain - tiled).abs().max() <= 1.5 / 255


def test_tiles_paint_the_whole_picture(styles_root, tmp_path, capsys):
    out = tmp_path / "tiled"
    rc, *_ = run_cli(
        capsys,
        *pair(styles_root),
        "-o",
        out,
        "--size",
        "40",
        "--iters",
        "2",
        "--tile",
        "32",
        "--tile-overlap",
        "8",
    )
    assert rc == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["tiling"]["tile"] == 32 and metrics["tiling"]["overlap"] == 8
    assert metrics["scales"][0]["tiles"] == len(tile_boxes(40, 53, tile=32, overlap=8)) == 4
    assert len(metrics["history"]["style"]) == 3
    with Image.open(out / "result.png") as image:
        assert image.size == (53, 40)


def test_a_picture_too_large_for_memory_is_tiled_or_refused(
    styles_root, tmp_path, capsys, monkeypatch
):
    from dlclassics.style import tiles

    monkeypatch.setattr(tiles, "free_bytes", lambda device: 1000)
    args = [*pair(styles_root), "--size", "32", "--iters", "1"]
    rc, err, _ = run_cli(capsys, *args, "-o", tmp_path / "refused", "--no-tile")
    assert rc == 2 and len(err) == 1
    assert "GiB per step but" in err[0] and "--no-tile" in err[0]
    rc, _, out = run_cli(capsys, *args, "-o", tmp_path / "auto")
    assert rc == 0 and "optimising it in tiles of 512 px" in out
    metrics = json.loads((tmp_path / "auto" / "metrics.json").read_text())
    assert metrics["tiling"]["tile"] == 512 and metrics["tiling"]["estimated_gib"] > 0


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--tile", "0"], "argument --tile: 0 is not in [16, 4096]"),
        (["--scales", "64", "32"], "--scales 64 32: each scale must exceed the last"),
        (["--scales", "16", "32", "--scale-iters", "2"], "2 scales but 1 --scale-iters counts"),
        (["--scales", "16", "32", "--size", "48"], "--size 48 differs from the last of --scales"),
        (["--tile", "32", "--tile-overlap", "16"], "--tile-overlap 16 must be below half"),
        (["--tile", "32", "--no-tile"], "--tile and --no-tile"),
    ],
)
def test_bad_artist_flags_are_one_line(styles_root, tmp_path, capsys, extra, message):
    rc, err, _ = run_cli(capsys, *pair(styles_root), "-o", tmp_path / "x", "--iters", "1", *extra)
    assert rc == 2 and len(err) == 1
    assert err[0].startswith("dlc: error:") and message in err[0]


@pytest.mark.usefixtures("one_torch_thread")
def test_two_processes_share_the_tiles_and_paint_like_one(styles_root, tmp_path, capsys):
    from test_distributed_sentiment import torchrun  # tests/ is on sys.path under pytest

    settings = ["--size", "40", "--iters", "2", "--tile", "32", "--tile-overlap", "8"]
    one, two = tmp_path / "one", tmp_path / "two"
    assert run_cli(capsys, *pair(styles_root), "-o", one, *settings)[0] == 0
    job = torchrun("style", *map(str, pair(styles_root)), "-o", str(two), *settings)
    assert job.returncode == 0, job.stderr[-3000:]
    assert json.loads((two / "metrics.json").read_text())["processes"] == 2
    difference = read_png(one / "result.png") - read_png(two / "result.png")
    assert difference.abs().max() <= 1.5 / 255


def test_report_extras_show_original_colours_and_coarse_to_fine(data_root, tmp_path):
    from dlclassics.style.config import Config
    from dlclassics.style.reproduce import render_extras

    template = Config(out=tmp_path, size=32, iters=2)
    Image.new("RGB", (43, 32), (90, 120, 200)).save(tmp_path / "plain.png")  # the plain result
    reference = {"pairs": {"starry_night": {"image": "plain.png"}}}
    extras = render_extras(template, data_root, reference, scales=(24, 40), scale_iters=(2, 2))
    assert (tmp_path / extras["figure"]).is_file()
    assert len(extras["table"].rows) == 2
    runs = extras["runs"]
    assert runs["original_colors"]["chroma_difference"] <= 1.0
    assert runs["coarse_to_fine"]["scales"] == [24, 40]
    for run in runs.values():
        assert (tmp_path / run["image"]).is_file()
