"""One sentiment run end to end: read the data, build vocabulary and model, train with the shared
loop (``dlclassics.training``), score the best epoch on every split, write the outputs. Under
``torchrun`` every process trains and evaluates its share, and rank 0 writes the files."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import torch
from torch import nn

from dlclassics import distributed, training
from dlclassics.checkpoint import load_checkpoint, load_weights
from dlclassics.distributed import DistContext
from dlclassics.errors import DlcError
from dlclassics.figures import confusion_matrix, plot_confusion, plot_curves
from dlclassics.io import atomic_write_json
from dlclassics.outputs import prepare_output_dir, release_output_dir
from dlclassics.runtime import resolve_device, seed_everything, torch_threads
from dlclassics.sentiment.classifier import (
    KIND,
    Classifier,
    SentenceDataset,
    build_classifier,
    evaluate,
    make_loader,
    to_device,
)
from dlclassics.sentiment.config import GLOVE_MODELS, REFERENCE_ACCURACY, SentimentConfig
from dlclassics.sentiment.glove import glove_matrix, load_glove_text, load_packaged_glove
from dlclassics.sentiment.text import SentenceFile, read_sentences, subsample
from dlclassics.sentiment.vocab import Vocabulary
from dlclassics.training import train

SPLITS = ("train", "dev", "test")
CLASSES = ("negative", "positive")
FIGURE_FILES = {"curves": "curves.png", "confusion": "confusion.png"}
FILES = {**FIGURE_FILES, "checkpoint": training.BEST_CHECKPOINT}

# (logits (N,), a batch's targets) -> (the loss summed over the batch, (N,) targets in [0, 1]
# that the training accuracy counts against: a prediction is right on the side of 0.5 they are)
LossFn = Callable[[torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]]


def bce_sum(logits: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Binary cross-entropy of ``logits`` (N,) against ``labels`` (N,) in [0, 1], summed; and the
    labels themselves for the accuracy."""
    return nn.functional.binary_cross_entropy_with_logits(logits, labels, reduction="sum"), labels


@dataclass
class TrainingSet:
    """What a run trains on. Plain training: the train split's sentences, their 0/1 labels and
    ``bce_sum``; distillation (``sentiment.distill``) adds sentences, targets and its loss."""

    sentences: list[list[str]]  # also what the vocabulary is built from
    targets: list[Any]  # one per sentence, as ``loss`` reads them (collated by ``label_tensor``)
    loss: LossFn = bce_sum
    fingerprint: dict[str, Any] = field(default_factory=dict)  # joins the checkpoint's
    metrics: dict[str, Any] = field(default_factory=dict)  # joins metrics.json


# (the splits read, this process's context) -> the training set; None: plain training
TrainingSetFn = Callable[[dict[str, SentenceFile], DistContext], TrainingSet]


def read_splits(data_dir: Path, config: SentimentConfig) -> dict[str, SentenceFile]:
    """``train`` and ``dev`` (required) and ``test`` (when present) from ``data_dir``, the
    training sentences cut to ``config.train_limit``."""
    splits = {}
    for split in SPLITS:
        path = data_dir / f"{split}.txt"
        if split == "test" and not path.exists():
            continue
        splits[split] = read_sentences(path, True, config.skip_bad_lines)
        if splits[split].skipped:
            print(f"{path}: skipped {splits[split].skipped} bad lines")
    if config.train_limit:
        splits["train"] = subsample(splits["train"], config.train_limit, config.seed)
    return splits


def data_fingerprint(splits: dict[str, SentenceFile]) -> dict[str, Any]:
    """What names the training data in a checkpoint: a resumed run must train on the same."""
    digest = hashlib.sha256()
    for split in ("train", "dev"):
        for label, tokens in zip(splits[split].labels or [], splits[split].sentences, strict=True):
            digest.update(f"{label} {' '.join(tokens)}\n".encode())
    sentences = {split: len(splits[split]) for split in ("train", "dev")}
    return {"sentences": sentences, "sha256": digest.hexdigest()}


def build(
    config: SentimentConfig, sentences: Sequence[Sequence[str]]
) -> tuple[Classifier, dict[str, Any]]:
    """Vocabulary (of the training ``sentences``), GloVe start and model for ``config``
    (``vocab_size`` and ``embed_dim`` filled in from the data and GloVe), and what to report
    about GloVe (``{"glove": ...}`` or ``{}``)."""
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


def schedule(optimizer: torch.optim.Optimizer, config: SentimentConfig, steps: int) -> Any:
    """Constant rate, or linear warm-up then linear decay over ``steps`` optimiser steps."""
    warmup = max(1, round(config.warmup_fraction * steps))

    def factor(step: int) -> float:
        if config.warmup_fraction <= 0:
            return 1.0
        if step < warmup:
            return (step + 1) / warmup
        return max(0.0, (steps - step) / max(1, steps - warmup))

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


def train_classifier(
    classifier: Classifier, train_set: SentenceDataset, dev_set: SentenceDataset,
    checkpoints: training.Checkpoints, ctx: DistContext, loss: LossFn = bce_sum,
) -> training.LoopState:  # fmt: skip
    """AdamW on the batch mean of ``loss`` (binary cross-entropy against the labels unless
    distilling), the schedule stepped every batch, early stopping on dev accuracy: the shared
    loop with the sentiment loss and evaluation."""
    config, model, device = classifier.config, classifier.model, ctx.device
    rank_batch = distributed.per_rank_batch_size(config.batch_size, ctx)
    loader = make_loader(train_set, classifier.collate, rank_batch, True, config.seed, ctx)
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
    return train(model, loader, optimizer, scheduler, task, loop, checkpoints, device, ctx)


def evaluate_best(
    classifier: Classifier, datasets: dict[str, SentenceDataset], out_dir: Path, ctx: DistContext
) -> dict[str, training.EvalResult]:
    """The best epoch's weights (rank 0 reads ``best.pt`` and sends them: no shared file system
    needed) scored on train and test; on dev too only when there is no test set (dev was scored
    with these weights during training)."""
    path = out_dir / training.BEST_CHECKPOINT
    best = load_checkpoint(path, KIND)["model"] if ctx.is_main else None
    load_weights(classifier.model, distributed.broadcast_object(best, ctx), path)
    model, precision = classifier.model, classifier.config.autocast_precision()
    scored = [name for name in datasets if name != "dev" or "test" not in datasets]
    loaders = {name: classifier.eval_loader(datasets[name], ctx) for name in scored}
    return {name: evaluate(model, loader, ctx, precision) for name, loader in loaders.items()}


def run(
    config: SentimentConfig, data_dir: str | Path, out_dir: str | Path, resume: bool = False,
    device: str | None = None, training_set: TrainingSetFn | None = None,
) -> dict[str, Any]:  # fmt: skip
    """Train ``config.model`` on ``data_dir``, write its outputs to ``out_dir``; the metrics.
    ``resume`` continues from ``out_dir/last.pt`` when it exists (refused when any setting but
    ``config.RESUMABLE``, or the training data, changed). ``training_set`` (distillation) makes
    what the model trains on from the splits; dev and test are scored as always."""
    data_dir, out_dir = Path(data_dir), Path(out_dir)
    if not data_dir.is_dir():  # before the output folder is made
        raise DlcError(f"{data_dir}: no such data folder")
    writer = distributed.launched_rank() == 0
    if writer:  # before any work: a bad --out costs nothing
        prepare_output_dir(out_dir)
    try:
        ctx = distributed.init(resolve_device(device))
        with torch_threads(config.threads_for()):
            result = train_and_score(config, data_dir, out_dir, resume, ctx, training_set)
        if ctx.is_main:  # every rank holds the same metrics; one writes them
            write_outputs(result, out_dir)
        distributed.barrier(ctx)  # the job ends when the files are complete
    finally:
        if writer:
            release_output_dir(out_dir)
    return result


def train_and_score(
    config: SentimentConfig, data_dir: Path, out_dir: Path, resume: bool, ctx: DistContext,
    make_training_set: TrainingSetFn | None = None,
) -> dict[str, Any]:  # fmt: skip
    """Read, build, train (checkpoints in ``out_dir``) and score the best epoch: the run's
    ``metrics.json`` (see ``describe_run``)."""
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
    checkpoints = training.Checkpoints(out_dir, KIND, saved, words, fingerprint, resume=resume)
    times.append(time.perf_counter())
    state = train_classifier(
        classifier, train_set, datasets["dev"], checkpoints, ctx, trained_on.loss
    )
    times.append(time.perf_counter())
    evaluations = evaluate_best(classifier, datasets, out_dir, ctx)
    times.append(time.perf_counter())
    result = describe_run(config, splits, state, evaluations, times, ctx)
    return result | {"data": str(data_dir), **extra, **trained_on.metrics}


def describe_run(
    config: SentimentConfig, splits: dict[str, SentenceFile], state: training.LoopState,
    evaluations: dict[str, training.EvalResult], times: list[float], ctx: DistContext,
) -> dict[str, Any]:  # fmt: skip
    """The run's record (accuracies as fractions; ``history``: the rows of
    ``training.LoopState``; ``times``: start, trained from, trained to, scored)."""
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
    """``curves.png``, ``confusion.png`` and ``metrics.json``; the accuracies printed in %."""
    name, matrix = result["model"], result["confusion_matrix"]
    title = f"{name}: training curves"
    plot_curves(result["history"], out_dir / FILES["curves"], title, ("train", "dev"))
    title = f"{name} on {matrix['split']}"
    plot_confusion(matrix["rows_true_cols_predicted"], CLASSES, out_dir / FILES["confusion"], title)
    atomic_write_json(out_dir / "metrics.json", result)
    accuracies = " / ".join(f"{split} {100 * a:.2f} %" for split, a in result["accuracy"].items())
    print(f"{name}: best epoch {result['best_epoch']}: {accuracies}")
