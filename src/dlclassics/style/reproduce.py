"""The style part of ``dlc reproduce``: the reference experiment (``style.reference``) rendered as
the report's tables and figures.

Beyond the tiny profile the report also shows Starry Night with the content's colours kept
(``--original-colors``) and painted coarse to fine at a larger size (``--scales``), beside the
plain result.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dlclassics.data.images import load_rgb
from dlclassics.figures import plot_image_grid
from dlclassics.report.findings import against_target
from dlclassics.report.sections import Figure, PartResult, Table
from dlclassics.results import Result
from dlclassics.runtime import resolve_device
from dlclassics.style.config import Config
from dlclassics.style.presets import REFERENCE_ITERATIONS, REFERENCE_SIZE
from dlclassics.style.reference import EXTRA_PAIR, run_extras, run_reference_pairs

# profile → (image size, Adam steps)
PROFILES = {"tiny": (48, 10), "quick": (128, 100), "full": (REFERENCE_SIZE, REFERENCE_ITERATIONS)}
# profile → (coarse-to-fine scales, steps per scale) of the Starry Night extras (none when tiny)
COARSE_TO_FINE = {"quick": ((128, 256), (100, 30)), "full": ((192, 384, 768), (200, 60, 20))}


STYLE_REDUCTION_TARGET = 10.0  # the style loss falls at least this much (benchmarks/RESULTS.md)


def run_part(out_dir: Path, data_root: Path, profile: str = "quick") -> PartResult:
    """Style transfer for ``dlc reproduce``: the three reference pairs with the default backbone,
    on the GPU when one is visible (``$DLC_DEVICE`` chooses).

    Profiles: tiny: 48 px, 10 Adam steps (seconds); quick: 128 px, 100 Adam steps (139 s measured
    on the shared 2 cores at load 7, less on a quiet machine); full: the reference protocol,
    192 px and 200 Adam steps. Beyond tiny, ``render_extras`` adds Starry Night with original
    colours and coarse to fine (``COARSE_TO_FINE``: 128 → 256 px quick, 192 → 768 px full).

    Example:
        >>> run_part(Path("report/style"), Path("data"), profile="tiny").tables[0].title
        'Style transfer: loss of the generated image, first and last iteration'
    """
    size, iterations = PROFILES[profile]
    template = Config(out=Path(out_dir), size=size, iters=iterations, device=resolve_device())
    result = run_reference_pairs(template, data_root=data_root, progress=False)
    pairs = result["pairs"]
    reductions = ", ".join(f"{name} {p['style_reduction']:.0f}x" for name, p in pairs.items())
    rows = []
    for name, p in pairs.items():
        first, last, total = (f"{p[k]:.4g}" for k in ("style_first", "style_last", "total_last"))
        reduction = f"{p['style_reduction']:.1f}x"
        rows.append([name, first, last, reduction, total, f"{p['seconds']:.1f}"])
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
        scales, scale_iters = COARSE_TO_FINE[profile]
        extras = render_extras(template, data_root, result, scales=scales, scale_iters=scale_iters)
        result["extras"] = extras
        tables.append(extras.pop("table"))
        figures.insert(0, Figure(Path(extras["figure"]), extras["caption"]))
    weakest = min(pairs, key=lambda name: pairs[name]["style_reduction"])
    reduction = pairs[weakest]["style_reduction"]
    finding = against_target(
        f"style loss reduction, weakest of 3 pairs ({weakest}; {size} px, {iterations} steps)",
        reduction,
        f"≥ {STYLE_REDUCTION_TARGET:g}× (192 px, 200 steps)",
        met=reduction >= STYLE_REDUCTION_TARGET,
        note="" if profile != "tiny" else "tiny settings check the pipeline: 10 steps are too few",
    )
    return PartResult(
        summary=summary, tables=tables, figures=figures, data=result, findings=[finding]
    )


def render_extras(
    template: Config,
    data_root: Path,
    reference: dict[str, Any],
    *,
    scales: tuple[int, ...],
    scale_iters: tuple[int, ...],
) -> dict[str, Any]:
    """Starry Night with ``--original-colors`` at the template's size and coarse to fine over
    ``scales``, into ``template.out/{original_colors,coarse_to_fine}/``; a figure beside the
    plain reference result, and a table.

    Example:
        >>> render_extras(template, data_root, reference, scales=(128, 256),
        ...     scale_iters=(100, 30))["figure"]
        'artist_options.png'
    """
    results = run_extras(template, data_root, scales=scales, scale_iters=scale_iters)
    captions = [
        f"plain, {template.size} px",
        f"--original-colors, {template.size} px",
        f"--scales {' '.join(map(str, scales))}",
    ]
    _plot_extras(template, reference, results, captions=captions)
    sizes = [template.size, template.size, scales[-1]]
    return {
        "figure": "artist_options.png",
        "caption": f"Starry Night {' | '.join(captions)}",
        "table": _extras_table(captions[1:], sizes[1:], results),
        "runs": {name: _extra_run_summary(name, r) for name, r in results.items()},
    }


def _plot_extras(
    template: Config,
    reference: dict[str, Any],
    results: dict[str, Result],
    *,
    captions: list[str],
) -> None:
    """``template.out/artist_options.png``: the plain reference result and the extras' results
    side by side, under ``captions``."""
    paths = [template.out / reference["pairs"][EXTRA_PAIR]["image"]] + [
        r.files["image"] for r in results.values()
    ]
    images = [load_rgb(path) for path in paths]
    title = "Tübingen in the style of Starry Night: plain, original colours, coarse to fine"
    ratios = [image.width / image.height for image in images]
    path = template.out / "artist_options.png"
    plot_image_grid(images, captions, path, title, columns=3, width_ratios=ratios)


def _extras_table(captions: list[str], sizes: list[int], results: dict[str, Result]) -> Table:
    """One row per extra run (its caption and picture size, in ``results``'s order): style loss
    first and last, chrominance difference from the content, seconds."""
    rows = []
    for caption, size, result in zip(captions, sizes, results.values(), strict=True):
        m = result.metrics
        first, last = (f"{m[k]:.4g}" for k in ("style_loss_first", "style_loss_last"))
        chroma = f"{m['chroma_difference']:.2f}"
        rows.append([caption, f"{size} px", first, last, chroma, f"{m['seconds']:.1f}"])
    return Table(
        "Style transfer as artists use it (Starry Night): original colours and coarse to fine",
        ["run", "size", "style loss first (last scale)", "style loss last", "Cb/Cr Δ (1/255)", "s"],
        rows,
        note="Cb/Cr Δ: mean absolute chrominance difference between result and content",
    )


def _extra_run_summary(name: str, result: Result) -> dict[str, Any]:
    """The report's data for the extra run ``name`` from its ``result``."""
    return {
        "image": f"{name}/{result.files['image'].name}",
        "style_first": result.metrics["style_loss_first"],
        "style_last": result.metrics["style_loss_last"],
        "chroma_difference": result.metrics["chroma_difference"],
        "seconds": result.metrics["seconds"],
        "scales": [s["size"] for s in result.details["scales"]],
    }
