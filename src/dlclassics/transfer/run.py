"""One transfer-learning run, end to end: scan the folder, then for each mode measure the backbone
before training, train with the shared loop (``dlclassics.training``), and write metrics, figures
and checkpoints into ``<out>/<mode>/``. Under ``torchrun`` the feature cache is computed shard by
shard and gathered, each rank trains on its share of every batch (DDP), and rank 0 writes files.
"""

from __future__ import annotations

import itertools
import time
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import asdict, replace
from functools import partial
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.utils.data import DataLoader, DistributedSampler, TensorDataset

from dlclassics import distributed, figures
from dlclassics.backbones import load_backbone, weights_key
from dlclassics.data.images import load_rgb
from dlclassics.distributed import DistContext
from dlclassics.io import atomic_write_json
from dlclassics.runtime import seed_everything, torch_threads
from dlclassics.training import Checkpoints, EvalResult, LoopConfig, LoopState, Task, train
from dlclassics.transfer.config import TrainConfig, TransferConfig
from dlclassics.transfer.data import (
    EvalViews,
    ImageFolderData,
    LabelledImages,
    fingerprint,
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
    evaluate,
)

FIGURES = ("curves", "predictions", "confusion")
RUN_SETTINGS = ("protocol", "backbone", "weights", "device", "seed")  # in every metrics.json
SELECTION_NOTE = (
    "best_val_acc picks the epoch by its accuracy on the validation set itself (there is no "
    "separate test set), so it is optimistic; final_val_acc, after a fixed number of epochs, "
    "is the unbiased figure"
)


def make_optimizer(model: nn.Module, cfg: TrainConfig) -> torch.optim.SGD:
    """SGD over the trainable parameters: a ``TransferModel``'s head at ``lr`` and its backbone
    at ``lr * backbone_lr_scale``; any other module (a head on cached features) at ``lr``."""
    if isinstance(model, TransferModel):
        backbone = [p for p in model.backbone.parameters() if p.requires_grad]
        groups = [{"params": list(model.head.parameters()), "lr": cfg.lr}]
        if backbone:
            groups.append({"params": backbone, "lr": cfg.lr * cfg.backbone_lr_scale})
    else:
        groups = [{"params": [p for p in model.parameters() if p.requires_grad], "lr": cfg.lr}]
    return torch.optim.SGD(groups, lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay)


def make_scheduler(
    optimizer: torch.optim.Optimizer, cfg: TrainConfig
) -> torch.optim.lr_scheduler.LRScheduler:
    """Per-epoch learning-rate schedule: StepLR(lr_step, lr_gamma) or cosine decay to 0."""
    if cfg.schedule == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=max(cfg.epochs, 1))
    return torch.optim.lr_scheduler.StepLR(optimizer, step_size=cfg.lr_step, gamma=cfg.lr_gamma)


def training_setup(
    model: TransferModel, cached: bool, tc: TrainConfig, cache: FeatureCache,
    train_samples: list, val_samples: list, seed: int, ctx: DistContext,
) -> tuple[nn.Module, DataLoader, Task]:  # fmt: skip
    """What the loop trains, on which batches, and how it is scored: with the cache (freeze
    mode) ``model.head`` on stored feature vectors, else the whole ``model`` on images. The
    ``DistributedSampler`` shuffles per epoch, and K ranks take ``batch_size / K`` each."""
    if cached:
        trained: nn.Module = model.head
        train_set: Any = CachedViews(cache.train, cache.train_labels, seed)
        val_loader = DataLoader(TensorDataset(cache.val, cache.val_labels), batch_size=256)
    else:
        trained, pre = model, model.backbone.preprocessing
        train_set = LabelledImages(train_samples, train_transform(pre), seed=seed)
        val_views = EvalViews(pre, tc.flip_tta)
        val_loader = DataLoader(LabelledImages(val_samples, val_views), batch_size=32)
    sampler = DistributedSampler(train_set, ctx.world_size, ctx.rank, shuffle=True, seed=seed)
    batch_size = distributed.per_rank_batch_size(tc.batch_size, ctx)
    task = Task(
        batch_loss=partial(classify_batch, device=ctx.device),
        evaluate=lambda module: evaluate(ViewAverage(module), val_loader, ctx.device),
    )
    return trained, DataLoader(train_set, batch_size=batch_size, sampler=sampler), task


def mode_checkpoints(
    config: TransferConfig, mode: str, data: ImageFolderData, train_samples: list, model: nn.Module
) -> Checkpoints:
    """Where the loop saves ``mode``: ``best.pt`` holds the whole ``model`` (also when only its
    head trains), with what predict needs to rebuild it and a resumed run must match."""
    tc = config.train[mode]
    settings = {"backbone": config.backbone, "weights": config.weights, "mode": mode}
    settings |= {"train": asdict(tc), "flip_tta": tc.flip_tta, "seed": config.seed}
    folder, images = config.out_dir / mode, {"images": fingerprint(train_samples + data.val)}
    return Checkpoints(
        folder, CHECKPOINT_KIND, settings, data.classes, images, model.state_dict, config.resume
    )


def run_mode(
    mode: str, config: TransferConfig, data: ImageFolderData, ctx: DistContext
) -> dict[str, Any]:
    """Measure, train and write one mode's outputs into ``config.out_dir / mode``; return its
    metrics. With several processes every rank returns them; rank 0 writes the files."""
    tc, start = config.train[mode], time.perf_counter()
    seed_everything(config.seed)
    backbone = load_backbone(config.backbone, config.weights).to(ctx.device)
    train_samples = limit_per_class(data.train, tc.train_images_per_class)
    cached = mode == "freeze" and tc.cached_views > 0
    key, views = weights_key(config.backbone, config.weights), tc.cached_views if cached else 0
    cache_dir = config.cache_dir or config.out_dir / "feature_cache"
    cache = build_feature_cache(
        backbone, key, train_samples, data.val, views, tc.flip_tta, config.seed, cache_dir, ctx=ctx
    )
    measured, head = before_training(
        backbone, cache.val, cache.val_labels, data.classes, tc.head_init, config.seed
    )
    model = TransferModel(backbone, head, frozen_backbone=mode == "freeze", frozen_bn=tc.frozen_bn)
    trained, loader, task = training_setup(
        model, cached, tc, cache, train_samples, data.val, config.seed, ctx
    )
    optimizer = make_optimizer(trained, tc)
    scheduler = make_scheduler(optimizer, tc)
    checkpoints = mode_checkpoints(config, mode, data, train_samples, model)
    # a TransferModel's backbone keeps its ImageNet classifier, which never reaches our logits:
    # DDP must not wait for its gradients
    loop = LoopConfig(
        tc.epochs, find_unused_parameters=not cached, precision=config.precision, desc=mode
    )
    setup_seconds = time.perf_counter() - start
    with torch_threads(1 if cached else None):  # a linear head: threads cost more than they give
        state = train(
            trained, loader, optimizer, scheduler, task, loop, checkpoints, ctx.device, ctx
        )
    metrics = {**measured, **mode_metrics(mode, config, data, len(train_samples), state)}
    metrics["feature_cache"] = {"used_for_training": cached, **cache.describe()}
    epoch_seconds = [row["seconds"] for row in state.history]
    metrics["timing"] = {
        "setup_seconds": setup_seconds,
        "epoch_seconds": epoch_seconds,
        "train_seconds": sum(epoch_seconds),
        "total_seconds": time.perf_counter() - start,
        "resumed": config.resume,
    }
    if ctx.is_main:
        best = EvalResult(0.0, state.best_acc, state.best_probabilities, cache.val_labels)
        crop = backbone.preprocessing.crop
        metrics["files"] = write_figures(config.out_dir / mode, mode, data, best, state, crop)
        atomic_write_json(config.out_dir / mode / "metrics.json", metrics)
        print(
            f"{mode}: best val acc {state.best_acc:.4f} (epoch {state.best_epoch}), final-epoch "
            f"val acc {metrics['final_val_acc']:.4f}; best is selected on val, so optimistic"
        )
    distributed.barrier(ctx)
    return metrics


def mode_metrics(
    mode: str, config: TransferConfig, data: ImageFolderData, num_train: int, state: LoopState
) -> dict[str, Any]:
    """The trained mode's figures for ``metrics.json`` (accuracies as fractions; the
    ``*_correct`` counts are the same figures as numbers of val images)."""
    final, num_val = state.history[-1]["val_acc"], len(data.val)
    return {
        "mode": mode,
        **{name: getattr(config, name) for name in RUN_SETTINGS},
        "classes": data.classes,
        "num_train": num_train,
        "num_val": num_val,
        "train_config": asdict(config.train[mode]),
        "history": state.history,
        "best_val_acc": state.best_acc,
        "best_val_correct": round(state.best_acc * num_val),
        "best_epoch": state.best_epoch,
        "final_val_acc": final,
        "final_val_correct": round(final * num_val),
        "selection_note": SELECTION_NOTE,
    }


def plot_predictions(
    data: ImageFolderData, best: EvalResult, path: Path, crop: int, count: int = 16
) -> Path:
    """A grid of ``count`` val images as the ``crop`` centre crop the model saw, titled
    ``pred <class> (probability) / true <class>``: the mistakes first, framed in red, then the
    correct ones alternating by class."""
    from torchvision import transforms as T

    predictions, labels = best.predictions.tolist(), best.labels.tolist()
    ok = [p == t for p, t in zip(predictions, labels, strict=True)]
    wrong, right = [i for i in range(len(ok)) if not ok[i]], [i for i in range(len(ok)) if ok[i]]
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
    return figures.plot_image_grid(images, captions, path, title, columns=4, mistakes=mistakes)


def write_figures(
    out: Path, mode: str, data: ImageFolderData, best: EvalResult, state: LoopState, crop: int
) -> dict[str, str]:
    """curves.png, predictions.png and confusion.png in ``out`` (the mode's folder); returns
    every output's name relative to the experiment folder (``{"curves": "<mode>/curves.png"…}``)."""
    title = f"{mode}: best val acc {100 * state.best_acc:.2f} % (epoch {state.best_epoch})"
    figures.plot_curves(state.history, out / "curves.png", title, splits=("train", "val"))
    plot_predictions(data, best, out / "predictions.png", crop)
    classes = data.classes
    matrix = figures.confusion_matrix(best.labels.numpy(), best.predictions.numpy(), len(classes))
    figures.plot_confusion(matrix, classes, out / "confusion.png", f"{mode}, best epoch")
    names = [f"{name}.png" for name in FIGURES] + ["best.pt", "last.pt", "metrics.json"]
    return {name.split(".")[0]: f"{mode}/{name}" for name in names}


def run_experiment(config: TransferConfig) -> dict[str, Any]:
    """Scan the data once, run every mode in ``config.train``, write ``metrics.json``; return it."""
    ctx = distributed.init(config.device)
    config = replace(config, device=ctx.device)  # under torchrun with GPUs: this rank's GPU
    start = time.perf_counter()
    data = scan_image_folder(config.data_dir)
    scan_seconds = time.perf_counter() - start
    if ctx.is_main:
        print(
            f"{config.data_dir}: {len(data.classes)} classes, {len(data.train)} train / "
            f"{len(data.val)} val images, {len(data.skipped)} skipped"
        )
    modes = {mode: run_mode(mode, config, data, ctx) for mode in config.train}
    summary = {
        "data": config.data_dir,
        "classes": data.classes,
        "num_train": len(data.train),
        "num_val": len(data.val),
        "skipped": [{"path": path, "reason": reason} for path, reason in data.skipped],
        **{name: getattr(config, name) for name in RUN_SETTINGS},
        "scan_seconds": scan_seconds,
        "total_seconds": time.perf_counter() - start,
        "selection_note": SELECTION_NOTE,
        "modes": modes,
    }
    if ctx.is_main:
        atomic_write_json(config.out_dir / "metrics.json", summary)
    distributed.barrier(ctx)
    return summary
