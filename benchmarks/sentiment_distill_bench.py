"""Distillation and fast inference on Yelp (issue 16): students of a teacher, and sentences/s.

    python benchmarks/sentiment_distill_bench.py --teacher T.pt [T2.pt ...] \\
        --students bilstm cnn:0.5:2 glove-lstm:0.2      # kind[:alpha[:temperature]]
    python benchmarks/sentiment_distill_bench.py --speed A.pt B.pt ...  # sentences/s, size
    python benchmarks/sentiment_distill_bench.py --int8 MINILM.pt         # float vs int8
    python benchmarks/sentiment_distill_bench.py --ship NAME             # package a student

Students are ``dlc sentiment distill`` runs (``sentiment.distill.distill``) into
``benchmarks/out/distill/<kind>-a<alpha>-t<T>-from-<teachers' folders>``, on train plus yelp's ``unlabelled.txt``, with
the student's preset; alpha and T are chosen on dev (test is recorded, not used). Speed: the test
split's 10 000 sentences predicted by one checkpoint on ONE CPU thread, reading and loading
excluded (``sentiment.compare.throughput``, as ``dlc reproduce`` times its rows: the fastest
of up to 3 passes over the already-read sentences); size = the checkpoint file. ``--int8``: each MiniLM checkpoint in float32 and dynamically quantised to int8
(``quantize.quantize_int8``): sentences/s on test, dev accuracy of both, and how often their
labels agree on dev. ``--ship NAME``: the student NAME of the results (its speed measured with
``--speed``) becomes the model packaged with dlclassics (``sentiment.packaged``), with its card.

Each invocation updates its keys of ``benchmarks/results/sentiment_distill.json`` (``students``,
``speed``, ``int8``; the load average with each) and prints a markdown table.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import torch

from dlclassics.data.registry import dataset_path
from dlclassics.io import atomic_write_json
from dlclassics.sentiment.classifier import (
    EVAL_BATCH,
    Classifier,
    load_classifier,
    sentence_logits,
)
from dlclassics.sentiment.compare import one_thread, prediction_seconds, throughput
from dlclassics.sentiment.config import preset
from dlclassics.sentiment.distill import distill
from dlclassics.sentiment.packaged import package_model
from dlclassics.sentiment.quantize import full_range_activations, quantize_int8
from dlclassics.sentiment.text import SentenceFile, read_sentences
from dlclassics.tables import markdown_table

RESULTS = Path(__file__).parent / "results" / "sentiment_distill.json"
OUT = Path(__file__).parent / "out" / "distill"


def load_average() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def parse_student(spec: str) -> tuple[str, float, float]:
    """``kind[:alpha[:temperature]]`` → (kind, alpha (default 0.5), temperature (default 1))."""
    kind, *numbers = spec.split(":")
    alpha = float(numbers[0]) if numbers else 0.5
    temperature = float(numbers[1]) if len(numbers) > 1 else 1.0
    return kind, alpha, temperature


def run_students(
    teachers: list[str],
    specs: list[str],
    data: Path,
    *,
    epochs: int | None,
    augment: int,
    threads: int | None = None,
) -> dict[str, Any]:
    """One distillation run per spec, on train, yelp's unlabelled.txt and ``augment`` altered
    copies of each training sentence; name → {kind, alpha, T, accuracy, teacher, seconds, ...}."""
    rows = {}
    teacher_names = "+".join(Path(t).parent.name for t in teachers)
    teacher_names += f"-augment{augment}" if augment else ""
    teacher_names += f"-e{epochs}" if epochs else ""
    for spec in specs:
        kind, alpha, temperature = parse_student(spec)
        name = f"{kind}-a{alpha:g}-t{temperature:g}-from-{teacher_names}"
        config = preset(kind)
        config = replace(config, epochs=epochs or config.epochs, threads=threads)
        started, load = time.perf_counter(), load_average()
        student = replace(config, data=str(data), out=str(OUT / name), resume=True)
        metrics = distill(
            student,
            teachers,
            unlabelled=[data / "unlabelled.txt"],
            alpha=alpha,
            temperature=temperature,
            augment=augment,
        ).details
        record = metrics["distillation"]
        rows[name] = {
            "kind": kind,
            "alpha": alpha,
            "temperature": temperature,
            "augment": augment,
            "accuracy": metrics["accuracy"],
            "best_epoch": metrics["best_epoch"],
            "teacher_accuracy": record["teacher_accuracy"],
            "teachers": [t["path"] for t in record["teachers"]],
            "unlabelled_sentences": record["unlabelled"]["sentences"],
            "train_seconds": metrics["seconds"]["train"],
            "wall_seconds": time.perf_counter() - started,
            "checkpoint": os.path.relpath(OUT / name / "best.pt"),
            "load_average": [load, load_average()],
        }
    return rows


def accuracy(classifier: Classifier, split: SentenceFile) -> tuple[float, torch.Tensor]:
    """(accuracy as a fraction, the (N,) 0/1 predictions) on a labelled split."""
    predicted = (sentence_logits(classifier, split.sentences) >= 0).long()
    return float((predicted == torch.tensor(split.labels)).float().mean()), predicted


def measure_speed(paths: list[str], data: Path) -> dict[str, Any]:
    """Checkpoint → {model, sentences_per_second (1 thread, test), megabytes, test accuracy}."""
    test = read_sentences(data / "test.txt", True)
    rows = {}
    for path in paths:
        load = load_average()
        rows[path] = {
            "model": load_classifier(path).config.model,
            **throughput([Path(path)], test.sentences),
            "test_accuracy": accuracy(one_thread(load_classifier(path)), test)[0],
            "load_average": [load, load_average()],
        }
    return rows


def measure_int8(path: str, data: Path) -> dict[str, Any]:
    """Float32 and int8 MiniLM: sentences/s (1 thread, test), dev accuracy, dev agreement, and
    the activation bits int8 used (8 where the CPU has VNNI, else 7)."""
    dev, test = (read_sentences(data / f"{s}.txt", True) for s in ("dev", "test"))
    variants = {"float32": one_thread(load_classifier(path))}
    variants["int8"] = quantize_int8(variants["float32"])
    bits = 8 if full_range_activations() else 7
    result: dict[str, Any] = {"activation_bits": bits, "load_average": [load_average()]}
    predictions = {}
    for name, classifier in variants.items():
        dev_accuracy, predictions[name] = accuracy(classifier, dev)
        prediction_seconds([classifier], test.sentences[:EVAL_BATCH])  # lazy initialisation
        started = time.perf_counter()  # one pass: 10 000 MiniLM sentences take a minute
        test_accuracy = accuracy(classifier, test)[0]
        result[name] = {
            "sentences_per_second": len(test) / (time.perf_counter() - started),
            "dev_accuracy": dev_accuracy,
            "test_accuracy": test_accuracy,
        }
    result["dev_agreement"] = float((predictions["float32"] == predictions["int8"]).float().mean())
    result["speedup"] = (
        result["int8"]["sentences_per_second"] / result["float32"]["sentences_per_second"]
    )
    result["load_average"].append(load_average())
    return result


def ship(name: str, results: dict[str, Any], teacher_commands: list[str]) -> dict[str, Any]:
    """Package the student ``name`` of ``results`` (``sentiment.packaged.package_model``)."""
    student = results["students"][name]
    checkpoint = student["checkpoint"]
    speed = next(
        v for k, v in results["speed"].items() if Path(k).resolve() == Path(checkpoint).resolve()
    )
    metrics = json.loads((Path(checkpoint).parent / "metrics.json").read_text())
    teachers = " ".join(f"runs/{Path(t).parent.name}/best.pt" for t in student["teachers"])
    spec = f"{student['kind']}:{student['alpha']:g}:{student['temperature']:g}"
    spec += f" --augment {student['augment']}" if student.get("augment") else ""
    card = {
        "model": student["kind"],
        "train": metrics["sentences"]["train"],
        "dev": metrics["sentences"]["dev"],
        "unlabelled": student["unlabelled_sentences"],
        "vocabulary": metrics["config"]["vocab_size"],
        "teacher": teachers,
        "teacher_dev": student["teacher_accuracy"]["dev"],
        "teacher_test": student["teacher_accuracy"]["test"],
        "alpha": student["alpha"],
        "temperature": student["temperature"],
        "augment": student.get("augment", 0),
        "dev_accuracy": student["accuracy"]["dev"],
        "test_accuracy": student["accuracy"]["test"],
        "speed": speed["sentences_per_second"],
        "machine": f"{os.cpu_count()}-core CPU, {results['date']}",
        "commands": "\n".join(
            [
                *teacher_commands,
                f"python benchmarks/sentiment_distill_bench.py --teacher {teachers} --students {spec}",
                f"python benchmarks/sentiment_distill_bench.py --speed {checkpoint}",
                f"python benchmarks/sentiment_distill_bench.py --ship {name}",
            ]
        ),
    }
    return package_model(checkpoint, card)


def tables(report: dict[str, Any]) -> str:
    """Markdown tables of what this invocation measured (accuracies in %)."""
    out = []
    if "students" in report:
        columns = ["student", "alpha", "T", "dev %", "test %", "teacher dev %", "train s"]
        cells = [
            [
                name,
                r["alpha"],
                r["temperature"],
                100 * r["accuracy"]["dev"],
                100 * r["accuracy"].get("test", float("nan")),
                100 * r["teacher_accuracy"]["dev"],
                round(r["train_seconds"], 1),
            ]
            for name, r in report["students"].items()
        ]
        out.append(markdown_table(columns, cells))
    if "speed" in report:
        columns = ["checkpoint", "model", "test %", "sentences/s (1 thread)", "MB"]
        cells = [
            [
                path,
                r["model"],
                100 * r["test_accuracy"],
                round(r["sentences_per_second"]),
                round(r["megabytes"], 2),
            ]
            for path, r in report["speed"].items()
        ]
        out.append(markdown_table(columns, cells))
    if "int8" in report:
        columns = ["MiniLM", "", "sentences/s (1 thread)", "dev %", "test %", "dev agreement %"]
        cells = [
            [
                path,
                name,
                round(r[name]["sentences_per_second"]),
                100 * r[name]["dev_accuracy"],
                100 * r[name]["test_accuracy"],
                100 * r["dev_agreement"],
            ]
            for path, r in report["int8"].items()
            for name in ("float32", "int8")
        ]
        out.append(markdown_table(columns, cells))
    return "\n\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--teacher", nargs="+", help="teacher checkpoint(s) of the students")
    parser.add_argument("--students", nargs="+", default=[], help="kind[:alpha[:T]] ...")
    parser.add_argument("--epochs", type=int, help="students' epochs (default: their preset)")
    parser.add_argument("--augment", type=int, default=0, help="distill --augment K")
    parser.add_argument("--speed", nargs="+", default=[], help="checkpoints to time")
    parser.add_argument("--int8", nargs="+", default=[], help="minilm checkpoints: float vs int8")
    parser.add_argument("--threads", type=int, help="students' CPU threads (default: preset)")
    parser.add_argument("--ship", metavar="NAME", help="package this student of the results")
    parser.add_argument(
        "--teacher-commands",
        nargs="+",
        default=["dlc sentiment train --model minilm --threads 1 -o runs/minilm"],
        help="how the teachers were trained (for the model card)",
    )
    parser.add_argument("--data-root", help="data root (default $DLC_DATA or the user cache)")
    parser.add_argument("--results", type=Path, default=RESULTS)
    args = parser.parse_args()
    if args.students and not args.teacher:
        parser.error("--students needs --teacher")
    data = dataset_path("yelp", args.data_root)
    report: dict[str, Any] = {}
    if args.students:
        report["students"] = run_students(
            args.teacher,
            args.students,
            data,
            epochs=args.epochs,
            augment=args.augment,
            threads=args.threads,
        )
    if args.speed:
        report["speed"] = measure_speed(args.speed, data)
    if args.int8:
        report["int8"] = {path: measure_int8(path, data) for path in args.int8}
    previous = json.loads(args.results.read_text()) if args.results.is_file() else {}
    for key, value in report.items():  # runs of other students, checkpoints accumulate
        previous[key] = {**previous.get(key, {}), **value}
    previous["date"] = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    if args.ship:
        previous["shipped"] = ship(args.ship, previous, args.teacher_commands)
    atomic_write_json(args.results, previous)
    print(tables(report))
    print(f"\nwrote {args.results}")


if __name__ == "__main__":
    main()
