"""Style transfer as artists use it (issue 18): original colours, coarse-to-fine, tiles, on the CPU.

    python benchmarks/style_options_bench.py --part colors|coarse|tiles [--data-root DIR]
                                             [--out-dir benchmarks/results/style_options]

Every run is ``dlc style`` in a child process (Tübingen + Starry Night, default backbone and
preset); its peak resident memory is the child's ``ru_maxrss`` (``os.wait4``), its timings and
losses come from its ``metrics.json``.

- ``colors``: 256 px, 200 Adam steps: plain, ``--original-colors`` and ``--match-histogram``.
  Targets: with ``--original-colors`` the mean absolute Cb/Cr difference between the saved result
  and the content (at the content's working resolution, 8-bit PNG) ≤ 1/255, and the style loss
  falls ≥ 10×. Figure ``colors.png``: content | style | plain | original colours | histogram.
- ``coarse``: coarse-to-fine 256 → 512 → 1024 px against a single-scale 1024 px run given the same
  wall time: as many Adam steps as coarse-to-fine's time allows at its measured 1024 px speed,
  so both schedules end at that time; both minimise the same loss at 1024 px (the single run
  gets coarse-to-fine's content weight at that scale) and their final style losses compare. Target: a lower style loss at 1024 px. Figure ``coarse_to_fine.png``: style loss
  against wall time, and both results.
- ``tiles``: a 2048 × 1536 result (``--size 1536``, 384 → 1536 px) with tiles of 512 px, peak
  RSS and total time; then the same picture untiled (``--no-tile``, a few steps): it either fits
  (peak RSS recorded) or is refused with one line before it starts. Figure ``tiles.png``: the
  result with the tile grid, and 1:1 crops across a tile seam.

Writes ``<out-dir>/<part>.json`` (and the figures beside it) and prints a markdown table.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from dlclassics.data.registry import dataset_path
from dlclassics.figures import new_figure
from dlclassics.io import atomic_write_json, save_figure
from dlclassics.style.colors import chroma_difference
from dlclassics.style.images import load_pixels
from dlclassics.style.tiles import tile_boxes

CONTENT, STYLE = "tubingen.jpg", "starry_night.jpg"


def load_average() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def dlc_style(out: Path, styles: Path, *flags: str) -> dict:
    """Run ``dlc style`` in a child process; its metrics.json (or its error) with the child's peak
    RSS (GiB), wall time and the load average before and after."""
    command = [
        sys.executable,
        "-m",
        "dlclassics.cli",
        "style",
        str(styles / CONTENT),
        str(styles / STYLE),
        "-o",
        str(out),
        *flags,
    ]
    print("$", " ".join(command[2:]), flush=True)
    load, started = load_average(), time.perf_counter()
    child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    stdout, stderr = child.communicate()
    wall = time.perf_counter() - started
    record = {
        "command": " ".join(command[3:]),
        "returncode": child.returncode,
        "stdout": stdout.strip().splitlines()[-3:],
        "stderr": stderr.strip().splitlines()[-3:],
        "wall_seconds": wall,
        "load_average_before": load,
        "load_average_after": load_average(),
    }
    if child.returncode == 0:
        record["metrics"] = json.loads((out / "metrics.json").read_text())
    return record


def run_measured(out: Path, styles: Path, *flags: str) -> dict:
    """``dlc_style`` in a fresh wrapper process so that ``RUSAGE_CHILDREN`` there is this run's
    peak RSS alone."""
    code = (
        "import json, resource, sys; sys.path.insert(0, 'benchmarks'); "
        "from style_options_bench import dlc_style; from pathlib import Path; "
        f"r = dlc_style(Path({str(out)!r}), Path({str(styles)!r}), *{list(flags)!r}); "
        "r['peak_rss_gib'] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 2**20; "
        "print('RESULT' + json.dumps(r))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT")]
    if not lines:
        raise SystemExit(f"benchmark child failed:\n{done.stdout}\n{done.stderr}")
    record = json.loads(lines[-1][len("RESULT") :])
    print(
        f"  -> rc {record['returncode']}, {record['wall_seconds']:.1f} s, "
        f"peak RSS {record['peak_rss_gib']:.2f} GiB {record['stderr'][-1:]}",
        flush=True,
    )
    return record


def png_pixels(path: Path) -> torch.Tensor:
    with Image.open(path) as image:
        array = np.asarray(image.convert("RGB"), dtype=np.float32) / 255.0
    return torch.from_numpy(array).permute(2, 0, 1).unsqueeze(0)


def summary(record: dict) -> dict:
    """The figures of one run that the tables need."""
    if record["returncode"] != 0:
        return {"error": record["stderr"][-1:], "peak_rss_gib": record["peak_rss_gib"]}
    m = record["metrics"]
    return {
        "image_size": m["image_size"],
        "style_first": m["losses_first"]["style"],
        "style_last": m["losses_last"]["style"],
        "style_reduction": m["style_reduction"],
        "seconds": m["seconds"],
        "wall_seconds_process": record["wall_seconds"],
        "peak_rss_gib": record["peak_rss_gib"],
        "load_average": [record["load_average_before"], record["load_average_after"]],
    }


# --- colours --------------------------------------------------------------------------------


def part_colors(styles: Path, out: Path, size: int, iters: int) -> dict:
    runs = {
        "plain": [],
        "original_colors": ["--original-colors"],
        "match_histogram": ["--match-histogram"],
    }
    content = load_pixels(styles / CONTENT, size)
    results = {}
    for name, flags in runs.items():
        record = run_measured(
            out / name, styles, "--size", str(size), "--iters", str(iters), *flags
        )
        row = summary(record)
        image = png_pixels(out / name / "result.png")
        row["chroma_difference_255"] = chroma_difference(image, content)
        results[name] = row
    oc = results["original_colors"]
    results["targets"] = {
        "chroma_le_1_255": oc["chroma_difference_255"] <= 1.0,
        "style_reduction_ge_10x": oc["style_reduction"] >= 10.0,
    }
    figure = out / "colors.png"
    panels = [
        (Image.open(styles / CONTENT).convert("RGB"), "content"),
        (Image.open(styles / STYLE).convert("RGB"), "style"),
        *[
            (Image.open(out / name / "result.png").convert("RGB"), caption)
            for name, caption in (
                ("plain", "plain"),
                ("original_colors", "--original-colors"),
                ("match_histogram", "--match-histogram"),
            )
        ],
    ]
    fig = new_figure(3.2 * len(panels), 3.0, layout="constrained")
    for ax, (image, caption) in zip(fig.subplots(1, len(panels)), panels, strict=True):
        ax.imshow(image)
        ax.set_title(caption, fontsize=10)
        ax.axis("off")
    fig.suptitle(f"Tübingen in the style of Starry Night, {size} px, {iters} Adam steps")
    save_figure(fig, figure)
    results["figure"] = str(figure)
    return results


# --- coarse to fine -------------------------------------------------------------------------


def part_coarse(styles: Path, out: Path, scales: list[int], iters: list[int]) -> dict:
    coarse = run_measured(
        out / "coarse",
        styles,
        "--scales",
        *map(str, scales),
        "--scale-iters",
        *map(str, iters),
    )
    m = coarse["metrics"]
    budget = m["seconds"]  # every scale, with the memory probe, pictures and targets
    final = m["scales"][-1]
    rate = final["iterations"] / final["seconds"]  # it/s at the final size, same conditions
    # the single-scale run gets the steps that fit in the same wall time, so that its Adam
    # schedule (rate decay at 90 %) ends at that time too; its final loss is compared
    single_iters = max(10, int(0.95 * budget * rate))
    # the same objective at the final size: coarse-to-fine's content weight there (the preset's,
    # scaled by the first scale's pixel count over the final one's; style.multiscale)
    single = run_measured(
        out / "single",
        styles,
        "--size",
        str(scales[-1]),
        "--iters",
        str(single_iters),
        "--content-weight",
        repr(final["content_weight"]),
    )
    result = {
        "scales": scales,
        "scale_iterations": iters,
        "coarse": {**summary(coarse), "seconds_total": budget, "per_scale": _per_scale(m)},
        "single": {**summary(single), "iterations": single_iters},
        "equal_time_seconds": budget,
        "single_seconds": single["metrics"]["seconds"],
        "single_style_last": single["metrics"]["losses_last"]["style"],
        "coarse_style_last": final["losses_last"]["style"],
    }
    offset = single["metrics"]["seconds"] - single["metrics"]["history"]["seconds"][-1]
    result["coarse_lower"] = result["coarse_style_last"] < result["single_style_last"]
    figure = out / "coarse_to_fine.png"
    plot_coarse(m, single["metrics"], offset, budget, out, figure)
    result["figure"] = str(figure)
    return result


def _per_scale(metrics: dict) -> list[dict]:
    return [
        {
            "size": s["size"],
            "image_size": s["image_size"],
            "iterations": s["iterations"],
            "seconds": s["seconds"],
            "style_first": s["losses_first"]["style"],
            "style_last": s["losses_last"]["style"],
        }
        for s in metrics["scales"]
    ]


def plot_coarse(coarse: dict, single: dict, offset: float, budget: float, out, figure) -> None:
    fig = new_figure(15, 4.6, layout="constrained")
    ax, *image_axes = fig.subplots(1, 3, width_ratios=[1.2, 1, 1])
    elapsed = coarse["seconds"] - sum(scale["seconds"] for scale in coarse["scales"])  # probe
    for scale in coarse["scales"]:
        h = scale["history"]
        start = elapsed + scale["seconds"] - h["seconds"][-1]
        times = [start + s for s in h["seconds"]]
        final = scale is coarse["scales"][-1]
        ax.plot(
            times,
            h["style"],
            color="C1",
            ls="-" if final else ":",
            label=f"coarse-to-fine, {scale['size']} px" + ("" if final else " (coarser scale)"),
        )
        elapsed += scale["seconds"]
    h = single["history"]
    ax.plot([offset + s for s in h["seconds"]], h["style"], color="C0", label="single scale")
    ax.axvline(budget, color="grey", ls="--", lw=1, label="equal wall time")
    ax.set(xlabel="wall time (s)", ylabel="style loss (weighted)", yscale="log")
    ax.set_title(f"style loss at {coarse['scales'][-1]['size']} px", fontsize=10)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    for axis, name, caption in (
        (image_axes[0], "single", "single scale (at equal time: see curve)"),
        (image_axes[1], "coarse", "coarse-to-fine"),
    ):
        with Image.open(out / name / "result.png") as image:
            axis.imshow(image.convert("RGB"))
        axis.set_title(caption, fontsize=10)
        axis.axis("off")
    save_figure(fig, figure)


# --- tiles ----------------------------------------------------------------------------------


def part_tiles(styles: Path, out: Path, size: int, tile: int, scales, iters, untiled: int) -> dict:
    tiled = run_measured(
        out / "tiled",
        styles,
        "--scales",
        *map(str, scales),
        "--scale-iters",
        *map(str, iters),
        "--tile",
        str(tile),
    )
    whole = run_measured(
        out / "untiled", styles, "--size", str(size), "--iters", str(untiled), "--no-tile"
    )
    m = tiled["metrics"]
    result = {
        "tile": tile,
        "tiled": {**summary(tiled), "per_scale": _per_scale(m), "tiling": m.get("tiling")},
        "untiled": summary(whole),
    }
    if whole["returncode"] == 0:
        w = whole["metrics"]
        result["untiled"]["seconds_per_iteration"] = w["seconds"] / untiled
        result["untiled"]["iterations"] = untiled
    figure = out / "tiles.png"
    result["seams"] = plot_tiles(out / "tiled" / "result.png", tile, m["tiling"]["overlap"], figure)
    result["figure"] = str(figure)
    return result


def plot_tiles(path: Path, tile: int, overlap: int, figure: Path) -> list[dict]:
    """The result with its tile grid, and two 1:1 crops centred on seams (one vertical, one
    horizontal); returns where the crops are."""
    with Image.open(path) as image:
        picture = image.convert("RGB")
    width, height = picture.size
    boxes = tile_boxes(height, width, tile=tile, overlap=overlap)
    lefts = sorted({b.left for b in boxes})
    tops = sorted({b.top for b in boxes})
    crop = min(192, width, height)
    seam_x = lefts[1] + (lefts[0] + tile - lefts[1]) // 2  # middle of the first vertical overlap
    seam_y = tops[1] + (tops[0] + tile - tops[1]) // 2
    crops = [
        ("vertical seam", (seam_x - crop // 2, height // 2 - crop // 2)),
        ("horizontal seam", (width // 2 - crop // 2, seam_y - crop // 2)),
        ("seam crossing", (seam_x - crop // 2, seam_y - crop // 2)),
    ]
    crops = [
        (caption, (min(max(0, x), width - crop), min(max(0, y), height - crop)))
        for caption, (x, y) in crops
    ]
    fig = new_figure(16, 4.8, layout="constrained")
    axes = fig.subplots(1, 4, width_ratios=[width / height, 1, 1, 1])
    axes[0].imshow(picture)
    for b in boxes:
        axes[0].add_patch(_rectangle(b.left, b.top, b.width, b.height, "white", 0.6))
    for _, (x, y) in crops:
        axes[0].add_patch(_rectangle(x, y, crop, crop, "red", 1.5))
    axes[0].set_title(f"{width}×{height}, {len(boxes)} tiles of ≤ {tile} px", fontsize=10)
    axes[0].axis("off")
    seams = []
    for ax, (caption, (x, y)) in zip(axes[1:], crops, strict=True):
        ax.imshow(picture.crop((x, y, x + crop, y + crop)), interpolation="nearest")
        ax.axvline(crop // 2 if "horizontal" not in caption else -1, color="red", lw=0.5, ls=":")
        ax.set_title(f"{caption}, 1:1 ({crop} px at x={x}, y={y})", fontsize=9)
        ax.axis("off")
        seams.append({"caption": caption, "x": x, "y": y, "size": crop})
    save_figure(fig, figure)
    return seams


def _rectangle(x, y, w, h, colour, width):
    from matplotlib.patches import Rectangle

    return Rectangle((x, y), w, h, fill=False, edgecolor=colour, linewidth=width)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--part", choices=["colors", "coarse", "tiles"], required=True)
    parser.add_argument("--data-root", default=None)
    parser.add_argument("--out-dir", type=Path, default=Path("benchmarks/results/style_options"))
    parser.add_argument("--size", type=int, default=256, help="colors: working size")
    parser.add_argument("--iters", type=int, default=200, help="colors: Adam steps")
    parser.add_argument("--scales", type=int, nargs="+", default=[256, 512, 1024])
    parser.add_argument("--scale-iters", type=int, nargs="+", default=[60, 20, 30])
    parser.add_argument("--tile-scales", type=int, nargs="+", default=[384, 1536])
    parser.add_argument("--tile-iters", type=int, nargs="+", default=[150, 25])
    parser.add_argument("--tile", type=int, default=512)
    parser.add_argument("--untiled-iters", type=int, default=3)
    args = parser.parse_args()

    styles = dataset_path("styles", args.data_root)
    out = args.out_dir / args.part
    report = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{os.cpu_count()} cores, {os.sysconf('SC_PHYS_PAGES') * 4096 / 2**30:.0f} GiB",
        "pair": f"{CONTENT} + {STYLE}",
    }
    started = time.perf_counter()
    if args.part == "colors":
        report["colors"] = part_colors(styles, out, args.size, args.iters)
    elif args.part == "coarse":
        report["coarse"] = part_coarse(styles, out, args.scales, args.scale_iters)
    else:
        report["tiles"] = part_tiles(
            styles,
            out,
            args.tile_scales[-1],
            args.tile,
            args.tile_scales,
            args.tile_iters,
            args.untiled_iters,
        )
    report["benchmark_seconds"] = time.perf_counter() - started
    path = args.out_dir / f"{args.part}.json"
    atomic_write_json(path, report)
    print(json.dumps(report, indent=1)[:4000])
    print(f"\nwrote {path}")


if __name__ == "__main__":
    main()
