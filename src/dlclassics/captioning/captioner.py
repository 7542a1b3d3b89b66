"""A trained captioner that captions any images: what ``captioning.load`` returns.

The model reads what it was trained on: the backbone's features of the image (pooled, or the
feature map for the attention cell) at the training image size, projected by the PCA (or the
map reducer) fitted on the training images. ``Captioner`` computes exactly that for new images,
given as files or PIL images, then decodes greedily (``beam=1``) or with beam search.
"""

from __future__ import annotations

import numbers
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from dlclassics.captioning.architecture import CaptioningModel
from dlclassics.captioning.config import DEFAULT_BEAM
from dlclassics.captioning.features import FeatureConfig, ImageInput, compute_features
from dlclassics.captioning.spatial import MAP_DTYPE, Projection
from dlclassics.captioning.vocab import END, decode_captions
from dlclassics.errors import DlcError


@dataclass
class AttentionCaption:
    """One image's caption with each word's attention over the feature map.

    ``alphas`` is (len(words), L): word k's weights over the L cells of the g x g map.
    """

    words: list[str]
    alphas: np.ndarray

    @property
    def text(self) -> str:
        """The caption as one string."""
        return " ".join(self.words)


def as_image_list(images: ImageInput | Sequence[ImageInput]) -> list[ImageInput]:
    """One image (a path or a PIL image) or several, as a list.

    >>> as_image_list("a.jpg")
    ['a.jpg']
    """
    if isinstance(images, str | os.PathLike | Image.Image):
        return [images]
    return list(images)


class Captioner:
    """A captioning model with the feature pipeline of its training run.

    Made by ``captioning.load(checkpoint)``::

        captioner = captioning.load("runs/c/checkpoint.pt")
        captioner.caption(["a.jpg", pil_image], beam=3)  # → ["a red circle ...", ...]

    Attributes:
        model: the NumPy model (``CaptioningRNN`` or ``AttentionCaptioningRNN``).
        cell: ``rnn``, ``lstm`` or ``attention``.
        checkpoint: the file it was loaded from.
    """

    def __init__(
        self,
        model: CaptioningModel,
        projection: Projection,
        features: FeatureConfig,
        *,
        max_length: int,
        checkpoint: Path,
    ) -> None:
        self.model = model
        self.projection = projection
        self.feature_config = features
        self.max_length = max_length
        self.checkpoint = checkpoint

    @property
    def cell(self) -> str:
        """The recurrent cell: ``rnn``, ``lstm`` or ``attention``."""
        return self.model.cell_type

    def features(self, images: ImageInput | Sequence[ImageInput]) -> np.ndarray:
        """The model's input for images (files or PIL images): (N, D) projected pooled features,
        or (N, L, D) reduced feature maps for the attention cell."""
        images = as_image_list(images)
        spatial = self.cell == "attention"
        pooled, maps = compute_features(images, self.feature_config, "image features", spatial)
        if spatial:  # training read the maps back from a float16 cache: the same rounding here
            return self.projection.apply(maps.astype(MAP_DTYPE).astype(np.float32))
        return self.projection.apply(pooled)

    def caption(
        self, images: ImageInput | Sequence[ImageInput], beam: int = DEFAULT_BEAM
    ) -> list[str]:
        """One caption per image (files or PIL images, mixed): greedy with ``beam=1``, else beam
        search keeping ``beam`` partial captions.

        >>> captioner.caption(["a.jpg", Image.open("b.png")], beam=1)  # doctest: +SKIP
        ['a red circle on a plain background', 'two blue squares']
        """
        _check_beam(beam)
        features = self.features(images)
        return decode_captions(
            self.model.sample(features, self.max_length, beam), self.model.idx_to_word
        )

    def caption_with_attention(
        self, images: ImageInput | Sequence[ImageInput], beam: int = DEFAULT_BEAM
    ) -> list[AttentionCaption]:
        """Captions of an attention model with every word's attention map (a DlcError for
        another cell).

        >>> captioner.caption_with_attention("a.jpg")[0].alphas.shape  # doctest: +SKIP
        (6, 49)
        """
        if self.cell != "attention":
            raise DlcError(
                f"{self.checkpoint}: trained with --cell {self.cell}, which has no attention "
                "maps; they need a model trained with --cell attention"
            )
        _check_beam(beam)
        features = self.features(images)
        captions, alphas = self.model.sample(features, self.max_length, beam, return_attention=True)
        result = []
        for row, weights in zip(captions, alphas, strict=True):
            words = [self.model.idx_to_word[int(i)] for i in row]
            words = words[: words.index(END)] if END in words else words
            result.append(AttentionCaption(words, weights[: len(words)]))
        return result


def _check_beam(beam: int) -> None:
    if isinstance(beam, bool) or not isinstance(beam, numbers.Integral) or beam < 1:
        raise DlcError(f"beam {beam!r}: expected a whole number, 1 or more (1: greedy)")
