"""Figures of a style-transfer run: the loss curves and the content | style(s) | result panel."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import torch

from dlclassics.io import save_figure
from dlclassics.runtime import use_agg_backend
from dlclassics.style.images import pixels_to_pil
from dlclassics.style.optimize import LossHistory

TERM_STYLES = {"total": "k-", "content": "C0-", "style": "C3-", "tv": "C2-"}


def plot_loss_history(history: LossHistory, path: str | os.PathLike[str], title: str) -> Path:
    """Total, content, style and TV loss per iteration on a log scale (zeros are left out)."""
    use_agg_backend()
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4.0))
    iterations = range(len(history.total))
    for term, line_style in TERM_STYLES.items():
        values = getattr(history, term)
        positive = [(i, v) for i, v in zip(iterations, values, strict=True) if v > 0]
        if positive:
            xs, ys = zip(*positive, strict=True)
            ax.plot(xs, ys, line_style, label=term, linewidth=1.5 if term == "total" else 1.0)
    ax.set_yscale("log")
    ax.set_xlabel("iteration")
    ax.set_ylabel("loss (weighted)")
    ax.set_title(title, fontsize=10)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    return save_figure(fig, path)


def save_panel(
    content: torch.Tensor,
    styles: Sequence[torch.Tensor],
    result: torch.Tensor,
    path: str | os.PathLike[str],
    style_names: Sequence[str],
) -> Path:
    """Side-by-side figure: content | style 1 … style K | result, each at its own aspect ratio.

    Args:
        content, result: (1, 3, H, W) in [0, 1].
        styles: K tensors (1, 3, H_k, W_k) in [0, 1].
        path: where to write the figure.
        style_names: K titles.
    """
    use_agg_backend()
    import matplotlib.pyplot as plt

    images = [content, *styles, result]
    titles = ["content", *style_names, "result"]
    aspects = [image.shape[-1] / image.shape[-2] for image in images]  # width / height
    fig, axes = plt.subplots(
        1, len(images), figsize=(3.0 * sum(aspects), 3.4), gridspec_kw={"width_ratios": aspects}
    )
    for ax, image, title in zip(axes, images, titles, strict=True):
        ax.imshow(pixels_to_pil(image))
        ax.set_title(title, fontsize=10)
        ax.axis("off")
    return save_figure(fig, path)
