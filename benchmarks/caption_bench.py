"""Captioning benchmark on the generated shapes data (see ``dlclassics.captioning.benchmark``).

    python benchmarks/caption_bench.py                 # everything: overfit, full, engine timing,
                                                       # attention vs LSTM
    python benchmarks/caption_bench.py --stages overfit
    python benchmarks/caption_bench.py --stages attention

Targets: reference protocol (``--overfit 50``, 50 epochs, batch 25, Adam 5e-3, hidden 512,
word vectors 256) final training loss < 0.1 with the training captions reproduced exactly, for
RNN and LSTM; full training (the defaults of ``dlc caption train``: 224-px images, 128-d PCA
features, hidden 256, word vectors 128, 10 epochs): LSTM greedy val BLEU-4 >= 0.5 and above the
RNN's; NumPy vs PyTorch time per epoch; attention (224-px feature maps, the same settings):
greedy val BLEU-4 >= 0.60 and above the plain LSTM on the same maps' pooled features with the
same settings, at most 2x its time per epoch, and how often a shape word's attention peak lies on
the object it names. Writes ``benchmarks/results/caption_bench.json`` (the summary plus the load
average; runs of single stages update their keys) and prints markdown tables; run folders (metrics.json,
figures, checkpoints) go to ``benchmarks/out/caption``, and the figures RESULTS.md shows are
copied to ``benchmarks/results/caption``.

Both engines run single-threaded (OpenBLAS and torch): on the shared 2-core machine, multi-
threaded BLAS was measured 6x slower than one thread when other jobs kept the load near 12, and
one thread gives both engines the same compute.
"""

from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import json  # noqa: E402
import time  # noqa: E402
from dataclasses import replace  # noqa: E402
from pathlib import Path  # noqa: E402

from dlclassics.captioning.benchmark import BenchSettings, format_table, run_benchmark  # noqa: E402
from dlclassics.captioning.shapes import default_shapes_dir  # noqa: E402
from dlclassics.data.root import resolve_data_root  # noqa: E402
from dlclassics.io import atomic_write_bytes, atomic_write_json  # noqa: E402
from dlclassics.runtime import resolve_device  # noqa: E402

RESULTS = Path(__file__).parent / "results" / "caption_bench.json"
FIGURES = Path(__file__).parent / "results" / "caption"  # the figures RESULTS.md shows
OUT = Path(__file__).parent / "out" / "caption"
SHOWN = {  # figure in RESULTS.md -> file in the run folder
    "loss_overfit.png": "loss_overfit.png",
    "loss_full.png": "loss_full.png",
    "overfit_lstm_samples_train.png": "overfit_lstm/samples_train.png",
    "overfit_lstm_samples_val.png": "overfit_lstm/samples_val.png",
    "full_lstm_samples_val.png": "full_lstm/samples_val.png",
    "full_rnn_samples_val.png": "full_rnn/samples_val.png",
    "attention_val.png": "attention_attention/attention_val.png",
    "attention_samples_val.png": "attention_attention/samples_val.png",
    "loss_attention.png": "attention_attention/loss.png",
}


def copy_shown_figures(run_dir: Path) -> None:
    """Copy the figures RESULTS.md shows (those this run produced) into ``FIGURES``."""
    for name, source in SHOWN.items():
        if (run_dir / source).is_file():
            atomic_write_bytes(FIGURES / name, (run_dir / source).read_bytes())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-root", help="data root (default $DLC_DATA or the user cache)")
    parser.add_argument("--shapes-dir", help="shapes folder (default: <data root>/shapes or cache)")
    parser.add_argument(
        "--stages",
        nargs="+",
        default=["overfit", "full", "timing", "attention"],
        choices=["overfit", "full", "timing", "attention"],
    )
    parser.add_argument("--n-train", type=int, help="shapes training images (default 2000)")
    parser.add_argument(
        "--hidden-size", type=int, help="hidden size of the full runs (default 256)"
    )
    parser.add_argument(
        "--wordvec", type=int, help="word vector size of the full runs (default 128)"
    )
    parser.add_argument("--results", default=str(RESULTS), help="JSON file to update")
    parser.add_argument("--out", default=str(OUT))
    parser.add_argument(
        "--device", help="device of the image features (default: $DLC_DEVICE, else cpu)"
    )
    args = parser.parse_args()

    import torch

    torch.set_num_threads(1)
    defaults = BenchSettings(
        device=resolve_device(args.device or os.environ.get("DLC_DEVICE") or "cpu")
    )
    settings = replace(
        defaults,
        overfit=defaults.overfit if "overfit" in args.stages else None,
        full=defaults.full if "full" in args.stages else None,
        timing=defaults.timing if "timing" in args.stages else None,
        attention=defaults.attention if "attention" in args.stages else None,
    )
    if args.n_train:
        settings = replace(settings, shapes=replace(settings.shapes, n_train=args.n_train))
    if settings.full is not None:
        full = replace(
            settings.full,
            hidden_size=args.hidden_size or settings.full.hidden_size,
            wordvec=args.wordvec or settings.full.wordvec,
        )
        settings = replace(settings, full=full)
    shapes_dir = (
        Path(args.shapes_dir)
        if args.shapes_dir
        else default_shapes_dir(resolve_data_root(args.data_root))
    )
    started = time.perf_counter()
    load_before = os.getloadavg()[0]
    summary = run_benchmark(Path(args.out), shapes_dir, settings)
    summary["seconds"] = time.perf_counter() - started
    summary["load_average"] = {"start": load_before, "end": os.getloadavg()[0]}
    summary["date"] = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    results = Path(args.results)
    previous = json.loads(results.read_text()) if results.is_file() else {}
    figures = {**previous.get("figures", {}), **summary["figures"]}
    atomic_write_json(results, {**previous, **summary, "figures": figures})  # stages accumulate
    if results == RESULTS:
        copy_shown_figures(Path(args.out))
    print(format_table(summary))
    print(f"\nwrote {results}; run folders in {args.out}")


if __name__ == "__main__":
    main()
