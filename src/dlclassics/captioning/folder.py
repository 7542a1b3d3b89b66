"""A user's own captioned images: an image folder plus a captions file.

Layout of ``DIR`` (images may sit in ``DIR/images/`` or directly in ``DIR``):

- one file for all images: ``captions.txt`` / ``captions.tsv`` / ``captions.token`` /
  ``Flickr8k.token.txt`` (Flickr8k style, ``image.jpg#0<TAB>a caption``; the ``#k`` is optional)
  or ``captions.csv`` (``image,caption`` rows, header optional). Images are split into train and
  val by a seeded shuffle (``val_fraction``);
- or one file per split: ``captions_train.*``, ``captions_val.*`` and optionally
  ``captions_test.*`` (what ``dlc caption make-shapes`` writes).

Problems and what happens:

- a malformed line, an empty caption, a captions file with no captions → error (DlcError naming
  the file and line);
- a caption for an image that is not in the folder → error naming the captions file, line and
  image: a typo there silently shrinking the data set would be worse than stopping;
- an image in the folder that no caption mentions → warning on stderr listing how many and the
  first few, and the image is left out: extra files in a folder are harmless.
"""

from __future__ import annotations

import csv
import io
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from dlclassics.captioning.dataset import CaptionData, CaptionSplit
from dlclassics.captioning.features import (
    FeatureConfig,
    extract_features,
    fit_pca,
    fit_standardizer,
)
from dlclassics.captioning.vocab import build_vocab, encode_captions, tokenize
from dlclassics.data.images import is_image_file
from dlclassics.errors import DlcError

SINGLE_FILE_NAMES = (
    "captions.txt",
    "captions.tsv",
    "captions.token",
    "captions.csv",
    "Flickr8k.token.txt",
)
CAPTION_SUFFIXES = (".txt", ".tsv", ".token", ".csv")


@dataclass(frozen=True)
class FolderOptions:
    """How a caption folder becomes training data."""

    features: FeatureConfig = field(default_factory=FeatureConfig)
    min_word_count: int = 2
    max_words: int = 30  # longer captions are cut
    val_fraction: float = 0.1  # used when there is a single captions file
    pca_dim: int | None = None  # PCA fitted on train (reference: 512); None: standardise instead
    split_seed: int = 0
    cache_dir: Path | None = None


@dataclass(frozen=True)
class CaptionLine:
    image: str
    caption: str
    line: int


def read_captions_file(path: Path) -> list[CaptionLine]:
    """Every (image name, caption, line number) of a Flickr8k-style or CSV captions file."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise DlcError(f"{path}: cannot read captions file ({exc})") from exc
    rows = _csv_rows(path, text) if path.suffix.lower() == ".csv" else _token_rows(path, text)
    if not rows:
        raise DlcError(f"{path}: no captions in the file")
    return rows


def _token_rows(path: Path, text: str) -> list[CaptionLine]:
    rows = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        name, tab, caption = line.partition("\t")
        if not tab:
            raise DlcError(f"{path}:{number}: expected '<image>#<k><TAB><caption>', found no tab")
        image = name.strip().rsplit("#", 1)[0] if "#" in name else name.strip()
        rows.append(_checked(path, number, image, caption))
    return rows


def _csv_rows(path: Path, text: str) -> list[CaptionLine]:
    rows = []
    for number, fields in enumerate(csv.reader(io.StringIO(text)), start=1):
        if not fields or not any(f.strip() for f in fields):
            continue
        if number == 1 and [f.strip().lower() for f in fields[:2]] == ["image", "caption"]:
            continue  # header
        if len(fields) != 2:
            raise DlcError(
                f"{path}:{number}: expected 2 fields 'image,caption', found {len(fields)}"
            )
        rows.append(_checked(path, number, fields[0].strip(), fields[1]))
    return rows


def _checked(path: Path, number: int, image: str, caption: str) -> CaptionLine:
    if not image:
        raise DlcError(f"{path}:{number}: empty image name")
    if not tokenize(caption):
        raise DlcError(f"{path}:{number}: empty caption for {image}")
    return CaptionLine(image, caption.strip(), number)


def find_caption_files(folder: Path) -> dict[str, Path]:
    """{"all": file} for a single captions file, or {"train": ..., "val": ..., ["test": ...]}."""
    per_split = {}
    for split in ("train", "val", "test"):
        matches = sorted(folder.glob(f"captions_{split}.*"))
        matches = [m for m in matches if m.suffix.lower() in CAPTION_SUFFIXES]
        if matches:
            per_split[split] = matches[0]
    if per_split:
        if "train" not in per_split or "val" not in per_split:
            raise DlcError(
                f"{folder}: per-split captions need both captions_train.* and captions_val.*"
            )
        return per_split
    for name in SINGLE_FILE_NAMES:
        if (folder / name).is_file():
            return {"all": folder / name}
    raise DlcError(
        f"{folder}: no captions file (expected one of {', '.join(SINGLE_FILE_NAMES)} "
        "or captions_train.* + captions_val.*)"
    )


def image_folder(folder: Path) -> Path:
    """``DIR/images`` when it exists, else ``DIR``."""
    return folder / "images" if (folder / "images").is_dir() else folder


def _group(
    rows: list[CaptionLine], images_dir: Path, captions_file: Path
) -> dict[str, list[CaptionLine]]:
    """Captions per image name, in file order; a caption naming a missing image is an error."""
    grouped: dict[str, list[CaptionLine]] = {}
    for row in rows:
        if row.image not in grouped and not (images_dir / row.image).is_file():
            raise DlcError(
                f"{captions_file}:{row.line}: image {row.image!r} not found in {images_dir}"
            )
        grouped.setdefault(row.image, []).append(row)
    return grouped


def _warn_uncaptioned(images_dir: Path, captioned: set[str]) -> None:
    present = sorted(p.name for p in images_dir.iterdir() if p.is_file() and is_image_file(p))
    missing = [name for name in present if name not in captioned]
    if missing:
        shown = ", ".join(missing[:5]) + (", ..." if len(missing) > 5 else "")
        print(
            f"dlc: warning: {images_dir}: {len(missing)} image(s) have no caption and are left out ({shown})",
            file=sys.stderr,
        )


def _grouped_splits(
    folder: Path, options: FolderOptions
) -> dict[str, dict[str, list[CaptionLine]]]:
    files = find_caption_files(folder)
    images_dir = image_folder(folder)
    if "all" in files:
        grouped = _group(read_captions_file(files["all"]), images_dir, files["all"])
        names = sorted(grouped)
        if len(names) < 2:
            raise DlcError(f"{files['all']}: need captions for at least 2 images (train and val)")
        order = np.random.default_rng(options.split_seed).permutation(len(names))
        n_val = min(max(1, round(options.val_fraction * len(names))), len(names) - 1)
        val = {names[i] for i in order[:n_val]}
        splits = {
            "train": {n: grouped[n] for n in names if n not in val},
            "val": {n: grouped[n] for n in names if n in val},
        }
    else:
        splits = {s: _group(read_captions_file(f), images_dir, f) for s, f in files.items()}
    _warn_uncaptioned(images_dir, {name for split in splits.values() for name in split})
    return splits


def load_caption_folder(
    folder: str | Path, options: FolderOptions = FolderOptions()
) -> CaptionData:
    """Read a caption folder (module docstring), build the vocabulary, compute image features.

    Returns CaptionData with "train", "val" (and "test" if given); the vocabulary comes from the
    training captions only, with words seen fewer than ``min_word_count`` times as ``<UNK>``.
    Features are standardised (or PCA-reduced) with statistics of the training images.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise DlcError(f"{folder}: no such folder")
    grouped = _grouped_splits(folder, options)
    images_dir = image_folder(folder)
    train_tokens = [tokenize(r.caption) for rows in grouped["train"].values() for r in rows]
    word_to_idx = build_vocab(train_tokens, options.min_word_count)
    splits = {}
    for split, by_image in grouped.items():
        names = list(by_image)
        paths = [images_dir / n for n in names]
        tokens = [[tokenize(r.caption) for r in by_image[n]] for n in names]
        flat = [t for per_image in tokens for t in per_image]
        features = extract_features(
            paths, options.features, options.cache_dir, desc=f"{split} features"
        )
        splits[split] = CaptionSplit(
            captions=encode_captions(flat, word_to_idx, options.max_words),
            image_idxs=np.repeat(np.arange(len(names)), [len(t) for t in tokens]).astype(np.int64),
            features=features,
            images=[str(p) for p in paths],
            references=[[" ".join(t) for t in per_image] for per_image in tokens],
        )
    train_features = splits["train"].features
    centre = (
        fit_pca(train_features, options.pca_dim)
        if options.pca_dim
        else fit_standardizer(train_features)
    )
    for split in splits.values():
        split.features = centre.apply(split.features)
    return CaptionData(word_to_idx, splits, f"caption folder {folder}")
