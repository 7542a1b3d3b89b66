"""The sentiment API: ``train(config) -> Result`` runs one model end to end (read the data, build
vocabulary and model, train with the shared loop ``dlclassics.training``, score the best epoch on
every split, write the outputs); ``load(path)`` gives the predictor. Under ``torchrun`` every
process trains and evaluates its share, and rank 0 writes the files."""

from __future__ import annotations

import contextlib
import hashlib
import os
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import torch
from torch import nn

from dlclassics import distributed, training
from dlclassics.checkpoint import load_checkpoint, load_weights
from dlclassics.data.registry import dataset_path
from dlclassics.distributed import DistContext
from dlclassics.errors import DlcError
from dlclassics.figures import confusion_matrix, plot_confusion, plot_curves
from dlclassics.io import atomic_write_json
from dlclassics.outputs import prepare_output_dir, release_output_dir
from dlclassics.results import Result
from dlclassics.runtime import resolve_device, seed_everything, torch_threads
from dlclassics.sentiment.batches import SentenceDataset, make_loader, to_device
from dlclassics.sentiment.classifier import (
    KIND,
    Classifier,
    Ensemble,
    build_classifier,
    evaluate,
    load_classifier,
)
from dlclassics.sentiment.config import GLOVE_MODELS, REFERENCE_ACCURACY, Config
from dlclassics.sentiment.glove import glove_matrix, load_glove_text, load_packaged_glove
from dlclassics.sentiment.packaged import packaged_model
from dlclassics.sentiment.text import SentenceFile, read_sentences, subsample
from dlclassics.sentiment.vocab import Vocabulary

SPLITS = ("train", "dev", "test")
CLASSES = ("negative", "positive")
FIGURE_FILES = {"curves": "curves.png", "confusion": "confusion.png"}
FILES = {**FIGURE_FILES, "checkpoint": training.BEST_CHECKPOINT}

# (logits (N,), a batch's targets) -> (the loss summed over the batch, (N,) targets in [0, 1]
# that the training accuracy counts against: a prediction is right on the side of 0.5 they are)
LossFn = Callable[[torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]]


def bce_sum(logits: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Binary cross-entropy of ``logits`` (N,) against ``labels`` (N,) in [0, 1], summed; and the
    labels themselves for the accuracy.

    Example:
        >>> loss, reference = bce_sum(torch.zeros(2), torch.tensor([0.0, 1.0]))
        >>> round(float(loss), 4)  # 2 x ln 2
        1.3863
    """
    return nn.functional.binary_cross_entropy_with_logits(logits, labels, reduction="sum"), labels


@dataclass
class TrainingSet:
    """What a run trains on. Plain training: the train split's sentences, their 0/1 labels and
    ``bce_sum``; distillation (``sentiment.distill``) adds sentences, targets and its loss.

    Example:
        >>> TrainingSet([["great", "food"]], [1]).loss is bce_sum
        True
    """

    sentences: list[list[str]]  # also what the vocabulary is built from
    targets: list[Any]  # one per sentence, as ``loss`` reads them (collated by ``label_tensor``)
    loss: LossFn = bce_sum
    fingerprint: dict[str, Any] = field(default_factory=dict)  # joins the checkpoint's
    metrics: dict[str, Any] = field(default_factory=dict)  # joins metrics.json


# (the splits read, this process's context) -> the training set; None: plain training
TrainingSetFn = Callable[[dict[str, SentenceFile], DistContext], TrainingSet]


def read_splits(data_dir: Path, config: Config) -> dict[str, SentenceFile]:
    """``train`` and ``dev`` (required) and ``test`` (when present) from ``data_dir``, the
    training sentences cut to ``config.train_limit``.

    Example:
        >>> sorted(read_splits(Path("my_text_dir"), Config(model="bow")))
        ['dev', 'test', 'train']
    """
    splits = {}
    for split in SPLITS:
        path = data_dir / f"{split}.txt"
        if split == "test" and not path.exists():
            continue
        splits[split] = read_sentences(
            path, True, config.skip_bad_lines, normaliser=config.text_normaliser()
        )
        if splits[split].skipped:
            print(f"{path}: skipped {splits[split].skipped} bad lines")
    if config.train_limit:
        splits["train"] = subsample(splits["train"], config.train_limit, config.seed)
    present = sorted(set(splits["train"].labels or []))
    if len(present) < 2:
        raise DlcError(
            f"{data_dir / 'train.txt'}: every training sentence has label {present[0]}; a "
            "classifier needs examples of both 0 and 1"
        )
    return splits


def data_fingerprint(splits: dict[str, SentenceFile]) -> dict[str, Any]:
    """What names the training data in a checkpoint: a resumed run must train on the same.

    Example:
        >>> data_fingerprint(read_splits(Path("my_text_dir"), Config(model="bow")))["sentences"]
        {'train': 60, 'dev': 20}
    """
    digest = hashlib.sha256()
    for split in ("train", "dev"):
        for label, tokens in zip(splits[split].labels or [], splits[split].sentences, strict=True):
            digest.update(f"{label} {' '.join(tokens)}\n".encode())
    sentences = {split: len(splits[split]) for split in ("train", "dev")}
    return {"sentences": sentences, "sha256": digest.hexdigest()}


def build(config: Config, sentences: Sequence[Sequence[str]]) -> tuple[Classifier, dict[str, Any]]:
    """Vocabulary (of the training ``sentences``), GloVe start and model for ``config``
    (``vocab_size`` and ``embed_dim`` filled in from the data and GloVe), and what to report
    about GloVe (``{"glove": ...}`` or ``{}``).

    Example:
        >>> classifier, glove = build(Config(model="bow"), [["great", "food"], ["rude"]])
        >>> classifier.config.vocab_size, glove
        (5, {})
    """
    vocab = None
    if config.model != "minilm":  # minilm brings its own tokenizer and sub-word vocabulary
        vocab = Vocabulary.build(sentences, config.min_count)
        config = replace(config, vocab_size=len(vocab))
    init, extra = None, {}
    if config.model in GLOVE_MODELS:
        # only the spellings glove_matrix looks up: as written and lower-cased
        wanted = set(vocab.words) | {word.lower() for word in vocab.words}
        packaged = config.glove is None
        glove = load_packaged_glove(wanted) if packaged else load_glove_text(config.glove, wanted)
        init, coverage = glove_matrix(vocab, glove, config.seed)
        config = replace(config, embed_dim=glove.dim)
        extra["glove"] = {"source": glove.source, "dim": glove.dim, **coverage}
        print(
            f"GloVe ({glove.source}, {glove.dim}-d): {coverage['words_found']} of "
            f"{coverage['words_total']} vocabulary words found "
            f"({100 * coverage['word_coverage']:.1f} % coverage)"
        )
    seed_everything(config.seed)  # same seed → same initial weights
    return build_classifier(config, vocab, init), extra


def schedule(optimizer: torch.optim.Optimizer, config: Config, steps: int) -> Any:
    """Constant rate, or linear warm-up then linear decay over ``steps`` optimiser steps.

    Example:
        >>> model = nn.Linear(1, 1)
        >>> optimizer = torch.optim.AdamW(model.parameters(), lr=1.0)
        >>> schedule(optimizer, Config(model="minilm"), steps=100).get_last_lr()  # warming up
        [0.1]
    """
    warmup = max(1, round(config.warmup_fraction * steps))

    def factor(step: int) -> float:
        if config.warmup_fraction <= 0:
            return 1.0
        if step < warmup:
            return (step + 1) / warmup
        return max(0.0, (steps - step) / max(1, steps - warmup))

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


def train_classifier(
    classifier: Classifier,
    train_set: SentenceDataset,
    dev_set: SentenceDataset,
    *,
    checkpoints: training.Checkpoints,
    ctx: DistContext,
    loss: LossFn = bce_sum,
) -> training.LoopState:
    """AdamW on the batch mean of ``loss`` (binary cross-entropy against the labels unless
    distilling), the schedule stepped every batch, early stopping on dev accuracy: the shared
    loop with the sentiment loss and evaluation.

    Example:
        >>> state = train_classifier(classifier, train_set, dev_set, checkpoints=checkpoints, ctx=ctx)
        >>> state.best_epoch
        3
    """
    config, model, device = classifier.config, classifier.model, ctx.device
    rank_batch = distributed.per_rank_batch_size(config.batch_size, ctx)
    loader = make_loader(
        train_set, classifier.collate, rank_batch, shuffle=True, seed=config.seed, ctx=ctx
    )
    dev = classifier.eval_loader(dev_set, ctx)
    trainable = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(trainable, lr=config.lr, weight_decay=config.weight_decay)
    scheduler = schedule(optimizer, config, config.epochs * len(loader))
    precision = config.autocast_precision()

    def batch_loss(model: nn.Module, batch: Any) -> tuple[torch.Tensor, int, int]:
        inputs, targets = batch[0], batch[1].to(device)
        logits = model(**to_device(inputs, device)).float()  # (N,), float32 under autocast too
        total, reference = loss(logits, targets)  # reference: (N,) in [0, 1]
        correct = int(((logits >= 0) == (reference >= 0.5)).sum())
        return total / len(logits), correct, len(logits)

    task = training.Task(batch_loss, lambda model: evaluate(model, dev, ctx, precision))
    loop = training.LoopConfig(
        epochs=config.epochs,
        eval_split="dev",
        patience=config.patience,
        max_grad_norm=config.max_grad_norm,
        schedule_per_step=True,
        precision=precision,
        desc=config.model,
    )
    return training.train(
        model,
        loader,
        optimizer,
        scheduler=scheduler,
        task=task,
        loop=loop,
        checkpoints=checkpoints,
        device=device,
        ctx=ctx,
    )


def evaluate_best(
    classifier: Classifier, datasets: dict[str, SentenceDataset], out_dir: Path, *, ctx: DistContext
) -> dict[str, training.EvalResult]:
    """The best epoch's weights (rank 0 reads ``best.pt`` and sends them: no shared file system
    needed) scored on train and test; on dev too only when there is no test set (dev was scored
    with these weights during training).

    Example:
        >>> sorted(evaluate_best(classifier, datasets, Path("runs/s"), ctx=ctx))
        ['test', 'train']
    """
    path = out_dir / training.BEST_CHECKPOINT
    best = load_checkpoint(path, KIND)["model"] if ctx.is_main else None
    load_weights(classifier.model, distributed.broadcast_object(best, ctx), path)
    model, precision = classifier.model, classifier.config.autocast_precision()
    scored = [name for name in datasets if name != "dev" or "test" not in datasets]
    loaders = {name: classifier.eval_loader(datasets[name], ctx) for name in scored}
    return {name: evaluate(model, loader, ctx, precision) for name, loader in loaders.items()}


def train(config: Config, *, training_set: TrainingSetFn | None = None) -> Result:
    """Train ``config.model`` on ``config.data`` (a folder with labelled ``train.txt``,
    ``dev.txt`` and optionally ``test.txt``; None: the yelp data set), keep the best dev epoch, and
    write ``best.pt``, ``last.pt``, ``metrics.json``, ``curves.png`` and ``confusion.png`` to
    ``config.out`` (None: ``runs/sentiment/<model>``). ``config.resume`` continues from
    ``last.pt`` (refused when any setting but ``config.RESUMABLE``, or the training data,
    changed). ``training_set`` (distillation) makes what the model trains on from the splits.

    Returns a ``Result``: ``metrics`` ``{split}_acc`` (fractions) and ``{split}_loss``,
    ``history`` (one row per epoch), ``checkpoint`` (``best.pt``, for ``load``), ``files``,
    ``details`` (everything ``metrics.json`` holds).

    Example:
        >>> from dlclassics import sentiment
        >>> res = sentiment.train(sentiment.Config(model="bow", data="my_text_dir", epochs=3))
        >>> sorted(res.metrics)[:2]
        ['dev_acc', 'dev_loss']
    """
    data_dir = data_folder(config)
    out_dir = Path(config.out or f"runs/sentiment/{config.model}")
    if not data_dir.is_dir():  # before the output folder is made
        raise DlcError(f"{data_dir}: no such data folder")
    writer = distributed.launched_rank() == 0
    if writer:  # before any work: a bad --out costs nothing
        prepare_output_dir(out_dir)
    try:
        ctx = distributed.init(resolve_device(config.device))
        with torch_threads(config.threads_for()):
            record = train_and_score(
                config, data_dir, out_dir, ctx=ctx, make_training_set=training_set
            )
        if ctx.is_main:  # every rank holds the same metrics; one writes them
            write_outputs(record, out_dir)
        distributed.barrier(ctx)  # the job ends when the files are complete
    finally:
        if writer:
            release_output_dir(out_dir)
    return as_result(record, out_dir)


def data_folder(config: Config) -> Path:
    """The folder ``config`` trains on: ``config.data``, else the yelp data set (fetched into
    the data root when absent).

    Example:
        >>> data_folder(Config(model="bow", data="my_text_dir"))
        PosixPath('my_text_dir')
    """
    return Path(config.data) if config.data else dataset_path("yelp", config.data_root)


@contextlib.contextmanager
def job() -> Iterator[bool]:
    """One command's training under ``torchrun`` or alone: yields whether this process is the
    one that writes and reports (rank 0), and leaves the process group when done.

    Example:
        >>> with job() as writer:
        ...     result = train(Config(model="bow", data="my_text_dir", epochs=1))
    """
    try:
        yield distributed.launched_rank() == 0
    finally:
        distributed.shutdown()


def as_result(record: dict[str, Any], out_dir: Path) -> Result:
    """The ``Result`` of a run whose ``metrics.json`` is ``record``, written to ``out_dir``.

    Example:
        >>> as_result(json.loads(Path("runs/s/metrics.json").read_text()), Path("runs/s")).checkpoint
        PosixPath('runs/s/best.pt')
    """
    metrics = {f"{split}_acc": value for split, value in record["accuracy"].items()}
    metrics |= {f"{split}_loss": value for split, value in record["loss"].items()}
    files = {role: out_dir / name for role, name in FILES.items()}
    return Result(
        metrics=metrics,
        history=record["history"],
        checkpoint=files["checkpoint"],
        out=out_dir,
        files=files | {"metrics": out_dir / "metrics.json"},
        details=record,
    )


def load(
    path: str | os.PathLike[str] | Sequence[str | os.PathLike[str]] | None = None,
    *,
    device: str | None = None,
    threads: int | None = None,
    precision: str | None = None,
) -> Classifier | Ensemble:
    """Returns the predictor of a trained model: ``path`` a ``best.pt``; several paths, an ``Ensemble``
    of them (their mean P(positive) decides); None, the small model packaged with dlclassics.
    It predicts on ``device`` (None: a GPU when there is one), with ``threads`` CPU threads and
    autocast ``precision`` when given (else each model's own settings).

    Example:
        >>> from dlclassics import sentiment
        >>> clf = sentiment.load()
        >>> clf.predict(["Great food!", "Never again."])
        ['1', '0']
        >>> clf.predict_proba(["Great food!"]).sum(axis=1)
        array([1.])
    """
    if path is None:
        paths: list[str | os.PathLike[str]] = [packaged_model(lambda line: None)]
    elif isinstance(path, (str, os.PathLike)):
        paths = [path]
    else:
        paths = list(path)
    if not paths:
        raise DlcError("sentiment.load: no checkpoint given")
    where = resolve_device(device)
    classifiers = [load_classifier(one, where) for one in paths]
    for classifier in classifiers:
        settings = classifier.config
        classifier.config = replace(
            settings,
            threads=threads or settings.threads,
            precision=precision or settings.precision,
        )
    return classifiers[0] if len(classifiers) == 1 else Ensemble(classifiers)


def train_and_score(
    config: Config,
    data_dir: Path,
    out_dir: Path,
    *,
    ctx: DistContext,
    make_training_set: TrainingSetFn | None = None,
) -> dict[str, Any]:
    """Read, build, train (checkpoints in ``out_dir``) and score the best epoch: the run's
    ``metrics.json`` (see ``describe_run``).

    Example:
        >>> record = train_and_score(Config(model="bow"), Path("my_text_dir"), Path("runs/s"), ctx=ctx)
        >>> record["accuracy"]["dev"]
        0.95
    """
    times = [time.perf_counter()]
    splits = read_splits(data_dir, config)
    if make_training_set is None:  # the train split's sentences and labels, binary cross-entropy
        trained_on = TrainingSet(splits["train"].sentences, splits["train"].labels)
    else:
        trained_on = make_training_set(splits, ctx)
    classifier, extra = build(config, trained_on.sentences)
    config = classifier.config
    classifier.model.to(ctx.device)
    datasets = {name: classifier.dataset(f.sentences, f.labels) for name, f in splits.items()}
    train_set = classifier.dataset(trained_on.sentences, trained_on.targets)
    words = classifier.vocab.words if classifier.vocab is not None else []
    saved, fingerprint = config.checkpoint_config(), data_fingerprint(splits)
    fingerprint |= trained_on.fingerprint
    checkpoints = training.Checkpoints(
        out_dir, KIND, saved, labels=words, fingerprint=fingerprint, resume=config.resume
    )
    times.append(time.perf_counter())
    state = train_classifier(
        classifier,
        train_set,
        datasets["dev"],
        checkpoints=checkpoints,
        ctx=ctx,
        loss=trained_on.loss,
    )
    times.append(time.perf_counter())
    evaluations = evaluate_best(classifier, datasets, out_dir, ctx=ctx)
    times.append(time.perf_counter())
    record = describe_run(config, splits, state, evaluations=evaluations, times=times, ctx=ctx)
    return record | {"data": str(data_dir), **extra, **trained_on.metrics}


def describe_run(
    config: Config,
    splits: dict[str, SentenceFile],
    state: training.LoopState,
    *,
    evaluations: dict[str, training.EvalResult],
    times: list[float],
    ctx: DistContext,
) -> dict[str, Any]:
    """The run's record (accuracies as fractions; ``history``: the rows of
    ``training.LoopState``; ``times``: start, trained from, trained to, scored).

    Example:
        >>> record = describe_run(config, splits, state, evaluations=scores, times=times, ctx=ctx)
        >>> record["best_epoch"]
        3
    """
    best = state.history[state.best_epoch - 1]  # dev's scores when evaluate_best skipped it
    scores = {"dev": (best["dev_acc"], best["dev_loss"])}
    scores |= {name: (e.accuracy, e.loss) for name, e in evaluations.items()}
    shown = "test" if "test" in evaluations else "dev"
    labels, predicted = evaluations[shown].labels, evaluations[shown].predictions
    matrix = confusion_matrix(labels.numpy(), predicted.numpy(), len(CLASSES))
    return {
        "model": config.model,
        "config": asdict(config),
        "sentences": {name: len(f) for name, f in splits.items()},
        "skipped_lines": {name: f.skipped for name, f in splits.items()},
        "accuracy": {name: scores[name][0] for name in splits},
        "loss": {name: scores[name][1] for name in splits},
        "best_epoch": state.best_epoch,
        "stopped_early": state.stopped_early,
        "history": state.history,
        "reference": REFERENCE_ACCURACY.get(config.model),
        "confusion_matrix": {"split": shown, "rows_true_cols_predicted": matrix},
        "seconds": {
            "load": times[1] - times[0],
            "train": times[2] - times[1],
            "evaluate": times[3] - times[2],
            "total": times[3] - times[0],
            "per_epoch": [row["seconds"] for row in state.history],
            "cpu_per_epoch": [row["cpu_seconds"] for row in state.history],
        },
        "threads": torch.get_num_threads(),
        "processes": ctx.world_size,
        "device": ctx.device,
        "files": FILES,
    }


def write_outputs(result: dict[str, Any], out_dir: Path) -> None:
    """``curves.png``, ``confusion.png`` and ``metrics.json``; the accuracies printed in %. The
    figures are titled with the run's ``name`` when it has one (a distilled student: "distilled
    bow ← bow + glove-avg"), else with its model.

    Example:
        >>> write_outputs(record, Path("runs/s"))
        bow: best epoch 3: train 99.00 % / dev 95.00 % / test 94.00 %
    """
    name, matrix = result.get("name") or result["model"], result["confusion_matrix"]
    title = f"{name}: training curves"
    plot_curves(result["history"], out_dir / FILES["curves"], title, ("train", "dev"))
    title = f"{name} on {matrix['split']}"
    plot_confusion(matrix["rows_true_cols_predicted"], CLASSES, out_dir / FILES["confusion"], title)
    atomic_write_json(out_dir / "metrics.json", result)
    accuracies = " / ".join(f"{split} {100 * a:.2f} %" for split, a in result["accuracy"].items())
    print(f"{name}: best epoch {result['best_epoch']}: {accuracies}")
