"""An ImageFolder-style data set (``train/<class>/…``, ``val/<class>/…``) and its transforms.

The scan decodes every image once with ``load_rgb``: unreadable files (corrupt, truncated, not an
image) are reported by path and left out, so one bad file never stops a run hours in.
"""

from __future__ import annotations

import hashlib
import os
import sys
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import torch
from PIL import Image
from torch.utils.data import Dataset
from torchvision import transforms as T
from tqdm import tqdm

from dlclassics.backbones import Preprocessing
from dlclassics.data.images import is_image_file, load_rgb
from dlclassics.errors import DlcError

SPLITS = ("train", "val")
Samples = list[tuple[Path, int]]  # (image path, class index) pairs
Transform = Callable[[Image.Image], torch.Tensor]


@dataclass
class ImageFolderData:
    """The readable images of a data folder: ``(path, label)`` pairs, label i naming
    ``classes[i]`` (the sorted ``train/`` subfolders), and ``(path, reason)`` of every file left out."""

    root: Path
    classes: list[str]
    train: Samples
    val: Samples
    skipped: list[tuple[Path, str]] = field(default_factory=list)


def fingerprint(samples: Samples) -> str:
    """A hash of the samples' absolute paths, labels, sizes and modification times (cache keys):
    file statistics stand in for the contents, since an edited image changes its size or time."""
    digest = hashlib.sha256()
    for path, label in samples:
        stat = path.stat()
        digest.update(f"{path.resolve()}|{label}|{stat.st_size}|{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()[:16]


def _class_folders(split_dir: Path) -> list[str]:
    if not split_dir.is_dir():
        raise DlcError(f"{split_dir}: no such folder (expected train/<class>/… and val/<class>/…)")
    return sorted(p.name for p in split_dir.iterdir() if p.is_dir() and not p.name.startswith("."))


def scan_image_folder(root: str | os.PathLike[str]) -> ImageFolderData:
    """Find the classes and images of ``root`` (``train/<class>/``, ``val/<class>/``), decoding
    each image once to drop unreadable ones. A missing split, fewer than two classes, a val class
    that train lacks, or a class with no readable training image is a DlcError."""
    root = Path(root)
    if not root.is_dir():
        raise DlcError(f"{root}: data folder not found")
    classes = _class_folders(root / "train")
    if len(classes) < 2:
        raise DlcError(f"{root / 'train'}: need at least two class folders, found {len(classes)}")
    extra = sorted(set(_class_folders(root / "val")) - set(classes))
    if extra:
        raise DlcError(f"{root / 'val' / extra[0]}: class folder not present under train/")

    splits: dict[str, Samples] = {}
    skipped: list[tuple[Path, str]] = []
    for split in SPLITS:
        candidates = [
            (path, label)
            for label, name in enumerate(classes)
            if (root / split / name).is_dir()
            for path in sorted((root / split / name).rglob("*"))
            if path.is_file() and is_image_file(path)
        ]
        splits[split] = []
        for path, label in tqdm(candidates, desc=f"scan {split}", disable=None, leave=False):
            try:
                load_rgb(path)
                splits[split].append((path, label))
            except DlcError as exc:
                skipped.append((path, str(exc)))

    for label, name in enumerate(classes):
        if not any(lab == label for _, lab in splits["train"]):
            raise DlcError(f"{root / 'train' / name}: no readable training images")
    if not splits["val"]:
        raise DlcError(f"{root / 'val'}: no readable validation images")
    for _, reason in skipped:
        print(f"dlc: warning: skipping unreadable image {reason}", file=sys.stderr)
    if skipped:
        print(f"dlc: warning: skipped {len(skipped)} unreadable image(s)", file=sys.stderr)
    return ImageFolderData(root, classes, splits["train"], splits["val"], skipped)


def limit_per_class(samples: Samples, limit: int | None) -> Samples:
    """The first ``limit`` samples of every class (all of them when ``limit`` is None)."""
    if limit is None:
        return list(samples)
    seen: Counter[int] = Counter()
    kept = []
    for path, label in samples:
        seen[label] += 1
        if seen[label] <= limit:
            kept.append((path, label))
    return kept


class LabelledImages(Dataset):
    """``(transform(image), label)`` pairs. With ``seed`` set, image i in epoch e is transformed
    under its own RNG seed (``seed``, e, i), so an augmentation is the same whatever the batch,
    worker or rank that loads it, and a resumed run repeats it (``set_epoch``: the next epoch's)."""

    def __init__(self, samples: Samples, transform: Transform, seed: int | None = None) -> None:
        self.samples, self.transform, self.seed, self.epoch = samples, transform, seed, 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        path, label = self.samples[index]
        if self.seed is None:
            return self.transform(load_rgb(path)), label
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed((self.seed * 10_007 + self.epoch) * 1_000_003 + index)
            return self.transform(load_rgb(path)), label


def train_transform(pre: Preprocessing) -> T.Compose:
    """PIL RGB image → augmented, normalised tensor (3, crop, crop)."""
    crop = [T.RandomResizedCrop(pre.crop), T.RandomHorizontalFlip()]
    return T.Compose([*crop, T.ToTensor(), T.Normalize(pre.mean, pre.std)])


def eval_transform(pre: Preprocessing, mirror: bool = False) -> T.Compose:
    """PIL RGB image → centre-cropped (optionally mirrored), normalised tensor (3, crop, crop)."""
    flip = [T.RandomHorizontalFlip(p=1.0)] if mirror else []
    crop = [T.Resize(pre.resize), T.CenterCrop(pre.crop), *flip]
    return T.Compose([*crop, T.ToTensor(), T.Normalize(pre.mean, pre.std)])


class EvalViews:
    """PIL image → (V, 3, crop, crop): the centre crop, and its mirror image when ``flip_tta``."""

    def __init__(self, pre: Preprocessing, flip_tta: bool) -> None:
        mirrors = (False, True) if flip_tta else (False,)
        self.transforms = [eval_transform(pre, mirror) for mirror in mirrors]

    def __call__(self, image: Image.Image) -> torch.Tensor:
        return torch.stack([t(image) for t in self.transforms])


def describe_transforms(pre: Preprocessing) -> str:
    """A string that changes whenever the transforms would (part of the feature-cache key)."""
    train, crop = f"RandomResizedCrop({pre.crop})+HFlip", f"CenterCrop({pre.crop})"
    return f"train={train};eval=Resize({pre.resize})+{crop};mean={pre.mean};std={pre.std}"
