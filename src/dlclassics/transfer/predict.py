"""Classify images with a trained transfer checkpoint (``<out>/<mode>/best.pt``)."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

import torch
from PIL import Image

from dlclassics.backbones import available_backbones, load_backbone
from dlclassics.checkpoint import load_checkpoint, load_weights
from dlclassics.data.images import load_rgb
from dlclassics.errors import DlcError
from dlclassics.transfer.data import EvalViews
from dlclassics.transfer.model import TransferModel, ViewAverage
from dlclassics.transfer.run import CHECKPOINT_KIND

# Decode big photos at reduced size, keeping the shorter side at least this many pixels: four
# times the 256 px the evaluation transform resizes to, so ordinary photos are not touched and
# a 12 000 x 12 000 scan does not need gigabytes.
PREDICT_MIN_SIDE = 1024


@dataclass
class Classifier:
    """A trained model, on its device, and what it needs to classify a PIL image."""

    model: TransferModel
    classes: list[str]
    flip_tta: bool
    device: str

    @torch.no_grad()
    def probabilities(self, images: list[Image.Image]) -> torch.Tensor:
        """PIL RGB images → (N, C) class probabilities on the CPU (flip TTA when the run used it)."""
        views = EvalViews(self.model.backbone.preprocessing, self.flip_tta)
        batch = torch.stack([views(image) for image in images]).to(self.device)  # (N, V, 3, H, W)
        return ViewAverage(self.model.eval())(batch).softmax(dim=1).cpu()


def load_classifier(path: str | os.PathLike[str], device: str = "cpu") -> Classifier:
    """Rebuild the model saved in ``best.pt`` on ``device``; any other file is a DlcError."""
    saved = load_checkpoint(path, CHECKPOINT_KIND)
    if "loop" in saved:
        raise DlcError(f"{path}: a resume checkpoint (last.pt); predict with best.pt")
    config = saved["config"]
    backbone_name = config.get("backbone") if isinstance(config, dict) else None
    if backbone_name not in available_backbones():
        raise DlcError(f"{path}: damaged transfer checkpoint: unknown backbone {backbone_name!r}")
    backbone = load_backbone(backbone_name, weights=None)
    head = torch.nn.Linear(backbone.feature_dim, len(saved["labels"]))
    model = TransferModel(backbone, head, frozen_backbone=True)
    load_weights(model, saved["model"], path)
    flip_tta = bool(config.get("flip_tta", False))
    return Classifier(model.to(device).eval(), list(saved["labels"]), flip_tta, device)


def predict_files(
    classifier: Classifier, paths: list[Path], batch_size: int = 16
) -> list[tuple[Path, str, float]]:
    """``(path, predicted class, probability)`` per readable image; unreadable ones are reported
    on stderr and left out."""
    results = []
    for start in range(0, len(paths), batch_size):
        chunk = []
        for path in paths[start : start + batch_size]:  # one batch of images in memory at a time
            try:
                chunk.append((path, load_rgb(path, min_side=PREDICT_MIN_SIDE)))
            except DlcError as exc:
                print(f"dlc: warning: skipping {exc}", file=sys.stderr)
        if not chunk:
            continue
        probabilities = classifier.probabilities([image for _, image in chunk])  # (B, C)
        best_prob, best_class = probabilities.max(dim=1)
        for (path, _), p, c in zip(chunk, best_prob.tolist(), best_class.tolist(), strict=True):
            results.append((path, classifier.classes[c], p))
    return results
