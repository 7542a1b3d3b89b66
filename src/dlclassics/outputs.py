"""The one way a command prepares the folder it writes into.

``prepare_output_dir`` runs before any work starts, so a bad ``--out`` costs nothing: the folder
is created, checked writable, and locked against a second run writing into it at the same time
(the lock file holds the owner's PID; a lock whose process is gone is taken over). Temporary files
that a killed run left behind (``.NAME.*.tmp`` from the atomic writers) are removed then, since
while we hold the lock nobody else is writing them.
"""

from __future__ import annotations

import atexit
import os
from pathlib import Path

from dlclassics.errors import DlcError
from dlclassics.io import atomic_path, is_special_file

LOCK_NAME = ".dlc.lock"


def pid_alive(pid: int) -> bool:
    """Whether process ``pid`` runs on this machine (another user's counts as running)."""
    try:
        os.kill(pid, 0)
    except PermissionError:
        return True
    except OSError:  # no such process, or an out-of-range PID
        return False
    return True


def _owner(lock: Path) -> int | None:
    try:
        return int(lock.read_text().strip())
    except (OSError, ValueError):
        return None


def _take_lock(folder: Path) -> Path:
    lock = folder / LOCK_NAME
    for _ in range(2):
        try:
            fd = os.open(lock, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            owner = _owner(lock)
            if owner is not None and owner != os.getpid() and pid_alive(owner):
                raise DlcError(
                    f"{folder}: another dlc run (PID {owner}) is writing here; wait for it or "
                    "choose another --out"
                ) from None
            lock.unlink(missing_ok=True)  # stale: its process is gone
            continue
        with os.fdopen(fd, "w") as handle:
            handle.write(f"{os.getpid()}\n")
        atexit.register(lock.unlink, missing_ok=True)
        return lock
    raise DlcError(f"{folder}: cannot take the lock {lock}")


def prepare_output_dir(
    path: str | os.PathLike[str], lock: bool = True, *, clean_tree: bool = True
) -> Path:
    """Create ``path`` as a writable folder for this run and (``lock``) lock it; a DlcError when
    ``path`` is a file, cannot be created or written, or another live run holds it.

    With the lock, temporary files a killed run left are removed: in the whole tree of a run
    folder, or (``clean_tree=False``) only beside the files, for a run that writes into a folder
    it does not own (``dlc style photo.jpg art.jpg -o painted.png`` locks the current folder).

    Example:
        >>> prepare_output_dir("runs/mine")
        PosixPath('runs/mine')
    """
    folder = Path(path)
    if folder.exists() and not folder.is_dir():
        raise DlcError(f"{folder}: exists and is not a folder")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with atomic_path(folder / ".dlc-write-test") as probe:
            probe.write_bytes(b"")
        (folder / ".dlc-write-test").unlink()
    except OSError as exc:
        raise DlcError(f"{folder}: cannot write here ({exc.strerror or exc})") from exc
    if lock:
        _take_lock(folder)
        leftovers = folder.rglob(".*.tmp") if clean_tree else folder.glob(".*.tmp")
        for tmp in leftovers:  # left by a run that was killed
            if tmp.is_file():
                tmp.unlink(missing_ok=True)
    return folder


def release_output_dir(path: str | os.PathLike[str]) -> None:
    """Give back this process's lock on ``path`` when its run ends before the process does (a
    command called in-process, one part of ``dlc reproduce``); another process's lock stays."""
    lock = Path(path) / LOCK_NAME
    if _owner(lock) == os.getpid():
        lock.unlink(missing_ok=True)


def check_output_file(path: str | os.PathLike[str]) -> Path:
    """Check before the work that an output file can be written (its folder is created); a
    device or named pipe is taken as it is (``io.write_output_text`` writes straight into it)."""
    target = Path(path)
    if target.is_dir():
        raise DlcError(f"{target}: is a folder; give a file name")
    if is_special_file(target):
        return target
    prepare_output_dir(target.parent if str(target.parent) else ".", lock=False)
    return target
