"""Pictures in and out of the optimiser: any image file or PIL image → (1, 3, H, W) pixels in
[0, 1], and back into any format Pillow writes.

Every PIL mode is accepted (``to_rgb`` converts grayscale, palette, alpha and CMYK to RGB). The
image is resized so that its shorter side is ``size`` pixels, keeping the aspect ratio.

Pictures more elongated than ``MAX_ASPECT``:1 are refused, and so is a working image whose longer
side would exceed ``MAX_SIDE`` pixels: a 5000 x 1 strip at ``--size 64`` would otherwise become a
64 x 320 000 image whose features do not fit in memory.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from dlclassics.data.images import load_rgb, to_rgb
from dlclassics.errors import DlcError
from dlclassics.io import atomic_path
from dlclassics.style.config import MAX_ASPECT, MAX_SIDE, Picture


def save_format(path: str | os.PathLike[str]) -> str | None:
    """The Pillow format an output path's suffix names (".tif" → "TIFF"), or None when Pillow
    cannot write that suffix: then the path is a folder, not an image.

    Example:
        >>> save_format("out/y.tif"), save_format("out/run.v2")
        ('TIFF', None)
    """
    image_format = Image.registered_extensions().get(Path(path).suffix.lower())
    return image_format if image_format in Image.SAVE else None


def check_save_format(path: str | os.PathLike[str]) -> None:
    """Before the work: a DlcError naming ``path`` when Pillow cannot write an RGB picture in its
    suffix's format (e.g. .xbm takes only black and white).

    Example:
        >>> check_save_format("painted.webp")  # fine: no error
    """
    image_format = save_format(path)
    try:
        Image.new("RGB", (8, 8)).save(io.BytesIO(), format=image_format)
    except (OSError, ValueError, KeyError) as exc:
        raise DlcError(
            f"{path}: Pillow cannot write a colour picture as {image_format} ({exc}); "
            "choose another suffix, e.g. .png"
        ) from None


def picture_name(picture: Picture, role: str) -> str:
    """How messages and titles name a picture: its path, or ``role`` for a PIL image.

    Example:
        >>> picture_name("photo.jpg", "content"), picture_name(Image.new("RGB", (2, 2)), "content")
        ('photo.jpg', 'the content picture')
    """
    return f"the {role} picture" if isinstance(picture, Image.Image) else os.fspath(picture)


def working_size(name: str, width: int, height: int, size: int) -> tuple[int, int]:
    """(width, height) with the shorter side ``size`` and the aspect ratio kept; a DlcError
    naming the picture ``name`` when it is more elongated than ``MAX_ASPECT``:1 or its longer
    side would exceed ``MAX_SIDE``.

    Example:
        >>> working_size("photo.jpg", 1024, 768, 64)
        (85, 64)
    """
    ratio = max(width, height) / min(width, height)
    if ratio > MAX_ASPECT:
        raise DlcError(
            f"{name}: {width}x{height} pixels, an aspect ratio of {ratio:.0f}:1; style transfer "
            f"takes pictures up to {MAX_ASPECT}:1 (crop it first)"
        )
    scale = size / min(width, height)
    new_size = (max(1, round(width * scale)), max(1, round(height * scale)))
    if max(new_size) > MAX_SIDE:
        raise DlcError(
            f"{name}: at {size} px on the shorter side it would be {new_size[0]}x{new_size[1]} "
            f"pixels; the longer side is capped at {MAX_SIDE} (use a smaller --size/--style-size)"
        )
    return new_size


def pixels_to_pil(pixels: torch.Tensor) -> Image.Image:
    """(1, 3, H, W) or (3, H, W) in [0, 1] → RGB PIL image (values clamped, rounded to 8 bits).

    Example:
        >>> pixels_to_pil(torch.ones(1, 3, 2, 4)).size
        (4, 2)
    """
    chw = pixels.detach().reshape(-1, *pixels.shape[-2:])  # (3, H, W)
    array = (chw.clamp(0, 1) * 255.0).round().byte().permute(1, 2, 0).cpu().numpy()  # (H, W, 3)
    return Image.fromarray(array, mode="RGB")


def load_pixels(picture: Picture, size: int, role: str = "content") -> torch.Tensor:
    """An image file or PIL image → (1, 3, H, W) float32 pixels in [0, 1] with shorter side
    ``size``; a missing, corrupt or too elongated picture is a DlcError naming it (a PIL image
    by its ``role``).

    Example:
        >>> load_pixels(Image.new("L", (40, 30)), 15).shape
        torch.Size([1, 3, 15, 20])
    """
    image = to_rgb(picture) if isinstance(picture, Image.Image) else load_rgb(picture)
    new_size = working_size(picture_name(picture, role), *image.size, size)
    image = image.resize(new_size, Image.Resampling.LANCZOS)
    array = np.asarray(image, dtype=np.float32) / 255.0  # (H, W, 3)
    return torch.from_numpy(array).permute(2, 0, 1).unsqueeze(0).contiguous()  # (1, 3, H, W)


def save_pixels(pixels: torch.Tensor, path: str | os.PathLike[str]) -> Path:
    """Write (1, 3, H, W) pixels in [0, 1] atomically; the format follows the suffix (any that
    Pillow writes: .png, .jpg, .tif, .webp …); returns the path.

    Example:
        >>> save_pixels(torch.rand(1, 3, 8, 8), "noise.tif").name
        'noise.tif'
    """
    final = Path(path)
    image_format = save_format(final)
    if image_format is None:
        raise DlcError(f"{final}: Pillow writes no image format with the suffix {final.suffix!r}")
    with atomic_path(final) as tmp:
        pixels_to_pil(pixels).save(tmp, format=image_format)
    return final
