"""``dlc style``: paint a photo in the style of one or more pictures (Gatys et al.)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from dlclassics.data.root import add_data_root_argument

if TYPE_CHECKING:
    from dlclassics.style.run import StyleRunConfig

USAGE = (
    "dlc style CONTENT STYLE [STYLE ...] [-o OUT] [options]\n"
    "       dlc style --preset reference [-o OUT_DIR] [--data-root DIR] [options]\n"
    "       dlc style --batch-dir DIR STYLE [STYLE ...] [-o OUT_DIR] [options]"
)

DESCRIPTION = """\
Optimise the pixels of an image so that its CNN features keep the content of CONTENT and the
Gram-matrix statistics of the STYLE pictures (plus a total-variation smoothness term).

Several STYLE pictures blend: the style target of each layer is the average of their Gram
matrices weighted by --style-blend (one weight per STYLE, normalised to sum 1; default equal),
which has the same gradient as summing each style's loss with those weights.

Writes the image (OUT if it ends in .png/.jpg, else OUT/result.png), and beside it loss.png
(loss terms per iteration), panel.png (content | styles | result) and metrics.json.
Layers, weights and learning rates default to the backbone's preset
(dlclassics.style.presets); --size and --style-size are the shorter side in pixels.

--batch-dir DIR paints every image in DIR (each into OUT_DIR/<name>/, summary in
OUT_DIR/metrics.json); under torchrun the images are split across the processes."""


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "style",
        help="neural style transfer: paint a photo in the style of other pictures",
        usage=USAGE,
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("images", nargs="*", metavar="CONTENT STYLE", help=argparse.SUPPRESS)
    parser.add_argument("-o", "--out", type=Path, default=None, help="output image or folder")
    parser.add_argument(
        "--preset",
        choices=["reference"],
        default=None,
        help="reference: the three reference pairs from <data root>/styles",
    )
    parser.add_argument(
        "--batch-dir",
        type=Path,
        default=None,
        metavar="DIR",
        help="style every image in DIR (the arguments are then the STYLE pictures)",
    )
    parser.add_argument(
        "--size",
        metavar="PX",
        type=int,
        default=None,
        help="shorter side of the result in px (default 256; reference 192)",
    )
    parser.add_argument(
        "--style-size",
        metavar="PX",
        type=int,
        default=None,
        help="shorter side of the style pictures in px (default: --size)",
    )
    parser.add_argument(
        "--iters", type=int, default=200, metavar="N", help="optimisation steps (default 200)"
    )
    parser.add_argument("--optimizer", choices=["adam", "lbfgs"], default="adam")
    parser.add_argument(
        "--lr",
        metavar="LR",
        type=float,
        default=None,
        help="Adam learning rate in [0,1] pixel units (default: preset)",
    )
    parser.add_argument(
        "--lr-decayed",
        metavar="LR",
        type=float,
        default=None,
        help="Adam learning rate for the last 10%% of the steps (default: preset)",
    )
    parser.add_argument(
        "--content-weight", type=float, default=None, metavar="W", help="wc (default: preset)"
    )
    parser.add_argument(
        "--style-weight",
        type=float,
        nargs="+",
        default=None,
        metavar="W",
        help="ws per style layer, one value per layer (default: preset)",
    )
    parser.add_argument(
        "--style-scale",
        metavar="S",
        type=float,
        default=1.0,
        help="multiply every style weight by this (default 1)",
    )
    parser.add_argument(
        "--style-blend",
        type=float,
        nargs="+",
        default=None,
        metavar="B",
        help="one blend weight per STYLE picture (default: equal)",
    )
    parser.add_argument(
        "--tv-weight", type=float, default=None, metavar="W", help="wtv (default: preset)"
    )
    parser.add_argument(
        "--content-layer", default=None, metavar="NAME", help="content layer name (default: preset)"
    )
    parser.add_argument(
        "--style-layers",
        nargs="+",
        default=None,
        metavar="NAME",
        help="style layer names (default: preset)",
    )
    parser.add_argument(
        "--init",
        choices=["content", "noise"],
        default="content",
        help="start from the content photo or from noise (default content)",
    )
    parser.add_argument(
        "--backbone",
        metavar="NAME",
        default=None,
        help="efficientnet_lite0 (default, offline), squeezenet1_1, vgg19",
    )
    parser.add_argument(
        "--weights",
        metavar="PATH",
        default="imagenet",
        help="'imagenet' (default) or a local state_dict file for the backbone",
    )
    parser.add_argument(
        "--seed", type=int, default=0, metavar="S", help="seed of the noise start (default 0)"
    )
    add_data_root_argument(parser)
    parser.set_defaults(func=handle_style)


def handle_style(args: argparse.Namespace) -> int:
    from dlclassics.backbones import DEFAULT_BACKBONE
    from dlclassics.errors import DlcError
    from dlclassics.runtime import seed_everything

    seed_everything(args.seed)
    backbone = args.backbone or DEFAULT_BACKBONE
    if args.preset == "reference":
        if args.images:
            raise DlcError(
                "--preset reference takes no image arguments (it uses the styles data set)"
            )
        return _run_reference(args, backbone)
    if args.batch_dir is not None:
        return _run_batch(args, backbone)
    if len(args.images) < 2:
        raise DlcError("give a CONTENT image and at least one STYLE image (or --preset reference)")
    from dlclassics.style.run import run_style_transfer

    content, *styles = (Path(p) for p in args.images)
    out = args.out or Path("runs") / "style" / f"{content.stem}__{'+'.join(p.stem for p in styles)}"
    metrics = run_style_transfer(_run_config(args, backbone, content, styles, out))
    _print_summary(out, metrics)
    return 0


def _run_config(
    args: argparse.Namespace, backbone: str, content: Path, styles: list[Path], out: Path
) -> StyleRunConfig:
    """The command line's settings as a ``StyleRunConfig`` for ``content`` → ``out``."""
    from dlclassics.style.run import StyleRunConfig

    return StyleRunConfig(
        content=content,
        styles=tuple(styles),
        out=out,
        size=args.size or 256,
        style_size=args.style_size,
        blend=tuple(args.style_blend) if args.style_blend else None,
        backbone=backbone,
        weights=args.weights,
        content_layer=args.content_layer,
        style_layers=tuple(args.style_layers) if args.style_layers else None,
        content_weight=args.content_weight,
        style_weights=tuple(args.style_weight) if args.style_weight else None,
        tv_weight=args.tv_weight,
        style_scale=args.style_scale,
        iterations=args.iters,
        optimizer=args.optimizer,
        init=args.init,
        lr=args.lr,
        lr_decayed=args.lr_decayed,
        seed=args.seed,
    )


def _run_batch(args: argparse.Namespace, backbone: str) -> int:
    from dlclassics import distributed
    from dlclassics.errors import DlcError
    from dlclassics.style.batch import run_batch
    from dlclassics.style.images import SAVE_FORMATS

    if not args.images:
        raise DlcError("--batch-dir DIR needs at least one STYLE image")
    if args.out is not None and args.out.suffix.lower() in SAVE_FORMATS:
        raise DlcError(f"{args.out}: with --batch-dir, -o is a folder, not an image")
    styles = [Path(p) for p in args.images]
    out = (
        args.out
        or Path("runs") / "style" / f"{args.batch_dir.name}__{'+'.join(p.stem for p in styles)}"
    )
    template = _run_config(args, backbone, args.batch_dir, styles, out)
    try:
        summary = run_batch(template, args.batch_dir)
    finally:
        distributed.shutdown()
    if distributed.launched_rank() == 0:
        print(
            f"styled {len(summary['photos'])} images with {summary['processes']} process(es) in "
            f"{summary['seconds']:.1f} s; wrote {out}/<name>/ and {out / 'metrics.json'}"
        )
    return 0


def _run_reference(args: argparse.Namespace, backbone: str) -> int:
    from dlclassics.style.reproduce import run_reference_pairs

    out = args.out or Path("runs") / "style" / "reference"
    summary = run_reference_pairs(
        out,
        data_root=args.data_root,
        backbone=backbone,
        weights=args.weights,
        size=args.size,
        iterations=args.iters,
        optimizer=args.optimizer,
    )
    for name, pair in summary["pairs"].items():
        print(
            f"{name}: style loss {pair['style_first']:.4g} -> {pair['style_last']:.4g} "
            f"({pair['style_reduction']:.1f}x), {pair['seconds']:.1f} s -> {out / pair['image']}"
        )
    print(f"wrote {out / 'metrics.json'}")
    return 0


def _print_summary(out: Path, metrics: dict) -> None:
    first, last = metrics["losses_first"], metrics["losses_last"]
    print(
        f"total loss {first['total']:.4g} -> {last['total']:.4g} "
        f"(style {first['style']:.4g} -> {last['style']:.4g}), {metrics['seconds']:.1f} s, "
        f"{metrics['iterations_per_second']:.1f} it/s"
    )
    folder = out.parent if out.suffix else out
    print(
        f"wrote {folder / metrics['files']['image']}, loss.png, panel.png, metrics.json in {folder}"
    )
