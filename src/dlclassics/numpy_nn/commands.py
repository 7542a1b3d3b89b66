"""``dlc gradcheck``: numerical-vs-analytic gradient checks of every NumPy recurrent layer."""

from __future__ import annotations

import argparse
from pathlib import Path

from dlclassics.options import nonnegative_int


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "gradcheck",
        help="check the NumPy RNN/LSTM layers' gradients numerically",
        description=(
            "Compare the analytic gradients of every NumPy layer (affine, RNN and LSTM step and "
            "sequence, word embedding, temporal affine, temporal softmax loss) with centred "
            "differences, in float64 on small random inputs. Prints one row per (layer, "
            "gradient); exits 1 if any relative error exceeds 1e-7."
        ),
    )
    parser.add_argument("--seed", type=nonnegative_int, default=0, help="seed of the random inputs")
    json_help = "also write the table as JSON to FILE"
    parser.add_argument("-o", "--out", "--json", type=Path, metavar="FILE", help=json_help)
    parser.set_defaults(func=gradcheck_command)


def gradcheck_command(args: argparse.Namespace) -> int:
    from dlclassics.io import atomic_write_json
    from dlclassics.numpy_nn.gradchecks import format_gradcheck_table, gradcheck_report
    from dlclassics.outputs import check_output_file

    if args.out is not None:
        check_output_file(args.out)
    report = gradcheck_report(args.seed)
    print(format_gradcheck_table(report["rows"]))
    if args.out is not None:
        atomic_write_json(args.out, report)
    failed = [row for row in report["rows"] if not row["passed"]]
    total = len(report["rows"])
    if failed:
        names = ", ".join(f"{row['layer']} {row['gradient']}" for row in failed)
        print(f"\n{len(failed)} of {total} gradients exceed {report['tolerance']:.0e}: {names}")
        return 1
    print(
        f"\nall {total} gradients agree (largest relative error "
        f"{report['max_rel_error']:.1e} <= {report['tolerance']:.0e}, seed {args.seed})"
    )
    return 0
