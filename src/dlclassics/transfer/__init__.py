"""Transfer learning: adapt an ImageNet backbone to an image folder, fine-tuned or frozen.

    from dlclassics import transfer

    config = transfer.Config(data="my_images", mode="freeze", epochs=3, out="runs/t")
    result = transfer.train(config)
    model = transfer.load(result.checkpoint)
    model.predict(["a.jpg", pil_image]); model.predict_proba(["a.jpg"]); model.classes

``Config`` (``config``) holds a run's settings; ``train``, ``load`` and the ``Classifier`` they
give (``run``, ``classifier``) import torch, so they load on first use: ``dlc --help`` imports
this package and stays fast. The parts: ``data`` (the image folder), ``features`` (the frozen
backbone's feature cache), ``model`` (backbone + head, scoring), ``commands`` (``dlc transfer``)
and ``reproduce`` (its part of ``dlc reproduce``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from dlclassics.transfer.config import Config

if TYPE_CHECKING:
    from dlclassics.transfer.classifier import Classifier
    from dlclassics.transfer.run import load, train

__all__ = ["Classifier", "Config", "load", "train"]


def __getattr__(name: str) -> Any:
    """``train``, ``load`` and ``Classifier``, imported from ``run`` on first use (PEP 562)."""
    if name not in ("Classifier", "load", "train"):
        raise AttributeError(f"module 'dlclassics.transfer' has no attribute {name!r}")
    from dlclassics.transfer import run

    exported = {"Classifier": run.Classifier, "load": run.load, "train": run.train}
    return exported[name]
