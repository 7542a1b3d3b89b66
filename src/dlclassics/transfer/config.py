"""The settings of a transfer run: one ``TransferConfig``, with a ``TrainConfig`` per mode.

``recipe(protocol, mode, quick)`` gives a mode's defaults (the reference protocol is the PyTorch
tutorial's, the improved one our measured recipe); the command line replaces single fields with
``options.apply_overrides`` (its flags are named after the fields). Everything here is plain
data, so it goes into ``metrics.json`` and checkpoints as-is. This module imports no torch:
``dlc --help`` builds its parser from it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

MODES = ("finetune", "freeze")
PROTOCOLS = ("improved", "reference")
HEAD_INITS = ("random", "imagenet")
SCHEDULES = ("step", "cosine")
# backbones.available_backbones(), the default first, named here without importing torch (so
# that ``dlc --help`` stays fast); tests/test_backbones.py keeps the two lists equal
BACKBONES = ("efficientnet_lite0", "resnet18", "vgg19", "squeezenet1_1")


@dataclass(frozen=True)
class TrainConfig:
    """How one mode trains.

    Attributes:
        epochs: passes over the training images.
        batch_size: images (or cached feature vectors) per SGD step.
        lr, momentum, weight_decay: SGD settings (for the new head; see ``backbone_lr_scale``).
        schedule: "step" (multiply lr by ``lr_gamma`` every ``lr_step`` epochs) or "cosine"
            (per-epoch cosine decay from ``lr`` to 0 over ``epochs``).
        head_init: "random" (nn.Linear default) or "imagenet" (the ImageNet classifier rows of
            the classes the folder names map to; falls back to random when a class does not map).
        backbone_lr_scale: finetune only; backbone lr = ``lr * backbone_lr_scale``.
        frozen_bn: finetune only; keep BatchNorm statistics fixed (eval mode) while training, so
            small batches do not overwrite the ImageNet statistics.
        cached_views: freeze only; augmented views per training image in the feature cache
            (each epoch draws one per image). 0 recomputes the backbone on fresh augmentations
            every epoch, like the tutorial (slow; the benchmark's baseline).
        flip_tta: evaluate on the centre crop and its mirror image, averaging the logits.
        train_images_per_class: use at most this many training images per class (quick runs).
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
    train_images_per_class: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# The PyTorch transfer-learning tutorial, exactly: SGD(momentum 0.9, lr 1e-3), StepLR(7, 0.1),
# 25 epochs, batch 4, a randomly initialised new head, no test-time augmentation. Its frozen run
# recomputes the backbone on fresh crops every epoch; a cache of 25 views (one per epoch) gives the
# same distribution of inputs.
REFERENCE = TrainConfig(cached_views=25)

# Our recipe, chosen by measurement (benchmarks/transfer_bench.py, benchmarks/RESULTS.md).
IMPROVED = {
    "freeze": TrainConfig(
        epochs=25,
        batch_size=16,
        lr=1e-3,
        schedule="cosine",
        head_init="imagenet",
        cached_views=2,
        flip_tta=True,
    ),
    "finetune": TrainConfig(
        epochs=3,
        batch_size=16,
        lr=1e-3,
        schedule="cosine",
        head_init="imagenet",
        backbone_lr_scale=0.1,
        frozen_bn=True,
        flip_tta=True,
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
    if protocol not in PROTOCOLS or mode not in MODES:
        raise ValueError(f"unknown protocol/mode {protocol!r}/{mode!r}")
    base = REFERENCE if protocol == "reference" else IMPROVED[mode]
    if mode == "finetune":
        base = replace(base, cached_views=0)  # a backbone that trains cannot be cached
    return replace(base, **QUICK[mode]) if quick else base


@dataclass
class TransferConfig:
    """One ``dlc transfer`` run.

    Attributes:
        data_dir: ImageFolder-style folder (``train/<class>/``, ``val/<class>/``).
        out_dir: outputs go to ``out_dir/metrics.json`` and ``out_dir/<mode>/``.
        train: the ``TrainConfig`` of every mode to run, in order.
        backbone: a registered backbone name (``backbones.available_backbones``).
        weights: "imagenet", a torchvision weight name, or a local state_dict path.
        protocol: the recipe the train configs came from (recorded in metrics).
        cache_dir: feature cache folder (default ``out_dir/feature_cache``).
        resume: continue each mode from ``out_dir/<mode>/last.pt`` when it exists.
        device: ``cpu``, ``cuda`` or ``cuda:N`` (``runtime.resolve_device``).
        precision: autocast on a GPU (``runtime.autocast``); the CPU runs fp32.
    """

    data_dir: Path
    out_dir: Path
    train: dict[str, TrainConfig] = field(default_factory=dict)
    backbone: str = BACKBONES[0]
    weights: str = "imagenet"
    protocol: str = "improved"
    seed: int = 0
    cache_dir: Path | None = None
    resume: bool = False
    device: str = "cpu"
    precision: str = "auto"

    @property
    def feature_cache_dir(self) -> Path:
        return self.cache_dir or self.out_dir / "feature_cache"
