"""Safe unpacking of zip and tar archives.

A downloaded archive is untrusted input. Every member is checked before anything is written, and
the whole archive is refused if any member would land outside the target folder (``../``, an
absolute path) or is anything but a plain file or a folder: a link could point outside the target
and a later member could write through it. Files are written by us with default permissions, so
none of the archive's metadata (owners, setuid bits) is applied. ``select`` limits what is
written and ``max_total_bytes`` caps the selected members' size (declared and actual).
"""

from __future__ import annotations

import gzip
import lzma
import os
import stat
import tarfile
import zipfile
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Any, BinaryIO

from tqdm import tqdm

from dlclassics.data.manifest import distinct_sizes
from dlclassics.errors import DlcError

COPY_CHUNK_BYTES = 1 << 20
NO_LINKS = " (data set archives may hold only files and folders)"


@dataclass(frozen=True)
class _Member:
    """One archive entry as we will write it."""

    info: Any  # the ZipInfo or TarInfo it is read from
    name: str
    target: Path
    is_dir: bool
    size: int


@contextmanager
def _archive_errors(archive: Path) -> Iterator[None]:
    """Turn the many ways a damaged archive fails into one DlcError naming it."""
    try:
        yield
    except (
        zipfile.BadZipFile,
        tarfile.TarError,
        EOFError,
        zlib.error,
        gzip.BadGzipFile,
        lzma.LZMAError,
    ) as exc:
        raise DlcError(f"{archive}: corrupt archive ({exc})") from exc


def list_members(archive: str | os.PathLike[str]) -> list[str]:
    """The names of the file members (not folders) of a zip or tar ``archive``, in order.

    Example:
        >>> list_members("hymenoptera_data.zip")[:1]  # doctest: +SKIP
        ['hymenoptera_data/train/ants/0013035.jpg']
    """
    archive = Path(archive)
    with _archive_errors(archive):
        if zipfile.is_zipfile(archive):
            with zipfile.ZipFile(archive) as zf:
                return [info.filename for info in zf.infolist() if not info.is_dir()]
        if tarfile.is_tarfile(archive):
            with tarfile.open(archive) as tf:
                return [info.name for info in tf.getmembers() if not info.isdir()]
    raise DlcError(f"{archive}: not a zip or tar archive")


def extract_archive(
    archive: str | os.PathLike[str],
    dest: str | os.PathLike[str],
    *,
    select: Callable[[str], bool] | None = None,
    max_total_bytes: int | None = None,
) -> list[Path]:
    """Unpack a ``.zip`` or ``.tar[.gz|.bz2|.xz]`` ``archive`` (format detected from its content)
    into folder ``dest``; return the files written, in archive order.

    ``select`` picks the file members to write by name (default: all); every member is checked
    for safety all the same. An unsafe member, a total above ``max_total_bytes``, a corrupt or
    unknown archive is a DlcError naming the archive (and member); nothing is written then.

    Example:
        >>> def jpegs(name: str) -> bool:
        ...     return name.endswith(".jpg")
        >>> files = extract_archive("data.zip", "unpacked", select=jpegs)  # doctest: +SKIP
    """
    archive, dest = Path(archive), Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    keep = select or (lambda name: True)
    with _archive_errors(archive):
        if zipfile.is_zipfile(archive):
            with zipfile.ZipFile(archive) as zf:
                members = _zip_members(archive, dest, zf, keep)
                return _write_members(archive, members, zf.open, max_total_bytes)
        if tarfile.is_tarfile(archive):
            with tarfile.open(archive) as tf:
                members = _tar_members(archive, dest, tf, keep)
                return _write_members(archive, members, tf.extractfile, max_total_bytes)
    raise DlcError(f"{archive}: not a zip or tar archive")


def _refuse(archive: Path, name: str, why: str) -> DlcError:
    return DlcError(f"{archive}: refusing to unpack member {name!r}: {why}")


def _checked_target(archive: Path, dest: Path, name: str) -> Path:
    """The path member ``name`` would be written to, or a DlcError if that is outside ``dest``."""
    windows = PureWindowsPath(name)
    if PurePosixPath(name).is_absolute() or windows.is_absolute() or windows.drive:
        raise _refuse(archive, name, "absolute path")
    target = (dest / name).resolve()
    if not target.is_relative_to(dest.resolve()):
        raise _refuse(archive, name, f"it would be written outside {dest}")
    return target


def _zip_members(
    archive: Path, dest: Path, zf: zipfile.ZipFile, keep: Callable[[str], bool]
) -> list[_Member]:
    """Every member checked; the folders and the kept files returned."""
    members = []
    for info in zf.infolist():
        target = _checked_target(archive, dest, info.filename)
        if stat.S_ISLNK(info.external_attr >> 16):
            link = zf.read(info).decode("utf-8", errors="replace")
            raise _refuse(archive, info.filename, f"it is a symbolic link to {link!r}{NO_LINKS}")
        if info.is_dir() or keep(info.filename):
            members.append(_Member(info, info.filename, target, info.is_dir(), info.file_size))
    return members


def _tar_members(
    archive: Path, dest: Path, tf: tarfile.TarFile, keep: Callable[[str], bool]
) -> list[_Member]:
    """Every member checked; the folders and the kept files returned."""
    members = []
    for info in tf.getmembers():
        target = _checked_target(archive, dest, info.name)
        if info.issym() or info.islnk():
            kind = "symbolic link" if info.issym() else "hard link"
            raise _refuse(archive, info.name, f"it is a {kind} to {info.linkname!r}{NO_LINKS}")
        if not (info.isfile() or info.isdir()):
            raise _refuse(archive, info.name, "not a plain file or folder (device or pipe)")
        if info.isdir() or keep(info.name):
            members.append(_Member(info, info.name, target, info.isdir(), info.size))
    return members


def _write_members(
    archive: Path,
    members: list[_Member],
    open_member: Callable[[Any], BinaryIO | None],
    cap: int | None,
) -> list[Path]:
    """Create the folders and write the files of ``members``; the files written. ``cap`` is
    checked against the declared sizes, then the bytes written (a member may hold more)."""
    total = sum(m.size for m in members if not m.is_dir)
    if cap is not None and total > cap:
        total_shown, cap_shown = distinct_sizes(total, cap)
        raise DlcError(
            f"{archive}: refusing to unpack {total_shown} of files: more than the "
            f"size cap of {cap_shown} for this data set"
        )
    budget = cap  # bytes still allowed; None: no cap
    written: list[Path] = []
    for member in tqdm(members, desc=f"unpacking {archive.name}", unit="file", disable=None):
        if member.is_dir:
            member.target.mkdir(parents=True, exist_ok=True)
            continue
        member.target.parent.mkdir(parents=True, exist_ok=True)
        try:
            src = open_member(member.info)
        except RuntimeError as exc:  # encrypted zip members
            raise DlcError(f"{archive}: cannot unpack member {member.name!r} ({exc})") from exc
        if src is None:
            raise DlcError(f"{archive}: cannot read member {member.name!r}")
        with src, open(member.target, "wb") as out:
            while chunk := src.read(COPY_CHUNK_BYTES):
                budget = None if budget is None else budget - len(chunk)
                if budget is not None and budget < 0:
                    raise DlcError(
                        f"{archive}: refusing to unpack more: its members hold more bytes than "
                        "they declare, beyond the size cap for this data set"
                    )
                out.write(chunk)
        written.append(member.target)
    return written
