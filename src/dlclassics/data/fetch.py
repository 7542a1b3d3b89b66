"""Putting a data set into the data root: download it (or copy it from a local folder or archive),
verify it against its manifest, and move it into place with one rename.

Everything is assembled in a hidden staging folder inside the data root
(``<root>/.<folder>.fetch-XXXX``), so a failure at any point (network error, checksum mismatch,
unsafe archive, Ctrl-C) leaves the data root as it was: no half-written data set, no stray files.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import shutil
import tempfile
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

from dlclassics import __version__
from dlclassics.data.archive import extract_archive
from dlclassics.data.manifest import VerifyReport, list_files, verify_folder
from dlclassics.data.registry import ArchiveSource, DatasetSpec, download_urls
from dlclassics.errors import DlcError
from dlclassics.io import atomic_path

DOWNLOAD_CHUNK_BYTES = 1 << 20
DOWNLOAD_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class FetchOutcome:
    """What a fetch did: where the data set is, and how its files compared with the manifest.

    ``action`` is ``"downloaded"``, ``"imported"`` or ``"already present"``.
    """

    path: Path
    action: str
    report: VerifyReport


def download_file(
    url: str,
    dest: str | os.PathLike[str],
    expected_sha256: str | None = None,
    timeout: float = DOWNLOAD_TIMEOUT_S,
) -> str:
    """Stream ``url`` to ``dest`` with a progress bar, hashing it on the way.

    The bytes go to a temporary file beside ``dest``, renamed onto ``dest`` only when the
    download is complete and (if ``expected_sha256`` is given) its SHA-256 matches.

    Returns:
        The SHA-256 hex digest of the downloaded bytes.

    Raises:
        DlcError: naming the URL on HTTP and network errors, a short download, or a checksum
            mismatch (with both hashes); the temporary file is removed and ``dest`` untouched.
    """
    dest = Path(dest)
    request = urllib.request.Request(url, headers={"User-Agent": f"dlclassics/{__version__}"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response, atomic_path(dest) as tmp:
            length = response.headers.get("Content-Length")
            expected_bytes = int(length) if length and length.isdigit() else None
            digest, received = hashlib.sha256(), 0
            with (
                open(tmp, "wb") as out,
                tqdm(
                    total=expected_bytes,
                    desc=dest.name,
                    unit="B",
                    unit_scale=True,
                    unit_divisor=1024,
                    disable=None,
                    leave=False,
                ) as bar,
            ):
                while chunk := response.read(DOWNLOAD_CHUNK_BYTES):
                    out.write(chunk)
                    digest.update(chunk)
                    received += len(chunk)
                    bar.update(len(chunk))
            if expected_bytes is not None and received != expected_bytes:
                raise DlcError(
                    f"{url}: download ended early ({received} of {expected_bytes} bytes)"
                )
            actual = digest.hexdigest()
            if expected_sha256 is not None and actual != expected_sha256:
                raise DlcError(
                    f"{url}: checksum mismatch for {dest.name}: expected sha256 {expected_sha256}, "
                    f"got {actual}; the download was discarded"
                )
            return actual
    except urllib.error.HTTPError as exc:
        raise DlcError(f"{url}: HTTP error {exc.code} {exc.reason}") from exc
    except urllib.error.URLError as exc:
        raise DlcError(f"{url}: cannot download ({exc.reason})") from exc
    except (TimeoutError, ConnectionError, http.client.HTTPException) as exc:
        raise DlcError(f"{url}: download failed ({exc or type(exc).__name__})") from exc


def fetch_dataset(
    spec: DatasetSpec,
    data_root: str | os.PathLike[str],
    mirror: str | None = None,
    force: bool = False,
) -> FetchOutcome:
    """Download ``spec`` from its public source (or ``mirror``) into ``data_root``.

    An existing copy that matches the manifest is left alone; one that does not is an error
    unless ``force`` is set, in which case it is replaced once the new copy has been verified.
    """

    def download_into(staging: Path) -> tuple[Path, str]:
        if isinstance(spec.source, ArchiveSource):
            [(url, file_name)] = download_urls(spec, mirror)
            archive = staging / file_name
            download_file(url, archive)  # the archive's own hash is not known; its files' are
            content = _unpack(spec, archive, staging / "unpacked", origin=url)
            archive.unlink()
            return content, url
        content = staging / spec.folder
        urls = download_urls(spec, mirror)
        for url, rel in tqdm(urls, desc=f"fetching {spec.name}", unit="file", disable=None):
            download_file(url, content / rel, spec.manifest.files[rel].sha256)
        return content, mirror or spec.source.base_url

    return _install(spec, Path(data_root), download_into, force=force, action="downloaded")


def import_dataset(
    spec: DatasetSpec,
    data_root: str | os.PathLike[str],
    source: str | os.PathLike[str],
    force: bool = False,
) -> FetchOutcome:
    """Copy ``spec`` into ``data_root`` from a local folder or archive, verifying every file.

    ``source`` may be the data set's folder itself (``.../hymenoptera_data``), a folder holding
    it (another data root), or a zip/tar archive of it (e.g. a manually downloaded
    ``hymenoptera_data.zip``).
    """
    source = Path(source).expanduser()
    if not source.exists():
        raise DlcError(f"{source}: no such file or folder")

    def copy_into(staging: Path) -> tuple[Path, str]:
        if source.is_file():
            return _unpack(spec, source, staging / "unpacked", origin=str(source)), str(source)
        origin = _find_content(spec, source)
        if origin is None:
            raise DlcError(
                f"{source}: does not hold the {spec.name} data set "
                f"(expected {', '.join(spec.layout)} in it or in {source / spec.folder})"
            )
        content = staging / spec.folder
        _copy_tree(origin, content)
        return content, str(origin)

    return _install(spec, Path(data_root), copy_into, force=force, action="imported")


def _install(
    spec: DatasetSpec,
    data_root: Path,
    fill: Callable[[Path], tuple[Path, str]],
    force: bool,
    action: str,
) -> FetchOutcome:
    """Run ``fill(staging) -> (content folder, origin)`` in a staging folder, verify, move in."""
    target = spec.path_under(data_root)
    if not force and (target.exists() or target.is_symlink()):
        report = verify_folder(target, spec.manifest)
        if not report.ok:
            raise DlcError(
                f"{target} already exists but {report.summary()}: "
                f"re-run `dlc data fetch {spec.name}` with --force to replace it"
            )
        return FetchOutcome(target, "already present", report)
    try:
        data_root.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{spec.folder}.fetch-", dir=data_root))
    except OSError as exc:
        raise DlcError(
            f"{data_root}: cannot write the data set there ({exc.strerror}); "
            "choose another folder with --data-root DIR"
        ) from exc
    try:
        content, origin = fill(staging)
        report = verify_folder(content, spec.manifest)
        if report.missing:
            raise DlcError(f"{origin}: incomplete {spec.name} data set: {report.summary()}")
        if report.mismatched:
            rel, expected, actual = report.mismatched[0]
            raise DlcError(
                f"{origin}: {rel} differs from the {spec.name} manifest: expected sha256 "
                f"{expected}, got {actual} ({len(report.mismatched)} file(s) differ)"
            )
        _move_into_place(content, target, staging)
    except OSError as exc:
        raise DlcError(f"fetching {spec.name} into {data_root} failed: {exc}") from exc
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return FetchOutcome(target, action, report)


def _move_into_place(content: Path, target: Path, staging: Path) -> None:
    """Rename ``content`` onto ``target``; an old ``target`` goes into ``staging`` to be deleted."""
    if target.exists() or target.is_symlink():
        previous = staging / "previous"
        os.replace(target, previous)
        try:
            os.replace(content, target)
        except OSError:
            os.replace(previous, target)
            raise
    else:
        os.replace(content, target)


def _unpack(spec: DatasetSpec, archive: Path, unpacked: Path, origin: str) -> Path:
    """Extract ``archive`` safely and return the folder inside it that holds the data set."""
    extract_archive(archive, unpacked)
    content = _find_content(spec, unpacked)
    if content is None:
        raise DlcError(
            f"{origin}: the archive does not hold the {spec.name} data set "
            f"(no {spec.folder}/ with {', '.join(spec.layout)})"
        )
    return content


def _find_content(spec: DatasetSpec, folder: Path) -> Path | None:
    """The folder holding ``spec``'s layout: ``folder`` itself, its ``spec.folder`` (or the
    archive's top folder) child, or its only child folder; ``None`` if none of them does."""
    candidates = [folder, folder / spec.folder]
    if isinstance(spec.source, ArchiveSource):
        candidates.append(folder / spec.source.top_folder)
    children = [p for p in folder.iterdir() if p.is_dir() and not p.name.startswith((".", "__"))]
    if len(children) == 1:
        candidates.append(children[0])
    return next((c for c in candidates if c.is_dir() and not spec.missing_layout(c)), None)


def _copy_tree(origin: Path, content: Path) -> None:
    """Copy every non-hidden file under ``origin`` to ``content``, with a progress bar by bytes."""
    files = list_files(origin)
    total = sum((origin / rel).stat().st_size for rel in files)
    with tqdm(
        total=total, desc=f"copying {origin.name}", unit="B", unit_scale=True, disable=None
    ) as bar:
        for rel in files:
            (content / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(origin / rel, content / rel)
            bar.update((origin / rel).stat().st_size)
