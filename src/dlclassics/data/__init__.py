"""Data sets: where they live, what they hold, how to fetch and verify them, how to read images."""

from dlclassics.data.images import load_rgb, to_rgb
from dlclassics.data.registry import DATASETS, dataset_path, get_dataset
from dlclassics.data.root import offline, resolve_data_root, user_cache_dir

__all__ = [
    "DATASETS",
    "dataset_path",
    "get_dataset",
    "load_rgb",
    "offline",
    "resolve_data_root",
    "to_rgb",
    "user_cache_dir",
]
