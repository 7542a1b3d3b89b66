"""``dlc sentiment train | predict | compare``: sentence sentiment from the command line."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from dlclassics.data.root import add_data_root_argument
from dlclassics.sentiment.names import MODEL_NAMES, REFERENCE_MODELS


def _data_dir(args: argparse.Namespace) -> Path:
    """``--data DIR`` (a user's own train/dev[/test].txt folder), else the yelp data set."""
    if args.data:
        return Path(args.data)
    from dlclassics.data.registry import dataset_path

    return dataset_path("yelp", args.data_root)


def _add_data_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--data",
        metavar="DIR",
        help="folder with labelled train.txt and dev.txt (and test.txt); default: the yelp data set",
    )
    add_data_root_argument(parser)
    parser.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    parser.add_argument(
        "--glove", metavar="PATH", help="GloVe text file (default: packaged 50-d GloVe 6B)"
    )
    parser.add_argument(
        "--resume", action="store_true", help="continue from OUT/last.pt when it exists"
    )


def train_command(args: argparse.Namespace) -> int:
    from dlclassics import distributed
    from dlclassics.sentiment.experiment import RunOptions, run_experiment

    out = Path(args.out or f"runs/sentiment/{args.model}")
    options = RunOptions(
        model=args.model,
        data_dir=_data_dir(args),
        out_dir=out,
        epochs=args.epochs,
        batch_size=args.batch_size,
        lr=args.lr,
        weight_decay=args.weight_decay,
        dropout=args.dropout,
        hidden_size=args.hidden_size,
        patience=args.patience,
        seed=args.seed,
        glove=Path(args.glove) if args.glove else None,
        min_count=args.min_count,
        skip_bad_lines=args.skip_bad_lines,
        resume=args.resume,
        train_limit=args.train_limit,
        threads=args.threads,
    )
    try:
        run_experiment(options)
    finally:
        distributed.shutdown()
    if distributed.launched_rank() == 0:
        print(f"wrote {out}/metrics.json, curves.png, confusion.png and best.pt")
    return 0


def predict_command(args: argparse.Namespace) -> int:
    from dlclassics.sentiment.predict import predict_file

    result = predict_file(args.checkpoint, args.input, args.out, args.proba, args.skip_bad_lines)
    if args.out is None:
        sys.stdout.write("".join(line + "\n" for line in result.lines))
    else:
        print(f"wrote {len(result.lines)} lines to {args.out}", file=sys.stderr)
    if result.skipped:
        print(
            f"{args.input}: skipped {result.skipped} bad lines (empty output lines)",
            file=sys.stderr,
        )
    for checkpoint, accuracy in zip(args.checkpoint, result.member_accuracies, strict=False):
        print(f"{checkpoint}: accuracy {accuracy:.2f} % on its own", file=sys.stderr)
    if result.accuracy is not None:
        name = "ensemble accuracy" if len(args.checkpoint) > 1 else "accuracy"
        print(f"{name}: {result.accuracy:.2f} %", file=sys.stderr)
    return 0


def compare_command(args: argparse.Namespace) -> int:
    from dlclassics import distributed
    from dlclassics.io import atomic_write_json, atomic_write_text
    from dlclassics.sentiment.compare import format_table, run_comparison

    out = Path(args.out)
    glove = Path(args.glove) if args.glove else None
    try:
        rows = run_comparison(args.models, _data_dir(args), out, args.seed, glove, args.resume)
    finally:
        distributed.shutdown()
    if distributed.launched_rank() != 0:
        return 0
    table = format_table(rows)
    atomic_write_json(out / "compare.json", rows)
    atomic_write_text(out / "compare.md", table + "\n")
    print(table)
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``dlc sentiment`` with its ``train``, ``predict`` and ``compare`` subcommands."""
    sentiment = subparsers.add_parser(
        "sentiment", help="sentence sentiment classifiers (bag of words … MiniLM)"
    )
    commands = sentiment.add_subparsers(dest="sentiment_command", metavar="COMMAND", required=True)

    train = commands.add_parser("train", help="train one model, keep the best dev checkpoint")
    train.add_argument("--model", required=True, choices=MODEL_NAMES)
    train.add_argument("--epochs", type=int, help="most epochs (default: the model's preset)")
    train.add_argument("--batch-size", type=int)
    train.add_argument("--lr", type=float, help="learning rate")
    train.add_argument("--weight-decay", type=float)
    train.add_argument("--dropout", type=float)
    train.add_argument("--hidden-size", type=int, help="RNN/LSTM state size")
    train.add_argument(
        "--patience", type=int, help="epochs without dev improvement before stopping"
    )
    train.add_argument("--min-count", type=int, default=1, help="rarer train words → <unk>")
    train.add_argument(
        "--train-limit", type=int, metavar="N", help="train on a random N train lines"
    )
    train.add_argument(
        "--threads", type=int, help="CPU threads (default: 1, minilm: all; see README)"
    )
    train.add_argument("--out", metavar="DIR", help="output folder (default: runs/sentiment/MODEL)")
    train.add_argument("--skip-bad-lines", action="store_true", help="skip and count bad lines")
    _add_data_arguments(train)
    train.set_defaults(func=train_command)

    predict = commands.add_parser(
        "predict", help="label every line of a file with a checkpoint (or an ensemble of several)"
    )
    predict.add_argument(
        "--checkpoint",
        required=True,
        nargs="+",
        metavar="CKPT",
        help="a best.pt; several → their mean P(positive) decides (an ensemble)",
    )
    predict.add_argument("--input", required=True, metavar="FILE", help="one sentence a line")
    predict.add_argument("--out", metavar="FILE", help="output file (default: standard output)")
    predict.add_argument("--proba", action="store_true", help="write P(positive), not 0/1")
    predict.add_argument("--skip-bad-lines", action="store_true", help="leave bad lines empty")
    predict.set_defaults(func=predict_command)

    compare = commands.add_parser("compare", help="train the reference models, table vs reference")
    compare.add_argument("--models", nargs="+", default=list(REFERENCE_MODELS), choices=MODEL_NAMES)
    compare.add_argument("--out", metavar="DIR", default="runs/sentiment/compare")
    _add_data_arguments(compare)
    compare.set_defaults(func=compare_command)
