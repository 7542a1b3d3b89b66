"""Training loop for the captioning model: Adam, per-epoch learning-rate decay, minibatches,
loss history, ``.npz`` checkpoints and resume.

Two engines run the same update on the same parameters:

- ``numpy``: ``CaptioningRNN.loss`` (hand-derived gradients) and ``numpy_nn.optim.adam``;
- ``torch``: ``TorchCaptioningRNN`` (autograd) and ``torch.optim.Adam``, whose update is the
  same bias-corrected formula with the same defaults.

Both keep Adam's state as per-parameter first/second moments and a step count, which is what a
checkpoint stores, so a run can resume on either engine. An epoch is one pass over the training
captions in a seeded random order (``seed``, epoch number), so a resumed run sees the same
minibatches an uninterrupted one would.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from dlclassics.captioning.dataset import CaptionSplit
from dlclassics.captioning.model import PARAM_NAMES, CaptioningRNN
from dlclassics.errors import DlcError
from dlclassics.io import atomic_path
from dlclassics.numpy_nn.optim import adam

ENGINES = ("numpy", "torch")


@dataclass
class SolverConfig:
    epochs: int = 10
    batch_size: int = 100
    learning_rate: float = 5e-3
    lr_decay: float = 0.995  # multiplied into the learning rate after every epoch
    engine: str = "numpy"
    seed: int = 0


@dataclass
class AdamState:
    """Adam's state for every parameter: first moment m, second moment v, and the step count t."""

    m: dict[str, np.ndarray]
    v: dict[str, np.ndarray]
    t: int


@dataclass
class TrainingState:
    """Everything a checkpoint holds besides the parameters."""

    epochs_done: int = 0
    learning_rate: float = 5e-3
    loss_history: list[float] = field(default_factory=list)  # one per iteration
    epoch_seconds: list[float] = field(default_factory=list)


class NumpyEngine:
    """Hand-derived gradients + ``numpy_nn.optim.adam``, updating ``model.params`` in place."""

    def __init__(self, model: CaptioningRNN, learning_rate: float) -> None:
        self.model = model
        self.configs: dict[str, dict[str, Any]] = {
            n: {"learning_rate": learning_rate} for n in PARAM_NAMES
        }

    def step(self, features: np.ndarray, captions: np.ndarray) -> float:
        loss, grads = self.model.loss(features, captions)
        for name in PARAM_NAMES:
            self.model.params[name], self.configs[name] = adam(
                self.model.params[name], grads[name], self.configs[name]
            )
        return loss

    def set_learning_rate(self, learning_rate: float) -> None:
        for config in self.configs.values():
            config["learning_rate"] = learning_rate

    def sync_model(self) -> None:
        """The model's params are the trained ones already."""

    def adam_state(self) -> AdamState:
        zeros = {n: np.zeros_like(self.model.params[n]) for n in PARAM_NAMES}
        return AdamState(
            m={n: self.configs[n].get("m", zeros[n]) for n in PARAM_NAMES},
            v={n: self.configs[n].get("v", zeros[n]) for n in PARAM_NAMES},
            t=int(self.configs[PARAM_NAMES[0]].get("t", 0)),
        )

    def load_adam_state(self, state: AdamState) -> None:
        for name in PARAM_NAMES:
            self.configs[name].update(m=state.m[name].copy(), v=state.v[name].copy(), t=state.t)


class TorchEngine:
    """The PyTorch twin with autograd and ``torch.optim.Adam`` (CPU, the model's dtype)."""

    def __init__(self, model: CaptioningRNN, learning_rate: float) -> None:
        import torch

        from dlclassics.captioning.torch_model import TorchCaptioningRNN

        self.torch = torch
        self.model = model
        self.net = TorchCaptioningRNN(model.params, model.cell_type, model.word_to_idx["<NULL>"])
        self.optimizer = torch.optim.Adam(
            self.net.parameters(), lr=learning_rate, betas=(0.9, 0.999), eps=1e-8
        )

    def step(self, features: np.ndarray, captions: np.ndarray) -> float:
        torch = self.torch
        self.optimizer.zero_grad(set_to_none=True)
        loss = self.net(
            torch.from_numpy(features.astype(self.model.dtype)),
            torch.from_numpy(captions.astype(np.int64)),
        )
        loss.backward()
        self.optimizer.step()
        return float(loss.item())

    def set_learning_rate(self, learning_rate: float) -> None:
        for group in self.optimizer.param_groups:
            group["lr"] = learning_rate

    def sync_model(self) -> None:
        """Copy the trained parameters into the NumPy model (which samples and is checkpointed)."""
        self.model.params.update(self.net.numpy_params())

    def adam_state(self) -> AdamState:
        m, v, t = {}, {}, 0
        for name in PARAM_NAMES:
            state = self.optimizer.state.get(getattr(self.net, name), {})
            zeros = np.zeros_like(self.model.params[name])
            m[name] = state["exp_avg"].numpy().copy() if state else zeros
            v[name] = state["exp_avg_sq"].numpy().copy() if state else zeros
            t = int(state["step"]) if state else 0
        return AdamState(m, v, t)

    def load_adam_state(self, state: AdamState) -> None:
        torch = self.torch
        with torch.no_grad():
            for name in PARAM_NAMES:
                getattr(self.net, name).copy_(torch.from_numpy(self.model.params[name]))
        if state.t == 0:
            return
        for name in PARAM_NAMES:
            self.optimizer.state[getattr(self.net, name)] = {
                "step": torch.tensor(float(state.t)),
                "exp_avg": torch.from_numpy(state.m[name].copy()),
                "exp_avg_sq": torch.from_numpy(state.v[name].copy()),
            }


def make_engine(name: str, model: CaptioningRNN, learning_rate: float) -> NumpyEngine | TorchEngine:
    if name not in ENGINES:
        raise DlcError(f"unknown engine {name!r}; choose from {', '.join(ENGINES)}")
    return (
        NumpyEngine(model, learning_rate) if name == "numpy" else TorchEngine(model, learning_rate)
    )


# ---- checkpoints ------------------------------------------------------------------------------


def save_checkpoint(
    path: Path,
    model: CaptioningRNN,
    adam_state: AdamState,
    state: TrainingState,
    meta: dict[str, Any],
) -> None:
    """Write params, Adam state, training state and ``meta`` (JSON-able run description) to .npz."""
    arrays: dict[str, np.ndarray] = {}
    for name in PARAM_NAMES:
        arrays[f"param/{name}"] = model.params[name]
        arrays[f"adam_m/{name}"] = adam_state.m[name]
        arrays[f"adam_v/{name}"] = adam_state.v[name]
    arrays["adam_t"] = np.array(adam_state.t)
    arrays["loss_history"] = np.array(state.loss_history, dtype=np.float64)
    arrays["epoch_seconds"] = np.array(state.epoch_seconds, dtype=np.float64)
    arrays["epochs_done"] = np.array(state.epochs_done)
    arrays["learning_rate"] = np.array(state.learning_rate)
    arrays["meta"] = np.array(json.dumps(meta))
    with atomic_path(path) as tmp, open(tmp, "wb") as handle:
        np.savez(handle, **arrays)


@dataclass
class Checkpoint:
    params: dict[str, np.ndarray]
    adam: AdamState
    state: TrainingState
    meta: dict[str, Any]


def load_checkpoint(path: Path) -> Checkpoint:
    """Read a checkpoint written by ``save_checkpoint``; a missing or foreign file is a DlcError."""
    path = Path(path)
    if not path.is_file():
        raise DlcError(f"{path}: checkpoint not found")
    try:
        with np.load(path, allow_pickle=False) as z:
            params = {n: z[f"param/{n}"] for n in PARAM_NAMES}
            adam_state = AdamState(
                m={n: z[f"adam_m/{n}"] for n in PARAM_NAMES},
                v={n: z[f"adam_v/{n}"] for n in PARAM_NAMES},
                t=int(z["adam_t"]),
            )
            state = TrainingState(
                epochs_done=int(z["epochs_done"]),
                learning_rate=float(z["learning_rate"]),
                loss_history=z["loss_history"].tolist(),
                epoch_seconds=z["epoch_seconds"].tolist(),
            )
            meta = json.loads(str(z["meta"]))
    except (OSError, ValueError, KeyError) as exc:
        raise DlcError(f"{path}: not a dlclassics captioning checkpoint ({exc})") from exc
    return Checkpoint(params, adam_state, state, meta)


# ---- the loop ---------------------------------------------------------------------------------


class CaptioningSolver:
    """Trains ``model`` on a split's captions.

    Args:
        model: the NumPy model (its params are the starting point and receive the result).
        train: the training split.
        config: epochs, batch size, learning rate and decay, engine, seed.
        checkpoint_path: where to save after every epoch (None: no checkpoints).
        meta: run description stored in checkpoints.
    """

    def __init__(
        self,
        model: CaptioningRNN,
        train: CaptionSplit,
        config: SolverConfig,
        checkpoint_path: Path | None = None,
        meta: dict[str, Any] | None = None,
    ) -> None:
        self.model = model
        self.train_split = train
        self.config = config
        self.checkpoint_path = checkpoint_path
        self.meta = {"solver": asdict(config), **(meta or {})}
        self.state = TrainingState(learning_rate=config.learning_rate)
        self.engine = make_engine(config.engine, model, config.learning_rate)

    def resume_from(self, checkpoint: Checkpoint) -> None:
        """Continue from a checkpoint of the same model: weights, Adam state, history, epoch."""
        for name in PARAM_NAMES:
            if checkpoint.params[name].shape != self.model.params[name].shape:
                raise DlcError(
                    f"checkpoint parameter {name} has shape {checkpoint.params[name].shape}, "
                    f"the model {self.model.params[name].shape}: not the same model"
                )
            self.model.params[name] = checkpoint.params[name].astype(self.model.dtype)
        self.state = checkpoint.state
        self.engine.load_adam_state(checkpoint.adam)
        self.engine.set_learning_rate(self.state.learning_rate)

    def train(self) -> TrainingState:
        """Run the remaining epochs; returns the training state (loss history, epoch times)."""
        captions, image_idxs = self.train_split.captions, self.train_split.image_idxs
        features = self.train_split.features
        n, batch = captions.shape[0], self.config.batch_size
        batches_per_epoch = max(1, math.ceil(n / batch))
        for epoch in range(self.state.epochs_done, self.config.epochs):
            order = np.random.default_rng([self.config.seed, epoch]).permutation(n)
            started = time.perf_counter()
            bar = tqdm(
                range(batches_per_epoch),
                desc=f"epoch {epoch + 1}/{self.config.epochs}",
                disable=None,
                leave=False,
            )
            for it in bar:
                rows = order[it * batch : (it + 1) * batch]
                loss = self.engine.step(features[image_idxs[rows]], captions[rows])
                if not math.isfinite(loss):
                    raise DlcError(
                        f"training loss became {loss} at epoch {epoch + 1}, iteration {it + 1}; "
                        "try a lower --lr"
                    )
                self.state.loss_history.append(loss)
                bar.set_postfix(loss=f"{loss:.3f}")
            self.state.epoch_seconds.append(time.perf_counter() - started)
            self.state.epochs_done = epoch + 1
            self.state.learning_rate *= self.config.lr_decay
            self.engine.set_learning_rate(self.state.learning_rate)
            self.engine.sync_model()
            if self.checkpoint_path is not None:
                save_checkpoint(
                    self.checkpoint_path,
                    self.model,
                    self.engine.adam_state(),
                    self.state,
                    self.meta,
                )
        self.engine.sync_model()
        return self.state
