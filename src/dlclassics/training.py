"""The one training loop of every torch experiment (transfer learning, sentence sentiment).

``train(model, loader, optimizer, scheduler, task, loop, checkpoints)`` reads top to bottom:
resume from ``last.pt`` if asked, then for each epoch train on every batch, evaluate, record one
history row, keep the best epoch, stop early when patience runs out, and (rank 0) write
``best.pt`` and ``last.pt`` atomically in the one checkpoint format. What differs between
experiments comes in as a ``Task``: the loss of a batch and the evaluation of the model.

Several processes (``torchrun``) need no second loop: with ``ctx`` of K ranks the model is
wrapped in DDP, the loader's sampler deals each rank its share, the epoch's sums are reduced
across ranks, and every rank takes the same early-stopping decision from the same evaluation.
Checkpoints hold the unwrapped model, so a run saved by K processes resumes in any number.

Numbers never silently go bad: a non-finite training loss stops the run before its step, and a
non-finite evaluation or weight stops it before anything is saved, so ``best.pt`` and ``last.pt``
always hold the last good state.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.utils.data import DataLoader
from tqdm import tqdm

from dlclassics import distributed
from dlclassics.checkpoint import load_checkpoint, load_weights, make_checkpoint, save_checkpoint
from dlclassics.distributed import SINGLE_PROCESS, DistContext
from dlclassics.errors import DlcError
from dlclassics.runtime import autocast

BEST_CHECKPOINT = "best.pt"
LAST_CHECKPOINT = "last.pt"


@dataclass
class EvalResult:
    """A model's outputs on a labelled split.

    Attributes:
        loss: mean loss.
        accuracy: fraction correct, in [0, 1].
        probabilities: (N, C) class probabilities, or (N,) P(positive) for a binary model.
        labels: (N,) true classes.

    Example:
        >>> probabilities = torch.tensor([[0.9, 0.1], [0.2, 0.8]])
        >>> EvalResult(0.3, 0.5, probabilities, torch.tensor([0, 0])).predictions
        tensor([0, 1])
    """

    loss: float
    accuracy: float
    probabilities: torch.Tensor
    labels: torch.Tensor

    @property
    def predictions(self) -> torch.Tensor:
        """(N,) predicted classes.

        Example:
            >>> EvalResult(0.3, 1.0, torch.tensor([0.7, 0.2]), torch.tensor([1, 0])).predictions
            tensor([1, 0])
        """
        if self.probabilities.dim() == 1:
            return (self.probabilities >= 0.5).long()
        return self.probabilities.argmax(dim=1)


@dataclass
class Task:
    """The experiment-specific part of training.

    Attributes:
        batch_loss: ``(model, batch) -> (mean loss, correct, count)`` for one training batch
            (moving the batch to the device is the task's job).
        evaluate: ``(model) -> EvalResult`` on the evaluation split, the whole split on every
            rank; called with the unwrapped model.

    Example:
        >>> task = Task(batch_loss=partial(classify_batch, device="cpu"),
        ...             evaluate=lambda model: evaluate(model, val_loader, "cpu"))
    """

    batch_loss: Callable[[nn.Module, Any], tuple[torch.Tensor, int, int]]
    evaluate: Callable[[nn.Module], EvalResult]


@dataclass
class LoopConfig:
    """How the loop runs (the optimiser and schedule come ready-made).

    Attributes:
        epochs: the last epoch to train.
        eval_split: the name of the evaluation split in the history keys (``val``, ``dev``).
        patience: stop after this many epochs without a better accuracy (0: never stop early).
        max_grad_norm: clip the gradient norm to this (0: no clipping).
        schedule_per_step: step the scheduler after every batch (else after every epoch).
        find_unused_parameters: DDP option for models with parameters that miss the loss.
        precision: autocast setting on a GPU (``runtime.autocast``).
        desc: the progress bar's and the log lines' prefix.

    Example:
        >>> LoopConfig(epochs=3, eval_split="dev", patience=2).desc
        'train'
    """

    epochs: int
    eval_split: str = "val"
    patience: int = 0
    max_grad_norm: float = 0.0
    schedule_per_step: bool = False
    find_unused_parameters: bool = False
    precision: str = "auto"
    desc: str = "train"


@dataclass
class Checkpoints:
    """Where and what the loop saves, and what a resumed run must match.

    Attributes:
        folder: ``best.pt`` and ``last.pt`` go here.
        kind, config, labels, fingerprint: the checkpoint fields (``checkpoint.make_checkpoint``);
            a resumed run with another config, labels or fingerprint is refused.
        best_weights: the weights ``best.pt`` holds (default: the trained model's).
        resume: continue from ``last.pt`` when it exists.

    Example:
        >>> Checkpoints(Path("runs/s"), "sentiment", {"model": "bow"}, labels=["0", "1"]).resume
        False
    """

    folder: Path
    kind: str
    config: dict[str, Any]
    labels: list[str] = field(default_factory=list)
    fingerprint: dict[str, Any] = field(default_factory=dict)
    best_weights: Callable[[], dict[str, torch.Tensor]] | None = None
    resume: bool = False


@dataclass
class LoopState:
    """Everything a resumed run needs besides the weights, optimiser and scheduler.

    Attributes:
        epochs_done: completed epochs.
        history: one row per epoch: epoch, lr, train_loss, train_acc, {split}_loss,
            {split}_acc, seconds, cpu_seconds.
        best_epoch, best_acc: the epoch with the best evaluation accuracy (0: none yet).
        best_probabilities: the evaluation's probabilities at the best epoch.
        stopped_early: patience ran out.

    Example:
        >>> LoopState().best_acc  # no epoch yet
        -1.0
    """

    epochs_done: int = 0
    history: list[dict[str, float]] = field(default_factory=list)
    best_epoch: int = 0
    best_acc: float = -1.0
    best_probabilities: torch.Tensor | None = None
    stopped_early: bool = False


def train_one_epoch(
    model: nn.Module,
    loader: DataLoader,
    optimizer: torch.optim.Optimizer,
    *,
    scheduler: Any,
    task: Task,
    loop: LoopConfig,
    epoch: int,
    device: str,
    ctx: DistContext = SINGLE_PROCESS,
) -> tuple[float, float]:
    """One pass over ``loader``; the mean training loss and accuracy over all ranks.

    Example:
        >>> train_one_epoch(model, loader, optimizer, scheduler=scheduler, task=task,
        ...                 loop=LoopConfig(epochs=1), epoch=1, device="cpu")
        (0.6931, 0.5)
    """
    model.train()
    loss_sum, correct, count = 0.0, 0, 0
    name = f"{loop.desc} epoch {epoch}/{loop.epochs}"
    progress = tqdm(loader, desc=name, disable=None if ctx.is_main else True, leave=False)
    for batch in progress:
        with autocast(device, loop.precision):
            loss, batch_correct, batch_count = task.batch_loss(model, batch)
        value = loss.item()
        if not math.isfinite(value):
            raise DlcError(f"{name}: training loss became {value} (try a smaller --lr)")
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if loop.max_grad_norm > 0:
            nn.utils.clip_grad_norm_(model.parameters(), loop.max_grad_norm)
        optimizer.step()
        if loop.schedule_per_step:
            scheduler.step()
        loss_sum += value * batch_count
        correct += batch_correct
        count += batch_count
        progress.set_postfix(loss=f"{loss_sum / count:.4f}", acc=f"{correct / count:.4f}")
    loss_sum, correct, count = distributed.all_reduce_sum([loss_sum, correct, count], ctx)
    return loss_sum / count, correct / count


def check_finite(model: nn.Module, result: EvalResult, where: str) -> None:
    """Refuse to go on (and so to save) when the evaluation or any weight is NaN or infinite.

    Example:
        >>> check_finite(model, EvalResult(float("nan"), 0.5, probs, labels), "epoch 3")
        Traceback (most recent call last):
        dlclassics.errors.DlcError: epoch 3: evaluation loss is nan (try a smaller --lr)
    """
    if not math.isfinite(result.loss):
        raise DlcError(f"{where}: evaluation loss is {result.loss} (try a smaller --lr)")
    for name, parameter in model.named_parameters():
        if not torch.isfinite(parameter).all():
            raise DlcError(f"{where}: weight {name} became NaN or infinite (try a smaller --lr)")


def resume_state(
    checkpoints: Checkpoints,
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    *,
    scheduler: Any,
    ctx: DistContext = SINGLE_PROCESS,
) -> LoopState:
    """The loop state in ``last.pt`` (a fresh one when there is none), its weights, optimiser
    and scheduler loaded. Rank 0 reads the file and sends it to the others.

    Example:
        >>> fresh = Checkpoints(Path("runs/new"), "toy", {})
        >>> resume_state(fresh, model, optimizer, scheduler=scheduler).epochs_done
        0
    """
    path = checkpoints.folder / LAST_CHECKPOINT
    saved = None
    if ctx.is_main and path.is_file():
        saved = load_checkpoint(path, checkpoints.kind, required=("loop",))
    saved = distributed.broadcast_object(saved, ctx)
    if saved is None:
        if ctx.is_main:
            print(f"{path}: no checkpoint yet; starting from epoch 1")
        return LoopState()
    for key in ("config", "labels", "fingerprint"):
        if saved[key] != getattr(checkpoints, key):
            raise DlcError(
                f"{path}: written with a different {key}; resume with the same settings, "
                "or rerun without --resume (the run starts over)"
            )
    load_weights(model, saved["model"], path)
    loop = saved["loop"]
    optimizer.load_state_dict(loop["optimizer"])
    scheduler.load_state_dict(loop["scheduler"])
    if ctx.is_main:  # the checkpoint holds rank 0's random stream; other ranks keep their own
        torch.set_rng_state(loop["torch_rng_state"])
        print(f"resuming {path} after epoch {loop['state']['epochs_done']}")
    return LoopState(**loop["state"])


def checkpoint_dict(
    checkpoints: Checkpoints, weights: dict[str, torch.Tensor], **extra: Any
) -> dict[str, Any]:
    """The checkpoint of ``weights`` with the fields of ``checkpoints`` and ``extra`` (``loop``,
    ``epoch``).

    Example:
        >>> checkpoint_dict(Checkpoints(Path("runs"), "transfer", {}), {}, epoch=3)["epoch"]
        3
    """
    return make_checkpoint(
        checkpoints.kind,
        weights,
        checkpoints.config,
        labels=checkpoints.labels,
        fingerprint=checkpoints.fingerprint,
        **extra,
    )


def save_epoch(
    checkpoints: Checkpoints,
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    *,
    scheduler: Any,
    state: LoopState,
    improved: bool,
) -> None:
    """Write ``best.pt`` (when this epoch is the best) and ``last.pt``.

    Example:
        >>> save_epoch(checkpoints, model, optimizer, scheduler=scheduler, state=state,
        ...            improved=True)  # best.pt and last.pt
    """
    if improved:
        weights = checkpoints.best_weights() if checkpoints.best_weights else model.state_dict()
        save_checkpoint(
            checkpoint_dict(checkpoints, weights, epoch=state.best_epoch),
            checkpoints.folder / BEST_CHECKPOINT,
        )
    loop = {
        "optimizer": optimizer.state_dict(),
        "scheduler": scheduler.state_dict(),
        "torch_rng_state": torch.get_rng_state(),
        "state": asdict(state),
    }
    save_checkpoint(
        checkpoint_dict(checkpoints, model.state_dict(), loop=loop),
        checkpoints.folder / LAST_CHECKPOINT,
    )


def record_epoch(
    state: LoopState, row: dict[str, float], result: EvalResult, *, loop: LoopConfig
) -> bool:
    """Append ``row`` to the history, update best epoch and patience; True when improved.

    Example:
        >>> row = {"epoch": 1, "val_acc": 0.8}
        >>> record_epoch(LoopState(), row, result, loop=LoopConfig(epochs=5))
        True
    """
    state.history.append(row)
    state.epochs_done = int(row["epoch"])
    improved = result.accuracy > state.best_acc
    if improved:
        state.best_epoch, state.best_acc = state.epochs_done, result.accuracy
        state.best_probabilities = result.probabilities
    waited = state.epochs_done - state.best_epoch
    state.stopped_early = 0 < loop.patience <= waited and state.epochs_done < loop.epochs
    return improved


def format_seconds(seconds: float) -> str:
    """A duration as people read it: milliseconds below a second (a freeze-mode epoch on cached
    features takes a few), else seconds with one decimal.

    Example:
        >>> format_seconds(0.0123), format_seconds(12.34)
        ('12 ms', '12.3 s')
    """
    return f"{1000 * seconds:.0f} ms" if seconds < 1 else f"{seconds:.1f} s"


def describe_epoch(row: dict[str, float], loop: LoopConfig, improved: bool) -> str:
    """The log line of one epoch, accuracies as percentages (``*`` marks a new best).

    Example:
        >>> row = {"epoch": 1, "train_loss": 0.5, "train_acc": 0.75, "val_loss": 0.4,
        ...        "val_acc": 0.8, "seconds": 0.02}
        >>> describe_epoch(row, LoopConfig(epochs=3, desc="freeze"), improved=True)
        'freeze epoch 1/3: train loss 0.5000 acc 75.00 % | val loss 0.4000 acc 80.00 % (20 ms) *'
    """
    split = loop.eval_split
    return (
        f"{loop.desc} epoch {row['epoch']}/{loop.epochs}: train loss {row['train_loss']:.4f} acc "
        f"{100 * row['train_acc']:.2f} % | {split} loss {row[f'{split}_loss']:.4f} acc "
        f"{100 * row[f'{split}_acc']:.2f} % ({format_seconds(row['seconds'])})"
        + (" *" if improved else "")
    )


def set_epoch(loader: DataLoader, epoch: int) -> None:
    """Tell the sampler and the data set that have ``set_epoch`` which epoch starts (seeded
    shuffling and augmentation, so a resumed run repeats the same epochs).

    Example:
        >>> set_epoch(loader, 3)  # the DistributedSampler reshuffles for epoch 3
    """
    for part in (loader.sampler, loader.dataset):
        getattr(part, "set_epoch", lambda epoch: None)(epoch)


def train(
    model: nn.Module,
    loader: DataLoader,
    optimizer: torch.optim.Optimizer,
    *,
    scheduler: Any,
    task: Task,
    loop: LoopConfig,
    checkpoints: Checkpoints | None = None,
    device: str = "cpu",
    ctx: DistContext = SINGLE_PROCESS,
) -> LoopState:
    """Train ``model`` to ``loop.epochs`` (or early stopping), evaluating after every epoch.

    Args:
        model: the module being trained, already on ``device``; stays unwrapped (it is what is
            evaluated and saved).
        loader: training batches; its sampler and data set may have ``set_epoch`` (seeded
            per-epoch shuffling and augmentation, so a resumed run repeats the same epochs).
        checkpoints: where rank 0 writes ``best.pt`` and ``last.pt`` (None: nothing saved).
        ctx: this process's rank among ``ctx.world_size`` (one process by default).

    Returns:
        The loop state: history, best epoch and accuracy, the best epoch's probabilities.

    Example:
        >>> loop = LoopConfig(epochs=4)
        >>> state = train(model, loader, optimizer, scheduler=scheduler, task=task, loop=loop)
        >>> state.epochs_done, len(state.history)
        (4, 4)
    """
    state = LoopState()
    if checkpoints is not None and checkpoints.resume:
        state = resume_state(checkpoints, model, optimizer, scheduler=scheduler, ctx=ctx)
    distributed.decorrelate_rng(ctx)
    wrapped = distributed.wrap_model(model, ctx, loop.find_unused_parameters)
    for epoch in range(state.epochs_done + 1, loop.epochs + 1):
        if state.stopped_early:
            break
        set_epoch(loader, epoch)
        started, cpu_started = time.perf_counter(), time.process_time()
        lr = optimizer.param_groups[0]["lr"]
        train_loss, train_acc = train_one_epoch(
            wrapped,
            loader,
            optimizer,
            scheduler=scheduler,
            task=task,
            loop=loop,
            epoch=epoch,
            device=device,
            ctx=ctx,
        )
        if not loop.schedule_per_step:
            scheduler.step()
        result = task.evaluate(model)
        check_finite(model, result, f"{loop.desc} epoch {epoch}")
        split = loop.eval_split
        row = {
            "epoch": epoch,
            "lr": lr,
            "train_loss": train_loss,
            "train_acc": train_acc,
            f"{split}_loss": result.loss,
            f"{split}_acc": result.accuracy,
            "seconds": time.perf_counter() - started,
            "cpu_seconds": time.process_time() - cpu_started,  # ≈ idle wall time, 1 thread
        }
        improved = record_epoch(state, row, result, loop=loop)
        if ctx.is_main:
            print(describe_epoch(row, loop, improved))
            if checkpoints is not None:
                save_epoch(
                    checkpoints,
                    model,
                    optimizer,
                    scheduler=scheduler,
                    state=state,
                    improved=improved,
                )
        distributed.barrier(ctx)  # the other ranks wait until this epoch's files are complete
    return state
