"""Putting a data set into the data root: download it (or copy it from a local folder or archive),
verify it against its manifest, and move it into place with one rename.

Everything is assembled in a hidden staging folder inside the data root (see
:mod:`dlclassics.data.staging`), so a failure at any point (network error, checksum mismatch,
unsafe archive, Ctrl-C) leaves the data root as it was. Only what the manifest lists is kept, and
nothing larger than its size cap (``Manifest.size_cap``, or ``ArchiveSource.max_bytes``) is
downloaded, unpacked or copied; ``--from DIR`` refuses links that lead outside DIR.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import posixpath
import shutil
import stat
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from tqdm import tqdm

from dlclassics import __version__
from dlclassics.data.archive import extract_archive, list_members
from dlclassics.data.catalog import ArchiveSource, DatasetSpec, download_urls
from dlclassics.data.manifest import (
    VerifyReport,
    distinct_sizes,
    human_bytes,
    list_files,
    verify_folder,
)
from dlclassics.data.staging import StagingFolder, make_staging, remove_stale_staging
from dlclassics.errors import DlcError
from dlclassics.io import atomic_path

DOWNLOAD_CHUNK_BYTES = 1 << 20
DOWNLOAD_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class FetchOutcome:
    """What a fetch did: where the data set is, and how its files compared with the manifest."""

    path: Path
    action: str  # "downloaded", "imported" or "already present"
    report: VerifyReport
    dropped: list[str] = field(default_factory=list)  # files the manifest does not list, left out
    cleaned: list[StagingFolder] = field(default_factory=list)  # stale staging folders removed


def download_file(
    url: str,
    dest: str | os.PathLike[str],
    *,
    expected_sha256: str | None = None,
    timeout: float = DOWNLOAD_TIMEOUT_S,
    max_bytes: int | None = None,
) -> str:
    """Stream ``url`` to ``dest`` with a progress bar; return the SHA-256 of the bytes.

    ``dest`` is written (atomically) only when the download is complete, within ``max_bytes`` and
    matches ``expected_sha256`` if given; anything else is a DlcError naming the URL.

    Example:
        >>> download_file("https://example.org/dev.txt", "yelp/dev.txt",  # doctest: +SKIP
        ...               expected_sha256="9f86d0...", max_bytes=10**6)
        '9f86d0...'
    """
    dest = Path(dest)
    request = urllib.request.Request(url, headers={"User-Agent": f"dlclassics/{__version__}"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response, atomic_path(dest) as tmp:
            length = response.headers.get("Content-Length")
            expected_bytes = int(length) if length and length.isdigit() else None
            if max_bytes is not None and expected_bytes is not None and expected_bytes > max_bytes:
                expected_shown, cap_shown = distinct_sizes(expected_bytes, max_bytes)
                raise DlcError(
                    f"{url}: refusing to download {expected_shown}: more than its "
                    f"size cap of {cap_shown}"
                )
            digest = hashlib.sha256()
            received = 0
            # bytes in KiB/MiB, hidden when not a terminal, gone when done
            bar = tqdm(
                total=expected_bytes,
                desc=dest.name,
                unit="B",
                unit_scale=True,
                unit_divisor=1024,
                disable=None,
                leave=False,
            )
            with open(tmp, "wb") as out, bar:
                while chunk := response.read(DOWNLOAD_CHUNK_BYTES):
                    out.write(chunk)
                    digest.update(chunk)
                    received += len(chunk)
                    bar.update(len(chunk))
                    if max_bytes is not None and received > max_bytes:
                        raise DlcError(
                            f"{url}: refusing to download more than its size cap of "
                            f"{human_bytes(max_bytes)}; the download was discarded"
                        )
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
    *,
    mirror: str | None = None,
    force: bool = False,
) -> FetchOutcome:
    """Download ``spec`` from its public source (or ``mirror``) into ``data_root``. An existing
    copy that matches the manifest is kept; one that does not is an error unless ``force`` is set,
    in which case it is replaced once the new copy has been verified.

    Example:
        >>> fetch_dataset(get_dataset("yelp"), "/data").action  # doctest: +SKIP
        'downloaded'
    """

    def download_into(staging: Path) -> tuple[Path, str, list[str]]:
        if isinstance(spec.source, ArchiveSource):
            [(url, file_name)] = download_urls(spec, mirror)
            archive = staging / file_name
            # the archive's own hash is not known; its files' are
            download_file(url, archive, max_bytes=_archive_cap(spec))
            content, dropped = _unpack(spec, archive, staging / "unpacked", origin=url)
            archive.unlink()
            return content, url, dropped
        content = staging / spec.folder
        urls = download_urls(spec, mirror)
        for url, rel in tqdm(urls, desc=f"fetching {spec.name}", unit="file", disable=None):
            entry = spec.manifest.files[rel]
            cap = entry.size if entry.size is not None else spec.manifest.size_cap()
            download_file(url, content / rel, expected_sha256=entry.sha256, max_bytes=cap)
        return content, mirror or spec.source.base_url, []

    return _install(spec, Path(data_root), download_into, force=force, action="downloaded")


def import_dataset(
    spec: DatasetSpec,
    data_root: str | os.PathLike[str],
    source: str | os.PathLike[str],
    *,
    force: bool = False,
) -> FetchOutcome:
    """Copy ``spec`` into ``data_root`` from ``source``, verifying every file: the data set's
    folder (``.../hymenoptera_data``), a folder holding it, or a zip/tar archive of it.

    Example:
        >>> import_dataset(get_dataset("yelp"), "/data", "old_copy/yelp").path  # doctest: +SKIP
        PosixPath('/data/yelp')
    """
    source = Path(source).expanduser()
    if not source.exists():
        raise DlcError(f"{source}: no such file or folder")

    def copy_into(staging: Path) -> tuple[Path, str, list[str]]:
        if source.is_file():
            size = source.stat().st_size
            cap = _archive_cap(spec)
            if size > cap:
                size_shown, cap_shown = distinct_sizes(size, cap)
                raise DlcError(
                    f"{source}: refusing an archive of {size_shown}: more than the size "
                    f"cap of {cap_shown} for the {spec.name} data set"
                )
            content, dropped = _unpack(spec, source, staging / "unpacked", origin=str(source))
            return content, str(source), dropped
        origin = _find_content(spec, source)
        if origin is None:
            raise DlcError(
                f"{source}: does not hold the {spec.name} data set "
                f"(expected {', '.join(spec.layout)} in it or in {source / spec.folder})"
            )
        content = staging / spec.folder
        dropped = _copy_tree(spec, origin, content)
        return content, str(origin), dropped

    return _install(spec, Path(data_root), copy_into, force=force, action="imported")


def _install(
    spec: DatasetSpec,
    data_root: Path,
    fill: Callable[[Path], tuple[Path, str, list[str]]],
    force: bool,
    action: str,
) -> FetchOutcome:
    """Run ``fill(staging) -> (content, origin, dropped)`` in a staging folder; verify; move in."""
    target = spec.path_under(data_root)
    cleaned = remove_stale_staging(data_root)
    if not force and (target.exists() or target.is_symlink()):
        return _already_present(spec, target, cleaned)
    try:
        data_root.mkdir(parents=True, exist_ok=True)
        staging = make_staging(data_root, spec.folder)
    except OSError as exc:
        raise DlcError(
            f"{data_root}: cannot write the data set there ({exc.strerror or exc}); "
            "choose another folder with --data-root DIR"
        ) from exc
    try:
        content, origin, dropped = fill(staging)
        report = verify_folder(content, spec.manifest)
        if report.missing:
            raise DlcError(f"{origin}: incomplete {spec.name} data set: {report.summary()}")
        if report.mismatched:
            rel, expected, actual = report.mismatched[0]
            raise DlcError(
                f"{origin}: {rel} differs from the {spec.name} manifest: expected sha256 "
                f"{expected}, got {actual} ({len(report.mismatched)} file(s) differ)"
            )
        try:
            if not force and (target.exists() or target.is_symlink()):
                raise FileExistsError(target)
            _move_into_place(content, target, staging)
        except OSError:
            if force or not target.exists():
                raise
            # another process (e.g. another torchrun rank) put it there meanwhile: keep theirs
            return _already_present(spec, target, cleaned)
    except OSError as exc:
        raise DlcError(f"fetching {spec.name} into {data_root} failed: {exc}") from exc
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return FetchOutcome(target, action, report, dropped=dropped, cleaned=cleaned)


def _already_present(spec: DatasetSpec, target: Path, cleaned: list[StagingFolder]) -> FetchOutcome:
    """The outcome for a copy already in place: fine if it matches the manifest, else an error."""
    report = verify_folder(target, spec.manifest)
    if not report.ok:
        raise DlcError(
            f"{target} already exists but {report.summary()}: "
            f"re-run `dlc data fetch {spec.name}` with --force to replace it"
        )
    return FetchOutcome(target, "already present", report, cleaned=cleaned)


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


def _archive_cap(spec: DatasetSpec) -> int:
    """The most bytes an archive of ``spec`` may have: its source's own cap, else the manifest's."""
    own = spec.source.max_bytes if isinstance(spec.source, ArchiveSource) else None
    return own or spec.manifest.size_cap()


def _unpack(
    spec: DatasetSpec, archive: Path, unpacked: Path, origin: str
) -> tuple[Path, list[str]]:
    """Extract the manifest's files from ``archive`` safely; return the folder inside it that
    holds the data set and the names of the members left out."""
    names = list_members(archive)
    keep = _manifest_selector(spec, names)
    extract_archive(archive, unpacked, select=keep, max_total_bytes=spec.manifest.size_cap())
    content = _find_content(spec, unpacked)
    if content is None:
        raise DlcError(
            f"{origin}: the archive does not hold the {spec.name} data set "
            f"(no {spec.folder}/ with {', '.join(spec.layout)})"
        )
    return content, [name for name in names if not keep(name)]


def _manifest_selector(spec: DatasetSpec, names: list[str]) -> Callable[[str], bool]:
    """Which archive members to extract: those that are manifest files under the one folder
    prefix (e.g. ``hymenoptera_data/``) that holds most of them; every member when the
    manifest lists no files."""
    wanted = set(spec.manifest.files)
    if not wanted:
        return lambda name: True
    votes: dict[str, int] = {}
    for name in names:
        parts = posixpath.normpath(name).split("/")
        for k in range(len(parts)):
            if "/".join(parts[k:]) in wanted:
                prefix = "/".join(parts[:k])
                votes[prefix] = votes.get(prefix, 0) + 1
    if not votes:
        return lambda name: False
    best = max(votes, key=lambda p: (votes[p], -len(p)))
    start = len(best) + 1 if best else 0

    def keep(name: str) -> bool:
        normal = posixpath.normpath(name)
        inside = not best or normal.startswith(best + "/")
        return inside and normal[start:] in wanted

    return keep


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


def _copy_tree(spec: DatasetSpec, origin: Path, content: Path) -> list[str]:
    """Copy the manifest's files (every non-hidden file when it lists none) from ``origin`` to
    ``content``; return the files of ``origin`` left out. Links that lead outside ``origin``
    (``train.txt -> /etc/passwd``), non-regular files and totals above the size cap are refused."""
    manifest = spec.manifest
    present = list_files(origin)
    if manifest.files:
        files = [rel for rel in sorted(manifest.files) if os.path.lexists(origin / rel)]
        dropped = sorted(set(present) - set(manifest.files))
    else:
        files, dropped = present, []
    inside = origin.resolve()
    sources: list[tuple[str, Path, int]] = []
    total = 0
    for rel in files:
        source = origin / rel
        real = source.resolve()
        if not real.is_relative_to(inside):
            raise DlcError(
                f"{source}: refusing to copy a link that leads outside {origin} (to {real})"
            )
        if not real.exists():
            continue  # a dangling link: verification reports the file as missing
        info = real.stat()
        if not stat.S_ISREG(info.st_mode):
            raise DlcError(f"{source}: refusing to copy it: not a regular file")
        sources.append((rel, real, info.st_size))
        total += info.st_size
    cap = manifest.size_cap()
    if total > cap:
        total_shown, cap_shown = distinct_sizes(total, cap)
        raise DlcError(
            f"{origin}: refusing to copy {total_shown}: more than the size cap of "
            f"{cap_shown} for the {spec.name} data set"
        )
    bar = tqdm(total=total, desc=f"copying {origin.name}", unit="B", unit_scale=True, disable=None)
    with bar:
        for rel, real, size in sources:
            (content / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(real, content / rel)
            bar.update(size)
    return dropped
