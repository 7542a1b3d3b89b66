"""Safe unpacking: unsafe zip and tar members are refused before anything is written."""

from __future__ import annotations

import io
import re
import stat
import tarfile
import zipfile
from pathlib import Path

import pytest

from dlclassics.data.archive import extract_archive
from dlclassics.errors import DlcError

GOOD_MEMBER = "dataset/train/a.txt"


def make_zip(path: Path, members: list[tuple[str, bytes]], symlink: tuple[str, str] | None = None):
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, data in members:
            zf.writestr(name, data)
        if symlink is not None:
            info = zipfile.ZipInfo(symlink[0])
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            zf.writestr(info, symlink[1])
    return path


def make_tar(path: Path, members: list[tuple[str, bytes]], links: list[tarfile.TarInfo] = ()):
    with tarfile.open(path, "w:gz") as tf:
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
        for info in links:
            tf.addfile(info)
    return path


def link(name: str, target: str, kind: bytes) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.linkname = kind, target
    return info


def files_under(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())


def test_zip_and_tar_unpack_files_and_folders(tmp_path):
    members = [(GOOD_MEMBER, b"hello"), ("dataset/val/b.txt", b"world")]
    for archive in (make_zip(tmp_path / "a.zip", members), make_tar(tmp_path / "a.tgz", members)):
        dest = tmp_path / f"out_{archive.suffix}"
        written = extract_archive(archive, dest)
        assert [p.relative_to(dest).as_posix() for p in written] == [n for n, _ in members]
        assert (dest / GOOD_MEMBER).read_bytes() == b"hello"


@pytest.mark.parametrize(
    ("bad_name", "reason"),
    [
        ("../evil.txt", "it would be written outside"),
        ("dataset/../../evil.txt", "it would be written outside"),
        ("/tmp/evil.txt", "absolute path"),
    ],
)
@pytest.mark.parametrize("kind", ["zip", "tar"])
def test_member_outside_target_is_refused_before_writing(tmp_path, kind, bad_name, reason):
    members = [(GOOD_MEMBER, b"good"), (bad_name, b"evil")]  # the bad member comes last
    make = make_zip if kind == "zip" else make_tar
    archive = make(tmp_path / f"bad.{kind}", members)
    dest = tmp_path / "target" / "dest"
    with pytest.raises(DlcError, match=re.escape(f"member '{bad_name}': {reason}")):
        extract_archive(archive, dest)
    assert files_under(tmp_path / "target") == []  # not even the good member was written
    assert not Path("/tmp/evil.txt").exists()


def test_zip_symlink_is_refused(tmp_path):
    archive = make_zip(tmp_path / "s.zip", [(GOOD_MEMBER, b"x")], symlink=("dataset/l", "/etc"))
    with pytest.raises(DlcError, match="'dataset/l': it is a symbolic link to '/etc'"):
        extract_archive(archive, tmp_path / "dest")
    assert files_under(tmp_path / "dest") == []


@pytest.mark.parametrize(
    ("member", "message"),
    [
        (link("dataset/l", "../../../etc", tarfile.SYMTYPE), "symbolic link to '../../../etc'"),
        (link("dataset/h", "/etc/passwd", tarfile.LNKTYPE), "hard link to '/etc/passwd'"),
        (link("dataset/fifo", "", tarfile.FIFOTYPE), "not a plain file or folder"),
    ],
)
def test_tar_links_and_special_files_are_refused(tmp_path, member, message):
    archive = make_tar(tmp_path / "l.tgz", [(GOOD_MEMBER, b"x")], links=[member])
    with pytest.raises(DlcError, match=message):
        extract_archive(archive, tmp_path / "dest")
    assert files_under(tmp_path / "dest") == []


def test_symlink_then_write_through_it_is_refused(tmp_path):
    # the classic attack: a link to outside, then a file "inside" the link
    outside = tmp_path / "outside"
    outside.mkdir()
    archive = make_tar(
        tmp_path / "t.tgz",
        [("dataset/l/pwned.txt", b"x")],
        links=[link("dataset/l", str(outside), tarfile.SYMTYPE)],
    )
    with pytest.raises(DlcError, match="symbolic link"):
        extract_archive(archive, tmp_path / "dest")
    assert list(outside.iterdir()) == []


def test_not_an_archive_and_corrupt_archive(tmp_path):
    text = tmp_path / "notes.zip"
    text.write_text("just text")
    with pytest.raises(DlcError, match=re.escape(f"{text}: not a zip or tar archive")):
        extract_archive(text, tmp_path / "dest")

    archive = make_tar(tmp_path / "c.tgz", [(GOOD_MEMBER, bytes(range(256)) * 400)])
    data = archive.read_bytes()
    archive.write_bytes(data[: len(data) // 2])
    with pytest.raises(DlcError, match=re.escape(f"{archive}: corrupt archive")):
        extract_archive(archive, tmp_path / "dest2")
