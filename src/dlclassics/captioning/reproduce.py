"""Part 4 of ``dlc reproduce``: the captioning benchmark of ``captioning.benchmark`` on the
shapes data, rendered as the report's tables, loss curves, sample grids and attention maps."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np

from dlclassics.captioning.benchmark import (
    ATTENTION_CELLS,
    BenchSettings,
    format_table,
    pooled_features,
    profile_settings,
    run_benchmark,
    summary_tables,
)
from dlclassics.captioning.metrics import corpus_bleu, image_statistics, scores_from_sums
from dlclassics.captioning.run import CHECKPOINT_NAME, load
from dlclassics.captioning.shapes import default_shapes_dir
from dlclassics.io import atomic_write_text
from dlclassics.report.findings import benchmark_record, paired_metric
from dlclassics.report.sections import Figure, Finding, PartResult
from dlclassics.runtime import resolve_device
from dlclassics.stats import BETTER


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
    findings = [attention_finding(out_dir, shapes_dir, settings, profile)]
    return PartResult(text, summary_tables(summary), figures, data=record, findings=findings)


def attention_finding(
    out_dir: Path, shapes_dir: Path, settings: BenchSettings, profile: str
) -> Finding:
    """The attention LSTM's greedy val BLEU-4 against the plain LSTM's (same images, data and
    settings), with bootstrap intervals over the val images (their captions regenerated from
    the two checkpoints); where attention does not win below the full settings, the finding
    says so and quotes the full settings' figures (``full_settings_note``)."""
    val = pooled_features(shapes_dir, settings.attention, settings.device).splits["val"]
    captions = {
        cell: load(out_dir / f"attention_{cell}" / CHECKPOINT_NAME).caption(val.images, beam=1)
        for cell in ATTENTION_CELLS
    }

    def bleu4(cell: str) -> Callable[[np.ndarray], float]:
        """Corpus BLEU-4 of ``cell``'s captions of the val images at the given indices: of all
        of them ``corpus_bleu``'s figure, of a resample the sum of the images' n-gram counts
        (``image_statistics``, counted once), not a re-tokenisation."""
        statistics = image_statistics(val.references, captions[cell])
        value, everything = (
            corpus_bleu(val.references, captions[cell])[3],
            np.arange(val.num_images),
        )

        def metric(items: np.ndarray) -> float:
            if np.array_equal(items, everything):
                return value
            return float(scores_from_sums(statistics[items].sum(axis=0), len(items))[3])

        return metric

    finding = paired_metric(
        "attention LSTM: val BLEU-4, greedy",
        bleu4("attention"),
        bleu4("lstm"),
        val.num_images,
        "the plain LSTM (same data and settings)",
    )
    if profile == "full" or finding.verdict == BETTER:
        return finding
    return replace(finding, note=full_settings_note(finding.verdict))


def full_settings_note(verdict: str) -> str:
    """The caveat of a run whose attention LSTM does not beat the plain LSTM: the advantage
    holds at the full settings, with their figures from ``benchmarks/results`` (or a line
    saying they are not available, in an installation without the source's benchmarks/)."""
    claim = (
        f"At these settings the attention LSTM does not beat the plain LSTM ({verdict}); "
        "the advantage the README quotes holds at the full settings"
    )
    bench = benchmark_record("caption_bench.json")
    if bench is None:
        return f"{claim}, whose figures are not available here (benchmarks/ ships with the source)."
    greedy = {
        cell: run["evaluation"]["val"]["greedy"]["BLEU-4"]
        for cell, run in bench["attention"]["runs"].items()
    }
    return (
        f"{claim}: val BLEU-4 (greedy) {greedy['attention']:.3f} vs {greedy['lstm']:.3f} with "
        f"{bench['data']['images']['train']} training scenes ({bench['date']}, "
        "benchmarks/results/caption_bench.json; full settings, no interval recorded)."
    )
