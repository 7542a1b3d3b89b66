"""Part 4 of ``dlc reproduce``: image captioning on the generated shapes data."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dlclassics.captioning.benchmark import BenchSettings, format_table, run_benchmark
from dlclassics.captioning.config import ShapesConfig
from dlclassics.captioning.loaders import default_shapes_dir
from dlclassics.io import atomic_write_text

QUICK_SHAPES = ShapesConfig(n_train=120, n_val=40, n_test=40)


def run_part(out_dir: Path, data_root: Path, quick: bool) -> dict[str, Any]:
    """Run the captioning experiment; files go into ``out_dir``.

    quick: a small shapes set (120/40/40 images, in ``<shapes dir>_quick``) and the reference's
    overfit demo (50 captions, 50 epochs, batch 25, Adam 5e-3, hidden 512, word vectors 256) for
    the RNN and the LSTM — about two minutes on 2 cores, most of it image features.
    full: the benchmark settings (``captioning.benchmark``): 2000/400/400 shapes images, the
    overfit demo, full training of both cells scored greedy and with beam 3, and one epoch of
    each engine per cell for the NumPy vs PyTorch time.

    Returns:
        ``data``: data set description (folder, image and caption counts, vocabulary size);
        ``overfit`` / ``full``: per cell, ``final_loss``, ``last_epoch_mean_loss``,
        ``mean_epoch_seconds`` and ``evaluation`` (split → decoding → BLEU-1…4, CIDEr,
        unigram BLEU, exact match, images) — ``full`` only in full mode;
        ``engine_seconds``: per cell, seconds per epoch of "numpy" and "torch" (full mode);
        ``table``: the results as markdown (also written to ``table.md``);
        ``images``: figure files relative to ``out_dir``: ``loss_overfit``/``loss_full`` and per
        run (``overfit_rnn``, ``full_lstm``, ...) its ``loss``, ``samples_train`` and
        ``samples_val``.
    """
    shapes_dir = default_shapes_dir(Path(data_root))
    if quick:
        settings = BenchSettings(shapes=QUICK_SHAPES, full=None, timing=None)
        shapes_dir = shapes_dir.with_name(shapes_dir.name + "_quick")
    else:
        settings = BenchSettings()
    summary = run_benchmark(Path(out_dir), shapes_dir, settings)
    table = format_table(summary)
    atomic_write_text(Path(out_dir) / "table.md", table + "\n")
    images = dict(summary["figures"])
    for stage in ("overfit", "full"):
        for cell, row in summary.get(stage, {}).items():
            images[f"{stage}_{cell}"] = row["figures"]
    return {
        **{k: v for k, v in summary.items() if k != "figures"},
        "table": table,
        "images": images,
    }
