"""The figures of one transfer mode: learning curves, a grid of val predictions, the confusion
matrix (drawn by ``dlclassics.figures``; the predictions grid is the part-specific piece)."""

from __future__ import annotations

from pathlib import Path

from dlclassics import figures
from dlclassics.data.images import load_rgb
from dlclassics.training import EvalResult, LoopState
from dlclassics.transfer.data import ImageFolderData

FIGURES = ("curves", "predictions", "confusion")


def prediction_order(best: EvalResult) -> list[int]:
    """Val items in display order: the mistakes, then the correct ones alternating by class."""
    right = (best.predictions == best.labels).tolist()
    labels = best.labels.tolist()
    shown_per_class: dict[int, int] = {}
    rank = {}
    for i in (i for i, ok in enumerate(right) if ok):
        rank[i] = (shown_per_class.get(labels[i], 0), labels[i])
        shown_per_class[labels[i]] = rank[i][0] + 1
    return [i for i, ok in enumerate(right) if not ok] + sorted(rank, key=rank.__getitem__)


def plot_predictions(
    paths: list[Path], best: EvalResult, classes: list[str], path: Path, crop: int, count: int = 16
) -> Path:
    """A grid of the val images ``paths`` (in the order of ``best``), shown as the ``crop`` centre
    crop the model saw, titled ``pred <class> (probability) / true <class>``; mistakes first,
    framed in red."""
    from torchvision import transforms as T

    view = T.Compose([T.Resize(crop), T.CenterCrop(crop)])
    predictions, labels = best.predictions.tolist(), best.labels.tolist()
    shown = prediction_order(best)[:count]
    mistakes = [predictions[i] != labels[i] for i in shown]
    captions = [
        f"{'WRONG ' if wrong else ''}pred {classes[predictions[i]]} "
        f"({best.probabilities[i, predictions[i]]:.2f})\ntrue {classes[labels[i]]}"
        for i, wrong in zip(shown, mistakes, strict=True)
    ]
    wrong_total = sum(p != t for p, t in zip(predictions, labels, strict=True))
    title = f"val predictions ({wrong_total} mistakes of {len(paths)}; mistakes first, in red)"
    images = [view(load_rgb(paths[i])) for i in shown]
    return figures.plot_image_grid(images, captions, path, title, columns=4, mistakes=mistakes)


def write_figures(
    out: Path, mode: str, data: ImageFolderData, best: EvalResult, state: LoopState, crop: int
) -> dict[str, str]:
    """curves.png, predictions.png and confusion.png in ``out`` (the mode's folder); returns
    every output's name relative to the experiment folder (``{"curves": "<mode>/curves.png"…}``)."""
    title = f"{mode}: best val acc {100 * state.best_acc:.2f} % (epoch {state.best_epoch})"
    figures.plot_curves(state.history, out / "curves.png", title, splits=("train", "val"))
    val_paths = [path for path, _ in data.val]
    plot_predictions(val_paths, best, data.classes, out / "predictions.png", crop)
    classes = data.classes
    matrix = figures.confusion_matrix(best.labels.numpy(), best.predictions.numpy(), len(classes))
    figures.plot_confusion(matrix, classes, out / "confusion.png", f"{mode}, best epoch")
    names = [f"{name}.png" for name in FIGURES] + ["best.pt", "last.pt", "metrics.json"]
    return {name.split(".")[0]: f"{mode}/{name}" for name in names}
