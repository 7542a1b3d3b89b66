"""The captioning figure that is not one of ``dlclassics.figures``' own: images with their
generated and true captions (the loss curve is ``figures.plot_series``)."""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from dlclassics.data.images import load_rgb
from dlclassics.errors import DlcError
from dlclassics.figures import plot_image_grid

COLUMNS = 3
WRAP = 32  # characters per caption line: a 3.2-inch panel at 10 pt


def plot_samples(rows: Sequence[dict[str, str]], path: Path, title: str) -> Path:
    """A grid of images, each with its generated caption and one true caption above it.

    ``rows``: ``{"image", "generated", "truth"}`` each. An image that is not a readable local
    file (a COCO URL: runs never download) is a grey panel captioned with its name.
    """
    images, captions = [], []
    for row in rows:
        caption = (
            f"gen: {textwrap.fill(row['generated'], WRAP)}\ngt: {textwrap.fill(row['truth'], WRAP)}"
        )
        try:
            images.append(load_rgb(row["image"]))
        except DlcError:
            images.append(np.full((8, 8, 3), 0.85))
            caption = f"{Path(row['image']).name}\n{caption}"
        captions.append(caption)
    return plot_image_grid(images, captions, path, title, columns=COLUMNS)
