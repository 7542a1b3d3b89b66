"""One training loop for every sentiment model: BCE on logits, early stopping on dev accuracy.

``train(model, loaders, config, ...)`` is the only loop. It keeps two checkpoints in ``out_dir``:
``best.pt`` (the weights with the best dev accuracy so far, plus whatever ``checkpoint_info``
holds — vocabulary and model config — so ``predict`` needs nothing else) and ``last.pt`` (the
state after the latest epoch, with optimiser, schedule, history and RNG, for ``--resume``).
Shuffling comes from the train loader's sampler (``set_epoch``), so the batch order depends
only on seed and epoch.

Under ``torchrun`` the same loop runs in every process (``ctx``): the model is wrapped in DDP,
each rank trains on its share of every batch, and each rank evaluates a share of the dev set
whose logits are gathered, so every rank computes the same dev metrics and takes the same
early-stopping decision. Only rank 0 writes files; checkpoints hold the unwrapped model, so a
run saved by K processes resumes in any number of processes.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.utils.data import DataLoader
from tqdm import tqdm

from dlclassics.distributed import (
    SINGLE_PROCESS,
    DistContext,
    all_reduce_sum,
    barrier,
    broadcast_object,
    decorrelate_rng,
    gather_objects,
    unwrap,
    wrap_model,
)
from dlclassics.errors import DlcError
from dlclassics.io import torch_load_checkpoint, torch_save_atomic

BEST_CHECKPOINT = "best.pt"
LAST_CHECKPOINT = "last.pt"
CHECKPOINT_FORMAT = "dlclassics-sentiment-1"


@dataclass
class TrainConfig:
    """Optimisation settings.

    Attributes:
        epochs: most passes over the training set.
        batch_size: sentences per step.
        lr: AdamW learning rate (peak rate when warming up).
        weight_decay: AdamW decoupled weight decay.
        patience: stop after this many epochs without a better dev accuracy.
        warmup_fraction: > 0 → linear warm-up over this fraction of all steps, then linear decay
            to 0 (for fine-tuning a pretrained encoder); 0 → constant rate.
        max_grad_norm: clip the gradient norm to this value (0 = no clipping).
        seed: seeds initialisation, dropout and the shuffling order.
    """

    epochs: int = 10
    batch_size: int = 64
    lr: float = 1e-3
    weight_decay: float = 0.0
    patience: int = 3
    warmup_fraction: float = 0.0
    max_grad_norm: float = 0.0
    seed: int = 0


@dataclass
class Loaders:
    """``train`` shuffles (its sampler has ``set_epoch``); ``dev`` is read in order."""

    train: DataLoader
    dev: DataLoader


@dataclass
class EvalResult:
    """Mean BCE loss and accuracy over a loader, with every sentence's P(positive) and label (N,)."""

    loss: float
    accuracy: float
    probabilities: torch.Tensor
    labels: torch.Tensor


@dataclass
class TrainResult:
    """Per-epoch history (dicts: epoch, train/dev loss and accuracy, wall and CPU seconds of
    training plus dev evaluation) and the best epoch."""

    history: list[dict[str, float]] = field(default_factory=list)
    best_epoch: int = 0
    best_dev_accuracy: float = -1.0
    stopped_early: bool = False


def _to(inputs: dict[str, torch.Tensor], device: str) -> dict[str, torch.Tensor]:
    # lengths stay on the CPU: pack_padded_sequence wants them there
    return {k: v if k == "lengths" else v.to(device) for k, v in inputs.items()}


@torch.no_grad()
def predict_logits(
    model: nn.Module, loader: DataLoader, device: str = "cpu", ctx: DistContext = SINGLE_PROCESS
) -> tuple[torch.Tensor, torch.Tensor]:
    """Logits and labels (-1 = unlabelled) for every sentence of the data set: (N,), (N,).

    Each rank runs the sentences of its own ``loader`` (a shard, see ``make_loader``); the
    pieces are gathered, so every rank returns the whole data set, in data-set order whatever
    order the batches visited the sentences in.
    """
    model = unwrap(model)  # no DDP collectives: the ranks may run different numbers of batches
    model.eval()
    order = torch.tensor([i for batch in loader.batch_sampler for i in batch], dtype=torch.long)
    logits, labels = [torch.empty(0)], [torch.empty(0)]
    progress = tqdm(loader, desc="predict", disable=None if ctx.is_main else True, leave=False)
    for inputs, batch_labels in progress:
        logits.append(model(**_to(inputs, device)).float().cpu())
        labels.append(batch_labels)
    pieces = gather_objects((order, torch.cat(logits), torch.cat(labels)), ctx)
    size = len(loader.dataset)
    in_order_logits, in_order_labels = torch.empty(size), torch.empty(size)  # (N,), (N,)
    for piece_order, piece_logits, piece_labels in pieces:
        in_order_logits[piece_order], in_order_labels[piece_order] = piece_logits, piece_labels
    return in_order_logits, in_order_labels


def evaluate(
    model: nn.Module, loader: DataLoader, device: str = "cpu", ctx: DistContext = SINGLE_PROCESS
) -> EvalResult:
    """Mean BCE loss and accuracy of ``model`` on a labelled loader (P(positive) ≥ 0.5 → 1),
    over the whole data set (every rank's shard, see ``predict_logits``)."""
    logits, labels = predict_logits(model, loader, device, ctx)  # (N,), (N,)
    loss = nn.functional.binary_cross_entropy_with_logits(logits, labels)
    accuracy = ((logits >= 0).float() == labels).float().mean()
    return EvalResult(float(loss), float(accuracy), torch.sigmoid(logits), labels)


def _schedule(optimizer: torch.optim.Optimizer, config: TrainConfig, steps: int):
    """Constant rate, or linear warm-up then linear decay over ``steps`` optimiser steps."""
    if config.warmup_fraction <= 0:
        return torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 1.0)
    warmup = max(1, round(config.warmup_fraction * steps))

    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        return max(0.0, (steps - step) / max(1, steps - warmup))

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


def _train_one_epoch(
    model: nn.Module,
    loader: DataLoader,
    optimizer: torch.optim.Optimizer,
    scheduler: torch.optim.lr_scheduler.LRScheduler,
    config: TrainConfig,
    epoch: int,
    device: str,
    ctx: DistContext,
) -> tuple[float, float]:
    """One pass over ``loader``; returns the mean training loss and accuracy (with dropout on)
    over the sentences of all ranks."""
    model.train()
    loss_fn = nn.BCEWithLogitsLoss(reduction="sum")
    loss_sum, correct, seen = 0.0, 0, 0
    progress = tqdm(
        loader, desc=f"epoch {epoch}", disable=None if ctx.is_main else True, leave=False
    )
    for inputs, labels in progress:
        labels = labels.to(device)
        logits = model(**_to(inputs, device))  # (N,)
        loss = loss_fn(logits, labels) / len(labels)
        if not math.isfinite(loss.item()):
            raise DlcError(
                f"training diverged at epoch {epoch}: loss is {loss.item()} (lower --lr)"
            )
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if config.max_grad_norm > 0:
            nn.utils.clip_grad_norm_(model.parameters(), config.max_grad_norm)
        optimizer.step()
        scheduler.step()
        loss_sum += loss.item() * len(labels)
        correct += int(((logits >= 0) == (labels >= 0.5)).sum())
        seen += len(labels)
        progress.set_postfix(loss=f"{loss_sum / seen:.4f}", acc=f"{correct / seen:.4f}")
    loss_sum, correct, seen = all_reduce_sum([loss_sum, correct, seen], ctx)
    return loss_sum / seen, correct / seen


def _restore(
    path: Path,
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    scheduler: Any,
    checkpoint_info: dict[str, Any],
    state: dict[str, Any],
    ctx: DistContext,
) -> TrainResult:
    """Load ``state`` (read from ``path``, ``last.pt``) into model/optimiser/schedule and return
    the history so far."""
    for key, value in checkpoint_info.items():
        if state.get(key) != value:
            raise DlcError(f"{path}: was made with a different {key}; cannot resume this run")
    unwrap(model).load_state_dict(state["model_state"])
    optimizer.load_state_dict(state["optimizer_state"])
    scheduler.load_state_dict(state["scheduler_state"])
    if ctx.is_main:  # the checkpoint holds rank 0's random stream; other ranks keep their own
        torch.set_rng_state(state["torch_rng_state"])
    return TrainResult(
        history=state["history"],
        best_epoch=state["best_epoch"],
        best_dev_accuracy=state["best_dev_accuracy"],
        stopped_early=state["stopped_early"],
    )


def train(
    model: nn.Module,
    loaders: Loaders,
    config: TrainConfig,
    out_dir: Path,
    checkpoint_info: dict[str, Any],
    resume: bool = False,
    device: str = "cpu",
    ctx: DistContext = SINGLE_PROCESS,
) -> TrainResult:
    """Train ``model`` with AdamW on BCE, keeping the weights with the best dev accuracy.

    Args:
        model: returns logits (N,) from ``model(**inputs)``; already on ``device``.
        loaders: train (shuffling, with ``set_epoch``) and dev loaders of ``(inputs, labels)``:
            this rank's shards, built with ``make_loader(..., ctx=ctx)``.
        config: optimisation settings.
        out_dir: where ``best.pt`` and ``last.pt`` are written.
        checkpoint_info: plain data saved in both checkpoints (vocabulary, model config, ...);
            on resume it must match what ``last.pt`` holds.
        resume: continue from ``out_dir/last.pt`` when it exists.
        device: where the batches go.
        ctx: this process's rank among ``ctx.world_size`` (one process by default).

    Returns:
        The history (the same on every rank, but for the timings); the best weights are in
        ``out_dir/best.pt`` (written by rank 0, not loaded into ``model``).
    """
    trainable = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(trainable, lr=config.lr, weight_decay=config.weight_decay)
    scheduler = _schedule(optimizer, config, config.epochs * len(loaders.train))
    last_path, best_path = out_dir / LAST_CHECKPOINT, out_dir / BEST_CHECKPOINT
    result = TrainResult()
    # rank 0 reads the checkpoint and sends it to the others: no shared file system needed
    state = None
    if resume and ctx.is_main and last_path.is_file():
        state = torch_load_checkpoint(last_path)
    state = broadcast_object(state, ctx)
    if state is not None:
        result = _restore(last_path, model, optimizer, scheduler, checkpoint_info, state, ctx)
        if ctx.is_main:
            print(f"resuming after epoch {len(result.history)} from {last_path}")
    elif resume and ctx.is_main:
        print(f"no {last_path} to resume from: starting a new run")
    decorrelate_rng(ctx)
    model = wrap_model(model, ctx)
    epochs_since_best = len(result.history) - result.best_epoch
    for epoch in range(len(result.history) + 1, config.epochs + 1):
        if result.stopped_early:
            break
        started, cpu_started = time.perf_counter(), time.process_time()
        loaders.train.sampler.set_epoch(epoch)
        train_loss, train_acc = _train_one_epoch(
            model, loaders.train, optimizer, scheduler, config, epoch, device, ctx
        )
        dev = evaluate(model, loaders.dev, device, ctx)
        seconds = time.perf_counter() - started
        cpu_seconds = time.process_time() - cpu_started  # ≈ idle-machine wall time, 1 thread
        result.history.append(
            {
                "epoch": epoch,
                "train_loss": train_loss,
                "train_accuracy": train_acc,
                "dev_loss": dev.loss,
                "dev_accuracy": dev.accuracy,
                "seconds": seconds,
                "cpu_seconds": cpu_seconds,
            }
        )
        improved = dev.accuracy > result.best_dev_accuracy
        if improved:
            result.best_epoch, result.best_dev_accuracy = epoch, dev.accuracy
            epochs_since_best = 0
        else:
            epochs_since_best += 1
        result.stopped_early = epochs_since_best >= config.patience and epoch < config.epochs
        if ctx.is_main:
            print(
                f"epoch {epoch}: train loss {train_loss:.4f} acc {train_acc:.4f} | "
                f"dev loss {dev.loss:.4f} acc {dev.accuracy:.4f} | {seconds:.1f} s"
                + (" *" if improved else "")
            )
            weights = {"format": CHECKPOINT_FORMAT, "model_state": unwrap(model).state_dict()}
            if improved:
                torch_save_atomic(
                    {**weights, **checkpoint_info, "epoch": epoch, "dev_accuracy": dev.accuracy},
                    best_path,
                )
            torch_save_atomic(
                {
                    **weights,
                    **checkpoint_info,
                    "optimizer_state": optimizer.state_dict(),
                    "scheduler_state": scheduler.state_dict(),
                    "torch_rng_state": torch.get_rng_state(),
                    "train_config": asdict(config),
                    **asdict(result),
                },
                last_path,
            )
        barrier(ctx)  # the other ranks wait until this epoch's checkpoints are complete
    return result
