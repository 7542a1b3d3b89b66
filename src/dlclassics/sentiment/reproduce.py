"""Part 5 of ``dlc reproduce``: the sentiment models on Yelp, a table against the reference with
an ensemble row and a row for a student distilled from that ensemble, each row's sentences/s on
one CPU thread and checkpoint size, and labels for ``unlabelled.txt`` from the row with the best
dev accuracy. This module only renders; the training, the ensemble choice and the timing are
``sentiment.compare``'s.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from dlclassics.data.registry import dataset_path
from dlclassics.explain.attributions import SentenceExplanation, word_attributions
from dlclassics.figures import plot_tradeoff
from dlclassics.io import atomic_write_json, atomic_write_text
from dlclassics.report.findings import accuracy_against_reference
from dlclassics.report.sections import Figure, Finding, PartResult, Table
from dlclassics.runtime import resolve_device
from dlclassics.sentiment.compare import comparison_table, model_rows, write_labels
from dlclassics.sentiment.config import REFERENCE_MODELS, preset
from dlclassics.sentiment.run import FILES, load
from dlclassics.tables import markdown_table

PROFILES: dict[str, dict[str, Any]] = {
    "tiny": {"epochs": 2, "train_limit": 2000},  # the pipeline end to end in seconds (tests)
    "quick": {"epochs": 4},  # bow and glove-avg: about a minute on 2 idle cores
    "full": {},  # the presets
}
STRONGER_MODEL = "bilstm"  # our stronger word model (benchmarks/RESULTS.md)
PREDICTIONS = "unlabelled_predictions.txt"
CAPTIONS = {"curves": "loss and accuracy per epoch", "confusion": "confusion matrix"}
TRADEOFF = "throughput.png"
# sentences as people write them, explained with the packaged model (``sentiment.load()``)
EXPLAINED = (
    "Great food, but the service was painfully slow.",
    "I wouldn't come back.",
    "Best tacos in town!",
    "The room was clean, the staff rude.",
)
LABEL_NAMES = {"0": "negative", "1": "positive"}
TOP_WORDS = 3  # words shown per sentence, by the size of their weight
SHOWN_WEIGHT = 0.005  # smaller weights (shown as ±0.00) are left out, bar the largest


def signed(weight: float) -> str:
    """A weight with its sign, a true minus for negatives.

    Example:
        >>> signed(-0.412), signed(0.1)
        ('−0.41', '+0.10')
    """
    return f"{weight:+.2f}".replace("-", "−")


def top_words(explanation: SentenceExplanation, count: int = TOP_WORDS) -> str:
    """The ``count`` words with the largest weights in size, largest first: "slow −0.41, ...";
    those under ``SHOWN_WEIGHT`` in size are left out, unless it is the largest.

    Example:
        >>> top_words(SentenceExplanation(["so", "slow", "."], [0.01, -0.41, 0.02], "0", 0.9), 2)
        'slow −0.41, . +0.02'
        >>> top_words(SentenceExplanation(["ok", "!"], [0.3, 0.001], "1", 0.9))
        'ok +0.30'
    """
    weights = explanation.weights
    order = sorted(range(len(weights)), key=lambda i: -abs(weights[i]))[:count]
    order = order[:1] + [i for i in order[1:] if abs(weights[i]) >= SHOWN_WEIGHT]
    return ", ".join(f"{explanation.tokens[i]} {signed(weights[i])}" for i in order)


def attribution_table(texts: Sequence[str] = EXPLAINED) -> tuple[Table, list[dict[str, Any]]]:
    """Word attributions of ``texts`` with the packaged model: a table (sentence, label,
    P(label), top words with their weights) and the same as plain data for ``summary.json``."""
    predictor = load()
    rows, records = [], []
    for text, explained in zip(texts, word_attributions(predictor, texts), strict=True):
        if explained is None:  # a blank sentence: nothing to explain
            continue
        label = f"{explained.label} ({LABEL_NAMES.get(explained.label, explained.label)})"
        rows.append([text, label, f"{explained.probability:.2f}", top_words(explained)])
        records.append(
            {
                "sentence": text,
                "label": explained.label,
                "probability": explained.probability,
                "words": explained.pairs(),
            }
        )
    title = "Word attributions: example sentences with the packaged model"
    note = (
        "a word's weight is P(label) minus P(label) without that word: positive words speak for "
        "the predicted label, negative ones against it; the words are the model's own tokens."
    )
    columns = ["sentence", "label", "P(label)", "top words (weight)"]
    return Table(title, columns, rows, note), records


def plot_rows(rows: Sequence[dict[str, Any]], out_dir: Path) -> list[Figure]:
    """``TRADEOFF`` (test accuracy against sentences/s), then each trained model's curves and
    confusion matrix; the figures with their captions."""
    points = {
        row["model"]: (row["sentences_per_second"], 100 * row["ours"]["test"]) for row in rows
    }
    title = "Test accuracy against speed (1 CPU thread, test split)"
    plot_tradeoff(points, out_dir / TRADEOFF, title, "sentences/s (log scale)", "test accuracy (%)")
    caption = "test accuracy against sentences/s on one CPU thread (log scale), every row"
    figures = [Figure(Path(TRADEOFF), caption)]
    for row in rows:
        if len(row["checkpoints"]) == 1:  # a trained model: its folder holds its figures
            folder, name = Path(row["checkpoints"][0]).parent, row["model"]
            figures += [
                Figure(folder / FILES[k], f"{name}: {text}") for k, text in CAPTIONS.items()
            ]
    return figures


def reference_findings(rows: Sequence[dict[str, Any]], out_dir: Path) -> list[Finding]:
    """Each reference model's test accuracy against the reference's, on the same test set (the
    count of test sentences from the model's ``metrics.json``), with its interval and verdict."""
    findings = []
    for row in rows:
        if row["reference"] is None:
            continue
        folder = out_dir / Path(row["checkpoints"][0]).parent
        total = json.loads((folder / "metrics.json").read_text())["sentences"]["test"]
        findings.append(
            accuracy_against_reference(
                f"{row['model']}: test accuracy",
                round(row["ours"]["test"] * total),
                total,
                row["reference"]["test"],
                "the reference (same test set)",
            )
        )
    return findings


def run_part(out_dir: Path, data_root: Path, profile: str) -> PartResult:
    """Train the models of ``profile`` on ``<data_root>/yelp`` (resuming from each ``last.pt``;
    ``minilm`` only on a GPU: one CPU epoch takes hours), add the ensemble and distilled rows (two
    or more models; the student is ``STRONGER_MODEL`` in the full profile, else ``bow``), time
    every row, label ``unlabelled.txt`` with the best by dev accuracy; ``out_dir`` also gets
    ``table.md``, ``summary.json``, ``TRADEOFF``, one folder per trained model."""
    data_dir = dataset_path("yelp", data_root)
    if profile == "full":
        on_gpu = resolve_device().startswith("cuda")
        models = (*REFERENCE_MODELS, STRONGER_MODEL, *(("minilm",) if on_gpu else ()))
    else:
        models = ("bow",) if profile == "tiny" else ("bow", "glove-avg")
    configs = [replace(preset(name), **PROFILES[profile]) for name in models]
    student = replace(preset(STRONGER_MODEL if profile == "full" else "bow"), **PROFILES[profile])
    rows = model_rows(configs, student, data_dir=data_dir, out_dir=out_dir)
    best = max(rows, key=lambda row: row["ours"]["dev"])
    checkpoints = [out_dir / path for path in best["checkpoints"]]
    write_labels(checkpoints, data_dir / "unlabelled.txt", out_dir / PREDICTIONS)
    columns, cells = comparison_table(rows)
    atomic_write_text(out_dir / "table.md", markdown_table(columns, cells) + "\n")
    title = f"Yelp sentence sentiment, accuracy (%) ours vs the reference ({profile} settings)"
    note = (
        "best epoch chosen on dev; test evaluated once with that checkpoint. The ensemble "
        "averages P(positive) over the models whose mean is best on dev; the distilled student "
        "learns from its probabilities on train and unlabelled.txt (train s: the student's own). "
        "sentences/s: scoring the test sentences on one CPU thread, loading excluded (an "
        "ensemble runs its members one after another); MB: checkpoint size (members together). "
        "95 % Wilson intervals in brackets, over the split's sentences (the reference's "
        "published figures come without their counts)."
    )
    summary = (
        f"Best model by dev accuracy: {best['model']}. Labels for every line of "
        f"unlabelled.txt are in sentiment/{PREDICTIONS}."
    )
    explained, attributions = attribution_table()
    data = {"rows": rows, "best_model": best["model"], "predictions": PREDICTIONS}
    data["attributions"] = attributions
    findings = reference_findings(rows, out_dir)
    if findings:
        note += " The differences from the reference, with their intervals, open the report."
    table = Table(title, columns, cells, note)
    result = PartResult(
        summary, [table, explained], plot_rows(rows, out_dir), data=data, findings=findings
    )
    atomic_write_json(out_dir / "summary.json", result.to_record())
    return result
