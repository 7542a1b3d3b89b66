"""Spatial image features for the attention captioner: the backbone's last feature map, cached
on disk like the pooled features, and its per-location reduction.

The last feature map of a backbone is a g x g grid of C-channel vectors (7 x 7 x 1280 for the
default ``efficientnet_lite0`` at 224 px, 4 x 4 at 128 px); stored as L = g * g vectors per image,
row-major (location ``l`` is row ``l // g``, column ``l % g``). Its mean over the locations is the
pooled feature of ``captioning.features``, so one backbone pass writes both caches.

``fit_map_reducer`` then fits, on the training images' location vectors only, a PCA to ``dim``
components, each scaled to unit variance (whitened: every component starts on the same footing
in the attention layer), and appends two channels with the cell's centre (x, y) in [-1, 1]: the
context vector is a weighted mean of location vectors, and the coordinates tell the model *where*
it looked (on the shapes data, val BLEU-4 0.511 → 0.539 at 128 px with them).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from dlclassics.captioning.features import (
    PCA,
    FeatureConfig,
    cache_files,
    compute_features,
    fit_pca,
    save_npy,
)

MAP_DTYPE = np.float16  # on disk: half the size; the maps are read back as float32


def extract_feature_maps(
    paths: Sequence[Path],
    config: FeatureConfig,
    cache_dir: Path | None = None,
    desc: str = "image feature maps",
) -> np.ndarray:
    """(N, L, C) float32 last feature maps of N image files (rounded to float16, as cached),
    from the cache when present.

    Computing them also writes the pooled features' cache entry (their mean over the locations,
    computed in float32 before storage), which ``features.extract_features`` then reads.
    """
    pooled_file, map_file = cache_files(paths, config, cache_dir)
    if map_file.is_file():
        maps = np.load(map_file)
        if maps.shape[0] == len(paths):
            return maps.astype(np.float32)
    pooled, maps = compute_features(paths, config, desc, maps=True)
    maps = maps.astype(MAP_DTYPE)  # what the cache returns next time, returned now as well
    save_npy(map_file, maps)
    if not pooled_file.is_file():
        save_npy(pooled_file, pooled)
    return maps.astype(np.float32)


def cell_coordinates(locations: int) -> np.ndarray:
    """(L, 2) centre (x, y) of every cell of a g x g map (row-major), scaled to [-1, 1]."""
    side = math.isqrt(locations)
    if side * side != locations:
        raise ValueError(f"expected a square feature map, got {locations} locations")
    rows, columns = np.divmod(np.arange(locations), side)
    centre = (side - 1) / 2
    scale = centre if centre > 0 else 1.0
    return np.stack([(columns - centre) / scale, (rows - centre) / scale], axis=1)


@dataclass(frozen=True)
class MapReducer:
    """``reduced = [whitened PCA of each location's vector, (x, y) of its cell]``."""

    pca: PCA  # components (C, K)
    scale: np.ndarray  # (K,) standard deviation of each component on the training locations
    coordinates: bool = True

    def apply(self, maps: np.ndarray) -> np.ndarray:
        """(N, L, C) → (N, L, K + 2) float32 (K without coordinates)."""
        N, L, C = maps.shape
        reduced = self.pca.apply(maps.reshape(N * L, C)).reshape(N, L, -1) / self.scale
        if self.coordinates:
            xy = np.broadcast_to(cell_coordinates(L), (N, L, 2))
            reduced = np.concatenate([reduced, xy], axis=2)
        return reduced.astype(np.float32)

    @property
    def dim(self) -> int:
        """Size of one reduced location vector."""
        return self.scale.shape[0] + 2 * self.coordinates

    def state(self) -> dict[str, Any]:
        """Tensors and flags for a checkpoint (``MapReducer.from_state`` reads them back)."""
        return {
            **self.pca.state(),
            "scale": torch.from_numpy(self.scale),
            "coordinates": self.coordinates,
        }

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> MapReducer:
        """The reducer ``state()`` stored."""
        return cls(PCA.from_state(state), state["scale"].numpy(), bool(state["coordinates"]))


Projection = PCA | MapReducer


def projection_state(projection: Projection) -> dict[str, Any]:
    """A fitted feature projection as checkpoint data: ``{"kind": "pca" | "map", ...}``.

    >>> projection_state(PCA(np.zeros(2), np.eye(2)))["kind"]
    'pca'
    """
    kind = "map" if isinstance(projection, MapReducer) else "pca"
    return {"kind": kind, **projection.state()}


def projection_from_state(state: dict[str, Any]) -> Projection:
    """The projection ``projection_state`` stored (a KeyError or TypeError when damaged).

    >>> projection_from_state(projection_state(PCA(np.zeros(2), np.eye(2)))).mean.shape
    (2,)
    """
    reader = MapReducer if state["kind"] == "map" else PCA
    return reader.from_state(state)


def fit_map_reducer(
    train_maps: np.ndarray, dim: int, coordinates: bool = True, max_vectors: int = 50_000
) -> MapReducer:
    """PCA of the training location vectors (at most ``max_vectors`` of them, evenly spaced, for
    the fit) to ``dim`` whitened components, plus the cell coordinates."""
    N, L, C = train_maps.shape
    vectors = train_maps.reshape(N * L, C)
    vectors = vectors[:: max(1, -(-len(vectors) // max_vectors))]
    pca = fit_pca(vectors, dim)
    std = pca.apply(vectors).std(axis=0)
    return MapReducer(pca, np.where(std > 1e-8, std, 1.0).astype(np.float32), coordinates)
