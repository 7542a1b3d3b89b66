"""The hidden staging folders a fetch assembles a data set in, and the ones a killed fetch left.

A fetch works in ``<data root>/.<folder>.fetch-XXXX`` and removes it when it ends; only a fetch
killed outright leaves one behind, so each records its creator in ``.dlc-fetch.pid`` (``PID
HOST``). A staging folder is *stale* when:

- its creator ran on this host and is no longer running (or the folder is older than
  :data:`MAX_LIVE_AGE_S`, whatever the PID says, since PIDs are reused);
- its creator ran on another host (a data root on a shared file system) and the folder is older
  than :data:`FOREIGN_STALE_AGE_S`;
- it has no readable PID file and is older than :data:`NO_PID_STALE_AGE_S`.

The next fetch into the data root removes the stale ones; ``dlc data status`` lists all of them.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from dlclassics.outputs import pid_alive

PID_FILE = ".dlc-fetch.pid"
STAGING_MARK = ".fetch-"
NO_PID_STALE_AGE_S = 3600.0
FOREIGN_STALE_AGE_S = 24 * 3600.0
MAX_LIVE_AGE_S = 7 * 24 * 3600.0


@dataclass(frozen=True)
class StagingFolder:
    """A staging folder in a data root: where, who made it, whether it is stale, how big."""

    path: Path
    pid: int | None
    host: str | None
    stale: bool
    why: str
    size: int


def _tree_bytes(folder: Path) -> int:
    """Bytes of the files under ``folder`` (files that cannot be read count 0)."""
    total = 0
    for dirpath, _, filenames in os.walk(folder):
        for name in filenames:
            with contextlib.suppress(OSError):
                total += os.lstat(os.path.join(dirpath, name)).st_size
    return total


def make_staging(data_root: Path, folder: str) -> Path:
    """Create ``<data_root>/.<folder>.fetch-XXXX`` holding this process's PID file.

    Example:
        >>> make_staging(Path("/data"), "yelp")  # doctest: +SKIP
        PosixPath('/data/.yelp.fetch-k2j4x1')
    """
    staging = Path(tempfile.mkdtemp(prefix=f".{folder}{STAGING_MARK}", dir=data_root))
    (staging / PID_FILE).write_text(f"{os.getpid()} {socket.gethostname()}\n", encoding="utf-8")
    return staging


def _describe(staging: Path, now: float) -> StagingFolder:
    try:  # the PID file holds "PID HOST"
        fields = (staging / PID_FILE).read_text(encoding="utf-8").split()
        pid, host = int(fields[0]), (fields[1] if len(fields) > 1 else None)
    except (OSError, ValueError, IndexError):
        pid, host = None, None
    age = 0.0
    with contextlib.suppress(OSError):
        age = now - staging.stat().st_mtime
    hours = f"{age / 3600:.1f} h old"
    if pid is None:
        stale = age > NO_PID_STALE_AGE_S
        why = f"no PID file, {hours}"
    elif host is not None and host != socket.gethostname():
        stale = age > FOREIGN_STALE_AGE_S
        why = f"made by PID {pid} on host {host}, {hours}"
    elif pid == os.getpid():
        stale, why = False, "made by this process"
    elif pid_alive(pid):
        stale = age > MAX_LIVE_AGE_S
        why = f"PID {pid} is running, {hours}"
    else:
        stale, why = True, f"PID {pid} is gone"
    return StagingFolder(staging, pid, host, stale, why, _tree_bytes(staging))


def find_staging(data_root: str | os.PathLike[str]) -> list[StagingFolder]:
    """Every staging folder directly in ``data_root``, stale or not, sorted by name.

    Example:
        >>> [folder.why for folder in find_staging("/data")]  # doctest: +SKIP
        ['PID 4242 is gone']
    """
    root = Path(data_root)
    try:
        candidates = sorted(
            p
            for p in root.iterdir()
            if p.name.startswith(".") and STAGING_MARK in p.name and p.is_dir()
        )
    except OSError:  # no data root yet, or unreadable: nothing to report
        return []
    now = time.time()
    return [_describe(p, now) for p in candidates if not p.is_symlink()]


def remove_stale_staging(data_root: str | os.PathLike[str]) -> list[StagingFolder]:
    """Delete the stale staging folders in ``data_root``; return those actually removed.

    Example:
        >>> [folder.path.name for folder in remove_stale_staging("/data")]  # doctest: +SKIP
        ['.yelp.fetch-k2j4x1']
    """
    removed = []
    for folder in find_staging(data_root):
        if folder.stale:
            shutil.rmtree(folder.path, ignore_errors=True)
            if not folder.path.exists():
                removed.append(folder)
    return removed
