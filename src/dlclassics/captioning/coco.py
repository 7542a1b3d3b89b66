"""COCO captions in the reference's (CS231n) format: HDF5 captions and features, a JSON vocabulary.

Files in the data set folder (``<data root>/coco_captioning`` by default)::

    coco2014_captions.h5          train_captions (C, 17) int, train_image_idxs (C,) int,
                                  val_captions, val_image_idxs
    train2014_vgg16_fc7_pca.h5    features (I_train, 512) float — VGG-16 fc7 reduced by PCA
    val2014_vgg16_fc7_pca.h5      features (I_val, 512)
    coco2014_vocab.json           {"idx_to_word": [...], "word_to_idx": {...}}
    train2014_urls.txt            one image URL a line, row i = feature row i
    val2014_urls.txt

``pca_features=False`` reads ``*_vgg16_fc7.h5`` (4096-d) instead, as the reference allowed.
Reading HDF5 needs h5py, the ``caption`` extra: ``pip install 'dlclassics[caption]'``.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from dlclassics.captioning.dataset import CaptionData, CaptionSplit
from dlclassics.captioning.vocab import SPECIAL_WORDS, decode_captions
from dlclassics.errors import DlcError
from dlclassics.extras import require


def _require(path: Path) -> Path:
    if not path.is_file():
        raise DlcError(f"{path}: not found (COCO captioning data in the CS231n format expected)")
    return path


def _read_h5(path: Path, keys: tuple[str, ...]) -> dict[str, np.ndarray]:
    h5py = require("h5py", "caption", feature="COCO captioning (HDF5 files)")
    try:
        with h5py.File(_require(path), "r") as f:
            missing = [k for k in keys if k not in f]
            if missing:
                raise DlcError(
                    f"{path}: missing dataset {missing[0]!r} (has {', '.join(f.keys())})"
                )
            return {k: np.asarray(f[k]) for k in keys}
    except OSError as exc:
        raise DlcError(f"{path}: not a readable HDF5 file ({exc})") from exc


def _read_vocab(path: Path) -> dict[str, int]:
    try:
        vocab = json.loads(_require(path).read_text(encoding="utf-8"))
        idx_to_word, word_to_idx = vocab["idx_to_word"], vocab["word_to_idx"]
    except (ValueError, KeyError, TypeError) as exc:
        raise DlcError(
            f"{path}: expected JSON with 'idx_to_word' and 'word_to_idx' ({exc})"
        ) from exc
    agree = all(word_to_idx.get(w) == i for i, w in enumerate(idx_to_word))
    if not agree or len(word_to_idx) != len(idx_to_word):
        raise DlcError(f"{path}: 'idx_to_word' and 'word_to_idx' disagree")
    if tuple(idx_to_word[:4]) != SPECIAL_WORDS:
        raise DlcError(f"{path}: the first four words must be {', '.join(SPECIAL_WORDS)}")
    return {w: int(i) for w, i in word_to_idx.items()}


def _split(
    name: str, folder: Path, captions_h5: dict[str, np.ndarray], suffix: str, idx_to_word: list[str]
) -> CaptionSplit:
    captions = captions_h5[f"{name}_captions"].astype(np.int32)
    image_idxs = captions_h5[f"{name}_image_idxs"].astype(np.int64)
    feature_file = folder / f"{name}2014_vgg16_fc7{suffix}.h5"
    features = _read_h5(feature_file, ("features",))["features"].astype(np.float32)
    lines = _require(folder / f"{name}2014_urls.txt").read_text(encoding="utf-8").splitlines()
    urls = [line.strip() for line in lines if line.strip()]
    h5_path = folder / "coco2014_captions.h5"
    if captions.ndim != 2 or image_idxs.shape != (captions.shape[0],):
        raise DlcError(
            f"{h5_path}: {name}_captions {captions.shape} and {name}_image_idxs "
            f"{image_idxs.shape} do not match"
        )
    if captions.size and (captions.min() < 0 or captions.max() >= len(idx_to_word)):
        raise DlcError(f"{h5_path}: {name}_captions holds word indices outside the vocabulary")
    if image_idxs.size and (image_idxs.min() < 0 or image_idxs.max() >= features.shape[0]):
        raise DlcError(
            f"{h5_path}: {name}_image_idxs points past the {features.shape[0]} rows of {feature_file.name}"
        )
    if len(urls) != features.shape[0]:
        raise DlcError(
            f"{folder / f'{name}2014_urls.txt'}: {len(urls)} URLs for {features.shape[0]} feature rows"
        )
    references: list[list[str]] = [[] for _ in range(features.shape[0])]
    for image, text in zip(image_idxs, decode_captions(captions, idx_to_word), strict=True):
        references[image].append(text)
    return CaptionSplit(captions, image_idxs, features, urls, references)


def load_coco(folder: str | Path, pca_features: bool = True) -> CaptionData:
    """Read the CS231n COCO captioning files in ``folder`` (see the module docstring).

    Returns CaptionData with splits "train" and "val"; images are URLs (not downloaded).
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise DlcError(
            f"{folder}: no such folder (COCO captioning data: `dlc data fetch coco-captioning`)"
        )
    word_to_idx = _read_vocab(folder / "coco2014_vocab.json")
    idx_to_word = sorted(word_to_idx, key=word_to_idx.__getitem__)
    keys = ("train_captions", "train_image_idxs", "val_captions", "val_image_idxs")
    captions_h5 = _read_h5(folder / "coco2014_captions.h5", keys)
    suffix = "_pca" if pca_features else ""
    splits = {n: _split(n, folder, captions_h5, suffix, idx_to_word) for n in ("train", "val")}
    if splits["train"].features.shape[1] != splits["val"].features.shape[1]:
        raise DlcError(f"{folder}: train and val features have different widths")
    return CaptionData(word_to_idx, splits, f"COCO 2014 (CS231n format) from {folder}")
