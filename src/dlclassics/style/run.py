"""Style transfer as a Python call: ``train(config)`` runs and writes its files, ``stylize`` returns
the picture and writes nothing.

``train`` writes, atomically, with the run's folder locked against a second run:

- the generated image: ``config.out`` when it has a suffix Pillow writes (.png, .jpg, .tif, .webp
  …), else ``<out>/result.png``;
- the side files, named after the image (``out/starry.png`` → ``out/starry.loss.png``,
  ``out/starry.panel.png``, ``out/starry.metrics.json``), so runs into one folder keep their own;
  in an output folder they are ``loss.png``, ``panel.png`` and ``metrics.json``:
- the loss figure: total, content, style and TV loss per iteration, log scale (one panel per
  scale of a coarse-to-fine run); the panel: content | style(s) | result side by side;
- metrics.json: first and last value of every loss term, wall time, iterations per second, the
  settings used, the full loss history (of the last scale), and per scale its size, tiles,
  losses, time and history (``scales``), the tiling plan (``tiling``) and the result's mean
  Cb/Cr distance to the content in 1/255 units (``colors``).
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any

import torch
from PIL import Image

from dlclassics import distributed
from dlclassics.backbones import Backbone
from dlclassics.errors import DlcError
from dlclassics.figures import plot_image_grid, plot_series
from dlclassics.io import atomic_write_json
from dlclassics.outputs import prepare_output_dir, release_output_dir
from dlclassics.results import Result
from dlclassics.runtime import resolve_device, torch_threads
from dlclassics.style.colors import chroma_difference
from dlclassics.style.config import Config, Picture
from dlclassics.style.features import StyleFeatureExtractor, frozen_backbone
from dlclassics.style.images import (
    check_save_format,
    load_pixels,
    picture_name,
    pixels_to_pil,
    save_format,
    save_pixels,
)
from dlclassics.style.multiscale import ScaleResult, paint, plot_scale_losses
from dlclassics.style.optimize import LOSS_TERMS, LossWeights, OptimConfig
from dlclassics.style.presets import LayerPreset, preset_for

RESULT_NAME = "result.png"
# the Config fields a backbone's preset fills when they are not given
PRESET_FIELDS = tuple(f.name for f in fields(LayerPreset) if f.name != "backbone")
NOT_SETTINGS = ("content", "styles", "out", "extra")  # recorded elsewhere in metrics.json


@dataclass(frozen=True)
class OutputFiles:
    """Where one run's files go: the folder (checked and locked before the work), the image and
    its three side files.

    Example:
        >>> output_files(Path("out/starry.png")).metrics
        PosixPath('out/starry.metrics.json')
    """

    folder: Path
    image: Path
    metrics: Path
    loss_figure: Path
    panel: Path

    def by_role(self) -> dict[str, Path]:
        """The files by role, as ``Result.files`` lists them.

        Example:
            >>> sorted(output_files(Path("out")).by_role())
            ['image', 'loss_figure', 'metrics', 'panel']
        """
        return {
            "image": self.image,
            "loss_figure": self.loss_figure,
            "panel": self.panel,
            "metrics": self.metrics,
        }


def output_files(out: Path) -> OutputFiles:
    """``out`` → its ``OutputFiles``: an ``out`` with a suffix Pillow writes is the image and the
    side files are named after it; anything else is a folder holding result.png and the others.

    Example:
        >>> output_files(Path("out/y.tif")).loss_figure, output_files(Path("run.v2")).image
        (PosixPath('out/y.loss.png'), PosixPath('run.v2/result.png'))
    """
    if save_format(out) is None:
        return OutputFiles(
            folder=out,
            image=out / RESULT_NAME,
            metrics=out / "metrics.json",
            loss_figure=out / "loss.png",
            panel=out / "panel.png",
        )
    return OutputFiles(
        folder=out.parent,
        image=out,
        metrics=out.with_name(f"{out.stem}.metrics.json"),
        loss_figure=out.with_name(f"{out.stem}.loss.png"),
        panel=out.with_name(f"{out.stem}.panel.png"),
    )


@dataclass(frozen=True)
class Settings:
    """A run's settings with the backbone's preset filled in: the layers, the loss weights (style
    weights times ``style_scale``), the optimiser's settings and the style blend weights."""

    content_layer: str
    style_layers: tuple[str, ...]
    weights: LossWeights
    optim: OptimConfig
    blend: tuple[float, ...]


def resolve_settings(config: Config) -> Settings:
    """Fill the unset fields from the backbone's preset; a DlcError for inconsistent options.

    Example:
        >>> resolve_settings(Config(styles=[Path("starry.jpg")])).style_layers
        ('stem', 'block1', 'block3', 'block5')
    """
    unset = [name for name in PRESET_FIELDS if getattr(config, name) is None]
    if unset:
        preset = preset_for(config.backbone)
        if "style_weight" in unset and config.style_layers not in (None, preset.style_layers):
            raise DlcError(
                "--style-layers differ from the preset's: give one --style-weight per layer"
            )
        config = replace(config, **{name: getattr(preset, name) for name in unset})
    if len(config.style_weight) != len(config.style_layers):
        raise DlcError(
            f"{len(config.style_layers)} style layers ({', '.join(config.style_layers)}) but "
            f"{len(config.style_weight)} style weights"
        )
    if not config.styles:
        raise DlcError("give at least one style image")
    blend = config.style_blend or (1.0,) * len(config.styles)
    if len(blend) != len(config.styles):
        raise DlcError(f"{len(config.styles)} style images but {len(blend)} --style-blend weights")
    style = tuple(w * config.style_scale for w in config.style_weight)
    optim = OptimConfig(
        iterations=config.iters,
        optimizer=config.optimizer,
        lr=config.lr,
        lr_decayed=config.lr_decayed,
        init=config.init,
    )
    return Settings(
        content_layer=config.content_layer,
        style_layers=config.style_layers,
        weights=LossWeights(config.content_weight, style, config.tv_weight),
        optim=optim,
        blend=blend,
    )


def settle(config: Config) -> tuple[Config, Settings]:
    """``config`` with its final size (the last of ``scales``) and its device resolved, and its
    ``Settings``; every option is checked here, before any picture is read.

    Example:
        >>> config, settings = settle(Config(styles=[Path("starry.jpg")], scales=[64, 128]))
        >>> config.size, settings.optim.iterations
        (128, 200)
    """
    if config.scales:
        config = replace(config, size=config.scales[-1])
    config = replace(config, device=resolve_device(config.device))
    return config, resolve_settings(config)


@dataclass
class Painting:
    """A painted run: the (1, 3, H, W) picture in [0, 1] (on the CPU), one ``ScaleResult`` per
    scale, the tiling plan, and the painting's wall seconds (the backbone's loading excluded)."""

    picture: torch.Tensor
    scales: list[ScaleResult]
    tiling: dict[str, Any]
    seconds: float


def paint_picture(
    config: Config,
    settings: Settings,
    *,
    backbone: Backbone | None = None,
    progress: bool = True,
    ctx: distributed.DistContext = distributed.SINGLE_PROCESS,
) -> Painting:
    """Paint a settled run (``settle``) with ``config.threads`` CPU threads; see
    ``multiscale.paint``. ``backbone``: the frozen ``config.backbone`` when already loaded
    (runs share it).

    Example:
        >>> painting = paint_picture(*settle(config), progress=False)
        >>> painting.picture.shape[-2:] == painting.scales[-1].image_hw
        True
    """
    with torch_threads(config.threads):
        backbone = backbone or frozen_backbone(config.backbone, config.weights, config.device)
        extractor = StyleFeatureExtractor(
            backbone, settings.content_layer, settings.style_layers, precision=config.precision
        )
        started = time.perf_counter()
        picture, scales, tiling = paint(
            config,
            extractor,
            weights=settings.weights,
            optim=settings.optim,
            blend=settings.blend,
            progress=progress and ctx.is_main,
            ctx=ctx,
            announce=print if ctx.is_main else lambda text: None,
        )
        seconds = time.perf_counter() - started
        return Painting(picture=picture.cpu(), scales=scales, tiling=tiling, seconds=seconds)


def stylize(
    content: Picture,
    style: Picture | list[Picture] | tuple[Picture, ...],
    *more_styles: Picture,
    weights: list[float] | tuple[float, ...] | None = None,
    backbone_weights: str | None = "imagenet",
    progress: bool = False,
    **options: Any,
) -> Image.Image:
    """Paint ``content`` in the style of ``style`` (and ``more_styles``); returns the picture as
    an RGB PIL image and writes nothing.

    Pictures are image paths or PIL images; ``style`` may also be a list of them. Several styles
    blend by ``weights`` (one per style, normalised to sum 1; default equal; ``--style-blend``);
    ``backbone_weights`` is ``--weights`` ("imagenet" or a state_dict file); ``progress`` shows a
    progress bar. Every other ``dlc style`` option is a keyword of the same name (``Config``'s
    fields): ``size``, ``iters``, ``original_colors``, ``scales``, ``style_scale``, ``seed``,
    ``device``, ``threads`` … A bad picture or option is a ``DlcError`` saying what is wrong.

    Example:
        >>> picture = stylize("photo.jpg", "starry.jpg", size=64, iters=5, original_colors=True)
        >>> picture.size  # (width, height), the shorter side ``size``
        (64, 64)
    """
    styles = [*(style if isinstance(style, list | tuple) else [style]), *more_styles]
    config = Config(
        content=content,
        styles=tuple(styles),
        style_blend=weights,
        weights=backbone_weights,
        **options,
    )
    config, settings = settle(config)
    return pixels_to_pil(paint_picture(config, settings, progress=progress).picture)


def train(
    config: Config,
    *,
    backbone: Backbone | None = None,
    progress: bool = True,
    prepare: bool = True,
    ctx: distributed.DistContext = distributed.SINGLE_PROCESS,
) -> Result:
    """Run style transfer and write the image, its loss figure, panel and metrics.json (see the
    module's note for their names); returns a ``Result`` whose ``files`` name them by role
    (``image``, ``loss_figure``, ``panel``, ``metrics``), ``metrics`` holds each loss term's
    first and last value (``style_loss_first`` …), ``style_reduction``, ``seconds``,
    ``iterations_per_second`` and ``chroma_difference``, and ``checkpoint`` is None (no model is
    trained: the pixels are optimised).

    ``backbone``: the frozen ``config.backbone`` when already loaded (runs share it);
    ``prepare``: check and lock the output folder before the work, and give the lock back after
    (False when the caller locked a folder above it: ``--batch-dir``, the reference pairs);
    ``ctx``: under torchrun the tiles are dealt out across the processes and rank 0 writes the
    files (the other ranks return an empty ``Result``).

    Example:
        >>> result = train(Config(content="photo.jpg", styles=["starry.jpg"], out=Path("out/a.png"),
        ...     size=64, iters=5))
        >>> result.files["metrics"], result.checkpoint
        (PosixPath('out/a.metrics.json'), None)
    """
    config, settings = settle(config)
    content = load_pixels(config.content, config.size)
    styles = [load_pixels(p, config.style_size or config.size, "style") for p in config.styles]
    files = output_files(Path(config.out))
    locked = prepare and ctx.is_main
    if locked:  # before the work: every picture is read, now the outputs
        check_outputs(files)
    try:
        painting = paint_picture(config, settings, backbone=backbone, progress=progress, ctx=ctx)
        if not ctx.is_main:
            return Result()
        return write_outputs(
            config,
            settings,
            files=files,
            pictures=(content, styles, painting.picture),
            scales=painting.scales,
            seconds=painting.seconds,
            details={"tiling": painting.tiling, "processes": ctx.world_size},
        )
    finally:
        if locked:
            release_output_dir(files.folder)


def train_launched(config: Config) -> Result:
    """``train`` in each process torchrun launched, the tiles dealt out across them (rank 0
    writes the files and gets the ``Result``; the others an empty one), or in this process alone
    when not launched by torchrun.

    Example:
        >>> train_launched(Config(content="photo.jpg", styles=["starry.jpg"], size=64, iters=5))
        Result(total_loss_first ...)
    """
    try:
        ctx = distributed.init(resolve_device(config.device))
        return train(replace(config, device=ctx.device), ctx=ctx)
    finally:
        distributed.shutdown()


def check_outputs(files: OutputFiles) -> None:
    """Before the work: the image's format can be written, the image path is no folder, and the
    folder is created, writable and locked (``outputs.prepare_output_dir``).

    Example:
        >>> check_outputs(output_files(Path("out/starry.png")))  # fine: out/ is now locked
    """
    check_save_format(files.image)
    if files.image.is_dir():
        raise DlcError(f"{files.image}: is a folder; give a file name")
    prepare_output_dir(files.folder, clean_tree=False)  # may be a user's own folder


def write_outputs(
    config: Config,
    settings: Settings,
    *,
    files: OutputFiles,
    pictures: tuple[torch.Tensor, list[torch.Tensor], torch.Tensor],
    scales: list[ScaleResult],
    seconds: float,
    details: dict[str, Any],
) -> Result:
    """Write the image, the two figures and metrics.json; returns the run's ``Result``.
    ``pictures``: content (1, 3, H, W), styles [(1, 3, H_k, W_k)], result (1, 3, H, W), on the
    CPU; ``scales``: one per scale, coarse to fine; ``details``: added to metrics.json as is.

    Example:
        >>> result = write_outputs(config, settings, files=files, pictures=pictures,
        ...     scales=scales, seconds=1.0, details={})
    """
    content, styles, result = pictures
    history = scales[-1].history
    save_pixels(result, files.image)
    style_names = [picture_name(p, "style") for p in config.styles]
    content_name = Path(picture_name(config.content, "content")).name
    title = f"{content_name} in the style of {' + '.join(Path(n).name for n in style_names)}"
    terms = {term: getattr(history, term) for term in LOSS_TERMS}
    if len(scales) == 1 and scales[0].tiles == 1:
        plot_series(terms, files.loss_figure, title, ylabel="loss (weighted)")
    else:
        plot_scale_losses(scales, files.loss_figure, title)
    panels = [content, *styles, result]
    captions = ["content", *(Path(name).stem for name in style_names), "result"]
    ratios = [p.shape[-1] / p.shape[-2] for p in panels]  # width / height
    plot_image_grid(
        [pixels_to_pil(p) for p in panels],
        captions,
        files.panel,
        title,
        columns=len(panels),
        width_ratios=ratios,
    )
    saved = (result.clamp(0, 1) * 255).round() / 255  # the result as written, 8 bits
    steps = sum(scale.iterations * scale.tiles for scale in scales)
    record = {
        "content": picture_name(config.content, "content"),
        "styles": style_names,
        "files": {role: path.name for role, path in files.by_role().items()},
        "image_size": list(result.shape[-2:]),  # [H, W]
        "losses_first": {term: values[0] for term, values in terms.items()},
        "losses_last": {term: values[-1] for term, values in terms.items()},
        "style_reduction": history.style[0] / max(history.style[-1], 1e-30),
        "seconds": seconds,
        "iterations_per_second": steps / seconds,  # optimiser steps over all scales and tiles
        "colors": {"chroma_difference": chroma_difference(saved, content)},
        "scales": [scale.summary() for scale in scales],
        **details,
        "settings": run_settings(config, settings),
        "history": history.as_dict(),
    }
    atomic_write_json(files.metrics, record)
    return Result(
        metrics={
            **{f"{term}_loss_first": values[0] for term, values in terms.items()},
            **{f"{term}_loss_last": values[-1] for term, values in terms.items()},
            "style_reduction": record["style_reduction"],
            "seconds": seconds,
            "iterations_per_second": record["iterations_per_second"],
            "chroma_difference": record["colors"]["chroma_difference"],
        },
        history=[
            {"iteration": k, **{f"{term}_loss": terms[term][k] for term in LOSS_TERMS}}
            for k in range(len(history.total))
        ],
        out=files.folder,
        files=files.by_role(),
        details={k: v for k, v in record.items() if k not in ("history", "files")},
    )


def run_settings(config: Config, settings: Settings) -> dict[str, Any]:
    """The settings metrics.json records: every option (the preset's values filled in) and the
    resolved layers, weights and optimiser, plus ``config.extra``.

    Example:
        >>> run_settings(*settle(Config(styles=[Path("starry.jpg")])))["content_layer"]
        'block4'
    """
    return {
        **{k: v for k, v in asdict(config).items() if k not in NOT_SETTINGS},
        "blend": list(settings.blend),
        "content_layer": settings.content_layer,
        "style_layers": list(settings.style_layers),
        "loss_weights": asdict(settings.weights),
        "optimizer": asdict(settings.optim),
        **config.extra,
    }
