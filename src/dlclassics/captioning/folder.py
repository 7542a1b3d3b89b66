"""A user's own captioned images: an image folder plus a captions file.

Layout of ``DIR`` (images may sit in ``DIR/images/`` or directly in ``DIR``):

- one file for all images: ``captions.txt`` / ``captions.tsv`` / ``captions.token`` /
  ``Flickr8k.token.txt`` (Flickr8k style, ``image.jpg#0<TAB>a caption``; the ``#k`` is optional)
  or ``captions.csv`` (``image,caption`` rows, header optional). Images are split into train and
  val by a seeded shuffle (``val_fraction``);
- or one file per split: ``captions_train.*``, ``captions_val.*`` and optionally
  ``captions_test.*`` (what ``dlc caption make-shapes`` writes).

A malformed line (in a CSV file also bad quoting, such as a quote never closed), an empty
caption, a captions file with no captions, a caption for an image that is not in the folder, or
one naming an image outside it (an absolute path, or one climbing out with ``..``) is an error
naming the file and line: a typo silently shrinking the data set would be worse than
stopping. An image that no caption mentions is left out with a warning listing the first few.
"""

from __future__ import annotations

import csv
import io
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePath

import numpy as np

from dlclassics.captioning.dataset import CaptionData, CaptionSplit
from dlclassics.captioning.features import FeatureConfig, extract_features, fit_pca
from dlclassics.captioning.spatial import extract_feature_maps, fit_map_reducer
from dlclassics.captioning.vocab import build_vocab, encode_captions, tokenize
from dlclassics.data.images import is_image_file
from dlclassics.errors import DlcError

CAPTION_SUFFIXES = (".txt", ".tsv", ".token", ".csv")
SINGLE_FILE_NAMES = (*(f"captions{suffix}" for suffix in CAPTION_SUFFIXES), "Flickr8k.token.txt")


@dataclass(frozen=True)
class FolderOptions:
    """How a caption folder becomes training data."""

    features: FeatureConfig = field(default_factory=FeatureConfig)
    min_word_count: int = 2
    max_words: int = 30  # longer captions are cut
    val_fraction: float = 0.1  # used when there is a single captions file
    # size of the PCA fitted on train (reference: 512); None: POOLED_PCA_DIM, or MAP_PCA_DIM
    pca_dim: int | None = None
    split_seed: int = 0
    cache_dir: Path | None = None
    # feature maps (N, L, D) for the attention cell instead of pooled vectors: each location's
    # vector PCA-reduced (to pca_dim, default MAP_PCA_DIM) and whitened, plus its cell's (x, y)
    spatial: bool = False


POOLED_PCA_DIM = 128
MAP_PCA_DIM = 64


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
    rows = []
    read_rows = _csv_rows if path.suffix.lower() == ".csv" else _token_rows
    for number, image, caption in read_rows(path, text):
        if not image:
            raise DlcError(f"{path}:{number}: empty image name")
        if not tokenize(caption):
            raise DlcError(f"{path}:{number}: empty caption for {image}")
        rows.append(CaptionLine(image, caption.strip(), number))
    if not rows:
        raise DlcError(f"{path}: no captions in the file")
    return rows


def _token_rows(path: Path, text: str) -> Iterator[tuple[int, str, str]]:
    for number, line in enumerate(text.splitlines(), start=1):
        if line.strip():
            name, tab, caption = line.partition("\t")
            if not tab:
                raise DlcError(
                    f"{path}:{number}: expected '<image>#<k><TAB><caption>', found no tab"
                )
            yield number, name.strip().rsplit("#", 1)[0], caption


def _csv_rows(path: Path, text: str) -> Iterator[tuple[int, str, str]]:
    reader = csv.reader(io.StringIO(text), strict=True)
    start = 1  # the line the row starts on: a quoted caption may span lines
    try:
        for fields in reader:
            header = start == 1 and [f.strip().lower() for f in fields[:2]] == ["image", "caption"]
            if any(f.strip() for f in fields) and not header:
                if len(fields) != 2:
                    raise DlcError(
                        f"{path}:{start}: expected 2 fields 'image,caption', found {len(fields)}"
                    )
                yield start, fields[0].strip(), fields[1]
            start = reader.line_num + 1
    except csv.Error as exc:  # strict: bad quoting is an error, not rows silently merged
        problem = "a quote opened here is never closed" if "end of data" in str(exc) else exc
        raise DlcError(f"{path}:{start}: malformed CSV ({problem})") from exc


def find_caption_files(folder: Path) -> dict[str, Path]:
    """{"all": file} for a single captions file, or {"train": ..., "val": ..., ["test": ...]}."""
    per_split = {}
    for split in ("train", "val", "test"):
        matches = [
            m
            for m in sorted(folder.glob(f"captions_{split}.*"))
            if m.suffix.lower() in CAPTION_SUFFIXES
        ]
        if matches:
            per_split[split] = matches[0]
    if per_split and not {"train", "val"} <= per_split.keys():
        raise DlcError(
            f"{folder}: per-split captions need both captions_train.* and captions_val.*"
        )
    if per_split:
        return per_split
    for name in SINGLE_FILE_NAMES:
        if (folder / name).is_file():
            return {"all": folder / name}
    raise DlcError(
        f"{folder}: no captions file (expected one of {', '.join(SINGLE_FILE_NAMES)} "
        "or captions_train.* + captions_val.*)"
    )


def _group(captions_file: Path, images_dir: Path) -> dict[str, list[CaptionLine]]:
    """Captions per image name, in file order; a caption naming a missing image is an error."""
    grouped: dict[str, list[CaptionLine]] = {}
    for row in read_captions_file(captions_file):
        name = PurePath(row.image)
        if name.is_absolute() or ".." in name.parts:
            raise DlcError(
                f"{captions_file}:{row.line}: image {row.image!r} is outside {images_dir}; "
                "name images by their path inside it"
            )
        if row.image not in grouped and not (images_dir / row.image).is_file():
            raise DlcError(
                f"{captions_file}:{row.line}: image {row.image!r} not found in {images_dir}"
            )
        grouped.setdefault(row.image, []).append(row)
    return grouped


def _grouped_splits(
    folder: Path, images_dir: Path, options: FolderOptions
) -> dict[str, dict[str, list[CaptionLine]]]:
    """Captions per split and image; warns about the images no caption mentions."""
    files = find_caption_files(folder)
    if "all" in files:
        grouped = _group(files["all"], images_dir)
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
        splits = {s: _group(f, images_dir) for s, f in files.items()}
    captioned = {name for split in splits.values() for name in split}
    present = sorted(p.name for p in images_dir.iterdir() if p.is_file() and is_image_file(p))
    missing = [name for name in present if name not in captioned]
    if missing:
        shown = ", ".join(missing[:5]) + (", ..." if len(missing) > 5 else "")
        print(
            f"dlc: warning: {images_dir}: {len(missing)} image(s) have no caption and are left out ({shown})",
            file=sys.stderr,
        )
    return splits


def load_caption_folder(
    folder: str | Path, options: FolderOptions = FolderOptions()
) -> CaptionData:
    """Read a caption folder (module docstring), build the vocabulary, compute image features.

    Returns CaptionData with "train", "val" (and "test" if given); the vocabulary comes from the
    training captions only, with words seen fewer than ``min_word_count`` times as ``<UNK>``.
    Features are PCA-reduced with statistics of the training images; with
    ``options.spatial`` they are feature maps, reduced by ``spatial.fit_map_reducer``.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise DlcError(f"{folder}: no such folder")
    images_dir = folder / "images" if (folder / "images").is_dir() else folder
    grouped = _grouped_splits(folder, images_dir, options)
    train_tokens = [tokenize(r.caption) for rows in grouped["train"].values() for r in rows]
    word_to_idx = build_vocab(train_tokens, options.min_word_count)
    splits = {}
    for split, by_image in grouped.items():
        paths = [images_dir / n for n in by_image]
        tokens = [[tokenize(r.caption) for r in rows] for rows in by_image.values()]
        flat = [t for per_image in tokens for t in per_image]
        extract = extract_feature_maps if options.spatial else extract_features
        features = extract(paths, options.features, options.cache_dir, desc=f"{split} features")
        splits[split] = CaptionSplit(
            captions=encode_captions(flat, word_to_idx, options.max_words),
            image_idxs=np.repeat(np.arange(len(paths)), [len(t) for t in tokens]).astype(np.int64),
            features=features,
            images=[str(p) for p in paths],
            references=[[" ".join(t) for t in per_image] for per_image in tokens],
        )
    train_features = splits["train"].features
    if options.spatial:
        centre = fit_map_reducer(train_features, options.pca_dim or MAP_PCA_DIM)
    else:
        centre = fit_pca(train_features, options.pca_dim or POOLED_PCA_DIM)
    for split in splits.values():
        split.features = centre.apply(split.features)
    return CaptionData(word_to_idx, splits, f"caption folder {folder}", projection=centre)
