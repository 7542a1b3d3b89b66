"""Safe unpacking of zip and tar archives.

A downloaded archive is untrusted input. Every member is checked before anything is written, and
the whole archive is refused if any member would land outside the target folder (``../`` in its
name, an absolute path) or is anything other than a plain file or a folder (symbolic and hard
links, devices, pipes): a link could point outside the target and a later member could write
through it, and a data set has no need for either. Files are then written by us, member by
member, with default permissions, so nothing from the archive's metadata (owners, setuid bits,
timestamps) is applied.

Two limits keep an archive from costing more than the data set it should hold: ``select`` names
the members to write (the others, e.g. files a data set's manifest does not list, are never
extracted), and ``max_total_bytes`` refuses the archive before anything is written when the
selected members' uncompressed sizes add up to more (the sizes are enforced while writing too).
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

from dlclassics.data.manifest import human_bytes
from dlclassics.errors import DlcError

COPY_CHUNK_BYTES = 1 << 20


@dataclass(frozen=True)
class _Member:
    """One archive entry as we will write it: the ZipInfo or TarInfo it is read from, its name
    and size, the path it goes to, and whether it is a folder."""

    info: Any
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
    """The names of the file members (not folders) of a zip or tar ``archive``, in order."""
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
    select: Callable[[str], bool] | None = None,
    max_total_bytes: int | None = None,
) -> list[Path]:
    """Unpack a ``.zip`` or ``.tar[.gz|.bz2|.xz]`` ``archive`` (format detected from its content)
    into folder ``dest``; return the files written, in archive order.

    ``select`` picks the file members to write by name (default: all); every member is checked
    for safety all the same. A DlcError names the archive and member when a member is unsafe
    (nothing is written then), when the selected files exceed ``max_total_bytes``, or when the
    archive is corrupt or of an unknown format.
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


def _link(archive: Path, name: str, kind: str, link_target: str) -> DlcError:
    why = f"it is a {kind} to {link_target!r} (data set archives may hold only files and folders)"
    return _refuse(archive, name, why)


def _zip_members(
    archive: Path, dest: Path, zf: zipfile.ZipFile, keep: Callable[[str], bool]
) -> list[_Member]:
    """Every member checked; the folders and the kept files returned."""
    members = []
    for info in zf.infolist():
        target = _checked_target(archive, dest, info.filename)
        if stat.S_ISLNK(info.external_attr >> 16):
            link_target = zf.read(info).decode("utf-8", errors="replace")
            raise _link(archive, info.filename, "symbolic link", link_target)
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
            raise _link(archive, info.name, kind, info.linkname)
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
    """Create the folders and write the files of ``members``; the files written.

    ``cap`` is checked against the declared sizes first, then against the bytes actually
    written (a member may hold more than it declares).
    """
    total = sum(m.size for m in members if not m.is_dir)
    if cap is not None and total > cap:
        raise DlcError(
            f"{archive}: refusing to unpack {human_bytes(total)} of files: more than the "
            f"size cap of {human_bytes(cap)} for this data set"
        )
    budget, written = cap, []
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
