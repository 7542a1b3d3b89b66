"""Sizes in messages, and files or folders the manifest code cannot read."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from dlclassics.data import manifest
from dlclassics.data.manifest import distinct_sizes, human_bytes, list_files, sha256_file
from dlclassics.errors import DlcError


@pytest.mark.parametrize(
    ("n", "shown"),
    [
        (0, "0 B"),
        (999, "999 B"),
        (1000, "1.0 kB"),
        (493_940, "493.9 kB"),
        (999_949, "999.9 kB"),
        (999_960, "1.0 MB"),  # not "1000.0 kB": the unit is chosen after rounding
        (1_234_567, "1.2 MB"),
        (8 * 1000**3, "8.0 GB"),
    ],
)
def test_human_bytes(n, shown):
    assert human_bytes(n) == shown


@pytest.mark.parametrize(
    ("first", "second", "shown"),
    [
        (2_000_000, 1_000_000, ("2.0 MB", "1.0 MB")),  # one decimal where it tells them apart
        (493_940, 493_900, ("493.94 kB", "493.90 kB")),  # was "493.9 kB over 493.9 kB"
        (493_912, 493_911, ("493.912 kB", "493.911 kB")),
        (12_345_678, 12_345_600, ("12345678 B", "12345600 B")),  # exact bytes past 3 decimals
        (999_960, 999_949, ("1.0 MB", "999.9 kB")),
        (1001, 1000, ("1.001 kB", "1.000 kB")),
        (5000, 5000, ("5.0 kB", "5.0 kB")),  # equal sizes print alike
    ],
)
def test_distinct_sizes_never_print_two_sizes_alike(first, second, shown):
    assert distinct_sizes(first, second) == shown


def test_distinct_sizes_on_many_close_pairs():
    for first in range(999_000, 1_001_000, 7):
        for gap in (1, 13, 400):
            big, small = distinct_sizes(first + gap, first)
            assert big != small, (first, gap)


def test_an_unreadable_file_is_named(tmp_path):
    with pytest.raises(DlcError, match=rf"^{tmp_path}: cannot read it \(Is a directory\)$"):
        sha256_file(tmp_path)


def test_an_unreadable_folder_is_named_not_skipped(tmp_path, monkeypatch):
    locked = tmp_path / "train" / "ants"
    locked.mkdir(parents=True)
    (locked / "a.jpg").write_bytes(b"x")
    (tmp_path / "train" / "b.jpg").write_bytes(b"y")
    real_scandir = os.scandir

    def scandir(path):  # what a folder without read permission does (as a user, not as root)
        if Path(path) == locked:
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    with pytest.raises(
        DlcError, match=rf"^{locked}: cannot read the folder \(Permission denied\)$"
    ):
        list_files(tmp_path)


def test_a_missing_folder_lists_nothing(tmp_path):
    assert list_files(tmp_path / "absent") == []
    assert manifest.build_manifest("x", tmp_path).files == {}
