"""``dlc caption``: train a captioning model, caption images with it, make the shapes data.

dlc caption make-shapes [--out DIR] [--n-train N] [--n-val N] [--n-test N] [--seed S]
dlc caption train --data shapes|coco|DIR --cell rnn|lstm|attention [--overfit N] ...
dlc caption sample --checkpoint CKPT [--split val] [--n 6] [--beam K]
dlc caption predict --checkpoint CKPT IMAGES|DIR ... [--beam K] [--format txt|csv|jsonl]

Each action parses its options into the API's terms (``captioning.Config``, ``load``) and
imports the experiment's code only when it runs, so building the ``dlc`` parser stays light.
"""

from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path

from dlclassics.captioning.config import (
    DATA_FORMATS,
    DEFAULT_BEAM,
    OVERFIT_PROTOCOL,
    PROTOCOL_FIELDS,
    Config,
    ShapesConfig,
)
from dlclassics.data.root import add_data_root_argument, resolve_data_root
from dlclassics.options import (
    add_deprecated_alias,
    add_device_argument,
    add_format_argument,
    add_out_argument,
    add_precision_argument,
    add_threads_argument,
    apply_overrides,
    bounded,
    nonnegative_float,
    nonnegative_int,
    positive_float,
    positive_int,
)
from dlclassics.outputs import check_output_file, prepare_output_dir
from dlclassics.predictions import Prediction, write_predictions
from dlclassics.tables import markdown_table

image_size = bounded(int, 32, 1024)
# numeric options of ``caption train`` whose default is Config's, or OVERFIT_PROTOCOL's
# with --overfit for those in PROTOCOL_FIELDS: (option, type, help)
TRAIN_NUMBERS = (
    ("--epochs", positive_int, "training epochs"),
    ("--batch-size", positive_int, "captions per batch"),
    ("--lr", positive_float, "Adam learning rate"),
    ("--lr-decay", bounded(float, 0.0, 1.0, low_open=True), "learning-rate factor per epoch"),
    ("--hidden-size", positive_int, "hidden state size"),
    ("--wordvec", positive_int, "word vector size"),
    ("--seed", nonnegative_int, "seed of the weights and the batch order"),
    ("--beam", positive_int, "beam size for the extra evaluation (1: greedy only)"),
    ("--max-length", positive_int, "longest generated caption"),
    ("--eval-images", positive_int, "images scored per split"),
    ("--image-size", image_size, "backbone input size (224: 7 x 7 feature maps)"),
    ("--attention-dim", positive_int, "attention cell: size of the attention layer"),
    ("--attention-reg", nonnegative_float, "attention cell: doubly stochastic penalty (0: off)"),
)
THREADS_HELP = "CPU threads of PyTorch: image features, the torch engine (default: all)"


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``dlc caption`` and its actions to the ``dlc`` parser."""
    caption = subparsers.add_parser(
        "caption",
        help="image captioning with the NumPy RNN/LSTM/attention LSTM",
        description="Train an RNN, LSTM or attention-LSTM captioning model, caption images with "
        "it, or render the shapes data set.",
    )
    commands = caption.add_subparsers(dest="caption_command", metavar="ACTION", required=True)
    _register_make_shapes(commands)
    _register_train(commands)
    _register_sample(commands)
    _register_predict(commands)


def _add_runtime_arguments(parser: argparse.ArgumentParser) -> None:
    add_device_argument(parser)
    add_precision_argument(parser)
    add_threads_argument(parser, THREADS_HELP)


def _register_make_shapes(commands: argparse._SubParsersAction) -> None:
    d = ShapesConfig()
    text = "render the shapes captioning benchmark"
    p = commands.add_parser(
        "make-shapes",
        help=text,
        description="Render the generated shapes data set: scenes of one to three coloured "
        "shapes, five captions each, some colour-shape pairs held out of training.",
    )
    add_data_root_argument(p)
    add_out_argument(p, None, "output folder (default: ~/.cache/dlclassics/shapes)")
    p.add_argument("--n-train", type=positive_int, default=d.n_train, help="train images")
    p.add_argument("--n-val", type=positive_int, default=d.n_val, help="val images")
    p.add_argument("--n-test", type=positive_int, default=d.n_test, help="test images")
    p.add_argument("--seed", type=nonnegative_int, default=d.seed, help="same seed, same files")
    p.add_argument("--image-size", type=image_size, default=d.image_size, help="pixels per side")
    p.set_defaults(func=_make_shapes)


def _add_data_arguments(parser: argparse.ArgumentParser, default: str | None, text: str) -> None:
    add_data_root_argument(parser)
    parser.add_argument("--data", default=default, metavar="DATA", help=text)
    format_help = "force the data format instead of detecting it from the folder"
    parser.add_argument("--data-format", choices=DATA_FORMATS, help=format_help)


def _register_train(commands: argparse._SubParsersAction) -> None:
    d = Config()
    p = commands.add_parser(
        "train",
        help="train a captioning model and evaluate it",
        description="Train a captioning model on the shapes benchmark, CS231n's COCO files or "
        "your own folder of images with a captions file, then score it (BLEU, CIDEr, exact "
        "match) greedy and with beam search. Writes OUT/checkpoint.pt, metrics.json, figures.",
    )
    data_help = (
        "shapes, coco, or a folder: images with captions.txt/.csv (or captions_train.* + "
        "captions_val.*), a make-shapes folder or CS231n's COCO files (detected)"
    )
    _add_data_arguments(p, d.data, data_help)
    cell_help = (
        "recurrent cell; attention: an LSTM with soft attention over the backbone's feature map "
        "(Show, Attend and Tell; NumPy engine, images of shapes or a folder)"
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
    add_deprecated_alias(p, old="--hidden", new="--hidden-size")
    p.add_argument("--backbone", default=d.backbone, help="feature backbone for image folders")
    pca_help = "PCA size of the image features (default 128; attention: of each map location's, "
    p.add_argument("--pca", type=positive_int, metavar="K", help=pca_help + "default 64)")
    cache_help = "image feature cache folder (default: ~/.cache/dlclassics/caption_features)"
    p.add_argument("--cache-dir", metavar="DIR", help=cache_help)
    add_deprecated_alias(p, old="--feature-cache", new="--cache-dir")
    _add_runtime_arguments(p)
    add_out_argument(p, d.out, "output folder")
    resume_help = (
        "continue from OUT/checkpoint.pt with the same settings (more --epochs, another --engine "
        "or --device are allowed; other changes are refused)"
    )
    p.add_argument("--resume", action="store_true", help=resume_help)
    p.set_defaults(func=_train)


def _register_sample(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser(
        "sample",
        help="caption images of a split with a trained checkpoint",
        description="Caption the first images of a split of the data set a checkpoint was "
        "trained on, beside their true captions; draws OUT/samples_<split>.png.",
    )
    p.add_argument("--checkpoint", required=True, metavar="CKPT", help="a caption run's .pt")
    _add_data_arguments(p, None, "data set (default: the one the checkpoint was trained on)")
    p.add_argument("--split", default="val", help="train, val, val_unseen or test")
    p.add_argument("--n", type=positive_int, default=6, help="images to caption")
    beam_help = f"beam size (1: greedy; default {DEFAULT_BEAM})"
    p.add_argument("--beam", type=positive_int, default=DEFAULT_BEAM, help=beam_help)
    add_out_argument(p, None, "figure folder (default: the checkpoint's)")
    _add_runtime_arguments(p)
    p.set_defaults(func=_sample)


def _register_predict(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser(
        "predict",
        help="caption your own images with a trained checkpoint",
        description="Caption any images (files, folders searched for images, - for paths on "
        "standard input) with a trained checkpoint; no captions file needed. txt rows are "
        "'IMAGE<TAB>CAPTION'; csv has the header input,caption; jsonl rows are "
        '{"input": ..., "caption": ...}.',
    )
    p.add_argument("--checkpoint", required=True, metavar="CKPT", help="a caption run's .pt")
    p.add_argument("images", nargs="+", metavar="IMAGES", help="image files or folders")
    beam_help = f"beam size (1: greedy; default {DEFAULT_BEAM})"
    p.add_argument("--beam", type=positive_int, default=DEFAULT_BEAM, help=beam_help)
    add_format_argument(p)
    p.add_argument("-o", "--out", metavar="FILE", help="write here instead of standard output")
    maps_help = "attention models: draw each word's attention map, one PNG per image, here"
    p.add_argument("--attention-maps", metavar="DIR", help=maps_help)
    _add_runtime_arguments(p)
    p.set_defaults(func=_predict)


def _make_shapes(args: argparse.Namespace) -> int:
    from dlclassics.captioning import shapes

    out = (
        Path(args.out) if args.out else shapes.default_shapes_dir(resolve_data_root(args.data_root))
    )
    config = ShapesConfig(
        n_train=args.n_train,
        n_val=args.n_val,
        n_test=args.n_test,
        seed=args.seed,
        image_size=args.image_size,
    )
    shapes.make_shapes(prepare_output_dir(out), config)
    counts = f"{args.n_train} train, {args.n_val} val, {args.n_test} test images"
    print(f"shapes data set: {out} ({counts})")
    return 0


def train_config(args: argparse.Namespace) -> Config:
    """The defaults, or with ``--overfit`` the reference protocol, then every option given."""
    base = OVERFIT_PROTOCOL if args.overfit else Config()
    return replace(apply_overrides(base, args), device=args.device)


def _train(args: argparse.Namespace) -> int:
    from dlclassics.captioning import run

    result = run.train(train_config(args))
    evaluation = result.details["evaluation"]
    scores = ("BLEU-1", "BLEU-4", "CIDEr", "exact match")
    rows = [  # one number format for every score: fractions to 4 decimals
        [split, decoding, *(f"{by_name[name]:.4f}" for name in scores)]
        for split, by_decoding in evaluation.items()
        for decoding, by_name in by_decoding.items()
    ]
    final, last_mean = result.details["final_loss"], result.details["last_epoch_mean_loss"]
    print(f"final training loss {final:.4f} (last epoch mean {last_mean:.4f})")
    print(markdown_table(["split", "decoding", "BLEU-1", "BLEU-4", "CIDEr", "exact"], rows))
    print(f"wrote {result.files['metrics']} and figures")
    return 0


def _sample(args: argparse.Namespace) -> int:
    from dlclassics.captioning import run

    checkpoint = Path(args.checkpoint)
    rows, figure = run.sample_split(
        checkpoint,
        out_dir=Path(args.out or checkpoint.parent),
        data=args.data,
        data_format=args.data_format,
        data_root=args.data_root,
        split_name=args.split,
        count=args.n,
        beam=args.beam,
        device=args.device,
        precision=args.precision,
        threads=args.threads,
    )
    for row in rows:
        print(f"{Path(row['image']).name}\n  generated: {row['generated']}")
        print(f"  truth:     {row['truth']}")
    print(f"wrote {figure}")
    return 0


def caption_line(prediction: Prediction) -> str:
    """The txt row of one captioned image: ``IMAGE<TAB>CAPTION``.

    >>> caption_line(Prediction(input="a.jpg", caption="a red circle"))
    'a.jpg\\ta red circle'
    """
    return f"{prediction.input}\t{prediction.caption}"


def _predict(args: argparse.Namespace) -> int:
    from dlclassics.captioning import predict

    if args.out not in (None, "-"):
        check_output_file(args.out)
    predictions = predict.predict_images(
        args.checkpoint,
        args.images,
        beam=args.beam,
        attention_maps=Path(args.attention_maps) if args.attention_maps else None,
        device=args.device,
        precision=args.precision,
        threads=args.threads,
    )
    write_predictions(predictions, args.format, args.out, caption_line)
    return 0
