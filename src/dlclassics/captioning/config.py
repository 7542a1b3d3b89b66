"""Configurations of the captioning commands, kept free of heavy imports so that building the
``dlc`` argument parser (which reads their defaults) stays fast."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any


@dataclass(frozen=True)
class ShapesConfig:
    """The generated shapes data set (``dlc caption make-shapes``)."""

    n_train: int = 2000
    n_val: int = 400
    n_test: int = 400
    seed: int = 0
    image_size: int = 128


@dataclass
class TrainConfig:
    """A captioning run (the ``dlc caption train`` flags)."""

    data: str = "shapes"
    cell: str = "lstm"
    engine: str = "numpy"
    overfit: int | None = None  # train on N captions of N different images (the reference: 50)
    epochs: int = 10
    batch_size: int = 100
    lr: float = 5e-3
    lr_decay: float = 0.995  # the reference's per-epoch decay
    hidden: int = 512
    wordvec: int = 256
    seed: int = 0
    max_length: int = 30  # longest generated caption
    beam: int = 3  # evaluation decodes greedily and, when > 1, with this beam size
    eval_images: int = 1000  # at most this many images per evaluated split
    backbone: str = "efficientnet_lite0"
    image_size: int = 224  # ignored for shapes (uses its rendered size)
    pca: int | None = None
    feature_cache: str | None = None

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> TrainConfig:
        """The fields of ``values`` that are TrainConfig fields (e.g. parsed arguments)."""
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in values.items() if k in names})
