"""Training several models and tabulating their accuracies against the reference write-up."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from dlclassics.sentiment.experiment import RunOptions, run_experiment
from dlclassics.sentiment.presets import REFERENCE_ACCURACY


def comparison_row(metrics: dict[str, Any]) -> dict[str, Any]:
    """One table row from a run's metrics: accuracies (%) per split, reference and difference."""
    ours = metrics["accuracy"]
    reference = REFERENCE_ACCURACY.get(metrics["model"])
    row: dict[str, Any] = {"model": metrics["model"], "ours": ours, "reference": reference}
    if reference is not None:
        row["difference"] = {
            split: ours[split] - reference[split] for split in reference if split in ours
        }
    row["train_seconds"] = metrics["seconds"]["train"]
    row["best_epoch"] = metrics["best_epoch"]
    return row


def run_comparison(
    models: Sequence[str],
    data_dir: Path,
    out_dir: Path,
    seed: int = 0,
    glove: Path | None = None,
    resume: bool = False,
) -> list[dict[str, Any]]:
    """Train each model (its preset settings) into ``out_dir/<model>``; one row per model."""
    rows = []
    for name in models:
        print(f"== {name}")
        options = RunOptions(
            model=name,
            data_dir=data_dir,
            out_dir=out_dir / name,
            seed=seed,
            glove=glove,
            resume=resume,
        )
        rows.append(comparison_row(run_experiment(options)))
    return rows


def format_table(rows: Sequence[dict[str, Any]]) -> str:
    """A markdown table: ours vs reference accuracy (%) per split and the test difference."""

    def cell(value: float | None) -> str:
        return "–" if value is None else f"{value:.2f}"

    lines = [
        "| model | train | dev | test | ref train | ref dev | ref test | test Δ | train s |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        ours, ref = row["ours"], row["reference"] or {}
        delta = row.get("difference", {}).get("test")
        lines.append(
            f"| {row['model']} | {cell(ours.get('train'))} | {cell(ours.get('dev'))} | "
            f"{cell(ours.get('test'))} | {cell(ref.get('train'))} | {cell(ref.get('dev'))} | "
            f"{cell(ref.get('test'))} | {'–' if delta is None else f'{delta:+.2f}'} | "
            f"{row['train_seconds']:.1f} |"
        )
    return "\n".join(lines)
