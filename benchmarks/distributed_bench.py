"""Throughput of 1 and 2 processes under torchrun (gloo on CPU) on this machine.

    python benchmarks/distributed_bench.py                      # both workloads, 1 and 2 processes
    python benchmarks/distributed_bench.py --processes 1 2 4    # more process counts
    python benchmarks/distributed_bench.py --train-limit 4000 --epochs 2 --photos 4  # quicker

Workloads, each launched as ``python -m torch.distributed.run --nproc_per_node=K -m dlclassics.cli``:

- ``sentiment``: ``dlc sentiment train --model glove-lstm`` on a seeded random ``--train-limit`` Yelp
  training sentences (global batch 64, one thread per process); throughput = training
  sentences / mean epoch seconds (the epoch includes the sharded dev evaluation).
- ``transfer``: ``dlc transfer --mode freeze --views 1 --epochs 1`` on hymenoptera with a fresh
  feature cache; throughput = images through EfficientNet-Lite0 (train + val centre and mirror
  crops) / seconds spent computing the cache, which the ranks share out and gather.
- ``style``: ``dlc style --batch-dir`` over ``--photos`` copies of the styles data set's content
  photos at 128 px, 30 Adam steps each; throughput = photos / seconds of the slowest rank.

Scaling efficiency = throughput(K) / (K × throughput(1)). Writes
``benchmarks/results/distributed_bench.json`` and prints a markdown table. On a shared machine
the figures are noisy: the JSON records the core count and the load average before each run.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from PIL import Image

from dlclassics.data.registry import dataset_path
from dlclassics.io import atomic_write_json

RESULTS = Path(__file__).parent / "results" / "distributed_bench.json"
STYLE_PHOTOS = ("tubingen", "the_scream", "composition_vii")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def torchrun(processes: int, args: list[str]) -> float:
    """Run ``dlc ARGS`` in ``processes`` processes; return the wall seconds of the whole job."""
    launcher = [sys.executable, "-m", "torch.distributed.run", f"--nproc_per_node={processes}"]
    rendezvous = ["--master_addr=127.0.0.1", f"--master_port={free_port()}"]
    command = [*launcher, *rendezvous, "-m", "dlclassics.cli", *args]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    started = time.perf_counter()
    job = subprocess.run(command, capture_output=True, text=True, env=env)
    if job.returncode != 0:
        sys.exit(f"{' '.join(args[:2])} with {processes} processes failed:\n{job.stderr[-3000:]}")
    return time.perf_counter() - started


def sentiment(processes: int, work: Path, data_root: Path, train_limit: int, epochs: int) -> dict:
    out = work / f"sentiment_{processes}"
    args = [
        "sentiment",
        "train",
        "--model=glove-lstm",
        f"--data={dataset_path('yelp', data_root)}",
        f"--out={out}",
        f"--train-limit={train_limit}",
        f"--epochs={epochs}",
        "--batch-size=64",
        f"--patience={epochs}",
        "--threads=1",
    ]
    wall = torchrun(processes, args)
    metrics = json.loads((out / "metrics.json").read_text())
    epoch_seconds = metrics["seconds"]["per_epoch"]
    mean_epoch = sum(epoch_seconds) / len(epoch_seconds)
    return {
        "throughput": metrics["sentences"]["train"] / mean_epoch,
        "unit": "sentences/s",
        "epoch_seconds": epoch_seconds,
        "dev_accuracy": metrics["accuracy"]["dev"],
        "job_seconds": wall,
    }


def transfer(processes: int, work: Path, data_root: Path) -> dict:
    out = work / f"transfer_{processes}"
    args = [
        "transfer",
        "train",
        f"--data={dataset_path('hymenoptera', data_root)}",
        f"--out={out}",
        "--mode=freeze",
        "--views=1",
        "--epochs=1",
    ]
    wall = torchrun(processes, args)
    metrics = json.loads((out / "freeze" / "metrics.json").read_text())
    cache = metrics["feature_cache"]
    images = cache["train_views"] * metrics["num_train"] + cache["val_views"] * metrics["num_val"]
    return {
        "throughput": images / cache["compute_seconds"],
        "unit": "images/s",
        "images": images,
        "cache_seconds": cache["compute_seconds"],
        "job_seconds": wall,
    }


def style(processes: int, work: Path, data_root: Path, photos: int) -> dict:
    folder = work / "photos"
    if not folder.exists():
        folder.mkdir()
        styles = dataset_path("styles", data_root)
        for i in range(photos):
            name = STYLE_PHOTOS[i % len(STYLE_PHOTOS)]
            with Image.open(styles / f"{name}.jpg") as image:
                image.convert("RGB").save(folder / f"{i:02d}_{name}.png")
    out = work / f"style_{processes}"
    styles = dataset_path("styles", data_root)
    args = [
        "style",
        f"--batch-dir={folder}",
        str(styles / "starry_night.jpg"),
        f"--out={out}",
        "--size=128",
        "--iters=30",
    ]
    wall = torchrun(processes, args)
    summary = json.loads((out / "metrics.json").read_text())
    return {
        "throughput": summary["photos_per_second"],
        "unit": "images/s",
        "seconds": summary["seconds"],
        "job_seconds": wall,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--processes", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--workloads", nargs="+", default=["sentiment", "transfer", "style"])
    parser.add_argument("--train-limit", type=int, default=8000)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--photos", type=int, default=8)
    parser.add_argument("--data-root", type=Path, default=None)
    args = parser.parse_args()

    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="dlc_dist_bench_") as tmp:
        for workload in args.workloads:
            for processes in args.processes:
                load = os.getloadavg()[0]
                if workload == "sentiment":
                    row = sentiment(
                        processes, Path(tmp), args.data_root, args.train_limit, args.epochs
                    )
                elif workload == "transfer":
                    row = transfer(processes, Path(tmp), args.data_root)
                else:
                    row = style(processes, Path(tmp), args.data_root, args.photos)
                rows.append(
                    {"workload": workload, "processes": processes, "load_before": load, **row}
                )
    for row in rows:
        single = next(r for r in rows if r["workload"] == row["workload"] and r["processes"] == 1)
        row["speedup"] = row["throughput"] / single["throughput"]
        row["efficiency"] = row["speedup"] / row["processes"]
    result = {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "cpu_cores": os.cpu_count(),
        "backend": "gloo (CPU), one thread per process",
        "settings": {
            "train_limit": args.train_limit,
            "epochs": args.epochs,
            "photos": args.photos,
        },
        "rows": rows,
    }
    atomic_write_json(RESULTS, result)
    print(f"{os.cpu_count()} CPU cores; load average before each run in the last column\n")
    print("| workload | processes | throughput | speedup | scaling efficiency | load before |")
    print("|---|---|---|---|---|---|")
    for row in rows:
        print(
            f"| {row['workload']} | {row['processes']} | {row['throughput']:.1f} {row['unit']} | "
            f"{row['speedup']:.2f}x | {100 * row['efficiency']:.0f} % | {row['load_before']:.1f} |"
        )
    print(f"\nwrote {RESULTS}")


if __name__ == "__main__":
    main()
