"""The settings of one style-transfer run, filled straight from ``dlc style``'s arguments.

Kept free of torch imports: the ``dlc`` parser reads the defaults when it is built.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PIL import Image

# backbones.DEFAULT_BACKBONE, spelled out here so that building the parser does not import torch
DEFAULT_BACKBONE = "efficientnet_lite0"
# The working image: pictures more elongated than MAX_ASPECT:1 are refused, and so is a size
# that would make the longer side exceed MAX_SIDE pixels (style.images.working_size).
MAX_ASPECT = 10
MAX_SIDE = 4096
SEQUENCE_FIELDS = ("styles", "style_blend", "style_layers", "style_weight", "scales", "scale_iters")

# A picture as the API takes it: an image file's path, or a PIL image already in memory.
Picture = str | os.PathLike | Image.Image


@dataclass(frozen=True)
class Config:
    """Everything a run needs; each field is the ``dlc style`` option of the same name, and the
    ``None`` ones take the backbone preset's value (``style.presets``).

    ``content`` and ``styles``: image paths (``stylize`` also takes PIL images); ``out``: an
    output image (any suffix Pillow writes; its side files are named after it) or a folder
    (``result.png`` and the others inside); ``size`` and ``style_size`` (default: ``size``)
    are shorter sides in pixels; ``style_blend`` has one weight per style picture (normalised
    to sum 1; default: equal); ``weights`` is the backbone's: "imagenet", a local state_dict
    path, or None (random; tests only); ``style_weight`` has one weight per style layer and
    ``style_scale`` multiplies them all; ``iters`` … ``lr_decayed``: see
    ``optimize.OptimConfig``; ``seed`` seeds the noise start; ``device``: cpu, cuda or cuda:N
    (None: ``$DLC_DEVICE``, else the GPU when one is visible); ``precision``: autocast of the
    backbone on a GPU (fp32 by default: the bf16 pixel gradients are not measured here);
    ``threads``: PyTorch's CPU threads (None: its default); ``extra`` is recorded in
    metrics.json as is (e.g. the reference pair's name).

    ``original_colors``, ``match_histogram``: see ``style.colors``; ``scales`` (coarse to fine,
    the last is ``size``) and ``scale_iters`` (one per scale; default ``iters``): see
    ``style.multiscale``; ``tile``, ``tile_overlap`` (default ``tile // 4``), ``no_tile``: see
    ``style.tiles``.

    Example:
        >>> config = Config(content=Path("photo.jpg"), styles=[Path("starry.jpg")], size=64)
        >>> config.styles, config.iters
        ((PosixPath('starry.jpg'),), 200)
    """

    content: Picture = Path("content.jpg")
    styles: tuple[Picture, ...] = ()
    out: Path = Path("runs/style")
    size: int = 256
    style_size: int | None = None
    style_blend: tuple[float, ...] | None = None
    backbone: str = DEFAULT_BACKBONE
    weights: str | None = "imagenet"
    content_layer: str | None = None
    style_layers: tuple[str, ...] | None = None
    content_weight: float | None = None
    style_weight: tuple[float, ...] | None = None
    tv_weight: float | None = None
    style_scale: float = 1.0
    iters: int = 200
    optimizer: str = "adam"
    init: str = "content"
    lr: float | None = None
    lr_decayed: float | None = None
    seed: int = 0
    device: str | None = None
    precision: str = "fp32"
    threads: int | None = None
    original_colors: bool = False
    match_histogram: bool = False
    scales: tuple[int, ...] | None = None
    scale_iters: tuple[int, ...] | None = None
    tile: int | None = None
    tile_overlap: int | None = None
    no_tile: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "out", Path(self.out))  # users may give text
        # argparse and users give lists; as tuples they compare equal to the presets' tuples
        for name in SEQUENCE_FIELDS:
            value = getattr(self, name)
            if value is not None and not isinstance(value, tuple):
                object.__setattr__(self, name, tuple(value))
