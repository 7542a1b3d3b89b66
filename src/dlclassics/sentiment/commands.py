"""``dlc sentiment train | distill | predict | compare``: sentence sentiment from the command
line."""

from __future__ import annotations

import argparse
import functools
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from dlclassics import options
from dlclassics.data.root import add_data_root_argument
from dlclassics.sentiment.config import MODEL_NAMES, REFERENCE_MODELS, RESUMABLE

if TYPE_CHECKING:  # heavy (torch): imported where the commands run
    from dlclassics.sentiment.classifier import Classifier

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
SPEED_REPORT_SENTENCES = 2000  # predict prints its sentences/s from this many sentences on


def _data_dir(args: argparse.Namespace) -> Path:
    """``--data DIR`` (a user's own train/dev[/test].txt folder), else the yelp data set."""
    if getattr(args, "data", None):
        return Path(args.data)
    from dlclassics.data.registry import dataset_path

    return dataset_path("yelp", args.data_root)


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
    threads_help = "CPU threads (default: 1 for the word models, all for minilm)"
    add("--threads", type=options.positive_int, default=None, help=threads_help)
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
    _add_training_options(distill)
    _add_run_arguments(distill, "output folder (default: runs/sentiment/distill-STUDENT)", PRESET)
    distill.set_defaults(func=distill_command)


def _add_predict(commands: argparse._SubParsersAction) -> None:
    predict = commands.add_parser(
        "predict",
        help="label every line of sentence files with a checkpoint (or an ensemble of several)",
        description="Write one label (or P(positive)) per input line, in order; accuracies "
        f"of labelled input go to standard error. Labelled input: {LABELLED_RULE}.",
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
    for flag, value, text in (("--labelled", True, "each line starts with its 0/1 label"),
                              ("--unlabelled", False, "a leading 0 or 1 is a word")):  # fmt: skip
        labelled.add_argument(
            flag, dest="labelled", action="store_const", const=value, default=PRESET, help=text
        )
    add("--proba", action="store_true", help="write P(positive), not 0/1")
    quantize_help = (
        "int8: minilm's linear layers dynamically quantised to int8 (about 2.4x faster; runs on "
        "the CPU; activations at 8 bits where the CPU has VNNI, else 7); word models stay "
        "float32, said in one line"
    )
    add("--quantize", choices=("int8",), default=None, help=quantize_help)
    add("--skip-bad-lines", action="store_true", help="leave bad lines empty")
    out_help = "output file (default: standard output)"
    add("-o", "--out", metavar="FILE", default=PRESET, help=out_help)
    options.add_device_argument(predict)
    predict.set_defaults(func=predict_command)


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``dlc sentiment`` with its ``train``, ``distill``, ``predict`` and ``compare``
    subcommands."""
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


def _train_one(out: Path, train: Callable[[], object]) -> int:
    """Run ``train`` (under torchrun, in every process) and say what rank 0 wrote to ``out``."""
    from dlclassics import distributed

    try:
        train()
    finally:
        distributed.shutdown()
    if distributed.launched_rank() == 0:
        print(f"wrote {out}/metrics.json, curves.png, confusion.png and best.pt")
    return 0


def train_command(args: argparse.Namespace) -> int:
    from dlclassics.sentiment.config import preset
    from dlclassics.sentiment.run import run

    out = Path(getattr(args, "out", None) or f"runs/sentiment/{args.model}")
    config = preset(args.model, args)
    return _train_one(out, lambda: run(config, _data_dir(args), out, args.resume, args.device))


def distill_command(args: argparse.Namespace) -> int:
    from dlclassics.sentiment.config import preset
    from dlclassics.sentiment.distill import distill

    out = Path(getattr(args, "out", None) or f"runs/sentiment/distill-{args.student}")
    data_dir = _data_dir(args)
    unlabelled = args.unlabelled or []
    if not args.unlabelled and not args.no_unlabelled and (data_dir / "unlabelled.txt").is_file():
        unlabelled = [data_dir / "unlabelled.txt"]
    config = preset(args.student, args)
    return _train_one(out, lambda: distill(
        config, data_dir, out, args.teacher, unlabelled, args.alpha, args.temperature, args.resume,
        args.device, args.augment))  # fmt: skip


def compare_command(args: argparse.Namespace) -> int:
    from dlclassics import distributed
    from dlclassics.io import atomic_write_json, atomic_write_text
    from dlclassics.outputs import prepare_output_dir, release_output_dir
    from dlclassics.sentiment.compare import comparison_table, train_models
    from dlclassics.sentiment.config import preset
    from dlclassics.tables import markdown_table

    out, writer = Path(args.out), distributed.launched_rank() == 0
    if writer:
        prepare_output_dir(out)
    configs = [preset(name, args) for name in args.models]
    try:
        rows = train_models(configs, _data_dir(args), out, args.resume, args.device)
        if writer:
            table = markdown_table(*comparison_table(rows))
            atomic_write_json(out / "compare.json", rows)
            atomic_write_text(out / "compare.md", table + "\n")
            print(table)
    finally:
        distributed.shutdown()
        if writer:
            release_output_dir(out)
    return 0


def split_inputs(values: list[str], files: list[str]) -> tuple[list[str], list[str]]:
    """The checkpoints and the input files: ``--checkpoint A.pt B.pt text.txt`` gives all three to
    --checkpoint (argparse's ``+`` is greedy), so without other inputs the trailing values that are
    not zip archives (every ``torch.save`` file is one, no text file is) are the inputs."""
    import zipfile

    from dlclassics.errors import DlcError

    cut = len(values)
    while not files and cut > 1 and not zipfile.is_zipfile(values[cut - 1]):
        cut -= 1
    if not files and cut == len(values):
        raise DlcError("no input: name the sentence FILEs (- for standard input) to label")
    return values[:cut], values[cut:] + files


def quantize_members(
    classifiers: list[Classifier], checkpoints: list[str], say: Callable[[str], object]
) -> list[Classifier]:
    """``--quantize int8``: the minilm members quantised (``classifier.quantize_int8``); each word
    model kept in float32, said in one line (their time is not in large linear layers)."""
    from dlclassics.sentiment.classifier import quantize_int8

    kept = []
    for classifier, checkpoint in zip(classifiers, checkpoints, strict=True):
        if classifier.config.model == "minilm":
            kept.append(quantize_int8(classifier))
            continue
        say(f"{checkpoint}: --quantize int8 ignored for the word model {classifier.config.model}")
        kept.append(classifier)
    return kept


def predict_command(args: argparse.Namespace) -> int:
    from dlclassics.errors import DlcError
    from dlclassics.io import atomic_write_text
    from dlclassics.outputs import check_output_file
    from dlclassics.runtime import resolve_device
    from dlclassics.sentiment.classifier import load_classifier, predict_sentences
    from dlclassics.sentiment.packaged import packaged_model
    from dlclassics.sentiment.text import read_sentences

    err = functools.partial(print, file=sys.stderr)  # standard output holds the labels
    checkpoints, inputs = split_inputs(args.checkpoint, [*(args.input or []), *args.files])
    if not checkpoints:
        checkpoints = [str(packaged_model(err))]
    out = getattr(args, "out", None)
    if out is not None:
        check_output_file(out)  # before the work: a bad --out costs nothing
    if args.quantize and args.device not in (None, "cpu"):
        raise DlcError(f"--quantize {args.quantize} runs on the CPU: drop --device {args.device}")
    device = "cpu" if args.quantize else resolve_device(args.device)
    classifiers = [load_classifier(path) for path in checkpoints]
    if args.quantize:
        classifiers = quantize_members(classifiers, checkpoints, err)
    labelled = getattr(args, "labelled", None)
    lines: list[str] = []
    seconds, count = 0.0, 0  # prediction only: reading and loading excluded
    for path in inputs:
        sentences = read_sentences(path, labelled, args.skip_bad_lines)
        started = time.perf_counter()
        result = predict_sentences(classifiers, sentences, args.proba, device)
        seconds, count = seconds + time.perf_counter() - started, count + len(sentences)
        lines += result.lines
        source, prefix = sentences.source, f"{sentences.source}: " if len(inputs) > 1 else ""
        if result.accuracy is not None and labelled is None:
            err(f"{source}: read as labelled (--unlabelled reads the leading 0/1 as words)")
        if result.skipped:
            err(f"{source}: skipped {result.skipped} bad lines (empty output lines)")
        for checkpoint, accuracy in zip(checkpoints, result.member_accuracies, strict=False):
            err(f"{prefix}{checkpoint}: accuracy {100 * accuracy:.2f} % on its own")
        if result.accuracy is not None:
            name = "ensemble accuracy" if len(checkpoints) > 1 else "accuracy"
            err(f"{prefix}{name}: {100 * result.accuracy:.2f} %")
    if count >= SPEED_REPORT_SENTENCES:
        err(f"{count} sentences in {seconds:.2f} s: {count / seconds:.0f} sentences/s on {device}")
    text = "".join(line + "\n" for line in lines)
    if out is None:
        sys.stdout.write(text)
    else:
        atomic_write_text(out, text)
        err(f"wrote {len(lines)} lines to {out}")
    return 0
