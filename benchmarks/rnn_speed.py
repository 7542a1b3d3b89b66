"""NumPy RNN/LSTM forward+backward against torch.nn.RNN / torch.nn.LSTM on the CPU.

Same process, same sizes (N=64, T=16, D=256, H=512), float32, the same thread count for NumPy's
BLAS and for PyTorch (one thread, then all cores); each timing is the median of repeated
forward+backward passes after warm-up runs. The NumPy and PyTorch runs alternate, so a change in
machine load hits both alike.
Target: NumPy LSTM forward+backward no slower than 1.25x PyTorch's.

    python benchmarks/rnn_speed.py [--repeats 30] [--threads 1 2] [--out results/rnn_speed.json]

Prints a markdown table and writes the figures as JSON.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import torch
from threadpoolctl import threadpool_info, threadpool_limits
from tqdm import tqdm

from dlclassics.io import atomic_write_json
from dlclassics.numpy_nn import rnn_layers

TARGET_RATIO = 1.25  # NumPy LSTM time / PyTorch LSTM time must not exceed this


@dataclass(frozen=True)
class BenchConfig:
    N: int = 64  # minibatch
    T: int = 16  # time steps
    D: int = 256  # input size
    H: int = 512  # hidden size
    repeats: int = 30  # timed runs per implementation; the median is reported
    warmup: int = 3  # untimed runs first (allocator, BLAS thread pools, caches)
    # Thread counts to time, each for NumPy's BLAS and PyTorch alike: one thread, and all cores.
    threads: tuple[int, ...] = tuple(sorted({1, os.cpu_count() or 1}))
    seed: int = 0


def interleaved_times(
    runs: dict[str, Callable[[], object]], repeats: int, warmup: int, label: str
) -> dict[str, list[float]]:
    """Wall times in seconds of each run, timing the runs in turn ``repeats`` times.

    Every run is first called ``warmup`` times untimed (allocator, thread pools, caches).
    """
    for run in runs.values():
        for _ in range(warmup):
            run()
    times: dict[str, list[float]] = {name: [] for name in runs}
    for _ in tqdm(range(repeats), desc=label, leave=False, disable=None):
        for name, run in runs.items():
            start = time.perf_counter()
            run()
            times[name].append(time.perf_counter() - start)
    return times


NUMPY_LAYERS = {
    "rnn": (rnn_layers.rnn_forward, rnn_layers.rnn_backward),
    "lstm": (rnn_layers.lstm_forward, rnn_layers.lstm_backward),
}


def numpy_step(cell: str, inputs: dict[str, np.ndarray], dh: np.ndarray) -> Callable[[], object]:
    forward, backward = NUMPY_LAYERS[cell]

    def run() -> object:
        _, cache = forward(inputs["x"], inputs["h0"], inputs["Wx"], inputs["Wh"], inputs["b"])
        return backward(dh, cache)

    return run


def torch_step(cell: str, inputs: dict[str, np.ndarray], dh: np.ndarray) -> Callable[[], object]:
    D, H = inputs["x"].shape[2], inputs["h0"].shape[1]
    module = (torch.nn.LSTM if cell == "lstm" else torch.nn.RNN)(D, H, batch_first=True)
    x = torch.from_numpy(inputs["x"]).requires_grad_(True)
    h0 = torch.from_numpy(inputs["h0"][None]).requires_grad_(True)  # (N, H) -> (1, N, H)
    state = (h0, torch.zeros_like(h0)) if cell == "lstm" else h0
    upstream = torch.from_numpy(dh)

    def run() -> object:
        x.grad = h0.grad = None
        module.zero_grad(set_to_none=True)
        out, _ = module(x, state)
        out.backward(upstream)
        return x.grad

    return run


def blas_libraries() -> list[str]:
    """The BLAS/OpenMP libraries loaded in this process, e.g. ``openblas 0.3.31``."""
    return [f"{pool['internal_api']} {pool['version'] or ''}".strip() for pool in threadpool_info()]


def random_inputs(cfg: BenchConfig, gates: int) -> tuple[dict[str, np.ndarray], np.ndarray]:
    rng = np.random.default_rng(cfg.seed)
    scale = cfg.H**-0.5  # a Python float: a NumPy float64 scalar would upcast the weights
    inputs = {
        "x": rng.standard_normal((cfg.N, cfg.T, cfg.D), dtype=np.float32),
        "h0": rng.standard_normal((cfg.N, cfg.H), dtype=np.float32),
        "Wx": scale * rng.standard_normal((cfg.D, gates * cfg.H), dtype=np.float32),
        "Wh": scale * rng.standard_normal((cfg.H, gates * cfg.H), dtype=np.float32),
        "b": np.zeros(gates * cfg.H, dtype=np.float32),
    }
    dh = rng.standard_normal((cfg.N, cfg.T, cfg.H), dtype=np.float32)
    return inputs, dh


def run_benchmark(cfg: BenchConfig) -> dict:
    """Time both cells in both libraries at every thread count; returns the JSON-able result."""
    rows = []
    for threads in cfg.threads:
        torch.set_num_threads(threads)
        for cell, gates in (("lstm", 4), ("rnn", 1)):
            inputs, dh = random_inputs(cfg, gates)
            runs = {"numpy": numpy_step(cell, inputs, dh), "torch": torch_step(cell, inputs, dh)}
            with threadpool_limits(limits=threads, user_api="blas"):
                times = interleaved_times(runs, cfg.repeats, cfg.warmup, f"{cell} x{threads}")
            numpy_s = statistics.median(times["numpy"])
            torch_s = statistics.median(times["torch"])
            rows.append(
                {
                    "cell": cell,
                    "threads": threads,
                    "numpy_ms": 1e3 * numpy_s,
                    "torch_ms": 1e3 * torch_s,
                    "ratio_numpy_over_torch": numpy_s / torch_s,
                    "numpy_min_ms": 1e3 * min(times["numpy"]),
                    "torch_min_ms": 1e3 * min(times["torch"]),
                    "target_met": cell != "lstm" or numpy_s / torch_s <= TARGET_RATIO,
                }
            )
    return {
        "benchmark": "rnn_speed",
        "date_utc": datetime.now(UTC).isoformat(timespec="seconds"),
        "config": asdict(cfg),
        "dtype": "float32",
        "numpy_version": np.__version__,
        "torch_version": torch.__version__,
        "threadpool_libraries": blas_libraries(),
        "torch_blas": "MKL" if torch.backends.mkl.is_available() else "other",
        "torch_mkldnn": torch.backends.mkldnn.is_available(),
        "cpu_count": os.cpu_count(),
        "load_average_1min": os.getloadavg()[0],
        "machine": platform.processor() or platform.machine(),
        "rows": rows,
        "target_lstm_ratio": TARGET_RATIO,
    }


def markdown_table(result: dict) -> str:
    lines = [
        "| cell | threads | NumPy fwd+bwd (ms) | PyTorch fwd+bwd (ms) | NumPy / PyTorch |",
        "|---|---:|---:|---:|---:|",
    ]
    for row in result["rows"]:
        lines.append(
            f"| {row['cell']} | {row['threads']} | {row['numpy_ms']:.1f} | "
            f"{row['torch_ms']:.1f} | {row['ratio_numpy_over_torch']:.2f}x |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=BenchConfig.repeats)
    parser.add_argument(
        "--threads", type=int, nargs="+", default=list(BenchConfig.threads), metavar="N"
    )
    parser.add_argument(
        "--out", type=Path, default=Path(__file__).parent / "results" / "rnn_speed.json"
    )
    args = parser.parse_args()
    result = run_benchmark(BenchConfig(repeats=args.repeats, threads=tuple(args.threads)))
    atomic_write_json(args.out, result)
    cfg = result["config"]
    print(
        f"N={cfg['N']} T={cfg['T']} D={cfg['D']} H={cfg['H']} float32, median of "
        f"{cfg['repeats']} runs, load average {result['load_average_1min']:.1f} "
        f"on {result['cpu_count']} CPUs\n"
    )
    print(markdown_table(result) + "\n")
    for row in result["rows"]:
        if row["cell"] == "lstm":
            verdict = "met" if row["target_met"] else "NOT met"
            print(
                f"LSTM target (NumPy <= {TARGET_RATIO}x PyTorch) at {row['threads']} "
                f"thread(s): {verdict}"
            )
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
