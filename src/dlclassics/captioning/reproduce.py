"""Part 4 of ``dlc reproduce``: image captioning on the generated shapes data."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from dlclassics.captioning.benchmark import (
    OVERFIT,
    BenchSettings,
    format_table,
    run_benchmark,
    summary_tables,
)
from dlclassics.captioning.config import ShapesConfig
from dlclassics.captioning.loaders import default_shapes_dir
from dlclassics.io import atomic_write_text
from dlclassics.report.sections import Figure, PartResult
from dlclassics.runtime import resolve_device

QUICK_SHAPES = ShapesConfig(n_train=120, n_val=40, n_test=40)
TINY_SHAPES = ShapesConfig(n_train=24, n_val=8, n_test=8, image_size=64)
TINY_OVERFIT = replace(OVERFIT, overfit=8, epochs=8, batch_size=8, hidden=32, wordvec=16)


def _settings(profile: str, shapes_dir: Path, out_dir: Path) -> tuple[BenchSettings, Path]:
    if profile == "tiny":  # hermetic: the small set lives in the run folder
        return BenchSettings(TINY_SHAPES, TINY_OVERFIT, None, None), out_dir / "shapes_tiny"
    if profile == "quick":
        quick_dir = shapes_dir.with_name(shapes_dir.name + "_quick")
        return BenchSettings(shapes=QUICK_SHAPES, full=None, timing=None), quick_dir
    return BenchSettings(), shapes_dir


def run_part(out_dir: Path, data_root: Path, profile: str) -> PartResult:
    """Run the captioning experiment; files go into ``out_dir``.

    tiny: 24/8/8 shapes images of 64 px in ``out_dir`` and an 8-caption overfit with a tiny
    model (seconds; tests).
    quick: a small shapes set (120/40/40 images, in ``<shapes dir>_quick``) and the reference's
    overfit demo (50 captions, 50 epochs, batch 25, Adam 5e-3, hidden 512, word vectors 256) for
    the RNN and the LSTM — about two minutes on 2 cores, most of it image features.
    full: the benchmark settings (``captioning.benchmark``): 2000/400/400 shapes images, the
    overfit demo, full training of both cells scored greedy and with beam 3, and one epoch of
    each engine per cell for the NumPy vs PyTorch time.
    Image features are computed on the GPU when one is visible (``$DLC_DEVICE`` chooses).

    Returns:
        The summary line, the tables, the loss curves and sample grids (paths relative to
        ``out_dir``), and as ``data``: ``data`` (data set description), ``overfit`` / ``full``
        (per cell ``final_loss``, ``last_epoch_mean_loss``, ``mean_epoch_seconds`` and
        ``evaluation``: split → decoding → BLEU-1…4, CIDEr, unigram BLEU, exact match,
        images), ``engine_seconds`` (full), ``table`` (the markdown also in ``table.md``) and
        ``images`` (figure files by run).
    """
    out_dir = Path(out_dir)
    settings, shapes_dir = _settings(profile, default_shapes_dir(Path(data_root)), out_dir)
    # an interrupted reproduce continues training
    settings = replace(settings, resume=True, device=resolve_device())
    summary = run_benchmark(out_dir, shapes_dir, settings)
    table = format_table(summary)
    atomic_write_text(out_dir / "table.md", table + "\n")
    images = dict(summary["figures"])
    for stage in ("overfit", "full"):
        for cell, row in summary.get(stage, {}).items():
            images[f"{stage}_{cell}"] = row["figures"]
    data = summary["data"]
    return PartResult(
        summary=f"Generated shapes data: {data['images']['train']} training images, "
        f"vocabulary {data['vocab_size']}, {data['feature_dim']}-d image features.",
        tables=summary_tables(summary),
        figures=_figures(images),
        data={
            **{k: v for k, v in summary.items() if k != "figures"},
            "table": table,
            "images": images,
        },
    )


def _figures(images: dict[str, Any]) -> list[Figure]:
    """The loss curves, then each run's train and val sample grids."""
    figures = [
        Figure(Path(path), f"training loss, {name.removeprefix('loss_')} runs")
        for name, path in images.items()
        if name.startswith("loss_")
    ]
    for run, files in images.items():
        if isinstance(files, dict):
            for split in ("train", "val"):
                if f"samples_{split}" in files:
                    caption = f"{run}: generated vs true, {split}"
                    figures.append(Figure(Path(files[f"samples_{split}"]), caption))
    return figures
