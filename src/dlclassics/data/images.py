"""Reading any image a user points us at as 8-bit RGB, with a one-line error when it cannot be read.

Photos come in every mode PIL knows: grayscale (L, I;16), palette (P), CMYK JPEGs, and images with
an alpha channel (LA, PA, RGBA). Networks want RGB, so everything is converted here, once; alpha is
composited onto white rather than dropped, so transparent regions do not turn black.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from PIL import Image, ImageOps, UnidentifiedImageError

from dlclassics.errors import DlcError

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm")
SIXTEEN_BIT_MODES = ("I;16", "I;16B", "I;16L", "I;16N", "I")
ALPHA_MODES = ("RGBA", "RGBa", "LA", "La", "PA")


def to_rgb(image: Image.Image) -> Image.Image:
    """Convert a PIL image of any mode to 8-bit RGB.

    Transparency, whether an alpha channel or a ``transparency`` entry (palette index or colour
    key), is composited onto white. 16-bit grayscale maps full scale to full scale (65535 -> 255),
    so a dark 16-bit image stays dark; 32-bit integer images (mode ``I``) are read the same way,
    clipped to 0..65535.
    """
    if image.mode in SIXTEEN_BIT_MODES:
        import numpy as np

        array = np.clip(np.asarray(image, dtype=np.float64), 0, 65535)
        image = Image.fromarray((array / 257.0).round().astype(np.uint8))  # 2-D uint8: mode L
    if image.mode in ALPHA_MODES or "transparency" in image.info:
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    if image.mode == "RGB":
        return image
    return image.convert("RGB")


def load_rgb(path: str | os.PathLike[str]) -> Image.Image:
    """Load ``path`` fully as an RGB PIL image, honouring EXIF orientation.

    Raises:
        DlcError: ``<path>: <problem>`` when the file is missing, unreadable, not an image,
            truncated or corrupt, or too large to decode safely.
    """
    p = Path(path)
    if not p.exists():
        raise DlcError(f"{p}: no such file")
    if not p.is_file():
        raise DlcError(f"{p}: not a file")
    try:
        with Image.open(p) as img:
            img.load()  # decode now, so truncated files fail here and not deep in a DataLoader
            oriented = ImageOps.exif_transpose(img) or img
    except PermissionError as exc:
        raise DlcError(f"{p}: cannot read ({exc.strerror or 'permission denied'})") from exc
    except UnidentifiedImageError as exc:
        raise DlcError(f"{p}: not a readable image file") from exc
    except Image.DecompressionBombError as exc:
        raise DlcError(f"{p}: image too large to decode safely ({_first_line(exc)})") from exc
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise DlcError(f"{p}: corrupt or truncated image ({_first_line(exc)})") from exc
    return to_rgb(oriented).copy()


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def is_image_file(path: str | os.PathLike[str]) -> bool:
    name = os.fspath(path).lower()
    return name.endswith(IMAGE_SUFFIXES) and not os.path.basename(name).startswith(".")


def list_images(folder: str | os.PathLike[str]) -> list[Path]:
    """All image files directly inside ``folder``, sorted by name."""
    root = Path(folder)
    if not root.is_dir():
        raise DlcError(f"{root}: not a folder")
    return sorted(p for p in root.iterdir() if p.is_file() and is_image_file(p))


def expand_image_args(paths: Iterable[str | os.PathLike[str]]) -> list[Path]:
    """Expand command-line arguments that are image files or folders of images into files."""
    files: list[Path] = []
    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            files.extend(sorted(q for q in p.rglob("*") if q.is_file() and is_image_file(q)))
        elif p.exists():
            files.append(p)
        else:
            raise DlcError(f"{p}: no such file or folder")
    return files
