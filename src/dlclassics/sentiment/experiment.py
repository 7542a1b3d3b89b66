"""One sentiment run end to end: read data, build vocabulary and model, train, evaluate, write files.

Files written to ``out_dir``: ``best.pt`` / ``last.pt`` (checkpoints), ``metrics.json``,
``curves.png`` (loss and accuracy per epoch) and ``confusion.png`` (on test, else dev).

Under ``torchrun`` every process runs this same function (see ``dlclassics.distributed``):
each trains and evaluates its share, all compute the same metrics, and rank 0 writes the files.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from dlclassics import distributed
from dlclassics.errors import DlcError
from dlclassics.io import atomic_write_json, torch_load_checkpoint
from dlclassics.runtime import default_device, seed_everything
from dlclassics.sentiment.batches import make_loader
from dlclassics.sentiment.classifier import Classifier, build_classifier, set_cpu_threads
from dlclassics.sentiment.figures import confusion_matrix, plot_confusion, plot_curves
from dlclassics.sentiment.glove import glove_matrix, glove_wanted_words, load_glove
from dlclassics.sentiment.names import GLOVE_MODELS, MODEL_NAMES
from dlclassics.sentiment.presets import REFERENCE_ACCURACY, configs_for
from dlclassics.sentiment.text import SentenceFile, read_sentences, subsample
from dlclassics.sentiment.train import BEST_CHECKPOINT, Loaders, TrainConfig, evaluate, train
from dlclassics.sentiment.vocab import Vocabulary

SPLITS = ("train", "dev", "test")
# RunOptions fields that override the model's preset when not None
TUNABLE = (
    "epochs",
    "batch_size",
    "lr",
    "weight_decay",
    "dropout",
    "hidden_size",
    "patience",
    "seed",
)


@dataclass
class RunOptions:
    """One run's settings; ``None`` hyperparameters take the model's preset.

    Attributes:
        model: one of ``MODEL_NAMES``.
        data_dir: folder with ``train.txt`` and ``dev.txt`` (labelled), optionally ``test.txt``.
        out_dir: where checkpoints, metrics and figures go.
        glove: a GloVe text file; ``None`` = the packaged 50-d vectors (GloVe models only).
        min_count: words seen fewer times in train map to ``<unk>``.
        train_limit: train on a seeded random N of the training sentences (quick runs, tests).
        threads: PyTorch CPU threads; ``None`` = 1 for the word models, PyTorch's default
            for ``minilm`` (see ``set_cpu_threads``).
    """

    model: str
    data_dir: Path
    out_dir: Path
    epochs: int | None = None
    batch_size: int | None = None
    lr: float | None = None
    weight_decay: float | None = None
    dropout: float | None = None
    hidden_size: int | None = None
    patience: int | None = None
    seed: int = 0
    glove: Path | None = None
    min_count: int = 1
    skip_bad_lines: bool = False
    resume: bool = False
    train_limit: int | None = None
    threads: int | None = None


def read_splits(data_dir: Path, skip_bad_lines: bool) -> dict[str, SentenceFile]:
    """``train`` and ``dev`` (required) and ``test`` (when present) from ``data_dir``."""
    if not data_dir.is_dir():
        raise DlcError(f"{data_dir}: no such data folder")
    splits = {}
    for split in SPLITS:
        path = data_dir / f"{split}.txt"
        if split == "test" and not path.exists():
            continue
        splits[split] = read_sentences(path, labelled=True, skip_bad_lines=skip_bad_lines)
        if splits[split].skipped:
            print(f"{path}: skipped {splits[split].skipped} bad lines")
    return splits


def _build(
    options: RunOptions, train_file: SentenceFile
) -> tuple[Classifier, TrainConfig, dict[str, Any]]:
    """Vocabulary, GloVe initialisation and model for ``options``, its training settings, and
    what to report about GloVe (``{"glove": ...}`` for GloVe models, else empty)."""
    vocab = None
    if options.model != "minilm":  # minilm brings its own tokenizer and sub-word vocabulary
        vocab = Vocabulary.build(train_file.sentences, options.min_count)
    overrides = {name: getattr(options, name) for name in TUNABLE}
    init, extra = None, {}
    if options.model in GLOVE_MODELS:
        glove = load_glove(options.glove, glove_wanted_words(vocab))
        init, coverage = glove_matrix(vocab, glove, options.seed)
        overrides["embed_dim"] = glove.dim
        extra["glove"] = {"source": glove.source, "dim": glove.dim, **coverage}
        print(
            f"GloVe ({glove.source}, {glove.dim}-d): {coverage['words_found']} of "
            f"{coverage['words_total']} vocabulary words found "
            f"({100 * coverage['word_coverage']:.1f} % coverage)"
        )
    model_config, train_config = configs_for(options.model, len(vocab) if vocab else 0, overrides)
    seed_everything(options.seed)  # same seed → same initial weights
    return build_classifier(model_config, vocab, init), train_config, extra


def run_experiment(options: RunOptions) -> dict[str, Any]:
    """Train ``options.model`` on ``options.data_dir`` and write its outputs to ``options.out_dir``.

    Returns:
        The metrics also written to ``metrics.json``: ``model``, ``model_config``,
        ``train_config``, ``vocab_size``, ``glove`` (GloVe models), ``sentences`` per split,
        ``skipped_lines``, ``accuracy`` / ``loss`` per split (accuracy in %), ``best_epoch``,
        ``stopped_early``, ``history``, ``reference`` (reference accuracies, reference models),
        ``confusion_matrix`` with the split it is on, ``seconds`` (load / train / evaluate /
        total and per epoch), ``files``.
    """
    if options.model not in MODEL_NAMES:
        raise DlcError(f"unknown model {options.model!r}; choose from {', '.join(MODEL_NAMES)}")
    started = time.perf_counter()
    set_cpu_threads(options.model, options.threads)
    ctx = distributed.init(default_device())
    device = ctx.device if ctx.enabled else default_device()
    splits = read_splits(options.data_dir, options.skip_bad_lines)
    if options.train_limit:
        splits["train"] = subsample(splits["train"], options.train_limit, options.seed)
    train_file = splits["train"]
    classifier, train_config, extra = _build(options, train_file)
    classifier.model.to(device)
    datasets = {name: classifier.dataset(f.sentences, f.labels) for name, f in splits.items()}
    rank_batch = distributed.per_rank_batch_size(train_config.batch_size, ctx)
    loaders = Loaders(
        train=make_loader(
            datasets["train"], classifier.collate, rank_batch, True, options.seed, ctx
        ),
        dev=make_loader(datasets["dev"], classifier.collate, 256, False, ctx=ctx),
    )
    loaded = time.perf_counter()

    out = options.out_dir
    if ctx.is_main:
        out.mkdir(parents=True, exist_ok=True)
    result = train(
        classifier.model,
        loaders,
        train_config,
        out,
        classifier.checkpoint_info(),
        resume=options.resume,
        device=device,
        ctx=ctx,
    )
    trained = time.perf_counter()

    # rank 0 wrote best.pt; it sends the weights to the others (no shared file system needed)
    best = torch_load_checkpoint(out / BEST_CHECKPOINT)["model_state"] if ctx.is_main else None
    classifier.model.load_state_dict(distributed.broadcast_object(best, ctx))
    # dev was already scored with these weights during training; the confusion matrix is on
    # test, or on dev when there is no test set
    shown = "test" if "test" in datasets else "dev"
    evaluations = {
        name: evaluate(
            classifier.model,
            make_loader(data, classifier.collate, 256, False, ctx=ctx),
            device,
            ctx,
        )
        for name, data in datasets.items()
        if name != "dev" or shown == "dev"
    }
    best_row = result.history[result.best_epoch - 1]
    accuracy = {name: 100 * e.accuracy for name, e in evaluations.items()}
    loss = {name: e.loss for name, e in evaluations.items()}
    accuracy.setdefault("dev", 100 * best_row["dev_accuracy"])
    loss.setdefault("dev", best_row["dev_loss"])
    evaluated = time.perf_counter()

    labels = evaluations[shown].labels.numpy()
    matrix = confusion_matrix(
        labels, (evaluations[shown].probabilities.numpy() >= 0.5).astype(np.int64)
    )
    metrics = {
        "model": options.model,
        "data": str(options.data_dir),
        "model_config": asdict(classifier.config),
        "train_config": asdict(train_config),
        "vocab_size": len(classifier.vocab) if classifier.vocab else None,
        **extra,
        "sentences": {name: len(data) for name, data in datasets.items()},
        "skipped_lines": {name: f.skipped for name, f in splits.items()},
        "accuracy": {name: accuracy[name] for name in datasets},
        "loss": {name: loss[name] for name in datasets},
        "best_epoch": result.best_epoch,
        "stopped_early": result.stopped_early,
        "history": result.history,
        "reference": REFERENCE_ACCURACY.get(options.model),
        "confusion_matrix": {"split": shown, "rows_true_cols_predicted": matrix},
        "seconds": {
            "load": loaded - started,
            "train": trained - loaded,
            "evaluate": evaluated - trained,
            "total": evaluated - started,
            "per_epoch": [row["seconds"] for row in result.history],
            "cpu_per_epoch": [row["cpu_seconds"] for row in result.history],
        },
        "threads": torch.get_num_threads(),
        "processes": ctx.world_size,
        "device": device,
        "files": {
            "curves": "curves.png",
            "confusion": "confusion.png",
            "checkpoint": BEST_CHECKPOINT,
        },
    }
    if ctx.is_main:  # every rank holds the same metrics; one writes them
        plot_curves(result.history, out / "curves.png", f"{options.model}: training curves")
        plot_confusion(matrix, out / "confusion.png", f"{options.model} on {shown}")
        atomic_write_json(out / "metrics.json", metrics)
        accuracies = " / ".join(f"{name} {accuracy[name]:.2f} %" for name in datasets)
        print(f"{options.model}: best epoch {result.best_epoch}: {accuracies}")
    distributed.barrier(ctx)  # the job ends when the files are complete
    return metrics
