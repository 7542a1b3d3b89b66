"""What a killed fetch leaves behind, links in ``--from DIR``, ``$DLC_OFFLINE``, and the smaller
``dlc data`` conventions (help on every argument, ``data manifest -o``)."""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from dlclassics import cli
from dlclassics.data.catalog import get_dataset
from dlclassics.data.root import offline
from dlclassics.data.staging import (
    NO_PID_STALE_AGE_S,
    PID_FILE,
    find_staging,
    make_staging,
    remove_stale_staging,
)
from dlclassics.errors import DlcError


def run_dlc(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def one_error_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("dlc: error: "), err
    return lines[0]


def dead_pid() -> int:
    """The PID of a process that has finished (and been reaped)."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def fake_staging(root: Path, name: str, owner: str | None, age_s: float = 0.0) -> Path:
    """A staging folder as a fetch leaves it: ``owner`` goes into its PID file (none if None)."""
    folder = root / name
    (folder / "yelp").mkdir(parents=True)
    (folder / "yelp" / "dev.txt").write_bytes(b"x" * 1500)
    if owner is not None:
        (folder / PID_FILE).write_text(owner + "\n")
    then = time.time() - age_s
    os.utime(folder, (then, then))
    return folder


@pytest.fixture
def leftovers(tmp_path: Path) -> dict[str, Path]:
    root = tmp_path / "data"
    host = socket.gethostname()
    return {
        "dead": fake_staging(root, ".yelp.fetch-dead", f"{dead_pid()} {host}"),
        "live": fake_staging(root, ".yelp.fetch-live", f"{os.getppid()} {host}"),
        "old_no_pid": fake_staging(root, ".styles.fetch-old", None, NO_PID_STALE_AGE_S + 60),
        "new_no_pid": fake_staging(root, ".styles.fetch-new", None),
        "other_host_new": fake_staging(root, ".yelp.fetch-remote", "1 some-other-host"),
    }


def test_staging_folders_are_judged_by_their_pid_host_and_age(leftovers):
    found = {f.path.name: f for f in find_staging(leftovers["dead"].parent)}
    assert {name: f.stale for name, f in found.items()} == {
        ".yelp.fetch-dead": True,
        ".yelp.fetch-live": False,
        ".styles.fetch-old": True,
        ".styles.fetch-new": False,
        ".yelp.fetch-remote": False,
    }
    assert found[".yelp.fetch-dead"].size == 1500 + len((leftovers["dead"] / PID_FILE).read_text())


def test_a_new_staging_folder_records_its_owner(tmp_path):
    staging = make_staging(tmp_path, "yelp")
    assert staging.name.startswith(".yelp.fetch-")
    assert (staging / PID_FILE).read_text().split() == [str(os.getpid()), socket.gethostname()]
    [found] = find_staging(tmp_path)
    assert not found.stale and found.why == "made by this process"
    assert remove_stale_staging(tmp_path) == [] and staging.is_dir()


def test_status_reports_leftovers(leftovers, capsys):
    root = leftovers["dead"].parent
    code, out, _ = run_dlc(capsys, "data", "status", "--data-root", str(root), "--no-verify")
    assert code == 0
    lines = [line for line in out.splitlines() if line.startswith("fetch leftover: ")]
    assert len(lines) == 5
    dead = next(line for line in lines if ".yelp.fetch-dead" in line)
    assert "stale (PID " in dead and "is gone): the next `dlc data fetch` removes it" in dead
    live = next(line for line in lines if ".yelp.fetch-live" in line)
    assert f"in progress (PID {os.getppid()} is running" in live


def test_next_fetch_removes_only_the_stale_leftovers(leftovers, data_root, capsys):
    root = leftovers["dead"].parent
    code, out, err = run_dlc(
        capsys, "data", "fetch", "yelp", "--from", str(data_root), "--data-root", str(root)
    )
    assert code == 0, err
    assert "removed .yelp.fetch-dead (" in out and "removed .styles.fetch-old (" in out
    assert sorted(p.name for p in root.iterdir()) == [
        ".styles.fetch-new",
        ".yelp.fetch-live",
        ".yelp.fetch-remote",
        "yelp",
    ]


# --- links in --from DIR ----------------------------------------------------------------------


def yelp_copy(data_root: Path, tmp_path: Path) -> Path:
    source = tmp_path / "source" / "yelp"
    shutil.copytree(data_root / "yelp", source)
    return source


def test_import_refuses_a_file_link_leading_outside_the_folder(data_root, tmp_path, capsys):
    source = yelp_copy(data_root, tmp_path)
    outside = tmp_path / "secret.txt"
    outside.write_text("1 not yours\n")
    (source / "dev.txt").unlink()
    (source / "dev.txt").symlink_to(outside)
    root = tmp_path / "data"
    code, _, err = run_dlc(
        capsys, "data", "fetch", "yelp", "--from", str(source), "--data-root", str(root)
    )
    assert code == 2
    assert one_error_line(err) == (
        f"dlc: error: {source / 'dev.txt'}: refusing to copy a link that leads outside "
        f"{source} (to {outside})"
    )
    assert not root.exists() or list(root.iterdir()) == []


def test_import_refuses_a_folder_link_leading_outside(data_root, tmp_path, capsys):
    source = tmp_path / "source" / "hymenoptera_data"
    source.mkdir(parents=True)
    shutil.copytree(data_root / "hymenoptera_data" / "train", source / "train")
    (source / "val").symlink_to(data_root / "hymenoptera_data" / "val")
    root = tmp_path / "data"
    code, _, err = run_dlc(
        capsys, "data", "fetch", "hymenoptera", "--from", str(source), "--data-root", str(root)
    )
    assert code == 2
    line = one_error_line(err)
    assert line.startswith(f"dlc: error: {source / 'val'}/")
    assert f"refusing to copy a link that leads outside {source}" in line


def test_import_accepts_a_link_that_stays_inside(data_root, tmp_path, capsys):
    source = yelp_copy(data_root, tmp_path)
    (source / "originals").mkdir()
    shutil.move(source / "dev.txt", source / "originals" / "dev.txt")
    (source / "dev.txt").symlink_to(Path("originals") / "dev.txt")
    root = tmp_path / "data"
    code, out, err = run_dlc(
        capsys, "data", "fetch", "yelp", "--from", str(source), "--data-root", str(root)
    )
    assert code == 0, err
    assert "yelp: imported, 4 files match the manifest" in out
    assert not (root / "yelp" / "dev.txt").is_symlink()


def test_import_refuses_a_special_file(data_root, tmp_path, capsys):
    source = tmp_path / "source" / "hymenoptera_data"
    shutil.copytree(data_root / "hymenoptera_data", source)
    fifo = source / "val" / "bees" / sorted(os.listdir(source / "val" / "bees"))[0]
    fifo.unlink()
    os.mkfifo(fifo)  # copying it would wait forever for a writer
    code, _, err = run_dlc(
        capsys,
        "data",
        "fetch",
        "hymenoptera",
        "--from",
        str(source),
        "--data-root",
        str(tmp_path / "d"),
    )
    assert code == 2
    assert one_error_line(err) == f"dlc: error: {fifo}: refusing to copy it: not a regular file"


# --- $DLC_OFFLINE -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("1", True),
        ("true", True),
        ("Yes", True),
        ("on", True),
        ("0", False),
        ("no", False),
        ("FALSE", False),
        ("", False),
        (None, False),
    ],
)
def test_offline_reads_yes_and_no(monkeypatch, value, expected):
    if value is None:
        monkeypatch.delenv("DLC_OFFLINE", raising=False)
    else:
        monkeypatch.setenv("DLC_OFFLINE", value)
    assert offline() is expected


def test_offline_refuses_other_values(monkeypatch):
    monkeypatch.setenv("DLC_OFFLINE", "2")
    with pytest.raises(DlcError, match=r"^DLC_OFFLINE='2': expected 1 or 0"):
        offline()


def test_data_path_never_downloads(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("DLC_OFFLINE", "0")
    monkeypatch.setenv("DLC_DATA_MIRROR", "http://127.0.0.1:9/")  # nothing listens there
    code, out, err = run_dlc(capsys, "data", "path", "yelp", "--data-root", str(tmp_path))
    assert code == 2 and out == ""
    assert "run `dlc data fetch yelp`" in one_error_line(err)
    assert list(tmp_path.iterdir()) == []


# --- dlc data conventions -----------------------------------------------------------------------


def data_parsers() -> list[tuple[str, argparse.ArgumentParser]]:
    [data] = [
        choice
        for action in cli.build_parser()._actions
        if isinstance(action, argparse._SubParsersAction)
        for name, choice in action.choices.items()
        if name == "data"
    ]
    [actions] = [a for a in data._actions if isinstance(a, argparse._SubParsersAction)]
    return [("data", data), *actions.choices.items()]


def test_every_data_argument_has_help():
    missing = [
        f"{name} {'/'.join(action.option_strings) or action.dest}"
        for name, parser in data_parsers()
        for action in parser._actions
        if not isinstance(action, argparse._SubParsersAction) and not (action.help or "").strip()
    ]
    assert missing == []


def test_manifest_writes_to_out_or_to_stdout(data_root, tmp_path, capsys):
    out = tmp_path / "sub" / "styles.json"
    code, printed, err = run_dlc(
        capsys, "data", "manifest", str(data_root / "styles"), "--name", "styles", "-o", str(out)
    )
    assert code == 0, err
    assert printed == f"4 files: {out}\n"
    shipped = get_dataset("styles").manifest
    assert out.read_text().startswith('{\n  "dataset": "styles"')
    code, printed, _ = run_dlc(
        capsys, "data", "manifest", str(data_root / "styles"), "--name", "styles", "-o", "-"
    )
    assert code == 0 and printed == out.read_text()
    assert len(shipped.files) == 4


def test_manifest_checks_its_output_before_hashing(data_root, tmp_path, capsys, monkeypatch):
    from dlclassics.data import manifest

    def never(*args, **kwargs):
        raise AssertionError("hashed before checking --out")

    monkeypatch.setattr(manifest, "build_manifest", never)
    code, _, err = run_dlc(
        capsys, "data", "manifest", str(data_root / "styles"), "-o", str(tmp_path)
    )
    assert code == 2
    assert one_error_line(err) == f"dlc: error: {tmp_path}: is a folder; give a file name"


def test_manifest_into_a_full_device_is_one_line_and_the_device_stays(data_root, capsys):
    code, _, err = run_dlc(capsys, "data", "manifest", str(data_root / "styles"), "-o", "/dev/full")
    assert code == 2
    assert one_error_line(err) == "dlc: error: /dev/full: cannot write (No space left on device)"
    assert stat.S_ISCHR(os.stat("/dev/full").st_mode)


def test_manifest_of_a_folder_with_an_unreadable_subfolder_names_it(tmp_path, capsys, monkeypatch):
    locked = tmp_path / "data" / "locked"
    locked.mkdir(parents=True)
    (tmp_path / "data" / "a.txt").write_text("a")
    real_scandir = os.scandir

    def scandir(path):  # what a folder without read permission does (as a user, not as root)
        if Path(path) == locked:
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    code, _, err = run_dlc(capsys, "data", "manifest", str(tmp_path / "data"))
    assert code == 2
    assert (
        one_error_line(err) == f"dlc: error: {locked}: cannot read the folder (Permission denied)"
    )


def test_status_with_an_unreadable_file_names_it(data_root, tmp_path, capsys, monkeypatch):
    root = tmp_path / "data"
    assert (
        run_dlc(
            capsys, "data", "fetch", "yelp", "--from", str(data_root), "--data-root", str(root)
        )[0]
        == 0
    )
    dev = root / "yelp" / "dev.txt"
    real_open = open

    def refuse_dev(path, *args, **kwargs):
        if Path(path) == dev:
            raise PermissionError(13, "Permission denied", str(path))
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr("builtins.open", refuse_dev)
    code, _, err = run_dlc(capsys, "data", "status", "--data-root", str(root))
    assert code == 2
    assert one_error_line(err) == f"dlc: error: {dev}: cannot read it (Permission denied)"
