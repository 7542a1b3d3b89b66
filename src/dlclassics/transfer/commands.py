"""``dlc transfer``: train on an image folder; ``dlc transfer predict``: classify images."""

from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path

from dlclassics.data.root import add_data_root_argument
from dlclassics.transfer.config import HEAD_INITS, MODES, PROTOCOLS, SCHEDULES, recipe

# command-line flag → TrainConfig field; None leaves the protocol's default
OVERRIDES = {
    "epochs": "epochs",
    "batch_size": "batch_size",
    "lr": "lr",
    "schedule": "schedule",
    "head_init": "head_init",
    "views": "cached_views",
    "tta": "flip_tta",
    "train_per_class": "train_images_per_class",
}


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "transfer",
        help="fine-tune or freeze an ImageNet backbone on an image folder",
        description=(
            "Adapt an ImageNet backbone to an ImageFolder-style folder (train/<class>/…, "
            "val/<class>/…). Reports val accuracy with a new random head, zero-shot accuracy "
            "from ImageNet classes named like the class folders, per-epoch curves, best and "
            "final-epoch val accuracy; writes metrics.json, figures and checkpoints to --out."
        ),
    )
    parser.add_argument("--data", metavar="DIR", help="image folder (default: hymenoptera_data)")
    add_data_root_argument(parser)
    parser.add_argument(
        "--backbone", default=None, help="registered backbone name (default: efficientnet_lite0)"
    )
    parser.add_argument("--weights", metavar="PATH", help="local state_dict for the backbone")
    parser.add_argument("--mode", choices=[*MODES, "both"], default="both")
    parser.add_argument(
        "--protocol",
        choices=PROTOCOLS,
        default="improved",
        help="improved (default, our measured recipe) or reference (the PyTorch tutorial's)",
    )
    parser.add_argument("--quick", action="store_true", help="a few-minute profile (tests, demos)")
    parser.add_argument("--epochs", type=int)
    parser.add_argument("--batch-size", type=int)
    parser.add_argument("--lr", type=float, help="learning rate of the new head")
    parser.add_argument("--schedule", choices=SCHEDULES)
    parser.add_argument("--head-init", choices=HEAD_INITS)
    parser.add_argument(
        "--views",
        type=int,
        help="freeze mode: cached augmented views per training image (0: recompute every epoch)",
    )
    parser.add_argument(
        "--tta", action=argparse.BooleanOptionalAction, help="flip test-time augmentation"
    )
    parser.add_argument(
        "--train-per-class", type=int, metavar="N", help="use N train images per class"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", metavar="DIR", default="runs/transfer")
    parser.add_argument(
        "--cache-dir", metavar="DIR", help="feature cache (default: OUT/feature_cache)"
    )
    parser.add_argument("--resume", action="store_true", help="continue from OUT/<mode>/last.pt")
    parser.set_defaults(func=run_command)

    sub = parser.add_subparsers(dest="transfer_command", metavar="{predict}")
    predict = sub.add_parser("predict", help="classify images with a trained checkpoint")
    predict.add_argument("--checkpoint", required=True, metavar="CKPT", help="OUT/<mode>/best.pt")
    predict.add_argument("images", nargs="+", metavar="IMAGE_OR_DIR")
    predict.set_defaults(func=predict_command)


def run_command(args: argparse.Namespace) -> int:
    from dlclassics import distributed
    from dlclassics.backbones import DEFAULT_BACKBONE
    from dlclassics.data.registry import dataset_path
    from dlclassics.errors import DlcError
    from dlclassics.transfer.experiment import ExperimentConfig, run_experiment

    for name in ("epochs", "batch_size", "views", "train_per_class"):
        value = getattr(args, name)
        if value is not None and value < (0 if name == "views" else 1):
            raise DlcError(f"--{name.replace('_', '-')} must be positive, got {value}")
    data_dir = Path(args.data) if args.data else dataset_path("hymenoptera", args.data_root)
    modes = MODES if args.mode == "both" else (args.mode,)
    overrides = {
        field: getattr(args, flag)
        for flag, field in OVERRIDES.items()
        if getattr(args, flag) is not None
    }
    train = {mode: replace(recipe(args.protocol, mode, args.quick), **overrides) for mode in modes}
    if "finetune" in train:
        train["finetune"] = replace(train["finetune"], cached_views=0)
    exp = ExperimentConfig(
        data_dir=data_dir,
        out_dir=Path(args.out),
        train=train,
        backbone=args.backbone or DEFAULT_BACKBONE,
        weights=args.weights or "imagenet",
        protocol=args.protocol,
        seed=args.seed,
        cache_dir=Path(args.cache_dir) if args.cache_dir else None,
        resume=args.resume,
    )
    try:
        summary = run_experiment(exp)
    finally:
        distributed.shutdown()
    if distributed.launched_rank() == 0:
        print_summary(summary)
        print(f"wrote {exp.out_dir / 'metrics.json'}")
    return 0


def print_summary(summary: dict) -> None:
    """A markdown table of the val accuracies of every mode."""

    def pct(value: float | None) -> str:
        return "n/a" if value is None else f"{100 * value:.2f} %"

    print("\n| mode | random head | zero-shot | best val (epoch) | final val |")
    print("|---|---|---|---|---|")
    for mode, m in summary["modes"].items():
        print(
            f"| {mode} | {pct(m['random_head_val_acc'])} | {pct(m['zero_shot_val_acc'])} | "
            f"{pct(m['best_val_acc'])} ({m['best_epoch']}) | {pct(m['final_val_acc'])} |"
        )
    print(f"\nnote: {summary['selection_note']}")


def predict_command(args: argparse.Namespace) -> int:
    from dlclassics.data.images import expand_image_args
    from dlclassics.errors import DlcError
    from dlclassics.transfer.predict import load_classifier, predict_files

    classifier = load_classifier(args.checkpoint)
    paths = expand_image_args(args.images)
    if not paths:
        raise DlcError(f"{args.images[0]}: no image files found")
    results = predict_files(classifier, paths)
    if not results:
        raise DlcError("none of the given images could be read")
    for path, name, probability in results:
        print(f"{path}\t{name}\t{probability:.4f}")
    return 0
