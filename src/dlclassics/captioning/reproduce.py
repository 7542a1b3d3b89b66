"""Part 4 of ``dlc reproduce``: the captioning benchmark of ``captioning.benchmark`` on the
shapes data, rendered as the report's tables, loss curves, sample grids and attention maps."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from dlclassics.captioning.benchmark import (
    format_table,
    profile_settings,
    run_benchmark,
    summary_tables,
)
from dlclassics.captioning.shapes import default_shapes_dir
from dlclassics.io import atomic_write_text
from dlclassics.report.sections import Figure, PartResult
from dlclassics.runtime import resolve_device


def run_part(out_dir: Path, data_root: Path, profile: str) -> PartResult:
    """Run the captioning experiment into ``out_dir``.

    tiny: 24/8/8 shapes images of 64 px in ``out_dir`` and an 8-caption overfit with a tiny
    model (seconds; tests). quick: 120/40/40 images (in ``<shapes dir>_quick``) and the reference
    overfit protocol for the RNN and the LSTM, and a small attention-vs-LSTM run on 128-px maps
    (a few minutes on 2 cores, mostly image features). full: ``BenchSettings()``. Image features are computed on the GPU when one is
    visible (``$DLC_DEVICE`` chooses). Returns the summary line, the tables, the loss curves and
    sample grids, and as ``data`` the benchmark summary (``run_benchmark``) with ``table`` (also
    in ``table.md``) and ``images`` (figure files by run, relative to ``out_dir``).
    """
    out_dir = Path(out_dir)
    settings, shapes_dir = profile_settings(profile, default_shapes_dir(Path(data_root)), out_dir)
    settings = replace(settings, resume=True, device=resolve_device())  # an interrupted run resumes
    summary = run_benchmark(out_dir, shapes_dir, settings)
    table = format_table(summary)
    atomic_write_text(out_dir / "table.md", table + "\n")
    images = dict(summary["figures"])  # the loss curves, then each run's sample grids
    figures = [
        Figure(Path(p), f"training loss, {n.removeprefix('loss_')} runs") for n, p in images.items()
    ]
    for stage in ("overfit", "full"):
        for cell, row in summary.get(stage, {}).items():
            images[f"{stage}_{cell}"] = row["figures"]
            for split in ("train", "val"):
                caption = f"{stage}_{cell}: generated vs true, {split}"
                figures.append(Figure(Path(row["figures"][f"samples_{split}"]), caption))
    if "attention" in summary:
        for cell, row in summary["attention"]["runs"].items():
            images[f"attention_{cell}"] = row["figures"]
        attention_val = summary["attention"]["runs"]["attention"]["figures"]["attention_val"]
        caption = "attention LSTM, val images: each generated word's attention map over the image"
        figures.append(Figure(Path(attention_val), caption))
    data = summary["data"]
    text = f"Generated shapes data: {data['images']['train']} training images, "
    text += f"vocabulary {data['vocab_size']}, {data['feature_dim']}-d image features."
    record = {k: v for k, v in summary.items() if k != "figures"}
    record |= {"table": table, "images": images}
    return PartResult(text, summary_tables(summary), figures, data=record)
