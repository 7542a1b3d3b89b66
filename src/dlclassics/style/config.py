"""The settings of one style-transfer run, filled straight from ``dlc style``'s arguments.

Kept free of torch imports: the ``dlc`` parser reads the defaults when it is built.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# backbones.DEFAULT_BACKBONE, spelled out here so that building the parser does not import torch
DEFAULT_BACKBONE = "efficientnet_lite0"
# The working image: pictures more elongated than MAX_ASPECT:1 are refused, and so is a size
# that would make the longer side exceed MAX_SIDE pixels (style.images.working_size).
MAX_ASPECT = 10
MAX_SIDE = 4096
SEQUENCE_FIELDS = ("styles", "blend", "style_layers", "style_weights", "scales", "scale_iterations")


@dataclass(frozen=True)
class StyleConfig:
    """Everything a run needs; the ``None`` fields take the backbone preset's value.

    ``out`` is an output folder, or an image file path (its folder then holds the other
    outputs); ``size`` and ``style_size`` (default: ``size``) are shorter sides in pixels;
    ``blend`` has one weight per style picture (normalised to sum 1; default: equal);
    ``weights`` is "imagenet", a local state_dict path, or None (random; tests only);
    ``style_scale`` multiplies every style weight; ``iterations`` … ``lr_decayed``: see
    ``optimize.OptimConfig``; ``seed`` seeds the noise start; ``extra`` is recorded in
    metrics.json as is (e.g. the reference pair's name).

    ``original_colors``, ``match_histogram``: see ``style.colors``; ``scales`` (coarse to fine,
    the last is ``size``) and ``scale_iterations`` (one per scale; default ``iterations``): see
    ``style.multiscale``; ``tile``, ``tile_overlap`` (default ``tile // 4``), ``no_tile``: see
    ``style.tiles``.
    """

    content: Path = Path("content.jpg")
    styles: tuple[Path, ...] = ()
    out: Path = Path("runs/style")
    size: int = 256
    style_size: int | None = None
    blend: tuple[float, ...] | None = None
    backbone: str = DEFAULT_BACKBONE
    weights: str | None = "imagenet"
    content_layer: str | None = None
    style_layers: tuple[str, ...] | None = None
    content_weight: float | None = None
    style_weights: tuple[float, ...] | None = None
    tv_weight: float | None = None
    style_scale: float = 1.0
    iterations: int = 200
    optimizer: str = "adam"
    init: str = "content"
    lr: float | None = None
    lr_decayed: float | None = None
    seed: int = 0
    device: str = "cpu"
    original_colors: bool = False
    match_histogram: bool = False
    scales: tuple[int, ...] | None = None
    scale_iterations: tuple[int, ...] | None = None
    tile: int | None = None
    tile_overlap: int | None = None
    no_tile: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # argparse gives lists; as tuples they compare equal to the presets' layer tuples
        for name in SEQUENCE_FIELDS:
            value = getattr(self, name)
            if value is not None and not isinstance(value, tuple):
                object.__setattr__(self, name, tuple(value))
