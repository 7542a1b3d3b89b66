"""``dlc sentiment train | distill | predict | compare``: sentence sentiment from the command
line."""

from __future__ import annotations

import argparse
import functools
import sys
import zipfile
from dataclasses import replace
from pathlib import Path

from dlclassics import options
from dlclassics.data.root import add_data_root_argument
from dlclassics.errors import DlcError
from dlclassics.predictions import format_for
from dlclassics.sentiment.config import MODEL_NAMES, REFERENCE_MODELS, RESUMABLE, Config, preset
from dlclassics.sentiment.text import MAX_LENGTH

PRESET = argparse.SUPPRESS  # left out of the namespace: the model's preset applies
RESUME_HELP = (
    "continue from OUT/last.pt when it exists; every setting except "
    + ", ".join(f"--{name}" for name in RESUMABLE)
    + " and --device must be as before (a change is refused), and so must the training data"
)
LABELLED_RULE = (
    "without --labelled or --unlabelled, a FILE is labelled when more than half of its "
    "non-empty lines start with a 0 or 1 word and both labels occur; every line of a labelled "
    "FILE must then carry a label (a line without one is a bad line, named by its number)"
)
TUNABLE = [
    ("--epochs", options.positive_int, "most passes over the training sentences"),
    ("--batch-size", options.positive_int, "sentences per step, over all processes"),
    ("--lr", options.positive_float, "AdamW learning rate"),
    ("--weight-decay", options.nonnegative_float, "AdamW decoupled weight decay"),
    ("--dropout", options.dropout_rate, "dropout probability"),
    ("--hidden-size", options.positive_int, "RNN/LSTM state size (cnn: filters per width)"),
    ("--patience", options.positive_int, "epochs without a better dev accuracy before stopping"),
]
THREADS_HELP = "CPU threads (default: 1 for the word models, all for minilm)"


def _add_run_arguments(parser: argparse.ArgumentParser, out: str, default_out: str) -> None:
    """What ``train`` and ``compare`` share: data, seed, GloVe, resume, device, threads, out."""
    add = parser.add_argument
    data_help = (
        "folder with labelled train.txt and dev.txt (and test.txt) (default: the yelp data set)"
    )
    add("--data", metavar="DIR", default=PRESET, help=data_help)
    add_data_root_argument(parser)
    add("--seed", type=options.nonnegative_int, default=0, help="random seed")
    glove_help = "GloVe text file (default: the packaged 50-d GloVe 6B vectors)"
    add("--glove", metavar="PATH", default=PRESET, help=glove_help)
    add("--resume", action="store_true", help=RESUME_HELP)
    options.add_device_argument(parser)
    options.add_precision_argument(parser)
    options.add_threads_argument(parser, THREADS_HELP)
    options.add_out_argument(parser, default_out, out)


def _add_training_options(parser: argparse.ArgumentParser) -> None:
    """What ``train`` and ``distill`` share: the tunables (default: the model's preset), the
    vocabulary cut, the training limit and bad-line skipping."""
    add = parser.add_argument
    for flag, kind, text in TUNABLE:
        add(flag, type=kind, default=PRESET, help=f"{text} (default: the preset)")
    add("--min-count", type=options.positive_int, default=1, help="rarer train words → <unk>")
    limit_help = "train on a seeded random N of the training sentences (default: all)"
    add("--train-limit", type=options.positive_int, metavar="N", default=PRESET, help=limit_help)
    add("--skip-bad-lines", action="store_true", help="skip and count bad lines in the data")


def _add_train(commands: argparse._SubParsersAction) -> None:
    train = commands.add_parser(
        "train",
        help="train one model, keep the best dev checkpoint",
        description="Train one model; unset options take the model's preset. On a GPU, "
        "--precision auto runs minilm in bf16 and the (small, launch-bound) word models in fp32.",
    )
    train.add_argument("--model", required=True, choices=MODEL_NAMES, help="the classifier")
    _add_training_options(train)
    _add_run_arguments(train, "output folder (default: runs/sentiment/MODEL)", PRESET)
    train.set_defaults(func=train_command)


DISTILL_DESCRIPTION = """Knowledge distillation: train --student (unset options take its preset)
on the labelled training sentences and on unlabelled ones, against the labels and the teacher's
probabilities p; the best dev epoch is kept, as in train. A sentence with label y costs
alpha * BCE(s, y) + (1 - alpha) * T^2 * BCE(s/T, p), an unlabelled one T^2 * BCE(s/T, p), for
the student's logit s and p = sigmoid(teacher logit / T) (an ensemble: the mean over its
members). The teacher's logits are computed once and cached under
~/.cache/dlclassics/teacher_logits (under $XDG_CACHE_HOME when set), keyed by the SHA-256 of
its checkpoint and of the sentences. --resume also needs the same teacher, unlabelled sentences,
alpha and T. The result is an ordinary best.pt of the student's kind, for predict.

  dlc sentiment distill --teacher runs/minilm/best.pt --student bilstm -o runs/distilled
"""
ALPHA_HELP = (
    "weight of the labels on labelled sentences; 1 - alpha goes to the teacher (unlabelled "
    "sentences only have the teacher's term). 0.5: the teacher was fit to these labels, so "
    "they mostly agree and alpha mostly sets how much of its confidence the student copies"
)
AUGMENT_HELP = (
    "add K altered copies of each training sentence (words masked, or a short n-gram kept) for "
    "the teacher to label (Tang et al. 2019); 1 raised the bilstm student's dev accuracy 97.31 "
    "-> 97.34 %% and glove-lstm's 97.13 -> 97.29 %% (default 0)"
)
TEMPERATURE_HELP = (
    "T: softens the teacher's logits (and the student's in the teacher's term, scaled by T^2); "
    "1 keeps the teacher's P(positive) as predict prints it"
)


def _add_distill(commands: argparse._SubParsersAction) -> None:
    distill = commands.add_parser(
        "distill",
        help="train a student model on a teacher's probabilities (knowledge distillation)",
        description=DISTILL_DESCRIPTION,
    )
    add = distill.add_argument
    teacher_help = "the teacher's best.pt; several: their mean P(positive) (an ensemble)"
    add("--teacher", required=True, nargs="+", action="extend", metavar="CKPT", help=teacher_help)
    add("--student", required=True, choices=MODEL_NAMES, help="the model to train")
    extra = distill.add_mutually_exclusive_group()
    unlabelled_help = (
        "sentences without labels to learn the teacher's answers on, one a line (repeatable; "
        "default: unlabelled.txt of the data folder when it has one, as yelp's does)"
    )
    extra.add_argument("--unlabelled", action="append", metavar="FILE", help=unlabelled_help)
    no_help = "train on the labelled sentences only"
    extra.add_argument("--no-unlabelled", action="store_true", help=no_help)
    add("--alpha", type=options.probability, default=0.5, help=ALPHA_HELP)
    add("--temperature", type=options.positive_float, default=1.0, help=TEMPERATURE_HELP)
    add("--augment", type=options.nonnegative_int, default=0, metavar="K", help=AUGMENT_HELP)
    cache_help = "where the teacher's logits are cached (default: the user cache, see above)"
    add("--cache-dir", metavar="DIR", default=None, help=cache_help)
    _add_training_options(distill)
    _add_run_arguments(distill, "output folder (default: runs/sentiment/distill-STUDENT)", PRESET)
    distill.set_defaults(func=distill_command)


def _add_predict(commands: argparse._SubParsersAction) -> None:
    predict = commands.add_parser(
        "predict",
        help="label every line of sentence files with a checkpoint (or an ensemble of several)",
        description="Write one prediction per input line, in order (a blank line for a blank "
        "input line): txt the label (or P(positive) with --proba), csv with a header "
        "(input,label[,true],p_0,p_1), jsonl one object a line. The accuracy and confusion "
        f"matrix of labelled input go to standard error. Labelled input: {LABELLED_RULE}.",
    )
    add = predict.add_argument
    add("files", nargs="*", metavar="FILE", help="one sentence a line; - reads standard input")
    add("--input", action="append", metavar="FILE", help="the same as a FILE (repeatable)")
    ensemble = "several → their mean P(positive) decides (an ensemble)"
    ckpt_help = (
        f"a best.pt; {ensemble}; files named after the checkpoints are the inputs (default: the "
        "small distilled model packaged with dlclassics, see its MODEL_CARD.md)"
    )
    add("--checkpoint", nargs="+", action="extend", default=[], metavar="CKPT", help=ckpt_help)
    labelled = predict.add_mutually_exclusive_group()
    readings = [
        ("--labelled", True, "each line starts with its 0/1 label"),
        ("--unlabelled", False, "a leading 0 or 1 is a word"),
    ]
    for flag, value, text in readings:
        labelled.add_argument(
            flag, dest="labelled", action="store_const", const=value, default=PRESET, help=text
        )
    add("--proba", action="store_true", help="txt format: write P(positive), not 0/1")
    options.add_format_argument(predict)
    explain_help = (
        'csv/jsonl: add "attributions", each word\'s weight for the predicted label (how much '
        "P(label) falls without it)"
    )
    add("--explain", action="store_true", help=explain_help)
    quantize_help = (
        "int8: minilm's linear layers dynamically quantised to int8 (about 2.4x faster; runs on "
        "the CPU; activations at 8 bits where the CPU has VNNI, else 7); word models stay "
        "float32, said in one line"
    )
    add("--quantize", choices=("int8",), default=None, help=quantize_help)
    add("--skip-bad-lines", action="store_true", help="leave bad lines empty")
    length_help = (
        "words a sentence keeps; longer lines are cut, with one warning (default %(default)s)"
    )
    add(
        "--max-length", type=options.positive_int, default=MAX_LENGTH, metavar="N", help=length_help
    )
    out_help = "output file (default: standard output)"
    add("-o", "--out", metavar="FILE", default=PRESET, help=out_help)
    options.add_device_argument(predict)
    options.add_precision_argument(predict)
    options.add_threads_argument(predict, THREADS_HELP)
    predict.set_defaults(func=predict_command)


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``dlc sentiment`` with its ``train``, ``distill``, ``predict`` and ``compare``
    subcommands.

    Example:
        >>> parser = argparse.ArgumentParser()
        >>> register(parser.add_subparsers())
        >>> parser.parse_args(["sentiment", "predict", "reviews.txt", "--format", "csv"]).format
        'csv'
    """
    sentiment = subparsers.add_parser(
        "sentiment", help="sentence sentiment classifiers (bag of words … MiniLM)"
    )
    commands = sentiment.add_subparsers(dest="sentiment_command", metavar="COMMAND", required=True)
    _add_train(commands)
    _add_distill(commands)
    _add_predict(commands)
    compare = commands.add_parser(
        "compare", help="train several models with their presets, table vs the reference"
    )
    models = list(REFERENCE_MODELS)
    compare.add_argument("--models", nargs="+", default=models, choices=MODEL_NAMES, help="models")
    _add_run_arguments(compare, "output folder", "runs/sentiment/compare")
    compare.set_defaults(func=compare_command)


def config_from(args: argparse.Namespace, model: str, default_out: str) -> Config:
    """The ``Config`` of ``model`` from the parsed arguments: its preset, then every option given
    (``--hidden-size`` → ``hidden_size``), the output folder ``default_out`` when none was.

    Example:
        >>> args = argparse.Namespace(epochs=3, resume=False)
        >>> config_from(args, "bow", "runs/sentiment/bow").epochs
        3
    """
    config = preset(model, args)
    return replace(config, out=config.out or default_out)


def train_command(args: argparse.Namespace) -> int:
    """``dlc sentiment train``: ``sentiment.train`` of the model's config.

    Example:
        >>> args = parser.parse_args(["sentiment", "train", "--model", "bow", "--data", "my_text_dir"])
        >>> args.func(args)
        bow: best epoch 10: train 99.00 % / dev 95.00 % / test 94.00 %
        wrote runs/sentiment/bow/metrics.json, curves.png, confusion.png and best.pt
        0
    """
    from dlclassics.sentiment import run  # torch: loaded only when a command runs

    config = config_from(args, args.model, f"runs/sentiment/{args.model}")
    with run.job() as writer:
        run.train(config)
    if writer:
        print(f"wrote {config.out}/metrics.json, curves.png, confusion.png and best.pt")
    return 0


def distill_command(args: argparse.Namespace) -> int:
    """``dlc sentiment distill``: ``distill.distill`` of the student's config.

    Example:
        >>> args = parser.parse_args(["sentiment", "distill", "--teacher", "t.pt", "--student", "bow"])
        >>> args.func(args)
        wrote runs/sentiment/distill-bow/metrics.json, curves.png, confusion.png and best.pt
        0
    """
    from dlclassics.sentiment import distill, run  # torch: loaded only when a command runs

    config = config_from(args, args.student, f"runs/sentiment/distill-{args.student}")
    unlabelled = args.unlabelled or []
    default_extra = run.data_folder(config) / "unlabelled.txt"
    if not args.unlabelled and not args.no_unlabelled and default_extra.is_file():
        unlabelled = [default_extra]
    with run.job() as writer:
        distill.distill(
            config,
            args.teacher,
            unlabelled=unlabelled,
            alpha=args.alpha,
            temperature=args.temperature,
            augment=args.augment,
            cache=args.cache_dir,
        )
    if writer:
        print(f"wrote {config.out}/metrics.json, curves.png, confusion.png and best.pt")
    return 0


def compare_command(args: argparse.Namespace) -> int:
    """``dlc sentiment compare``: every model trained with its preset, the table printed and
    written (``compare.json``, ``compare.md``).

    Example:
        >>> args = parser.parse_args(["sentiment", "compare", "--models", "bow", "avg"])
        >>> args.func(args)
        0
    """
    from dlclassics.sentiment import compare  # torch: loaded only when a command runs

    configs = [preset(name, args) for name in args.models]
    table = compare.compare_models(configs, Path(args.out))
    if table is not None:
        print(table)
    return 0


def split_inputs(values: list[str], files: list[str]) -> tuple[list[str], list[str]]:
    """The checkpoints and the input files: ``--checkpoint A.pt B.pt text.txt`` gives all three to
    --checkpoint (argparse's ``+`` is greedy), so without other inputs the trailing values that are
    not zip archives (every ``torch.save`` file is one, no text file is) are the inputs.

    Example:
        >>> split_inputs(["a.pt"], ["reviews.txt"])
        (['a.pt'], ['reviews.txt'])
    """
    cut = len(values)
    while not files and cut > 1 and not zipfile.is_zipfile(values[cut - 1]):
        cut -= 1
    if not files and cut == len(values):
        raise DlcError("no input: name the sentence FILEs (- for standard input) to label")
    return values[:cut], values[cut:] + files


def predict_command(args: argparse.Namespace) -> int:
    """``dlc sentiment predict``: ``sentiment.load`` of the checkpoints (the packaged model when
    none), every input file labelled, the rows written in ``--format``; notes and accuracies on
    standard error.

    Example:
        >>> args = parser.parse_args(["sentiment", "predict", "reviews.txt", "--format", "jsonl"])
        >>> args.func(args)
        {"input": "great food !", "label": "1", "probabilities": {"0": 0.01, "1": 0.99}}
        0
    """
    from dlclassics.explain.attributions import add_attributions  # torch: loaded when run
    from dlclassics.sentiment import predict

    err = functools.partial(print, file=sys.stderr)  # standard output holds the predictions
    checkpoints, inputs = split_inputs(args.checkpoint, [*(args.input or []), *args.files])
    if args.quantize and args.device not in (None, "cpu"):
        raise DlcError(f"--quantize {args.quantize} runs on the CPU: drop --device {args.device}")
    settings = predict.PredictSettings(
        labelled=getattr(args, "labelled", None),
        skip_bad_lines=args.skip_bad_lines,
        max_length=args.max_length,
        proba=args.proba,
        fmt=args.format,
        out=getattr(args, "out", None),
        device="cpu" if args.quantize else args.device,
        threads=args.threads,
        precision=args.precision,
        quantize=args.quantize,
    )
    if args.explain and format_for(args.format, getattr(args, "out", None)) == "txt":
        raise DlcError("--explain adds a field to each row: use it with --format csv or jsonl")
    annotate = add_attributions if args.explain else None
    predict.predict_files(checkpoints, inputs, settings, say=err, annotate=annotate)
    return 0
