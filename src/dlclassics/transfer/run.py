"""The transfer-learning API: ``train(Config) -> Result`` and ``load(path) -> Classifier``.

A run scans the folder (splitting off validation images when it has no ``val/``), then for each
mode measures the backbone before training, trains with the shared loop
(``dlclassics.training``), and writes metrics, figures and checkpoints into ``<out>/<mode>/``.
Under ``torchrun`` the feature cache is computed shard by shard and gathered, each rank trains
on its share of every batch (DDP), and rank 0 writes files.
"""

from __future__ import annotations

import itertools
import os
import time
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.utils.data import DataLoader, DistributedSampler, TensorDataset
from torchvision import transforms as T

from dlclassics import distributed, figures
from dlclassics.backbones import load_backbone, load_state_dict_file, resolve_weights, weights_key
from dlclassics.data.images import load_rgb
from dlclassics.data.registry import dataset_path
from dlclassics.distributed import DistContext
from dlclassics.errors import DlcError
from dlclassics.io import atomic_write_json
from dlclassics.outputs import prepare_output_dir, release_output_dir
from dlclassics.predictions import Prediction
from dlclassics.results import Result
from dlclassics.runtime import resolve_device, seed_everything, torch_threads
from dlclassics.tables import markdown_table, percent
from dlclassics.training import (
    BEST_CHECKPOINT,
    Checkpoints,
    EvalResult,
    LoopConfig,
    LoopState,
    Task,
)
from dlclassics.training import train as train_loop
from dlclassics.transfer.classifier import Classifier, predict_files
from dlclassics.transfer.config import Config
from dlclassics.transfer.data import (
    EvalViews,
    ImageFolderData,
    LabelledImages,
    Samples,
    fingerprint,
    labelled_image_args,
    limit_per_class,
    scan_image_folder,
    train_transform,
)
from dlclassics.transfer.features import CachedViews, FeatureCache, build_feature_cache
from dlclassics.transfer.model import (
    CHECKPOINT_KIND,
    TransferModel,
    ViewAverage,
    before_training,
    classify_batch,
    describe_before_training,
    evaluate,
)

__all__ = ["Classifier", "Config", "load", "train"]

FIGURES = ("curves", "predictions", "confusion")
RUN_SETTINGS = ("protocol", "backbone", "weights", "device", "seed")  # in every metrics.json
SELECTION_NOTE = (
    "best_val_acc picks the epoch by its accuracy on the validation set itself (there is no "
    "separate test set), so it is optimistic; final_val_acc, after a fixed number of epochs, "
    "is the unbiased figure"
)


def make_optimizer(model: nn.Module, config: Config) -> torch.optim.SGD:
    """SGD over the trainable parameters: a ``TransferModel``'s head at ``lr`` and its backbone
    at ``lr * backbone_lr_scale``; any other module (a head on cached features) at ``lr``.
    ``config`` is one mode's (``Config.for_mode``).

    Example:
        >>> make_optimizer(nn.Linear(4, 2), Config().for_mode("freeze")).param_groups[0]["lr"]
        0.001
    """
    if isinstance(model, TransferModel):
        backbone = [p for p in model.backbone.parameters() if p.requires_grad]
        groups = [{"params": list(model.head.parameters()), "lr": config.lr}]
        if backbone:
            groups.append({"params": backbone, "lr": config.lr * config.backbone_lr_scale})
    else:
        groups = [{"params": [p for p in model.parameters() if p.requires_grad], "lr": config.lr}]
    return torch.optim.SGD(
        groups, lr=config.lr, momentum=config.momentum, weight_decay=config.weight_decay
    )


def make_scheduler(
    optimizer: torch.optim.Optimizer, config: Config
) -> torch.optim.lr_scheduler.LRScheduler:
    """Per-epoch learning-rate schedule of one mode's ``config``: StepLR(lr_step, lr_gamma) or
    cosine decay to 0 over its epochs.

    Example:
        >>> make_scheduler(optimizer, Config(schedule="cosine").for_mode("freeze")).T_max
        25
    """
    if config.schedule == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=max(config.epochs, 1))
    return torch.optim.lr_scheduler.StepLR(
        optimizer, step_size=config.lr_step, gamma=config.lr_gamma
    )


def training_setup(
    model: TransferModel,
    cache: FeatureCache | None,
    config: Config,
    *,
    train_samples: Samples,
    val_samples: Samples,
    ctx: DistContext,
) -> tuple[nn.Module, DataLoader, Task]:
    """What the loop trains, on which batches, and how it is scored: with a ``cache`` (freeze
    mode) ``model.head`` on stored feature vectors, else the whole ``model`` on images. The
    ``DistributedSampler`` shuffles per epoch, and K ranks take ``batch_size / K`` each.

    Example:
        >>> trained, loader, task = training_setup(model, cache, config, train_samples=data.train,
        ...                                        val_samples=data.val, ctx=SINGLE_PROCESS)
        >>> trained is model.head  # with a feature cache, only the head trains
        True
    """
    if cache is not None:
        trained: nn.Module = model.head
        train_set: Any = CachedViews(cache.train, cache.train_labels, config.seed)
        val_loader = DataLoader(TensorDataset(cache.val, cache.val_labels), batch_size=256)
    else:
        trained = model
        pre = model.backbone.preprocessing
        train_set = LabelledImages(train_samples, train_transform(pre), seed=config.seed)
        val_views = EvalViews(pre, config.tta)
        val_loader = DataLoader(LabelledImages(val_samples, val_views), batch_size=32)
    sampler = DistributedSampler(
        train_set, ctx.world_size, ctx.rank, shuffle=True, seed=config.seed
    )
    batch_size = distributed.per_rank_batch_size(config.batch_size, ctx)
    task = Task(
        batch_loss=partial(classify_batch, device=ctx.device),
        evaluate=lambda module: evaluate(ViewAverage(module), val_loader, ctx.device),
    )
    return trained, DataLoader(train_set, batch_size=batch_size, sampler=sampler), task


def mode_checkpoints(
    config: Config, data: ImageFolderData, *, train_samples: Samples, model: nn.Module
) -> Checkpoints:
    """Where the loop saves one mode (``config`` is that mode's): ``best.pt`` holds the whole
    ``model`` (also when only its head trains), with what ``load`` needs to rebuild it and what
    a resumed run must match.

    Example:
        >>> config = Config(out="runs/t").for_mode("freeze")
        >>> mode_checkpoints(config, data, train_samples=data.train, model=model).folder
        PosixPath('runs/t/freeze')
    """
    settings = {
        "backbone": config.backbone,
        "weights": os.fspath(config.weights),  # a Path would not load with weights_only
        "mode": config.mode,
        "train": config.training_settings(),
        "flip_tta": config.tta,
        "seed": config.seed,
    }
    return Checkpoints(
        folder=Path(config.out) / config.mode,
        kind=CHECKPOINT_KIND,
        config=settings,
        labels=data.classes,
        fingerprint={"images": fingerprint(train_samples + data.val)},
        best_weights=model.state_dict,
        resume=config.resume,
    )


def run_mode(
    config: Config, data: ImageFolderData, ctx: DistContext, *, announce: bool = True
) -> dict[str, Any]:
    """Measure, train and write one mode's outputs into ``out/<mode>`` (``config`` is that
    mode's); return its metrics. With several processes every rank returns them; rank 0 writes
    the files. ``announce``: print the accuracies before training (once per run is enough).

    Example:
        >>> config = Config(data="my_images", out="runs/t").for_mode("freeze")
        >>> run_mode(config, data, SINGLE_PROCESS)
        {'random_head_val_acc': 0.5, ..., 'best_val_acc': 1.0, ...}
    """
    start = time.perf_counter()
    seed_everything(config.seed)
    backbone = load_backbone(config.backbone, config.weights).to(ctx.device)
    train_samples = limit_per_class(data.train, config.train_per_class)
    cached = config.mode == "freeze" and config.views > 0
    cache = build_feature_cache(
        backbone,
        train_samples,
        data.val,
        weights_key=weights_key(config.backbone, config.weights),
        views=config.views if cached else 0,
        flip_tta=config.tta,
        seed=config.seed,
        cache_dir=Path(config.cache_dir or Path(config.out) / "feature_cache"),
        ctx=ctx,
    )
    measured, head = before_training(
        backbone,
        cache.val,
        cache.val_labels,
        classes=data.classes,
        head_init=config.head_init,
        seed=config.seed,
    )
    if announce and ctx.is_main:
        print(describe_before_training(measured))
    frozen = config.mode == "freeze"
    model = TransferModel(backbone, head, frozen_backbone=frozen, frozen_bn=config.frozen_bn)
    trained, loader, task = training_setup(
        model,
        cache if cached else None,
        config,
        train_samples=train_samples,
        val_samples=data.val,
        ctx=ctx,
    )
    optimizer = make_optimizer(trained, config)
    scheduler = make_scheduler(optimizer, config)
    checkpoints = mode_checkpoints(config, data, train_samples=train_samples, model=model)
    # a TransferModel's backbone keeps its ImageNet classifier, which never reaches our logits:
    # DDP must not wait for its gradients
    loop = LoopConfig(
        config.epochs,
        find_unused_parameters=not cached,
        precision=config.precision,
        desc=config.mode,
    )
    setup_seconds = time.perf_counter() - start
    with torch_threads(1 if cached else None):  # a linear head: threads cost more than they give
        state = train_loop(
            trained,
            loader,
            optimizer,
            scheduler=scheduler,
            task=task,
            loop=loop,
            checkpoints=checkpoints,
            device=ctx.device,
            ctx=ctx,
        )
    trained_metrics = mode_metrics(config, data, num_train=len(train_samples), state=state)
    metrics = {**measured, **trained_metrics}
    metrics["feature_cache"] = {"used_for_training": cached, **cache.describe()}
    metrics["timing"] = timing(
        state, setup_seconds=setup_seconds, start=start, resumed=config.resume
    )
    if ctx.is_main:
        crop = backbone.preprocessing.crop
        write_mode_outputs(
            config, data, state, val_labels=cache.val_labels, crop=crop, metrics=metrics
        )
    distributed.barrier(ctx)
    return metrics


def timing(
    state: LoopState, *, setup_seconds: float, start: float, resumed: bool
) -> dict[str, Any]:
    """The ``timing`` entry of a mode's metrics: setup, each epoch, training and total seconds.

    Example:
        >>> started = time.perf_counter()
        >>> timing(state, setup_seconds=2.0, start=started, resumed=False)["setup_seconds"]
        2.0
    """
    epoch_seconds = [row["seconds"] for row in state.history]
    return {
        "setup_seconds": setup_seconds,
        "epoch_seconds": epoch_seconds,
        "train_seconds": sum(epoch_seconds),
        "total_seconds": time.perf_counter() - start,
        "resumed": resumed,
    }


def write_mode_outputs(
    config: Config,
    data: ImageFolderData,
    state: LoopState,
    *,
    val_labels: torch.Tensor,
    crop: int,
    metrics: dict[str, Any],
) -> None:
    """Rank 0's files of one mode: its figures (val images shown as the ``crop`` the model saw)
    and ``metrics.json`` (``metrics["files"]`` is set to their names), and the line that sums
    the mode up.

    Example:
        >>> write_mode_outputs(config, data, state, val_labels=labels, crop=224, metrics=metrics)
        freeze: best val acc 97.39 % (epoch 4), final-epoch val acc 96.73 %; best is selected ...
    """
    best = EvalResult(
        0.0, state.best_acc, probabilities=state.best_probabilities, labels=val_labels
    )
    folder = Path(config.out) / config.mode
    metrics["files"] = write_figures(folder, data, best, mode=config.mode, state=state, crop=crop)
    atomic_write_json(folder / "metrics.json", metrics)
    print(
        f"{config.mode}: best val acc {100 * state.best_acc:.2f} % (epoch {state.best_epoch}), "
        f"final-epoch val acc {100 * metrics['final_val_acc']:.2f} %; best is selected on val, "
        "so optimistic"
    )


def mode_metrics(
    config: Config, data: ImageFolderData, *, num_train: int, state: LoopState
) -> dict[str, Any]:
    """The trained mode's figures for ``metrics.json`` (accuracies as fractions; the
    ``*_correct`` counts are the same figures as numbers of val images).

    Example:
        >>> mode_metrics(config, data, num_train=244, state=state)["best_val_correct"]
        149
    """
    final = state.history[-1]["val_acc"]
    num_val = len(data.val)
    return {
        "mode": config.mode,
        **{name: getattr(config, name) for name in RUN_SETTINGS},
        "classes": data.classes,
        "num_train": num_train,
        "num_val": num_val,
        "train_config": config.training_settings(),
        "history": state.history,
        "best_val_acc": state.best_acc,
        "best_val_correct": round(state.best_acc * num_val),
        "best_epoch": state.best_epoch,
        "final_val_acc": final,
        "final_val_correct": round(final * num_val),
        "selection_note": SELECTION_NOTE,
    }


def plot_predictions(
    data: ImageFolderData, best: EvalResult, path: Path, *, crop: int, count: int = 16
) -> Path:
    """A grid of ``count`` val images as the ``crop`` centre crop the model saw, titled
    ``pred <class> (probability) / true <class>``: the mistakes first, framed in red, then the
    correct ones alternating by class.

    Example:
        >>> plot_predictions(data, best, Path("runs/t/freeze/predictions.png"), crop=224)
        PosixPath('runs/t/freeze/predictions.png')
    """
    predictions = best.predictions.tolist()
    labels = best.labels.tolist()
    ok = [p == t for p, t in zip(predictions, labels, strict=True)]
    wrong = [i for i in range(len(ok)) if not ok[i]]
    right = [i for i in range(len(ok)) if ok[i]]
    nth: defaultdict[int, Iterator[int]] = defaultdict(itertools.count)  # per class
    rank = {i: (next(nth[labels[i]]), labels[i]) for i in right}  # k-th of its class
    shown = (wrong + sorted(right, key=rank.__getitem__))[:count]
    mistakes = [not ok[i] for i in shown]
    captions = [
        f"{'WRONG ' if bad else ''}pred {data.classes[predictions[i]]} "
        f"({best.probabilities[i, predictions[i]]:.2f})\ntrue {data.classes[labels[i]]}"
        for i, bad in zip(shown, mistakes, strict=True)
    ]
    title = f"val predictions ({len(wrong)} mistakes of {len(data.val)}; mistakes first, in red)"
    view = T.Compose([T.Resize(crop), T.CenterCrop(crop)])
    images = [view(load_rgb(data.val[i][0])) for i in shown]
    return figures.plot_image_grid(
        images, captions, path, title=title, columns=4, mistakes=mistakes
    )


def write_figures(
    out: Path, data: ImageFolderData, best: EvalResult, *, mode: str, state: LoopState, crop: int
) -> dict[str, str]:
    """curves.png, predictions.png and confusion.png in ``out`` (the mode's folder); returns
    every output's name relative to the experiment folder (``{"curves": "<mode>/curves.png"…}``).

    Example:
        >>> folder = Path("runs/t/freeze")
        >>> write_figures(folder, data, best, mode="freeze", state=state, crop=224)["curves"]
        'freeze/curves.png'
    """
    title = f"{mode}: best val acc {100 * state.best_acc:.2f} % (epoch {state.best_epoch})"
    figures.plot_curves(state.history, out / "curves.png", title, splits=("train", "val"))
    plot_predictions(data, best, out / "predictions.png", crop=crop)
    classes = data.classes
    matrix = figures.confusion_matrix(best.labels.numpy(), best.predictions.numpy(), len(classes))
    figures.plot_confusion(matrix, classes, out / "confusion.png", title=f"{mode}, best epoch")
    names = [f"{name}.png" for name in FIGURES] + ["best.pt", "last.pt", "metrics.json"]
    return {name.split(".")[0]: f"{mode}/{name}" for name in names}


def check_before_work(config: Config) -> None:
    """Refuse a bad ``weights`` file, ``out`` or ``cache_dir`` before any work, so they cost
    nothing; rank 0 creates and locks ``out`` (``outputs.prepare_output_dir``).

    Example:
        >>> check_before_work(Config(out="a_file.txt"))
        Traceback (most recent call last):
        dlclassics.errors.DlcError: a_file.txt: exists and is not a folder
    """
    if isinstance(resolve_weights(config.backbone, config.weights), Path):
        load_state_dict_file(config.weights)
    if distributed.launched_rank() == 0:
        prepare_output_dir(config.out)
        if config.cache_dir is not None:
            prepare_output_dir(config.cache_dir, lock=False)


def scan_data(config: Config, ctx: DistContext) -> ImageFolderData:
    """The run's images: ``config.data`` (None: the hymenoptera data set), scanned and, without
    ``val/``, split; rank 0 says what it found.

    Example:
        >>> scan_data(Config(data="my_images"), SINGLE_PROCESS).classes
        my_images: no val/ folder; held out 20 % of each class for validation (seed 0): ...
        my_images: 2 classes, 10 train / 2 val images, 0 skipped
        ['ants', 'bees']
    """
    folder = Path(config.data) if config.data else dataset_path("hymenoptera", config.data_root)
    data = scan_image_folder(folder, config.val_fraction, config.seed)
    if ctx.is_main:
        if data.split_note:
            print(data.split_note)
        print(
            f"{folder}: {len(data.classes)} classes, {len(data.train)} train / "
            f"{len(data.val)} val images, {len(data.skipped)} skipped"
        )
    return data


def train(config: Config) -> Result:
    """Train every mode of ``config`` and write the run folder ``config.out``.

    Writes ``metrics.json`` (the run) and, per mode, ``<mode>/best.pt``, ``last.pt``,
    ``metrics.json``, ``curves.png``, ``predictions.png`` and ``confusion.png``; prints one line
    per epoch. Returns a ``Result``: ``metrics`` (``val_acc``: the best epoch's validation
    accuracy, the one ``checkpoint`` holds; ``final_val_acc``; ``random_head_val_acc``,
    ``initial_head_val_acc`` and, when the classes name ImageNet classes,
    ``zero_shot_val_acc``), the ``history`` of that mode, ``checkpoint`` (its ``best.pt``: of
    the mode with the higher ``val_acc`` when ``mode="both"``), ``files`` by role
    (``metrics``, ``<mode>_checkpoint``, ``<mode>_curves`` …) and ``details`` (the mode chosen,
    every mode's full metrics, the classes). Bad input is a DlcError.

    Example:
        >>> from dlclassics import transfer
        >>> result = transfer.train(transfer.Config(data="my_images", mode="freeze", epochs=3,
        ...                                         out="runs/t"))
        >>> result.metrics["val_acc"], result.checkpoint
        (0.95, PosixPath('runs/t/freeze/best.pt'))
    """
    check_before_work(config)
    try:
        ctx = distributed.init(resolve_device(config.device))
        config = replace(config, device=ctx.device)  # under torchrun with GPUs: this rank's GPU
        with torch_threads(config.threads):
            summary = train_modes(config, ctx)
    finally:
        distributed.shutdown()
        release_output_dir(config.out)
    return summarise(config, summary)


def train_modes(config: Config, ctx: DistContext) -> dict[str, Any]:
    """Scan the data once, run every mode of ``config``, write the run's ``metrics.json``;
    return what it holds.

    Example:
        >>> train_modes(Config(data="my_images", mode="freeze"), SINGLE_PROCESS)["modes"].keys()
        dict_keys(['freeze'])
    """
    start = time.perf_counter()
    data = scan_data(config, ctx)
    scan_seconds = time.perf_counter() - start
    modes = {
        mode: run_mode(config.for_mode(mode), data, ctx, announce=i == 0)
        for i, mode in enumerate(config.modes)
    }
    summary = {
        "data": data.root,
        "classes": data.classes,
        "num_train": len(data.train),
        "num_val": len(data.val),
        "split_note": data.split_note,
        "skipped": [{"path": path, "reason": reason} for path, reason in data.skipped],
        **{name: getattr(config, name) for name in RUN_SETTINGS},
        "scan_seconds": scan_seconds,
        "total_seconds": time.perf_counter() - start,
        "selection_note": SELECTION_NOTE,
        "modes": modes,
    }
    if ctx.is_main:
        atomic_write_json(Path(config.out) / "metrics.json", summary)
        print("\n" + accuracy_table(modes))
        print(f"\nnote: {SELECTION_NOTE}")
        print(f"wrote {Path(config.out) / 'metrics.json'}")
    distributed.barrier(ctx)
    return summary


def accuracy_table(modes: dict[str, dict[str, Any]]) -> str:
    """A markdown table of the val accuracies (%) of every mode's metrics.

    Example:
        >>> print(accuracy_table(result.details["modes"]))  # doctest: +SKIP
        | mode | random head % | zero-shot % | best val % (epoch) | final val % |
        ...
    """
    rows = []
    for mode, m in modes.items():
        best = f"{100 * m['best_val_acc']:.2f} ({m['best_epoch']})"
        untrained = [percent(m["random_head_val_acc"]), percent(m["zero_shot_val_acc"])]
        rows.append([mode, *untrained, best, percent(m["final_val_acc"])])
    columns = ["mode", "random head %", "zero-shot %", "best val % (epoch)", "final val %"]
    return markdown_table(columns, rows)


def summarise(config: Config, summary: dict[str, Any]) -> Result:
    """The ``Result`` of a run from its ``metrics.json`` contents (see ``train``).

    Example:
        >>> summarise(config, json.loads(Path("runs/t/metrics.json").read_text())).checkpoint
        PosixPath('runs/t/freeze/best.pt')
    """
    out = Path(config.out)
    modes = summary["modes"]
    chosen = max(modes, key=lambda mode: modes[mode]["best_val_acc"])  # the first on a tie
    m = modes[chosen]
    metrics = {
        "val_acc": m["best_val_acc"],
        "final_val_acc": m["final_val_acc"],
        "random_head_val_acc": m["random_head_val_acc"],
        "initial_head_val_acc": m["initial_head_val_acc"],
    }
    if m["zero_shot_val_acc"] is not None:
        metrics["zero_shot_val_acc"] = m["zero_shot_val_acc"]
    files = {"metrics": out / "metrics.json"}
    for mode in modes:
        files |= {f"{mode}_metrics": out / mode / "metrics.json"}
        files |= {f"{mode}_checkpoint": out / mode / BEST_CHECKPOINT}
        files |= {f"{mode}_{name}": out / mode / f"{name}.png" for name in FIGURES}
    details = {
        "mode": chosen,
        "best_epoch": m["best_epoch"],
        "classes": summary["classes"],
        "num_train": summary["num_train"],
        "num_val": summary["num_val"],
        "modes": modes,
    }
    return Result(
        metrics=metrics,
        history=m["history"],
        checkpoint=out / chosen / BEST_CHECKPOINT,
        out=out,
        files=files,
        details=details,
    )


def predict_paths(
    classifier: Classifier, inputs: Sequence[str | os.PathLike[str]], topk: int | None = None
) -> list[Prediction]:
    """``dlc transfer predict``'s rows: ``inputs`` (images, folders, ``-`` for paths on standard
    input) classified, each image below ``<folder>/<class>/`` with its true class; unreadable
    images are skipped with a warning. No image, or none readable, is a DlcError.

    Example:
        >>> [row.label for row in predict_paths(transfer.load("runs/t"), ["a.jpg"], topk=2)]
        ['ants']
    """
    files = labelled_image_args(inputs, classifier.classes)
    if not files:
        raise DlcError(f"{' '.join(map(os.fspath, inputs))}: no image files found")
    rows = predict_files(classifier, files, topk)
    if not rows:
        raise DlcError("none of the given images could be read")
    return rows


def load(
    path: str | os.PathLike[str], device: str | None = None, precision: str = "auto"
) -> Classifier:
    """Returns the classifier saved in a ``best.pt`` (or in the run or mode folder holding it), on
    ``device`` (None: the GPU when one is visible, else the CPU). It takes image paths or PIL
    images, mixed: ``predict`` gives class names, ``predict_proba`` an (N, len(classes)) array
    whose rows sum to 1, ``classes`` names the columns. A file that is no transfer ``best.pt``
    is a DlcError.

    Example:
        >>> model = transfer.load("runs/t/freeze/best.pt")
        >>> model.classes, model.predict(["a.jpg"])
        (['ants', 'bees'], ['ants'])
    """
    return Classifier.from_checkpoint(best_checkpoint(path), resolve_device(device), precision)


def best_checkpoint(path: str | os.PathLike[str]) -> Path:
    """``path`` when it is a file; in a folder, its ``best.pt``, or that of its one mode folder.
    A run folder of both modes is a DlcError naming the two files to choose from.

    Example:
        >>> best_checkpoint("runs/t")  # trained with mode="freeze"
        PosixPath('runs/t/freeze/best.pt')
    """
    given = Path(path)
    if not given.is_dir():
        return given
    if (given / BEST_CHECKPOINT).is_file():
        return given / BEST_CHECKPOINT
    found = sorted(given.glob(f"*/{BEST_CHECKPOINT}"))
    if len(found) != 1:
        names = " or ".join(str(p) for p in found) or f"a {BEST_CHECKPOINT}"
        raise DlcError(f"{given}: a run folder; load {names}")
    return found[0]
