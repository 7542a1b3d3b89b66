"""The data set registry, the shipped manifests, `dlc data status` and `dlc data path`."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from dlclassics import cli
from dlclassics.data.catalog import DATASETS, download_urls, get_dataset
from dlclassics.data.registry import dataset_path
from dlclassics.errors import DlcError

MANIFESTS = Path(__file__).resolve().parents[1] / "src" / "dlclassics" / "data" / "manifests"


def status_rows(out: str) -> dict[str, list[str]]:
    """``dlc data status`` output as {data set: [state, files, checksums..., location]}."""
    lines = out.splitlines()
    assert lines[1].split()[:4] == ["data", "set", "state", "files"]
    return {line.split()[0]: line.split()[1:] for line in lines[2 : 2 + len(DATASETS)]}


def test_status_on_the_real_data_root(data_root, monkeypatch, capsys):
    monkeypatch.setenv("DLC_DATA", str(data_root))
    assert cli.main(["data", "status"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0] == f"data root: {data_root}"
    rows = status_rows(out)
    assert rows["hymenoptera"] == ["found", "398", "OK", str(data_root / "hymenoptera_data")]
    assert rows["styles"] == ["found", "4", "OK", str(data_root / "styles")]
    assert rows["yelp"] == ["found", "4", "OK", str(data_root / "yelp")]
    assert rows["coco-captioning"] == ["missing", "-", "-", str(data_root / "coco_captioning")]


def test_status_without_verification_and_with_a_damaged_copy(data_root, tmp_path, capsys):
    root = tmp_path / "data"
    assert (
        cli.main(["data", "fetch", "yelp", "--from", str(data_root), "--data-root", str(root)]) == 0
    )
    (root / "yelp" / "dev.txt").write_text("1 changed\n")
    (root / "yelp" / "unlabelled.txt").unlink()
    capsys.readouterr()

    assert cli.main(["data", "status", "--data-root", str(root), "--no-verify"]) == 0
    assert status_rows(capsys.readouterr().out)["yelp"][:4] == ["incomplete", "3", "not", "checked"]

    assert cli.main(["data", "status", "--data-root", str(root)]) == 0  # status never fails
    assert status_rows(capsys.readouterr().out)["yelp"][:4] == ["incomplete", "3", "MISMATCH", "(1"]


def test_coco_captioning_without_checksums_counts_as_present_when_complete(tmp_path, capsys):
    folder = tmp_path / "coco_captioning"
    folder.mkdir()
    for rel in get_dataset("coco-captioning").layout:
        (folder / rel).write_bytes(b"placeholder")
    assert cli.main(["data", "status", "--data-root", str(tmp_path)]) == 0
    row = status_rows(capsys.readouterr().out)["coco-captioning"]
    assert row[:4] == ["found", "6", "none", "known"]


def test_dataset_path_finds_or_explains(data_root, tmp_path, monkeypatch):
    assert dataset_path("yelp", data_root) == data_root / "yelp"
    monkeypatch.setenv("DLC_DATA", str(data_root))
    assert dataset_path("hymenoptera") == data_root / "hymenoptera_data"

    with pytest.raises(DlcError) as excinfo:
        dataset_path("yelp", tmp_path, fetch_missing=False)
    message = str(excinfo.value)
    assert message.startswith(f"data set 'yelp' not found under {tmp_path} (no {tmp_path}/yelp/")
    assert "run `dlc data fetch yelp`" in message

    (tmp_path / "yelp").mkdir()  # an incomplete copy is never fetched over, even when online
    monkeypatch.setenv("DLC_OFFLINE", "0")
    with pytest.raises(DlcError, match=r"yelp is incomplete; run `dlc data fetch yelp --force`"):
        dataset_path("yelp", tmp_path)

    with pytest.raises(
        DlcError, match="unknown data set 'imagenet': known data sets are hymenoptera"
    ):
        dataset_path("imagenet", data_root)


def test_dlc_data_path_command(data_root, tmp_path, capsys):
    assert cli.main(["data", "path", "styles", "--data-root", str(data_root)]) == 0
    assert capsys.readouterr().out == f"{data_root / 'styles'}\n"
    assert cli.main(["data", "path", "styles", "--data-root", str(tmp_path)]) == 2
    assert "run `dlc data fetch styles`" in capsys.readouterr().err


def test_shipped_manifests_are_what_dlc_data_manifest_writes(data_root, capsys):
    # the shipped manifests list exactly the files of the reference copies, nothing more or less
    for name, folder in (
        ("hymenoptera", "hymenoptera_data"),
        ("styles", "styles"),
        ("yelp", "yelp"),
    ):
        assert cli.main(["data", "manifest", str(data_root / folder), "--name", name]) == 0
        assert capsys.readouterr().out == (MANIFESTS / f"{name}.json").read_text()


def test_every_data_set_has_a_manifest_and_a_public_source():
    for spec in DATASETS.values():
        assert spec.manifest.dataset == spec.name
        for rel in spec.layout:  # the layout is a subset of what the manifest lists
            assert any(path == rel or path.startswith(rel) for path in spec.manifest.files), rel
        assert all(url.startswith("https://") for url, _ in download_urls(spec))
    assert get_dataset("hymenoptera").manifest.has_checksums
    assert not get_dataset("coco-captioning").manifest.has_checksums
    assert download_urls(get_dataset("coco-captioning")) == [
        ("https://cs231n.stanford.edu/coco_captioning.zip", "coco_captioning.zip")
    ]
    yelp_urls = dict((rel, url) for url, rel in download_urls(get_dataset("yelp")))
    assert yelp_urls["train.txt"] == (
        "https://raw.githubusercontent.com/ChenchenMa0131/EECS598-Deep-Learning/master/"
        "Homework2/codes/data/train.txt"
    )
    assert download_urls(get_dataset("styles"), "http://m.example/x/")[0] == (
        "http://m.example/x/styles/composition_vii.jpg",
        "composition_vii.jpg",
    )


def test_dlc_data_status_as_a_subprocess(data_root):
    env = {**os.environ, "DLC_DATA": str(data_root)}
    result = subprocess.run(
        [sys.executable, "-m", "dlclassics", "data", "status", "--no-verify"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert status_rows(result.stdout)["yelp"][:4] == ["found", "4", "not", "checked"]
