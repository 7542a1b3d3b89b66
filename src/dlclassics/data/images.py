"""Reading any image a user points us at as 8-bit RGB, with a one-line error when it cannot be read.

Photos come in every mode PIL knows: grayscale (L, I;16), palette (P), CMYK JPEGs, and images with
an alpha channel (LA, PA, RGBA). Networks want RGB, so everything is converted here, once; alpha is
composited onto white rather than dropped, so transparent regions do not turn black.
"""

from __future__ import annotations

import os
import sys
import warnings
from collections.abc import Iterable
from pathlib import Path

from PIL import Image, ImageOps, UnidentifiedImageError

from dlclassics.errors import DlcError, first_line

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm")
SIXTEEN_BIT_MODES = ("I;16", "I;16B", "I;16L", "I;16N", "I")
ALPHA_MODES = ("RGBA", "RGBa", "LA", "La", "PA")


def to_rgb(image: Image.Image) -> Image.Image:
    """Convert a PIL image of any mode to 8-bit RGB. Transparency (alpha, palette index or colour
    key) is composited onto white. 16-bit grayscale maps 65535 to 255, so a dark 16-bit image stays
    dark; 32-bit integer images (mode ``I``) are read the same way, clipped to 0..65535.

    Example:
        >>> to_rgb(Image.new("RGBA", (2, 2), (0, 0, 0, 0))).getpixel((0, 0))  # transparent: white
        (255, 255, 255)
    """
    if image.mode in SIXTEEN_BIT_MODES:
        import numpy as np

        array = np.clip(np.asarray(image, dtype=np.float64), 0, 65535)
        image = Image.fromarray((array / 257.0).round().astype(np.uint8))  # 2-D uint8: mode L
    if image.mode in ALPHA_MODES or "transparency" in image.info:
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return image if image.mode == "RGB" else image.convert("RGB")


def load_rgb(path: str | os.PathLike[str], min_side: int | None = None) -> Image.Image:
    """Load ``path`` fully as an RGB PIL image, honouring EXIF orientation; any problem is a
    ``DlcError`` ``<path>: <problem>``.

    ``min_side`` shrinks a large image while decoding, by the largest integer factor that keeps
    its shorter side at least ``min_side`` pixels (a JPEG decodes at 1/2, 1/4 or 1/8 scale, other
    formats are reduced before any full-size conversion). PIL's decompression-bomb warning is
    silenced (it would print beside our one-line messages); its error is a DlcError.

    Example:
        >>> load_rgb("photo.jpg", min_side=256).mode  # doctest: +SKIP
        'RGB'
    """
    p = Path(path)
    if not p.is_file():
        raise DlcError(f"{p}: {'not a file' if p.exists() else 'no such file'}")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(p) as img:
                factor = _shrink_factor(img.size, min_side)
                if factor > 1:
                    img.draft(None, (img.width // factor, img.height // factor))  # JPEG only
                img.load()  # decode now, so truncated files fail here and not deep in a DataLoader
                image = _shrink(img, min_side)
                ImageOps.exif_transpose(image, in_place=True)
                rgb = to_rgb(image)
    except PermissionError as exc:
        raise DlcError(f"{p}: cannot read ({exc.strerror or 'permission denied'})") from exc
    except UnidentifiedImageError as exc:
        raise DlcError(f"{p}: not a readable image file") from exc
    except Image.DecompressionBombError as exc:
        raise DlcError(f"{p}: image too large to decode safely ({first_line(exc)})") from exc
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise DlcError(f"{p}: corrupt or truncated image ({first_line(exc)})") from exc
    return rgb.copy() if rgb is img else rgb  # a plain image, detached from the closed file


def _shrink_factor(size: tuple[int, int], min_side: int | None) -> int:
    """The integer factor that takes the shorter side of ``size`` down towards ``min_side``."""
    return max(1, min(size) // min_side) if min_side else 1


def _shrink(image: Image.Image, min_side: int | None) -> Image.Image:
    """``image`` reduced by ``_shrink_factor`` (box average). Palette and 1-bit images, which
    ``Image.reduce`` cannot average, and colour keys, which averaging would blur, become RGB
    first."""
    factor = _shrink_factor(image.size, min_side)
    if factor == 1:
        return image
    if image.mode in ("1", "P") or "transparency" in image.info:
        image = to_rgb(image)
    elif image.mode in SIXTEEN_BIT_MODES:
        image = image.convert("I")  # 32-bit integers: reduce averages them, to_rgb maps them
    return image.reduce(factor)


def is_image_file(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` names an image by its suffix (any case), hidden files excepted.

    Example:
        >>> is_image_file("ants/a.JPG"), is_image_file("ants/.a.jpg"), is_image_file("notes.txt")
        (True, False, False)
    """
    name = os.fspath(path).lower()
    return name.endswith(IMAGE_SUFFIXES) and not os.path.basename(name).startswith(".")


def list_images(folder: str | os.PathLike[str]) -> list[Path]:
    """All image files directly inside ``folder``, sorted by name.

    Example:
        >>> list_images("my_images/ants")  # doctest: +SKIP
        [PosixPath('my_images/ants/a.jpg'), PosixPath('my_images/ants/b.png')]
    """
    root = Path(folder)
    if not root.is_dir():
        raise DlcError(f"{root}: not a folder")
    try:
        return sorted(p for p in root.iterdir() if p.is_file() and is_image_file(p))
    except OSError as exc:
        raise DlcError(f"{root}: cannot read the folder ({exc.strerror or exc})") from exc


def _images_below(folder: Path) -> list[Path]:
    """Every image file below ``folder``, sorted. A subfolder that cannot be read is a DlcError
    naming it, rather than silently left out (as ``Path.rglob`` would)."""
    found = []
    for dirpath, _, filenames in os.walk(folder, onerror=_unreadable_folder):
        paths = (Path(dirpath) / name for name in filenames)
        found.extend(p for p in paths if p.is_file() and is_image_file(p))
    return sorted(found)


def _unreadable_folder(exc: OSError) -> None:
    """``os.walk``'s error handler: a folder it cannot list is an error naming it."""
    raise DlcError(f"{exc.filename}: cannot read the folder ({exc.strerror or exc})") from exc


def expand_image_args(paths: Iterable[str | os.PathLike[str]]) -> list[Path]:
    """Command-line arguments → image files: files as given, folders into the image files below
    them (sorted), ``-`` into the paths read from standard input, one a line.

    Example:
        >>> expand_image_args(["a.jpg", "my_images"])  # doctest: +SKIP
        [PosixPath('a.jpg'), PosixPath('my_images/ants/a.jpg'), PosixPath('my_images/bees/b.jpg')]
    """
    files: list[Path] = []
    for raw in paths:
        if os.fspath(raw) == "-":
            lines = [line.strip() for line in sys.stdin]
            files.extend(expand_image_args(line for line in lines if line and line != "-"))
            continue
        p = Path(raw)
        if p.is_dir():
            files.extend(_images_below(p))
        elif p.exists():
            files.append(p)
        else:
            raise DlcError(f"{p}: no such file or folder")
    return files
