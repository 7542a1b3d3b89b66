"""The frozen-backbone feature cache: run the backbone once, train the head on stored vectors.

A frozen backbone maps the same input to the same vector every epoch, so recomputing it (as the
PyTorch tutorial does) repeats almost all of the work. We compute once ``V`` augmented views of
every training image (each epoch draws one per image) and the val centre crops (and mirror
images, for flip TTA). Trade-off: with small ``V`` the head can fit those particular crops; in
exchange an epoch costs a few matrix products, not a backbone pass (``V`` = epochs gives the
tutorial's distribution). Each item is a file under ``<cache dir>/<backbone>-<key>/`` (the key
hashes backbone, weights, transforms and image files); runs that share items reuse them.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import torch
from torch.utils.data import DataLoader, Dataset, Subset
from tqdm import tqdm

from dlclassics import distributed
from dlclassics.backbones import Backbone
from dlclassics.checkpoint import read_torch_file
from dlclassics.distributed import SINGLE_PROCESS, DistContext
from dlclassics.errors import DlcError
from dlclassics.io import torch_save_atomic
from dlclassics.transfer import data

BATCH_SIZE = 32  # images per backbone pass


@dataclass
class FeatureCache:
    """Backbone features: ``train`` (V, N_train, D), view v of image i at ``train[v, i]``; ``val``
    (N_val, T, D), T = 1 (centre crop) or 2 (and its mirror image); labels (N,) int64.
    ``compute_seconds``: time spent computing missing items (0 when all loaded).

    Example:
        >>> cache.train.shape, cache.val.shape  # 2 views of 244 images; 153 val images, 1 crop
        (torch.Size([2, 244, 1280]), torch.Size([153, 1, 1280]))
    """

    train: torch.Tensor
    train_labels: torch.Tensor
    val: torch.Tensor
    val_labels: torch.Tensor
    folder: Path
    compute_seconds: float

    def describe(self) -> dict[str, Any]:
        """Where the cache is, its size and what computing it cost (for ``metrics.json``).

        Example:
            >>> cache.describe()["train_views"]
            2
        """
        return {
            "folder": self.folder,
            "train_views": int(self.train.shape[0]),
            "val_views": int(self.val.shape[1]),
            "compute_seconds": self.compute_seconds,
        }


def extract_features(
    backbone: Backbone, dataset: Dataset, *, batch_size: int, ctx: DistContext, desc: str
) -> torch.Tensor:
    """Backbone features of every ``(image, label)`` item of ``dataset``, on the CPU: (N, D), or
    (N, V, D) for items of several views (V, 3, H, W). Each of the ``ctx.world_size`` ranks
    computes every K-th item, and the shards are gathered in data-set order on every rank.

    Example:
        >>> val = data.LabelledImages(samples, data.eval_transform(backbone.preprocessing))
        >>> extract_features(backbone, val, batch_size=32, ctx=SINGLE_PROCESS, desc="val").shape
        torch.Size([153, 1280])
    """
    shard = Subset(dataset, range(ctx.rank, len(dataset), ctx.world_size))
    outputs = []
    backbone.eval()
    with torch.no_grad():
        for images, _ in tqdm(DataLoader(shard, batch_size), desc=desc, disable=None, leave=False):
            images = images.to(ctx.device)
            if images.dim() == 5:  # (B, V, 3, H, W): several views per image
                b, v = images.shape[:2]
                outputs.append(backbone(images.flatten(0, 1)).view(b, v, -1).cpu())  # (B, V, D)
            else:
                outputs.append(backbone(images).cpu())  # (B, D)
    return distributed.unshard_rows(distributed.gather_objects(torch.cat(outputs), ctx))


def _cached(
    path: Path, compute: Callable[[], torch.Tensor], ctx: DistContext
) -> tuple[torch.Tensor, float]:
    """Load the tensor at ``path``, or compute and store it; returns it and the seconds spent.
    Rank 0 alone reads and writes the file and sends what it read to the others (no shared file
    system needed); ``compute`` runs on every rank."""
    if distributed.broadcast_object(path.is_file() if ctx.is_main else None, ctx):
        stored = read_torch_file(path) if ctx.is_main else {"features": None}
        if not isinstance(stored, dict) or "features" not in stored:
            raise DlcError(f"{path}: not a feature-cache file; delete it to recompute it")
        return distributed.broadcast_object(stored["features"], ctx), 0.0
    start = time.perf_counter()
    features = compute()
    if ctx.is_main:
        try:
            torch_save_atomic({"features": features}, path)
        except OSError as exc:  # a read-only or full --cache-dir
            raise DlcError(
                f"{path.parent}: cannot write the feature cache ({exc.strerror or exc}); "
                "give a writable --cache-dir"
            ) from exc
    return features, time.perf_counter() - start


def build_feature_cache(
    backbone: Backbone,
    train_samples: data.Samples,
    val_samples: data.Samples,
    *,
    weights_key: str,
    views: int,
    flip_tta: bool,
    seed: int,
    cache_dir: Path,
    ctx: DistContext = SINGLE_PROCESS,
) -> FeatureCache:
    """Load or compute ``views`` augmented views of the training set (view v under seed
    ``seed * 1000 + v``) and the val crops (and their mirror images when ``flip_tta``); every
    rank ends with the same whole cache, on the CPU. ``weights_key``: ``backbones.weights_key``.

    Example:
        >>> cache = build_feature_cache(backbone, train, val, weights_key="imagenet", views=2,
        ...                             flip_tta=False, seed=0, cache_dir=Path("runs/cache"))
        >>> cache.train.shape  # (views, training images, feature size)
        torch.Size([2, 244, 1280])
    """
    pre = backbone.preprocessing
    items = []  # (file name, data set, progress label)
    for v in range(views):
        view_seed = seed * 1000 + v
        dataset = data.LabelledImages(train_samples, data.train_transform(pre), seed=view_seed)
        items.append((f"train_view_seed{view_seed}", dataset, f"train view {v + 1}/{views}"))
    for mirror in (False, True) if flip_tta else (False,):
        name = "val_mirror" if mirror else "val_centre"
        dataset = data.LabelledImages(val_samples, data.eval_transform(pre, mirror))
        items.append((name, dataset, name))
    images = data.fingerprint(train_samples + val_samples)
    key = "|".join([backbone.name, weights_key, data.describe_transforms(pre), images])
    folder = Path(cache_dir) / f"{backbone.name}-{hashlib.sha256(key.encode()).hexdigest()[:16]}"
    done = []  # (features, seconds spent) per item
    for name, dataset, desc in items:
        compute = partial(
            extract_features, backbone, dataset, batch_size=BATCH_SIZE, ctx=ctx, desc=desc
        )
        done.append(_cached(folder / f"{name}.pt", compute, ctx))
    features = [tensor for tensor, _ in done]
    empty = torch.empty(0, len(train_samples), backbone.feature_dim)
    return FeatureCache(
        train=torch.stack(features[:views]) if views else empty,  # (V, N_train, D)
        train_labels=torch.tensor([label for _, label in train_samples]),
        val=torch.stack(features[views:], dim=1),  # (N_val, T, D)
        val_labels=torch.tensor([label for _, label in val_samples]),
        folder=folder,
        compute_seconds=sum(seconds for _, seconds in done),
    )


class CachedViews(Dataset):
    """Training items ``(feature vector (D,), label)`` from a feature cache: ``set_epoch`` draws
    one stored view per image, seeded by ``seed`` and the epoch (resumed runs draw the same).

    Example:
        >>> views = CachedViews(cache.train, cache.train_labels, seed=0)
        >>> views.set_epoch(1)
        >>> views[0][0].shape
        torch.Size([1280])
    """

    def __init__(self, views: torch.Tensor, labels: torch.Tensor, seed: int) -> None:
        self.views = views  # (V, N, D)
        self.labels = labels
        self.seed = seed
        self.view_of = torch.zeros(len(labels), dtype=torch.long)

    def set_epoch(self, epoch: int) -> None:
        """Draw, for ``epoch``, which stored view of each image is served.

        Example:
            >>> views.set_epoch(3)
        """
        generator = torch.Generator().manual_seed(self.seed * 100_003 + epoch)
        self.view_of = torch.randint(self.views.shape[0], (len(self.labels),), generator=generator)

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        return self.views[self.view_of[index], index], int(self.labels[index])
