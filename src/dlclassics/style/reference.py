"""The reference experiment: Tübingen in the style of Composition VII, The Scream and Starry Night,
and Starry Night as artists use it (original colours; coarse to fine).

``dlc style --preset reference`` and the report's part (``style.reproduce``) run these; the
benchmarks import them from here.
"""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path
from typing import Any

from dlclassics.data.registry import dataset_path
from dlclassics.io import atomic_write_json
from dlclassics.outputs import prepare_output_dir
from dlclassics.results import Result
from dlclassics.runtime import resolve_device
from dlclassics.style.config import Config
from dlclassics.style.features import frozen_backbone
from dlclassics.style.presets import REFERENCE_PAIRS, REFERENCE_SIZE, ReferencePair
from dlclassics.style.run import train

EXTRA_PAIR = "starry_night"  # the pair the artists' options are shown on


def pair_config(template: Config, pair: ReferencePair, styles_folder: Path) -> Config:
    """``template`` for one reference pair: its pictures, its folder ``out/<pair name>``, its
    style size scaled by ``size / 192`` and, with ``squeezenet1_1``, the reference's own layers
    and weights for the pair (other backbones keep the template's, i.e. their preset).

    Example:
        >>> pair_config(Config(out=Path("ref"), size=96), REFERENCE_PAIRS[1], Path("styles")).out
        PosixPath('ref/the_scream')
    """
    config = replace(
        template,
        content=styles_folder / pair.content_file,
        styles=(styles_folder / pair.style_file,),
        out=template.out / pair.name,
        style_size=max(8, round(pair.style_size * template.size / REFERENCE_SIZE)),
        extra={"reference_pair": pair.name},
    )
    if template.backbone != "squeezenet1_1":
        return config
    reference = pair.squeezenet
    return replace(
        config,
        content_layer=reference.content_layer,
        content_weight=reference.content_weight,
        style_layers=reference.style_layers,
        style_weight=reference.style_weight,
        tv_weight=reference.tv_weight,
        lr=reference.lr,
        lr_decayed=reference.lr_decayed,
    )


def run_reference_pairs(
    template: Config, data_root: str | os.PathLike[str] | None = None, progress: bool = True
) -> dict[str, Any]:
    """Run the three reference pairs with ``template``'s settings into ``template.out/<pair
    name>/``; returns the summary also written to ``template.out/metrics.json`` (settings, and
    per pair its first and last losses, timing and file names relative to ``template.out``).

    Example:
        >>> summary = run_reference_pairs(Config(out=Path("ref"), size=32, iters=3))
        >>> list(summary["pairs"])
        ['composition_vii', 'the_scream', 'starry_night']
    """
    styles_folder = dataset_path("styles", data_root)
    template = replace(template, device=resolve_device(template.device))
    prepare_output_dir(template.out)
    frozen = frozen_backbone(template.backbone, template.weights, template.device)
    pairs: dict[str, Any] = {}
    for pair in REFERENCE_PAIRS:
        config = pair_config(template, pair, styles_folder)
        result = train(config, backbone=frozen, progress=progress, prepare=False)
        pairs[pair.name] = pair_summary(pair.name, result)
    summary = {
        "size": template.size,
        "iterations": template.iters,
        "backbone": template.backbone,
        "optimizer": template.optimizer,
        "pairs": pairs,
    }
    atomic_write_json(template.out / "metrics.json", summary)
    return summary


def pair_summary(name: str, result: Result) -> dict[str, Any]:
    """One pair's row of the reference summary from its run's ``result`` (files relative to the
    summary's folder, i.e. under ``name/``).

    Example:
        >>> pair_summary("the_scream", result)["image"]
        'the_scream/result.png'
    """
    metrics = result.metrics
    return {
        "style_first": metrics["style_loss_first"],
        "style_last": metrics["style_loss_last"],
        "style_reduction": metrics["style_reduction"],
        "total_first": metrics["total_loss_first"],
        "total_last": metrics["total_loss_last"],
        "content_last": metrics["content_loss_last"],
        "tv_last": metrics["tv_loss_last"],
        "seconds": metrics["seconds"],
        "iterations_per_second": metrics["iterations_per_second"],
        "image": f"{name}/{result.files['image'].name}",
        "panel": f"{name}/{result.files['panel'].name}",
        "loss_curve": f"{name}/{result.files['loss_figure'].name}",
    }


def extra_configs(
    template: Config,
    data_root: str | os.PathLike[str] | None,
    *,
    scales: tuple[int, ...],
    scale_iters: tuple[int, ...],
) -> dict[str, Config]:
    """The settings of the two Starry Night extras, ``original_colors`` (at the template's size)
    and ``coarse_to_fine`` (over ``scales``, ``scale_iters`` steps each), each into
    ``template.out/<name>``.

    Example:
        >>> list(extra_configs(Config(out=Path("ref")), None, scales=(64, 128), scale_iters=(9, 3)))
        ['original_colors', 'coarse_to_fine']
    """
    styles_folder = dataset_path("styles", data_root)
    pair = next(p for p in REFERENCE_PAIRS if p.name == EXTRA_PAIR)
    base = pair_config(template, pair, styles_folder)
    return {
        "original_colors": replace(
            base, out=template.out / "original_colors", original_colors=True
        ),
        "coarse_to_fine": replace(
            base,
            out=template.out / "coarse_to_fine",
            style_size=None,
            scales=scales,
            scale_iters=scale_iters,
        ),
    }


def run_extras(
    template: Config,
    data_root: str | os.PathLike[str] | None,
    *,
    scales: tuple[int, ...],
    scale_iters: tuple[int, ...],
) -> dict[str, Result]:
    """Run the Starry Night extras (``extra_configs``); their ``Result`` by name.

    Example:
        >>> results = run_extras(Config(out=Path("ref"), size=32, iters=2), None,
        ...     scales=(24, 40), scale_iters=(2, 2))
        >>> results["coarse_to_fine"].details["scales"][-1]["size"]
        40
    """
    template = replace(template, device=resolve_device(template.device))
    runs = extra_configs(template, data_root, scales=scales, scale_iters=scale_iters)
    backbone = frozen_backbone(template.backbone, template.weights, template.device)
    return {name: train(config, backbone=backbone, progress=False) for name, config in runs.items()}
