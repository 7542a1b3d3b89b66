"""A trained transfer model as a predictor: ``Classifier`` (what ``transfer.load`` returns) takes
image paths or PIL images, mixed, and gives class names or probabilities; ``predict_files`` is
``dlc transfer predict``'s loop over files, which skips unreadable ones with a warning."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from dlclassics.backbones import available_backbones, load_backbone
from dlclassics.checkpoint import load_checkpoint, load_weights
from dlclassics.data.images import load_rgb, to_rgb
from dlclassics.errors import DlcError
from dlclassics.predictions import Prediction
from dlclassics.runtime import autocast
from dlclassics.transfer.data import EvalViews
from dlclassics.transfer.model import CHECKPOINT_KIND, TransferModel, ViewAverage

# Decode big photos at reduced size, keeping the shorter side at least this many pixels: four
# times the 256 px the evaluation transform resizes to, so a 12 000 x 12 000 scan does not
# need gigabytes.
PREDICT_MIN_SIDE = 1024
BATCH_SIZE = 16  # images in memory at a time
ImageInput = str | os.PathLike[str] | Image.Image


def as_rgb(image: ImageInput) -> Image.Image:
    """An image path (decoded, big photos at reduced size) or a PIL image, as an RGB PIL image;
    an unreadable file is a DlcError naming it.

    Example:
        >>> as_rgb(Image.new("L", (8, 8))).mode
        'RGB'
    """
    if isinstance(image, Image.Image):
        return to_rgb(image)
    return load_rgb(image, min_side=PREDICT_MIN_SIDE)


@dataclass
class Classifier:
    """A trained transfer model (``best.pt``) on its device, ready to classify images.

    Attributes:
        model: the backbone and its trained head, in eval mode.
        classes: the class names, in the order of ``predict_proba``'s columns.
        flip_tta: average the centre crop's logits with its mirror image's (as the run did).
        device: where the model runs; precision: autocast on a GPU (``runtime.autocast``).

    Example:
        >>> model = transfer.load("runs/t/freeze/best.pt")
        >>> model.predict(["a.jpg", PIL.Image.open("b.jpg")])
        ['ants', 'bees']
    """

    model: TransferModel
    classes: list[str]
    flip_tta: bool
    device: str = "cpu"
    precision: str = "auto"

    @classmethod
    def from_checkpoint(
        cls, path: str | os.PathLike[str], device: str = "cpu", precision: str = "auto"
    ) -> Classifier:
        """Rebuild the model saved in ``best.pt`` on ``device``; any other file is a DlcError.

        Example:
            >>> Classifier.from_checkpoint("runs/t/freeze/best.pt").classes
            ['ants', 'bees']
        """
        saved = load_checkpoint(path, CHECKPOINT_KIND)
        if "loop" in saved:
            raise DlcError(f"{path}: a resume checkpoint (last.pt); predict with best.pt")
        config = saved["config"]
        backbone_name = config.get("backbone")
        if backbone_name not in available_backbones():
            raise DlcError(
                f"{path}: damaged transfer checkpoint: unknown backbone {backbone_name!r}"
            )
        backbone = load_backbone(backbone_name, weights=None)
        head = torch.nn.Linear(backbone.feature_dim, len(saved["labels"]))
        model = TransferModel(backbone, head, frozen_backbone=True)
        load_weights(model, saved["model"], path)
        flip_tta = bool(config.get("flip_tta", False))
        return cls(
            model.to(device).eval(),
            list(saved["labels"]),
            flip_tta=flip_tta,
            device=device,
            precision=precision,
        )

    @torch.no_grad()
    def probabilities(self, images: Sequence[Image.Image]) -> torch.Tensor:
        """RGB PIL images → (N, C) class probabilities on the CPU, in one batch.

        Example:
            >>> classifier.probabilities([PIL.Image.open("a.jpg").convert("RGB")]).shape
            torch.Size([1, 2])
        """
        views = EvalViews(self.model.backbone.preprocessing, self.flip_tta)
        batch = torch.stack([views(image) for image in images]).to(self.device)  # (N, V, 3, H, W)
        with autocast(self.device, self.precision):
            logits = ViewAverage(self.model.eval())(batch)  # (N, C)
        return logits.float().softmax(dim=1).cpu()

    def predict_proba(self, images: Sequence[ImageInput]) -> np.ndarray:
        """Class probabilities of each image (paths or PIL images, mixed): an array (N, C) whose
        rows sum to 1, column j for ``classes[j]``. An unreadable file is a DlcError.

        Example:
            >>> model.predict_proba(["a.jpg"]).round(2)
            array([[0.93, 0.07]], dtype=float32)
        """
        rows = [np.zeros((0, len(self.classes)), dtype=np.float32)]
        for start in range(0, len(images), BATCH_SIZE):
            batch = [as_rgb(image) for image in images[start : start + BATCH_SIZE]]
            rows.append(self.probabilities(batch).numpy())
        return np.concatenate(rows)

    def predict(self, images: Sequence[ImageInput]) -> list[str]:
        """The most probable class name of each image (paths or PIL images, mixed).

        Example:
            >>> model.predict(["a.jpg", PIL.Image.open("b.jpg")])
            ['ants', 'bees']
        """
        return [self.classes[j] for j in self.predict_proba(images).argmax(axis=1)]


def prediction_row(
    classifier: Classifier, path: Path, probabilities: np.ndarray, *, topk: int | None
) -> Prediction:
    """One output row: the most probable class, every class's probability and, with ``topk``,
    the ``topk`` most probable classes (``extra["topk"]``: ``[{"label", "probability"}, …]``).

    Example:
        >>> prediction_row(model, Path("a.jpg"), np.array([0.9, 0.1]), topk=1).extra
        {'topk': [{'label': 'ants', 'probability': 0.9}]}
    """
    order = np.argsort(-probabilities, kind="stable")
    names = classifier.classes
    row = Prediction(
        str(path),
        label=names[order[0]],
        probabilities={name: float(p) for name, p in zip(names, probabilities, strict=True)},
    )
    if topk is not None:
        ranked = [{"label": names[j], "probability": float(probabilities[j])} for j in order]
        row.extra["topk"] = ranked[:topk]
    return row


def predict_files(
    classifier: Classifier, files: Sequence[tuple[Path, str | None]], topk: int | None = None
) -> list[Prediction]:
    """A ``Prediction`` per readable image of ``files`` (``(path, true class or None)`` pairs);
    unreadable images are reported on stderr and left out.

    Example:
        >>> [row.label for row in predict_files(model, [(Path("a.jpg"), None)])]
        ['ants']
    """
    rows = []
    for start in range(0, len(files), BATCH_SIZE):
        chunk = []
        for path, true in files[start : start + BATCH_SIZE]:  # one batch in memory at a time
            try:
                chunk.append((path, true, as_rgb(path)))
            except DlcError as exc:
                print(f"dlc: warning: skipping {exc}", file=sys.stderr)
        if not chunk:
            continue
        probabilities = classifier.probabilities([image for _, _, image in chunk]).numpy()
        for (path, true, _), p in zip(chunk, probabilities, strict=True):
            row = prediction_row(classifier, path, p, topk=topk)
            row.true = true
            rows.append(row)
    return rows
