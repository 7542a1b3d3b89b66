"""``dlc style``: paint a photo in the style of one or more pictures (Gatys et al.)."""

from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dlclassics.data.root import add_data_root_argument
from dlclassics.errors import DlcError
from dlclassics.options import (
    add_device_argument,
    add_out_argument,
    add_precision_argument,
    add_threads_argument,
    bounded,
    config_from_args,
    nonnegative_float,
    nonnegative_int,
    positive_float,
    positive_int,
)
from dlclassics.style.config import DEFAULT_BACKBONE, MAX_ASPECT, MAX_SIDE, Config
from dlclassics.style.presets import REFERENCE_SIZE

if TYPE_CHECKING:
    from dlclassics.results import Result

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

Writes the image and three side files. OUT with a suffix Pillow writes (.png, .jpg, .tif, .webp
...) is the image, and the side files are named after it, so runs into one folder keep their
own: -o out/starry.png writes out/starry.png, out/starry.loss.png (loss terms per iteration),
out/starry.panel.png (content | styles | result) and out/starry.metrics.json. Any other OUT is
a folder holding result.png, loss.png, panel.png and metrics.json. The folder is locked while
the run writes into it.

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
    ("--style-weight", "style_weight", nonnegative_float, "+", "W", "ws, one per style layer"),
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
    out_help = "output image (.png, .tif, …) or folder (default: runs/style/<content>__<styles>)"
    add_out_argument(parser, None, out_help)
    add("--preset", choices=["reference"], help="the three reference pairs from <data root>/styles")
    batch_help = "style every image in DIR (then give STYLEs only)"
    add("--batch-dir", type=Path, metavar="DIR", help=batch_help)
    size_help = f"shorter side of the result (default: {Config.size}; reference 192)"
    add("--size", metavar="PX", type=pixel_size, help=size_help)
    style_size_help = "shorter side of the style pictures (default: --size)"
    add("--style-size", metavar="PX", type=pixel_size, help=style_size_help)
    for option, dest, kind, nargs, metavar, text in PRESET_OPTIONS:
        help_text = f"{text} (default: the backbone's preset)"
        add(option, dest=dest, type=kind, nargs=nargs, metavar=metavar, help=help_text)
    _add_other_arguments(parser, Config())
    _add_artist_arguments(parser)
    add_device_argument(parser)
    add_precision_argument(parser)
    # fp32 unless asked: pixel gradients through a bf16 backbone are not measured here
    parser.set_defaults(precision=Config.precision)
    add_threads_argument(parser)
    add_data_root_argument(parser)
    parser.set_defaults(func=handle_style)


def _add_other_arguments(parser: argparse.ArgumentParser, d: Config) -> None:
    add = parser.add_argument
    scale = "multiply every style weight by this"
    add("--style-scale", metavar="S", type=nonnegative_float, default=d.style_scale, help=scale)
    blend = "one blend weight per STYLE picture (default: equal)"
    add("--style-blend", nargs="+", type=nonnegative_float, metavar="B", help=blend)
    steps = "optimisation steps"
    add("--iters", type=positive_int, default=d.iters, metavar="N", help=steps)
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
    add("--scale-iters", nargs="+", type=positive_int, metavar="N", help=steps)
    add("--tile", type=tile_size, metavar="PX", help="optimise in overlapping tiles of PX x PX")
    overlap_help = "overlap of neighbouring tiles (default: a quarter of the tile)"
    add("--tile-overlap", type=nonnegative_int, metavar="PX", help=overlap_help)
    no_tile_help = "never tile: refuse a picture estimated not to fit in memory"
    add("--no-tile", action="store_true", help=no_tile_help)


def handle_style(args: argparse.Namespace) -> int:
    """Run ``dlc style``: one photo, the reference pairs or a folder of photos."""
    from dlclassics.style import batch, multiscale, reference, run  # the experiment, when used

    images = [Path(p) for p in args.images]
    if args.scales and args.size and args.size != args.scales[-1]:
        raise DlcError(f"--size {args.size} differs from the last of --scales ({args.scales[-1]})")
    config = config_from_args(Config, args)
    multiscale.check_options(config)
    if args.preset == "reference":
        if images:
            raise DlcError(
                "--preset reference takes no image arguments (it uses the styles data set)"
            )
        out = _out(args, "reference")
        template = replace(config, out=out, size=args.size or REFERENCE_SIZE)
        summary = reference.run_reference_pairs(template, data_root=args.data_root)
        _print_reference(summary, out)
        return 0
    if args.batch_dir is not None:
        if not images:
            raise DlcError("--batch-dir DIR needs at least one STYLE image")
        out = _out(args, f"{args.batch_dir.name}__{'+'.join(p.stem for p in images)}")
        summary = batch.run_batch(replace(config, styles=tuple(images), out=out), args.batch_dir)
        if summary is not None:  # rank 0 (or the only process) reports
            print(
                f"styled {len(summary['photos'])} images with {summary['processes']} process(es) "
                f"in {summary['seconds']:.1f} s; wrote {out}/<name>/ and {out / 'metrics.json'}"
            )
        return 0
    if len(images) < 2:
        raise DlcError("give a CONTENT image and at least one STYLE image (or --preset reference)")
    content, *styles = images
    out = _out(args, f"{content.stem}__{'+'.join(p.stem for p in styles)}")
    result = run.train_launched(replace(config, content=content, styles=tuple(styles), out=out))
    if result.files:  # rank 0 (or the only process) reports
        _print_run(result)
    return 0


def _out(args: argparse.Namespace, default_name: str) -> Path:
    """``-o``, else ``runs/style/<default_name>``."""
    return Path(args.out) if args.out else Path("runs") / "style" / default_name


def _print_run(result: Result) -> None:
    """The run's two lines: losses and speed, then the files it wrote."""
    m = result.metrics
    print(
        f"total loss {m['total_loss_first']:.4g} -> {m['total_loss_last']:.4g} "
        f"(style {m['style_loss_first']:.4g} -> {m['style_loss_last']:.4g}), "
        f"{m['seconds']:.1f} s, {m['iterations_per_second']:.1f} it/s"
    )
    image, *side = result.files.values()
    names = ", ".join(path.name for path in side)
    print(f"wrote {image}, {names} in {result.out}")


def _print_reference(summary: dict[str, Any], out: Path) -> None:
    """One line per reference pair, then the summary file."""
    for name, pair in summary["pairs"].items():
        print(
            f"{name}: style loss {pair['style_first']:.4g} -> {pair['style_last']:.4g} "
            f"({pair['style_reduction']:.1f}x), {pair['seconds']:.1f} s -> {out / pair['image']}"
        )
    print(f"wrote {out / 'metrics.json'}")
