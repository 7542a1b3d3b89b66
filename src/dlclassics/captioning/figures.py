"""Figures of a captioning run: the loss curve, and images with generated and true captions."""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from dlclassics.io import save_figure


def plot_loss(histories: dict[str, Sequence[float]], path: Path, title: str) -> Path:
    """Training loss per iteration, one line per run (label → losses), with a moving average."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4))
    for label, losses in histories.items():
        losses = np.asarray(losses, dtype=np.float64)
        line = ax.plot(losses, alpha=0.35, linewidth=0.8)[0]
        window = max(1, len(losses) // 50)
        if window > 1:
            smooth = np.convolve(losses, np.ones(window) / window, mode="valid")
            ax.plot(np.arange(window - 1, len(losses)), smooth, color=line.get_color(), label=label)
        else:
            line.set_label(label)
            line.set_alpha(1.0)
    ax.set_xlabel("iteration")
    ax.set_ylabel("training loss")
    ax.set_yscale("log")
    ax.set_title(title)
    ax.legend()
    ax.grid(alpha=0.3)
    return save_figure(fig, path)


def plot_samples(
    images: Sequence[str],
    generated: Sequence[str],
    truths: Sequence[str],
    path: Path,
    title: str,
    columns: int = 4,
) -> Path:
    """A grid of images, each with its generated caption and one ground-truth caption under it.

    ``images`` are file paths; anything that is not a readable local file (a COCO URL) is shown
    as a grey panel with its name, since runs never download.
    """
    import matplotlib.pyplot as plt

    from dlclassics.data.images import load_rgb
    from dlclassics.errors import DlcError

    n = len(images)
    rows = max(1, -(-n // columns))
    fig, axes = plt.subplots(rows, columns, figsize=(3.2 * columns, 4.4 * rows), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, image, gen, truth in zip(axes.flat, images, generated, truths, strict=False):
        try:
            ax.imshow(load_rgb(image))
        except DlcError:
            ax.imshow(np.full((8, 8, 3), 0.85))
            ax.text(4, 4, textwrap.fill(Path(image).name, 18), ha="center", va="center", fontsize=7)
        caption = f"gen: {textwrap.fill(gen, 34)}\ngt: {textwrap.fill(truth, 34)}"
        ax.set_title(caption, fontsize=7.5, loc="left", y=-0.02, va="top")
    fig.suptitle(title)
    fig.tight_layout()
    return save_figure(fig, path)
