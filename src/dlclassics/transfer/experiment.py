"""One transfer-learning run, end to end: scan the folder, then for each mode measure the backbone
before training, train, and write metrics, figures and checkpoints into ``<out>/<mode>/``.

``run_experiment(ExperimentConfig(...))`` is what ``dlc transfer`` and ``reproduce`` call.

Under ``torchrun`` every process runs it (``dlclassics.distributed``): the feature cache is
computed shard by shard and gathered, each rank trains on its share of every batch (DDP), and
rank 0 alone writes checkpoints, figures and metrics.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.utils.data import DataLoader, DistributedSampler, TensorDataset

from dlclassics import distributed
from dlclassics.backbones import DEFAULT_BACKBONE, Backbone, load_backbone
from dlclassics.distributed import SINGLE_PROCESS, DistContext
from dlclassics.errors import DlcError
from dlclassics.io import atomic_write_json, torch_load_checkpoint, torch_save_atomic
from dlclassics.runtime import seed_everything, use_agg_backend
from dlclassics.transfer import plots, transforms
from dlclassics.transfer.config import TrainConfig
from dlclassics.transfer.data import (
    ImageFolderData,
    LabelledImages,
    limit_per_class,
    scan_image_folder,
)
from dlclassics.transfer.evaluate import EvalResult, confusion_matrix, evaluate, evaluate_logits
from dlclassics.transfer.features import CachedViews, FeatureCache, build_feature_cache
from dlclassics.transfer.model import TransferModel, ViewAverage, imagenet_class_indices, new_head
from dlclassics.transfer.train import (
    LoopState,
    make_optimizer,
    make_scheduler,
    torch_threads,
    train_epochs,
)

CHECKPOINT_FORMAT = "dlclassics.transfer/1"
SELECTION_NOTE = (
    "best_val_acc picks the epoch by its accuracy on the validation set itself (there is no "
    "separate test set), so it is optimistic; final_val_acc, after a fixed number of epochs, "
    "is the unbiased figure"
)


@dataclass
class ExperimentConfig:
    """One ``dlc transfer`` run.

    Attributes:
        data_dir: ImageFolder-style folder (``train/<class>/``, ``val/<class>/``).
        out_dir: outputs go to ``out_dir/metrics.json`` and ``out_dir/<mode>/``.
        train: the ``TrainConfig`` of every mode to run, in order.
        weights: "imagenet" or a local state_dict path for the backbone.
        cache_dir: feature cache folder (default ``out_dir/feature_cache``).
        resume: continue each mode from ``out_dir/<mode>/last.pt`` when it exists.
    """

    data_dir: Path
    out_dir: Path
    train: dict[str, TrainConfig]
    backbone: str = DEFAULT_BACKBONE
    weights: str = "imagenet"
    protocol: str = "improved"
    seed: int = 0
    cache_dir: Path | None = None
    resume: bool = False
    num_workers: int = 0

    @property
    def feature_cache_dir(self) -> Path:
        return self.cache_dir or self.out_dir / "feature_cache"


def weights_id(weights: str) -> str:
    """The string "imagenet", or ``file:<sha256 prefix>`` of a local weights file (feature-cache keys)."""
    if weights == "imagenet":
        return weights
    return "file:" + hashlib.sha256(Path(weights).read_bytes()).hexdigest()[:16]


def before_training(
    backbone: Backbone,
    cache: FeatureCache,
    classes: list[str],
    head_init: str,
    seed: int,
) -> tuple[dict[str, Any], nn.Linear]:
    """Val accuracy before any training, and the new head that training starts from.

    Measures a new random head, zero-shot classification with the ImageNet classifier rows of
    the classes (when every class folder names an ImageNet category) and the head built with
    ``head_init``, all on the cached val features (N_val, T, D) with logits averaged over T.
    """
    indices = imagenet_class_indices(classes) if backbone.imagenet_head is not None else None
    num_classes = len(classes)
    used_init = head_init if indices is not None else "random"
    random_head = new_head(
        backbone, num_classes, "random", None, torch.Generator().manual_seed(seed)
    )
    head = new_head(backbone, num_classes, used_init, indices, torch.Generator().manual_seed(seed))
    with torch.no_grad():
        random_result = evaluate_logits(random_head(cache.val).mean(dim=1), cache.val_labels)
        initial = evaluate_logits(head(cache.val).mean(dim=1), cache.val_labels)  # (N, C)
        zero_shot = None
        if indices is not None:
            imagenet_logits = backbone.imagenet_head(cache.val)[..., indices]  # (N, T, C)
            zero_shot = evaluate_logits(imagenet_logits.mean(dim=1), cache.val_labels)
    figures = {
        "random_head_val_acc": random_result.accuracy,
        "random_head_val_correct": random_result.correct,
        "imagenet_classes": indices,
        "zero_shot_val_acc": zero_shot.accuracy if zero_shot else None,
        "zero_shot_val_correct": zero_shot.correct if zero_shot else None,
        "head_init": used_init,
        "initial_head_val_acc": initial.accuracy,
    }
    shown = (
        "n/a (the classes do not name ImageNet classes)"
        if zero_shot is None
        else f"{zero_shot.accuracy:.4f}"
    )
    print(
        f"val acc before training: random head {random_result.accuracy:.4f}, zero-shot {shown}, "
        f"initial head ({used_init}) {initial.accuracy:.4f}"
    )
    return figures, head


@dataclass
class TrainingSetup:
    """What the epoch loop trains: the module, its data, and how it is validated."""

    trainable: nn.Module
    loader: DataLoader
    evaluate: Any  # () -> EvalResult


def setup_training(
    mode: str,
    tc: TrainConfig,
    backbone: Backbone,
    head: nn.Linear,
    cache: FeatureCache,
    train_samples: list,
    val_samples: list,
    seed: int,
    num_workers: int,
    ctx: DistContext = SINGLE_PROCESS,
) -> TrainingSetup:
    """Freeze mode with a cache trains ``head`` on stored vectors; otherwise a ``TransferModel``
    (frozen backbone, or all layers in finetune mode) trains on images.

    The sampler is a ``DistributedSampler``: seeded per-epoch shuffling whose order K ranks
    deal out in turn, each taking ``batch_size / K`` of every batch.
    """
    batch_size = distributed.per_rank_batch_size(tc.batch_size, ctx)

    def sampler(dataset):
        return DistributedSampler(
            dataset, num_replicas=ctx.world_size, rank=ctx.rank, shuffle=True, seed=seed
        )

    if mode == "freeze" and tc.cached_views > 0:
        train_set = CachedViews(cache.train, cache.train_labels, seed)
        loader = DataLoader(train_set, batch_size=batch_size, sampler=sampler(train_set))
        val_loader = DataLoader(TensorDataset(cache.val, cache.val_labels), batch_size=256)
        return TrainingSetup(head, loader, lambda: evaluate(ViewAverage(head), val_loader, "val"))

    pre = backbone.preprocessing
    model = TransferModel(backbone, head, frozen_backbone=mode == "freeze", frozen_bn=tc.frozen_bn)
    train_set = LabelledImages(train_samples, transforms.train_transform(pre), seed=seed)
    loader = DataLoader(
        train_set, batch_size=batch_size, sampler=sampler(train_set), num_workers=num_workers
    )
    val_set = LabelledImages(val_samples, transforms.eval_views_transform(pre, tc.flip_tta))
    val_loader = DataLoader(val_set, batch_size=32, num_workers=num_workers)
    return TrainingSetup(model, loader, lambda: evaluate(ViewAverage(model), val_loader, "val"))


def _resume_state(
    path: Path,
    setup: TrainingSetup,
    optimizer,
    scheduler,
    meta: dict[str, Any],
    ctx: DistContext = SINGLE_PROCESS,
) -> LoopState:
    """Load ``last.pt`` into the trainable module, optimiser and scheduler; return its loop state.

    Rank 0 reads the file and sends it to the other ranks (no shared file system needed)."""
    saved = distributed.broadcast_object(torch_load_checkpoint(path) if ctx.is_main else None, ctx)
    for key, value in meta.items():
        if saved.get(key) != value:
            raise DlcError(
                f"{path}: written with a different {key} ({saved.get(key)!r}, now {value!r}); "
                "rerun without --resume or with the same settings"
            )
    setup.trainable.load_state_dict(saved["trainable_state"])
    optimizer.load_state_dict(saved["optimizer"])
    scheduler.load_state_dict(saved["scheduler"])
    state = LoopState(**saved["loop"])
    if ctx.is_main:
        print(f"resuming {path} after epoch {state.epochs_done}")
    return state


def run_mode(
    mode: str, exp: ExperimentConfig, data: ImageFolderData, ctx: DistContext = SINGLE_PROCESS
) -> dict[str, Any]:
    """Measure, train and write one mode's outputs into ``exp.out_dir / mode``; return its figures.

    With several processes (``ctx``) every rank returns the figures; rank 0 writes the files."""
    tc = exp.train[mode]
    out = exp.out_dir / mode
    if ctx.is_main:
        out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    seed_everything(exp.seed)
    backbone = load_backbone(exp.backbone, exp.weights)
    train_samples = limit_per_class(data.train, tc.train_images_per_class)
    cached = mode == "freeze" and tc.cached_views > 0

    cache = build_feature_cache(
        backbone,
        weights_id(exp.weights),
        train_samples,
        data.val,
        views=tc.cached_views if cached else 0,
        flip_tta=tc.flip_tta,
        seed=exp.seed,
        cache_dir=exp.feature_cache_dir,
        ctx=ctx,
    )
    figures, head = before_training(backbone, cache, data.classes, tc.head_init, exp.seed)

    setup = setup_training(
        mode, tc, backbone, head, cache, train_samples, data.val, exp.seed, exp.num_workers, ctx
    )
    optimizer = make_optimizer(setup.trainable, tc)
    scheduler = make_scheduler(optimizer, tc)
    meta = {
        "format": CHECKPOINT_FORMAT,
        "backbone": exp.backbone,
        "weights": exp.weights,
        "classes": data.classes,
        "mode": mode,
        "train_config": tc.to_dict(),
        "seed": exp.seed,
    }
    last_path = out / "last.pt"
    state = LoopState()
    found = distributed.broadcast_object(exp.resume and last_path.is_file(), ctx)  # rank 0 looks
    if found:
        state = _resume_state(last_path, setup, optimizer, scheduler, meta, ctx)
    elif exp.resume and ctx.is_main:
        print(f"{last_path}: no checkpoint yet; starting from epoch 1")

    def save_last(state: LoopState) -> None:
        torch_save_atomic(
            {
                **meta,
                "trainable_state": setup.trainable.state_dict(),
                "optimizer": optimizer.state_dict(),
                "scheduler": scheduler.state_dict(),
                "loop": vars(state),
            },
            last_path,
        )

    setup_seconds = time.perf_counter() - start
    with torch_threads(1 if cached else None):
        state = train_epochs(
            setup.trainable,
            setup.loader,
            setup.evaluate,
            optimizer,
            scheduler,
            tc.epochs,
            state,
            save_last,
            desc=mode,
            ctx=ctx,
        )
    if state.best_state is None:
        raise DlcError(f"{mode}: no epoch was trained (--epochs {tc.epochs})")

    setup.trainable.load_state_dict(state.best_state)
    model = TransferModel(backbone, head, frozen_backbone=True)
    best_checkpoint = {
        "flip_tta": tc.flip_tta,
        "epoch": state.best_epoch,
        "val_acc": state.best_val_acc,
    }
    best = EvalResult(0.0, state.best_val_acc, state.best_val_probabilities, cache.val_labels)
    files = {}
    if ctx.is_main:
        torch_save_atomic(
            {**meta, **best_checkpoint, "state_dict": model.state_dict()}, out / "best.pt"
        )
        files = write_figures(out, mode, data, best, state, backbone.preprocessing.crop)
    history = state.history
    figures.update(
        {
            "mode": mode,
            "protocol": exp.protocol,
            "backbone": exp.backbone,
            "weights": exp.weights,
            "seed": exp.seed,
            "classes": data.classes,
            "num_train": len(train_samples),
            "num_val": len(data.val),
            "train_config": tc.to_dict(),
            "history": history,
            "best_val_acc": state.best_val_acc,
            "best_val_correct": round(state.best_val_acc * len(data.val)),
            "best_epoch": state.best_epoch,
            "final_val_acc": history[-1]["val_acc"],
            "final_val_correct": history[-1]["val_correct"],
            "selection_note": SELECTION_NOTE,
            "feature_cache": {
                "used_for_training": cached,
                "folder": cache.folder,
                "train_views": int(cache.train.shape[0]),
                "val_views": int(cache.val.shape[1]),
                "compute_seconds": cache.compute_seconds,
            },
            "timing": {
                "setup_seconds": setup_seconds,
                "epoch_seconds": [h["seconds"] for h in history],
                "train_seconds": sum(h["seconds"] for h in history),
                "total_seconds": time.perf_counter() - start,
                "resumed": exp.resume,
            },
            "files": files,
        }
    )
    if ctx.is_main:
        atomic_write_json(out / "metrics.json", figures)
        print(
            f"{mode}: best val acc {state.best_val_acc:.4f} (epoch {state.best_epoch}), final-epoch val "
            f"acc {figures['final_val_acc']:.4f}; best is selected on val, so optimistic"
        )
    distributed.barrier(ctx)
    return figures


def write_figures(
    out: Path, mode: str, data: ImageFolderData, best: EvalResult, state: LoopState, crop: int
) -> dict[str, str]:
    """curves.png, predictions.png, confusion.png in ``out``; returns their names relative to
    the experiment folder (``<mode>/curves.png`` …)."""
    title = f"{mode}: best val acc {100 * state.best_val_acc:.2f} % (epoch {state.best_epoch})"
    plots.plot_curves(state.history, out / "curves.png", title)
    paths = [path for path, _ in data.val]
    plots.plot_predictions(
        paths, best.labels, best.probabilities, data.classes, out / "predictions.png", crop
    )
    matrix = confusion_matrix(best.predictions, best.labels, len(data.classes))
    plots.plot_confusion(matrix, data.classes, out / "confusion.png", f"{mode}, best epoch")
    names = ["curves.png", "predictions.png", "confusion.png", "best.pt", "last.pt", "metrics.json"]
    return {name.split(".")[0]: f"{mode}/{name}" for name in names}


def run_experiment(exp: ExperimentConfig) -> dict[str, Any]:
    """Scan the data once, run every mode in ``exp.train``, write ``metrics.json``; return it."""
    use_agg_backend()
    ctx = distributed.init("cpu")  # the transfer experiment runs on the CPU
    start = time.perf_counter()
    data = scan_image_folder(exp.data_dir)
    scan_seconds = time.perf_counter() - start
    if ctx.is_main:
        print(
            f"{exp.data_dir}: {len(data.classes)} classes, {len(data.train)} train / {len(data.val)} val "
            f"images, {len(data.skipped)} skipped"
        )
    modes = {mode: run_mode(mode, exp, data, ctx) for mode in exp.train}
    summary = {
        "data": exp.data_dir,
        "classes": data.classes,
        "num_train": len(data.train),
        "num_val": len(data.val),
        "skipped": [{"path": path, "reason": reason} for path, reason in data.skipped],
        "backbone": exp.backbone,
        "weights": exp.weights,
        "protocol": exp.protocol,
        "seed": exp.seed,
        "scan_seconds": scan_seconds,
        "total_seconds": time.perf_counter() - start,
        "selection_note": SELECTION_NOTE,
        "modes": modes,
    }
    if ctx.is_main:
        atomic_write_json(exp.out_dir / "metrics.json", summary)
    distributed.barrier(ctx)
    return summary
