"""The settings of a transfer run: one ``TransferConfig``, with a ``TrainConfig`` per mode
(``recipe`` gives a mode's defaults; command-line flags named after the fields replace them).
Plain data, so it goes into ``metrics.json`` and checkpoints as-is; no torch, so ``dlc --help``
stays fast."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

MODES = ("finetune", "freeze")
PROTOCOLS = ("improved", "reference")
HEAD_INITS = ("random", "imagenet")
SCHEDULES = ("step", "cosine")
# backbones.available_backbones(), the default first, named here without importing torch (so
# that ``dlc --help`` stays fast); tests/test_backbones.py keeps the two lists equal
BACKBONES = ("efficientnet_lite0", "resnet18", "vgg19", "squeezenet1_1")


@dataclass(frozen=True)
class TrainConfig:
    """How one mode trains (SGD; ``lr`` is the new head's).

    schedule: "step" (lr × ``lr_gamma`` every ``lr_step`` epochs) or "cosine" (to 0 over
    ``epochs``). head_init: "random", or "imagenet" (the ImageNet classifier rows of the classes
    the folder names map to; random when a class does not map). Finetune only: the backbone
    trains at ``lr * backbone_lr_scale``; ``frozen_bn`` keeps BatchNorm statistics fixed, so small
    batches do not overwrite the ImageNet ones. Freeze only: ``cached_views`` augmented views
    per training image in the feature cache (0: recompute the backbone every epoch, like the
    tutorial). ``flip_tta`` averages the logits of the centre crop and its mirror image.
    """

    epochs: int = 25
    batch_size: int = 4
    lr: float = 1e-3
    momentum: float = 0.9
    weight_decay: float = 0.0
    schedule: str = "step"
    lr_step: int = 7
    lr_gamma: float = 0.1
    head_init: str = "random"
    backbone_lr_scale: float = 1.0
    frozen_bn: bool = False
    cached_views: int = 0
    flip_tta: bool = False
    train_images_per_class: int | None = None  # at most this many (quick runs)


# The PyTorch transfer-learning tutorial, exactly: SGD(momentum 0.9, lr 1e-3), StepLR(7, 0.1),
# 25 epochs, batch 4, a randomly initialised new head, no test-time augmentation. Its frozen run
# recomputes the backbone on fresh crops every epoch; a cache of 25 views (one per epoch) gives the
# same distribution of inputs.
REFERENCE = TrainConfig(cached_views=25)

# Our recipe, chosen by measurement (benchmarks/transfer_bench.py, benchmarks/RESULTS.md).
_IMPROVED = {"batch_size": 16, "lr": 1e-3, "schedule": "cosine", "head_init": "imagenet"}
IMPROVED = {
    "freeze": TrainConfig(epochs=25, cached_views=2, flip_tta=True, **_IMPROVED),
    "finetune": TrainConfig(
        epochs=3, backbone_lr_scale=0.1, frozen_bn=True, flip_tta=True, **_IMPROVED
    ),
}

# A few minutes on 2 CPU cores for tests and ``dlc reproduce --quick``: one cached view, one
# fine-tuning epoch on a subset of the training images.
QUICK = {
    "freeze": {"epochs": 5, "cached_views": 1, "flip_tta": False},
    "finetune": {"epochs": 1, "train_images_per_class": 16, "flip_tta": False},
}


def recipe(protocol: str, mode: str, quick: bool = False) -> TrainConfig:
    """The default ``TrainConfig`` of ``protocol`` ("improved"/"reference") for ``mode``."""
    base = REFERENCE if protocol == "reference" else IMPROVED[mode]
    if mode == "finetune":
        base = replace(base, cached_views=0)  # a backbone that trains cannot be cached
    return replace(base, **QUICK[mode]) if quick else base


@dataclass
class TransferConfig:
    """One ``dlc transfer`` run: ``data_dir`` holds ``train/<class>/`` and ``val/<class>/``;
    outputs go to ``out_dir/metrics.json`` and ``out_dir/<mode>/`` for every mode in ``train``;
    ``weights`` is as ``backbones.resolve_weights`` takes it; the feature cache goes to
    ``cache_dir`` (default ``out_dir/feature_cache``)."""

    data_dir: Path
    out_dir: Path
    train: dict[str, TrainConfig] = field(default_factory=dict)
    backbone: str = BACKBONES[0]
    weights: str = "imagenet"
    protocol: str = "improved"  # the recipe the train configs came from (recorded in metrics)
    seed: int = 0
    cache_dir: Path | None = None
    resume: bool = False  # continue each mode from out_dir/<mode>/last.pt when it exists
    device: str = "cpu"
    precision: str = "auto"  # autocast on a GPU (runtime.autocast)
