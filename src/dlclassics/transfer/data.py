"""An ImageFolder-style data set (``train/<class>/…``, ``val/<class>/…``, or ``<class>/…`` split
into the two) and its transforms.

The scan decodes every image once with ``load_rgb``: unreadable files (corrupt, truncated, not an
image) are reported by path and left out, so one bad file never stops a run hours in.
"""

from __future__ import annotations

import hashlib
import os
import random
import sys
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import torch
from PIL import Image
from torch.utils.data import Dataset
from torchvision import transforms as T
from tqdm import tqdm

from dlclassics.backbones import Preprocessing
from dlclassics.data.images import expand_image_args, is_image_file, load_rgb
from dlclassics.errors import DlcError

Samples = list[tuple[Path, int]]  # (image path, class index) pairs
Transform = Callable[[Image.Image], torch.Tensor]


@dataclass
class ImageFolderData:
    """The readable images of a data folder: ``(path, label)`` pairs, label i naming
    ``classes[i]`` (the sorted class subfolders), and ``(path, reason)`` of every file left out.

    Example:
        >>> data = scan_image_folder("hymenoptera_data")
        >>> data.classes, len(data.train), len(data.val)
        (['ants', 'bees'], 245, 153)
    """

    root: Path
    classes: list[str]
    train: Samples
    val: Samples
    skipped: list[tuple[Path, str]] = field(default_factory=list)
    split_note: str | None = None  # how val was split off, when the folder has no val/


def fingerprint(samples: Samples) -> str:
    """A hash of the samples' absolute paths, labels, sizes and modification times (cache keys):
    file statistics stand in for the contents, since an edited image changes its size or time.

    Example:
        >>> fingerprint([(Path("my_images/ants/0.jpg"), 0)])
        '3f1c9a0b2d4e5f60'
    """
    digest = hashlib.sha256()
    for path, label in samples:
        stat = path.stat()
        digest.update(f"{path.resolve()}|{label}|{stat.st_size}|{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()[:16]


def _class_folders(folder: Path) -> list[str]:
    """The sorted names of the visible subfolders of ``folder`` (none when it is missing)."""
    if not folder.is_dir():
        return []
    return sorted(p.name for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))


def _readable_images(
    folder: Path, classes: list[str], *, skipped: list[tuple[Path, str]], desc: str
) -> Samples:
    """The ``(path, label)`` of every image below ``folder/<class>/`` that decodes; the others
    are added to ``skipped`` as ``(path, reason)``."""
    candidates = [
        (path, label)
        for label, name in enumerate(classes)
        if (folder / name).is_dir()
        for path in sorted((folder / name).rglob("*"))
        if path.is_file() and is_image_file(path)
    ]
    readable = []
    for path, label in tqdm(candidates, desc=desc, disable=None, leave=False):
        try:
            load_rgb(path)
            readable.append((path, label))
        except DlcError as exc:
            skipped.append((path, str(exc)))
    return readable


def split_off_validation(samples: Samples, fraction: float, seed: int) -> tuple[Samples, Samples]:
    """Hold out ``fraction`` of every class (rounded, at least one image of a class with two or
    more, never its last one), drawn with ``seed``; returns ``(train, val)`` in the input order.

    Example:
        >>> samples = [(Path(f"{i}.jpg"), i % 2) for i in range(10)]
        >>> train, val = split_off_validation(samples, 0.2, seed=0)
        >>> len(train), len(val), sorted(label for _, label in val)
        (8, 2, [0, 1])
    """
    rng = random.Random(seed)
    held_out: set[int] = set()
    for label in sorted({label for _, label in samples}):
        indices = [i for i, (_, lab) in enumerate(samples) if lab == label]
        count = min(max(round(len(indices) * fraction), 1), len(indices) - 1)
        held_out.update(rng.sample(indices, count))
    train = [sample for i, sample in enumerate(samples) if i not in held_out]
    return train, [sample for i, sample in enumerate(samples) if i in held_out]


def scan_image_folder(
    root: str | os.PathLike[str], val_fraction: float = 0.2, seed: int = 0
) -> ImageFolderData:
    """Find the classes and images of ``root``, decoding each image once to drop unreadable ones.

    ``root`` holds ``train/<class>/`` and ``val/<class>/``; without ``val/``, ``val_fraction`` of
    each class of ``train/`` (or, without ``train/`` either, of ``root/<class>/``) is held out
    for validation, drawn with ``seed`` (``split_note`` says so). Fewer than two classes, a val
    class that train lacks, or a class with no readable training image is a DlcError.

    Example:
        >>> data = scan_image_folder("my_images")  # my_images/ants/*.jpg, my_images/bees/*.jpg
        >>> data.classes
        ['ants', 'bees']
    """
    root = Path(root)
    if not root.is_dir():
        raise DlcError(f"{root}: data folder not found")
    has_val = (root / "val").is_dir()
    train_dir = root / "train" if (root / "train").is_dir() or has_val else root
    classes = _class_folders(train_dir)
    if len(classes) < 2:
        raise DlcError(
            f"{train_dir}: need at least two class folders, found {len(classes)} (expected "
            "<class>/… or train/<class>/… and val/<class>/…)"
        )
    extra = sorted(set(_class_folders(root / "val")) - set(classes))
    if extra:
        raise DlcError(f"{root / 'val' / extra[0]}: class folder not present under train/")
    skipped: list[tuple[Path, str]] = []
    train = _readable_images(train_dir, classes, skipped=skipped, desc="scan train")
    val: Samples = []
    if has_val:
        val = _readable_images(root / "val", classes, skipped=skipped, desc="scan val")
    for label, name in enumerate(classes):
        if not any(lab == label for _, lab in train):
            raise DlcError(f"{train_dir / name}: no readable training images")
    split_note = None
    if not has_val:
        train, val = split_off_validation(train, val_fraction, seed)
        split_note = (
            f"{root}: no val/ folder; held out {100 * val_fraction:g} % of each class for "
            f"validation (seed {seed}): {len(train)} train / {len(val)} val images"
        )
    if not val and has_val:
        raise DlcError(f"{root / 'val'}: no readable validation images")
    if not val:
        raise DlcError(f"{root}: too few images to hold some out (a class needs two or more)")
    for _, reason in skipped:
        print(f"dlc: warning: skipping unreadable image {reason}", file=sys.stderr)
    if skipped:
        print(f"dlc: warning: skipped {len(skipped)} unreadable image(s)", file=sys.stderr)
    return ImageFolderData(root, classes, train, val=val, skipped=skipped, split_note=split_note)


def labelled_image_args(
    args: Iterable[str | os.PathLike[str]], classes: list[str]
) -> list[tuple[Path, str | None]]:
    """Command-line image arguments (files, folders, ``-`` for paths on standard input) as
    ``(image, true class)`` pairs: an image below ``<folder>/<class>/`` of a folder argument,
    ``<class>`` one of ``classes``, carries that class; any other image None.

    Example:
        >>> labelled_image_args(["a.jpg", "my_images"], ["ants", "bees"])[:2]
        [(PosixPath('a.jpg'), None), (PosixPath('my_images/ants/0.jpg'), 'ants')]
    """
    pairs: list[tuple[Path, str | None]] = []
    for arg in args:
        folder = Path(arg) if os.fspath(arg) != "-" and Path(arg).is_dir() else None
        for path in expand_image_args([arg]):
            parts = path.relative_to(folder).parts if folder is not None else ()
            true = parts[0] if len(parts) > 1 and parts[0] in classes else None
            pairs.append((path, true))
    return pairs


def limit_per_class(samples: Samples, limit: int | None) -> Samples:
    """The first ``limit`` samples of every class (all of them when ``limit`` is None).

    Example:
        >>> limit_per_class([(Path("a"), 0), (Path("b"), 0), (Path("c"), 1)], 1)
        [(PosixPath('a'), 0), (PosixPath('c'), 1)]
    """
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
    worker or rank that loads it, and a resumed run repeats it (``set_epoch``: the next epoch's).

    Example:
        >>> images = LabelledImages(data.train, train_transform(backbone.preprocessing), seed=0)
        >>> images[0][0].shape, images[0][1]
        (torch.Size([3, 224, 224]), 0)
    """

    def __init__(self, samples: Samples, transform: Transform, seed: int | None = None) -> None:
        self.samples = samples
        self.transform = transform
        self.seed = seed
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Augment as in ``epoch`` from now on (seeded per image and epoch).

        Example:
            >>> images.set_epoch(2)
        """
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
    """PIL RGB image → augmented, normalised tensor (3, crop, crop).

    Example:
        >>> train_transform(backbone.preprocessing)(Image.new("RGB", (320, 240))).shape
        torch.Size([3, 224, 224])
    """
    crop = [T.RandomResizedCrop(pre.crop), T.RandomHorizontalFlip()]
    return T.Compose([*crop, T.ToTensor(), T.Normalize(pre.mean, pre.std)])


def eval_transform(pre: Preprocessing, mirror: bool = False) -> T.Compose:
    """PIL RGB image → centre-cropped (optionally mirrored), normalised tensor (3, crop, crop).

    Example:
        >>> eval_transform(backbone.preprocessing, mirror=True)(Image.new("RGB", (320, 240))).shape
        torch.Size([3, 224, 224])
    """
    flip = [T.RandomHorizontalFlip(p=1.0)] if mirror else []
    crop = [T.Resize(pre.resize), T.CenterCrop(pre.crop), *flip]
    return T.Compose([*crop, T.ToTensor(), T.Normalize(pre.mean, pre.std)])


class EvalViews:
    """PIL image → (V, 3, crop, crop): the centre crop, and its mirror image when ``flip_tta``.

    Example:
        >>> EvalViews(backbone.preprocessing, flip_tta=True)(Image.new("RGB", (320, 240))).shape
        torch.Size([2, 3, 224, 224])
    """

    def __init__(self, pre: Preprocessing, flip_tta: bool) -> None:
        mirrors = (False, True) if flip_tta else (False,)
        self.transforms = [eval_transform(pre, mirror) for mirror in mirrors]

    def __call__(self, image: Image.Image) -> torch.Tensor:
        return torch.stack([t(image) for t in self.transforms])


def describe_transforms(pre: Preprocessing) -> str:
    """A string that changes whenever the transforms would (part of the feature-cache key).

    Example:
        >>> describe_transforms(Preprocessing((0.5,) * 3, (0.5,) * 3))[:36]
        'train=RandomResizedCrop(224)+HFlip;'
    """
    train = f"RandomResizedCrop({pre.crop})+HFlip"
    evaluation = f"Resize({pre.resize})+CenterCrop({pre.crop})"
    return f"train={train};eval={evaluation};mean={pre.mean};std={pre.std}"
