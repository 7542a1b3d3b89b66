"""``dlc gradcheck``: numerical-vs-analytic gradient checks of every NumPy recurrent layer.

This module only parses the arguments; the checks are :mod:`dlclassics.numpy_nn.gradchecks`.
"""

from __future__ import annotations

import argparse
import json

from dlclassics.io import write_output_text
from dlclassics.options import nonnegative_int
from dlclassics.outputs import check_output_file


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``dlc gradcheck`` to ``subparsers``.

    >>> parser = argparse.ArgumentParser()
    >>> register(parser.add_subparsers())
    >>> parser.parse_args(["gradcheck", "--seed", "3"]).seed
    3
    """
    parser = subparsers.add_parser(
        "gradcheck",
        help="check the NumPy RNN/LSTM layers' gradients numerically",
        description=(
            "Compare the analytic gradients of every NumPy layer (affine, RNN and LSTM step and "
            "sequence, word embedding, temporal affine, temporal softmax loss, attention) with "
            "centred differences, in float64 on small random inputs. Prints one row per (layer, "
            "gradient); exits 1 if any relative error exceeds 1e-7."
        ),
    )
    parser.add_argument("--seed", type=nonnegative_int, default=0, help="seed of the random inputs")
    json_help = "also write the table as JSON to FILE (a file, a device or a named pipe)"
    parser.add_argument("-o", "--out", "--json", metavar="FILE", help=json_help)
    parser.set_defaults(func=gradcheck_command)


def gradcheck_command(args: argparse.Namespace) -> int:
    """Run the checks, print the table and the verdict, write the JSON when asked; 1 if a
    gradient fails.

    >>> gradcheck_command(argparse.Namespace(seed=0, out="gradcheck.json"))  # doctest: +SKIP
    0
    """
    from dlclassics.numpy_nn import gradchecks  # NumPy loads when the command runs, not for --help

    if args.out is not None:
        check_output_file(args.out)
    report = gradchecks.gradcheck_report(args.seed)
    print(gradchecks.format_gradcheck_table(report["rows"]))
    if args.out is not None:
        write_output_text(args.out, json.dumps(report, indent=2) + "\n")
    print(f"\n{gradchecks.format_gradcheck_verdict(report)}")
    return 0 if report["all_passed"] else 1
