"""The epoch loop, shared by every mode: train the trainable module, evaluate, keep the best.

The loop does not know what it trains: a linear head on cached feature vectors (freeze mode) or a
whole backbone + head on images (finetune mode, or freeze mode recomputing the backbone). It
calls ``set_epoch`` on the loader's sampler and data set before each epoch (seeded shuffling and
augmentation, so a resumed run repeats the same epochs) and hands its state to ``on_epoch_end``
after each one (the caller writes the resume checkpoint there).

Multi-process training (torchrun) needs no second loop: with ``ctx`` of K ranks the loop wraps
``model`` in DDP, the loader's ``DistributedSampler`` deals each rank its share, the epoch's sums
are reduced across ranks, and only rank 0 prints and acts in ``on_epoch_end``. Every rank
validates on the whole (small) validation set, so all ranks see the same accuracy.
"""

from __future__ import annotations

import contextlib
import copy
import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader
from tqdm import tqdm

from dlclassics.distributed import (
    SINGLE_PROCESS,
    DistContext,
    all_reduce_sum,
    barrier,
    wrap_model,
)
from dlclassics.errors import DlcError
from dlclassics.transfer.config import TrainConfig
from dlclassics.transfer.evaluate import EvalResult
from dlclassics.transfer.model import TransferModel


@dataclass
class LoopState:
    """Everything a resumed run needs besides the model, optimiser and scheduler.

    Attributes:
        epochs_done: completed epochs (the next one is ``epochs_done + 1``).
        history: one dict per epoch: epoch, lr, train_loss, train_acc, val_loss, val_acc,
            val_correct, seconds.
        best_val_acc, best_epoch: the best validation accuracy so far and its epoch (0: none).
        best_state: the trained module's ``state_dict`` at the best epoch.
        best_val_probabilities: (N_val, C) validation probabilities at the best epoch.
    """

    epochs_done: int = 0
    history: list[dict] = field(default_factory=list)
    best_val_acc: float = -1.0
    best_epoch: int = 0
    best_state: dict[str, torch.Tensor] | None = None
    best_val_probabilities: torch.Tensor | None = None


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


@contextlib.contextmanager
def torch_threads(count: int | None) -> Iterator[None]:
    """Run the block with ``count`` intra-op threads (None: leave the setting alone).

    A linear head on cached feature vectors is a few tiny matrix products per step: starting
    and synchronising threads costs more than it saves, and on a busy machine one thread was
    20x faster than two (benchmarks/RESULTS.md).
    """
    before = torch.get_num_threads()
    if count is not None:
        torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def train_one_epoch(
    model: nn.Module,
    loader: DataLoader,
    optimizer: torch.optim.Optimizer,
    desc: str,
    ctx: DistContext = SINGLE_PROCESS,
) -> tuple[float, float]:
    """One pass over ``loader``; returns the mean training loss and accuracy over all ranks."""
    model.train()
    loss_sum, correct, count = 0.0, 0, 0
    quiet = None if ctx.is_main else True
    for inputs, labels in tqdm(loader, desc=desc, disable=quiet, leave=False):
        logits = model(inputs)  # (B, C)
        loss = F.cross_entropy(logits, labels)
        if not math.isfinite(loss.item()):
            raise DlcError(f"{desc}: training loss became {loss.item()} (try a smaller --lr)")
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        loss_sum += loss.item() * len(labels)
        correct += int((logits.argmax(dim=1) == labels).sum())
        count += len(labels)
    loss_sum, correct, count = all_reduce_sum([loss_sum, correct, count], ctx)
    return loss_sum / count, correct / count


def train_epochs(
    model: nn.Module,
    loader: DataLoader,
    evaluate: Callable[[], EvalResult],
    optimizer: torch.optim.Optimizer,
    scheduler: torch.optim.lr_scheduler.LRScheduler,
    epochs: int,
    state: LoopState,
    on_epoch_end: Callable[[LoopState], None] = lambda state: None,
    desc: str = "train",
    ctx: DistContext = SINGLE_PROCESS,
) -> LoopState:
    """Train ``model`` from epoch ``state.epochs_done + 1`` to ``epochs``, evaluating after each.

    Args:
        model: the module being trained, mapping a batch of inputs to logits (B, C).
        loader: ``(inputs, labels)`` batches; its sampler and data set may have ``set_epoch``.
        evaluate: validation of the current ``model``.
        state: where the loop starts (a fresh ``LoopState``, or one loaded to resume); updated
            in place and returned.
        on_epoch_end: called after every epoch with the updated state (on rank 0 only; the
            others wait for it).
        ctx: this process's rank among ``ctx.world_size`` (one process by default).
    """
    # ``model`` itself stays unwrapped: it is what gets evaluated and saved. A TransferModel's
    # backbone keeps its ImageNet classifier, which trains in finetune mode but never reaches
    # our logits: DDP must be told not to wait for its gradients.
    trained = wrap_model(model, ctx, find_unused_parameters=isinstance(model, TransferModel))
    for epoch in range(state.epochs_done + 1, epochs + 1):
        for part in (loader.sampler, loader.dataset):
            if hasattr(part, "set_epoch"):
                part.set_epoch(epoch)
        start = time.perf_counter()
        lr = optimizer.param_groups[0]["lr"]
        train_loss, train_acc = train_one_epoch(
            trained, loader, optimizer, f"{desc} epoch {epoch}/{epochs}", ctx
        )
        scheduler.step()
        val = evaluate()
        record = {
            "epoch": epoch,
            "lr": lr,
            "train_loss": train_loss,
            "train_acc": train_acc,
            "val_loss": val.loss,
            "val_acc": val.accuracy,
            "val_correct": val.correct,
            "seconds": time.perf_counter() - start,
        }
        state.history.append(record)
        if ctx.is_main:
            print(
                f"{desc} epoch {epoch}/{epochs}: train loss {train_loss:.4f} acc {train_acc:.4f}"
                f" | val loss {val.loss:.4f} acc {val.accuracy:.4f} ({record['seconds']:.1f} s)"
            )
        if val.accuracy > state.best_val_acc:
            state.best_val_acc, state.best_epoch = val.accuracy, epoch
            state.best_state = copy.deepcopy(model.state_dict())
            state.best_val_probabilities = val.probabilities
        state.epochs_done = epoch
        if ctx.is_main:
            on_epoch_end(state)
        barrier(ctx)
    return state
