"""Sentiment benchmark: accuracy of every model on Yelp vs the reference, and the speed targets.

    python benchmarks/sentiment_bench.py --models bow avg glove-avg glove-rnn glove-lstm bilstm
    python benchmarks/sentiment_bench.py --models minilm --minilm-train-limit 8000
    python benchmarks/sentiment_bench.py --sweep bow       # dev-set hyperparameter search
    python benchmarks/sentiment_bench.py --bow-end-to-end  # `dlc sentiment train --model bow` wall time
    python benchmarks/sentiment_bench.py --collect runs/sentiment/compare/*  # finished runs' metrics
    python benchmarks/sentiment_bench.py --one-epoch glove-lstm  # wall and CPU time of one epoch
    python benchmarks/sentiment_bench.py --ensemble RUN_DIR ...  # mean-probability ensembles

Each invocation updates its sections of ``benchmarks/results/sentiment.json`` (``runs`` per model,
``sweeps`` per model, ``one_epoch`` per model, ``bow_end_to_end``, ``ensemble``) and prints a
markdown table of what it measured. Accuracies are fractions, as in ``metrics.json`` (entries
recorded before the shared training loop are in percent). Hyperparameters are chosen by dev
accuracy only; the test accuracy of a sweep's candidates is recorded but not used.
Timings on the shared 2-core machine are noisy: the JSON records the load average with each run.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import itertools
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from dlclassics.data.registry import dataset_path
from dlclassics.io import atomic_write_json
from dlclassics.sentiment.batches import make_loader
from dlclassics.sentiment.classifier import load_classifier, predict_logits, probabilities
from dlclassics.sentiment.compare import (
    choose_members,
    comparison_row,
    comparison_table,
    ensemble_accuracy,
)
from dlclassics.sentiment.config import MODEL_NAMES, preset
from dlclassics.sentiment.run import train
from dlclassics.sentiment.text import read_sentences
from dlclassics.tables import markdown_table

RESULTS = Path(__file__).parent / "results" / "sentiment.json"
OUT = Path(__file__).parent / "out" / "sentiment"
FULL_TRAIN = 40_000
SPEED_SENTENCES = 2_000
TOP_SUBSETS = 25

# Candidate settings per model (SentimentConfig fields); the preset is the dev-best of these.
SWEEPS: dict[str, list[dict[str, Any]]] = {
    "bow": [
        {"lr": lr, "batch_size": bs, "weight_decay": wd}
        for lr, bs in ((0.01, 64), (0.03, 256), (0.1, 256))
        for wd in (0.0, 1e-4)
    ],
    "avg": [{"lr": lr, "dropout": dropout} for lr in (3e-3, 1e-2) for dropout in (0.0, 0.3, 0.5)],
    "glove-avg": [
        {"lr": lr, "dropout": dropout} for lr in (3e-3, 1e-2) for dropout in (0.0, 0.3, 0.5)
    ],
    "glove-rnn": [{"lr": lr, "hidden_size": h} for lr in (1e-3, 2e-3) for h in (64, 128)],
    "glove-lstm": [{"lr": lr, "hidden_size": h} for lr in (1e-3, 2e-3) for h in (64, 128)],
    "bilstm": [{"lr": lr, "dropout": d} for lr in (1e-3, 2e-3) for d in (0.3, 0.5)],
}


def mean(values: list[float] | None) -> float | None:
    return sum(values) / len(values) if values else None


def load_average() -> float:
    return os.getloadavg()[0]


def row_from_metrics(metrics: dict[str, Any], settings: dict[str, Any]) -> dict[str, Any]:
    """The results-table row of one finished run (its ``metrics.json``)."""
    row = comparison_row(metrics)
    epochs = metrics["seconds"]["per_epoch"]
    row.update(
        settings=settings,
        sentences=metrics["sentences"],
        seconds=metrics["seconds"],
        mean_epoch_seconds=sum(epochs) / len(epochs),
        mean_epoch_cpu_seconds=mean(metrics["seconds"].get("cpu_per_epoch")),
        threads=metrics["threads"],
        glove=metrics.get("glove"),
    )
    return row


def run_model(name: str, data_dir: Path, out_dir: Path, settings: dict[str, Any]) -> dict[str, Any]:
    """Train ``name`` with ``settings`` overriding its preset; the row for the results table."""
    load_before = load_average()
    config = replace(preset(name), data=str(data_dir), out=str(out_dir), **settings)
    metrics = train(config).details
    return {**row_from_metrics(metrics, settings), "load_average": [load_before, load_average()]}


def minilm_speed(checkpoint: Path, test_file: Path, row: dict[str, Any]) -> dict[str, Any]:
    """Inference sentences/s on the first ``SPEED_SENTENCES`` test sentences, and the time one
    40 000-sentence epoch takes at the measured training rate (extrapolated when fewer sentences
    were trained on)."""
    import torch

    torch.set_num_threads(row["threads"])  # as many threads as the training run used
    classifier = load_classifier(checkpoint)
    sentences = read_sentences(test_file, labelled=True).sentences[:SPEED_SENTENCES]
    loader = make_loader(classifier.dataset(sentences), classifier.collate, 256, shuffle=False)
    started, cpu_started = time.perf_counter(), time.process_time()
    predict_logits(classifier.model, loader)
    seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu_started
    rate = len(sentences) / seconds
    # an epoch = training steps + scoring the 10 000 dev sentences; scale the training part
    dev_seconds = row["sentences"]["dev"] / rate
    train_part = row["mean_epoch_seconds"] - dev_seconds
    return {
        "inference_sentences_per_second": rate,
        "inference_sentences_per_cpu_second": len(sentences) / cpu_seconds,
        "inference_threads": torch.get_num_threads(),
        "train_sentences": row["sentences"]["train"],
        "measured_epoch_seconds": row["mean_epoch_seconds"],
        "training_sentences_per_second": row["sentences"]["train"] / train_part,
        "estimated_full_epoch_seconds": train_part * FULL_TRAIN / row["sentences"]["train"]
        + dev_seconds,
    }


def bow_end_to_end(data_root: str | None) -> dict[str, Any]:
    """Wall time of the whole ``dlc sentiment train --model bow`` process (load, train, evaluate)."""
    command = [sys.executable, "-m", "dlclassics.cli", "sentiment", "train", "--model", "bow"]
    if data_root:
        command += ["--data-root", data_root]
    with tempfile.TemporaryDirectory() as out:
        load_before = load_average()
        cpu_before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        subprocess.run([*command, "--out", out], check=True, stdout=subprocess.DEVNULL)
        seconds = time.perf_counter() - started
        cpu_after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu_seconds = sum(
            getattr(cpu_after, field) - getattr(cpu_before, field)
            for field in ("ru_utime", "ru_stime")
        )
        metrics = json.loads((Path(out) / "metrics.json").read_text())
    return {
        "wall_seconds": seconds,
        "cpu_seconds": cpu_seconds,
        "in_process_seconds": metrics["seconds"],
        "test_accuracy": metrics["accuracy"]["test"],
        "load_average": [load_before, load_average()],
    }


def split_probabilities(run_dir: Path, data_dir: Path, split: str) -> np.ndarray:
    """P(positive) (N,) of ``run_dir/best.pt`` on ``split``, cached beside the checkpoint."""
    checkpoint, cache = run_dir / "best.pt", run_dir / f"probabilities_{split}.npy"
    if cache.exists() and cache.stat().st_mtime > checkpoint.stat().st_mtime:
        return np.load(cache)
    sentences = read_sentences(data_dir / f"{split}.txt", labelled=True)
    scores = probabilities(load_classifier(checkpoint), sentences).numpy()
    np.save(cache, scores)
    return scores


def run_summary(run_dir: Path) -> dict[str, Any]:
    """What a member's ``metrics.json`` says of how it was trained."""
    metrics = json.loads((run_dir / "metrics.json").read_text())
    return {
        "model": metrics["model"],
        "config": metrics["config"],
        "best_epoch": metrics["best_epoch"],
        "dev_accuracy_per_epoch": [h["dev_acc"] for h in metrics["history"]],
        "seconds_per_epoch": metrics["seconds"]["per_epoch"],
        "threads": metrics["threads"],
    }


def ensembles(run_dirs: list[Path], data_dir: Path) -> dict[str, Any]:
    """Dev and test accuracy of every member, of the mean-probability ensemble of all members,
    and of the ensemble ``choose_members`` picks by dev accuracy alone (its test accuracy is the
    figure reported); the spread of test accuracy over all subsets and the top ones by dev."""
    labels = {
        split: np.array(read_sentences(data_dir / f"{split}.txt", labelled=True).labels)
        for split in ("dev", "test")
    }
    names = [str(run_dir) for run_dir in run_dirs]
    scores = {
        split: {name: split_probabilities(Path(name), data_dir, split) for name in names}
        for split in labels
    }

    def row(members: Sequence[str]) -> dict[str, Any]:
        return {
            "members": list(members),
            **{
                split: ensemble_accuracy([scores[split][m] for m in members], labels[split])
                for split in labels
            },
        }

    chosen, _ = choose_members(scores["dev"], labels["dev"])
    subsets = [
        row(members)
        for size in range(2, len(names) + 1)
        for members in itertools.combinations(names, size)
    ]
    subsets.sort(key=lambda r: (-r["dev"], len(r["members"])))
    test = np.array([r["test"] for r in subsets])
    return {
        "members": {name: {**row([name]), "run": run_summary(Path(name))} for name in names},
        "all_members": row(names),
        "chosen_by_dev": row(chosen),
        # how lucky or unlucky the dev choice was on test, over every subset of 2+ members
        "subsets_tried": len(subsets),
        "subsets_test": {
            "min": float(test.min()),
            "median": float(np.median(test)),
            "max": float(test.max()),
        },
        "top_subsets_by_dev": subsets[:TOP_SUBSETS],
    }


@contextlib.contextmanager
def locked_results():
    """The results JSON, read and rewritten under a file lock (several benchmark runs may end
    at once); yields the dict to update."""
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    OUT.mkdir(parents=True, exist_ok=True)
    with open(OUT / "results.lock", "w") as lock:  # benchmarks/out is not version-controlled
        fcntl.flock(lock, fcntl.LOCK_EX)
        results = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
        yield results
        results["updated"] = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
        results["cpu_count"] = os.cpu_count()
        atomic_write_json(RESULTS, results)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="*", default=[], choices=MODEL_NAMES)
    parser.add_argument("--sweep", nargs="*", default=[], choices=sorted(SWEEPS))
    parser.add_argument("--bow-end-to-end", action="store_true")
    parser.add_argument("--minilm-train-limit", type=int, default=None)
    parser.add_argument("--collect", nargs="*", default=[], metavar="RUN_DIR")
    parser.add_argument("--one-epoch", nargs="*", default=[], choices=MODEL_NAMES)
    parser.add_argument("--ensemble", nargs="*", default=[], metavar="RUN_DIR")
    parser.add_argument("--data-root", default=None)
    args = parser.parse_args()
    data_dir = dataset_path("yelp", args.data_root)
    sweeps: dict[str, Any] = {}
    runs: dict[str, Any] = {}

    for name in args.sweep:
        candidates = []
        for i, settings in enumerate(SWEEPS[name]):
            row = run_model(name, data_dir, OUT / "sweep" / name / str(i), settings)
            candidates.append(row)
            print(f"sweep {name} {settings}: dev {100 * row['ours']['dev']:.2f} %")
        best = max(candidates, key=lambda row: row["ours"]["dev"])
        sweeps[name] = {"candidates": candidates, "chosen": best["settings"]}
        print(markdown_table(*comparison_table(candidates)))
        print(f"{name}: dev-best settings {best['settings']}")

    for run_dir in map(Path, args.collect):
        metrics = json.loads((run_dir / "metrics.json").read_text())
        row = {**row_from_metrics(metrics, {}), "collected_from": str(run_dir)}
        if row["model"] == "minilm":
            row["speed"] = minilm_speed(run_dir / "best.pt", data_dir / "test.txt", row)
        runs[row["model"]] = row
    for name in args.models:
        limit = args.minilm_train_limit if name == "minilm" else None
        row = run_model(name, data_dir, OUT / name, {"train_limit": limit})
        if name == "minilm":
            row["speed"] = minilm_speed(OUT / name / "best.pt", data_dir / "test.txt", row)
        runs[name] = row

    one_epoch = {}
    for name in args.one_epoch:
        row = run_model(name, data_dir, OUT / "one_epoch" / name, {"epochs": 1})
        epoch = row["seconds"]["per_epoch"][0], row["seconds"]["cpu_per_epoch"][0]
        one_epoch[name] = {
            "wall_seconds": epoch[0],
            "cpu_seconds": epoch[1],
            "threads": row["threads"],
            "load_average": row["load_average"],
            "includes": "training on 40 000 sentences + scoring the 10 000 dev sentences",
        }
        print(f"{name}: one epoch {epoch[0]:.1f} s wall, {epoch[1]:.1f} s CPU")
    end_to_end = bow_end_to_end(args.data_root) if args.bow_end_to_end else None
    ensemble = ensembles([Path(d) for d in args.ensemble], data_dir) if args.ensemble else None

    with locked_results() as results:
        results.setdefault("sweeps", {}).update(sweeps)
        results.setdefault("runs", {}).update(runs)
        results.setdefault("one_epoch", {}).update(one_epoch)
        if end_to_end:
            results["bow_end_to_end"] = end_to_end
        if ensemble:
            results["ensemble"] = ensemble
    if end_to_end:
        print(f"bow end to end: {end_to_end['wall_seconds']:.1f} s")
    if runs:
        print(markdown_table(*comparison_table(list(runs.values()))))
    if ensemble:
        print("\n| members | dev | test |\n|---|---|---|")
        for row in [*ensemble["members"].values(), ensemble["all_members"]]:
            dev, test = 100 * row["dev"], 100 * row["test"]
            print(f"| {' + '.join(row['members'])} | {dev:.2f} | {test:.2f} |")
        chosen = ensemble["chosen_by_dev"]
        print(
            f"dev-chosen ensemble {' + '.join(chosen['members'])}: "
            f"dev {100 * chosen['dev']:.2f} % / test {100 * chosen['test']:.2f} %"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
