"""The ``dlc`` command line: one subcommand per experiment, plus data and report tools.

Each experiment's ``commands`` module adds its own subcommand with ``register(subparsers)`` and
sets ``func`` (``args -> exit code``) on it. Heavy imports (torch, transformers) happen inside
those functions, so ``dlc --help`` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

from dlclassics import __version__
from dlclassics.errors import DlcError

COMMAND_MODULES = [
    "dlclassics.numpy_nn.commands",
    "dlclassics.data.commands",
    "dlclassics.report.commands",
    "dlclassics.sentiment.commands",
    "dlclassics.transfer.commands",
    "dlclassics.style.commands",
    "dlclassics.captioning.commands",
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="dlc",
        description="Run classic deep-learning experiments end to end and report the results.",
    )
    parser.add_argument("--version", action="version", version=f"dlclassics {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(subparsers)
    return parser


def _rank_prefix() -> str:
    """Under torchrun, say which process failed: one rank's error ends the whole job."""
    if "RANK" in os.environ and "WORLD_SIZE" in os.environ:
        return f"rank {os.environ['RANK']} of {os.environ['WORLD_SIZE']}: "
    return ""


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except DlcError as exc:
        print(f"dlc: error: {_rank_prefix()}{exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("dlc: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
