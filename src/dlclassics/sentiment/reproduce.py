"""Several sentiment models side by side: ``dlc sentiment compare`` and part 5 of ``dlc
reproduce`` (the models on Yelp, a table against the reference with an ensemble row, and labels
for ``unlabelled.txt`` from the model or ensemble with the best dev accuracy). An ensemble
averages P(positive): models that make different mistakes cancel part of each other's errors.
Its members are chosen on dev, like any hyperparameter; test is scored once.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from dlclassics.data.registry import dataset_path
from dlclassics.io import atomic_write_json, atomic_write_text
from dlclassics.report.sections import Figure, PartResult, Table
from dlclassics.runtime import resolve_device
from dlclassics.sentiment.classifier import load_classifier, predict_file, probabilities
from dlclassics.sentiment.config import (
    REFERENCE_ACCURACY,
    REFERENCE_MODELS,
    SentimentConfig,
    preset,
)
from dlclassics.sentiment.run import FILES, SPLITS, run
from dlclassics.sentiment.text import read_sentences
from dlclassics.tables import markdown_table, percent
from dlclassics.training import BEST_CHECKPOINT

PROFILES: dict[str, dict[str, Any]] = {
    "tiny": {"epochs": 2, "train_limit": 2000},  # the pipeline end to end in seconds (tests)
    "quick": {"epochs": 4},  # bow and glove-avg: about a minute on 2 idle cores
    "full": {},  # the presets
}
STRONGER_MODEL = "bilstm"  # our stronger word model (benchmarks/RESULTS.md)
PREDICTIONS = "unlabelled_predictions.txt"
COLUMNS = ["model", "train", "dev", "test", "ref train", "ref dev", "ref test", "test Δ", "train s"]
CAPTIONS = {"curves": "loss and accuracy per epoch", "confusion": "confusion matrix"}
MOST_CANDIDATES = 12  # every subset is tried: 2^12 mean-and-compare passes stay instant


def ensemble_accuracy(probabilities: Sequence[np.ndarray], labels: np.ndarray) -> float:
    """Accuracy (a fraction) of the mean of ``probabilities`` (each (N,) P(positive)) against
    ``labels`` (N,)."""
    mean = np.mean(np.stack(probabilities), axis=0)  # (M, N) -> (N,)
    return float(((mean >= 0.5) == (labels == 1)).mean())


def choose_members(
    dev_probabilities: Mapping[str, np.ndarray], dev_labels: np.ndarray
) -> tuple[tuple[str, ...], float]:
    """The subset of two or more candidates (name → (N,) dev P(positive)) whose mean has the best
    dev accuracy, and that accuracy. Ties go to the smaller ensemble, then the earlier names."""
    names = list(dev_probabilities)
    if not 2 <= len(names) <= MOST_CANDIDATES:
        raise ValueError(f"an ensemble needs 2 to {MOST_CANDIDATES} candidates, got {len(names)}")
    best: tuple[tuple[str, ...], float] = ((), -1.0)
    for size in range(2, len(names) + 1):
        for members in itertools.combinations(names, size):
            accuracy = ensemble_accuracy([dev_probabilities[m] for m in members], dev_labels)
            if accuracy > best[1]:
                best = (members, accuracy)
    return best


def comparison_row(metrics: dict[str, Any]) -> dict[str, Any]:
    """One table row from a run's metrics: accuracies (fractions) per split, the reference's,
    the difference, training seconds and best epoch."""
    ours, reference = metrics["accuracy"], REFERENCE_ACCURACY.get(metrics["model"])
    row: dict[str, Any] = {"model": metrics["model"], "ours": ours, "reference": reference}
    if reference is not None:
        row["difference"] = {split: ours[split] - reference[split] for split in ours}
    return row | {"train_seconds": metrics["seconds"]["train"], "best_epoch": metrics["best_epoch"]}


def train_models(
    configs: Sequence[SentimentConfig], data_dir: Path, out_dir: Path, resume: bool = False,
    device: str | None = None,
) -> list[dict[str, Any]]:  # fmt: skip
    """Train each config into ``out_dir/<model>``; one ``comparison_row`` per model."""
    rows = []
    for config in configs:
        print(f"== {config.model}")
        rows.append(comparison_row(run(config, data_dir, out_dir / config.model, resume, device)))
    return rows


def comparison_table(rows: Sequence[dict[str, Any]]) -> tuple[list[str], list[list[object]]]:
    """Columns and cells of the table (accuracies in %), for ``tables.markdown_table``."""
    cells = []
    for row in rows:
        reference, delta = row["reference"] or {}, row.get("difference", {}).get("test")
        ours = [percent(row["ours"].get(split)) for split in SPLITS]
        theirs = [percent(reference.get(split)) for split in SPLITS]
        change = "–" if delta is None else f"{100 * delta:+.2f}"
        cells.append([row["model"], *ours, *theirs, change, f"{row['train_seconds']:.1f}"])
    return COLUMNS, cells


def ensemble_row(
    rows: list[dict[str, Any]], data_dir: Path, out_dir: Path, device: str | None = None
) -> dict[str, Any]:
    """The table row of the mean-probability ensemble of the trained models in ``rows``
    (checkpoints in ``out_dir/<model>/best.pt``) whose subset has the best dev accuracy; its
    test accuracy is computed once, for the chosen subset only."""
    device = resolve_device(device)
    names = [row["model"] for row in rows]
    classifiers = {name: load_classifier(out_dir / name / BEST_CHECKPOINT) for name in names}
    splits = {split: read_sentences(data_dir / f"{split}.txt") for split in ("dev", "test")}
    labels = {split: np.array(sentences.labels) for split, sentences in splits.items()}
    dev = {name: probabilities(c, splits["dev"], device).numpy() for name, c in classifiers.items()}
    members, dev_accuracy = choose_members(dev, labels["dev"])
    test = [probabilities(classifiers[m], splits["test"], device).numpy() for m in members]
    return {
        "model": "ensemble: " + " + ".join(members),
        "members": list(members),
        "ours": {"dev": dev_accuracy, "test": ensemble_accuracy(test, labels["test"])},
        "reference": None,
        "train_seconds": sum(row["train_seconds"] for row in rows if row["model"] in members),
        "best_epoch": None,
    }


def run_part(out_dir: Path, data_root: Path, profile: str) -> PartResult:
    """Train the models of ``profile`` on ``<data_root>/yelp`` (resuming from each ``last.pt``;
    ``minilm`` only on a GPU: one CPU epoch takes hours), add the ensemble row (two or more
    models), label ``unlabelled.txt`` with the best by dev accuracy; ``out_dir`` also gets
    ``table.md``, ``summary.json``, one folder per model."""
    data_dir = dataset_path("yelp", data_root)
    if profile == "full":
        on_gpu = resolve_device().startswith("cuda")
        models = (*REFERENCE_MODELS, STRONGER_MODEL, *(("minilm",) if on_gpu else ()))
    else:
        models = ("bow",) if profile == "tiny" else ("bow", "glove-avg")
    configs = [replace(preset(name), **PROFILES[profile]) for name in models]
    rows = train_models(configs, data_dir, out_dir, resume=True)
    if len(rows) > 1:
        rows.append(ensemble_row(rows, data_dir, out_dir))
    best = max(rows, key=lambda row: row["ours"]["dev"])
    checkpoints = [out_dir / m / BEST_CHECKPOINT for m in best.get("members", [best["model"]])]
    labels = predict_file(checkpoints, data_dir / "unlabelled.txt", labelled=False).lines
    atomic_write_text(out_dir / PREDICTIONS, "".join(line + "\n" for line in labels))
    columns, cells = comparison_table(rows)
    atomic_write_text(out_dir / "table.md", markdown_table(columns, cells) + "\n")
    title = f"Yelp sentence sentiment, accuracy (%) ours vs the reference ({profile} settings)"
    note = (
        "best epoch chosen on dev; test evaluated once with that checkpoint. The ensemble "
        "averages P(positive) over the models whose mean is best on dev."
    )
    figures = [
        Figure(Path(m) / FILES[k], f"{m}: {text}") for m in models for k, text in CAPTIONS.items()
    ]
    summary = (
        f"Best model by dev accuracy: {best['model']}. Labels for every line of "
        f"unlabelled.txt are in sentiment/{PREDICTIONS}."
    )
    data = {"rows": rows, "best_model": best["model"], "predictions": PREDICTIONS}
    result = PartResult(summary, [Table(title, columns, cells, note)], figures, data=data)
    atomic_write_json(out_dir / "summary.json", result.to_record())
    return result
