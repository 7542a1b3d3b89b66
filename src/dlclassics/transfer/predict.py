"""Classify images with a trained transfer checkpoint (``<out>/<mode>/best.pt``)."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import torch

from dlclassics.backbones import load_backbone
from dlclassics.data.images import load_rgb
from dlclassics.errors import DlcError
from dlclassics.io import torch_load_checkpoint
from dlclassics.transfer import transforms
from dlclassics.transfer.model import TransferModel, ViewAverage


@dataclass
class Classifier:
    """A trained model and what it needs to classify a PIL image."""

    model: TransferModel
    classes: list[str]
    flip_tta: bool

    @torch.no_grad()
    def probabilities(self, images: list) -> torch.Tensor:
        """PIL RGB images → (N, C) class probabilities (flip TTA when the run used it)."""
        views = transforms.eval_views_transform(self.model.backbone.preprocessing, self.flip_tta)
        batch = torch.stack([views(image) for image in images])  # (N, V, 3, crop, crop)
        return ViewAverage(self.model.eval())(batch).softmax(dim=1)


def load_classifier(path: str | Path) -> Classifier:
    """Rebuild the model saved in ``best.pt`` (loaded with ``weights_only=True``)."""
    saved = torch_load_checkpoint(path)
    if not isinstance(saved, dict) or saved.get("format") != "dlclassics.transfer/1":
        raise DlcError(f"{path}: not a dlc transfer checkpoint")
    if "state_dict" not in saved:
        raise DlcError(f"{path}: a resume checkpoint (last.pt); predict with best.pt")
    backbone = load_backbone(saved["backbone"], weights=None)
    head = torch.nn.Linear(backbone.feature_dim, len(saved["classes"]))
    model = TransferModel(backbone, head, frozen_backbone=True)
    model.load_state_dict(saved["state_dict"])
    return Classifier(model.eval(), list(saved["classes"]), bool(saved["flip_tta"]))


def predict_files(
    classifier: Classifier, paths: list[Path], batch_size: int = 16
) -> list[tuple[Path, str, float]]:
    """``(path, predicted class, probability)`` per readable image; unreadable ones are reported
    on stderr and left out."""
    readable = []
    for path in paths:
        try:
            readable.append((path, load_rgb(path)))
        except DlcError as exc:
            print(f"dlc: warning: skipping {exc}", file=sys.stderr)
    results = []
    for start in range(0, len(readable), batch_size):
        chunk = readable[start : start + batch_size]
        probabilities = classifier.probabilities([image for _, image in chunk])  # (B, C)
        best_prob, best_class = probabilities.max(dim=1)
        for (path, _), p, c in zip(chunk, best_prob.tolist(), best_class.tolist(), strict=True):
            results.append((path, classifier.classes[c], p))
    return results
