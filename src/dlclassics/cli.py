"""The ``dlc`` command line: ``dlc <experiment> <action>``, one subcommand per experiment.

Each experiment's ``commands`` module adds its own subcommand with ``register(subparsers)`` and
sets ``func`` (``args -> exit code``) on it. Heavy imports (torch, transformers) happen inside
those functions, so ``dlc --help`` stays fast.

Every failure reaches the user as one ``dlc: error:`` line and a non-zero exit: a ``DlcError``
(bad input, named by file and problem) exits 2, and so does an operating-system error that names
its file (a read-only folder, a full disk); anything else is a bug, also one line, with the
traceback under ``--verbose`` or ``DLC_VERBOSE=1``. Library warnings are silenced unless verbose.
"""

from __future__ import annotations

import argparse
import importlib
import os
import signal
import sys
import traceback
import warnings
from collections.abc import Sequence

from dlclassics import __version__
from dlclassics.errors import DlcError
from dlclassics.options import DlcArgumentParser

# in the report's order, then the tools
PACKAGES = ("transfer", "style", "numpy_nn", "captioning", "sentiment", "report", "data", "serve")
COMMAND_MODULES = [f"dlclassics.{package}.commands" for package in PACKAGES]
ENVIRONMENT = """environment variables:
  DLC_DATA           data root (default: ~/.cache/dlclassics/data, or under $XDG_CACHE_HOME)
  DLC_DEVICE         device when --device is not given: cpu, cuda, cuda:N (default: the GPU
                     when one is visible, else the CPU)
  DLC_OFFLINE        1/true/yes: never download on its own (a missing data set or weight file
                     is an error); `dlc data fetch` still downloads when asked (default: 0)
  DLC_DIST_TIMEOUT   seconds a torchrun collective waits for the other processes (default: 300)
  DLC_VERBOSE        1: like --verbose (default: 0)
"""


def build_parser() -> DlcArgumentParser:
    parser = DlcArgumentParser(
        prog="dlc",
        description="Run classic deep-learning experiments end to end and report the results.",
        epilog=ENVIRONMENT,
    )
    parser.add_argument("--version", action="version", version=f"dlclassics {__version__}")
    verbose_help = "show library warnings, and the full traceback of an unexpected error"
    parser.add_argument("-v", "--verbose", action="store_true", help=verbose_help)
    subparsers = parser.add_subparsers(
        dest="command", metavar="COMMAND", required=True, parser_class=DlcArgumentParser
    )
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(subparsers)
    completion = subparsers.add_parser(
        "completion",
        help="print a shell completion script",
        description='Print a completion script: eval "$(dlc completion bash)" in ~/.bashrc, '
        "or dlc completion zsh > ~/.zfunc/_dlc.",
    )
    completion.add_argument("shell", choices=("bash", "zsh", "tcsh"), help="your shell")
    completion.set_defaults(func=print_completion)
    return parser


def print_completion(args: argparse.Namespace) -> int:
    import shtab

    print(shtab.complete(build_parser(), shell=args.shell))
    return 0


def _rank_prefix() -> str:
    """Under torchrun, say which process failed: one rank's error ends the whole job."""
    if "RANK" in os.environ and "WORLD_SIZE" in os.environ:
        return f"rank {os.environ['RANK']} of {os.environ['WORLD_SIZE']}: "
    return ""


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _report_unexpected(exc: BaseException, verbose: bool) -> int:
    """A bug, not bad input: one line, and the traceback when asked."""
    if verbose:
        traceback.print_exc()
    reason = _one_line(f"{type(exc).__name__}: {exc}")[:300]
    hint = "" if verbose else " (rerun with --verbose for the traceback)"
    print(f"dlc: error: {_rank_prefix()}unexpected {reason}{hint}", file=sys.stderr)
    return 1


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``dlc`` with ``argv`` (None: the program's own arguments); the exit code.

    Example:
        >>> main(["gradcheck", "--help"])  # doctest: +SKIP
    """
    try:
        return _dispatch(argv)
    finally:
        if argv is None:
            # The process is ending: a Ctrl-C during the exit handlers (lock removal) would
            # print an "Exception ignored in atexit callback" traceback.
            signal.signal(signal.SIGINT, signal.SIG_IGN)


def _dispatch(argv: Sequence[str] | None) -> int:
    args = build_parser().parse_args(argv)
    verbose = args.verbose or os.environ.get("DLC_VERBOSE", "") not in ("", "0")
    with warnings.catch_warnings():
        if not verbose:
            warnings.simplefilter("ignore")
        try:
            return int(args.func(args) or 0)
        except DlcError as exc:
            print(f"dlc: error: {_rank_prefix()}{_one_line(str(exc))}", file=sys.stderr)
            return 2
        except KeyboardInterrupt:
            print("dlc: interrupted", file=sys.stderr)
            return 130
        except BrokenPipeError:  # the reader (head, less) closed the pipe: not an error
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return 0
        except MemoryError:
            print(f"dlc: error: {_rank_prefix()}out of memory", file=sys.stderr)
            return 1
        except OSError as exc:
            if exc.filename is None:
                return _report_unexpected(exc, verbose)
            reason = exc.strerror or type(exc).__name__
            print(f"dlc: error: {_rank_prefix()}{exc.filename}: {reason}", file=sys.stderr)
            return 2
        except Exception as exc:
            return _report_unexpected(exc, verbose)


if __name__ == "__main__":
    sys.exit(main())
