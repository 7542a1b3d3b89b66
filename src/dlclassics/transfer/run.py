"""One transfer-learning run, end to end: scan the folder, then for each mode measure the backbone
before training, train with the shared loop (``dlclassics.training``), and write metrics, figures
and checkpoints into ``<out>/<mode>/``.

``run_experiment(TransferConfig(...))`` is what ``dlc transfer train`` and ``reproduce`` call.

Under ``torchrun`` every process runs it (``dlclassics.distributed``): the feature cache is
computed shard by shard and gathered, each rank trains on its share of every batch (DDP), and
rank 0 alone writes checkpoints, figures and metrics.
"""

from __future__ import annotations

import time
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.utils.data import DataLoader, DistributedSampler, TensorDataset

from dlclassics import distributed
from dlclassics.backbones import Backbone, load_backbone, weights_key
from dlclassics.distributed import DistContext
from dlclassics.io import atomic_write_json
from dlclassics.runtime import seed_everything, torch_threads
from dlclassics.training import Checkpoints, EvalResult, LoopConfig, LoopState, Task, train
from dlclassics.transfer import transforms
from dlclassics.transfer.config import TrainConfig, TransferConfig
from dlclassics.transfer.data import (
    ImageFolderData,
    LabelledImages,
    fingerprint,
    limit_per_class,
    scan_image_folder,
)
from dlclassics.transfer.features import CachedViews, FeatureCache, build_feature_cache
from dlclassics.transfer.figures import write_figures
from dlclassics.transfer.model import (
    TransferModel,
    ViewAverage,
    classify_batch,
    count_correct,
    evaluate,
    evaluate_logits,
    imagenet_class_indices,
    new_head,
)

CHECKPOINT_KIND = "transfer"
SELECTION_NOTE = (
    "best_val_acc picks the epoch by its accuracy on the validation set itself (there is no "
    "separate test set), so it is optimistic; final_val_acc, after a fixed number of epochs, "
    "is the unbiased figure"
)


def make_optimizer(model: nn.Module, cfg: TrainConfig) -> torch.optim.SGD:
    """SGD over the trainable parameters.

    For a ``TransferModel`` the head trains at ``lr`` and the backbone at ``lr *
    backbone_lr_scale``; any other module (a head on cached features) trains at ``lr``.
    """
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


def before_training(
    backbone: Backbone, cache: FeatureCache, classes: list[str], head_init: str, seed: int
) -> tuple[dict[str, Any], nn.Linear]:
    """Val accuracy before any training, and the new head (on the backbone's device) that
    training starts from.

    Measures a new random head, zero-shot classification with the ImageNet classifier rows of
    the classes (when every class folder names an ImageNet category) and the head built with
    ``head_init``, all on the cached val features (N_val, T, D) with logits averaged over T.
    """
    indices = imagenet_class_indices(classes) if backbone.imagenet_head is not None else None
    used_init = head_init if indices is not None else "random"
    device = next(backbone.parameters()).device
    # built on the CPU from a CPU generator, so every device starts from the same numbers
    random_head, head = (
        new_head(backbone, len(classes), init, indices, torch.Generator().manual_seed(seed))
        for init in ("random", used_init)
    )
    random_head, head = random_head.to(device), head.to(device)
    val, labels = cache.val.to(device), cache.val_labels.to(device)  # (N, T, D), (N,)
    with torch.no_grad():
        random_result = evaluate_logits(random_head(val).mean(dim=1), labels)
        initial = evaluate_logits(head(val).mean(dim=1), labels)  # (N, C)
        zero_shot = None
        if indices is not None:
            imagenet_logits = backbone.imagenet_head(val)[..., indices]  # (N, T, C)
            zero_shot = evaluate_logits(imagenet_logits.mean(dim=1), labels)
    measured = {
        "random_head_val_acc": random_result.accuracy,
        "random_head_val_correct": count_correct(random_result),
        "imagenet_classes": indices,
        "zero_shot_val_acc": zero_shot.accuracy if zero_shot else None,
        "zero_shot_val_correct": count_correct(zero_shot) if zero_shot else None,
        "head_init": used_init,
        "initial_head_val_acc": initial.accuracy,
    }
    shown = "n/a (the classes do not name ImageNet classes)"
    if zero_shot is not None:
        shown = f"{zero_shot.accuracy:.4f}"
    print(
        f"val acc before training: random head {random_result.accuracy:.4f}, zero-shot {shown}, "
        f"initial head ({used_init}) {initial.accuracy:.4f}"
    )
    return measured, head


def training_setup(
    model: TransferModel,
    cached: bool,
    tc: TrainConfig,
    cache: FeatureCache,
    data: tuple[list, list],
    seed: int,
    ctx: DistContext,
) -> tuple[nn.Module, DataLoader, Task]:
    """What the loop trains, on which batches, and how it is scored.

    With the cache (freeze mode) the module trained is ``model.head`` on stored feature
    vectors; otherwise the whole ``model`` (frozen backbone, or all layers in finetune mode)
    trains on images. The sampler is a ``DistributedSampler``: seeded per-epoch shuffling whose
    order K ranks deal out in turn, each taking ``batch_size / K`` of every batch.

    Args:
        data: the (path, label) pairs of the training and the val images.
    """
    train_samples, val_samples = data
    if cached:
        trained: nn.Module = model.head
        train_set: Any = CachedViews(cache.train, cache.train_labels, seed)
        val_loader = DataLoader(TensorDataset(cache.val, cache.val_labels), batch_size=256)
    else:
        trained, pre = model, model.backbone.preprocessing
        train_set = LabelledImages(train_samples, transforms.train_transform(pre), seed=seed)
        val_views = transforms.eval_views_transform(pre, tc.flip_tta)
        val_loader = DataLoader(LabelledImages(val_samples, val_views), batch_size=32)
    sampler = DistributedSampler(
        train_set, num_replicas=ctx.world_size, rank=ctx.rank, shuffle=True, seed=seed
    )
    batch_size = distributed.per_rank_batch_size(tc.batch_size, ctx)
    loader = DataLoader(train_set, batch_size=batch_size, sampler=sampler)
    task = Task(
        batch_loss=partial(classify_batch, device=ctx.device),
        evaluate=lambda module: evaluate(ViewAverage(module), val_loader, ctx.device),
    )
    return trained, loader, task


def mode_checkpoints(
    config: TransferConfig, mode: str, data: ImageFolderData, train_samples: list, model: nn.Module
) -> Checkpoints:
    """Where the loop saves ``mode``: ``best.pt`` holds the whole ``model`` (also when only its
    head trains), with what predict needs to rebuild it and a resumed run must match."""
    tc = config.train[mode]
    settings = {
        "backbone": config.backbone,
        "weights": config.weights,
        "mode": mode,
        "train": tc.to_dict(),
        "flip_tta": tc.flip_tta,
        "seed": config.seed,
    }
    return Checkpoints(
        config.out_dir / mode,
        CHECKPOINT_KIND,
        settings,
        labels=data.classes,
        fingerprint={"images": fingerprint(train_samples + data.val)},
        best_weights=model.state_dict,
        resume=config.resume,
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
    cache = build_feature_cache(
        backbone,
        weights_key(config.backbone, config.weights),
        train_samples,
        data.val,
        views=tc.cached_views if cached else 0,
        flip_tta=tc.flip_tta,
        seed=config.seed,
        cache_dir=config.feature_cache_dir,
        ctx=ctx,
    )
    measured, head = before_training(backbone, cache, data.classes, tc.head_init, config.seed)
    model = TransferModel(backbone, head, frozen_backbone=mode == "freeze", frozen_bn=tc.frozen_bn)
    trained, loader, task = training_setup(
        model, cached, tc, cache, (train_samples, data.val), config.seed, ctx
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
    metrics["timing"] = {
        "setup_seconds": setup_seconds,
        "epoch_seconds": [row["seconds"] for row in state.history],
        "train_seconds": sum(row["seconds"] for row in state.history),
        "total_seconds": time.perf_counter() - start,
        "resumed": config.resume,
    }
    if ctx.is_main:
        best = EvalResult(0.0, state.best_acc, state.best_probabilities, cache.val_labels)
        write_mode_outputs(config.out_dir / mode, metrics, data, best, state, backbone)
    distributed.barrier(ctx)
    return metrics


def write_mode_outputs(
    out: Path,
    metrics: dict[str, Any],
    data: ImageFolderData,
    best: EvalResult,
    state: LoopState,
    backbone: Backbone,
) -> None:
    """Figures and ``metrics.json`` of one mode into ``out`` (rank 0 only)."""
    mode = metrics["mode"]
    val_paths = [path for path, _ in data.val]
    crop = backbone.preprocessing.crop
    metrics["files"] = write_figures(out, mode, val_paths, data.classes, best, state, crop)
    atomic_write_json(out / "metrics.json", metrics)
    print(
        f"{mode}: best val acc {state.best_acc:.4f} (epoch {state.best_epoch}), final-epoch "
        f"val acc {metrics['final_val_acc']:.4f}; best is selected on val, so optimistic"
    )


def mode_metrics(
    mode: str, config: TransferConfig, data: ImageFolderData, num_train: int, state: LoopState
) -> dict[str, Any]:
    """The trained mode's figures for ``metrics.json`` (accuracies as fractions; the
    ``*_correct`` counts are the same figures as numbers of val images)."""
    final = state.history[-1]["val_acc"]
    return {
        "mode": mode,
        "protocol": config.protocol,
        "backbone": config.backbone,
        "weights": config.weights,
        "device": config.device,
        "seed": config.seed,
        "classes": data.classes,
        "num_train": num_train,
        "num_val": len(data.val),
        "train_config": config.train[mode].to_dict(),
        "history": state.history,
        "best_val_acc": state.best_acc,
        "best_val_correct": round(state.best_acc * len(data.val)),
        "best_epoch": state.best_epoch,
        "final_val_acc": final,
        "final_val_correct": round(final * len(data.val)),
        "selection_note": SELECTION_NOTE,
    }


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
        "backbone": config.backbone,
        "weights": config.weights,
        "protocol": config.protocol,
        "device": config.device,
        "seed": config.seed,
        "scan_seconds": scan_seconds,
        "total_seconds": time.perf_counter() - start,
        "selection_note": SELECTION_NOTE,
        "modes": modes,
    }
    if ctx.is_main:
        atomic_write_json(config.out_dir / "metrics.json", summary)
    distributed.barrier(ctx)
    return summary
