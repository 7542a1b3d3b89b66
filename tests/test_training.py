"""The shared training loop on a toy problem: it learns, stops early, never saves non-finite
weights, resumes exactly, and refuses to resume with other settings."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from dlclassics.checkpoint import load_checkpoint
from dlclassics.errors import DlcError
from dlclassics.training import (
    BEST_CHECKPOINT,
    LAST_CHECKPOINT,
    Checkpoints,
    EvalResult,
    LoopConfig,
    LoopState,
    Task,
    train,
)

pytestmark = pytest.mark.usefixtures("one_torch_thread")  # conftest.py


def toy_data() -> tuple[torch.Tensor, torch.Tensor]:
    """Two Gaussian blobs in 2-D: (64, 2) points and (64,) labels."""
    generator = torch.Generator().manual_seed(0)
    labels = torch.arange(64) % 2
    points = torch.randn(64, 2, generator=generator) + 3 * labels[:, None].float()
    return points, labels


def batch_loss(model: nn.Module, batch) -> tuple[torch.Tensor, int, int]:
    inputs, labels = batch
    logits = model(inputs)
    return F.cross_entropy(logits, labels), int((logits.argmax(1) == labels).sum()), len(labels)


def make_run(lr: float = 0.5):
    torch.manual_seed(0)
    points, labels = toy_data()
    model = nn.Linear(2, 2)
    loader = DataLoader(TensorDataset(points, labels), batch_size=16, shuffle=False)

    def evaluate(module: nn.Module) -> EvalResult:
        with torch.no_grad():
            logits = module(points)
        accuracy = float((logits.argmax(1) == labels).float().mean())
        loss = float(F.cross_entropy(logits, labels))
        return EvalResult(loss, accuracy, probabilities=logits.softmax(1), labels=labels)

    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=100)
    return model, loader, optimizer, scheduler, Task(batch_loss, evaluate)


def checkpoints(folder: Path, resume: bool = False, lr: float = 0.5) -> Checkpoints:
    return Checkpoints(folder, "toy", {"lr": lr}, labels=["a", "b"], resume=resume)


def run_loop(parts: tuple, loop: LoopConfig, saved: Checkpoints | None = None) -> LoopState:
    """``train`` on the parts ``make_run`` returns (model, loader, optimizer, scheduler, task)."""
    model, loader, optimizer, scheduler, task = parts
    return train(
        model, loader, optimizer, scheduler=scheduler, task=task, loop=loop, checkpoints=saved
    )


def test_learns_records_history_and_saves_both_checkpoints(tmp_path: Path):
    state = run_loop(make_run(), LoopConfig(epochs=4), checkpoints(tmp_path))
    assert state.epochs_done == 4 and state.best_acc > 0.9
    keys = ["epoch", "lr", "train_loss", "train_acc", "val_loss", "val_acc", "seconds"]
    assert list(state.history[0]) == [*keys, "cpu_seconds"]
    best = load_checkpoint(tmp_path / BEST_CHECKPOINT, "toy")
    assert best["epoch"] == state.best_epoch and best["labels"] == ["a", "b"]
    assert load_checkpoint(tmp_path / LAST_CHECKPOINT, "toy")["loop"]["state"]["epochs_done"] == 4


def test_patience_stops_early():
    nothing_improves = make_run(lr=0.0)
    state = run_loop(nothing_improves, LoopConfig(epochs=10, patience=2))
    assert state.stopped_early and state.epochs_done == 3 and state.best_epoch == 1


def test_a_non_finite_loss_stops_before_its_step_and_keeps_the_last_good_files(tmp_path: Path):
    run_loop(make_run(), LoopConfig(epochs=1), checkpoints(tmp_path))
    good = (tmp_path / LAST_CHECKPOINT).read_bytes()
    with pytest.raises(DlcError, match=r"became|NaN|infinite"):
        run_loop(make_run(lr=1e38), LoopConfig(epochs=3), checkpoints(tmp_path))
    assert (tmp_path / LAST_CHECKPOINT).read_bytes() == good


def test_non_finite_weights_after_an_epoch_are_never_saved(tmp_path: Path):
    model, loader, optimizer, scheduler, task = make_run()
    evaluate = task.evaluate

    def poisoned(module: nn.Module) -> EvalResult:
        with torch.no_grad():
            module.bias.fill_(math.nan)  # what an overflowing last step leaves
        return evaluate(module)

    parts = (model, loader, optimizer, scheduler, Task(task.batch_loss, poisoned))
    with pytest.raises(DlcError, match="epoch 1"):
        run_loop(parts, LoopConfig(epochs=2), checkpoints(tmp_path))
    assert not (tmp_path / BEST_CHECKPOINT).exists() and not (tmp_path / LAST_CHECKPOINT).exists()


def test_resume_continues_exactly_and_refuses_other_settings(tmp_path: Path):
    whole = run_loop(make_run(), LoopConfig(epochs=4))
    run_loop(make_run(), LoopConfig(epochs=2), checkpoints(tmp_path))
    resumed = run_loop(make_run(), LoopConfig(epochs=4), checkpoints(tmp_path, True))
    assert [row["val_loss"] for row in resumed.history] == [
        row["val_loss"] for row in whole.history
    ]
    with pytest.raises(DlcError, match="different config"):
        run_loop(make_run(), LoopConfig(epochs=5), checkpoints(tmp_path, True, lr=0.1))
