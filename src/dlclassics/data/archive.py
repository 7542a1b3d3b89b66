"""Safe unpacking of zip and tar archives.

A downloaded archive is untrusted input. Every member is checked before anything is written, and
the whole archive is refused if any member would land outside the target folder (``../`` in its
name, an absolute path) or is anything other than a plain file or a folder (symbolic and hard
links, devices, pipes): a link could point outside the target and a later member could write
through it, and a data set has no need for either. Files are then written by us, member by
member, with default permissions, so nothing from the archive's metadata (owners, setuid bits,
timestamps) is applied.
"""

from __future__ import annotations

import gzip
import lzma
import os
import shutil
import stat
import tarfile
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath, PureWindowsPath

from tqdm import tqdm

from dlclassics.errors import DlcError

COPY_CHUNK_BYTES = 1 << 20


@dataclass(frozen=True)
class _Member:
    """One archive entry as we will write it: its name, target path, and whether it is a folder."""

    name: str
    target: Path
    is_dir: bool


def extract_archive(archive: str | os.PathLike[str], dest: str | os.PathLike[str]) -> list[Path]:
    """Unpack a ``.zip`` or ``.tar[.gz|.bz2|.xz]`` ``archive`` into folder ``dest``.

    Args:
        archive: the archive file; its format is detected from its content, not its name.
        dest: the target folder (created if needed).

    Returns:
        The files written, in archive order.

    Raises:
        DlcError: naming the archive and member when a member is unsafe (nothing is written
            then), or when the archive is corrupt or of an unknown format.
    """
    archive, dest = Path(archive), Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    try:
        if zipfile.is_zipfile(archive):
            return _extract_zip(archive, dest)
        if tarfile.is_tarfile(archive):
            return _extract_tar(archive, dest)
    except (
        zipfile.BadZipFile,
        tarfile.TarError,
        EOFError,
        zlib.error,
        gzip.BadGzipFile,
        lzma.LZMAError,
    ) as exc:
        raise DlcError(f"{archive}: corrupt archive ({exc})") from exc
    raise DlcError(f"{archive}: not a zip or tar archive")


def _checked_target(archive: Path, dest: Path, name: str) -> Path:
    """The path member ``name`` would be written to, or a DlcError if that is outside ``dest``."""
    if (
        PurePosixPath(name).is_absolute()
        or PureWindowsPath(name).is_absolute()
        or (PureWindowsPath(name).drive)
    ):
        raise DlcError(f"{archive}: refusing to unpack member {name!r}: absolute path")
    target = (dest / name).resolve()
    if not target.is_relative_to(dest.resolve()):
        raise DlcError(
            f"{archive}: refusing to unpack member {name!r}: it would be written outside {dest}"
        )
    return target


def _refuse_link(archive: Path, name: str, kind: str, link_target: str) -> DlcError:
    return DlcError(
        f"{archive}: refusing to unpack member {name!r}: it is a {kind} to {link_target!r} "
        "(data set archives may hold only files and folders)"
    )


def _extract_zip(archive: Path, dest: Path) -> list[Path]:
    with zipfile.ZipFile(archive) as zf:
        members = []
        for info in zf.infolist():
            target = _checked_target(archive, dest, info.filename)
            if stat.S_ISLNK(info.external_attr >> 16):
                link_target = zf.read(info).decode("utf-8", errors="replace")
                raise _refuse_link(archive, info.filename, "symbolic link", link_target)
            members.append(_Member(info.filename, target, info.is_dir()))
        written = []
        for member in tqdm(members, desc=f"unpacking {archive.name}", unit="file", disable=None):
            if member.is_dir:
                member.target.mkdir(parents=True, exist_ok=True)
                continue
            member.target.parent.mkdir(parents=True, exist_ok=True)
            try:
                with zf.open(member.name) as src, open(member.target, "wb") as out:
                    shutil.copyfileobj(src, out, COPY_CHUNK_BYTES)
            except RuntimeError as exc:  # encrypted members
                raise DlcError(f"{archive}: cannot unpack member {member.name!r} ({exc})") from exc
            written.append(member.target)
        return written


def _extract_tar(archive: Path, dest: Path) -> list[Path]:
    with tarfile.open(archive) as tf:
        members = []
        for info in tf.getmembers():
            target = _checked_target(archive, dest, info.name)
            if info.issym():
                raise _refuse_link(archive, info.name, "symbolic link", info.linkname)
            if info.islnk():
                raise _refuse_link(archive, info.name, "hard link", info.linkname)
            if not (info.isfile() or info.isdir()):
                raise DlcError(
                    f"{archive}: refusing to unpack member {info.name!r}: "
                    "not a plain file or folder (device or pipe)"
                )
            members.append((info, _Member(info.name, target, info.isdir())))
        written = []
        for info, member in tqdm(
            members, desc=f"unpacking {archive.name}", unit="file", disable=None
        ):
            if member.is_dir:
                member.target.mkdir(parents=True, exist_ok=True)
                continue
            member.target.parent.mkdir(parents=True, exist_ok=True)
            src = tf.extractfile(info)
            if src is None:
                raise DlcError(f"{archive}: cannot read member {member.name!r}")
            with src, open(member.target, "wb") as out:
                shutil.copyfileobj(src, out, COPY_CHUNK_BYTES)
            written.append(member.target)
        return written
