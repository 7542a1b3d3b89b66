"""``dlc reproduce`` part 1: transfer learning on hymenoptera with EfficientNet-Lite0."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dlclassics.data.registry import dataset_path
from dlclassics.transfer.config import MODES, recipe
from dlclassics.transfer.experiment import ExperimentConfig, run_experiment


def run_part(out_dir: Path, data_root: Path, quick: bool) -> dict[str, Any]:
    """Run the transfer experiment into ``out_dir``; return its figures.

    quick: the improved protocol's quick profile, both modes (a few minutes on 2 CPU cores).
    full: the improved protocol, both modes, then the reference protocol (the PyTorch
    tutorial's recipe: 25 epochs of batch 4, which takes hours on a CPU for fine-tuning).

    Returns:
        ``{"quick": bool, "runs": {"<protocol>/<mode>": figures}, "images": [...]}`` where each
        figures dict holds ``random_head_val_acc``, ``zero_shot_val_acc`` (None when the classes
        do not name ImageNet classes), ``initial_head_val_acc``, ``best_val_acc``,
        ``best_epoch``, ``final_val_acc``, ``num_val``, ``train_seconds`` and ``metrics`` (its
        metrics.json); ``images`` lists the PNG files relative to ``out_dir``.
    """
    data_dir = dataset_path("hymenoptera", data_root)
    protocols = ["improved"] if quick else ["improved", "reference"]
    runs: dict[str, Any] = {}
    images: list[str] = []
    for protocol in protocols:
        exp = ExperimentConfig(
            data_dir=data_dir,
            out_dir=Path(out_dir) / protocol,
            train={mode: recipe(protocol, mode, quick) for mode in MODES},
            protocol=protocol,
            cache_dir=Path(out_dir) / "feature_cache",
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
    return {"quick": quick, "runs": runs, "images": images}
