"""Every figure a run writes, drawn one way: curves, trade-offs, confusion matrices, image grids.

Figures are ``matplotlib.figure.Figure`` objects saved with ``io.save_figure``; pyplot is never
imported, so no backend is switched and nothing global changes for a notebook user.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from dlclassics.io import save_figure

LABEL_FONT = 10  # caption text under images: readable at 100 % zoom in the report


def new_figure(width: float, height: float, layout: str | None = None):
    """A pyplot-free matplotlib Figure of ``width`` x ``height`` inches."""
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), layout=layout)


def plot_curves(
    history: Sequence[dict], path: str | os.PathLike[str], title: str, splits: Sequence[str]
) -> Path:
    """Loss (left) and accuracy (right) per epoch for each split, from ``{split}_loss`` and
    ``{split}_acc`` (a fraction, drawn in %, the axis ending at 100 %) of each history row."""
    from matplotlib.ticker import FixedLocator, MaxNLocator

    epochs = [row["epoch"] for row in history]
    fig = new_figure(10, 3.8, layout="constrained")
    ax_loss, ax_acc = fig.subplots(1, 2)
    for split, marker in zip(splits, "osd^", strict=False):
        ax_loss.plot(epochs, [row[f"{split}_loss"] for row in history], f"-{marker}", label=split)
        accuracy = [100 * row[f"{split}_acc"] for row in history]
        ax_acc.plot(epochs, accuracy, f"-{marker}", ms=4, label=split)
    ax_loss.set(xlabel="epoch", ylabel="loss", title="loss")
    ax_acc.set(xlabel="epoch", ylabel="accuracy (%)", title="accuracy")
    # no accuracy above 100 %; one epoch is a point, not a line, so give it room either side
    lowest = min((100 * row[f"{s}_acc"] for row in history for s in splits), default=0.0)
    ax_acc.set_ylim(max(0.0, lowest - 2), 100.5)
    for ax in (ax_loss, ax_acc):
        ax.set_xlim(min(epochs, default=1) - 0.5, max(epochs, default=1) + 0.5)
        # a tick per epoch while they fit (a locator alone puts 0.6 and 1.2 around one epoch)
        ax.xaxis.set_major_locator(
            FixedLocator(epochs) if len(epochs) <= 12 else MaxNLocator(integer=True)
        )
        ax.grid(alpha=0.3)
        ax.legend()
    fig.suptitle(title)
    return save_figure(fig, path)


def plot_series(
    series: dict[str, Sequence[float]],
    path: str | os.PathLike[str],
    title: str,
    xlabel: str = "iteration",
    ylabel: str = "loss",
    smooth: bool = False,
) -> Path:
    """One line per named series on a log scale (non-positive values left out); ``smooth`` adds
    a moving average over 1/50 of the points and fades the raw line."""
    fig = new_figure(7, 4)
    ax = fig.subplots()
    for label, values in series.items():
        values = np.asarray(values, dtype=np.float64)
        steps = np.arange(len(values))
        keep = values > 0
        window = max(1, len(values) // 50) if smooth else 1
        line = ax.plot(steps[keep], values[keep], alpha=0.35 if window > 1 else 1.0, lw=1)[0]
        if window > 1:
            mean = np.convolve(values, np.ones(window) / window, mode="valid")
            ax.plot(steps[window - 1 :], mean, color=line.get_color(), label=label)
        else:
            line.set_label(label)
    ax.set(xlabel=xlabel, ylabel=ylabel, title=title, yscale="log")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    return save_figure(fig, path)


def plot_tradeoff(
    points: dict[str, tuple[float, float]],
    path: str | os.PathLike[str],
    title: str,
    xlabel: str,
    ylabel: str,
) -> Path:
    """One labelled point per name, ``(x, y)`` with x on a log scale: a cost-benefit plot, such as
    sentences/s against accuracy, where x spans orders of magnitude."""
    fig = new_figure(7, 4.5)
    ax = fig.subplots()
    for name, (x, y) in points.items():
        ax.plot([x], [y], "o")
        ax.annotate(name, (x, y), xytext=(5, 4), textcoords="offset points", fontsize=LABEL_FONT)
    ax.set(xlabel=xlabel, ylabel=ylabel, title=title, xscale="log")
    ax.margins(x=0.15, y=0.1)  # room for the labels of the outermost points
    ax.grid(True, which="both", alpha=0.3)
    return save_figure(fig, path)


def confusion_matrix(labels: np.ndarray, predictions: np.ndarray, num_classes: int) -> np.ndarray:
    """(C, C) counts: row = true class, column = predicted class."""
    matrix = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(matrix, (np.asarray(labels, np.int64), np.asarray(predictions, np.int64)), 1)
    return matrix


def plot_confusion(
    matrix: np.ndarray, classes: Sequence[str], path: str | os.PathLike[str], title: str
) -> Path:
    """The confusion matrix, shaded by row share, with count and row percentage in each cell."""
    matrix = np.asarray(matrix)
    rows = matrix.sum(axis=1, keepdims=True).clip(min=1)
    size = max(4.0, 0.6 * len(classes) + 2.5)
    fig = new_figure(size, size * 0.9)
    ax = fig.subplots()
    ax.imshow(matrix / rows, cmap="Blues", vmin=0, vmax=1)
    for (i, j), count in np.ndenumerate(matrix):
        share = count / rows[i, 0]
        colour = "white" if share > 0.5 else "black"
        ax.text(j, i, f"{count}\n{100 * share:.1f} %", ha="center", va="center", color=colour)
    ticks = range(len(classes))
    ax.set(xticks=ticks, yticks=ticks, xlabel="predicted", ylabel="true", title=title)
    ax.set_xticklabels(classes, rotation=45 if len(classes) > 2 else 0, ha="right")
    ax.set_yticklabels(classes)
    return save_figure(fig, path)


def plot_image_grid(
    images: Sequence[np.ndarray | object],
    captions: Sequence[str],
    path: str | os.PathLike[str],
    title: str,
    columns: int = 4,
    mistakes: Sequence[bool] | None = None,
    width_ratios: Sequence[float] | None = None,
) -> Path:
    """Images (arrays or PIL images) in a grid with a caption under each; ``mistakes`` frames
    those images in red; ``width_ratios`` (one row only) keeps each image's aspect ratio."""
    count = len(images)
    columns = max(1, min(columns, count))
    rows = -(-count // columns)
    lines = max((caption.count("\n") + 1 for caption in captions), default=1)
    panel_width = [3.2 * r for r in width_ratios] if width_ratios else [3.2] * columns
    # constrained layout keeps the suptitle clear of the captions, one row or many
    fig = new_figure(sum(panel_width), rows * (3.2 + 0.2 * lines), layout="constrained")
    gridspec = {"width_ratios": list(width_ratios)} if width_ratios else None
    axes = np.atleast_1d(fig.subplots(rows, columns, squeeze=False, gridspec_kw=gridspec)).ravel()
    for ax in axes:
        ax.axis("off")
    for index, (ax, image, caption) in enumerate(zip(axes, images, captions, strict=False)):
        ax.imshow(image)
        wrong = bool(mistakes[index]) if mistakes is not None else False
        ax.set_title(caption, fontsize=LABEL_FONT, color="red" if wrong else "black")
        if wrong:
            ax.axis("on")
            ax.set(xticks=[], yticks=[])
            for spine in ax.spines.values():
                spine.set(visible=True, color="red", linewidth=3)
    fig.suptitle(title)
    return save_figure(fig, path)
