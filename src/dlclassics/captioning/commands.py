"""``dlc caption``: train a captioning model, caption images from a checkpoint, make the shapes data.

dlc caption make-shapes [--out DIR] [--n-train N] [--n-val N] [--n-test N] [--seed S]
dlc caption train --data shapes|coco[:DIR]|folder:DIR --cell rnn|lstm|attention [--overfit N] ...
dlc caption sample --checkpoint CKPT [--split val] [--n 6] [--beam K]
"""

from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path

from dlclassics.captioning.config import (
    OVERFIT_PROTOCOL,
    PROTOCOL_FIELDS,
    ShapesConfig,
    TrainConfig,
)
from dlclassics.data.root import add_data_root_argument, resolve_data_root
from dlclassics.options import (
    add_device_argument,
    add_out_argument,
    apply_overrides,
    bounded,
    nonnegative_float,
    nonnegative_int,
    positive_float,
    positive_int,
)

image_size = bounded(int, 32, 1024)
# numeric options of ``caption train`` whose default is TrainConfig's, or OVERFIT_PROTOCOL's
# with --overfit for those in PROTOCOL_FIELDS: (option, type, help)
TRAIN_NUMBERS = (
    ("--epochs", positive_int, "training epochs"),
    ("--batch-size", positive_int, "captions per batch"),
    ("--lr", positive_float, "Adam learning rate"),
    ("--lr-decay", bounded(float, 0.0, 1.0, low_open=True), "learning-rate factor per epoch"),
    ("--hidden", positive_int, "hidden state size"),
    ("--wordvec", positive_int, "word vector size"),
    ("--seed", nonnegative_int, "seed of the weights and the batch order"),
    ("--beam", positive_int, "beam size for the extra evaluation (1: greedy only)"),
    ("--max-length", positive_int, "longest generated caption"),
    ("--eval-images", positive_int, "images scored per split"),
    ("--image-size", image_size, "backbone input size (224: 7 x 7 feature maps)"),
    ("--attention-dim", positive_int, "attention cell: size of the attention layer"),
    ("--attention-reg", nonnegative_float, "attention cell: doubly stochastic penalty (0: off)"),
)


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``dlc caption`` and its actions to the ``dlc`` parser."""
    caption = subparsers.add_parser(
        "caption",
        help="image captioning with the NumPy RNN/LSTM/attention LSTM",
        description="Train an RNN, LSTM or attention-LSTM captioning model, caption images with "
        "it, or render the shapes data set.",
    )
    commands = caption.add_subparsers(dest="caption_command", metavar="ACTION", required=True)

    d = ShapesConfig()
    p = commands.add_parser("make-shapes", help="render the shapes captioning benchmark")
    add_data_root_argument(p)
    add_out_argument(p, None, "output folder (default: <data root>/shapes)")
    for split in ("n_train", "n_val", "n_test"):
        name, part = f"--{split.replace('_', '-')}", split[2:]
        p.add_argument(name, type=positive_int, default=getattr(d, split), help=f"{part} images")
    p.add_argument("--seed", type=nonnegative_int, default=d.seed, help="same seed, same files")
    p.add_argument("--image-size", type=image_size, default=d.image_size, help="pixels per side")
    p.set_defaults(func=_make_shapes)

    _register_train(commands)

    p = commands.add_parser("sample", help="caption images of a split with a trained checkpoint")
    add_data_root_argument(p)
    p.add_argument("--checkpoint", required=True, metavar="CKPT", help="a caption run's .pt")
    p.add_argument("--data", help="data spec (default: the one the checkpoint was trained on)")
    p.add_argument("--split", default="val", help="train, val, val_unseen or test")
    p.add_argument("--n", type=positive_int, default=6, help="images to caption")
    p.add_argument("--beam", type=positive_int, default=1, help="beam size (1: greedy)")
    add_out_argument(p, None, "figure folder (default: the checkpoint's)")
    add_device_argument(p)
    p.set_defaults(func=_sample)


def _register_train(commands: argparse._SubParsersAction) -> None:
    d = TrainConfig()
    p = commands.add_parser("train", help="train a captioning model and evaluate it")
    add_data_root_argument(p)
    p.add_argument("--data", default=d.data, help="shapes[:DIR], coco[:DIR] or folder:DIR")
    cell_help = (
        "recurrent cell; attention: an LSTM with soft attention over the backbone's feature map "
        "(Show, Attend and Tell; NumPy engine, images of shapes or folder:DIR)"
    )
    p.add_argument("--cell", choices=("rnn", "lstm", "attention"), default=d.cell, help=cell_help)
    engine_help = "numpy: hand-derived gradients; torch: autograd on --device (the same update)"
    p.add_argument("--engine", choices=("numpy", "torch"), default=d.engine, help=engine_help)
    overfit_help = "train on N captions of N images only, with the reference protocol's settings"
    p.add_argument("--overfit", type=positive_int, metavar="N", help=overfit_help)
    for option, kind, text in TRAIN_NUMBERS:
        name = option[2:].replace("-", "_")
        if name in PROTOCOL_FIELDS:  # None: train_config picks the base's value
            protocol = getattr(OVERFIT_PROTOCOL, name)
            text = f"{text} (default: {getattr(d, name)}; {protocol} with --overfit)"
            p.add_argument(option, type=kind, help=text)
        else:
            p.add_argument(option, type=kind, default=getattr(d, name), help=text)
    p.add_argument("--backbone", default=d.backbone, help="feature backbone for image folders")
    pca_help = "PCA size of the image features (default 128; attention: of each map location's, "
    p.add_argument("--pca", type=positive_int, metavar="K", help=pca_help + "default 64)")
    p.add_argument("--feature-cache", metavar="DIR", help="feature cache folder")
    add_device_argument(p)
    add_out_argument(p, "runs/caption", "output folder")
    resume_help = (
        "continue from OUT/checkpoint.pt with the same settings (more --epochs, another --engine "
        "or --device are allowed; other changes are refused)"
    )
    p.add_argument("--resume", action="store_true", help=resume_help)
    p.set_defaults(func=_train)


def _make_shapes(args: argparse.Namespace) -> int:
    from dlclassics.captioning.shapes import default_shapes_dir, make_shapes
    from dlclassics.outputs import prepare_output_dir

    out = Path(args.out) if args.out else default_shapes_dir(resolve_data_root(args.data_root))
    config = ShapesConfig(args.n_train, args.n_val, args.n_test, args.seed, args.image_size)
    make_shapes(prepare_output_dir(out), config)
    counts = f"{args.n_train} train, {args.n_val} val, {args.n_test} test images"
    print(f"shapes data set: {out} ({counts})")
    return 0


def train_config(args: argparse.Namespace) -> TrainConfig:
    """The defaults, or with ``--overfit`` the reference protocol, then every option given."""
    from dlclassics.runtime import resolve_device

    base = OVERFIT_PROTOCOL if args.overfit else TrainConfig()
    return replace(apply_overrides(base, args), device=resolve_device(args.device))


def _train(args: argparse.Namespace) -> int:
    from dlclassics.captioning.train import run_training
    from dlclassics.outputs import prepare_output_dir
    from dlclassics.tables import markdown_table

    out = prepare_output_dir(args.out)
    m = run_training(train_config(args), out, resolve_data_root(args.data_root), args.resume)
    rows = [
        [split, decoding, s["BLEU-1"], s["BLEU-4"], s["CIDEr"], s["exact match"]]
        for split, by_decoding in m["evaluation"].items()
        for decoding, s in by_decoding.items()
    ]
    print(
        f"final training loss {m['final_loss']:.4f} (last epoch mean {m['last_epoch_mean_loss']:.4f})"
    )
    print(markdown_table(["split", "decoding", "BLEU-1", "BLEU-4", "CIDEr", "exact"], rows))
    print(f"wrote {out / 'metrics.json'} and figures")
    return 0


def _sample(args: argparse.Namespace) -> int:
    from dlclassics.captioning.train import sample_from_checkpoint
    from dlclassics.runtime import resolve_device

    checkpoint, device = Path(args.checkpoint), resolve_device(args.device)
    rows, figure = sample_from_checkpoint(
        checkpoint, resolve_data_root(args.data_root), args.data, args.split, args.n, args.beam,
        Path(args.out or checkpoint.parent), device,
    )  # fmt: skip
    for row in rows:
        print(f"{Path(row['image']).name}\n  generated: {row['generated']}")
        print(f"  truth:     {row['truth']}")
    print(f"wrote {figure}")
    return 0
