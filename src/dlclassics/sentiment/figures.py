"""Figures of a training run: loss/accuracy curves and a confusion matrix (written with Agg)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from dlclassics.io import save_figure
from dlclassics.runtime import use_agg_backend


def confusion_matrix(labels: np.ndarray, predictions: np.ndarray) -> np.ndarray:
    """(2, 2) counts: row = true label (0 negative, 1 positive), column = predicted label."""
    matrix = np.zeros((2, 2), dtype=np.int64)
    np.add.at(matrix, (labels.astype(np.int64), predictions.astype(np.int64)), 1)
    return matrix


def plot_curves(history: list[dict[str, float]], path: Path, title: str) -> Path:
    """Train/dev loss (left) and accuracy (right) per epoch."""
    use_agg_backend()
    import matplotlib.pyplot as plt

    epochs = [row["epoch"] for row in history]
    fig, (loss_ax, acc_ax) = plt.subplots(1, 2, figsize=(10, 4))
    for split in ("train", "dev"):
        loss_ax.plot(epochs, [row[f"{split}_loss"] for row in history], marker="o", label=split)
        acc_ax.plot(
            epochs, [100 * row[f"{split}_accuracy"] for row in history], marker="o", label=split
        )
    loss_ax.set(xlabel="epoch", ylabel="BCE loss", title="loss")
    acc_ax.set(xlabel="epoch", ylabel="accuracy (%)", title="accuracy")
    for ax in (loss_ax, acc_ax):
        ax.grid(alpha=0.3)
        ax.legend()
    fig.suptitle(title)
    return save_figure(fig, path)


def plot_confusion(matrix: np.ndarray, path: Path, title: str) -> Path:
    """The (2, 2) confusion matrix with counts and row percentages in each cell."""
    use_agg_backend()
    import matplotlib.pyplot as plt

    names = ["negative", "positive"]
    rows = matrix.sum(axis=1, keepdims=True).clip(min=1)
    fig, ax = plt.subplots(figsize=(4.5, 4))
    ax.imshow(matrix / rows, cmap="Blues", vmin=0, vmax=1)
    for i in range(2):
        for j in range(2):
            share = matrix[i, j] / rows[i, 0]
            colour = "white" if share > 0.5 else "black"
            ax.text(
                j, i, f"{matrix[i, j]}\n{100 * share:.1f} %", ha="center", va="center", color=colour
            )
    ax.set(xticks=[0, 1], yticks=[0, 1], xticklabels=names, yticklabels=names)
    ax.set(xlabel="predicted", ylabel="true", title=title)
    return save_figure(fig, path)
