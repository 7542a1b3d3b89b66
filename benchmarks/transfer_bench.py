"""Transfer-learning benchmark: val accuracy of both modes on hymenoptera, and the feature cache's speed-up.

    python benchmarks/transfer_bench.py --part freeze      # improved freeze + ablations (cheap)
    python benchmarks/transfer_bench.py --part speed       # cached freeze vs recomputing, side by side
    python benchmarks/transfer_bench.py --part finetune    # improved finetune (slow on CPU)

Each part updates its section of ``benchmarks/results/transfer_bench.json`` and the script prints a
markdown table of everything recorded so far. Run outputs go to ``benchmarks/out/transfer/``.
The 2-core machine is shared: every record carries the load average when it finished.

``speed`` runs the default freeze mode for its full epochs from an empty feature cache, then the
same recipe recomputing the backbone every epoch (``--views 0``) for ``--recompute-epochs``
epochs; the recompute run's full-length time is extrapolated as setup + epochs × its mean epoch
time (stated in the table).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from dlclassics.data.registry import dataset_path
from dlclassics.io import atomic_write_json
from dlclassics.runtime import resolve_device
from dlclassics.transfer import Config, train

RESULTS = Path(__file__).parent / "results" / "transfer_bench.json"
OUT = Path(__file__).parent / "out" / "transfer"
SHARED_CACHE = OUT / "feature_cache"

# Freeze-mode variants on the shared cache: (name, protocol, Config overrides)
FREEZE_VARIANTS: list[tuple[str, str, dict[str, Any]]] = [
    ("freeze improved (default)", "improved", {}),
    ("freeze improved, random head init", "improved", {"head_init": "random"}),
    ("freeze improved, no flip TTA", "improved", {"tta": False}),
    ("freeze improved, 1 view", "improved", {"views": 1}),
    ("freeze improved, 3 views", "improved", {"views": 3}),
    ("freeze reference recipe on the 2-view cache", "reference", {"views": 2}),
]


def run(name: str, config: Config) -> dict[str, Any]:
    """Train the one mode of ``config`` into a folder named after ``name``; the JSON record."""
    out = OUT / name.replace(" ", "_").replace(",", "").replace("(", "").replace(")", "")
    # $DLC_DEVICE, else the GPU when one is visible
    result = train(replace(config, out=out, device=resolve_device()))
    m = result.details["modes"][config.mode]
    return {
        "name": name,
        "mode": config.mode,
        "protocol": config.protocol,
        "seed": config.seed,
        "device": m["device"],
        "train_config": m["train_config"],
        "random_head_val_acc": m["random_head_val_acc"],
        "zero_shot_val_acc": m["zero_shot_val_acc"],
        "initial_head_val_acc": m["initial_head_val_acc"],
        "best_val_acc": m["best_val_acc"],
        "best_val_correct": m["best_val_correct"],
        "best_epoch": m["best_epoch"],
        "final_val_acc": m["final_val_acc"],
        "final_val_correct": m["final_val_correct"],
        "num_val": m["num_val"],
        "feature_cache_seconds": m["feature_cache"]["compute_seconds"],
        "setup_seconds": m["timing"]["setup_seconds"],
        "epoch_seconds": m["timing"]["epoch_seconds"],
        "total_seconds": m["timing"]["total_seconds"],
        "load_average": os.getloadavg()[0],
        "finished": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    }


def part_freeze(data_dir: Path, seeds: list[int]) -> list[dict[str, Any]]:
    return [
        run(
            f"{name} seed {seed}",
            Config(
                data=data_dir,
                mode="freeze",
                protocol=protocol,
                seed=seed,
                cache_dir=SHARED_CACHE,
                **overrides,
            ),
        )
        for seed in seeds
        for name, protocol, overrides in FREEZE_VARIANTS
    ]


def part_speed(data_dir: Path, recompute_epochs: int) -> dict[str, Any]:
    """Cached freeze (from an empty cache) vs recomputing the backbone, same recipe."""
    cache = OUT / "speed_cache"
    shutil.rmtree(cache, ignore_errors=True)
    freeze = Config(data=data_dir, mode="freeze", cache_dir=cache)
    cached = run("speed cached freeze", freeze)
    full_epochs = cached["train_config"]["epochs"]
    recompute = replace(freeze, views=0, epochs=recompute_epochs)
    recomputed = run("speed recompute freeze", recompute)
    per_epoch = sum(recomputed["epoch_seconds"]) / len(recomputed["epoch_seconds"])
    extrapolated = recomputed["setup_seconds"] + full_epochs * per_epoch
    return {
        "cached": cached,
        "recompute": recomputed,
        "epochs": full_epochs,
        "cached_total_seconds": cached["total_seconds"],
        "recompute_mean_epoch_seconds": per_epoch,
        "recompute_extrapolated_seconds": extrapolated,
        "speedup": extrapolated / cached["total_seconds"],
        "note": (
            f"recompute measured for {recompute_epochs} epoch(s) and extrapolated to "
            f"{full_epochs}: setup + {full_epochs} x mean epoch time; both runs share the machine"
        ),
    }


def part_finetune(data_dir: Path, seeds: list[int], epochs: int | None) -> list[dict[str, Any]]:
    return [
        run(
            f"finetune improved seed {seed}",
            Config(
                data=data_dir, mode="finetune", seed=seed, cache_dir=SHARED_CACHE, epochs=epochs
            ),
        )
        for seed in seeds
    ]


def pct(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.2f} %"


def table(results: dict[str, Any]) -> str:
    rows = [
        "| run | zero-shot | initial head | best val (epoch) | final val | total s | load |",
        "|---|---|---|---|---|---|---|",
    ]
    records = results.get("freeze", []) + results.get("finetune", [])
    if "speed" in results:
        records += [results["speed"]["cached"], results["speed"]["recompute"]]
    for r in records:
        rows.append(
            f"| {r['name']} | {pct(r['zero_shot_val_acc'])} | {pct(r['initial_head_val_acc'])} | "
            f"{pct(r['best_val_acc'])} = {r['best_val_correct']}/{r['num_val']} ({r['best_epoch']}) | "
            f"{pct(r['final_val_acc'])} = {r['final_val_correct']}/{r['num_val']} | "
            f"{r['total_seconds']:.0f} | {r['load_average']:.1f} |"
        )
    if "speed" in results:
        s = results["speed"]
        rows.append(
            f"\nfreeze, {s['epochs']} epochs: cached {s['cached_total_seconds']:.0f} s vs "
            f"recomputing {s['recompute_extrapolated_seconds']:.0f} s "
            f"(mean epoch {s['recompute_mean_epoch_seconds']:.0f} s) → {s['speedup']:.1f}x; {s['note']}"
        )
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=["freeze", "speed", "finetune"], required=True)
    parser.add_argument("--data-root", default=None)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--recompute-epochs", type=int, default=2)
    parser.add_argument("--finetune-epochs", type=int, default=None)
    args = parser.parse_args()

    data_dir = dataset_path("hymenoptera", args.data_root)
    if args.part == "freeze":
        section = part_freeze(data_dir, args.seeds)
    elif args.part == "speed":
        section = part_speed(data_dir, args.recompute_epochs)
    else:
        section = part_finetune(data_dir, args.seeds, args.finetune_epochs)
    # read the file only now: other parts may have finished meanwhile
    results = json.loads(RESULTS.read_text()) if RESULTS.is_file() else {}
    results[args.part] = section
    results["machine"] = f"{os.cpu_count()} CPU cores, shared with other jobs while measuring"
    atomic_write_json(RESULTS, results)
    print(table(results))


if __name__ == "__main__":
    main()
