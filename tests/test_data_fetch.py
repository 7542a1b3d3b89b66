"""`dlc data fetch` for real: downloads over HTTP from a server on 127.0.0.1, and local imports.

The server serves a mirror tree built from the shared data: ``styles/`` and ``yelp/`` copied file
by file, and ``hymenoptera_data.zip`` zipped from the image folder, exactly the layout a user's
mirror has. Extra routes serve broken variants: ``/corrupt/...`` flips one byte in the middle
of a file, ``/short/...`` promises the full length and stops halfway.
"""

from __future__ import annotations

import hashlib
import http.server
import shutil
import threading
import zipfile
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import pytest

from dlclassics import cli
from dlclassics.data import fetch
from dlclassics.data.manifest import sha256_file, verify_folder
from dlclassics.data.registry import get_dataset


class MirrorHandler(http.server.SimpleHTTPRequestHandler):
    """Serves the mirror tree; ``/corrupt/<path>`` and ``/short/<path>`` serve broken copies."""

    def do_GET(self) -> None:
        for prefix in ("/corrupt/", "/short/"):
            if self.path.startswith(prefix):
                body = (Path(self.directory) / self.path[len(prefix) :]).read_bytes()
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if prefix == "/corrupt/":
                    middle = len(body) // 2
                    self.wfile.write(
                        body[:middle] + bytes([body[middle] ^ 0xFF]) + body[middle + 1 :]
                    )
                else:
                    self.wfile.write(body[: len(body) // 2])
                return
        super().do_GET()

    def log_message(self, format: str, *args: object) -> None:  # keep pytest output clean
        pass


def _zip_folder(folder: Path, zip_path: Path, top: str) -> None:
    """Zip ``folder`` as ``top/...`` (stored, not deflated: JPEGs do not compress, and it is fast)."""
    with zipfile.ZipFile(zip_path, "w", compression=zipfile.ZIP_STORED) as zf:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                zf.write(path, f"{top}/{path.relative_to(folder).as_posix()}")


@pytest.fixture(scope="module")
def mirror_tree(tmp_path_factory: pytest.TempPathFactory, data_root: Path) -> Path:
    tree = tmp_path_factory.mktemp("mirror")
    for folder in ("styles", "yelp"):
        shutil.copytree(data_root / folder, tree / folder)
    _zip_folder(data_root / "hymenoptera_data", tree / "hymenoptera_data.zip", "hymenoptera_data")
    # an archive with a member that climbs out of the target folder
    (tree / "evil").mkdir()
    with zipfile.ZipFile(tree / "evil" / "hymenoptera_data.zip", "w") as zf:
        zf.writestr("hymenoptera_data/train/ants/a.jpg", b"not really a jpeg")
        zf.writestr("../evil.txt", b"written outside the data root")
    # a stand-in for the CS231n coco_captioning.zip: the six files of the layout plus one more
    with zipfile.ZipFile(tree / "coco_captioning.zip", "w") as zf:
        for rel in (*get_dataset("coco-captioning").layout, "train2014_vgg16_fc7.h5"):
            zf.writestr(f"coco_captioning/{rel}", rel.encode())
    return tree


@pytest.fixture(scope="module")
def mirror(mirror_tree: Path) -> Iterator[str]:
    """Base URL of a real HTTP server on 127.0.0.1 (ephemeral port) serving ``mirror_tree``."""
    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), partial(MirrorHandler, directory=str(mirror_tree))
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    thread.join()


def run_dlc(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """Run ``dlc ARGV...`` in-process as a user would; return (exit code, stdout, stderr)."""
    code = cli.main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def entries(folder: Path) -> list[str]:
    """Everything directly in ``folder``, hidden temporary files included."""
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_fetch_per_file_data_sets_over_http(mirror, tmp_path, capsys):
    root = tmp_path / "data"
    code, out, err = run_dlc(
        capsys, "data", "fetch", "styles", "yelp", "--mirror", mirror, "--data-root", str(root)
    )
    assert code == 0, err
    assert "styles: downloaded, 4 files match the manifest" in out
    assert "yelp: downloaded, 4 files match the manifest" in out
    assert entries(root) == ["styles", "yelp"]  # no staging folders or temp files left
    for name in ("styles", "yelp"):
        assert verify_folder(root / name, get_dataset(name).manifest).checked == 4


def test_fetch_archive_over_http_and_status_reports_it(mirror, tmp_path, capsys):
    root = tmp_path / "data"
    code, out, err = run_dlc(
        capsys, "data", "fetch", "hymenoptera", "--mirror", mirror, "--data-root", str(root)
    )
    assert code == 0, err
    assert (
        f"hymenoptera: downloaded, 398 files match the manifest: {root / 'hymenoptera_data'}" in out
    )
    assert entries(root) == ["hymenoptera_data"]  # the zip and the staging folder are gone
    assert len(list((root / "hymenoptera_data" / "val" / "bees").iterdir())) == 83

    code, out, _ = run_dlc(capsys, "data", "status", "--data-root", str(root))
    assert code == 0
    rows = {line.split()[0]: line.split() for line in out.splitlines()[2:6]}
    assert rows["hymenoptera"][1:4] == ["found", "398", "OK"]
    assert rows["yelp"][1] == "missing"


def test_mirror_from_environment_variable(mirror, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("DLC_DATA_MIRROR", mirror)
    monkeypatch.setenv("DLC_DATA", str(tmp_path / "data"))
    code, _, err = run_dlc(capsys, "data", "fetch", "styles")
    assert code == 0, err
    assert (tmp_path / "data" / "styles" / "the_scream.jpg").is_file()


def test_corrupted_download_is_refused_and_leaves_nothing(mirror, tmp_path, capsys, data_root):
    root = tmp_path / "data"
    code, _, err = run_dlc(
        capsys, "data", "fetch", "yelp", "--mirror", f"{mirror}/corrupt", "--data-root", str(root)
    )
    assert code == 2
    # the first file fetched is dev.txt (sorted); the error names its URL and both hashes
    body = bytearray((data_root / "yelp" / "dev.txt").read_bytes())
    body[len(body) // 2] ^= 0xFF
    expected = get_dataset("yelp").manifest.files["dev.txt"].sha256
    assert err.startswith(f"dlc: error: {mirror}/corrupt/yelp/dev.txt: checksum mismatch")
    assert expected in err and hashlib.sha256(body).hexdigest() in err
    assert len(err.strip().splitlines()) == 1
    assert entries(root) == []  # no yelp folder, no staging folder, no temp file


def test_corrupted_archive_is_refused_and_leaves_nothing(mirror, tmp_path, capsys):
    root = tmp_path / "data"
    code, _, err = run_dlc(
        capsys,
        "data",
        "fetch",
        "hymenoptera",
        "--mirror",
        f"{mirror}/corrupt",
        "--data-root",
        str(root),
    )
    assert code == 2
    assert "hymenoptera_data.zip: corrupt archive (Bad CRC-32" in err
    assert entries(root) == []


def test_short_download_is_refused(mirror, tmp_path, capsys):
    root = tmp_path / "data"
    code, _, err = run_dlc(
        capsys, "data", "fetch", "styles", "--mirror", f"{mirror}/short", "--data-root", str(root)
    )
    assert code == 2
    size = get_dataset("styles").manifest.files["composition_vii.jpg"].size
    assert f"{mirror}/short/styles/composition_vii.jpg: download ended early " in err
    assert f"({size // 2} of {size} bytes)" in err
    assert entries(root) == []


def test_missing_file_on_server_is_a_clear_error(mirror, tmp_path, capsys):
    root = tmp_path / "data"
    code, _, err = run_dlc(
        capsys, "data", "fetch", "yelp", "--mirror", f"{mirror}/nowhere", "--data-root", str(root)
    )
    assert code == 2
    assert err == f"dlc: error: {mirror}/nowhere/yelp/dev.txt: HTTP error 404 File not found\n"
    assert entries(root) == []


def test_archive_with_parent_member_is_refused(mirror, tmp_path, capsys):
    root = tmp_path / "nested" / "data"
    code, _, err = run_dlc(
        capsys,
        "data",
        "fetch",
        "hymenoptera",
        "--mirror",
        f"{mirror}/evil",
        "--data-root",
        str(root),
    )
    assert code == 2
    assert "refusing to unpack member '../evil.txt'" in err
    assert entries(root) == []
    assert not any(p.name == "evil.txt" for p in tmp_path.rglob("*"))


def test_existing_copy_is_kept_checked_and_replaced_only_with_force(mirror, tmp_path, capsys):
    root = tmp_path / "data"
    fetch = ("data", "fetch", "yelp", "--mirror", mirror, "--data-root", str(root))
    assert run_dlc(capsys, *fetch)[0] == 0

    code, out, _ = run_dlc(capsys, *fetch)
    assert code == 0 and "yelp: already present, 4 files match the manifest" in out

    (root / "yelp" / "test.txt").write_text("0 tampered\n")
    code, _, err = run_dlc(capsys, *fetch)
    assert code == 2
    assert "1 file(s) differ from the manifest (test.txt)" in err and "--force" in err

    code, out, err = run_dlc(capsys, *fetch, "--force")
    assert code == 0, err
    assert verify_folder(root / "yelp", get_dataset("yelp").manifest).ok
    assert entries(root) == ["yelp"]


def test_import_from_a_data_root_and_from_a_data_set_folder(data_root, tmp_path, capsys):
    root = tmp_path / "data"
    code, out, err = run_dlc(
        capsys,
        "data",
        "fetch",
        "yelp",
        "styles",
        "--from",
        str(data_root),
        "--data-root",
        str(root),
    )
    assert code == 0, err
    assert "yelp: imported, 4 files match the manifest" in out
    code, out, err = run_dlc(
        capsys,
        "data",
        "fetch",
        "hymenoptera",
        "--from",
        str(data_root / "hymenoptera_data"),
        "--data-root",
        str(root),
    )
    assert code == 0, err
    assert "hymenoptera: imported, 398 files match the manifest" in out
    assert entries(root) == ["hymenoptera_data", "styles", "yelp"]


def test_import_from_an_archive_file(mirror_tree, tmp_path, capsys):
    root = tmp_path / "data"
    archive = mirror_tree / "hymenoptera_data.zip"
    code, out, err = run_dlc(
        capsys, "data", "fetch", "hymenoptera", "--from", str(archive), "--data-root", str(root)
    )
    assert code == 0, err
    assert "hymenoptera: imported, 398 files match the manifest" in out


def test_import_verifies_every_file(data_root, tmp_path, capsys):
    source = tmp_path / "my_yelp"
    shutil.copytree(data_root / "yelp", source)
    with open(source / "train.txt", "ab") as f:
        f.write(b"1 one more line\n")
    root = tmp_path / "data"
    code, _, err = run_dlc(
        capsys, "data", "fetch", "yelp", "--from", str(source), "--data-root", str(root)
    )
    assert code == 2
    expected = get_dataset("yelp").manifest.files["train.txt"].sha256
    actual = sha256_file(source / "train.txt")
    assert f"{source}: train.txt differs from the yelp manifest: expected sha256 {expected}" in err
    assert actual in err
    assert entries(root) == []


def test_import_from_a_folder_without_the_data_set(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    code, _, err = run_dlc(
        capsys,
        "data",
        "fetch",
        "styles",
        "--from",
        str(tmp_path / "empty"),
        "--data-root",
        str(tmp_path / "data"),
    )
    assert code == 2
    assert f"{tmp_path / 'empty'}: does not hold the styles data set" in err


def test_unwritable_data_root_is_a_clear_error(data_root, tmp_path, capsys):
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    code, _, err = run_dlc(
        capsys,
        "data",
        "fetch",
        "styles",
        "--from",
        str(data_root),
        "--data-root",
        str(blocker / "data"),
    )
    assert code == 2
    assert err.startswith(f"dlc: error: {blocker / 'data'}: cannot write the data set there")


def test_archive_without_known_checksums_is_placed_but_reported_unverified(
    mirror, tmp_path, capsys
):
    root = tmp_path / "data"
    code, out, err = run_dlc(
        capsys, "data", "fetch", "coco-captioning", "--mirror", mirror, "--data-root", str(root)
    )
    assert code == 0, err
    assert "coco-captioning: downloaded, 6 files present (no checksums known, not verified)" in out
    assert len(list((root / "coco_captioning").iterdir())) == 7  # extra files are kept


def test_interrupted_fetch_leaves_nothing(mirror, tmp_path, capsys, monkeypatch):
    real_download = fetch.download_file
    calls = []

    def download_then_interrupt(url, dest, expected_sha256=None, timeout=60.0):
        calls.append(url)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real_download(url, dest, expected_sha256, timeout)

    monkeypatch.setattr(fetch, "download_file", download_then_interrupt)
    root = tmp_path / "data"
    code, _, err = run_dlc(
        capsys, "data", "fetch", "yelp", "--mirror", mirror, "--data-root", str(root)
    )
    assert code == 130 and err == "dlc: interrupted\n"
    assert len(calls) == 3
    assert entries(root) == []  # the two files already downloaded went with the staging folder
