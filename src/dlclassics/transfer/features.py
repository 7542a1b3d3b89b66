"""The frozen-backbone feature cache: run the backbone once, train the head on stored vectors.

A frozen backbone maps the same input to the same feature vector every epoch, so recomputing it
(as the PyTorch tutorial does) repeats almost all of the work. We compute, once:

- ``V`` augmented views of every training image (RandomResizedCrop + flip, each view under its
  own seed), and each epoch draws one stored view per image;
- the validation centre crops (and their mirror images, for flip test-time augmentation).

Trade-off: training then sees only ``V`` distinct augmentations of each image instead of a fresh
one every epoch, so with small ``V`` the head can fit those particular crops; in exchange an epoch
costs a few matrix products instead of a backbone pass over every image. With ``V`` equal to the
number of epochs the inputs have the same distribution as the tutorial's.

Each item (one view, or the val crops) is a separate file under
``<cache dir>/<backbone>-<key>/``, where the key hashes the backbone, its weights, the
transforms and every image's path/size/time; runs that share items (more views, the other mode)
reuse them.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch.utils.data import DataLoader, Dataset, Subset
from tqdm import tqdm

from dlclassics.backbones import Backbone
from dlclassics.checkpoint import read_torch_file
from dlclassics.distributed import (
    SINGLE_PROCESS,
    DistContext,
    broadcast_object,
    gather_objects,
    unshard_rows,
)
from dlclassics.errors import DlcError
from dlclassics.io import torch_save_atomic
from dlclassics.transfer import transforms
from dlclassics.transfer.data import LabelledImages, fingerprint


@dataclass
class FeatureCache:
    """Backbone features of a training set's augmented views and of the val crops.

    Attributes:
        train: (V, N_train, D) — view v of training image i is ``train[v, i]``.
        train_labels: (N_train,) int64.
        val: (N_val, T, D) — T = 1 (centre crop) or 2 (centre crop and its mirror image).
        val_labels: (N_val,) int64.
        folder: where the items are stored.
        compute_seconds: time spent computing missing items in this call (0 when all loaded).
    """

    train: torch.Tensor
    train_labels: torch.Tensor
    val: torch.Tensor
    val_labels: torch.Tensor
    folder: Path
    compute_seconds: float

    def describe(self) -> dict[str, Any]:
        """Where the cache is, its size and what computing it cost (for ``metrics.json``)."""
        return {
            "folder": self.folder,
            "train_views": int(self.train.shape[0]),
            "val_views": int(self.val.shape[1]),
            "compute_seconds": self.compute_seconds,
        }


def extract_features(
    backbone: Backbone,
    dataset: Dataset,
    batch_size: int = 32,
    ctx: DistContext = SINGLE_PROCESS,
    desc: str = "features",
) -> torch.Tensor:
    """Backbone features of every ``ctx.world_size``-th item of ``dataset``, from ``ctx.rank``.

    Args:
        dataset: yields ``(image, label)``; image (3, H, W) or several views (V, 3, H, W).
        ctx: the shard to compute (the whole set in one process) and the device the backbone
            is on; a distributed run gathers the shards of all ranks.

    Returns:
        (N_shard, D), or (N_shard, V, D) for multi-view items, on the CPU.
    """
    shard = Subset(dataset, range(ctx.rank, len(dataset), ctx.world_size))
    loader = DataLoader(shard, batch_size=batch_size, shuffle=False)
    outputs = []
    backbone.eval()
    with torch.no_grad():
        for images, _ in tqdm(loader, desc=desc, disable=None, leave=False):
            images = images.to(ctx.device)
            if images.dim() == 5:  # (B, V, 3, H, W): several views per image
                b, v = images.shape[:2]
                outputs.append(backbone(images.flatten(0, 1)).view(b, v, -1).cpu())  # (B, V, D)
            else:
                outputs.append(backbone(images).cpu())  # (B, D)
    return torch.cat(outputs)


def cache_folder(
    cache_dir: Path,
    backbone: Backbone,
    weights_key: str,
    samples: list[tuple[Path, int]],
) -> Path:
    """``<cache_dir>/<backbone>-<key>``; the key hashes weights, transforms and the image files."""
    key_text = "|".join(
        [
            backbone.name,
            weights_key,
            transforms.describe(backbone.preprocessing),
            fingerprint(samples),
        ]
    )
    key = hashlib.sha256(key_text.encode()).hexdigest()[:16]
    return Path(cache_dir) / f"{backbone.name}-{key}"


def _cached(path: Path, compute, ctx: DistContext = SINGLE_PROCESS) -> tuple[torch.Tensor, float]:
    """Load the tensor at ``path``, or compute and store it; returns it and the seconds spent.

    With several processes rank 0 alone looks for, reads and writes the file and sends what it
    read to the others (no shared file system needed); ``compute`` runs on every rank.
    """
    if broadcast_object(path.is_file() if ctx.is_main else None, ctx):
        stored = read_torch_file(path) if ctx.is_main else {"features": None}
        if not isinstance(stored, dict) or "features" not in stored:
            raise DlcError(f"{path}: not a feature-cache file; delete it to recompute it")
        return broadcast_object(stored["features"], ctx), 0.0
    start = time.perf_counter()
    features = compute()
    if ctx.is_main:
        torch_save_atomic({"features": features}, path)
    return features, time.perf_counter() - start


def build_feature_cache(
    backbone: Backbone,
    weights_key: str,
    train_samples: list[tuple[Path, int]],
    val_samples: list[tuple[Path, int]],
    views: int,
    flip_tta: bool,
    seed: int,
    cache_dir: Path,
    batch_size: int = 32,
    ctx: DistContext = SINGLE_PROCESS,
) -> FeatureCache:
    """Load or compute ``views`` augmented views of the training set and the val crops.

    Args:
        weights_key: names the backbone weights (``backbones.weights_key``).
        views: augmented views per training image (0: val crops only); view v uses seed
            ``seed * 1000 + v``.
        flip_tta: also store the mirror images of the val centre crops.
        ctx: with several processes each rank computes every K-th image's features and the
            shards are gathered, so every rank ends with the same whole cache (on the CPU).
    """
    pre = backbone.preprocessing
    folder = cache_folder(cache_dir, backbone, weights_key, train_samples + val_samples)
    seconds = 0.0

    def compute(dataset: Dataset, desc: str):
        def this_rank_then_gather() -> torch.Tensor:
            mine = extract_features(backbone, dataset, batch_size, ctx, desc)
            return unshard_rows(gather_objects(mine, ctx))  # (N, ...) in data-set order

        return this_rank_then_gather

    train_views = []
    for v in range(views):
        view_seed = seed * 1000 + v
        dataset = LabelledImages(train_samples, transforms.train_transform(pre), seed=view_seed)
        path = folder / f"train_view_seed{view_seed}.pt"
        features, spent = _cached(path, compute(dataset, f"train view {v + 1}/{views}"), ctx)
        train_views.append(features)
        seconds += spent
    val_items = [("val_centre.pt", False)] + ([("val_mirror.pt", True)] if flip_tta else [])
    val_views = []
    for name, mirror in val_items:
        dataset = LabelledImages(val_samples, transforms.eval_transform(pre, mirror=mirror))
        features, spent = _cached(folder / name, compute(dataset, name.removesuffix(".pt")), ctx)
        val_views.append(features)
        seconds += spent
    return FeatureCache(
        train=(  # (V, N_train, D)
            torch.stack(train_views)
            if train_views
            else torch.empty(0, len(train_samples), backbone.feature_dim)
        ),
        train_labels=torch.tensor([label for _, label in train_samples]),
        val=torch.stack(val_views, dim=1),  # (N_val, T, D)
        val_labels=torch.tensor([label for _, label in val_samples]),
        folder=folder,
        compute_seconds=seconds,
    )


class CachedViews(Dataset):
    """Training items from a feature cache: ``(feature vector (D,), label)``.

    Each epoch draws one stored view per image (seeded by ``seed`` and the epoch, so a resumed
    or distributed run draws the same ones); call ``set_epoch`` before every epoch.
    """

    def __init__(self, views: torch.Tensor, labels: torch.Tensor, seed: int) -> None:
        self.views = views  # (V, N, D)
        self.labels = labels
        self.seed = seed
        self.view_of = torch.zeros(len(labels), dtype=torch.long)

    def set_epoch(self, epoch: int) -> None:
        generator = torch.Generator().manual_seed(self.seed * 100_003 + epoch)
        self.view_of = torch.randint(self.views.shape[0], (len(self.labels),), generator=generator)

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        return self.views[self.view_of[index], index], int(self.labels[index])
