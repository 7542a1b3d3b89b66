"""SHA-256 manifests: which files a data set holds, how big they are, and what they hash to.

A manifest is a JSON file ``{"dataset": NAME, "files": {RELATIVE/PATH: {"size": N, "sha256": H}}}``
with paths relative to the data set's folder, written with ``/`` on every platform. ``size`` and
``sha256`` are ``null`` where they are not known (a data set we describe but have never seen);
such files are checked for presence only, and an optional top-level ``"note"`` says why.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

from tqdm import tqdm

from dlclassics.errors import DlcError

HASH_CHUNK_BYTES = 1 << 20
CAP_SLACK_BYTES = 64 * 1000**2  # covers an archive's own overhead on a small data set
FALLBACK_CAP_BYTES = 8 * 1000**3  # the cap where the manifest does not record the sizes


def human_bytes(n: int, digits: int = 1) -> str:
    """``n`` bytes in decimal units, like ``ls -h --si``, with ``digits`` decimals.

    >>> human_bytes(1234567), human_bytes(999), human_bytes(999_960)
    ('1.2 MB', '999 B', '1.0 MB')
    """
    if n < 1000:
        return f"{n} B"
    size, units = n / 1000, ["kB", "MB", "GB", "TB"]
    # choose the unit after rounding, so that 999 960 bytes is 1.0 MB rather than 1000.0 kB
    while round(size, digits) >= 1000 and len(units) > 1:
        size, units = size / 1000, units[1:]
    return f"{size:.{digits}f} {units[0]}"


def distinct_sizes(first: int, second: int) -> tuple[str, str]:
    """``first`` and ``second`` as :func:`human_bytes` with just enough decimals (up to three)
    that two different sizes never print alike; exact byte counts where three are not enough.
    For messages that compare two sizes, such as a download and its size cap.

    >>> distinct_sizes(493_912, 493_900)
    ('493.91 kB', '493.90 kB')
    >>> distinct_sizes(12_345_678, 12_345_600)
    ('12345678 B', '12345600 B')
    """
    for digits in (1, 2, 3):
        shown = (human_bytes(first, digits), human_bytes(second, digits))
        if first == second or shown[0] != shown[1]:
            return shown
    return f"{first} B", f"{second} B"


@dataclass(frozen=True)
class ManifestEntry:
    """One file of a data set: its size in bytes and SHA-256 hex digest, ``None`` when unknown."""

    size: int | None
    sha256: str | None


@dataclass(frozen=True)
class Manifest:
    """The files of one data set, keyed by ``/``-separated path relative to the data set folder."""

    dataset: str
    files: dict[str, ManifestEntry]
    note: str | None = None  # e.g. why sizes and digests are unknown

    @property
    def has_checksums(self) -> bool:
        """True when every file's SHA-256 is known, so the whole data set can be verified.

        Example:
            >>> Manifest("x", {"a.txt": ManifestEntry(3, None)}).has_checksums
            False
        """
        return bool(self.files) and all(entry.sha256 for entry in self.files.values())

    @property
    def total_size(self) -> int | None:
        """The bytes of all files, or None when the manifest does not record every size.

        Example:
            >>> Manifest("x", {"a": ManifestEntry(3, None), "b": ManifestEntry(4, None)}).total_size
            7
        """
        sizes = [entry.size for entry in self.files.values()]
        if not sizes or any(size is None for size in sizes):
            return None
        return sum(sizes)  # type: ignore[arg-type]

    def size_cap(self) -> int:
        """The most bytes a fetch of this data set may download, unpack or copy.

        Example:
            >>> Manifest("x", {"a": ManifestEntry(1000, None)}).size_cap()  # 2 x 1000 + 64 MB
            64002000
        """
        total = self.total_size
        return FALLBACK_CAP_BYTES if total is None else 2 * total + CAP_SLACK_BYTES

    def dumps(self) -> str:
        """The JSON text, one file per line so that diffs of a manifest stay readable.

        Example:
            >>> print(Manifest("x", {"a.txt": ManifestEntry(3, "ab12")}).dumps(), end="")
            {
              "dataset": "x",
              "files": {
                "a.txt": {"size": 3, "sha256": "ab12"}
              }
            }
        """
        body = ",\n".join(
            f"    {json.dumps(path)}: {json.dumps(asdict(entry))}"
            for path, entry in sorted(self.files.items())
        )
        note = f'  "note": {json.dumps(self.note)},\n' if self.note else ""
        return (
            f'{{\n  "dataset": {json.dumps(self.dataset)},\n{note}  "files": {{\n{body}\n  }}\n}}\n'
        )

    @classmethod
    def read(cls, path: str | os.PathLike[str]) -> Manifest:
        """Read a manifest file; an unreadable or malformed one is a DlcError naming it.

        Example:
            >>> Manifest.read("src/dlclassics/data/manifests/yelp.json").dataset  # doctest: +SKIP
            'yelp'
        """
        p = Path(path)
        try:
            obj = json.loads(p.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise DlcError(f"{p}: cannot read manifest ({exc})") from exc
        try:
            files = {str(k): ManifestEntry(e["size"], e["sha256"]) for k, e in obj["files"].items()}
            note = obj.get("note")
            return cls(str(obj["dataset"]), files, None if note is None else str(note))
        except (KeyError, TypeError, AttributeError) as exc:
            raise DlcError(f"{p}: not a dlclassics manifest (missing {exc})") from exc


@dataclass
class VerifyReport:
    """What :func:`verify_folder` found: files missing, files whose hash differs, files checked."""

    missing: list[str] = field(default_factory=list)
    mismatched: list[tuple[str, str, str]] = field(default_factory=list)  # (path, expected, got)
    checked: int = 0
    unchecked: int = 0

    @property
    def ok(self) -> bool:
        """True when nothing is missing and nothing differs (unchecked files count as fine).

        Example:
            >>> VerifyReport(missing=["dev.txt"]).ok
            False
        """
        return not self.missing and not self.mismatched

    def summary(self) -> str:
        """A short phrase for messages, e.g. ``2 files missing (dev.txt, ...), 1 differs``.

        Example:
            >>> VerifyReport(missing=["dev.txt"]).summary()
            '1 file(s) missing (dev.txt)'
        """
        parts = []
        if self.missing:
            parts.append(f"{len(self.missing)} file(s) missing ({_first(self.missing)})")
        if self.mismatched:
            names = [path for path, _, _ in self.mismatched]
            parts.append(
                f"{len(self.mismatched)} file(s) differ from the manifest ({_first(names)})"
            )
        return ", ".join(parts) if parts else "all files match the manifest"


def _first(paths: list[str], shown: int = 3) -> str:
    more = f", ... {len(paths) - shown} more" if len(paths) > shown else ""
    return ", ".join(paths[:shown]) + more


def sha256_file(path: str | os.PathLike[str]) -> str:
    """SHA-256 hex digest of a file, read in 1 MiB chunks; a file that cannot be read is a
    DlcError naming it.

    >>> sha256_file("/dev/null")
    'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'
    """
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as f:
            while chunk := f.read(HASH_CHUNK_BYTES):
                digest.update(chunk)
    except OSError as exc:
        raise DlcError(f"{path}: cannot read it ({exc.strerror or exc})") from exc
    return digest.hexdigest()


def list_files(folder: str | os.PathLike[str]) -> list[str]:
    """Every regular file under ``folder`` as a sorted ``/``-separated relative path, without
    hidden files and folders (``.DS_Store``, ``.git``, our ``.*.tmp``): never part of a data set.
    A folder that cannot be read is a DlcError naming it (a listing must not silently miss one).

    >>> list_files("/nonexistent")
    []
    """
    root = Path(folder)
    found = []
    for dirpath, dirnames, filenames in os.walk(root, onerror=_unreadable_folder):
        dirnames[:] = [d for d in dirnames if not d.startswith(".")]
        base = Path(dirpath).relative_to(root)
        found.extend((base / name).as_posix() for name in filenames if not name.startswith("."))
    return sorted(found)


def _unreadable_folder(exc: OSError) -> None:
    """``os.walk``'s error handler: a folder it cannot list is an error, except a missing root."""
    if not isinstance(exc, FileNotFoundError):
        raise DlcError(f"{exc.filename}: cannot read the folder ({exc.strerror or exc})") from exc


def build_manifest(dataset: str, folder: str | os.PathLike[str]) -> Manifest:
    """Hash every file under ``folder`` (how the shipped manifests were made).

    Example:
        >>> build_manifest("yelp", "/data/yelp").files["dev.txt"].size  # doctest: +SKIP
        493950
    """
    root = Path(folder)
    if not root.is_dir():
        raise DlcError(f"{root}: not a folder")
    paths = list_files(root)
    files = {}
    for rel in tqdm(paths, desc=f"hashing {dataset}", unit="file", disable=None, leave=False):
        files[rel] = ManifestEntry(size=(root / rel).stat().st_size, sha256=sha256_file(root / rel))
    return Manifest(dataset=dataset, files=files)


def verify_folder(
    folder: str | os.PathLike[str], manifest: Manifest, check_hashes: bool = True
) -> VerifyReport:
    """Compare ``folder`` with ``manifest``: presence always, SHA-256 when asked and known (files
    the manifest does not list are ignored).

    Example:
        >>> verify_folder("/data/yelp", load_manifest("yelp")).ok  # doctest: +SKIP
        True
    """
    root = Path(folder)
    report = VerifyReport()
    entries = sorted(manifest.files.items())
    bar = tqdm(
        entries, desc=f"verifying {manifest.dataset}", unit="file", disable=None, leave=False
    )
    for rel, entry in bar:
        path = root / rel
        if not path.is_file():
            report.missing.append(rel)
        elif not check_hashes or entry.sha256 is None:
            report.unchecked += 1
        else:
            actual = sha256_file(path)
            if actual != entry.sha256:
                report.mismatched.append((rel, entry.sha256, actual))
            report.checked += 1
    return report
