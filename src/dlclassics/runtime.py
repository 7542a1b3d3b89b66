"""Run-time helpers shared by the experiments: seeding, device choice, matplotlib backend."""

from __future__ import annotations

import os
import random


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and PyTorch so the same seed gives the same run."""
    import numpy as np
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def default_device() -> str:
    """``cuda`` when a GPU is visible, else ``cpu``; override with ``DLC_DEVICE``."""
    import torch

    return os.environ.get("DLC_DEVICE") or ("cuda" if torch.cuda.is_available() else "cpu")


def use_agg_backend() -> None:
    """Figures are written to files, never shown: select the Agg backend before pyplot loads."""
    import matplotlib

    matplotlib.use("Agg", force=True)
