"""What the page sends: images as data URLs inside a JSON body, each checked before any model
sees it — its size against the upload limit, its content by decoding it with the same reader as
every command (``data.images.load_rgb``: EXIF orientation, alpha onto white, huge photos decoded
at reduced size). A refusal is an ``UploadError``: its message names the file and the problem,
and its ``status`` is the HTTP code the page gets (413 too large, 415 not an image, 400 else).
"""

from __future__ import annotations

import base64
import binascii
import io
import json
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image

from dlclassics.data.images import load_rgb
from dlclassics.errors import DlcError

DATA_URL_PREFIX = "data:"
DECODE_MIN_SIDE = 1024  # as ``dlc transfer predict`` reads photos: enough for any model here
BASE64_GROWTH = 4 / 3  # a data URL is a third larger than its file


class UploadError(DlcError):
    """A refused request: the message for the page, and the HTTP status to send it with.

    Example:
        >>> UploadError("a.txt: not an image", status=415).status
        415
    """

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


@dataclass
class Upload:
    """One uploaded image: the file name the browser gave and the decoded RGB picture.

    Example:
        >>> Upload("a.jpg", Image.new("RGB", (4, 4))).image.mode
        'RGB'
    """

    name: str
    image: Image.Image


def megabytes(size: float) -> str:
    """A byte count for a message: ``12.5 MB``.

    Example:
        >>> megabytes(12_500_000)
        '12.5 MB'
    """
    return f"{size / 1e6:.1f} MB"


def body_limit(max_upload: int, images: int) -> int:
    """The most bytes a JSON body carrying ``images`` images may have: each at most
    ``max_upload`` bytes as a file, a third more as base64, plus room for the other fields.

    Example:
        >>> body_limit(1_000_000, 2)
        2731666
    """
    return int(images * max_upload * BASE64_GROWTH) + 65_536


def read_json(body: bytes) -> dict[str, Any]:
    """A request's JSON object; anything else is an UploadError (400).

    Example:
        >>> read_json(b'{"text": "ok"}')
        {'text': 'ok'}
    """
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UploadError(f"the request is not JSON ({exc})") from exc
    if not isinstance(data, dict):
        raise UploadError("the request is not a JSON object")
    return data


def decode_data_url(name: str, url: object, max_upload: int) -> bytes:
    """The file inside a ``data:<type>;base64,<data>`` URL; over ``max_upload`` bytes it is an
    UploadError 413 naming the file, its size and the limit.

    Example:
        >>> decode_data_url("a.txt", "data:text/plain;base64,b2s=", 100)
        b'ok'
    """
    if not isinstance(url, str) or not url.startswith(DATA_URL_PREFIX) or "," not in url:
        raise UploadError(f"{name}: not an uploaded file (expected a data URL)")
    header, _, payload = url.partition(",")
    if not header.endswith(";base64"):
        raise UploadError(f"{name}: not an uploaded file (expected base64 data)")
    if len(payload) > max_upload * BASE64_GROWTH + 4:
        size = megabytes(len(payload) / BASE64_GROWTH)
        raise UploadError(f"{name}: {size}, over the {megabytes(max_upload)} limit", status=413)
    try:
        return base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise UploadError(f"{name}: damaged upload ({exc})") from exc


def safe_name(name: object) -> str:
    """The last part of a browser-given file name, printable, at most 100 characters.

    Example:
        >>> safe_name("../../etc/passwd")
        'passwd'
    """
    text = Path(str(name or "image")).name
    return "".join(c if c.isprintable() else "?" for c in text)[:100] or "image"


def decode_image(name: str, data: bytes) -> Image.Image:
    """Uploaded bytes → an RGB PIL image, read as ``load_rgb`` reads files; a file that is no
    image is an UploadError 415 naming it.

    Example:
        >>> buffer = io.BytesIO(); Image.new("L", (8, 8)).save(buffer, "PNG")
        >>> decode_image("a.png", buffer.getvalue()).mode
        'RGB'
    """
    with tempfile.TemporaryDirectory(prefix="dlc-serve-") as folder:
        path = Path(folder) / "upload"
        path.write_bytes(data)
        try:
            return load_rgb(path, min_side=DECODE_MIN_SIDE)
        except DlcError as exc:
            reason = str(exc).removeprefix(f"{path}: ")
            raise UploadError(f"{name}: not an image this page can read ({reason})", 415) from exc


def read_image(field: object, max_upload: int) -> Upload:
    """One ``{"name": ..., "data": <data URL>}`` object of a request, checked and decoded.

    Example:
        >>> read_image({"name": "a.png", "data": png_data_url}, 10_000_000).name
        'a.png'
    """
    if not isinstance(field, dict):
        raise UploadError("an image entry is not a {name, data} object")
    name = safe_name(field.get("name"))
    return Upload(name, decode_image(name, decode_data_url(name, field.get("data"), max_upload)))


def data_url(image: Image.Image, fmt: str = "PNG") -> str:
    """An image as a data URL for the page (PNG, or ``fmt`` such as JPEG).

    Example:
        >>> data_url(Image.new("RGB", (1, 1)))[:22]
        'data:image/png;base64,'
    """
    buffer = io.BytesIO()
    image.save(buffer, format=fmt)
    encoded = base64.b64encode(buffer.getvalue()).decode("ascii")
    return f"data:image/{fmt.lower()};base64,{encoded}"
