"""Coarse-to-fine painting (``--scales 256 512 1024``), with tiles and original colours.

At 1000+ px the style's texture is small relative to the picture and one run at that size mostly
sharpens the photo. Painting first at a coarse scale, where the texture is large relative to the
picture, then upsampling the result and refining it at each larger scale keeps the large brush
strokes. Every scale has its own content target (the content at that scale) and style targets
(the style pictures at ``--style-size`` x scale / final scale, or at the scale itself); the
first scale starts from ``--init``, every later one from the bilinearly upsampled previous result.
The content loss is a sum over feature positions while the Gram matrices are averages, so on a
picture with k times the pixels the content term would weigh k times more against the style and
pull the result back to the photo. Each optimisation (a scale, or one tile of it) therefore
scales the content weight by the first scale's pixel count over its own, which keeps the first
scale's balance of content and style at every scale and makes a tile balance like the whole
picture (a plain run is unchanged).

A scale whose picture is larger than the tile (``--tile``, or chosen when the final picture
would not fit in memory, see ``style.tiles``) is optimised in overlapping tiles. With
``--original-colors`` the optimiser works on luminance pictures throughout and the content's
colours are put back once, at the end (``style.colors``).
"""

from __future__ import annotations

import functools
import itertools
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import numpy as np
import torch
import torch.nn.functional as F

from dlclassics import distributed
from dlclassics.errors import DlcError
from dlclassics.figures import new_figure
from dlclassics.io import save_figure
from dlclassics.style.colors import prepare_colors, with_content_colors
from dlclassics.style.config import Config
from dlclassics.style.features import StyleFeatureExtractor
from dlclassics.style.images import load_pixels
from dlclassics.style.optimize import (
    LOSS_TERMS,
    LossHistory,
    LossWeights,
    OptimConfig,
    initial_image,
    optimise_pixels,
)
from dlclassics.style.tiles import default_overlap, optimise_tiles, plan_tile

# Adam's learning rates at the scales after the first, relative to --lr and --lr-decayed: those
# rates are set to leave the content photo quickly, and refining an upsampled painting with them
# first undoes part of it (measured: benchmarks/RESULTS.md, coarse to fine)
REFINE_LR = 0.5


@dataclass
class ScaleResult:
    """One scale of a run: its shorter side, picture size [H, W], steps, history, wall seconds,
    tile count (1: untiled) and the content weight of the whole picture at this scale."""

    size: int
    image_hw: list[int]
    iterations: int
    history: LossHistory
    seconds: float
    tiles: int = 1
    content_weight: float | None = None

    def summary(self) -> dict:
        terms = {term: getattr(self.history, term) for term in LOSS_TERMS}
        return {
            "size": self.size,
            "image_size": self.image_hw,
            "iterations": self.iterations,
            "tiles": self.tiles,
            "content_weight": self.content_weight,
            "seconds": self.seconds,
            "losses_first": {term: values[0] for term, values in terms.items()},
            "losses_last": {term: values[-1] for term, values in terms.items()},
            "history": self.history.as_dict(),
        }


def schedule(config: Config) -> list[tuple[int, int, int]]:
    """(shorter side, style pictures' shorter side, iterations) of every scale, coarse to fine;
    a DlcError when the scales do not increase, or there is not one iteration count per scale."""
    sizes = list(config.scales or (config.size,))
    if any(b <= a for a, b in itertools.pairwise(sizes)):
        raise DlcError(f"--scales {' '.join(map(str, sizes))}: each scale must exceed the last")
    counts = list(config.scale_iters or [config.iters] * len(sizes))
    if len(counts) != len(sizes):
        raise DlcError(f"{len(sizes)} scales but {len(counts)} --scale-iters counts")
    final = sizes[-1]
    style_sizes = [max(8, round((config.style_size or final) * s / final)) for s in sizes]
    return list(zip(sizes, style_sizes, counts, strict=True))


def check_options(config: Config) -> None:
    """Refuse inconsistent scale and tile options before any work (one-line DlcErrors)."""
    schedule(config)
    if config.tile is not None and config.no_tile:
        raise DlcError("--tile and --no-tile contradict each other; give one")
    if config.tile_overlap is not None and config.tile is None:
        raise DlcError("--tile-overlap needs --tile")
    if config.tile is not None and tile_overlap(config) >= config.tile // 2:
        raise DlcError(
            f"--tile-overlap {config.tile_overlap} must be below half the tile ({config.tile} px)"
        )


def tile_overlap(config: Config, tile: int | None = None) -> int:
    """``--tile-overlap``, else a quarter of the tile."""
    tile = tile or config.tile
    return default_overlap(tile) if config.tile_overlap is None else config.tile_overlap


def content_weight(weights: LossWeights, first_pixels: int, pixels: torch.Tensor) -> LossWeights:
    """``weights`` with the content weight for optimising ``pixels`` (a scale or a tile) when the
    first scale had ``first_pixels`` pixels (see the module's note)."""
    return replace(weights, content=weights.content * first_pixels / pixels[0, 0].numel())


def upsample(pixels: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """(1, 3, h, w) → (1, 3, height, width), bilinear, kept in [0, 1]."""
    if tuple(pixels.shape[-2:]) == (height, width):
        return pixels.clone()
    resized = F.interpolate(pixels, size=(height, width), mode="bilinear", align_corners=False)
    return resized.clamp(0.0, 1.0)


def paint(
    config: Config,
    extractor: StyleFeatureExtractor,
    *,
    weights: LossWeights,
    optim: OptimConfig,
    blend: Sequence[float],
    progress: bool = True,
    ctx: distributed.DistContext = distributed.SINGLE_PROCESS,
    announce: Callable[[str], None] = print,
) -> tuple[torch.Tensor, list[ScaleResult], dict]:
    """Paint ``config.content`` at every scale of ``schedule(config)``, each scale starting from
    the upsampled result of the one before.

    Args:
        config: the run's settings (``scales``, ``tile``, ``original_colors`` … included).
        extractor: the frozen feature extractor on ``config.device``.
        weights, optim: loss weights and optimiser settings (``optim.iterations`` is replaced by
            each scale's count).
        blend: one weight per style picture.
        progress: show a progress bar per scale (and per tile).
        ctx: under torchrun, tiles are dealt out across the processes; untiled scales run on
            every process and rank 0's result is kept.
        announce: where the automatic tiling's one-line notice goes.

    Returns:
        (the final (1, 3, H, W) picture in [0, 1], one ``ScaleResult`` per scale, the tiling
        plan: ``{"tile", "overlap"}`` plus the memory estimate when it was made).

    Example:
        >>> picture, scales, _ = paint(config, extractor, weights=w, optim=o, blend=[1.0])
        >>> [scale.size for scale in scales]  # config.scales, or [config.size]
        [128, 256]
    """
    check_options(config)
    steps = schedule(config)
    tile, overlap, plan = _plan_tiling(config, extractor, steps[-1][0], announce=announce)
    picture: torch.Tensor | None = None
    first_pixels = 0
    results: list[ScaleResult] = []
    for size, style_size, iterations in steps:
        started = time.perf_counter()
        content = load_pixels(config.content, size).to(config.device)
        styles = [load_pixels(p, style_size, "style").to(config.device) for p in config.styles]
        # what the optimiser sees: with --original-colors the luminance pictures
        seen, seen_styles = prepare_colors(
            content,
            styles,
            original_colors=config.original_colors,
            histogram=config.match_histogram,
        )
        height, width = seen.shape[-2:]
        first_pixels = first_pixels or height * width
        if picture is None:
            start = initial_image(seen, optim.init, config.seed)
            rate = 1.0
        else:  # refine the painted picture with smaller Adam steps
            start = upsample(picture, height, width)
            rate = REFINE_LR
        optimise = functools.partial(
            optimise_part,
            extractor=extractor,
            targets=extractor.style_targets(seen_styles, blend),
            weights=weights,
            optim=replace(
                optim, iterations=iterations, lr=optim.lr * rate, lr_decayed=optim.lr_decayed * rate
            ),
            first_pixels=first_pixels,
            seed=config.seed,
            progress=progress,
        )
        label = f"style {size}px" if len(steps) > 1 else "style"
        tiles = 1
        if tile is not None and max(height, width) > tile:
            picture, history, tiles = optimise_tiles(
                optimise, seen, start, tile=tile, overlap=overlap, ctx=ctx, label=f"{label} "
            )
        else:
            picture, history = optimise(seen, start, label)
            if ctx.enabled:  # every process ran it; keep rank 0's picture on all of them
                picture = distributed.broadcast_object(picture.cpu(), ctx).to(config.device)
        results.append(
            ScaleResult(
                size=size,
                image_hw=[height, width],
                iterations=iterations,
                history=history,
                seconds=time.perf_counter() - started,
                tiles=tiles,
                content_weight=content_weight(weights, first_pixels, seen).content,
            )
        )
    assert picture is not None  # schedule() gives at least one scale
    if config.original_colors:
        picture = with_content_colors(picture, content)
    return picture, results, plan


def optimise_part(
    content: torch.Tensor,
    start: torch.Tensor,
    desc: str,
    *,
    extractor: StyleFeatureExtractor,
    targets: list[torch.Tensor],
    weights: LossWeights,
    optim: OptimConfig,
    first_pixels: int,
    seed: int,
    progress: bool,
) -> tuple[torch.Tensor, LossHistory]:
    """One optimisation of ``content`` (a scale, or a tile of it) from ``start``: its content
    weight balanced against the first scale's ``first_pixels`` (see the module's note); returns
    (picture, history).

    Example:
        >>> picture, history = optimise_part(content, content, "style", extractor=extractor,
        ...     targets=targets, weights=weights, optim=OptimConfig(iterations=5),
        ...     first_pixels=content[0, 0].numel(), seed=0, progress=False)
    """
    balanced = content_weight(weights, first_pixels, content)
    return optimise_pixels(
        extractor,
        content,
        targets,
        weights=balanced,
        config=optim,
        seed=seed,
        progress=progress,
        start=start,
        desc=desc,
    )


def _plan_tiling(
    config: Config,
    extractor: StyleFeatureExtractor,
    final_size: int,
    *,
    announce: Callable[[str], None],
) -> tuple[int | None, int | None, dict]:
    """(tile, overlap, plan) for the final scale, whose shorter side is ``final_size``: the tile
    (None: untiled), its overlap, and the plan ``{"tile", "overlap"}`` plus the memory estimate
    when it was made."""
    final_content = load_pixels(config.content, final_size)
    height, width = final_content.shape[-2:]
    tile, memory = plan_tile(
        extractor,
        height,
        width,
        device=config.device,
        tile=config.tile,
        no_tile=config.no_tile,
        announce=announce,
    )
    overlap = tile_overlap(config, tile) if tile is not None else None
    return tile, overlap, {"tile": tile, "overlap": overlap, **memory}


def plot_scale_losses(scales: list[ScaleResult], path, title: str) -> None:
    """Loss terms per iteration of every scale, one panel per scale, log scale (one panel for a
    single-scale run)."""
    fig = new_figure(4.5 * len(scales) + 2.5, 4)
    axes = np.atleast_1d(fig.subplots(1, len(scales), sharey=True, squeeze=False)).ravel()
    for ax, scale in zip(axes, scales, strict=True):
        for term in LOSS_TERMS:
            values = np.asarray(getattr(scale.history, term), dtype=np.float64)
            steps = np.arange(len(values))
            keep = values > 0
            ax.plot(steps[keep], values[keep], lw=1, label=term)
        tiled = f", {scale.tiles} tiles (mean)" if scale.tiles > 1 else ""
        ax.set(xlabel="iteration", yscale="log", title=f"{scale.size} px{tiled}")
        ax.grid(True, which="both", alpha=0.3)
    axes[0].set_ylabel("loss (weighted)")
    axes[0].legend()
    fig.suptitle(title)
    save_figure(fig, path)
