"""`dlc data fetch` for real: downloads over HTTP from a server on 127.0.0.1, and local imports.

The server serves a mirror tree built from the shared data: ``styles/`` and ``yelp/`` copied file
by file, and ``hymenoptera_data.zip`` zipped from the image folder, exactly the layout a user's
mirror has. Extra routes serve broken variants: ``/corrupt/...`` flips one byte in the middle
of a file, ``/short/...`` promises the full length and stops halfway, ``/padded/...`` serves the
file with extra bytes after it (``/unannounced/...`` too, without a Content-Length), ``/slow/...``
sends half of it and then stalls for a while.
"""

from __future__ import annotations

import hashlib
import http.server
import shutil
import signal
import subprocess
import sys
import threading
import time
import zipfile
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import pytest

from dlclassics import cli
from dlclassics.data import fetch
from dlclassics.data import manifest as manifest_module
from dlclassics.data.catalog import get_dataset
from dlclassics.data.manifest import sha256_file, verify_folder
from dlclassics.data.registry import dataset_path
from dlclassics.data.staging import PID_FILE

SLOW_STALL_S = 20.0

PADDING = b"0 and a sentence the manifest does not know\n"  # what /padded/ and /unannounced/ add


class MirrorHandler(http.server.SimpleHTTPRequestHandler):
    """Serves the mirror tree; ``/corrupt/<path>`` and ``/short/<path>`` serve broken copies."""

    def do_GET(self) -> None:
        if self.path.startswith(("/padded/", "/unannounced/", "/slow/")):
            prefix = "/" + self.path.split("/")[1] + "/"
            body = (Path(self.directory) / self.path[len(prefix) :]).read_bytes()
            if prefix != "/slow/":
                body += PADDING
            self.send_response(200)
            if prefix != "/unannounced/":  # no length: the body ends when the connection does
                self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if prefix != "/slow/":
                self.wfile.write(body)
                return
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            time.sleep(SLOW_STALL_S)  # the client is killed meanwhile; then the socket closes
            return
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


class QuietServer(http.server.ThreadingHTTPServer):
    """No traceback on stderr when a client hangs up early (as a refused download does)."""

    def handle_error(self, request: object, client_address: object) -> None:
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
    # the same, with a member that unpacks to far more than its few compressed bytes
    (tree / "bomb").mkdir()
    with zipfile.ZipFile(tree / "bomb" / "coco_captioning.zip", "w", zipfile.ZIP_DEFLATED) as zf:
        for rel in get_dataset("coco-captioning").layout:
            zf.writestr(f"coco_captioning/{rel}", bytes(200_000) if rel.endswith(".h5") else b"x")
    return tree


@pytest.fixture(scope="module")
def mirror(mirror_tree: Path) -> Iterator[str]:
    """Base URL of a real HTTP server on 127.0.0.1 (ephemeral port) serving ``mirror_tree``."""
    server = QuietServer(("127.0.0.1", 0), partial(MirrorHandler, directory=str(mirror_tree)))
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
    assert (
        "coco-captioning: downloaded, 6 files present (no checksums known, not verified), "
        "1 file(s) not in the manifest left out (coco_captioning/train2014_vgg16_fc7.h5)"
    ) in out
    kept = sorted(p.name for p in (root / "coco_captioning").iterdir())
    assert kept == sorted(get_dataset("coco-captioning").layout)  # the extra member is not


def test_interrupted_fetch_leaves_nothing(mirror, tmp_path, capsys, monkeypatch):
    real_download = fetch.download_file
    calls = []

    def download_then_interrupt(url, dest, **options):
        calls.append(url)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real_download(url, dest, **options)

    monkeypatch.setattr(fetch, "download_file", download_then_interrupt)
    root = tmp_path / "data"
    code, _, err = run_dlc(
        capsys, "data", "fetch", "yelp", "--mirror", mirror, "--data-root", str(root)
    )
    assert code == 130 and err == "dlc: interrupted\n"
    assert len(calls) == 3
    assert entries(root) == []  # the two files already downloaded went with the staging folder


def one_error_line(err: str) -> str:
    """The single ``dlc: error:`` line of ``err`` (asserting there is exactly one line)."""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("dlc: error: "), err
    return lines[0]


# --- size caps ------------------------------------------------------------------------------


def test_size_cap_comes_from_the_manifest():
    hymenoptera = get_dataset("hymenoptera").manifest
    total = sum(entry.size for entry in hymenoptera.files.values())
    assert hymenoptera.total_size == total
    assert hymenoptera.size_cap() == 2 * total + manifest_module.CAP_SLACK_BYTES
    coco = manifest_module.Manifest("coco", {"a.h5": manifest_module.ManifestEntry(None, None)})
    assert coco.total_size is None
    assert coco.size_cap() == manifest_module.FALLBACK_CAP_BYTES
    # the real coco_captioning.zip also carries GBs of features the manifest leaves out
    assert fetch._archive_cap(get_dataset("coco-captioning")) == 8 * 1000**3
    assert fetch._archive_cap(get_dataset("hymenoptera")) == hymenoptera.size_cap()


def test_archive_download_above_the_cap_is_refused(mirror, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(manifest_module.Manifest, "size_cap", lambda self: 10_000)
    root = tmp_path / "data"
    code, _, err = run_dlc(
        capsys, "data", "fetch", "hymenoptera", "--mirror", mirror, "--data-root", str(root)
    )
    assert code == 2
    line = one_error_line(err)
    assert f"{mirror}/hymenoptera_data.zip: refusing to download " in line
    assert "more than its size cap of 10.0 kB" in line
    assert entries(root) == []


@pytest.mark.parametrize("route", ["padded", "unannounced"])
def test_per_file_download_larger_than_its_manifest_entry_is_refused(
    mirror, tmp_path, capsys, route
):
    root = tmp_path / "data"
    code, _, err = run_dlc(
        capsys, "data", "fetch", "yelp", "--mirror", f"{mirror}/{route}", "--data-root", str(root)
    )
    assert code == 2
    size = get_dataset("yelp").manifest.files["dev.txt"].size
    line = one_error_line(err)
    assert line.startswith(f"dlc: error: {mirror}/{route}/yelp/dev.txt: refusing to download ")
    if route == "padded":  # it announces its length: both sizes are said, never alike
        served = size + len(PADDING)
        shown, cap_shown = manifest_module.distinct_sizes(served, size)
        assert f"refusing to download {shown}: more than its size cap of {cap_shown}" in line
        assert shown != cap_shown
    else:
        assert f"size cap of {manifest_module.human_bytes(size)}" in line
    assert entries(root) == []


def test_archive_unpacking_to_more_than_the_cap_is_refused(mirror, tmp_path, capsys, monkeypatch):
    # coco-captioning's manifest records no sizes, so its cap is the fixed fallback
    monkeypatch.setattr(manifest_module, "FALLBACK_CAP_BYTES", 100_000)
    root = tmp_path / "data"
    code, _, err = run_dlc(
        capsys,
        "data",
        "fetch",
        "coco-captioning",
        "--mirror",
        f"{mirror}/bomb",
        "--data-root",
        str(root),
    )
    assert code == 2
    line = one_error_line(err)
    assert (
        "coco_captioning.zip: refusing to unpack 600.0 kB of files: more than the size cap of "
        in line
    )
    assert entries(root) == []


def test_local_archive_above_the_cap_is_refused(mirror_tree, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(manifest_module.Manifest, "size_cap", lambda self: 10_000)
    archive = mirror_tree / "hymenoptera_data.zip"
    root = tmp_path / "data"
    code, _, err = run_dlc(
        capsys, "data", "fetch", "hymenoptera", "--from", str(archive), "--data-root", str(root)
    )
    assert code == 2
    assert one_error_line(err).startswith(f"dlc: error: {archive}: refusing an archive of ")
    assert entries(root) == []


# --- archive members the manifest does not list -----------------------------------------------


def test_archive_members_outside_the_manifest_are_never_extracted(
    data_root, tmp_path, capsys, monkeypatch
):
    archive = tmp_path / "hymenoptera_data.zip"
    _zip_folder(data_root / "hymenoptera_data", archive, "hymenoptera_data")
    with zipfile.ZipFile(archive, "a") as zf:
        zf.writestr("hymenoptera_data/train/ants/extra.bin", bytes(300_000))
        zf.writestr("__MACOSX/hymenoptera_data/._train", b"resource fork")
        zf.writestr("README.txt", b"not part of the data set")
    written = []
    real_extract = fetch.extract_archive

    def spy(archive, dest, *, select=None, max_total_bytes=None):
        written.extend(real_extract(archive, dest, select=select, max_total_bytes=max_total_bytes))
        return written

    monkeypatch.setattr(fetch, "extract_archive", spy)
    root = tmp_path / "data"
    code, out, err = run_dlc(
        capsys, "data", "fetch", "hymenoptera", "--from", str(archive), "--data-root", str(root)
    )
    assert code == 0, err
    assert (
        "hymenoptera: imported, 398 files match the manifest, 3 file(s) not in the manifest "
        "left out (hymenoptera_data/train/ants/extra.bin, __MACOSX/hymenoptera_data/._train, "
        "README.txt)"
    ) in out
    assert len(written) == 398  # the three were never written, not even to the staging folder
    assert not (root / "hymenoptera_data" / "train" / "ants" / "extra.bin").exists()
    assert entries(root) == ["hymenoptera_data"]


def test_folder_import_copies_only_the_manifest_files(data_root, tmp_path, capsys):
    source = tmp_path / "yelp"
    shutil.copytree(data_root / "yelp", source)
    (source / "notes.txt").write_text("my own notes\n")
    root = tmp_path / "data"
    code, out, err = run_dlc(
        capsys, "data", "fetch", "yelp", "--from", str(source), "--data-root", str(root)
    )
    assert code == 0, err
    assert (
        "yelp: imported, 4 files match the manifest, 1 file(s) not in the manifest left out " in out
    )
    assert sorted(p.name for p in (root / "yelp").iterdir()) == sorted(
        get_dataset("yelp").manifest.files
    )


# --- data on first use --------------------------------------------------------------------------

# a command that needs a data set (styles) and finds it through dataset_path before any work
STYLE_REFERENCE = ("style", "--preset", "reference", "--size", "32", "--iters", "1")


def test_missing_data_set_is_fetched_on_first_use(mirror, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("DLC_DATA_MIRROR", mirror)
    monkeypatch.setenv("DLC_OFFLINE", "0")
    root = tmp_path / "data"
    assert dataset_path("yelp", root) == root / "yelp"
    err = capsys.readouterr().err
    assert err == (
        f"yelp: not in {root}; downloading it from {mirror} (set DLC_OFFLINE=1 to refuse) ...\n"
    )
    assert verify_folder(root / "yelp", get_dataset("yelp").manifest).checked == 4
    assert entries(root) == ["yelp"]

    assert dataset_path("yelp", root) == root / "yelp"  # second use: found, nothing said
    assert capsys.readouterr().err == ""


def test_first_use_fetch_keeps_the_hash_checks(mirror, tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("DLC_OFFLINE", raising=False)
    root = tmp_path / "data"
    monkeypatch.setenv("DLC_DATA", str(root))
    monkeypatch.setenv("DLC_DATA_MIRROR", f"{mirror}/corrupt")
    code, _, err = run_dlc(capsys, *STYLE_REFERENCE, "-o", str(tmp_path / "run"))
    assert code == 2
    notice, error = err.strip().splitlines()
    assert notice.startswith(f"styles: not in {root}; downloading it from {mirror}/corrupt")
    assert error.startswith(f"dlc: error: data set 'styles' not found under {root} (no ")
    assert f"downloading it failed: {mirror}/corrupt/styles/composition_vii.jpg: checksum" in error
    assert entries(root) == []


@pytest.mark.parametrize("value", ["1", "true", "YES"])
def test_offline_turns_first_use_into_the_one_line_error(
    mirror, tmp_path, capsys, monkeypatch, value
):
    monkeypatch.setenv("DLC_DATA_MIRROR", mirror)  # would work, but downloads are off
    monkeypatch.setenv("DLC_OFFLINE", value)
    root = tmp_path / "data"
    code, _, err = run_dlc(
        capsys, *STYLE_REFERENCE, "--data-root", str(root), "-o", str(tmp_path / "run")
    )
    assert code == 2
    line = one_error_line(err)
    assert line.startswith(f"dlc: error: data set 'styles' not found under {root} (no ")
    assert f"downloads are off (DLC_OFFLINE={value}): run `dlc data fetch styles`" in line
    assert entries(root) == []


def test_bad_offline_value_is_a_one_line_error(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("DLC_OFFLINE", "maybe")
    code, _, err = run_dlc(
        capsys, *STYLE_REFERENCE, "--data-root", str(tmp_path), "-o", str(tmp_path / "run")
    )
    assert code == 2
    assert one_error_line(err) == (
        "dlc: error: DLC_OFFLINE='maybe': expected 1 or 0 (also true/false, yes/no, on/off)"
    )


# --- a fetch killed with SIGTERM ------------------------------------------------------------------


def test_fetch_killed_by_sigterm_leaves_a_staging_folder_the_next_fetch_removes(
    mirror, tmp_path, capsys
):
    root = tmp_path / "data"
    # what `dlc data fetch yelp --mirror URL --data-root ROOT` runs, without loading every
    # command module (and torch) first
    script = (
        "import sys; from dlclassics.data.fetch import fetch_dataset; "
        "from dlclassics.data.catalog import get_dataset; "
        "fetch_dataset(get_dataset('yelp'), sys.argv[1], mirror=sys.argv[2])"
    )
    child = subprocess.Popen(
        [sys.executable, "-c", script, str(root), f"{mirror}/slow"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while not list(root.glob(".yelp.fetch-*/yelp/.dev.txt.*.tmp")):
            assert child.poll() is None and time.monotonic() < deadline, "fetch never started"
            time.sleep(0.05)
        time.sleep(0.2)  # let it write the first half
        child.send_signal(signal.SIGTERM)
        assert child.wait(timeout=30) == -signal.SIGTERM
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    [leftover] = [p for p in root.iterdir() if p.name.startswith(".yelp.fetch-")]
    assert (leftover / PID_FILE).read_text().split()[0] == str(child.pid)

    code, out, _ = run_dlc(capsys, "data", "status", "--data-root", str(root), "--no-verify")
    assert code == 0
    assert (
        f"fetch leftover: {leftover} (" in out
        and f"stale (PID {child.pid} is gone): the next `dlc data fetch` removes it" in out
    )

    code, out, err = run_dlc(
        capsys, "data", "fetch", "yelp", "--mirror", mirror, "--data-root", str(root)
    )
    assert code == 0, err
    assert f"removed {leftover.name} (" in out
    assert entries(root) == ["yelp"]
