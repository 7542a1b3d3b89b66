"""Figures of a transfer run: learning curves, a grid of val predictions, the confusion matrix."""

from __future__ import annotations

from pathlib import Path

import torch

from dlclassics.data.images import load_rgb
from dlclassics.io import save_figure


def plot_curves(history: list[dict], path: Path, title: str) -> Path:
    """Train/val loss and accuracy per epoch, side by side."""
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    epochs = [h["epoch"] for h in history]
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(10, 3.8))
    for split, style in (("train", "-o"), ("val", "-s")):
        ax_loss.plot(epochs, [h[f"{split}_loss"] for h in history], style, ms=3, label=split)
        ax_acc.plot(epochs, [100 * h[f"{split}_acc"] for h in history], style, ms=3, label=split)
    ax_loss.set(xlabel="epoch", ylabel="cross-entropy", title="loss")
    ax_acc.set(xlabel="epoch", ylabel="accuracy (%)", title="accuracy")
    for ax in (ax_loss, ax_acc):
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
        ax.legend()
    fig.suptitle(title)
    return save_figure(fig, path)


def plot_predictions(
    paths: list[Path],
    labels: torch.Tensor,
    probabilities: torch.Tensor,
    classes: list[str],
    path: Path,
    crop: int,
    count: int = 16,
) -> Path:
    """A grid of val images titled ``predicted (probability) / true``; mistakes in red, first.

    Args:
        paths: the N val image files; labels (N,); probabilities (N, C).
        crop: images are shown as the centre crop the model saw (resized to ``crop``).
    """
    import matplotlib.pyplot as plt
    from torchvision import transforms as T

    predictions = probabilities.argmax(dim=1)
    wrong = [i for i in range(len(paths)) if predictions[i] != labels[i]]
    right = [i for i in range(len(paths)) if predictions[i] == labels[i]]
    shown_per_class: dict[int, int] = {}
    order = {}
    for i in right:
        label = int(labels[i])
        order[i] = (shown_per_class.get(label, 0), label)
        shown_per_class[label] = shown_per_class.get(label, 0) + 1
    right.sort(key=order.__getitem__)  # the correct ones alternate between classes
    shown = (wrong + right)[:count]
    columns = min(4, len(shown))
    rows = -(-len(shown) // columns)
    view = T.Compose([T.Resize(crop), T.CenterCrop(crop)])
    fig, axes = plt.subplots(rows, columns, figsize=(3 * columns, 3.2 * rows), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, i in zip(axes.flat, shown, strict=False):
        predicted, true = int(predictions[i]), int(labels[i])
        ax.imshow(view(load_rgb(paths[i])))
        mistake = predicted != true
        ax.set_title(
            f"{'WRONG ' if mistake else ''}pred {classes[predicted]} "
            f"({probabilities[i, predicted]:.2f})\ntrue {classes[true]}",
            color="red" if mistake else "black",
            fontsize=9,
        )
        if mistake:
            for spine in ax.spines.values():
                spine.set(visible=True, color="red", linewidth=3)
            ax.axis("on")
            ax.set_xticks([])
            ax.set_yticks([])
    fig.suptitle(f"val predictions ({len(wrong)} mistakes of {len(paths)}; mistakes first, in red)")
    return save_figure(fig, path)


def plot_confusion(matrix: torch.Tensor, classes: list[str], path: Path, title: str) -> Path:
    """The confusion matrix (rows true, columns predicted) with counts in the cells."""
    import matplotlib.pyplot as plt

    size = max(3.5, 0.6 * len(classes) + 2)
    fig, ax = plt.subplots(figsize=(size, size))
    ax.imshow(matrix.numpy(), cmap="Blues")
    ticks = range(len(classes))
    ax.set(xticks=ticks, yticks=ticks, xlabel="predicted", ylabel="true", title=title)
    ax.set_xticklabels(classes, rotation=45, ha="right")
    ax.set_yticklabels(classes)
    peak = int(matrix.max()) if matrix.numel() else 0
    for (row, col), value in zip(
        ((r, c) for r in ticks for c in ticks), matrix.flatten().tolist(), strict=True
    ):
        color = "white" if value > peak / 2 else "black"
        ax.text(col, row, str(value), ha="center", va="center", color=color)
    return save_figure(fig, path)
