"""The settings of a transfer run: one ``Config``, whose fields carry the names of the
``dlc transfer train`` options (``--batch-size`` → ``batch_size``, ``--views`` → ``views``).

The training settings (``epochs``, ``lr``, ``views`` …) default to None: "the protocol's value
for the mode" (``recipe``). ``Config.for_mode`` fills them in, so every mode trains from a
complete ``Config`` of its own. Plain data, so it goes into ``metrics.json`` and checkpoints as-is;
no torch, so ``dlc --help`` stays fast.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from dlclassics.errors import DlcError

MODES = ("finetune", "freeze")
MODE_CHOICES = (*MODES, "both")
PROTOCOLS = ("improved", "reference")
HEAD_INITS = ("random", "imagenet")
SCHEDULES = ("step", "cosine")
PRECISIONS = ("auto", "fp32", "bf16", "fp16")
# backbones.available_backbones(), the default first, named here without importing torch (so
# that ``dlc --help`` stays fast); tests/test_backbones.py keeps the two lists equal
BACKBONES = ("efficientnet_lite0", "resnet18", "vgg19", "squeezenet1_1")

# The PyTorch transfer-learning tutorial, exactly: SGD(momentum 0.9, lr 1e-3), StepLR(7, 0.1),
# 25 epochs, batch 4, a randomly initialised new head, no test-time augmentation. Its frozen run
# recomputes the backbone on fresh crops every epoch; a cache of 25 views (one per epoch) gives
# the same distribution of inputs.
REFERENCE: dict[str, Any] = {
    "epochs": 25,
    "batch_size": 4,
    "lr": 1e-3,
    "momentum": 0.9,
    "weight_decay": 0.0,
    "schedule": "step",
    "lr_step": 7,
    "lr_gamma": 0.1,
    "head_init": "random",
    "backbone_lr_scale": 1.0,
    "frozen_bn": False,
    "views": 25,
    "tta": False,
    "train_per_class": None,
}

# Our recipe, chosen by measurement (benchmarks/transfer_bench.py, benchmarks/HISTORY.md).
_IMPROVED_COMMON = {"batch_size": 16, "lr": 1e-3, "schedule": "cosine", "head_init": "imagenet"}
IMPROVED: dict[str, dict[str, Any]] = {
    "freeze": REFERENCE | _IMPROVED_COMMON | {"epochs": 25, "views": 2, "tta": True},
    "finetune": REFERENCE
    | _IMPROVED_COMMON
    | {"epochs": 3, "backbone_lr_scale": 0.1, "frozen_bn": True, "tta": True},
}

# A few minutes on 2 CPU cores for tests and ``dlc reproduce --quick``: one cached view, one
# fine-tuning epoch on a subset of the training images.
QUICK: dict[str, dict[str, Any]] = {
    "freeze": {"epochs": 5, "views": 1, "tta": False},
    "finetune": {"epochs": 1, "train_per_class": 16, "tta": False},
}

# The smallest value of each numeric field (None: any value above 0)
SMALLEST: dict[str, int | None] = {
    "epochs": 1,
    "batch_size": 1,
    "lr_step": 1,
    "threads": 1,
    "train_per_class": 1,
    "seed": 0,
    "views": 0,
    "momentum": 0,
    "weight_decay": 0,
    "lr": None,
    "lr_gamma": None,
    "backbone_lr_scale": None,
}

# Hold out at most this share of each class for validation (the rest must train)
MAX_VAL_FRACTION = 0.9

# The fields that say how one mode trains (None in a Config: the recipe's value)
TRAINING_FIELDS = tuple(REFERENCE)


def recipe(protocol: str, mode: str, quick: bool = False) -> dict[str, Any]:
    """The training settings of ``protocol`` ("improved"/"reference") for ``mode``, as a dict
    of ``Config`` field values (a backbone that trains cannot be cached: finetune has 0 views).

    Example:
        >>> recipe("reference", "freeze")["batch_size"]
        4
    """
    settings = dict(REFERENCE if protocol == "reference" else IMPROVED[mode])
    if mode == "finetune":
        settings["views"] = 0
    return settings | QUICK[mode] if quick else settings


@dataclass(frozen=True)
class Config:
    """One transfer-learning run (``dlc transfer train``), field for option.

    Attributes:
        data: an image folder: ``train/<class>/…`` and ``val/<class>/…``, or just ``<class>/…``
            (then ``val_fraction`` of each class is held out for validation); None: the
            hymenoptera (ants/bees) data set under ``data_root``.
        out: the run folder: ``metrics.json``, and ``<mode>/`` (``best.pt``, ``last.pt``,
            ``metrics.json``, ``curves.png``, ``predictions.png``, ``confusion.png``) per mode.
        mode: "freeze" (train a new head on the frozen backbone), "finetune" (train everything)
            or "both".
        protocol: where the training settings left at None come from: "improved" (our measured
            recipe) or "reference" (the PyTorch tutorial's); ``quick``: its few-minute profile.
        backbone, weights: the ImageNet network and its weights ("imagenet", a torchvision weight
            name, or a local state_dict file).
        cache_dir: the frozen-backbone feature cache (None: ``out/feature_cache``).
        resume: continue each mode from ``out/<mode>/last.pt`` when it exists.
        device, precision, threads: where and how to compute (None: the GPU when one is visible;
            autocast on a GPU; PyTorch's thread count).
        epochs … train_per_class: how each mode trains (None: the protocol's value); ``views``
            cached augmented views per training image in freeze mode (0: recompute the backbone
            every epoch), ``tta`` flip test-time augmentation, ``train_per_class`` at most this
            many training images per class.

    Example:
        >>> Config(data="my_images", mode="freeze", epochs=3, out="runs/t").for_mode("freeze").lr
        0.001
    """

    data: str | Path | None = None
    out: str | Path = "runs/transfer"
    mode: str = "both"
    protocol: str = "improved"
    quick: bool = False
    backbone: str = BACKBONES[0]
    weights: str = "imagenet"
    seed: int = 0
    val_fraction: float = 0.2
    data_root: str | Path | None = None
    cache_dir: str | Path | None = None
    resume: bool = False
    device: str | None = None
    precision: str = "auto"
    threads: int | None = None
    epochs: int | None = None
    batch_size: int | None = None
    lr: float | None = None
    momentum: float | None = None
    weight_decay: float | None = None
    schedule: str | None = None
    lr_step: int | None = None
    lr_gamma: float | None = None
    head_init: str | None = None
    backbone_lr_scale: float | None = None
    frozen_bn: bool | None = None
    views: int | None = None
    tta: bool | None = None
    train_per_class: int | None = None

    def __post_init__(self) -> None:
        _check_choices(self)
        _check_numbers(self)

    @property
    def modes(self) -> tuple[str, ...]:
        """The modes this run trains, in order ("both": finetune, then freeze).

        Example:
            >>> Config(mode="both").modes
            ('finetune', 'freeze')
        """
        return MODES if self.mode == "both" else (self.mode,)

    def for_mode(self, mode: str) -> Config:
        """This config for one ``mode``, every training setting left at None filled in from the
        protocol's recipe (finetune always has 0 views: a backbone that trains is not cached).

        Example:
            >>> Config(epochs=2).for_mode("finetune").views
            0
        """
        given = {name: getattr(self, name) for name in TRAINING_FIELDS}
        settings = recipe(self.protocol, mode, self.quick) | {
            name: value for name, value in given.items() if value is not None
        }
        if mode == "finetune":
            settings["views"] = 0
        return replace(self, mode=mode, **settings)

    def training_settings(self) -> dict[str, Any]:
        """The training fields as a dict (what ``metrics.json`` and checkpoints record).

        Example:
            >>> Config().for_mode("freeze").training_settings()["views"]
            2
        """
        return {name: getattr(self, name) for name in TRAINING_FIELDS}


def _check_choices(config: Config) -> None:
    """A DlcError naming the field when a named setting is not one of its choices."""
    choices = {
        "mode": MODE_CHOICES,
        "protocol": PROTOCOLS,
        "backbone": BACKBONES,
        "precision": PRECISIONS,
        "schedule": SCHEDULES,
        "head_init": HEAD_INITS,
    }
    for name, allowed in choices.items():
        value = getattr(config, name)
        if value is not None and value not in allowed:
            raise DlcError(f"transfer.Config: {name}={value!r} is not one of {', '.join(allowed)}")


def _check_numbers(config: Config) -> None:
    """A DlcError naming the field when a number is out of its range (None is always fine)."""
    for name, lowest in SMALLEST.items():
        value = getattr(config, name)
        if value is None:
            continue
        too_small = value <= 0 if lowest is None else value < lowest
        if not math.isfinite(value) or too_small:
            raise DlcError(f"transfer.Config: {name}={value!r} is out of range")
    if not 0 < config.val_fraction <= MAX_VAL_FRACTION:
        raise DlcError(
            f"transfer.Config: val_fraction={config.val_fraction!r} is not in "
            f"(0, {MAX_VAL_FRACTION}]"
        )
