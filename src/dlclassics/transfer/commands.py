"""``dlc transfer train``: adapt a backbone to an image folder; ``dlc transfer predict``: classify
images with the result. ``dlc transfer --data …`` (no action) is ``train``, as before.

The commands only turn arguments into a ``Config`` (or a checkpoint and images) and call the API
(``transfer.run``), imported when a command runs: it imports torch, and ``dlc --help`` must not.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

from dlclassics import options
from dlclassics.data.root import add_data_root_argument
from dlclassics.io import is_special_file
from dlclassics.options import bounded, nonnegative_int, positive_float, positive_int
from dlclassics.outputs import check_output_file, prepare_output_dir
from dlclassics.predictions import Prediction, accuracy_summary, write_predictions
from dlclassics.runtime import torch_threads
from dlclassics.transfer.config import (
    BACKBONES,
    HEAD_INITS,
    MAX_VAL_FRACTION,
    MODE_CHOICES,
    PROTOCOLS,
    SCHEDULES,
    Config,
)

DESCRIPTION = (
    "Adapt an ImageNet backbone to an ImageFolder-style folder (train/<class>/…, val/<class>/…; "
    "or just <class>/…, of which --val-fraction is held out for validation). "
    "Reports val accuracy with a new random head, zero-shot accuracy from ImageNet classes named "
    "like the class folders, per-epoch curves, best and final-epoch val accuracy; writes "
    "metrics.json, figures and checkpoints to --out."
)
FRACTION = bounded(float, 0.0, MAX_VAL_FRACTION, low_open=True)


class TransferActions(argparse._SubParsersAction):
    """``train``/``predict``, with a hint instead of "invalid choice" for ``dlc transfer DIR``.

    Example:
        >>> cli.main(["transfer", "my_photos/"])
        dlc: error: ... did you mean `dlc transfer train --data my_photos/`? ...
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.choices = None  # no argparse check of the name: __call__ says what is wrong

    def __call__(self, parser, namespace, values, option_string=None) -> None:  # type: ignore[override]
        if values[0] not in self._name_parser_map:
            raise argparse.ArgumentError(
                self,
                f"{values[0]!r} is not an action (train, predict); to train on a folder, "
                f"did you mean `dlc transfer train --data {values[0]}`?",
            )
        # options given before the action (``dlc transfer --epochs 3 train``) would be reset to
        # the action's defaults by argparse: keep them unless given again after it
        own = {action.dest for action in parser._actions}
        given = {
            k: v for k, v in vars(namespace).items() if k in own and v != parser.get_default(k)
        }
        super().__call__(parser, namespace, values, option_string)
        for name, value in given.items():
            if getattr(namespace, name) == parser.get_default(name):
                setattr(namespace, name, value)


def add_train_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``dlc transfer train`` (also accepted by bare ``dlc transfer``), each named
    after its ``transfer.Config`` field; training settings left out take the protocol's value.

    Example:
        >>> parser = DlcArgumentParser(prog="dlc transfer train")
        >>> add_train_arguments(parser)
        >>> parser.parse_args(["--views", "3"]).views
        3
    """
    add = parser.add_argument
    add("--data", metavar="DIR", help="image folder (none: the hymenoptera data set)")
    add_data_root_argument(parser)
    fraction = "without a val/ folder: the share of each class held out for validation"
    add("--val-fraction", type=FRACTION, default=0.2, metavar="F", help=fraction)
    add("--backbone", choices=BACKBONES, default=BACKBONES[0], help="ImageNet backbone")
    weights_help = (
        "backbone weights: imagenet, a torchvision weight name of a torchvision backbone "
        "(DEFAULT, IMAGENET1K_V1), or a local state_dict file"
    )
    add("--weights", metavar="NAME_OR_PATH", default="imagenet", help=weights_help)
    add("--mode", choices=MODE_CHOICES, default="both", help="train the whole model or the head")
    protocols = "improved (our measured recipe) or reference (the PyTorch tutorial's)"
    add("--protocol", choices=PROTOCOLS, default="improved", help=protocols)
    add("--quick", action="store_true", help="a few-minute profile (tests, demos)")
    given = "(none: the protocol's)"
    add("--epochs", type=positive_int, help=f"training epochs {given}")
    add("--batch-size", type=positive_int, help=f"global batch size {given}")
    add("--lr", type=positive_float, help=f"learning rate of the new head {given}")
    add("--schedule", choices=SCHEDULES, help=f"learning-rate schedule {given}")
    add("--head-init", choices=HEAD_INITS, help=f"new head's start {given}")
    views = "freeze mode: cached augmented views per training image, 0: recompute every epoch"
    add("--views", type=nonnegative_int, metavar="N", help=f"{views} {given}")
    tta = argparse.BooleanOptionalAction
    add("--tta", action=tta, help=f"flip test-time augmentation {given}")
    per_class = "use N train images per class (none: all, or the profile's)"
    add("--train-per-class", type=positive_int, metavar="N", help=per_class)
    add("--seed", type=nonnegative_int, default=0, help="random seed (training, the val split)")
    options.add_out_argument(parser, "runs/transfer", "output folder")
    add("--cache-dir", type=Path, metavar="DIR", help="feature cache (none: OUT/feature_cache)")
    add("--resume", action="store_true", help="continue from OUT/<mode>/last.pt")
    options.add_device_argument(parser)
    options.add_precision_argument(parser)
    options.add_threads_argument(parser)
    parser.set_defaults(func=train_command)


def add_predict_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``dlc transfer predict``.

    Example:
        >>> parser = DlcArgumentParser(prog="dlc transfer predict")
        >>> add_predict_arguments(parser)
        >>> parser.parse_args(["--checkpoint", "best.pt", "a.jpg", "--topk", "2"]).topk
        2
    """
    add = parser.add_argument
    add("--checkpoint", required=True, metavar="CKPT", help="OUT/<mode>/best.pt")
    images_help = (
        "images, folders of images (a folder with class subfolders gives each image its true "
        "class, and the accuracy on standard error), or - to read image paths from standard input"
    )
    add("images", nargs="+", metavar="IMAGE_OR_DIR", help=images_help)
    add("-o", "--out", metavar="FILE", help="write the predictions here (none: standard output)")
    options.add_format_argument(parser)
    topk = "also give the K most probable classes (jsonl/csv: a topk field; txt: more columns)"
    add("--topk", type=positive_int, metavar="K", help=topk)
    explain = "write each image's Grad-CAM heat map over it into DIR (<stem>_gradcam.png)"
    add("--explain", metavar="DIR", help=explain)
    options.add_device_argument(parser)
    options.add_precision_argument(parser)
    options.add_threads_argument(parser)
    parser.set_defaults(func=predict_command)


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``dlc transfer`` (bare: train) and its ``train``/``predict`` actions to ``dlc``.

    Example:
        >>> register(parser.add_subparsers())
    """
    parser = subparsers.add_parser(
        "transfer",
        help="fine-tune or freeze an ImageNet backbone on an image folder",
        description=DESCRIPTION + " Without an action, the options are train's.",
    )
    add_train_arguments(parser)
    actions = parser.add_subparsers(
        dest="transfer_command", metavar="{train,predict}", action=TransferActions
    )
    train = actions.add_parser("train", help="train on an image folder", description=DESCRIPTION)
    add_train_arguments(train)
    predict_text = "classify images with a trained checkpoint"
    predict = actions.add_parser("predict", help=predict_text, description=predict_text + ".")
    add_predict_arguments(predict)


def transfer_api() -> ModuleType:
    """``dlclassics.transfer.run``, imported when a command runs (it imports torch).

    Example:
        >>> transfer_api().load("runs/t/freeze/best.pt").classes
        ['ants', 'bees']
    """
    from dlclassics.transfer import run

    return run


def train_command(args: argparse.Namespace) -> int:
    """``dlc transfer train``: the arguments as a ``Config``, trained (``transfer.train``).

    Example:
        >>> train_command(build_parser().parse_args(["transfer", "train", "--data", "my_images"]))
        0
    """
    transfer_api().train(options.config_from_args(Config, args))
    return 0


def txt_line(prediction: Prediction) -> str:
    """The txt row: path, class and its probability, tab-separated, then the other top-k pairs.

    Example:
        >>> txt_line(Prediction("a.jpg", label="ants", probabilities={"ants": 0.9, "bees": 0.1}))
        'a.jpg\tants\t0.9000'
    """
    ranked = prediction.extra.get("topk") or [
        {"label": prediction.label, "probability": prediction.probabilities[prediction.label]}
    ]
    pairs = [f"{entry['label']}\t{entry['probability']:.4f}" for entry in ranked]
    return "\t".join([prediction.input, *pairs])


def predict_command(args: argparse.Namespace) -> int:
    """``dlc transfer predict``: classify the images, write them in ``--format``; the accuracy
    and confusion matrix on standard error when the images sit in class folders.

    Example:
        >>> args = ["transfer", "predict", "--checkpoint", "runs/t/freeze/best.pt", "my_images"]
        >>> predict_command(build_parser().parse_args([*args, "--format", "jsonl"]))
        0
    """
    writes_file = args.out not in (None, "-") and not is_special_file(args.out)
    if writes_file:
        check_output_file(args.out)
    if args.explain:
        prepare_output_dir(args.explain, lock=False)  # before the work: a bad DIR costs nothing
    run = transfer_api()
    with torch_threads(args.threads):
        classifier = run.load(args.checkpoint, args.device, args.precision)
        rows = run.predict_paths(classifier, args.images, topk=args.topk)
        if args.explain:
            from dlclassics.explain.gradcam import write_overlays  # torch, like transfer.run

            overlays = write_overlays(classifier, [Path(row.input) for row in rows], args.explain)
            print(f"wrote {len(overlays)} Grad-CAM overlays to {args.explain}", file=sys.stderr)
    write_predictions(rows, args.format, args.out, txt_line=txt_line)
    summary = accuracy_summary(rows)
    if summary:
        print(summary, file=sys.stderr)
    if writes_file:
        noun = "prediction" if len(rows) == 1 else "predictions"
        print(f"wrote {len(rows)} {noun} to {args.out}", file=sys.stderr)
    return 0
