"""The in-memory captioning data set every loader returns (COCO, image folder, shapes).

Like the reference's ``load_coco_data``, captions and images are stored separately: a split has
one feature row per image and one caption row per caption, with ``image_idxs`` pointing each
caption at its image (an image usually has several captions).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from dlclassics.captioning.vocab import NULL


@dataclass
class CaptionSplit:
    """One split (train / val / test).

    Attributes:
        captions: (C, T) int32 encoded captions (``<START>`` … ``<END>``, ``<NULL>`` padding).
        image_idxs: (C,) int64, the feature row of each caption's image.
        features: (I, D) float32 image features.
        images: I image paths or URLs, for figures.
        references: I lists of reference captions (plain word strings) for BLEU/CIDEr.
        unseen: (I,) bool, images showing an attribute combination absent from training
            (shapes data set only; all False elsewhere).
    """

    captions: np.ndarray
    image_idxs: np.ndarray
    features: np.ndarray
    images: list[str]
    references: list[list[str]]
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
        return CaptionSplit(
            captions=self.captions[rows],
            image_idxs=new_idxs.astype(np.int64),
            features=self.features[used],
            images=[self.images[i] for i in used],
            references=[self.references[i] for i in used],
            unseen=self.unseen[used],
        )

    def subset_images(self, keep: np.ndarray) -> CaptionSplit:
        """Only the images where the (I,) bool ``keep`` is True, with their captions."""
        new_index = np.cumsum(keep) - 1
        caption_rows = keep[self.image_idxs]
        return CaptionSplit(
            captions=self.captions[caption_rows],
            image_idxs=new_index[self.image_idxs[caption_rows]].astype(np.int64),
            features=self.features[keep],
            images=[p for p, k in zip(self.images, keep, strict=True) if k],
            references=[r for r, k in zip(self.references, keep, strict=True) if k],
            unseen=self.unseen[keep],
        )


@dataclass
class CaptionData:
    """A whole captioning data set: vocabulary plus named splits.

    Attributes:
        word_to_idx: vocabulary (``<NULL>``=0, ``<START>``=1, ``<END>``=2, ``<UNK>``=3, words).
        splits: "train", "val" and optionally "test".
        description: where it came from, for metrics.json.
    """

    word_to_idx: dict[str, int]
    splits: dict[str, CaptionSplit]
    description: str

    @property
    def idx_to_word(self) -> list[str]:
        words = [""] * len(self.word_to_idx)
        for word, index in self.word_to_idx.items():
            words[index] = word
        return words

    @property
    def feature_dim(self) -> int:
        return self.splits["train"].features.shape[1]

    @property
    def null_index(self) -> int:
        return self.word_to_idx[NULL]
