"""The in-memory captioning data set every loader returns (COCO, image folder, shapes).

Like the reference's ``load_coco_data``, captions and images are stored separately: a split has
one feature row per image and one caption row per caption, with ``image_idxs`` pointing each
caption at its image (an image usually has several captions).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from dlclassics.captioning.spatial import Projection


@dataclass
class CaptionSplit:
    """One split (train / val / test) of C captions of I images."""

    captions: np.ndarray  # (C, T) int32: <START> … <END>, <NULL> padding
    image_idxs: np.ndarray  # (C,) int64: the feature row of each caption's image
    features: np.ndarray  # (I, D) float32, or (I, L, D) feature maps for the attention cell
    images: list[str]  # I image paths or URLs, for figures
    references: list[list[str]]  # I lists of reference captions (plain words) for BLEU/CIDEr
    # (I,) bool: images showing an attribute combination absent from training (shapes only)
    unseen: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))

    def __post_init__(self) -> None:
        if self.unseen.size == 0:
            self.unseen = np.zeros(len(self.images), dtype=bool)

    @property
    def num_images(self) -> int:
        return self.features.shape[0]

    def subset_captions(self, rows: np.ndarray) -> CaptionSplit:
        """Only the captions at ``rows`` and the images they use (the ``--overfit N`` data)."""
        used, new_idxs = np.unique(self.image_idxs[rows], return_inverse=True)
        return self._subset(rows, new_idxs, used)

    def subset_images(self, keep: np.ndarray) -> CaptionSplit:
        """Only the images where the (I,) bool ``keep`` is True, with their captions."""
        new_index = np.cumsum(keep) - 1
        rows = keep[self.image_idxs]
        return self._subset(rows, new_index[self.image_idxs[rows]], np.flatnonzero(keep))

    def _subset(self, rows: np.ndarray, image_idxs: np.ndarray, used: np.ndarray) -> CaptionSplit:
        """The captions at ``rows``, pointing at ``image_idxs`` among the images ``used``."""
        return CaptionSplit(
            captions=self.captions[rows],
            image_idxs=image_idxs.astype(np.int64),
            features=self.features[used],
            images=[self.images[i] for i in used],
            references=[self.references[i] for i in used],
            unseen=self.unseen[used],
        )


@dataclass
class CaptionData:
    """A whole captioning data set: vocabulary plus named splits."""

    word_to_idx: dict[str, int]  # <NULL>=0, <START>=1, <END>=2, <UNK>=3, then the words
    splits: dict[str, CaptionSplit]  # "train", "val" and optionally "test"
    description: str  # where it came from, for metrics.json
    # what turned the backbone's features of an image into the model's input (a PCA, or a
    # MapReducer for feature maps); None where the features came ready-made (CS231n's COCO)
    projection: Projection | None = None

    @property
    def idx_to_word(self) -> list[str]:
        return sorted(self.word_to_idx, key=self.word_to_idx.__getitem__)

    @property
    def feature_dim(self) -> int:
        """D: the size of a pooled feature vector, or of one location's of a feature map."""
        return self.splits["train"].features.shape[-1]
