"""The reference experiment: Tübingen in the style of Composition VII, The Scream and Starry Night.

``run_part`` is what ``dlc reproduce`` calls; ``dlc style --preset reference`` calls
``run_reference_pairs`` directly.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from dlclassics.backbones import DEFAULT_BACKBONE
from dlclassics.data.registry import dataset_path
from dlclassics.io import atomic_write_json
from dlclassics.style.features import frozen_backbone
from dlclassics.style.presets import REFERENCE_ITERATIONS, REFERENCE_PAIRS, REFERENCE_SIZE
from dlclassics.style.run import StyleRunConfig, run_style_transfer

PROFILES = {  # profile → (image size, Adam steps)
    "tiny": (48, 10),
    "quick": (128, 100),
    "full": (REFERENCE_SIZE, REFERENCE_ITERATIONS),
}


def run_reference_pairs(
    out_dir: str | os.PathLike[str],
    data_root: str | os.PathLike[str] | None = None,
    backbone: str = DEFAULT_BACKBONE,
    weights: str | None = "imagenet",
    size: int | None = None,
    iterations: int = REFERENCE_ITERATIONS,
    optimizer: str = "adam",
    progress: bool = True,
) -> dict[str, Any]:
    """Run the three reference pairs into ``out_dir/<pair name>/`` and write a summary.

    Style pictures are resized to the reference's style size scaled by ``size / 192``. With
    ``squeezenet1_1`` each pair uses the reference's own weights; other backbones use their preset.

    Returns:
        The summary also written to ``out_dir/metrics.json``: ``{"size", "iterations",
        "backbone", "pairs": {name: {"style_first", "style_last", "style_reduction",
        "total_first", "total_last", "content_last", "tv_last", "seconds",
        "iterations_per_second", "image", "panel", "loss_curve"}}}``, file names relative to
        ``out_dir``.
    """
    out = Path(out_dir)
    styles_folder = dataset_path("styles", data_root)
    size = size or REFERENCE_SIZE
    frozen = frozen_backbone(backbone, weights)
    pairs: dict[str, Any] = {}
    for pair in REFERENCE_PAIRS:
        preset = pair.squeezenet if backbone == "squeezenet1_1" else None
        config = StyleRunConfig(
            content=styles_folder / pair.content_file,
            styles=(styles_folder / pair.style_file,),
            out=out / pair.name,
            size=size,
            style_size=max(8, round(pair.style_size * size / REFERENCE_SIZE)),
            backbone=backbone,
            weights=weights,
            content_layer=preset.content_layer if preset else None,
            style_layers=preset.style_layers if preset else None,
            content_weight=preset.content_weight if preset else None,
            style_weights=preset.style_weights if preset else None,
            tv_weight=preset.tv_weight if preset else None,
            iterations=iterations,
            optimizer=optimizer,
            extra={"reference_pair": pair.name},
        )
        metrics = run_style_transfer(config, backbone=frozen, progress=progress)
        first, last = metrics["losses_first"], metrics["losses_last"]
        pairs[pair.name] = {
            "style_first": first["style"],
            "style_last": last["style"],
            "style_reduction": metrics["style_reduction"],
            "total_first": first["total"],
            "total_last": last["total"],
            "content_last": last["content"],
            "tv_last": last["tv"],
            "seconds": metrics["seconds"],
            "iterations_per_second": metrics["iterations_per_second"],
            "image": f"{pair.name}/{metrics['files']['image']}",
            "panel": f"{pair.name}/panel.png",
            "loss_curve": f"{pair.name}/loss.png",
        }
    summary = {
        "size": size,
        "iterations": iterations,
        "backbone": backbone,
        "optimizer": optimizer,
        "pairs": pairs,
    }
    atomic_write_json(out / "metrics.json", summary)
    return summary


def run_part(out_dir: Path, data_root: Path, profile: str = "quick") -> dict[str, Any]:
    """Style transfer for ``dlc reproduce``: the three reference pairs with the default backbone.

    Profiles: tiny: 48 px, 10 Adam steps (seconds); quick: 128 px, 100 Adam steps (139 s measured on the
    shared 2 cores at load 7, less on a quiet machine); full: the reference protocol, 192 px and
    200 Adam steps.

    Returns:
        ``run_reference_pairs``'s summary (``pairs``: per pair the first/last losses, style
        reduction, time and the relative file names ``image``, ``panel``, ``loss_curve``), plus
        the report's ``summary`` (one line), ``tables`` (one row per pair) and ``figures`` (each
        pair's panel and loss curve, paths relative to ``out_dir``).
    """
    if profile not in PROFILES:
        raise ValueError(f"unknown profile {profile!r}; choose from {', '.join(PROFILES)}")
    size, iterations = PROFILES[profile]
    result = run_reference_pairs(
        out_dir, data_root=data_root, size=size, iterations=iterations, progress=False
    )
    pairs = result["pairs"]
    reductions = ", ".join(f"{name} {p['style_reduction']:.0f}x" for name, p in pairs.items())
    result["summary"] = (
        f"Tübingen in three styles, {size} px, {iterations} Adam steps on {result['backbone']} "
        f"features: the style loss fell {reductions}."
    )
    result["tables"] = [
        {
            "title": "Style transfer: loss of the generated image, first and last iteration",
            "columns": [
                "style",
                "style loss first",
                "style loss last",
                "reduction",
                "total last",
                "s",
            ],
            "rows": [
                [
                    name,
                    f"{p['style_first']:.4g}",
                    f"{p['style_last']:.4g}",
                    f"{p['style_reduction']:.1f}x",
                    f"{p['total_last']:.4g}",
                    f"{p['seconds']:.1f}",
                ]
                for name, p in pairs.items()
            ],
        }
    ]
    result["figures"] = [
        figure
        for name, p in pairs.items()
        for figure in (
            {"path": p["panel"], "caption": f"Tübingen | {name} | result"},
            {"path": p["loss_curve"], "caption": f"{name}: loss terms per iteration (log scale)"},
        )
    ]
    return result
