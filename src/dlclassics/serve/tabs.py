"""What each tab of the page does, on top of the Python API and nothing else: the sentiment
predictor of ``sentiment.load`` and its word attributions, the ``transfer.load`` classifier and
its Grad-CAM maps, ``captioning.load``'s captions (and attention maps), ``style.train``'s picture
and loss curve. Each function takes decoded inputs and returns the JSON-ready answer the page
draws; bad settings are ``UploadError``s the page shows.
"""

from __future__ import annotations

import math
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from PIL import Image

from dlclassics.explain.attributions import Predictor, word_attributions
from dlclassics.explain.gradcam import grad_cam, heat_overlay
from dlclassics.serve.uploads import Upload, UploadError, data_url
from dlclassics.transfer.classifier import Classifier, prediction_row

if TYPE_CHECKING:
    from dlclassics.captioning.captioner import Captioner

MAX_SENTENCES = 50
MAX_TOPK = 10
STYLE_SIZES = (64, 512)  # the shorter side of the painting, fewest and most pixels
STYLE_ITERATIONS = (1, 1000)
MAX_PAINTINGS = 4
ATTENTION_VIEW = 224  # the caption image is shown square, as the model reads it
POSITIVE_NAMES = {"0": "negative", "1": "positive"}


@dataclass
class Models:
    """The predictors the page serves; a missing one's tab says how to get it (``missing``).

    Example:
        >>> Models(sentiment.load()).ready()
        {'sentiment': True, 'classifier': False, 'caption': False, 'style': True}
    """

    sentiment: Predictor
    classifier: Classifier | None = None
    captioner: Captioner | None = None
    device: str | None = None  # style transfer's (None: the GPU when one is visible)
    missing: dict[str, str] = field(default_factory=dict)

    def ready(self) -> dict[str, bool]:
        """Which tabs have a model.

        Example:
            >>> Models(sentiment.load()).ready()["sentiment"]
            True
        """
        return {
            "sentiment": True,
            "classifier": self.classifier is not None,
            "caption": self.captioner is not None,
            "style": True,
        }


def whole_number(value: object, what: str, bounds: tuple[int, int]) -> int:
    """``value`` as an int within ``bounds`` (inclusive); else an UploadError naming ``what``.

    Example:
        >>> whole_number(3, "top-k", (1, 10))
        3
    """
    low, high = bounds
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise UploadError(f"{what} must be a whole number from {low} to {high}, not {value!r}")
    return value


def sentiment_rows(predictor: Predictor, text: object) -> list[dict[str, Any]]:
    """One row per non-blank line of ``text``: label, its name, its probability, and each word's
    weight towards positive (negative: the word speaks for negative).

    Example:
        >>> sentiment_rows(sentiment.load(), "Great food!")[0]["sentiment"]
        'positive'
    """
    if not isinstance(text, str):
        raise UploadError("the sentences must be text")
    lines = [line for line in text.splitlines() if line.strip()]
    if len(lines) > MAX_SENTENCES:
        raise UploadError(f"{len(lines)} sentences; at most {MAX_SENTENCES} at a time")
    rows = []
    for line, explained in zip(lines, word_attributions(predictor, lines), strict=True):
        if explained is None:  # the normaliser kept no word (only marks the model skips)
            continue
        towards_positive = 1.0 if explained.label == predictor.classes[1] else -1.0
        words = [[word, towards_positive * weight] for word, weight in explained.pairs()]
        rows.append(
            {
                "text": line,
                "label": explained.label,
                "sentiment": POSITIVE_NAMES.get(explained.label, explained.label),
                "probability": explained.probability,
                "words": words,
            }
        )
    return rows


def classify_images(
    classifier: Classifier, uploads: Sequence[Upload], topk: int
) -> list[dict[str, Any]]:
    """Each image's ``topk`` classes with probabilities and its Grad-CAM overlay (predicted class).

    Example:
        >>> classify_images(model, [Upload("a.jpg", image)], topk=2)[0]["topk"][0]["label"]
        'ants'
    """
    pictures = [upload.image for upload in uploads]
    probabilities = classifier.predict_proba(pictures)
    answers = []
    for upload, row, explained in zip(
        uploads, probabilities, grad_cam(classifier, pictures), strict=True
    ):
        ranked = prediction_row(classifier, Path(upload.name), row, topk=topk).extra["topk"]
        answers.append(
            {
                "name": upload.name,
                "label": explained.label,
                "topk": ranked,
                "overlay": data_url(explained.overlay()),
            }
        )
    return answers


def attention_overlays(image: Image.Image, alphas: np.ndarray) -> list[str]:
    """Each word's attention (L weights over a g x g grid) over the square image, as data URLs;
    each map scaled to its own maximum, so the most attended cell is red.

    Example:
        >>> len(attention_overlays(Image.new("RGB", (64, 64)), np.full((3, 49), 1 / 49)))
        3
    """
    view = image.resize((ATTENTION_VIEW, ATTENTION_VIEW), Image.Resampling.BILINEAR)
    side = math.isqrt(alphas.shape[1])
    maps = alphas.reshape(len(alphas), side, side)
    scaled = maps / np.maximum(maps.max(axis=(1, 2), keepdims=True), 1e-12)
    return [data_url(heat_overlay(view, grid), "JPEG") for grid in scaled]


def caption_image(captioner: Captioner, upload: Upload, beam: int) -> dict[str, Any]:
    """The caption of one image (greedy when ``beam`` is 1) and, for an attention model, each
    word's attention map.

    Example:
        >>> caption_image(captioning.load("runs/c/checkpoint.pt"), upload, beam=1)["caption"]
        'a red circle'
    """
    if captioner.cell != "attention":
        [text] = captioner.caption([upload.image], beam=beam)
        return {"caption": text, "attention": []}
    [captioned] = captioner.caption_with_attention([upload.image], beam=beam)
    maps = attention_overlays(upload.image, captioned.alphas)
    words = [{"word": word, "map": url} for word, url in zip(captioned.words, maps, strict=True)]
    return {"caption": captioned.text, "attention": words}


@dataclass(frozen=True)
class StyleRequest:
    """A painting to make: the photo, the paintings with their blend weights, and the settings.

    Example:
        >>> StyleRequest(photo, [starry], weights=None, size=128, iters=50, original_colors=False)
    """

    photo: Upload
    paintings: list[Upload]
    weights: list[float] | None
    size: int
    iters: int
    original_colors: bool


def blend_weights(value: object, paintings: int) -> list[float] | None:
    """The paintings' blend weights (None: equal): one positive number per painting.

    Example:
        >>> blend_weights([1, 3], 2)
        [1.0, 3.0]
    """
    if value is None or value == []:
        return None
    if (
        not isinstance(value, list)
        or len(value) != paintings
        or not all(isinstance(w, int | float) and not isinstance(w, bool) for w in value)
        or not all(math.isfinite(w) and w > 0 for w in value)
    ):
        raise UploadError(f"blend weights: give {paintings} positive numbers, one per painting")
    return [float(w) for w in value]


def paint(request: StyleRequest, device: str | None) -> dict[str, Any]:
    """Paint the photo in the paintings' style with ``style.train`` (into a temporary folder):
    the picture, its loss curve and the seconds it took, as the page shows them.

    Example:
        >>> paint(request, device="cpu")["seconds"] > 0
        True
    """
    from dlclassics import style

    if not 1 <= len(request.paintings) <= MAX_PAINTINGS:
        raise UploadError(f"give 1 to {MAX_PAINTINGS} paintings, not {len(request.paintings)}")
    with tempfile.TemporaryDirectory(prefix="dlc-serve-style-") as folder:
        config = style.Config(
            content=request.photo.image,
            styles=tuple(upload.image for upload in request.paintings),
            style_blend=request.weights,
            size=request.size,
            iters=request.iters,
            original_colors=request.original_colors,
            device=device,
            out=Path(folder) / "result.png",
        )
        result = style.train(config, progress=False)
        with (
            Image.open(result.files["image"]) as picture,
            Image.open(result.files["loss_figure"]) as curve,
        ):
            return {
                "image": data_url(picture),
                "loss": data_url(curve),
                "seconds": result.metrics.get("seconds"),
            }
