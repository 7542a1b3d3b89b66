"""``dlc style``: paint a photo in the style of one or more pictures (Gatys et al.)."""

from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path

from dlclassics.data.root import add_data_root_argument
from dlclassics.errors import DlcError
from dlclassics.options import (
    add_device_argument,
    add_out_argument,
    bounded,
    config_from_args,
    nonnegative_float,
    nonnegative_int,
    positive_float,
    positive_int,
)
from dlclassics.style.config import DEFAULT_BACKBONE, MAX_ASPECT, MAX_SIDE, StyleConfig

USAGE = (
    "dlc style CONTENT STYLE [STYLE ...] [-o OUT] [options]\n"
    "       dlc style --preset reference [-o OUT_DIR] [--data-root DIR] [options]\n"
    "       dlc style --batch-dir DIR STYLE [STYLE ...] [-o OUT_DIR] [options]"
)

DESCRIPTION = f"""\
Optimise the pixels of an image so that its CNN features keep the content of CONTENT and the
Gram-matrix statistics of the STYLE pictures (plus a total-variation smoothness term).

Several STYLE pictures blend: the style target of each layer is the average of their Gram
matrices weighted by --style-blend (one weight per STYLE, normalised to sum 1; default equal),
which has the same gradient as summing each style's loss with those weights.

Writes the image (OUT if it ends in .png/.jpg, else OUT/result.png), and beside it loss.png
(loss terms per iteration), panel.png (content | styles | result) and metrics.json.
Layers, weights and learning rates default to the backbone's preset
(dlclassics.style.presets); --size and --style-size are the shorter side in pixels. Pictures
more elongated than {MAX_ASPECT}:1, or sizes making the longer side exceed {MAX_SIDE} px, are
refused.

--original-colors transfers the style on luminance only and keeps the content's colours
(chrominance); --match-histogram first gives the style pictures the content's colour statistics.
--scales 256 512 1024 paints coarse to fine: each scale starts from the upsampled result of the
one before, with --iters (or one --scale-iters count per scale) steps, the style pictures at
--style-size x scale / last scale. --tile PX optimises every scale larger than PX in tiles of
at most PX x PX that overlap by --tile-overlap and are blended without seams, against the Gram
matrices of the whole style picture; without --tile a picture estimated not to fit in memory is
tiled at 512 px (or refused, with --no-tile). Under torchrun the tiles are split across the
processes.

--batch-dir DIR paints every image in DIR (each into OUT_DIR/<name>/, summary in
OUT_DIR/metrics.json); under torchrun the images are split across the processes."""

pixel_size = bounded(int, 8, MAX_SIDE)
tile_size = bounded(int, 16, MAX_SIDE)
# options that default to the backbone's preset: (option, config field, type, nargs, metavar, help)
PRESET_OPTIONS = (
    ("--content-weight", "content_weight", nonnegative_float, None, "W", "wc"),
    ("--style-weight", "style_weights", nonnegative_float, "+", "W", "ws, one per style layer"),
    ("--tv-weight", "tv_weight", nonnegative_float, None, "W", "wtv"),
    ("--content-layer", "content_layer", str, None, "NAME", "content layer"),
    ("--style-layers", "style_layers", str, "+", "NAME", "style layers"),
    ("--lr", "lr", positive_float, None, "LR", "Adam learning rate in [0, 1] pixel units"),
    ("--lr-decayed", "lr_decayed", positive_float, None, "LR", "Adam's last 10%% of steps"),
)


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``dlc style`` to the ``dlc`` parser."""
    help_text = "neural style transfer: paint a photo in the style of other pictures"
    parser = subparsers.add_parser("style", help=help_text, usage=USAGE, description=DESCRIPTION)
    add = parser.add_argument
    images_help = "the CONTENT photo, then one or more STYLE pictures (--batch-dir: STYLE only)"
    add("images", nargs="*", metavar="CONTENT STYLE", help=images_help)
    out_help = "output image (.png, .jpg, …) or folder (default: runs/style/<content>__<styles>)"
    add_out_argument(parser, None, out_help)
    add("--preset", choices=["reference"], help="the three reference pairs from <data root>/styles")
    batch_help = "style every image in DIR (then give STYLEs only)"
    add("--batch-dir", type=Path, metavar="DIR", help=batch_help)
    size_help = f"shorter side of the result (default: {StyleConfig.size}; reference 192)"
    add("--size", metavar="PX", type=pixel_size, help=size_help)
    style_size_help = "shorter side of the style pictures (default: --size)"
    add("--style-size", metavar="PX", type=pixel_size, help=style_size_help)
    for option, dest, kind, nargs, metavar, text in PRESET_OPTIONS:
        help_text = f"{text} (default: the backbone's preset)"
        add(option, dest=dest, type=kind, nargs=nargs, metavar=metavar, help=help_text)
    _add_other_arguments(parser, StyleConfig())
    _add_artist_arguments(parser)
    add_device_argument(parser)
    add_data_root_argument(parser)
    parser.set_defaults(func=handle_style)


def _add_other_arguments(parser: argparse.ArgumentParser, d: StyleConfig) -> None:
    add = parser.add_argument
    scale = "multiply every style weight by this"
    add("--style-scale", metavar="S", type=nonnegative_float, default=d.style_scale, help=scale)
    blend = "one blend weight per STYLE picture (default: equal)"
    add("--style-blend", dest="blend", nargs="+", type=nonnegative_float, metavar="B", help=blend)
    steps = "optimisation steps"
    add(
        "--iters",
        dest="iterations",
        type=positive_int,
        default=d.iterations,
        metavar="N",
        help=steps,
    )
    optimizer_help = "Adam, or L-BFGS (strong-Wolfe line search, no learning rate)"
    add("--optimizer", choices=["adam", "lbfgs"], default=d.optimizer, help=optimizer_help)
    init_help = "start from the content photo or from noise"
    add("--init", choices=["content", "noise"], default=d.init, help=init_help)
    add("--seed", type=nonnegative_int, default=d.seed, metavar="S", help="seed of the run")
    backbones = f"{DEFAULT_BACKBONE} (offline), squeezenet1_1 or vgg19 (weights downloaded)"
    add("--backbone", metavar="NAME", default=d.backbone, help=backbones)
    weights_help = "'imagenet' or a local state_dict file for the backbone"
    add("--weights", metavar="PATH", default=d.weights, help=weights_help)


def _add_artist_arguments(parser: argparse.ArgumentParser) -> None:
    add = parser.add_argument
    colors_help = "keep the content's colours: transfer the style on luminance only"
    add("--original-colors", action="store_true", help=colors_help)
    histogram_help = "recolour the style pictures to the content's colour mean and covariance first"
    add("--match-histogram", action="store_true", help=histogram_help)
    scales_help = "coarse-to-fine shorter sides, increasing; the last is the result's size"
    add("--scales", nargs="+", type=pixel_size, metavar="PX", help=scales_help)
    steps = "steps at each of --scales (default: --iters at every scale)"
    add(
        "--scale-iters",
        dest="scale_iterations",
        nargs="+",
        type=positive_int,
        metavar="N",
        help=steps,
    )
    add("--tile", type=tile_size, metavar="PX", help="optimise in overlapping tiles of PX x PX")
    overlap_help = "overlap of neighbouring tiles (default: a quarter of the tile)"
    add("--tile-overlap", type=nonnegative_int, metavar="PX", help=overlap_help)
    no_tile_help = "never tile: refuse a picture estimated not to fit in memory"
    add("--no-tile", action="store_true", help=no_tile_help)


def handle_style(args: argparse.Namespace) -> int:
    """Run ``dlc style``: one photo, the reference pairs or a folder of photos."""
    from dlclassics.runtime import resolve_device, seed_everything

    seed_everything(args.seed)
    images = [Path(p) for p in args.images]
    if args.scales and args.size and args.size != args.scales[-1]:
        raise DlcError(f"--size {args.size} differs from the last of --scales ({args.scales[-1]})")
    config = config_from_args(StyleConfig, args, device=resolve_device(args.device))
    from dlclassics.style.multiscale import check_options

    check_options(config)
    if args.preset == "reference":
        if images:
            raise DlcError(
                "--preset reference takes no image arguments (it uses the styles data set)"
            )
        return _run_reference(args, config)
    if args.batch_dir is not None:
        return _run_batch(args, config, images)
    if len(images) < 2:
        raise DlcError("give a CONTENT image and at least one STYLE image (or --preset reference)")
    from dlclassics import distributed
    from dlclassics.style.run import output_paths, run_style_transfer

    content, *styles = images
    out = _out(args, f"{content.stem}__{'+'.join(p.stem for p in styles)}")
    config = replace(config, content=content, styles=tuple(styles), out=out)
    try:  # under torchrun the processes share the tiles (every process runs untiled scales)
        ctx = distributed.init(config.device)
        metrics = run_style_transfer(replace(config, device=ctx.device), ctx=ctx)
    finally:
        distributed.shutdown()
    if not ctx.is_main:
        return 0
    first, last = metrics["losses_first"], metrics["losses_last"]
    print(
        f"total loss {first['total']:.4g} -> {last['total']:.4g} "
        f"(style {first['style']:.4g} -> {last['style']:.4g}), {metrics['seconds']:.1f} s, "
        f"{metrics['iterations_per_second']:.1f} it/s"
    )
    image, folder = output_paths(out)
    print(f"wrote {image}, loss.png, panel.png, metrics.json in {folder}")
    return 0


def _out(args: argparse.Namespace, default_name: str) -> Path:
    """``-o``, else ``runs/style/<default_name>``."""
    return Path(args.out) if args.out else Path("runs") / "style" / default_name


def _run_batch(args: argparse.Namespace, config: StyleConfig, styles: list[Path]) -> int:
    from dlclassics import distributed
    from dlclassics.style.batch import run_batch
    from dlclassics.style.images import SAVE_FORMATS

    if not styles:
        raise DlcError("--batch-dir DIR needs at least one STYLE image")
    out = _out(args, f"{args.batch_dir.name}__{'+'.join(p.stem for p in styles)}")
    if out.suffix.lower() in SAVE_FORMATS:
        raise DlcError(f"{out}: with --batch-dir, -o is a folder, not an image")
    try:
        summary = run_batch(replace(config, styles=tuple(styles), out=out), args.batch_dir)
    finally:
        distributed.shutdown()
    if distributed.launched_rank() == 0:
        print(
            f"styled {len(summary['photos'])} images with {summary['processes']} process(es) in "
            f"{summary['seconds']:.1f} s; wrote {out}/<name>/ and {out / 'metrics.json'}"
        )
    return 0


def _run_reference(args: argparse.Namespace, config: StyleConfig) -> int:
    from dlclassics.style.presets import REFERENCE_SIZE
    from dlclassics.style.reproduce import run_reference_pairs

    out = _out(args, "reference")
    size = args.size or REFERENCE_SIZE
    summary = run_reference_pairs(replace(config, out=out, size=size), data_root=args.data_root)
    for name, pair in summary["pairs"].items():
        print(
            f"{name}: style loss {pair['style_first']:.4g} -> {pair['style_last']:.4g} "
            f"({pair['style_reduction']:.1f}x), {pair['seconds']:.1f} s -> {out / pair['image']}"
        )
    print(f"wrote {out / 'metrics.json'}")
    return 0
