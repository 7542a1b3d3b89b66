"""Run-time choices shared by the experiments: seeding, the device, mixed precision, threads."""

from __future__ import annotations

import contextlib
import os
import random
import re
from collections.abc import Iterator

from dlclassics.errors import DlcError

DEVICE_ENV_VAR = "DLC_DEVICE"
DEVICE_PATTERN = re.compile(r"cpu|cuda(:\d+)?")


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and PyTorch so the same seed gives the same run."""
    import numpy as np
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def resolve_device(requested: str | None = None) -> str:
    """The device to compute on: ``requested`` (``--device``), else ``$DLC_DEVICE``, else the
    GPU when one is visible, else the CPU. A malformed name, or a GPU asked for on a machine
    without one, is a DlcError."""
    import torch

    source = "--device" if requested else DEVICE_ENV_VAR
    device = requested or os.environ.get(DEVICE_ENV_VAR) or ""
    if not device:
        return "cuda" if torch.cuda.is_available() else "cpu"
    if not DEVICE_PATTERN.fullmatch(device):
        raise DlcError(f"{source}={device}: expected cpu, cuda or cuda:N")
    if device.startswith("cuda"):
        index = int(device.partition(":")[2] or 0)
        if not torch.cuda.is_available():
            raise DlcError(f"{source}={device}: no CUDA GPU is visible to PyTorch")
        if index >= torch.cuda.device_count():
            raise DlcError(f"{source}={device}: only {torch.cuda.device_count()} GPU(s) visible")
    return device


def autocast_dtype(device: str, precision: str = "auto"):
    """The autocast dtype for ``precision`` on ``device``, or None for plain float32.

    ``auto`` is bfloat16 on a GPU that supports it (no loss scaling needed, unlike float16) and
    float32 on the CPU, where autocast is slower than float32 for these models.
    """
    import torch

    if precision == "fp32" or not device.startswith("cuda"):
        return None
    if precision == "fp16":
        return torch.float16
    if precision == "bf16" or torch.cuda.is_bf16_supported():
        return torch.bfloat16
    return None


def autocast(device: str, precision: str = "auto") -> contextlib.AbstractContextManager:
    """Mixed precision for the forward pass on a GPU; a no-op on the CPU."""
    import torch

    dtype = autocast_dtype(device, precision)
    if dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(device_type="cuda", dtype=dtype)


@contextlib.contextmanager
def torch_threads(count: int | None) -> Iterator[None]:
    """Run the block with ``count`` intra-op threads (None: leave the setting alone).

    Small models (a linear head on cached features, the word-level sentiment models) lose more
    to starting and synchronising threads than they gain: on a busy 2-core machine one thread
    was 10-20x faster than two (benchmarks/HISTORY.md).
    """
    import torch

    before = torch.get_num_threads()
    if count is not None:
        torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(before)
