"""``dlc transfer train``: adapt a backbone to an image folder; ``dlc transfer predict``: classify
images with the result. ``dlc transfer --data …`` (no action) is ``train``, as before."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from dlclassics import options
from dlclassics.data.root import add_data_root_argument
from dlclassics.options import nonnegative_int, positive_float, positive_int
from dlclassics.transfer.config import BACKBONES, HEAD_INITS, MODES, PROTOCOLS, SCHEDULES

DESCRIPTION = (
    "Adapt an ImageNet backbone to an ImageFolder-style folder (train/<class>/…, val/<class>/…). "
    "Reports val accuracy with a new random head, zero-shot accuracy from ImageNet classes named "
    "like the class folders, per-epoch curves, best and final-epoch val accuracy; writes "
    "metrics.json, figures and checkpoints to --out."
)


class TransferActions(argparse._SubParsersAction):
    """``train``/``predict``, with a hint instead of "invalid choice" for ``dlc transfer DIR``."""

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
    """The options of ``dlc transfer train`` (also accepted by bare ``dlc transfer``). Options
    named after ``TrainConfig`` fields replace the protocol's value when given."""
    add = parser.add_argument
    add("--data", metavar="DIR", help="image folder (none: the hymenoptera data set)")
    add_data_root_argument(parser)
    add("--backbone", choices=BACKBONES, default=BACKBONES[0], help="ImageNet backbone")
    weights_help = (
        "backbone weights: imagenet, a torchvision weight name of a torchvision backbone "
        "(DEFAULT, IMAGENET1K_V1), or a local state_dict file"
    )
    add("--weights", metavar="NAME_OR_PATH", default="imagenet", help=weights_help)
    modes = [*MODES, "both"]
    add("--mode", choices=modes, default="both", help="train the whole model or the head")
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
    add("--views", dest="cached_views", type=nonnegative_int, metavar="N", help=f"{views} {given}")
    tta = argparse.BooleanOptionalAction
    add("--tta", dest="flip_tta", action=tta, help=f"flip test-time augmentation {given}")
    per_class = "use N train images per class (none: all, or the profile's)"
    dest = "train_images_per_class"
    add("--train-per-class", dest=dest, type=positive_int, metavar="N", help=per_class)
    add("--seed", type=nonnegative_int, default=0, help="random seed")
    options.add_out_argument(parser, "runs/transfer", "output folder")
    add("--cache-dir", type=Path, metavar="DIR", help="feature cache (none: OUT/feature_cache)")
    add("--resume", action="store_true", help="continue from OUT/<mode>/last.pt")
    options.add_device_argument(parser)
    options.add_precision_argument(parser)
    parser.set_defaults(func=train_command)


def register(subparsers: argparse._SubParsersAction) -> None:
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
    predict = actions.add_parser("predict", help="classify images with a trained checkpoint")
    add = predict.add_argument
    add("--checkpoint", required=True, metavar="CKPT", help="OUT/<mode>/best.pt")
    images_help = "images, folders of images, or - to read image paths from standard input"
    add("images", nargs="+", metavar="IMAGE_OR_DIR", help=images_help)
    add("-o", "--out", metavar="FILE", help="write the TSV here (none: standard output)")
    options.add_device_argument(predict)
    predict.set_defaults(func=predict_command)


def train_command(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from dlclassics import distributed
    from dlclassics.backbones import load_state_dict_file, resolve_weights
    from dlclassics.data.registry import dataset_path
    from dlclassics.options import apply_overrides, config_from_args
    from dlclassics.outputs import prepare_output_dir
    from dlclassics.runtime import resolve_device
    from dlclassics.transfer.config import TransferConfig, recipe
    from dlclassics.transfer.run import run_experiment

    modes = MODES if args.mode == "both" else (args.mode,)
    train = {mode: apply_overrides(recipe(args.protocol, mode, args.quick), args) for mode in modes}
    if "finetune" in train:  # a backbone that trains cannot be cached, whatever --views says
        train["finetune"] = replace(train["finetune"], cached_views=0)
    data_dir = Path(args.data) if args.data else dataset_path("hymenoptera", args.data_root)
    device = resolve_device(args.device)
    config = config_from_args(
        TransferConfig, args, data_dir=data_dir, out_dir=Path(args.out), train=train, device=device
    )
    # before any work, so that a bad --weights or --out costs nothing
    if isinstance(resolve_weights(config.backbone, config.weights), Path):
        load_state_dict_file(config.weights)
    if distributed.launched_rank() == 0:
        prepare_output_dir(config.out_dir)
        if config.cache_dir is not None:
            prepare_output_dir(config.cache_dir, lock=False)
    try:
        summary = run_experiment(config)
    finally:
        distributed.shutdown()
    if distributed.launched_rank() == 0:
        print_summary(summary)
        print(f"wrote {config.out_dir / 'metrics.json'}")
    return 0


def print_summary(summary: dict) -> None:
    """A markdown table of the val accuracies of every mode."""
    from dlclassics.tables import markdown_table, percent

    rows = []
    for mode, m in summary["modes"].items():
        best = f"{100 * m['best_val_acc']:.2f} ({m['best_epoch']})"
        untrained = [percent(m["random_head_val_acc"]), percent(m["zero_shot_val_acc"])]
        rows.append([mode, *untrained, best, percent(m["final_val_acc"])])
    columns = ["mode", "random head %", "zero-shot %", "best val % (epoch)", "final val %"]
    print("\n" + markdown_table(columns, rows))
    print(f"\nnote: {summary['selection_note']}")


def predict_command(args: argparse.Namespace) -> int:
    from dlclassics.data.images import expand_image_args
    from dlclassics.errors import DlcError
    from dlclassics.io import atomic_write_text
    from dlclassics.outputs import check_output_file
    from dlclassics.runtime import resolve_device
    from dlclassics.transfer.model import load_classifier, predict_files

    if args.out:
        check_output_file(args.out)
    classifier = load_classifier(args.checkpoint, resolve_device(args.device))
    paths = expand_image_args(args.images)
    if not paths:
        raise DlcError(f"{' '.join(args.images)}: no image files found")
    results = predict_files(classifier, paths)
    if not results:
        raise DlcError("none of the given images could be read")
    lines = "".join(f"{path}\t{name}\t{probability:.4f}\n" for path, name, probability in results)
    if args.out:
        atomic_write_text(args.out, lines)
        print(f"wrote {args.out}")
    else:
        print(lines, end="")
    return 0
