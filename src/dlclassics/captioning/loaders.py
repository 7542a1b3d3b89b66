"""``--data`` specs → a loaded ``CaptionData``.

- ``shapes`` / ``shapes:DIR``: the generated benchmark (created with the default settings when
  absent). Default folder: ``<data root>/shapes`` if it exists or the data root is writable
  (mode bits included, so a read-only shared data root is left alone even for root), else
  ``<user cache>/dlclassics/data/shapes``.
- ``coco`` / ``coco:DIR``: the CS231n COCO files (default ``<data root>/coco_captioning``).
- ``folder:DIR``: a user's images + captions file (see ``captioning.folder``).
"""

from __future__ import annotations

import os
import stat
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np

from dlclassics.captioning.coco import load_coco
from dlclassics.captioning.config import ShapesConfig
from dlclassics.captioning.dataset import CaptionData
from dlclassics.captioning.features import FeatureConfig
from dlclassics.captioning.folder import FolderOptions, load_caption_folder
from dlclassics.captioning.shapes import make_shapes, read_shapes_meta
from dlclassics.data.root import user_cache_dir
from dlclassics.errors import DlcError

SHAPES_FOLDER = "shapes"
COCO_FOLDER = "coco_captioning"


def _writable(folder: Path) -> bool:
    """Writable for us and not marked read-only (root may write anywhere; respect the mode bits)."""
    return (
        folder.is_dir()
        and os.access(folder, os.W_OK)
        and bool(folder.stat().st_mode & stat.S_IWUSR)
    )


def default_shapes_dir(data_root: Path) -> Path:
    """Where the shapes data set lives by default (module docstring)."""
    under_root = Path(data_root) / SHAPES_FOLDER
    if under_root.is_dir() or _writable(Path(data_root)):
        return under_root
    return user_cache_dir() / SHAPES_FOLDER


def parse_data_spec(spec: str) -> tuple[str, str | None]:
    """``"coco:/x"`` → ("coco", "/x"); ``"shapes"`` → ("shapes", None)."""
    kind, _, where = spec.partition(":")
    if kind not in ("shapes", "coco", "folder"):
        raise DlcError(f"--data {spec!r}: expected shapes[:DIR], coco[:DIR] or folder:DIR")
    if kind == "folder" and not where:
        raise DlcError("--data folder:DIR needs the folder, e.g. folder:~/my_captions")
    return kind, (where or None)


def load_shapes(folder: Path, options: FolderOptions) -> CaptionData:
    """The shapes data set (generated first if missing), with the ``unseen`` flags of its images."""
    if not (folder / "meta.json").is_file():
        print(
            f"dlc: creating the shapes data set in {folder} (dlc caption make-shapes)",
            file=sys.stderr,
        )
        make_shapes(folder, ShapesConfig())
    meta = read_shapes_meta(folder)
    size = int(meta["config"]["image_size"])
    options = replace(
        options, features=replace(options.features, image_size=size), min_word_count=1
    )
    data = load_caption_folder(folder, options)
    for split_name, split in data.splits.items():
        unseen = set(meta["unseen"].get(split_name, []))
        split.unseen = np.array([Path(p).name in unseen for p in split.images], dtype=bool)
    data.description = f"shapes benchmark from {folder}"
    return data


def load_caption_data(
    spec: str, data_root: Path, options: FolderOptions | None = None
) -> CaptionData:
    """Load the data set a ``--data`` spec names (module docstring)."""
    options = FolderOptions() if options is None else options
    kind, where = parse_data_spec(spec)
    folder = Path(where).expanduser() if where else None
    if kind == "shapes":
        return load_shapes(folder or default_shapes_dir(data_root), options)
    if kind == "coco":
        return load_coco(folder or Path(data_root) / COCO_FOLDER)
    return load_caption_folder(folder, options)


def feature_options(
    backbone: str,
    image_size: int,
    pca_dim: int | None,
    cache_dir: str | None,
    device: str = "cpu",
) -> FolderOptions:
    """FolderOptions from the command-line feature flags (features computed on ``device``)."""
    features = FeatureConfig(backbone=backbone, image_size=image_size, device=device)
    return FolderOptions(
        features=features, pca_dim=pca_dim, cache_dir=Path(cache_dir) if cache_dir else None
    )
