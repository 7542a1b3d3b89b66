"""Training loop for the captioning model: Adam, per-epoch learning-rate decay, minibatches,
loss history, checkpoints in the one checkpoint format, and resume.

Two engines run the same update on the same parameters:

- ``numpy``: ``CaptioningRNN.loss`` (hand-derived gradients) and ``numpy_nn.optim.adam``;
- ``torch``: ``TorchCaptioningRNN`` (autograd) and ``torch.optim.Adam``, whose update is the
  same bias-corrected formula with the same defaults, on any device.

Both keep Adam's state as per-parameter first/second moments and a step count, which is what a
checkpoint stores, so a run can resume on either engine. An epoch is one pass over the training
captions in a seeded random order (``seed``, epoch number), so a resumed run sees the same
minibatches an uninterrupted one would.

Not ``dlclassics.training``'s loop (a NumPy model, its own Adam), but the same promises: a
non-finite loss stops the run at once and NaN or infinite weights are never saved. Checkpoints
are the one format (kind ``caption``): parameters as tensors, the vocabulary as ``labels``, the
run's settings as ``config``, Adam's state and the loss history as ``loop``.
"""

from __future__ import annotations

import math
import time
import zipfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm import tqdm

from dlclassics import checkpoint
from dlclassics.captioning.dataset import CaptionSplit
from dlclassics.captioning.model import PARAM_NAMES, CaptioningRNN
from dlclassics.errors import DlcError
from dlclassics.numpy_nn.optim import adam

ENGINES = ("numpy", "torch")
KIND = "caption"


@dataclass
class SolverConfig:
    epochs: int = 10
    batch_size: int = 100
    learning_rate: float = 5e-3
    lr_decay: float = 0.995  # multiplied into the learning rate after every epoch
    engine: str = "numpy"
    seed: int = 0
    device: str = "cpu"  # the torch engine's device


@dataclass
class AdamState:
    """Adam's state for every parameter: first moment m, second moment v, and the step count t."""

    m: dict[str, np.ndarray]
    v: dict[str, np.ndarray]
    t: int


@dataclass
class TrainingState:
    """Everything a checkpoint holds besides the parameters and Adam's state.

    Attributes:
        loss_history: the training loss of every iteration.
        history: one row per epoch: ``epoch``, ``lr``, ``train_loss`` (the epoch's mean),
            ``seconds``.
    """

    epochs_done: int = 0
    learning_rate: float = 5e-3
    loss_history: list[float] = field(default_factory=list)
    history: list[dict[str, float]] = field(default_factory=list)


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
    """The PyTorch twin with autograd and ``torch.optim.Adam`` (the model's dtype, any device)."""

    def __init__(self, model: CaptioningRNN, learning_rate: float, device: str = "cpu") -> None:
        from dlclassics.captioning.torch_model import TorchCaptioningRNN

        self.model = model
        self.device = device
        null = model.word_to_idx["<NULL>"]
        self.net = TorchCaptioningRNN(model.params, model.cell_type, null).to(device)
        self.optimizer = torch.optim.Adam(
            self.net.parameters(), lr=learning_rate, betas=(0.9, 0.999), eps=1e-8
        )

    def step(self, features: np.ndarray, captions: np.ndarray) -> float:
        """One Adam step on a batch: features (N, D), captions (N, T + 1); returns the loss."""
        self.optimizer.zero_grad(set_to_none=True)
        loss = self.net(
            torch.from_numpy(features.astype(self.model.dtype)).to(self.device),
            torch.from_numpy(captions.astype(np.int64)).to(self.device),
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
            m[name] = state["exp_avg"].cpu().numpy().copy() if state else zeros
            v[name] = state["exp_avg_sq"].cpu().numpy().copy() if state else zeros
            t = int(state["step"]) if state else 0
        return AdamState(m, v, t)

    def load_adam_state(self, state: AdamState) -> None:
        with torch.no_grad():
            for name in PARAM_NAMES:
                getattr(self.net, name).copy_(torch.from_numpy(self.model.params[name]))
        if state.t == 0:
            return
        for name in PARAM_NAMES:
            self.optimizer.state[getattr(self.net, name)] = {
                "step": torch.tensor(float(state.t)),  # on the CPU, as torch.optim.Adam keeps it
                "exp_avg": torch.from_numpy(state.m[name].copy()).to(self.device),
                "exp_avg_sq": torch.from_numpy(state.v[name].copy()).to(self.device),
            }


def make_engine(
    name: str, model: CaptioningRNN, learning_rate: float, device: str = "cpu"
) -> NumpyEngine | TorchEngine:
    if name not in ENGINES:
        raise DlcError(f"unknown engine {name!r}; choose from {', '.join(ENGINES)}")
    if name == "numpy":
        return NumpyEngine(model, learning_rate)
    return TorchEngine(model, learning_rate, device)


# ---- checkpoints ------------------------------------------------------------------------------


@dataclass
class Checkpoint:
    """A caption checkpoint as read back: NumPy parameters, Adam state, training state, the
    run's settings (a ``TrainConfig`` as a dict) and the vocabulary (index → word)."""

    params: dict[str, np.ndarray]
    adam: AdamState
    state: TrainingState
    config: dict[str, Any]
    labels: list[str]


def _tensors(arrays: dict[str, np.ndarray]) -> dict[str, torch.Tensor]:
    return {name: torch.from_numpy(np.ascontiguousarray(arrays[name])) for name in PARAM_NAMES}


def _arrays(tensors: dict[str, torch.Tensor]) -> dict[str, np.ndarray]:
    return {name: tensors[name].numpy() for name in PARAM_NAMES}


def save_checkpoint(
    path: Path,
    model: CaptioningRNN,
    adam_state: AdamState,
    state: TrainingState,
    config: dict[str, Any],
    fingerprint: dict[str, Any] | None = None,
) -> None:
    """Write the model, its Adam state and the training state atomically (one checkpoint format)."""
    loop = {
        "adam": {"m": _tensors(adam_state.m), "v": _tensors(adam_state.v), "t": adam_state.t},
        "state": asdict(state),
    }
    saved = checkpoint.make_checkpoint(
        KIND, _tensors(model.params), config, model.idx_to_word, fingerprint, loop=loop
    )
    checkpoint.save_checkpoint(saved, path)


def load_checkpoint(path: str | Path) -> Checkpoint:
    """Read a checkpoint written by ``save_checkpoint``.

    Raises:
        DlcError: one line for a missing, damaged or foreign file, another experiment's
            checkpoint, or a ``checkpoint.npz`` of dlclassics 0.1.
    """
    path = Path(path)
    if path.is_file() and zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            if "meta.npy" in archive.namelist():
                raise DlcError(
                    f"{path}: a caption checkpoint of dlclassics 0.1 (.npz), which this version "
                    "does not read; retrain with `dlc caption train`"
                )
    saved = checkpoint.load_checkpoint(path, KIND, required=("loop",))
    try:
        adam_state = saved["loop"]["adam"]
        return Checkpoint(
            params=_arrays(saved["model"]),
            adam=AdamState(
                _arrays(adam_state["m"]), _arrays(adam_state["v"]), int(adam_state["t"])
            ),
            state=TrainingState(**saved["loop"]["state"]),
            config=dict(saved["config"]),
            labels=[str(word) for word in saved["labels"]],
        )
    except (KeyError, TypeError, AttributeError, ValueError) as exc:
        raise DlcError(f"{path}: damaged caption checkpoint ({type(exc).__name__}: {exc})") from exc


# ---- the loop ---------------------------------------------------------------------------------


class CaptioningSolver:
    """Trains ``model`` on a split's captions.

    Args:
        model: the NumPy model (its params are the starting point and receive the result).
        train: the training split.
        config: epochs, batch size, learning rate and decay, engine, seed, device.
        checkpoint_path: where to save after every epoch (None: no checkpoints).
        run_config: the run's settings stored in checkpoints (a ``TrainConfig`` as a dict).
        fingerprint: plain data naming the training data, stored in checkpoints.
    """

    def __init__(
        self,
        model: CaptioningRNN,
        train: CaptionSplit,
        config: SolverConfig,
        checkpoint_path: Path | None = None,
        run_config: dict[str, Any] | None = None,
        fingerprint: dict[str, Any] | None = None,
    ) -> None:
        self.model = model
        self.train_split = train
        self.config = config
        self.checkpoint_path = checkpoint_path
        self.run_config = {"solver": asdict(config)} if run_config is None else run_config
        self.fingerprint = fingerprint or {}
        self.state = TrainingState(learning_rate=config.learning_rate)
        self.engine = make_engine(config.engine, model, config.learning_rate, config.device)

    def resume_from(self, saved: Checkpoint) -> None:
        """Continue from a checkpoint of the same model: weights, Adam state, history, epoch."""
        for name in PARAM_NAMES:
            if saved.params[name].shape != self.model.params[name].shape:
                raise DlcError(
                    f"checkpoint parameter {name} has shape {saved.params[name].shape}, "
                    f"the model {self.model.params[name].shape}: not the same model"
                )
            self.model.params[name] = saved.params[name].astype(self.model.dtype)
        self.state = saved.state
        self.engine.load_adam_state(saved.adam)
        self.engine.set_learning_rate(self.state.learning_rate)

    def train(self) -> TrainingState:
        """Run the remaining epochs; returns the training state (loss history, epoch rows)."""
        for epoch in range(self.state.epochs_done + 1, self.config.epochs + 1):
            started, learning_rate = time.perf_counter(), self.state.learning_rate
            losses = self.train_epoch(epoch)
            seconds = time.perf_counter() - started
            self.engine.sync_model()
            self.check_weights(epoch)
            self.state.loss_history += losses
            row = {"epoch": epoch, "lr": learning_rate, "train_loss": float(np.mean(losses))}
            self.state.history.append({**row, "seconds": seconds})
            self.state.epochs_done = epoch
            self.state.learning_rate *= self.config.lr_decay
            self.engine.set_learning_rate(self.state.learning_rate)
            if self.checkpoint_path is not None:
                save_checkpoint(
                    self.checkpoint_path,
                    self.model,
                    self.engine.adam_state(),
                    self.state,
                    self.run_config,
                    self.fingerprint,
                )
        self.engine.sync_model()
        return self.state

    def train_epoch(self, epoch: int) -> list[float]:
        """One pass over the training captions in the epoch's seeded order; the batch losses."""
        captions, image_idxs = self.train_split.captions, self.train_split.image_idxs
        n, batch = captions.shape[0], self.config.batch_size
        order = np.random.default_rng([self.config.seed, epoch - 1]).permutation(n)
        name = f"epoch {epoch}/{self.config.epochs}"
        losses = []
        bar = tqdm(range(max(1, math.ceil(n / batch))), desc=name, disable=None, leave=False)
        for it in bar:
            rows = order[it * batch : (it + 1) * batch]
            loss = self.engine.step(self.train_split.features[image_idxs[rows]], captions[rows])
            if not math.isfinite(loss):
                raise DlcError(
                    f"training loss became {loss} at {name}, iteration {it + 1}; try a lower --lr"
                )
            losses.append(loss)
            bar.set_postfix(loss=f"{loss:.3f}")
        return losses

    def check_weights(self, epoch: int) -> None:
        """Stop before saving when the epoch's last step left the weights unusable: NaN or
        infinite, or giving a non-finite loss on the first batch (each step's loss is measured
        before its update, so the last update is checked here)."""
        for name in PARAM_NAMES:
            if not np.isfinite(self.model.params[name]).all():
                raise DlcError(
                    f"epoch {epoch}: weight {name} became NaN or infinite; try a lower --lr"
                )
        rows = np.arange(min(self.config.batch_size, len(self.train_split.captions)))
        features = self.train_split.features[self.train_split.image_idxs[rows]]
        with np.errstate(all="ignore"):  # overflow is what is being detected
            log_prob = self.model.sequence_log_prob(features, self.train_split.captions[rows])
        if not np.isfinite(log_prob).all():
            raise DlcError(
                f"epoch {epoch}: the trained weights give a non-finite loss; try a lower --lr"
            )
