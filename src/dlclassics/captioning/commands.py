"""``dlc caption``: train a captioning model, caption images from a checkpoint, make the shapes data.

dlc caption make-shapes [--out DIR] [--n-train N] [--n-val N] [--n-test N] [--seed S]
dlc caption train --data shapes|coco[:DIR]|folder:DIR --cell rnn|lstm [--overfit N] ...
dlc caption sample --checkpoint CKPT [--split val] [--n 8] [--beam K]
"""

from __future__ import annotations

import argparse
from pathlib import Path

from dlclassics.data.root import add_data_root_argument, resolve_data_root


def register(subparsers) -> None:  # subparsers: argparse._SubParsersAction
    caption = subparsers.add_parser("caption", help="image captioning with the NumPy RNN/LSTM")
    commands = caption.add_subparsers(dest="caption_command", metavar="ACTION", required=True)
    _register_make_shapes(commands)
    _register_train(commands)
    _register_sample(commands)


def _register_make_shapes(commands) -> None:
    from dlclassics.captioning.config import ShapesConfig

    defaults = ShapesConfig()
    p = commands.add_parser("make-shapes", help="render the shapes captioning benchmark")
    add_data_root_argument(p)
    p.add_argument("--out", metavar="DIR", help="output folder (default: <data root>/shapes)")
    p.add_argument("--n-train", type=int, default=defaults.n_train, help="training images")
    p.add_argument("--n-val", type=int, default=defaults.n_val, help="validation images")
    p.add_argument("--n-test", type=int, default=defaults.n_test, help="test images")
    p.add_argument("--seed", type=int, default=defaults.seed, help="same seed, same files")
    p.add_argument("--image-size", type=int, default=defaults.image_size, help="pixels per side")
    p.set_defaults(func=_make_shapes)


def _register_train(commands) -> None:
    from dlclassics.captioning.config import TrainConfig

    d = TrainConfig()
    p = commands.add_parser("train", help="train a captioning model and evaluate it")
    add_data_root_argument(p)
    p.add_argument("--data", default=d.data, help="shapes[:DIR], coco[:DIR] or folder:DIR")
    p.add_argument("--cell", choices=("rnn", "lstm"), default=d.cell)
    p.add_argument("--engine", choices=("numpy", "torch"), default=d.engine)
    p.add_argument("--overfit", type=int, metavar="N", help="train on N captions of N images only")
    p.add_argument("--epochs", type=int, default=d.epochs)
    p.add_argument("--batch-size", type=int, default=d.batch_size)
    p.add_argument("--lr", type=float, default=d.lr, help="Adam learning rate")
    p.add_argument(
        "--lr-decay", type=float, default=d.lr_decay, help="learning-rate factor per epoch"
    )
    p.add_argument("--hidden", type=int, default=d.hidden, help="hidden state size")
    p.add_argument("--wordvec", type=int, default=d.wordvec, help="word vector size")
    p.add_argument("--seed", type=int, default=d.seed)
    p.add_argument(
        "--beam",
        type=int,
        default=d.beam,
        help="beam size for the extra evaluation (1: greedy only)",
    )
    p.add_argument("--max-length", type=int, default=d.max_length, help="longest generated caption")
    p.add_argument("--eval-images", type=int, default=d.eval_images, help="images scored per split")
    p.add_argument("--backbone", default=d.backbone, help="feature backbone for image folders")
    p.add_argument(
        "--image-size", type=int, default=d.image_size, help="feature input size (folders)"
    )
    p.add_argument("--pca", type=int, metavar="K", help="reduce image features to K dims by PCA")
    p.add_argument("--feature-cache", metavar="DIR", help="feature cache folder")
    p.add_argument("--out", metavar="DIR", default="runs/caption", help="output folder")
    p.add_argument("--resume", action="store_true", help="continue from DIR/checkpoint.npz")
    p.set_defaults(func=_train)


def _register_sample(commands) -> None:
    p = commands.add_parser("sample", help="caption images of a split with a trained checkpoint")
    add_data_root_argument(p)
    p.add_argument("--checkpoint", required=True, metavar="CKPT", help="checkpoint.npz of a run")
    p.add_argument("--data", help="data spec (default: the one the checkpoint was trained on)")
    p.add_argument("--split", default="val", help="train, val, val_unseen or test")
    p.add_argument("--n", type=int, default=8, help="images to caption")
    p.add_argument("--beam", type=int, default=1, help="beam size (1: greedy)")
    p.add_argument("--out", metavar="DIR", help="figure folder (default: the checkpoint's)")
    p.set_defaults(func=_sample)


def _make_shapes(args: argparse.Namespace) -> int:
    from dlclassics.captioning.config import ShapesConfig
    from dlclassics.captioning.loaders import default_shapes_dir
    from dlclassics.captioning.shapes import make_shapes

    out = Path(args.out) if args.out else default_shapes_dir(resolve_data_root(args.data_root))
    config = ShapesConfig(args.n_train, args.n_val, args.n_test, args.seed, args.image_size)
    make_shapes(out, config)
    print(
        f"shapes data set: {out} ({args.n_train} train, {args.n_val} val, {args.n_test} test images)"
    )
    return 0


def _train(args: argparse.Namespace) -> int:
    from dlclassics.captioning.config import TrainConfig
    from dlclassics.captioning.train import run_training
    from dlclassics.errors import DlcError
    from dlclassics.runtime import use_agg_backend

    use_agg_backend()
    for flag in ("epochs", "batch_size", "hidden", "wordvec", "beam", "max_length", "eval_images"):
        if getattr(args, flag) < 1:
            raise DlcError(f"--{flag.replace('_', '-')} must be at least 1")
    if args.overfit is not None and args.overfit < 1:
        raise DlcError("--overfit must be at least 1")
    config = TrainConfig.from_dict(vars(args))
    metrics = run_training(
        config, Path(args.out), resolve_data_root(args.data_root), resume=args.resume
    )
    print(_summary(metrics))
    print(f"wrote {Path(args.out) / 'metrics.json'} and figures")
    return 0


def _summary(metrics: dict) -> str:
    lines = [
        f"final training loss {metrics['final_loss']:.4f} (last epoch mean {metrics['last_epoch_mean_loss']:.4f})",
        "| split | decoding | BLEU-1 | BLEU-4 | CIDEr | exact |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for split, by_decoding in metrics["evaluation"].items():
        for decoding, s in by_decoding.items():
            lines.append(
                f"| {split} | {decoding} | {s['BLEU-1']:.3f} | {s['BLEU-4']:.3f} | {s['CIDEr']:.3f} | {s['exact match']:.2f} |"
            )
    return "\n".join(lines)


def _sample(args: argparse.Namespace) -> int:
    from dlclassics.captioning.sampling import sample_from_checkpoint
    from dlclassics.runtime import use_agg_backend

    use_agg_backend()
    rows, figure = sample_from_checkpoint(
        Path(args.checkpoint),
        resolve_data_root(args.data_root),
        args.data,
        args.split,
        args.n,
        args.beam,
        Path(args.out) if args.out else None,
    )
    for row in rows:
        print(
            f"{Path(row['image']).name}\n  generated: {row['generated']}\n  truth:     {row['truth']}"
        )
    print(f"wrote {figure}")
    return 0
