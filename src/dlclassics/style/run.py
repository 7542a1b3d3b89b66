"""One complete style-transfer run: read the pictures, optimise, write every output file.

Outputs (all written atomically) go into one folder:

- the generated image (``result.png``, or the file name given with ``-o``),
- ``loss.png``: total, content, style and TV loss per iteration, log scale,
- ``panel.png``: content | style(s) | result side by side,
- ``metrics.json``: first and last value of every loss term, wall time, iterations per second,
  the settings used, and the full loss history.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from dlclassics.backbones import DEFAULT_BACKBONE, Backbone
from dlclassics.errors import DlcError
from dlclassics.io import atomic_write_json
from dlclassics.style.features import StyleFeatureExtractor, frozen_backbone
from dlclassics.style.images import SAVE_FORMATS, load_pixels, save_pixels
from dlclassics.style.optimize import LossWeights, OptimConfig, optimise_pixels
from dlclassics.style.plots import plot_loss_history, save_panel
from dlclassics.style.presets import preset_for

RESULT_NAME = "result.png"


@dataclass(frozen=True)
class StyleRunConfig:
    """Everything a run needs; ``None`` fields take the backbone preset's value.

    Attributes:
        content: the content photo.
        styles: one or more style pictures.
        out: output folder, or an image file path (its folder then holds the other outputs).
        size: shorter side of the generated image in pixels.
        style_size: shorter side the style pictures are resized to (default: ``size``).
        blend: one weight per style picture (normalised to sum 1; default: equal).
        backbone: registry name of the feature network.
        weights: "imagenet", a local state_dict path, or None (random; tests only).
        content_layer, style_layers: layer names (default: the preset's).
        content_weight, style_weights, tv_weight: loss weights (default: the preset's).
        style_scale: multiplies every style weight (a quick "more / less style" knob).
        iterations, optimizer, init, lr, lr_decayed: see ``OptimConfig``.
        seed: seeds the noise initialisation.
    """

    content: Path
    styles: tuple[Path, ...]
    out: Path
    size: int = 256
    style_size: int | None = None
    blend: tuple[float, ...] | None = None
    backbone: str = DEFAULT_BACKBONE
    weights: str | None = "imagenet"
    content_layer: str | None = None
    style_layers: tuple[str, ...] | None = None
    content_weight: float | None = None
    style_weights: tuple[float, ...] | None = None
    tv_weight: float | None = None
    style_scale: float = 1.0
    iterations: int = 200
    optimizer: str = "adam"
    init: str = "content"
    lr: float | None = None
    lr_decayed: float | None = None
    seed: int = 0
    extra: dict[str, Any] = field(default_factory=dict)  # recorded in metrics.json as is


def output_paths(out: Path) -> tuple[Path, Path]:
    """``out`` → (generated image path, folder for loss.png / panel.png / metrics.json).

    An ``out`` ending in an image suffix (.png, .jpg, …) is the image; anything else is a folder.
    """
    if out.suffix.lower() in SAVE_FORMATS:
        return out, out.parent
    return out / RESULT_NAME, out


def resolve_settings(
    config: StyleRunConfig,
) -> tuple[str, tuple[str, ...], LossWeights, OptimConfig]:
    """Fill the unset fields from the preset: (content layer, style layers, weights, optimiser)."""
    explicit = (
        config.content_layer,
        config.style_layers,
        config.content_weight,
        config.style_weights,
        config.tv_weight,
        config.lr,
        config.lr_decayed,
    )
    preset = preset_for(config.backbone) if None in explicit else None

    def pick(value: Any, preset_field: str) -> Any:
        return value if value is not None else getattr(preset, preset_field)

    style_layers = tuple(pick(config.style_layers, "style_layers"))
    if config.style_weights is None and style_layers != preset.style_layers:
        raise DlcError("--style-layers differ from the preset's: give one --style-weight per layer")
    style_weights = tuple(pick(config.style_weights, "style_weights"))
    if len(style_weights) != len(style_layers):
        raise DlcError(
            f"{len(style_layers)} style layers ({', '.join(style_layers)}) but "
            f"{len(style_weights)} style weights"
        )
    weights = LossWeights(
        content=pick(config.content_weight, "content_weight"),
        style=tuple(w * config.style_scale for w in style_weights),
        tv=pick(config.tv_weight, "tv_weight"),
    )
    optim = OptimConfig(
        iterations=config.iterations,
        optimizer=config.optimizer,
        lr=pick(config.lr, "lr"),
        lr_decayed=pick(config.lr_decayed, "lr_decayed"),
        init=config.init,
    )
    return pick(config.content_layer, "content_layer"), style_layers, weights, optim


def run_style_transfer(
    config: StyleRunConfig, backbone: Backbone | None = None, progress: bool = True
) -> dict[str, Any]:
    """Run style transfer and write the image, ``loss.png``, ``panel.png`` and ``metrics.json``.

    Args:
        config: the run's settings.
        backbone: an already loaded frozen backbone of ``config.backbone`` (saves reloading it
            across runs); loaded here when None.
        progress: show the progress bar.

    Returns:
        The metrics written to ``metrics.json``.
    """
    if config.iterations < 1:
        raise DlcError(f"--iters must be at least 1, got {config.iterations}")
    if not config.styles:
        raise DlcError("give at least one style image")
    blend = config.blend or tuple(1.0 for _ in config.styles)
    if len(blend) != len(config.styles):
        raise DlcError(f"{len(config.styles)} style images but {len(blend)} --style-blend weights")
    image_path, folder = output_paths(config.out)
    content_layer, style_layers, weights, optim = resolve_settings(config)

    # read every picture before the (slower) backbone, so a bad file fails at once
    content = load_pixels(config.content, config.size)
    styles = [load_pixels(p, config.style_size or config.size) for p in config.styles]
    backbone = backbone or frozen_backbone(config.backbone, config.weights)
    extractor = StyleFeatureExtractor(backbone, content_layer, style_layers)

    start = time.perf_counter()
    style_targets = extractor.style_targets(styles, blend)
    result, history = optimise_pixels(
        extractor, content, style_targets, weights, optim, seed=config.seed, progress=progress
    )
    seconds = time.perf_counter() - start

    save_pixels(result, image_path)
    title = f"{config.content.name} in the style of {' + '.join(p.name for p in config.styles)}"
    plot_loss_history(history, folder / "loss.png", title)
    save_panel(content, styles, result, folder / "panel.png", [p.stem for p in config.styles])
    metrics = {
        "content": str(config.content),
        "styles": [str(p) for p in config.styles],
        "files": {
            "image": _relative(image_path, folder),
            "loss_curve": "loss.png",
            "panel": "panel.png",
        },
        "image_size": list(result.shape[-2:]),  # [H, W]
        "losses_first": {
            term: getattr(history, term)[0] for term in ("total", "content", "style", "tv")
        },
        "losses_last": {
            term: getattr(history, term)[-1] for term in ("total", "content", "style", "tv")
        },
        "style_reduction": history.style[0] / max(history.style[-1], 1e-30),
        "seconds": seconds,
        "iterations_per_second": optim.iterations / seconds,
        "settings": {
            **{
                k: v
                for k, v in asdict(config).items()
                if k not in ("content", "styles", "out", "extra")
            },
            "blend": list(blend),
            "content_layer": content_layer,
            "style_layers": list(style_layers),
            "loss_weights": asdict(weights),
            "optimizer": asdict(optim),
            **config.extra,
        },
        "history": history.as_dict(),
    }
    atomic_write_json(folder / "metrics.json", metrics)
    return metrics


def _relative(path: Path, folder: Path) -> str:
    try:
        return str(path.relative_to(folder))
    except ValueError:
        return str(path)
