"""The captioning benchmark on the shapes data: the reference's overfit protocol, full training of
RNN and LSTM scored greedy and with beam search (val, unseen combinations, test), and the time
per epoch of the NumPy and PyTorch engines. Used by ``benchmarks/caption_bench.py`` and by
``dlc reproduce`` (``captioning.reproduce``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from dlclassics.captioning.config import OVERFIT_PROTOCOL, ShapesConfig, TrainConfig
from dlclassics.captioning.dataset import CaptionData
from dlclassics.captioning.features import FeatureConfig
from dlclassics.captioning.folder import FolderOptions
from dlclassics.captioning.loaders import load_shapes
from dlclassics.captioning.shapes import make_shapes
from dlclassics.captioning.solver import CaptioningSolver, SolverConfig, load_checkpoint
from dlclassics.captioning.train import (
    CHECKPOINT_NAME,
    build_model,
    run_training,
    training_split,
)
from dlclassics.figures import plot_series
from dlclassics.io import atomic_write_json
from dlclassics.report.sections import Table

CELLS = ("rnn", "lstm")
BLEU = tuple(f"BLEU-{n}" for n in range(1, 5))

OVERFIT = TrainConfig(**OVERFIT_PROTOCOL, engine="numpy")  # the reference protocol
# Full training on the whole shapes training split (sized for a shared 2-core CPU).
FULL = TrainConfig(
    epochs=10, batch_size=100, lr=5e-3, lr_decay=0.9, hidden=512, wordvec=256, engine="numpy"
)


@dataclass
class BenchSettings:
    shapes: ShapesConfig = field(default_factory=ShapesConfig)
    overfit: TrainConfig | None = field(default_factory=lambda: replace(OVERFIT))
    full: TrainConfig | None = field(default_factory=lambda: replace(FULL))
    # one epoch of each engine per cell at these settings
    timing: TrainConfig | None = field(default_factory=lambda: replace(FULL))
    beam: int = 3
    resume: bool = False  # continue each training run from its checkpoint
    device: str = "cpu"  # where the image features are computed (the engines time on the CPU)


def time_one_epoch(data: CaptionData, config: TrainConfig, engine: str) -> float:
    """Seconds for one training epoch of a fresh model with ``engine``."""
    model = build_model(data, config)
    solver_config = SolverConfig(
        1, config.batch_size, config.lr, config.lr_decay, engine, config.seed
    )
    solver = CaptioningSolver(model, training_split(data, config), solver_config)
    started = time.perf_counter()
    solver.train()
    return time.perf_counter() - started


def _row(metrics: dict[str, Any]) -> dict[str, Any]:
    return {
        "final_loss": metrics["final_loss"],
        "last_epoch_mean_loss": metrics["last_epoch_mean_loss"],
        "mean_epoch_seconds": float(np.mean([row["seconds"] for row in metrics["history"]]))
        if metrics["history"]
        else None,
        "evaluation": metrics["evaluation"],
    }


def data_summary(data: CaptionData, shapes_dir: Path, settings: BenchSettings) -> dict[str, Any]:
    """The data set's folder, settings, vocabulary and feature sizes, image and caption counts."""
    return {
        "folder": str(shapes_dir),
        "config": settings.shapes.__dict__,
        "vocab_size": len(data.word_to_idx),
        "feature_dim": data.feature_dim,
        "images": {name: split.num_images for name, split in data.splits.items()},
        "captions": {name: int(split.captions.shape[0]) for name, split in data.splits.items()},
        "val_unseen_images": int(data.splits["val"].unseen.sum()),
    }


def run_benchmark(out_dir: Path, shapes_dir: Path, settings: BenchSettings) -> dict[str, Any]:
    """Run the benchmark; every run's folder (metrics.json, figures) goes under ``out_dir``.

    Returns {"data": ..., "overfit": {cell: row}, "full": {cell: row}, "engine_seconds":
    {cell: {"numpy": s, "torch": s}}, "figures": {name: file relative to out_dir}}.
    """
    out_dir = Path(out_dir)
    make_shapes(shapes_dir, settings.shapes)
    data = load_shapes(shapes_dir, FolderOptions(FeatureConfig(device=settings.device)))
    spec = f"shapes:{shapes_dir}"
    summary: dict[str, Any] = {"data": data_summary(data, shapes_dir, settings), "figures": {}}
    for stage, base in (("overfit", settings.overfit), ("full", settings.full)):
        if base is None:
            continue
        histories, rows = {}, {}
        for cell in CELLS:
            config = replace(base, cell=cell, data=spec, beam=settings.beam)
            metrics = run_training(
                config,
                out_dir / f"{stage}_{cell}",
                shapes_dir.parent,
                data=data,
                resume=settings.resume,
            )
            rows[cell] = _row(metrics)
            rows[cell]["figures"] = {
                k: f"{stage}_{cell}/{v}" for k, v in metrics["figures"].items()
            }
            histories[cell.upper()] = _loss_history(out_dir / f"{stage}_{cell}")
        summary[stage] = rows
        name = f"loss_{stage}.png"
        title = f"Training loss, {stage} ({base.engine} engine)"
        plot_series(histories, out_dir / name, title, ylabel="training loss", smooth=True)
        summary["figures"][f"loss_{stage}"] = name
    if settings.timing is not None:
        summary["engine_seconds"] = {
            cell: {
                engine: time_one_epoch(data, replace(settings.timing, cell=cell), engine)
                for engine in ("numpy", "torch")
            }
            for cell in CELLS
        }
    atomic_write_json(out_dir / "summary.json", summary)
    return summary


def _loss_history(run_dir: Path) -> list[float]:
    return load_checkpoint(run_dir / CHECKPOINT_NAME).state.loss_history


def summary_tables(summary: dict[str, Any]) -> list[Table]:
    """The benchmark summary as report tables (BLEU and exact match are fractions)."""
    tables = []
    if "overfit" in summary:
        val_scores = (*BLEU, "CIDEr")
        rows = [
            [cell.upper(), row["final_loss"], row["evaluation"]["train"]["greedy"]["exact match"]]
            + [row["evaluation"]["val"]["greedy"][key] for key in val_scores]
            for cell, row in summary["overfit"].items()
        ]
        columns = ["cell", "final loss", "train exact match", *(f"val {k}" for k in val_scores)]
        title = "Overfitting a few training captions (the reference protocol)"
        note = "reference: loss → ~0, train captions reproduced, val captions wrong"
        tables.append(Table(title, columns, rows, note))
    if "full" in summary:
        scores = (*BLEU, "CIDEr", "unigram BLEU (assignment)", "exact match")
        rows = [
            [cell.upper(), split, decoding, *(by_key[key] for key in scores)]
            for cell, row in summary["full"].items()
            for split, by_decoding in row["evaluation"].items()
            if split != "train"
            for decoding, by_key in by_decoding.items()
        ]
        title = "Shapes benchmark: corpus BLEU and CIDEr against five references"
        tables.append(Table(title, ["cell", "split", "decoding", *scores], rows))
    if "engine_seconds" in summary:
        rows = [
            [cell.upper(), sec["numpy"], sec["torch"], sec["numpy"] / sec["torch"]]
            for cell, sec in summary["engine_seconds"].items()
        ]
        title = "Seconds per training epoch, NumPy vs PyTorch engine"
        tables.append(Table(title, ["cell", "NumPy", "PyTorch", "NumPy / PyTorch"], rows))
    return tables


def format_table(summary: dict[str, Any]) -> str:
    """Markdown tables of the benchmark summary."""
    return "\n\n".join(table.to_markdown() for table in summary_tables(summary))
