"""``dlc reproduce [--tiny | --quick | --full] [--only PART ...] [--out DIR] [--force]``."""

from __future__ import annotations

import argparse
from pathlib import Path

from dlclassics.data.root import add_data_root_argument, resolve_data_root

PROFILE_HELP = {
    "quick": "small settings of every part, about 1.5 minutes on 2 idle CPU cores once the data "
    "and image features are cached, a few minutes the first time (the default)",
    "full": "the reference protocols and our stronger models (hours on a CPU)",
    "tiny": "smallest settings, to check the pipeline end to end (tests use this)",
}


def register(subparsers: argparse._SubParsersAction) -> None:
    from dlclassics.report.reproduce import PARTS

    parser = subparsers.add_parser(
        "reproduce",
        help="run all five experiments and write the report (index.html, report.md)",
        description="Run every part of the reference write-up on real data and write a "
        "self-contained report. Finished parts with the same settings are reused.",
    )
    size = parser.add_mutually_exclusive_group()
    for profile, text in PROFILE_HELP.items():
        size.add_argument(
            f"--{profile}", dest="profile", action="store_const", const=profile, help=text
        )
    parser.set_defaults(profile="quick")
    parser.add_argument(
        "--only", nargs="+", choices=list(PARTS), metavar="PART", help=f"parts: {', '.join(PARTS)}"
    )
    parser.add_argument(
        "-o", "--out", type=Path, default=Path("report"), metavar="DIR", help="output folder"
    )
    parser.add_argument("--force", action="store_true", help="rerun parts already computed")
    add_data_root_argument(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from dlclassics.outputs import prepare_output_dir
    from dlclassics.report.reproduce import run_reproduce

    prepare_output_dir(args.out)
    root = resolve_data_root(args.data_root)
    sections = run_reproduce(args.out, root, args.profile, only=args.only, force=args.force)
    failed = [s.key for s in sections if s.status == "failed"]
    print(f"report: {args.out / 'index.html'} and {args.out / 'report.md'}")
    if failed:
        print(f"failed parts: {', '.join(failed)} (see their sections)")
        return 1
    return 0
