"""Shared fixtures. Data sets come from ``$DLC_DATA``; a missing one fails the test, never skips it."""

from __future__ import annotations

import os
from pathlib import Path

import matplotlib
import pytest
import torch

matplotlib.use("Agg", force=True)
# the suite never downloads: a missing data set or weight file fails at once
os.environ.setdefault("DLC_OFFLINE", "1")

REQUIRED_LAYOUT = {
    "hymenoptera": "hymenoptera_data/val/ants",
    "styles": "styles/tubingen.jpg",
    "yelp": "yelp/train.txt",
}


@pytest.fixture(scope="session")
def data_root() -> Path:
    """The data root the suite runs against (``$DLC_DATA``), which must exist."""
    env = os.environ.get("DLC_DATA")
    if not env:
        pytest.fail("DLC_DATA is not set: the tests need the data sets (see README)")
    root = Path(env).resolve()
    if not root.is_dir():
        pytest.fail(f"DLC_DATA={env}: no such folder")
    return root


def _require(data_root: Path, name: str) -> Path:
    path = data_root / REQUIRED_LAYOUT[name]
    if not path.exists():
        pytest.fail(f"data set {name!r} missing: expected {path}")
    return data_root


@pytest.fixture(scope="session")
def hymenoptera_root(data_root: Path) -> Path:
    """``<data root>/hymenoptera_data``."""
    return _require(data_root, "hymenoptera") / "hymenoptera_data"


@pytest.fixture(scope="session")
def styles_root(data_root: Path) -> Path:
    """``<data root>/styles``."""
    return _require(data_root, "styles") / "styles"


@pytest.fixture(scope="session")
def yelp_root(data_root: Path) -> Path:
    """``<data root>/yelp``."""
    return _require(data_root, "yelp") / "yelp"


@pytest.fixture
def one_torch_thread():
    """Tiny tensors: one torch thread avoids thread start-up and contention on a shared machine."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)
