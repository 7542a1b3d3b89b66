"""``dlc data``: see which data sets are present and verified, fetch or import them, locate them,
hash a folder into a manifest. Other commands fetch a missing data set themselves on first use
(:func:`dlclassics.data.registry.dataset_path`); ``dlc data path`` only locates one.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from dlclassics.data.catalog import (
    DATASETS,
    MIRROR_ENV_VAR,
    DatasetSpec,
    get_dataset,
    resolve_mirror,
)
from dlclassics.data.registry import dataset_path
from dlclassics.data.root import add_data_root_argument, resolve_data_root
from dlclassics.io import write_output_text
from dlclassics.outputs import check_output_file

# The modules that hash, download and show progress bars (tqdm, urllib) are imported by the
# actions that use them, so that `dlc --help` does not load them.
if TYPE_CHECKING:
    from dlclassics.data.manifest import VerifyReport


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``dlc data`` and its actions (status, fetch, path, manifest) to ``subparsers``.

    >>> parser = argparse.ArgumentParser()
    >>> register(parser.add_subparsers())
    >>> parser.parse_args(["data", "path", "yelp"]).name
    'yelp'
    """
    data = subparsers.add_parser(
        "data",
        help="list, fetch and verify the data sets",
        description="List, fetch and verify the data sets under the data root.",
    )
    actions = data.add_subparsers(dest="data_command", metavar="ACTION", required=True)
    status = actions.add_parser(
        "status", help="table of every data set: found or missing, where, files, checksums"
    )
    add_data_root_argument(status)
    no_verify_help = "only check that files exist, do not hash them"
    status.add_argument("--no-verify", action="store_true", help=no_verify_help)
    status.set_defaults(func=run_status)

    _register_fetch(actions)

    path = actions.add_parser(
        "path",
        help="print the folder of a data set (for scripts; never downloads)",
        description="Print the folder of a data set under the data root; a data set that is not "
        "there is an error (this command never downloads).",
    )
    _add_dataset_argument(path, "name")
    add_data_root_argument(path)
    path.set_defaults(func=run_path)

    manifest = actions.add_parser(
        "manifest",
        help="write a SHA-256 manifest of a folder (how the shipped manifests are made)",
        description="Hash every non-hidden file under DIR and write the manifest as JSON.",
    )
    add = manifest.add_argument
    add("folder", metavar="DIR", help="folder to hash (hidden files and folders are left out)")
    add("--name", help="data set name recorded in it (default: DIR's name)")
    out_help = "write the manifest to FILE; - or no -o: standard output"
    add("-o", "--out", metavar="FILE", help=out_help)
    manifest.set_defaults(func=run_manifest)


def _add_dataset_argument(
    parser: argparse.ArgumentParser, dest: str, nargs: str | None = None
) -> None:
    """The positional data-set name(s), one of the known data sets."""
    known = ", ".join(DATASETS)
    parser.add_argument(
        dest, nargs=nargs, metavar="NAME", choices=list(DATASETS), help=f"data set: {known}"
    )


def _register_fetch(actions: argparse._SubParsersAction) -> None:
    fetch = actions.add_parser(
        "fetch",
        help="download a data set (or import it with --from) and verify it",
        description="Download data sets from their public sources, or import them from a local "
        "folder or archive, verifying every file against the shipped SHA-256 manifest.",
    )
    add = fetch.add_argument
    _add_dataset_argument(fetch, "names", nargs="+")
    from_help = (
        "import from this folder (the data set's folder or a data root holding it) or archive "
        "instead of downloading"
    )
    add("--from", dest="source", metavar="PATH", help=from_help)
    mirror_help = (
        f"download from this base URL instead of the public sources (default: ${MIRROR_ENV_VAR}); "
        "it serves archives at its top level (hymenoptera_data.zip) and per-file data sets in "
        "their folders (yelp/train.txt)"
    )
    add("--mirror", metavar="URL", help=mirror_help)
    add("--force", action="store_true", help="replace a copy that is already there")
    add_data_root_argument(fetch)
    fetch.set_defaults(func=run_fetch)


def run_status(args: argparse.Namespace) -> int:
    """``dlc data status``: one row per data set (state, files, checksums, folder), then any
    fetch leftovers; exits 0 whatever it finds (a file it cannot read is an error naming it).

    >>> run_status(argparse.Namespace(data_root="/data", no_verify=True))  # doctest: +SKIP
    """
    from dlclassics.data.manifest import human_bytes, list_files, verify_folder
    from dlclassics.data.staging import find_staging

    root = resolve_data_root(args.data_root)
    rows = [("data set", "state", "files", "checksums", "location")]
    for spec in DATASETS.values():
        folder = spec.path_under(root)
        if not folder.is_dir():
            rows.append((spec.name, "missing", "-", "-", str(folder)))
            continue
        report = verify_folder(folder, spec.manifest, check_hashes=not args.no_verify)
        state = "incomplete" if spec.missing_layout(folder) or report.missing else "found"
        checksums = _checksums(report, spec, args.no_verify)
        rows.append((spec.name, state, str(len(list_files(folder))), checksums, str(folder)))
    print(f"data root: {root}")
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    for row in rows:
        cells = [cell.ljust(width) for cell, width in zip(row[:-1], widths, strict=True)]
        print("  ".join([*cells, row[-1]]))
    if any(row[1] != "found" for row in rows[1:]):
        print(
            "fetch a data set with `dlc data fetch NAME` (or import one with --from PATH); "
            "a command that needs a missing one fetches it itself unless DLC_OFFLINE=1"
        )
    for staging in find_staging(root):
        state = f"in progress ({staging.why})"
        if staging.stale:
            state = f"stale ({staging.why}): the next `dlc data fetch` removes it"
        print(f"fetch leftover: {staging.path} ({human_bytes(staging.size)}), {state}")
    return 0


def _checksums(report: VerifyReport, spec: DatasetSpec, no_verify: bool) -> str:
    """The checksum column: OK, MISMATCH (n), not checked, or no checksums known."""
    if report.mismatched:
        return f"MISMATCH ({len(report.mismatched)} files)"
    if no_verify:
        return "not checked"
    if not spec.manifest.has_checksums:
        return "none known"
    if report.missing:
        return f"{len(report.missing)} missing"
    return "OK"


def run_fetch(args: argparse.Namespace) -> int:
    """``dlc data fetch``: download (or, with ``--from``, import) each named data set and say
    what was verified.

    >>> run_fetch(argparse.Namespace(names=["yelp"], source="old/data", force=False,
    ...                              mirror=None, data_root="/data"))  # doctest: +SKIP
    """
    from dlclassics.data.fetch import fetch_dataset, import_dataset
    from dlclassics.data.manifest import human_bytes

    root = resolve_data_root(args.data_root)
    mirror = resolve_mirror(args.mirror)
    for name in dict.fromkeys(args.names):
        spec = get_dataset(name)
        if args.source:
            outcome = import_dataset(spec, root, args.source, force=args.force)
        else:
            outcome = fetch_dataset(spec, root, mirror=mirror, force=args.force)
        for staging in outcome.cleaned:
            print(
                f"removed {staging.path.name} ({human_bytes(staging.size)}), left by a fetch "
                f"that was killed ({staging.why})"
            )
        report = outcome.report
        verified = f"{report.unchecked} files present (no checksums known, not verified)"
        if report.checked:
            verified = f"{report.checked} files match the manifest"
        if outcome.dropped:
            shown = ", ".join(outcome.dropped[:3]) + (", ..." if len(outcome.dropped) > 3 else "")
            verified += f", {len(outcome.dropped)} file(s) not in the manifest left out ({shown})"
        print(f"{name}: {outcome.action}, {verified}: {outcome.path}")
    return 0


def run_path(args: argparse.Namespace) -> int:
    """``dlc data path NAME``: print the data set's folder; never downloads.

    >>> run_path(argparse.Namespace(name="yelp", data_root="/data"))  # doctest: +SKIP
    /data/yelp
    """
    print(dataset_path(args.name, args.data_root, fetch_missing=False))
    return 0


def run_manifest(args: argparse.Namespace) -> int:
    """``dlc data manifest DIR``: hash every file under DIR into a manifest (stdout or ``-o``).

    >>> run_manifest(argparse.Namespace(folder="my_data", name=None, out="-"))  # doctest: +SKIP
    """
    from dlclassics.data.manifest import build_manifest

    out = args.out or "-"
    if out != "-":
        check_output_file(out)
    folder = Path(args.folder)
    manifest = build_manifest(args.name or folder.resolve().name, folder)
    write_output_text(out, manifest.dumps())  # a file atomically; "-", a device or a pipe directly
    if out != "-":
        print(f"{len(manifest.files)} files: {out}")
    return 0
