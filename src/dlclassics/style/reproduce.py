"""The reference experiment: Tübingen in the style of Composition VII, The Scream and Starry Night.

``run_part`` is what ``dlc reproduce`` calls; ``dlc style --preset reference`` calls
``run_reference_pairs`` directly. Beyond the tiny profile the report also shows Starry Night with
the content's colours kept (``--original-colors``) and painted coarse to fine at a larger size
(``--scales``), beside the plain result.
"""

from __future__ import annotations

import os
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

from dlclassics.data.images import load_rgb
from dlclassics.data.registry import dataset_path
from dlclassics.figures import plot_image_grid
from dlclassics.io import atomic_write_json
from dlclassics.outputs import prepare_output_dir
from dlclassics.report.sections import Figure, PartResult, Table
from dlclassics.runtime import resolve_device
from dlclassics.style.config import StyleConfig
from dlclassics.style.features import frozen_backbone
from dlclassics.style.presets import (
    REFERENCE_ITERATIONS,
    REFERENCE_PAIRS,
    REFERENCE_SIZE,
    ReferencePair,
)
from dlclassics.style.run import run_style_transfer

# profile → (image size, Adam steps)
PROFILES = {"tiny": (48, 10), "quick": (128, 100), "full": (REFERENCE_SIZE, REFERENCE_ITERATIONS)}
# profile → (coarse-to-fine scales, steps per scale) of the Starry Night extras (none when tiny)
COARSE_TO_FINE = {"quick": ((128, 256), (100, 30)), "full": ((192, 384, 768), (200, 60, 20))}
EXTRA_PAIR = "starry_night"


def pair_config(template: StyleConfig, pair: ReferencePair, styles_folder: Path) -> StyleConfig:
    """``template`` for one reference pair: its pictures, its folder ``out/<pair name>``, its
    style size scaled by ``size / 192`` and, with ``squeezenet1_1``, the reference's own layers
    and weights for the pair (other backbones keep the template's, i.e. their preset)."""
    preset = {}
    if template.backbone == "squeezenet1_1":
        preset = {k: v for k, v in asdict(pair.squeezenet).items() if k != "backbone"}
    return replace(
        template,
        content=styles_folder / pair.content_file,
        styles=(styles_folder / pair.style_file,),
        out=template.out / pair.name,
        style_size=max(8, round(pair.style_size * template.size / REFERENCE_SIZE)),
        extra={"reference_pair": pair.name},
        **preset,
    )


def run_reference_pairs(
    template: StyleConfig, data_root: str | os.PathLike[str] | None = None, progress: bool = True
) -> dict[str, Any]:
    """Run the three reference pairs with ``template``'s settings into ``template.out/<pair
    name>/``; returns the summary also written to ``template.out/metrics.json`` (settings, and
    per pair its first and last losses, timing and file names relative to ``template.out``)."""
    styles_folder = dataset_path("styles", data_root)
    prepare_output_dir(template.out)
    frozen = frozen_backbone(template.backbone, template.weights, template.device)
    pairs: dict[str, Any] = {}
    for pair in REFERENCE_PAIRS:
        config = pair_config(template, pair, styles_folder)
        metrics = run_style_transfer(config, backbone=frozen, progress=progress, prepare=False)
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
        key: getattr(template, key) for key in ("size", "iterations", "backbone", "optimizer")
    }
    summary["pairs"] = pairs
    atomic_write_json(template.out / "metrics.json", summary)
    return summary


def run_part(out_dir: Path, data_root: Path, profile: str = "quick") -> PartResult:
    """Style transfer for ``dlc reproduce``: the three reference pairs with the default backbone,
    on the GPU when one is visible (``$DLC_DEVICE`` chooses).

    Profiles: tiny: 48 px, 10 Adam steps (seconds); quick: 128 px, 100 Adam steps (139 s measured
    on the shared 2 cores at load 7, less on a quiet machine); full: the reference protocol,
    192 px and 200 Adam steps. Beyond tiny, ``run_extras`` adds Starry Night with original
    colours and coarse to fine (``COARSE_TO_FINE``: 128 → 256 px quick, 192 → 768 px full).
    """
    size, iterations = PROFILES[profile]
    template = StyleConfig(
        out=Path(out_dir), size=size, iterations=iterations, device=resolve_device()
    )
    result = run_reference_pairs(template, data_root=data_root, progress=False)
    pairs = result["pairs"]
    reductions = ", ".join(f"{name} {p['style_reduction']:.0f}x" for name, p in pairs.items())
    rows = []
    for name, p in pairs.items():
        first, last, total = (f"{p[k]:.4g}" for k in ("style_first", "style_last", "total_last"))
        reduction, seconds = f"{p['style_reduction']:.1f}x", f"{p['seconds']:.1f}"
        rows.append([name, first, last, reduction, total, seconds])
    columns = ["style", "style loss first", "style loss last", "reduction", "total last", "s"]
    title = "Style transfer: loss of the generated image, first and last iteration"
    table = Table(title, columns, rows)
    figures = [
        figure
        for name, p in pairs.items()
        for figure in (
            Figure(Path(p["panel"]), f"Tübingen | {name} | result"),
            Figure(Path(p["loss_curve"]), f"{name}: loss terms per iteration (log scale)"),
        )
    ]
    summary = (
        f"Tübingen in three styles, {size} px, {iterations} Adam steps on {result['backbone']} "
        f"features: the style loss fell {reductions}."
    )
    tables = [table]
    if profile in COARSE_TO_FINE:
        extras = run_extras(template, data_root, result, *COARSE_TO_FINE[profile])
        result["extras"] = extras
        tables.append(extras.pop("table"))
        figures.insert(0, Figure(Path(extras["figure"]), extras["caption"]))
    return PartResult(summary=summary, tables=tables, figures=figures, data=result)


def run_extras(
    template: StyleConfig,
    data_root: Path,
    reference: dict[str, Any],
    scales: tuple[int, ...],
    scale_iterations: tuple[int, ...],
) -> dict[str, Any]:
    """Starry Night with ``--original-colors`` at the template's size and coarse to fine over
    ``scales``, into ``template.out/{original_colors,coarse_to_fine}/``; a figure beside the
    plain reference result, and a table."""
    runs = _extra_configs(template, data_root, scales, scale_iterations)
    backbone = frozen_backbone(template.backbone, template.weights, template.device)
    metrics = {
        name: run_style_transfer(config, backbone=backbone, progress=False)
        for name, config in runs.items()
    }
    captions = [
        f"plain, {template.size} px",
        f"--original-colors, {template.size} px",
        f"--scales {' '.join(map(str, scales))}",
    ]
    _plot_extras(template, reference, metrics, captions)
    sizes = [template.size, template.size, scales[-1]]
    return {
        "figure": "artist_options.png",
        "caption": f"Starry Night {' | '.join(captions)}",
        "table": _extras_table(captions[1:], sizes[1:], metrics),
        "runs": {name: _extra_run_summary(name, m) for name, m in metrics.items()},
    }


def _extra_configs(
    template: StyleConfig,
    data_root: Path,
    scales: tuple[int, ...],
    scale_iterations: tuple[int, ...],
) -> dict[str, StyleConfig]:
    """The settings of the two Starry Night extras, ``original_colors`` and ``coarse_to_fine``
    (over ``scales``, ``scale_iterations`` steps each), each into ``template.out/<name>``."""
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
            scale_iterations=scale_iterations,
        ),
    }


def _plot_extras(
    template: StyleConfig,
    reference: dict[str, Any],
    metrics: dict[str, dict[str, Any]],
    captions: list[str],
) -> None:
    """``template.out/artist_options.png``: the plain reference result and the extras' results
    side by side, under ``captions``."""
    paths = [template.out / reference["pairs"][EXTRA_PAIR]["image"]] + [
        template.out / name / m["files"]["image"] for name, m in metrics.items()
    ]
    images = [load_rgb(path) for path in paths]
    title = "Tübingen in the style of Starry Night: plain, original colours, coarse to fine"
    ratios = [image.width / image.height for image in images]
    path = template.out / "artist_options.png"
    plot_image_grid(images, captions, path, title, columns=3, width_ratios=ratios)


def _extras_table(
    captions: list[str], sizes: list[int], metrics: dict[str, dict[str, Any]]
) -> Table:
    """One row per extra run (its caption and picture size, in ``metrics``'s order): style loss
    first and last, chrominance difference from the content, seconds."""
    rows = []
    for caption, size, m in zip(captions, sizes, metrics.values(), strict=True):
        first, last = (f"{m[k]['style']:.4g}" for k in ("losses_first", "losses_last"))
        chroma = f"{m['colors']['chroma_difference']:.2f}"
        rows.append([caption, f"{size} px", first, last, chroma, f"{m['seconds']:.1f}"])
    return Table(
        "Style transfer as artists use it (Starry Night): original colours and coarse to fine",
        ["run", "size", "style loss first (last scale)", "style loss last", "Cb/Cr Δ (1/255)", "s"],
        rows,
        note="Cb/Cr Δ: mean absolute chrominance difference between result and content",
    )


def _extra_run_summary(name: str, m: dict[str, Any]) -> dict[str, Any]:
    """The report's data for the extra run ``name`` from its metrics ``m``."""
    return {
        "image": f"{name}/{m['files']['image']}",
        "style_first": m["losses_first"]["style"],
        "style_last": m["losses_last"]["style"],
        "chroma_difference": m["colors"]["chroma_difference"],
        "seconds": m["seconds"],
        "scales": [s["size"] for s in m["scales"]],
    }
