"""Pictures in and out of the optimiser: any image file → (1, 3, H, W) pixels in [0, 1], and back.

Every PIL mode is accepted (``load_rgb`` converts grayscale, palette, alpha and CMYK to RGB). The
image is resized so that its shorter side is ``size`` pixels, keeping the aspect ratio.

Pictures more elongated than ``MAX_ASPECT``:1 are refused, and so is a working image whose longer
side would exceed ``MAX_SIDE`` pixels: a 5000 x 1 strip at ``--size 64`` would otherwise become a
64 x 320 000 image whose features do not fit in memory.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from dlclassics.data.images import load_rgb
from dlclassics.errors import DlcError
from dlclassics.io import atomic_path
from dlclassics.style.config import MAX_ASPECT, MAX_SIDE

SAVE_FORMATS = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".bmp": "BMP", ".webp": "WEBP"}


def working_size(
    path: str | os.PathLike[str], width: int, height: int, size: int
) -> tuple[int, int]:
    """(width, height) with the shorter side ``size`` and the aspect ratio kept; a DlcError for a
    picture more elongated than ``MAX_ASPECT``:1 or a longer side above ``MAX_SIDE``."""
    ratio = max(width, height) / min(width, height)
    if ratio > MAX_ASPECT:
        raise DlcError(
            f"{path}: {width}x{height} pixels, an aspect ratio of {ratio:.0f}:1; style transfer "
            f"takes pictures up to {MAX_ASPECT}:1 (crop it first)"
        )
    scale = size / min(width, height)
    new_size = (max(1, round(width * scale)), max(1, round(height * scale)))
    if max(new_size) > MAX_SIDE:
        raise DlcError(
            f"{path}: at {size} px on the shorter side it would be {new_size[0]}x{new_size[1]} "
            f"pixels; the longer side is capped at {MAX_SIDE} (use a smaller --size/--style-size)"
        )
    return new_size


def pixels_to_pil(pixels: torch.Tensor) -> Image.Image:
    """(1, 3, H, W) or (3, H, W) in [0, 1] → RGB PIL image (values clamped, rounded to 8 bits)."""
    chw = pixels.detach().reshape(-1, *pixels.shape[-2:])  # (3, H, W)
    array = (chw.clamp(0, 1) * 255.0).round().byte().permute(1, 2, 0).cpu().numpy()  # (H, W, 3)
    return Image.fromarray(array, mode="RGB")


def load_pixels(path: str | os.PathLike[str], size: int) -> torch.Tensor:
    """Any image file → (1, 3, H, W) float32 pixels in [0, 1] with shorter side ``size``; a
    missing, corrupt or too elongated file is a DlcError naming it."""
    image = load_rgb(path)
    image = image.resize(working_size(path, *image.size, size), Image.Resampling.LANCZOS)
    array = np.asarray(image, dtype=np.float32) / 255.0  # (H, W, 3)
    return torch.from_numpy(array).permute(2, 0, 1).unsqueeze(0).contiguous()  # (1, 3, H, W)


def save_pixels(pixels: torch.Tensor, path: str | os.PathLike[str]) -> Path:
    """Write (1, 3, H, W) pixels in [0, 1] atomically; the format follows the suffix (.png, .jpg…)."""
    final = Path(path)
    image_format = SAVE_FORMATS.get(final.suffix.lower())
    if image_format is None:
        raise DlcError(f"{final}: unsupported image suffix; use one of {', '.join(SAVE_FORMATS)}")
    with atomic_path(final) as tmp:
        pixels_to_pil(pixels).save(tmp, format=image_format)
    return final
