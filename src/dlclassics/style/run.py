"""One complete style-transfer run: read the pictures, optimise, write every output file.

Outputs (all written atomically) go into one folder:

- the generated image (``result.png``, or the file name given with ``-o``),
- ``loss.png``: total, content, style and TV loss per iteration, log scale (one panel per scale
  of a coarse-to-fine run),
- ``panel.png``: content | style(s) | result side by side,
- ``metrics.json``: first and last value of every loss term, wall time, iterations per second,
  the settings used, the full loss history (of the last scale), and per scale its size, tiles,
  losses, time and history (``scales``), the tiling plan (``tiling``) and the result's mean
  Cb/Cr distance to the content in 1/255 units (``colors``).
"""

from __future__ import annotations

import time
from dataclasses import asdict, fields, replace
from pathlib import Path
from typing import Any

import torch

from dlclassics import distributed
from dlclassics.backbones import Backbone
from dlclassics.errors import DlcError
from dlclassics.figures import plot_image_grid, plot_series
from dlclassics.io import atomic_write_json
from dlclassics.outputs import check_output_file, prepare_output_dir
from dlclassics.style.colors import chroma_difference
from dlclassics.style.config import StyleConfig
from dlclassics.style.features import StyleFeatureExtractor, frozen_backbone
from dlclassics.style.images import SAVE_FORMATS, load_pixels, pixels_to_pil, save_pixels
from dlclassics.style.multiscale import ScaleResult, paint, plot_scale_losses
from dlclassics.style.optimize import LossWeights, OptimConfig
from dlclassics.style.presets import LayerPreset, preset_for

RESULT_NAME = "result.png"
# the StyleConfig fields a backbone's preset fills when they are not given
PRESET_FIELDS = tuple(f.name for f in fields(LayerPreset) if f.name != "backbone")
NOT_SETTINGS = ("content", "styles", "out", "extra")  # recorded elsewhere in metrics.json


def output_paths(out: Path) -> tuple[Path, Path]:
    """``out`` → (generated image path, folder for loss.png / panel.png / metrics.json): an
    ``out`` ending in an image suffix (.png, .jpg, …) is the image, anything else a folder."""
    if out.suffix.lower() in SAVE_FORMATS:
        return out, out.parent
    return out / RESULT_NAME, out


def resolve_settings(config: StyleConfig) -> tuple[str, tuple[str, ...], LossWeights, OptimConfig]:
    """Fill the unset fields from the backbone's preset: (content layer, style layers, weights,
    optimiser settings)."""
    unset = [name for name in PRESET_FIELDS if getattr(config, name) is None]
    if unset:
        preset = preset_for(config.backbone)
        if "style_weights" in unset and config.style_layers not in (None, preset.style_layers):
            raise DlcError(
                "--style-layers differ from the preset's: give one --style-weight per layer"
            )
        config = replace(config, **{name: getattr(preset, name) for name in unset})
    if len(config.style_weights) != len(config.style_layers):
        raise DlcError(
            f"{len(config.style_layers)} style layers ({', '.join(config.style_layers)}) but "
            f"{len(config.style_weights)} style weights"
        )
    style = tuple(w * config.style_scale for w in config.style_weights)
    weights = LossWeights(config.content_weight, style, config.tv_weight)
    optim = OptimConfig(
        config.iterations, config.optimizer, config.lr, config.lr_decayed, init=config.init
    )
    return config.content_layer, config.style_layers, weights, optim


def read_pictures(config: StyleConfig) -> tuple[torch.Tensor, list[torch.Tensor], list[float]]:
    """The content (1, 3, H, W) and style (1, 3, H_k, W_k) pixels on ``config.device``, and the
    blend weights; every file is read before the (slower) backbone, so a bad one fails at once."""
    if not config.styles:
        raise DlcError("give at least one style image")
    blend = list(config.blend or [1.0] * len(config.styles))
    if len(blend) != len(config.styles):
        raise DlcError(f"{len(config.styles)} style images but {len(blend)} --style-blend weights")
    content = load_pixels(config.content, config.size).to(config.device)
    side = config.style_size or config.size
    styles = [load_pixels(p, side).to(config.device) for p in config.styles]
    return content, styles, blend


def run_style_transfer(
    config: StyleConfig,
    backbone: Backbone | None = None,
    progress: bool = True,
    prepare: bool = True,
    ctx: distributed.DistContext = distributed.SINGLE_PROCESS,
) -> dict[str, Any]:
    """Run style transfer, write the image, ``loss.png``, ``panel.png`` and ``metrics.json``,
    and return the metrics.

    ``backbone``: the frozen ``config.backbone`` on ``config.device`` when already loaded (runs
    share it); ``prepare``: check (and lock) ``config.out`` once the pictures are read, False
    when the caller prepared a folder above it (``--batch-dir``, the reference pairs); ``ctx``:
    under torchrun the tiles are dealt out across the processes and rank 0 writes the files
    (the other ranks return an empty dict).
    """
    if config.scales:
        config = replace(config, size=config.scales[-1])
    content_layer, style_layers, weights, optim = resolve_settings(config)
    content, styles, blend = read_pictures(config)
    # before the work: a folder is created and locked; for an image path only its folder is
    # checked (it may be any folder, e.g. the user's photos)
    if prepare and ctx.is_main and config.out.suffix.lower() in SAVE_FORMATS:
        check_output_file(config.out)
    elif prepare and ctx.is_main:
        prepare_output_dir(config.out)
    backbone = backbone or frozen_backbone(config.backbone, config.weights, config.device)
    extractor = StyleFeatureExtractor(backbone, content_layer, style_layers)

    start = time.perf_counter()
    announce = print if ctx.is_main else (lambda text: None)
    result, scales, tiling = paint(
        config, extractor, weights, optim, blend, progress and ctx.is_main, ctx, announce
    )
    seconds = time.perf_counter() - start
    if not ctx.is_main:
        return {}

    settings = {
        **{k: v for k, v in asdict(config).items() if k not in NOT_SETTINGS},
        "blend": blend,
        "content_layer": content_layer,
        "style_layers": list(style_layers),
        "loss_weights": asdict(weights),
        "optimizer": asdict(optim),
        **config.extra,
    }
    extra = {"tiling": tiling, "processes": ctx.world_size}
    return write_outputs(config, (content, styles, result), scales, seconds, settings, extra)


def write_outputs(
    config: StyleConfig,
    images: tuple[torch.Tensor, list[torch.Tensor], torch.Tensor],
    scales: list[ScaleResult],
    seconds: float,
    settings: dict[str, Any],
    extra: dict[str, Any],
) -> dict[str, Any]:
    """Write the image, the two figures and ``metrics.json``; returns the metrics. ``images``:
    content (1, 3, H, W), styles [(1, 3, H_k, W_k)], result (1, 3, H, W); ``scales``: one per
    scale, coarse to fine; ``extra``: added to the metrics as is."""
    content, styles, result = images
    history = scales[-1].history
    image_path, folder = output_paths(config.out)
    save_pixels(result, image_path)
    title = f"{config.content.name} in the style of {' + '.join(p.name for p in config.styles)}"
    terms = {term: values for term, values in history.as_dict().items() if term != "seconds"}
    if len(scales) == 1 and scales[0].tiles == 1:
        plot_series(terms, folder / "loss.png", title, ylabel="loss (weighted)")
    else:
        plot_scale_losses(scales, folder / "loss.png", title)
    panels = [content, *styles, result]
    images = [pixels_to_pil(p) for p in panels]
    captions = ["content", *(p.stem for p in config.styles), "result"]
    ratios = [p.shape[-1] / p.shape[-2] for p in panels]  # width / height
    plot_image_grid(images, captions, folder / "panel.png", title, len(panels), width_ratios=ratios)
    saved = (result.clamp(0, 1) * 255).round() / 255  # the result as written, 8 bits
    steps = sum(scale.iterations * scale.tiles for scale in scales)
    metrics = {
        "content": str(config.content),
        "styles": [str(p) for p in config.styles],
        "files": {"image": image_path.name, "loss_curve": "loss.png", "panel": "panel.png"},
        "image_size": list(result.shape[-2:]),  # [H, W]
        "losses_first": {term: values[0] for term, values in terms.items()},
        "losses_last": {term: values[-1] for term, values in terms.items()},
        "style_reduction": history.style[0] / max(history.style[-1], 1e-30),
        "seconds": seconds,
        "iterations_per_second": steps / seconds,  # optimiser steps over all scales and tiles
        "colors": {"chroma_difference": chroma_difference(saved, content.to(saved.device))},
        "scales": [scale.summary() for scale in scales],
        **extra,
        "settings": settings,
        "history": history.as_dict(),
    }
    atomic_write_json(folder / "metrics.json", metrics)
    return metrics
