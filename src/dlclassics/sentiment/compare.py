"""Several sentiment models side by side, the logic behind ``dlc sentiment compare`` and the
sentiment table of ``dlc reproduce``: train each model, choose an ensemble on dev, distil a
student from it, time every row on one CPU thread.

An ensemble averages P(positive): models that make different mistakes cancel part of each other's
errors. Its members are chosen on dev, like any hyperparameter; test is scored once. The distilled
student is one model that learns the ensemble's probabilities: its accuracy at one model's speed.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from dlclassics.checkpoint import load_checkpoint
from dlclassics.data.manifest import sha256_file
from dlclassics.io import atomic_write_json, atomic_write_text
from dlclassics.outputs import prepare_output_dir, release_output_dir
from dlclassics.predictions import render_predictions
from dlclassics.runtime import resolve_device
from dlclassics.sentiment.classifier import (
    EVAL_BATCH,
    KIND,
    Classifier,
    load_classifier,
    probabilities,
    sentence_logits,
)
from dlclassics.sentiment.config import REFERENCE_ACCURACY, Config
from dlclassics.sentiment.distill import distill
from dlclassics.sentiment.predict import predict_file, txt_line
from dlclassics.sentiment.run import SPLITS, job, load, train
from dlclassics.sentiment.text import read_sentences
from dlclassics.stats import Estimate, wilson_interval
from dlclassics.tables import markdown_table, percent
from dlclassics.training import BEST_CHECKPOINT, LAST_CHECKPOINT

COLUMNS = ["model", "train", "dev", "test", "ref train", "ref dev", "ref test", "test Δ", "train s"]
SPEED_COLUMNS = ["sentences/s", "MB"]  # when every row was timed (``throughput``)
MOST_CANDIDATES = 12  # every subset is tried: 2^12 mean-and-compare passes stay instant
# timing: the fastest of up to MOST_PASSES passes over the test sentences, more passes only while
# they took under SHORT_SECONDS in all (a fast model's single pass is the noisiest)
MOST_PASSES, SHORT_SECONDS = 3, 2.0


def ensemble_accuracy(probabilities: Sequence[np.ndarray], labels: np.ndarray) -> float:
    """Accuracy (a fraction) of the mean of ``probabilities`` (each (N,) P(positive)) against
    ``labels`` (N,).

    Example:
        >>> ensemble_accuracy([np.array([0.9, 0.4]), np.array([0.7, 0.2])], np.array([1, 1]))
        0.5
    """
    mean = np.mean(np.stack(probabilities), axis=0)  # (M, N) -> (N,)
    return float(((mean >= 0.5) == (labels == 1)).mean())


def choose_members(
    dev_probabilities: Mapping[str, np.ndarray], dev_labels: np.ndarray
) -> tuple[tuple[str, ...], float]:
    """The subset of two or more candidates (name → (N,) dev P(positive)) whose mean has the best
    dev accuracy, and that accuracy. Ties go to the smaller ensemble, then the earlier names.

    Example:
        >>> dev = {"a": np.array([0.9, 0.4]), "b": np.array([0.2, 0.8]), "c": np.array([0.6, 0.6])}
        >>> choose_members(dev, np.array([1, 1]))
        (('a', 'b'), 1.0)
    """
    names = list(dev_probabilities)
    if not 2 <= len(names) <= MOST_CANDIDATES:
        raise ValueError(f"an ensemble needs 2 to {MOST_CANDIDATES} candidates, got {len(names)}")
    best: tuple[tuple[str, ...], float] = ((), -1.0)
    for size in range(2, len(names) + 1):
        for members in itertools.combinations(names, size):
            accuracy = ensemble_accuracy([dev_probabilities[m] for m in members], dev_labels)
            if accuracy > best[1]:
                best = (members, accuracy)
    return best


def comparison_row(metrics: dict[str, Any]) -> dict[str, Any]:
    """One table row from a run's metrics: accuracies (fractions) per split, the count of
    sentences each was measured on (for its interval), the reference's, the difference,
    training seconds and best epoch.

    Example:
        >>> row = comparison_row(train(Config(model="bow", data="my_text_dir")).details)
        >>> sorted(row)
        ['best_epoch', 'difference', 'model', 'ours', 'reference', 'sentences', 'train_seconds']
    """
    ours, reference = metrics["accuracy"], REFERENCE_ACCURACY.get(metrics["model"])
    row: dict[str, Any] = {"model": metrics["model"], "ours": ours, "reference": reference}
    row["sentences"] = {split: metrics["sentences"][split] for split in ours}
    if reference is not None:
        row["difference"] = {split: ours[split] - reference[split] for split in ours}
    return row | {"train_seconds": metrics["seconds"]["train"], "best_epoch": metrics["best_epoch"]}


def train_models(configs: Sequence[Config], out_dir: Path) -> list[dict[str, Any]]:
    """Train each config (its data, resume and device settings) into ``out_dir/<model>``; one
    ``comparison_row`` per model, with its ``checkpoints`` (relative to ``out_dir``).

    Example:
        >>> rows = train_models([Config(model="bow", data="my_text_dir")], Path("runs/c"))
        >>> rows[0]["checkpoints"]
        ['bow/best.pt']
    """
    rows = []
    for config in configs:
        print(f"== {config.model}")
        result = train(replace(config, out=str(out_dir / config.model)))
        checkpoints = [f"{config.model}/{BEST_CHECKPOINT}"]
        rows.append(comparison_row(result.details) | {"checkpoints": checkpoints})
    return rows


def compare_models(configs: Sequence[Config], out_dir: Path) -> str | None:
    """``dlc sentiment compare``: train ``configs`` into ``out_dir`` (locked while it runs), write
    ``compare.json`` and ``compare.md`` there; the table (markdown), or None on the processes
    of a ``torchrun`` job that do not write.

    Example:
        >>> print(compare_models([Config(model="bow", data="my_text_dir")], Path("runs/c")))
        | model | train | dev | ...
    """
    with job() as writer:
        if writer:
            prepare_output_dir(out_dir)
        try:
            rows = train_models(configs, out_dir)
        finally:
            if writer:
                release_output_dir(out_dir)
    if not writer:
        return None
    table = markdown_table(*comparison_table(rows))
    atomic_write_json(out_dir / "compare.json", rows)
    atomic_write_text(out_dir / "compare.md", table + "\n")
    return table


def accuracy_cell(row: dict[str, Any], split: str) -> Estimate | float | None:
    """A row's accuracy on ``split`` in %, with its Wilson 95 % interval over the split's
    sentences (``row["sentences"]``); a plain figure where the row does not record that count,
    None where the split was not scored.

    Example:
        >>> row = {"ours": {"test": 0.9}, "sentences": {"test": 100}}
        >>> format_cell(accuracy_cell(row, "test"))
        '90.00 (82.6–94.5)'
    """
    accuracy = row["ours"].get(split)
    total = row.get("sentences", {}).get(split)
    if accuracy is None or not total:
        return percent(accuracy)
    return percent(wilson_interval(round(accuracy * total), total))


def comparison_table(rows: Sequence[dict[str, Any]]) -> tuple[list[str], list[list[object]]]:
    """Columns and cells of the table (accuracies in %, ours with their Wilson 95 % intervals
    as ``accuracy_cell`` gives them; the reference's published figures without: they come with
    no count), for ``tables.markdown_table``; with ``SPEED_COLUMNS`` when every row has its
    ``throughput``.

    Example:
        >>> columns, cells = comparison_table(train_models([preset("bow")], Path("runs/c")))
        >>> columns[:4]
        ['model', 'train', 'dev', 'test']
    """
    timed = bool(rows) and all("sentences_per_second" in row for row in rows)
    cells = []
    for row in rows:
        reference, delta = row["reference"] or {}, row.get("difference", {}).get("test")
        ours = [accuracy_cell(row, split) for split in SPLITS]
        theirs = [percent(reference.get(split)) for split in SPLITS]
        change = "–" if delta is None else f"{100 * delta:+.2f}"
        speed = [round(row["sentences_per_second"]), row["megabytes"]] if timed else []
        cells.append([row["model"], *ours, *theirs, change, f"{row['train_seconds']:.1f}", *speed])
    return COLUMNS + (SPEED_COLUMNS if timed else []), cells


def ensemble_row(
    rows: list[dict[str, Any]], data_dir: Path, out_dir: Path, *, device: str | None = None
) -> dict[str, Any]:
    """The table row of the mean-probability ensemble of the trained models in ``rows``
    (checkpoints in ``out_dir/<model>/best.pt``) whose subset has the best dev accuracy; its
    test accuracy is computed once, for the chosen subset only.

    Example:
        >>> rows = train_models([preset("bow"), preset("avg")], Path("runs/c"))
        >>> ensemble_row(rows, yelp, Path("runs/c"))["members"]
        ['bow', 'avg']
    """
    device = resolve_device(device)
    names = [row["model"] for row in rows]
    classifiers = {
        name: load_classifier(out_dir / name / BEST_CHECKPOINT, device) for name in names
    }
    splits = {split: read_sentences(data_dir / f"{split}.txt") for split in ("dev", "test")}
    labels = {split: np.array(sentences.labels) for split, sentences in splits.items()}
    dev = {name: probabilities(c, splits["dev"]).numpy() for name, c in classifiers.items()}
    members, dev_accuracy = choose_members(dev, labels["dev"])
    test = [probabilities(classifiers[m], splits["test"]).numpy() for m in members]
    return {
        "model": "ensemble: " + " + ".join(members),
        "members": list(members),
        "checkpoints": [f"{member}/{BEST_CHECKPOINT}" for member in members],
        "ours": {"dev": dev_accuracy, "test": ensemble_accuracy(test, labels["test"])},
        "sentences": {split: len(sentences) for split, sentences in splits.items()},
        "reference": None,
        "train_seconds": sum(row["train_seconds"] for row in rows if row["model"] in members),
        "best_epoch": None,
    }


def distilled_row(
    ensemble: dict[str, Any], student: Config, *, data_dir: Path, out_dir: Path
) -> dict[str, Any]:
    """The table row of ``student`` distilled (``distill.distill``, default α and T, resumed from
    its ``last.pt``) into ``out_dir/distilled-<model>`` from the ``ensemble`` row's members, on
    train and ``unlabelled.txt``. No reference: the reference trained no such student.

    Example:
        >>> student = distilled_row(ensemble, preset("bow"), data_dir=yelp, out_dir=Path("runs/c"))
        >>> student["checkpoints"]
        ['distilled-bow/best.pt']
    """
    folder = f"distilled-{student.model}"
    print(f"== {folder}")
    teachers = [out_dir / path for path in ensemble["checkpoints"]]
    unlabelled = [data_dir / "unlabelled.txt"]
    resume = taught_by(out_dir / folder / LAST_CHECKPOINT, teachers)
    if not resume and (out_dir / folder / LAST_CHECKPOINT).is_file():
        print(
            f"{out_dir / folder}: the teachers changed since this student was saved; starting over"
        )
    config = replace(student, data=str(data_dir), out=str(out_dir / folder), resume=resume)
    result = distill(config, teachers, unlabelled=unlabelled)
    row = {k: v for k, v in comparison_row(result.details).items() if k != "difference"}
    return row | {
        "model": f"distilled {student.model} ← " + " + ".join(ensemble["members"]),
        "teachers": ensemble["members"],
        "reference": None,
        "checkpoints": [f"{folder}/{BEST_CHECKPOINT}"],
    }


def taught_by(checkpoint: Path, teachers: Sequence[Path]) -> bool:
    """Whether the student ``checkpoint`` exists and was distilled from exactly ``teachers`` (a
    retrained or another ensemble member makes a resumed student refuse: it starts over).

    Example:
        >>> taught_by(Path("runs/c/distilled-bow/last.pt"), [Path("runs/c/bow/best.pt")])
        True
    """
    if not checkpoint.is_file():
        return False
    fingerprint = load_checkpoint(checkpoint, KIND)["fingerprint"].get("distillation", {})
    return fingerprint.get("teachers_sha256") == [sha256_file(path) for path in teachers]


def one_thread(classifier: Classifier) -> Classifier:
    """``classifier`` set to predict on one CPU thread (``sentence_logits`` applies it).

    Example:
        >>> one_thread(sentiment.load()).config.threads
        1
    """
    return replace(classifier, config=replace(classifier.config, threads=1))


def prediction_seconds(classifiers: Sequence[Classifier], sentences: list[list[str]]) -> float:
    """Wall seconds for the ``classifiers``, one after the other, to score ``sentences`` on the
    CPU (their ``threads`` apply).

    Example:
        >>> prediction_seconds([sentiment.load()], [["great", "food"]] * 1000) < 1.0
        True
    """
    started = time.perf_counter()
    for classifier in classifiers:
        sentence_logits(classifier, sentences)
    return time.perf_counter() - started


def throughput(checkpoints: Sequence[Path], sentences: list[list[str]]) -> dict[str, float]:
    """``sentences_per_second``: how fast the model (or the ensemble, members run one after the
    other) in ``checkpoints`` scores the token lists ``sentences`` on one CPU thread, loading
    excluded (the fastest of up to ``MOST_PASSES`` passes, after an untimed batch that pays for
    lazy initialisation); ``megabytes``: the checkpoints' total size (10^6 bytes).

    Example:
        >>> sorted(throughput([Path("runs/c/bow/best.pt")], [["great", "food"]] * 1000))
        ['megabytes', 'sentences_per_second']
    """
    classifiers = [one_thread(load_classifier(path)) for path in checkpoints]
    prediction_seconds(classifiers, sentences[:EVAL_BATCH])
    seconds = [prediction_seconds(classifiers, sentences)]
    while len(seconds) < MOST_PASSES and sum(seconds) < SHORT_SECONDS:
        seconds.append(prediction_seconds(classifiers, sentences))
    return {
        "sentences_per_second": len(sentences) / min(seconds),
        "megabytes": sum(path.stat().st_size for path in checkpoints) / 1e6,
    }


def model_rows(
    configs: Sequence[Config], student: Config, *, data_dir: Path, out_dir: Path
) -> list[dict[str, Any]]:
    """Train ``configs`` on ``data_dir`` (resumed); with two or more, add the ensemble row and
    the row of ``student`` distilled from it; then time every row on the test split
    (``throughput``).

    Example:
        >>> rows = model_rows([preset("bow")], preset("bow"), data_dir=yelp, out_dir=Path("r"))
        >>> rows[0]["model"]
        'bow'
    """
    on_data = [replace(config, data=str(data_dir), resume=True) for config in configs]
    rows = train_models(on_data, out_dir)
    if len(rows) > 1:
        rows.append(ensemble_row(rows, data_dir, out_dir))
        rows.append(distilled_row(rows[-1], student, data_dir=data_dir, out_dir=out_dir))
    print("== sentences/s on one CPU thread (test split)")
    test = read_sentences(data_dir / "test.txt").sentences
    return [row | throughput([out_dir / p for p in row["checkpoints"]], test) for row in rows]


def write_labels(checkpoints: Sequence[Path], source: Path, target: Path) -> None:
    """Label every line of the unlabelled file ``source`` with the model (or ensemble) in
    ``checkpoints``, one 0/1 a line, into ``target``.

    Example:
        >>> write_labels([Path("runs/c/bow/best.pt")], yelp / "unlabelled.txt", Path("labels.txt"))
    """
    rows = predict_file(load(list(checkpoints)), source, labelled=False).rows
    atomic_write_text(target, render_predictions(rows, "txt", txt_line(proba=False)))
