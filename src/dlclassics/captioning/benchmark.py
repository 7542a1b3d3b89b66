"""The captioning benchmark on the shapes data, run by ``benchmarks/caption_bench.py`` and by
part 4 of ``dlc reproduce`` (``captioning.reproduce`` renders it).

``run_benchmark``: the reference's overfit protocol, full training of RNN and LSTM scored greedy
and with beam search (val, unseen combinations, test), the time per epoch of the NumPy and
PyTorch engines, and the attention LSTM against the plain LSTM on the same feature maps (scores,
time per epoch, and how often a shape word's attention peak lies on the object it names);
``summary_tables`` turns its summary into tables; ``profile_settings`` holds the tiny and quick
profiles of ``dlc reproduce``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from dlclassics.captioning.architecture import build_model
from dlclassics.captioning.config import OVERFIT_PROTOCOL, Config, ShapesConfig
from dlclassics.captioning.dataset import CaptionData
from dlclassics.captioning.features import FeatureConfig
from dlclassics.captioning.folder import FolderOptions
from dlclassics.captioning.run import train, training_split
from dlclassics.captioning.shapes import load_shapes, make_shapes
from dlclassics.captioning.solver import CaptioningSolver, load_checkpoint
from dlclassics.figures import plot_series
from dlclassics.io import atomic_write_json
from dlclassics.report.sections import Table
from dlclassics.stats import BOOTSTRAP_RESAMPLES, Estimate, wilson_interval

CELLS = ("rnn", "lstm")
BLEU = tuple(f"BLEU-{n}" for n in range(1, 5))
INTERVALS = (
    "In brackets: 95 % intervals, a bootstrap over the images "
    f"({BOOTSTRAP_RESAMPLES} resamples; corpus BLEU recomputed on each) for BLEU and CIDEr, "
    "Wilson's for exact match."
)

# Full training on the whole shapes training split: the defaults of ``dlc caption train``.
FULL = Config()
# The attention LSTM and the plain LSTM on the same 224-px feature maps (7 x 7 x 1280; the LSTM
# reads their mean, the pooled feature) with the same settings.
ATTENTION = replace(FULL, cell="attention")
ATTENTION_CELLS = ("lstm", "attention")
# Config fields left out of the attention stage's recorded settings: where things are, and
# those new in 0.2, so the summary keeps the keys it had
NOT_REPORTED = ("data", "data_format", "data_root", "out", "resume", "precision", "threads")


@dataclass
class BenchSettings:
    """What ``run_benchmark`` runs: each stage's settings (None: skip the stage)."""

    shapes: ShapesConfig = field(default_factory=ShapesConfig)
    overfit: Config | None = OVERFIT_PROTOCOL
    full: Config | None = FULL
    timing: Config | None = FULL  # one epoch of each engine per cell at these settings
    attention: Config | None = ATTENTION  # attention vs LSTM on the same feature maps
    timing_rounds: int = 2  # attention stage: alternate one epoch of each cell, this many times
    beam: int = 3
    resume: bool = False  # continue each training run from its checkpoint
    device: str = "cpu"  # where the image features are computed (the engines time on the CPU)


def time_one_epoch(data: CaptionData, config: Config, engine: str) -> float:
    """Seconds for one training epoch of a fresh model with ``engine`` (on the CPU)."""
    config = replace(config, epochs=1, engine=engine, device="cpu")
    model = build_model(data.word_to_idx, data.feature_dim, config)
    solver = CaptioningSolver(model, training_split(data, config), config)
    started = time.perf_counter()
    solver.train()
    return time.perf_counter() - started


def pooled_features(shapes_dir: Path, config: Config, device: str) -> CaptionData:
    """The shapes data with pooled features of ``config.image_size``-px images, reduced to
    ``config.pca`` dimensions (as ``dlc caption train`` reads them)."""
    features = FeatureConfig(config.backbone, image_size=config.image_size, device=device)
    return load_shapes(shapes_dir, FolderOptions(features, pca_dim=config.pca))


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
    {cell: {"numpy": s, "torch": s}}, "attention": ``run_attention_stage``'s dict, "figures":
    {name: file relative to out_dir}}, each stage only when it ran.
    """
    out_dir = Path(out_dir)
    make_shapes(shapes_dir, settings.shapes)
    summary: dict[str, Any] = {"figures": {}}
    for stage, base in (("overfit", settings.overfit), ("full", settings.full)):
        if base is None:
            continue
        data = pooled_features(shapes_dir, base, settings.device)
        summary.setdefault("data", data_summary(data, shapes_dir, settings))
        histories, rows = {}, {}
        for cell in CELLS:
            run = out_dir / f"{stage}_{cell}"
            config = replace(
                base,
                cell=cell,
                data=str(shapes_dir),
                data_format="shapes",
                beam=settings.beam,
                out=str(run),
                resume=settings.resume,
            )
            result = train(config, data)
            m = result.details
            seconds = [row["seconds"] for row in result.history]
            rows[cell] = {
                "final_loss": m["final_loss"],
                "last_epoch_mean_loss": m["last_epoch_mean_loss"],
                "mean_epoch_seconds": float(np.mean(seconds)) if seconds else None,
                "evaluation": m["evaluation"],
                "figures": {k: f"{run.name}/{v}" for k, v in m["figures"].items()},
            }
            histories[cell.upper()] = load_checkpoint(result.checkpoint).state.loss_history
        summary[stage] = rows
        name, title = f"loss_{stage}.png", f"Training loss, {stage} ({base.engine} engine)"
        plot_series(histories, out_dir / name, title, ylabel="training loss", smooth=True)
        summary["figures"][f"loss_{stage}"] = name
    if settings.attention is not None:
        summary["attention"] = run_attention_stage(out_dir, shapes_dir, settings)
    if settings.timing is not None:
        data = pooled_features(shapes_dir, settings.timing, settings.device)
        summary["engine_seconds"] = {
            cell: {
                engine: time_one_epoch(data, replace(settings.timing, cell=cell), engine)
                for engine in ("numpy", "torch")
            }
            for cell in CELLS
        }
    atomic_write_json(out_dir / "summary.json", summary)
    return summary


def run_attention_stage(out_dir: Path, shapes_dir: Path, settings: BenchSettings) -> dict:
    """Train the plain LSTM (on the pooled maps) and the attention LSTM (on the maps) with the
    same settings, then time one epoch of each, alternating, ``settings.timing_rounds`` times.

    Returns {"config": ..., "runs": {cell: row (with "attention_boxes" for the attention run)},
    "epoch_seconds": {cell: [seconds of each timing round]}, "feature_dims": {cell: D}}.
    """
    base = replace(
        settings.attention,
        data=str(shapes_dir),
        data_format="shapes",
        beam=settings.beam,
        resume=settings.resume,
    )
    features = FeatureConfig(image_size=base.image_size, device=settings.device)
    pooled = pooled_features(shapes_dir, base, settings.device)
    maps = load_shapes(shapes_dir, FolderOptions(features, pca_dim=base.pca, spatial=True))
    data = {"lstm": pooled, "attention": maps}
    runs = {}
    for cell in ATTENTION_CELLS:
        run = out_dir / f"attention_{cell}"
        result = train(replace(base, cell=cell, out=str(run)), data[cell])
        m = result.details
        seconds = [row["seconds"] for row in result.history]
        runs[cell] = {
            "final_loss": m["final_loss"],
            "mean_epoch_seconds": float(np.mean(seconds)) if seconds else None,
            "evaluation": m["evaluation"],
            "attention_boxes": m.get("attention_boxes"),
            "figures": {k: f"{run.name}/{v}" for k, v in m["figures"].items()},
        }
    timing: dict[str, list[float]] = {cell: [] for cell in ATTENTION_CELLS}
    for _ in range(settings.timing_rounds):
        for cell in ATTENTION_CELLS:
            config = replace(base, cell=cell)
            timing[cell].append(time_one_epoch(data[cell], config, "numpy"))
    return {
        "config": {k: v for k, v in base.__dict__.items() if k not in NOT_REPORTED},
        "runs": runs,
        "epoch_seconds": timing,
        "feature_dims": {cell: d.feature_dim for cell, d in data.items()},
    }


def shown(scores: dict[str, Any], key: str) -> float | Estimate:
    """A score of ``scores`` (one split and decoding of a run's evaluation) for a table: BLEU,
    CIDEr and unigram BLEU with their bootstrap interval over the images where the evaluation
    recorded it, exact match with its Wilson interval; anything else as it is.

    >>> shown({"BLEU-4": 0.3, "intervals": {"BLEU-4": [0.25, 0.34]}}, "BLEU-4")
    Estimate(value=0.3, low=0.25, high=0.34)
    >>> shown({"exact match": 0.5, "images": 8}, "exact match").low < 0.5
    True
    """
    value = scores[key]
    if key in scores.get("intervals", {}):
        low, high = scores["intervals"][key]
        return Estimate(value, low, high)
    if key == "exact match" and scores.get("images"):
        wilson = wilson_interval(round(value * scores["images"]), scores["images"])
        return Estimate(value, wilson.low, wilson.high)
    return value


def attention_tables(stage: dict[str, Any]) -> list[Table]:
    """The attention stage as report tables: scores, seconds per epoch, attention peaks."""
    scores = ("BLEU-1", "BLEU-4", "CIDEr", "exact match")
    names = {"lstm": "LSTM (pooled map)", "attention": "attention LSTM"}
    rows = []
    for split in ("val", "val_unseen", "test"):
        for decoding in stage["runs"]["lstm"]["evaluation"]["val"]:  # greedy, then beam K
            for cell, run in stage["runs"].items():
                if split in run["evaluation"]:
                    by_key = run["evaluation"][split][decoding]
                    rows.append([names[cell], split, decoding, *(shown(by_key, k) for k in scores)])
    c = stage["config"]
    title = (
        f"Attention vs plain LSTM, same data and settings ({c['epochs']} epochs, batch "
        f"{c['batch_size']}, hidden {c['hidden_size']}, word vectors {c['wordvec']}, "
        f"{c['image_size']}-px feature maps)"
    )
    tables = [Table(title, ["model", "split", "decoding", *scores], rows, INTERVALS)]
    seconds = {cell: min(values) for cell, values in stage["epoch_seconds"].items() if values}
    if seconds:
        rows = [[names[cell], s, s / seconds["lstm"]] for cell, s in seconds.items()]
        note = "the fastest of the alternating timing rounds, NumPy engine"
        tables.append(
            Table("Seconds per training epoch", ["model", "seconds", "× LSTM"], rows, note)
        )
    boxes = stage["runs"]["attention"].get("attention_boxes")
    if boxes:
        row = [boxes["shape_words"], boxes["hit_rate"], boxes["chance_rate"], boxes["skipped"]]
        columns = ["shape words", "peak on the object", "chance", "skipped"]
        note = (
            "val images, greedy captions: a shape word's largest attention weight lies in a cell "
            "overlapping the named object's box; chance = a uniformly random cell; skipped = "
            "words naming no single object of the scene"
        )
        tables.append(Table("Where the attention looks", columns, [row], note))
    return tables


def summary_tables(summary: dict[str, Any]) -> list[Table]:
    """The benchmark summary as report tables (BLEU and exact match are fractions)."""
    tables = []
    if "overfit" in summary:
        val_scores = (*BLEU, "CIDEr")
        rows = [
            [
                cell.upper(),
                row["final_loss"],
                shown(row["evaluation"]["train"]["greedy"], "exact match"),
            ]
            + [shown(row["evaluation"]["val"]["greedy"], key) for key in val_scores]
            for cell, row in summary["overfit"].items()
        ]
        columns = ["cell", "final loss", "train exact match", *(f"val {k}" for k in val_scores)]
        title = "Overfitting a few training captions (the reference protocol)"
        note = f"reference: loss → ~0, train captions reproduced, val captions wrong. {INTERVALS}"
        tables.append(Table(title, columns, rows, note))
    if "full" in summary:
        scores = (*BLEU, "CIDEr", "unigram BLEU (assignment)", "exact match")
        rows = [
            [cell.upper(), split, decoding, *(shown(by_key, key) for key in scores)]
            for cell, row in summary["full"].items()
            for split, by_decoding in row["evaluation"].items()
            if split != "train"
            for decoding, by_key in by_decoding.items()
        ]
        title = "Shapes benchmark: corpus BLEU and CIDEr against five references"
        tables.append(Table(title, ["cell", "split", "decoding", *scores], rows, INTERVALS))
    if "engine_seconds" in summary:
        rows = [
            [cell.upper(), sec["numpy"], sec["torch"], sec["numpy"] / sec["torch"]]
            for cell, sec in summary["engine_seconds"].items()
        ]
        title = "Seconds per training epoch, NumPy vs PyTorch engine"
        tables.append(Table(title, ["cell", "NumPy", "PyTorch", "NumPy / PyTorch"], rows))
    if "attention" in summary:
        tables += attention_tables(summary["attention"])
    return tables


def format_table(summary: dict[str, Any]) -> str:
    """Markdown tables of the benchmark summary."""
    return "\n\n".join(table.to_markdown() for table in summary_tables(summary))


QUICK_SHAPES = ShapesConfig(n_train=120, n_val=40, n_test=40)
TINY_SHAPES = ShapesConfig(n_train=24, n_val=8, n_test=8, image_size=64)
TINY_OVERFIT = replace(
    OVERFIT_PROTOCOL, overfit=8, epochs=8, batch_size=8, hidden_size=32, wordvec=16, image_size=64
)
QUICK_ATTENTION = replace(ATTENTION, hidden_size=128, wordvec=64, image_size=128)
TINY_ATTENTION = replace(
    ATTENTION,
    epochs=2,
    batch_size=8,
    hidden_size=16,
    wordvec=8,
    attention_dim=8,
    pca=6,
    image_size=64,
)


def profile_settings(profile: str, shapes_dir: Path, out_dir: Path) -> tuple[BenchSettings, Path]:
    """The settings and shapes folder of a ``dlc reproduce`` profile: ``tiny`` (24/8/8 images of
    64 px in ``out_dir``, an 8-caption overfit with a tiny model: seconds), ``quick`` (120/40/40
    images in ``<shapes_dir>_quick``, the reference overfit protocol for RNN and LSTM and a small
    attention-vs-LSTM run on 128-px maps), else ``BenchSettings()`` in ``shapes_dir``."""
    if profile == "tiny":  # hermetic: the small set lives in the run folder
        tiny = BenchSettings(
            shapes=TINY_SHAPES,
            overfit=TINY_OVERFIT,
            full=None,
            timing=None,
            attention=TINY_ATTENTION,
            timing_rounds=1,
        )
        return tiny, out_dir / "shapes_tiny"
    if profile == "quick":
        quick_dir = shapes_dir.with_name(shapes_dir.name + "_quick")
        quick = BenchSettings(QUICK_SHAPES, full=None, timing=None, attention=QUICK_ATTENTION)
        return quick, quick_dir
    return BenchSettings(), shapes_dir
