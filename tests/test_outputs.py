"""The one "prepare the output folder" step every writing command takes before its work, and the
one output writer: regular files atomically, devices and pipes written straight into."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from dlclassics.errors import DlcError
from dlclassics.io import write_output_text
from dlclassics.outputs import (
    LOCK_NAME,
    check_output_file,
    pid_alive,
    prepare_output_dir,
    release_output_dir,
)


def test_creates_the_folder_locks_it_and_releases_it(tmp_path: Path):
    out = prepare_output_dir(tmp_path / "a" / "b")
    assert out.is_dir() and (out / LOCK_NAME).read_text().strip() == str(os.getpid())
    assert [p.name for p in out.iterdir()] == [LOCK_NAME]  # no write probe left behind
    release_output_dir(out)
    assert not (out / LOCK_NAME).exists()


def test_a_file_where_a_folder_is_wanted_is_refused(tmp_path: Path):
    (tmp_path / "taken").write_text("x")
    with pytest.raises(DlcError, match="exists and is not a folder"):
        prepare_output_dir(tmp_path / "taken")
    with pytest.raises(DlcError, match="cannot write here"):
        prepare_output_dir(tmp_path / "taken" / "inside")


def test_a_live_owner_keeps_the_folder_and_a_dead_one_does_not(tmp_path: Path):
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        (tmp_path / LOCK_NAME).write_text(f"{other.pid}\n")
        with pytest.raises(DlcError, match=f"PID {other.pid}"):
            prepare_output_dir(tmp_path)
    finally:
        other.kill()
        other.wait()
    assert not pid_alive(other.pid)
    prepare_output_dir(tmp_path)  # the stale lock is taken over
    assert (tmp_path / LOCK_NAME).read_text().strip() == str(os.getpid())


def test_stale_temporary_files_are_removed_and_others_kept(tmp_path: Path):
    (tmp_path / "sub").mkdir()
    stale = [tmp_path / ".best.pt.x1.tmp", tmp_path / "sub" / ".metrics.json.y2.tmp"]
    kept = [tmp_path / "best.pt", tmp_path / "notes.tmp"]
    for path in [*stale, *kept]:
        path.write_bytes(b"data")
    prepare_output_dir(tmp_path)
    assert [p.exists() for p in stale] == [False, False]
    assert [p.exists() for p in kept] == [True, True]


def test_an_output_file_is_checked_without_locking(tmp_path: Path):
    assert check_output_file(tmp_path / "new" / "out.txt") == tmp_path / "new" / "out.txt"
    assert (tmp_path / "new").is_dir() and not (tmp_path / "new" / LOCK_NAME).exists()
    with pytest.raises(DlcError, match="is a folder"):
        check_output_file(tmp_path)


def test_a_device_is_written_into_not_replaced():
    write_output_text("/dev/null", "one\ntwo\n")
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)


def test_a_full_device_is_one_error_line():
    with pytest.raises(DlcError, match=r"^/dev/full: cannot write \(No space left on device\)$"):
        write_output_text("/dev/full", "x\n" * 10_000)


def test_a_named_pipe_gets_the_text_and_stays_a_pipe(tmp_path: Path):
    fifo = tmp_path / "out.fifo"
    os.mkfifo(fifo)
    received: list[str] = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_text()))
    reader.start()
    write_output_text(fifo, "a\nb\n")
    reader.join(timeout=10)
    assert received == ["a\nb\n"] and stat.S_ISFIFO(fifo.stat().st_mode)
    assert check_output_file(fifo) == fifo  # checked as it is: no probe file beside it


def test_a_regular_file_is_replaced_whole_and_stdout_is_dash(tmp_path: Path, capsys):
    target = tmp_path / "preds.txt"
    target.write_text("old\n")
    assert write_output_text(target, "new\n") == target and target.read_text() == "new\n"
    assert write_output_text("-", "to stdout\n") is None
    assert capsys.readouterr().out == "to stdout\n"
    with pytest.raises(DlcError, match="is a folder"):
        write_output_text(tmp_path, "x")


def test_a_shallow_clean_leaves_subfolders_alone(tmp_path: Path):
    """A style image written into a user's own folder must not sweep that folder's tree."""
    (tmp_path / "project").mkdir()
    theirs = tmp_path / "project" / ".editor.swap.tmp"
    theirs.write_text("another program's file\n")
    ours = tmp_path / ".painted.png.x1y2.tmp"
    ours.write_text("half an image\n")
    prepare_output_dir(tmp_path, clean_tree=False)
    assert theirs.exists() and not ours.exists()
    release_output_dir(tmp_path)


def test_dev_stdout_redirected_to_a_file_is_written_not_replaced(tmp_path: Path):
    """``-o /dev/stdout`` with standard output sent to a file: the link in /dev must survive."""
    redirected = tmp_path / "stdout.txt"
    code = "from dlclassics.io import write_output_text; write_output_text('/dev/stdout', 'hi\\n')"
    with redirected.open("w") as handle:
        subprocess.run([sys.executable, "-c", code], stdout=handle, check=True)
    assert redirected.read_text() == "hi\n"
    assert os.path.islink("/dev/stdout")


def test_a_link_keeps_linking_to_its_replaced_target(tmp_path: Path):
    target = tmp_path / "runs" / "preds.txt"
    target.parent.mkdir()
    target.write_text("old\n")
    link = tmp_path / "latest.txt"
    link.symlink_to(target)
    write_output_text(link, "new\n")
    assert link.is_symlink() and target.read_text() == "new\n"
