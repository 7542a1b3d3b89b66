"""Atomic output: every file a run writes appears whole or not at all.

Each writer goes to a temporary file in the destination folder and renames it into place, so an
interrupted run never leaves a half-written ``metrics.json``, figure or checkpoint behind. A
destination that is a device or a named pipe (``/dev/stdout``, ``/dev/full``, a fifo with a
reader) is written straight into instead: renaming over it would replace it with a regular file,
and the reader would get nothing. A failed write there is one DlcError naming the path.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from dlclassics.errors import DlcError

_UMASK = os.umask(0)  # the process's umask, read by setting it and then put back
os.umask(_UMASK)


def is_special_file(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` must be written in place, not replaced: an existing device, named pipe
    or socket, or any path in or leading into ``/dev`` or ``/proc`` (``/dev/stdout`` is a link
    to ``/proc/self/fd/1``, which may be a regular file the shell opened).

    Example:
        >>> is_special_file("/dev/null"), is_special_file("/dev/stdout"), is_special_file("r.md")
        (True, True, False)
    """
    target = Path(path)
    if target.exists() and not target.is_file() and not target.is_dir():
        return True
    names = (os.path.abspath(target), os.path.realpath(target))
    return any(name.startswith(("/dev/", "/proc/")) for name in names)


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` if the block succeeds.

    A device or named pipe is yielded as it is, to be written straight into; a symbolic link
    gets its target replaced, so the link stays.
    """
    if is_special_file(path):
        try:
            yield Path(path)
        except OSError as exc:
            raise DlcError(f"{path}: cannot write ({exc.strerror or exc})") from exc
        return
    final = Path(os.path.realpath(path))
    final.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{final.name}.", suffix=".tmp", dir=final.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes 0600; outputs get the usual permissions
    try:
        yield tmp
        os.replace(tmp, final)
    finally:
        if tmp.exists():
            tmp.unlink()


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> Path:
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
    return Path(path)


def atomic_write_text(path: str | os.PathLike[str], text: str) -> Path:
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)


def write_output_text(path: str | os.PathLike[str], text: str) -> Path | None:
    """Write ``text`` where the user asked: ``-`` is standard output; a device or a named pipe
    straight into; anything else atomically. A failed write is one DlcError naming the path.

    Returns the path written, or None for standard output.

    Example:
        >>> write_output_text("predictions.txt", "1\n0\n")
        PosixPath('predictions.txt')
    """
    if os.fspath(path) == "-":
        sys.stdout.write(text)
        sys.stdout.flush()
        return None
    target = Path(path)
    if target.is_dir():
        raise DlcError(f"{target}: is a folder; give a file name")
    try:
        return atomic_write_text(target, text)
    except OSError as exc:
        raise DlcError(f"{target}: cannot write ({exc.strerror or exc})") from exc


def _json_ready(value: Any) -> Any:
    """Convert numpy scalars/arrays and paths so ``json`` can write them; NaN/inf become null."""
    if isinstance(value, dict):
        return {str(k): _json_ready(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_ready(v) for v in value]
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if hasattr(value, "tolist"):  # numpy arrays and scalars, torch tensors
        return _json_ready(value.tolist())
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def atomic_write_json(path: str | os.PathLike[str], obj: Any) -> Path:
    """Write ``obj`` as indented JSON, atomically."""
    return atomic_write_text(path, json.dumps(_json_ready(obj), indent=2, sort_keys=False) + "\n")


def save_figure(fig: Any, path: str | os.PathLike[str], dpi: int = 110) -> Path:
    """Save a matplotlib ``Figure`` atomically.

    Figures are built with ``matplotlib.figure.Figure``, not pyplot: nothing global (backend,
    open-figure list) changes, so a notebook user's plotting setup is left alone.
    """
    final = Path(path)
    with atomic_path(final) as tmp:
        fig.savefig(tmp, format=final.suffix.lstrip(".") or "png", dpi=dpi, bbox_inches="tight")
    return final


def torch_save_atomic(obj: Any, path: str | os.PathLike[str]) -> Path:
    """``torch.save`` through a temporary file, so a crash mid-save keeps the previous checkpoint."""
    import torch

    with atomic_path(path) as tmp:
        torch.save(obj, tmp)
    return Path(path)
