"""Pictures in and out of the optimiser: any image file → (1, 3, H, W) pixels in [0, 1], and back.

Every PIL mode is accepted (``load_rgb`` converts grayscale, palette, alpha and CMYK to RGB). The
image is resized so that its shorter side is ``size`` pixels, keeping the aspect ratio.
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

SAVE_FORMATS = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".bmp": "BMP", ".webp": "WEBP"}


def resize_shorter_side(image: Image.Image, size: int) -> Image.Image:
    """Scale ``image`` so that min(width, height) == size (aspect ratio kept, at least 1 px)."""
    width, height = image.size
    scale = size / min(width, height)
    new_size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return image.resize(new_size, Image.Resampling.LANCZOS)


def pil_to_pixels(image: Image.Image) -> torch.Tensor:
    """RGB PIL image → (1, 3, H, W) float32 in [0, 1]."""
    array = np.asarray(image, dtype=np.float32) / 255.0  # (H, W, 3)
    return torch.from_numpy(array).permute(2, 0, 1).unsqueeze(0).contiguous()  # (1, 3, H, W)


def pixels_to_pil(pixels: torch.Tensor) -> Image.Image:
    """(1, 3, H, W) or (3, H, W) in [0, 1] → RGB PIL image (values clamped, rounded to 8 bits)."""
    chw = pixels.detach().reshape(-1, *pixels.shape[-2:])  # (3, H, W)
    array = (chw.clamp(0, 1) * 255.0).round().byte().permute(1, 2, 0).cpu().numpy()  # (H, W, 3)
    return Image.fromarray(array, mode="RGB")


def load_pixels(path: str | os.PathLike[str], size: int) -> torch.Tensor:
    """Read any image file and return (1, 3, H, W) pixels in [0, 1] with shorter side ``size``.

    Raises:
        DlcError: the file is missing, not an image or corrupt (one line naming it).
    """
    if size < 8:
        raise DlcError(f"image size must be at least 8 pixels, got {size}")
    return pil_to_pixels(resize_shorter_side(load_rgb(path), size))


def save_pixels(pixels: torch.Tensor, path: str | os.PathLike[str]) -> Path:
    """Write (1, 3, H, W) pixels in [0, 1] atomically; the format follows the suffix (.png, .jpg…)."""
    final = Path(path)
    image_format = SAVE_FORMATS.get(final.suffix.lower())
    if image_format is None:
        raise DlcError(f"{final}: unsupported image suffix; use one of {', '.join(SAVE_FORMATS)}")
    with atomic_path(final) as tmp:
        pixels_to_pil(pixels).save(tmp, format=image_format)
    return final
