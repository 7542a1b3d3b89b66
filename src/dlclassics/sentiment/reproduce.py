"""Part 5 of ``dlc reproduce``: the sentiment models on Yelp, a table against the reference, and
predictions for ``unlabelled.txt`` from the model with the best dev accuracy."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from dlclassics.data.registry import dataset_path
from dlclassics.io import atomic_write_json, atomic_write_text
from dlclassics.runtime import default_device
from dlclassics.sentiment.compare import comparison_row, format_table
from dlclassics.sentiment.ensemble import choose_members, ensemble_accuracy
from dlclassics.sentiment.experiment import RunOptions, run_experiment
from dlclassics.sentiment.names import REFERENCE_MODELS
from dlclassics.sentiment.predict import checkpoint_probabilities, predict_file
from dlclassics.sentiment.text import read_sentences

QUICK_MODELS = ("bow", "glove-avg")
QUICK_EPOCHS = 4
TINY_TRAIN_SENTENCES = 2000  # the pipeline end to end in seconds (tests)
STRONGER_MODEL = "bilstm"  # our stronger word model (benchmarks/RESULTS.md)
PREDICTIONS = "unlabelled_predictions.txt"


def full_models() -> tuple[str, ...]:
    """The reference models and our stronger one; ``minilm`` too when a GPU is there (on a CPU
    one epoch over the 40 000 sentences takes hours)."""
    on_gpu = default_device().startswith("cuda")
    return (*REFERENCE_MODELS, STRONGER_MODEL, *(("minilm",) if on_gpu else ()))


def run_part(out_dir: Path, data_root: Path, profile: str) -> dict[str, Any]:
    """Train the sentiment models on ``<data_root>/yelp`` and label its ``unlabelled.txt``.

    tiny: ``bow`` for 2 epochs on 2 000 training sentences (seconds).
    quick: ``bow`` and ``glove-avg`` for at most 4 epochs (about a minute on 2 idle cores).
    full: the five reference models and ``STRONGER_MODEL`` with their preset settings, plus
    ``minilm`` on a GPU (fine-tuned on all training sentences); every model is tested on all
    10 000 test sentences.
    With two or more models, an ensemble row follows: the mean P(positive) of the subset of
    models chosen by dev accuracy (``dlclassics.sentiment.ensemble``).

    Returns:
        ``rows``: one dict per model (``model``, ``ours`` and ``reference`` accuracies (%) per
        split, ``difference`` ours − reference, ``train_seconds``, ``best_epoch``; the
        ensemble's row has ``members`` instead of a reference); ``table``: the same as a
        markdown table; ``best_model``: highest dev accuracy (a model or the ensemble);
        ``predictions``: file with its 0/1 label per ``unlabelled.txt`` line, from that model;
        ``images``: per model, ``curves`` and ``confusion`` figure files; ``tables``,
        ``figures``, ``summary``, ``notes`` for the report. All file names are relative to
        ``out_dir``, which also holds ``table.md``, ``summary.json`` and one folder per model
        (checkpoint and ``metrics.json``).
    """
    data_dir = dataset_path("yelp", data_root)
    models = {"tiny": ("bow",), "quick": QUICK_MODELS}.get(profile) or full_models()
    epochs = {"tiny": 2, "quick": QUICK_EPOCHS}.get(profile)
    rows, images = [], {}
    for name in models:
        options = RunOptions(
            model=name,
            data_dir=data_dir,
            out_dir=out_dir / name,
            epochs=epochs,
            train_limit=TINY_TRAIN_SENTENCES if profile == "tiny" else None,
            resume=True,  # an interrupted reproduce continues from last.pt
        )
        metrics = run_experiment(options)
        rows.append(comparison_row(metrics))
        images[name] = {key: f"{name}/{metrics['files'][key]}" for key in ("curves", "confusion")}
    if len(rows) > 1:
        rows.append(ensemble_row(rows, data_dir, out_dir))
    best_row = max(rows, key=lambda row: row["ours"]["dev"])
    best = best_row["model"]
    checkpoints = [out_dir / name / "best.pt" for name in best_row.get("members", [best])]
    predict_file(checkpoints, data_dir / "unlabelled.txt", out_dir / PREDICTIONS)
    table = format_table(rows)
    summary = {
        "rows": rows,
        "table": table,
        "best_model": best,
        "predictions": PREDICTIONS,
        "images": images,
        **_report_parts(rows, images, best, profile),
    }
    atomic_write_text(out_dir / "table.md", table + "\n")
    atomic_write_json(out_dir / "summary.json", summary)
    return summary


def ensemble_row(rows: list[dict[str, Any]], data_dir: Path, out_dir: Path) -> dict[str, Any]:
    """The table row of the mean-probability ensemble of the trained models in ``rows``
    (checkpoints in ``out_dir/<model>/best.pt``) whose subset has the best dev accuracy; its
    test accuracy is computed once, for the chosen subset only."""
    names = [row["model"] for row in rows]
    splits = {
        split: read_sentences(data_dir / f"{split}.txt", labelled=True) for split in ("dev", "test")
    }
    labels = {split: np.array(sentences.labels) for split, sentences in splits.items()}
    dev = {
        name: checkpoint_probabilities(out_dir / name / "best.pt", splits["dev"]).numpy()
        for name in names
    }
    members, dev_accuracy = choose_members(dev, labels["dev"])
    test = [
        checkpoint_probabilities(out_dir / name / "best.pt", splits["test"]).numpy()
        for name in members
    ]
    return {
        "model": "ensemble: " + " + ".join(members),
        "members": list(members),
        "ours": {"dev": dev_accuracy, "test": ensemble_accuracy(test, labels["test"])},
        "reference": None,
        "train_seconds": sum(row["train_seconds"] for row in rows if row["model"] in members),
        "best_epoch": None,
    }


def _report_parts(
    rows: list[dict[str, Any]], images: dict[str, dict[str, str]], best: str, profile: str
) -> dict[str, Any]:
    """The report's tables, figures and notes for this part (see ``dlclassics.report.parts``)."""

    def pct(split_values: dict[str, float] | None, split: str) -> float | None:
        return None if not split_values else split_values.get(split)

    table_rows = []
    for row in rows:
        ours, ref = row["ours"], row["reference"]
        delta = row.get("difference", {}).get("test")
        ours_cells = [pct(ours, split) for split in ("train", "dev", "test")]
        ref_cells = [pct(ref, split) for split in ("train", "dev", "test")]
        table_rows.append([row["model"], *ours_cells, *ref_cells, delta, row["train_seconds"]])
    columns = ["model", "train %", "dev %", "test %", "ref train %", "ref dev %", "ref test %"]
    figures = []
    for name, files in images.items():
        figures.append({"path": files["curves"], "caption": f"{name}: loss and accuracy per epoch"})
        figures.append({"path": files["confusion"], "caption": f"{name}: confusion matrix"})
    return {
        "summary": f"Best model by dev accuracy: {best}. Labels for every line of "
        f"unlabelled.txt are in sentiment/{PREDICTIONS}.",
        "tables": [
            {
                "title": f"Yelp sentence sentiment, ours vs the reference ({profile} settings)",
                "columns": [*columns, "test Δ", "train s"],
                "rows": table_rows,
                "note": "best epoch chosen on dev; test evaluated once with that checkpoint. "
                "The ensemble averages P(positive) over the models whose mean is best on dev.",
            }
        ],
        "figures": figures,
    }
