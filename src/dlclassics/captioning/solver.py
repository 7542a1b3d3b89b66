"""Training loop for the captioning model: Adam, per-epoch learning-rate decay, minibatches in
an order seeded by (``seed``, epoch), loss history, checkpoints and resume.

Two engines run the same update on the same parameters: ``numpy`` (hand-derived gradients and
``numpy_nn.optim.adam``) and ``torch`` (``TorchCaptioningRNN``'s autograd and
``torch.optim.Adam``: the same formula and defaults, on any device). Both keep Adam's state as
per-parameter moments and a step count, which a checkpoint stores (kind ``caption``, with the
``Config`` as ``config`` and the vocabulary as ``labels``), so a run resumes on either
engine with the batches an uninterrupted run would see. The checkpoint also keeps the feature
projection fitted on the training images (``projection``), so new images can be captioned
(``captioning.load``). As in ``dlclassics.training``, a non-finite loss stops the run at once and
NaN or infinite weights are never saved.
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
from dlclassics.captioning.architecture import CaptioningModel
from dlclassics.captioning.config import Config, saved_config_values
from dlclassics.captioning.dataset import CaptionSplit
from dlclassics.captioning.model import PARAM_NAMES
from dlclassics.captioning.torch_model import TorchCaptioningRNN
from dlclassics.errors import DlcError
from dlclassics.numpy_nn.optim import adam

KIND = "caption"


@dataclass
class AdamState:
    """Adam's state for every parameter: first moment m, second moment v, and the step count t."""

    m: dict[str, np.ndarray]
    v: dict[str, np.ndarray]
    t: int


@dataclass
class TrainingState:
    """What a checkpoint holds besides parameters and Adam's state: the loss of every iteration
    and one ``history`` row per epoch (``epoch``, ``lr``, ``train_loss`` (mean), ``seconds``)."""

    epochs_done: int = 0
    learning_rate: float = 5e-3
    loss_history: list[float] = field(default_factory=list)
    history: list[dict[str, float]] = field(default_factory=list)


class NumpyEngine:
    """Hand-derived gradients + ``numpy_nn.optim.adam``, updating ``model.params`` in place."""

    def __init__(self, model: CaptioningModel, learning_rate: float) -> None:
        self.model = model
        self.names = tuple(model.params)  # PARAM_NAMES, or the attention model's
        self.configs: dict[str, dict[str, Any]] = {n: {} for n in self.names}
        self.set_learning_rate(learning_rate)

    def step(self, features: np.ndarray, captions: np.ndarray) -> float:
        loss, grads = self.model.loss(features, captions)
        for n in self.names:
            self.model.params[n], self.configs[n] = adam(
                self.model.params[n], grads[n], self.configs[n]
            )
        return loss

    def set_learning_rate(self, learning_rate: float) -> None:
        for config in self.configs.values():
            config["learning_rate"] = learning_rate

    def sync_model(self) -> None:
        """The model's params are the trained ones already."""

    def adam_state(self) -> AdamState:
        zeros = {n: np.zeros_like(self.model.params[n]) for n in self.names}
        m = {n: self.configs[n].get("m", zeros[n]) for n in self.names}
        v = {n: self.configs[n].get("v", zeros[n]) for n in self.names}
        return AdamState(m, v, int(self.configs[self.names[0]].get("t", 0)))

    def load_adam_state(self, state: AdamState) -> None:
        for n in self.names:
            self.configs[n].update(m=state.m[n].copy(), v=state.v[n].copy(), t=state.t)


class TorchEngine:
    """The PyTorch twin with autograd and ``torch.optim.Adam`` (the model's dtype, any device)."""

    def __init__(self, model: CaptioningModel, learning_rate: float, device: str = "cpu") -> None:
        self.model, self.device = model, device
        self.net = TorchCaptioningRNN(
            model.params, model.cell_type, model.word_to_idx["<NULL>"]
        ).to(device)
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
        for n in PARAM_NAMES:
            state = self.optimizer.state.get(getattr(self.net, n), {})
            zeros = np.zeros_like(self.model.params[n])
            m[n] = state["exp_avg"].cpu().numpy().copy() if state else zeros
            v[n] = state["exp_avg_sq"].cpu().numpy().copy() if state else zeros
            t = int(state["step"]) if state else 0
        return AdamState(m, v, t)

    def load_adam_state(self, state: AdamState) -> None:
        with torch.no_grad():
            for n in PARAM_NAMES:
                getattr(self.net, n).copy_(torch.from_numpy(self.model.params[n]))
        if state.t == 0:
            return
        for n in PARAM_NAMES:
            self.optimizer.state[getattr(self.net, n)] = {
                "step": torch.tensor(float(state.t)),  # on the CPU, as torch.optim.Adam keeps it
                "exp_avg": torch.from_numpy(state.m[n].copy()).to(self.device),
                "exp_avg_sq": torch.from_numpy(state.v[n].copy()).to(self.device),
            }


@dataclass
class Checkpoint:
    """A caption checkpoint as read back (``config``: a ``Config`` as a dict, with the field
    names of this version; ``labels``: the vocabulary, index → word; ``projection``: the
    training features' projection, ``spatial.projection_state``'s dict, or None)."""

    params: dict[str, np.ndarray]
    adam: AdamState
    state: TrainingState
    config: dict[str, Any]
    labels: list[str]
    path: Path
    projection: dict[str, Any] | None = None


def _tensors(arrays: dict[str, np.ndarray]) -> dict[str, torch.Tensor]:
    return {n: torch.from_numpy(np.ascontiguousarray(a)) for n, a in arrays.items()}


def _arrays(tensors: dict[str, torch.Tensor]) -> dict[str, np.ndarray]:
    return {n: t.numpy() for n, t in tensors.items()}


def load_checkpoint(path: str | Path) -> Checkpoint:
    """Read a caption checkpoint; any problem with the file is one DlcError line."""
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
        moments = saved["loop"]["adam"]
        return Checkpoint(
            params=_arrays(saved["model"]),
            adam=AdamState(_arrays(moments["m"]), _arrays(moments["v"]), int(moments["t"])),
            state=TrainingState(**saved["loop"]["state"]),
            config=saved_config_values(dict(saved["config"])),
            labels=[str(word) for word in saved["labels"]],
            path=path,
            projection=saved.get("projection"),
        )
    except (KeyError, TypeError, AttributeError, ValueError) as exc:
        raise DlcError(f"{path}: damaged caption checkpoint ({type(exc).__name__}: {exc})") from exc


def load_params(model: CaptioningModel, saved: Checkpoint) -> None:
    """Copy the checkpoint's parameters into ``model`` (in its dtype); a parameter missing or of
    another shape: DlcError."""
    for n in model.params:
        if n not in saved.params:
            raise DlcError(f"{saved.path}: no parameter {n}: a checkpoint of another model")
        if saved.params[n].shape != model.params[n].shape:
            raise DlcError(
                f"{saved.path}: parameter {n} has shape {saved.params[n].shape}, the model "
                f"{model.params[n].shape}: not the same model"
            )
        model.params[n] = saved.params[n].astype(model.dtype)


def describe_epoch(row: dict[str, float], epochs: int, seconds: float) -> str:
    """The log line of one training epoch.

    >>> describe_epoch({"epoch": 2, "lr": 0.005, "train_loss": 1.5}, 10, 3.25)
    'epoch 2/10: train loss 1.5000, lr 5.00e-03 (3.2 s)'
    """
    return (
        f"epoch {row['epoch']}/{epochs}: train loss {row['train_loss']:.4f}, "
        f"lr {row['lr']:.2e} ({seconds:.1f} s)"
    )


class CaptioningSolver:
    """Trains ``model`` (whose params are the start and receive the result) on a split's
    captions; saves a checkpoint to ``checkpoint_path`` after every epoch unless it is None.
    ``fingerprint``: plain data naming the training data, stored in checkpoints;
    ``projection``: the features' projection as checkpoint data (``spatial.projection_state``).
    ``verbose``: print one line per epoch."""

    def __init__(
        self,
        model: CaptioningModel,
        train: CaptionSplit,
        config: Config,
        checkpoint_path: Path | None = None,
        fingerprint: dict[str, Any] | None = None,
        projection: dict[str, Any] | None = None,
        verbose: bool = False,
    ) -> None:
        self.model = model
        self.train_split = train
        self.config = config
        self.checkpoint_path = checkpoint_path
        self.fingerprint = fingerprint or {}
        self.projection = projection
        self.verbose = verbose
        self.state = TrainingState(learning_rate=config.lr)
        if config.engine == "numpy":
            self.engine: NumpyEngine | TorchEngine = NumpyEngine(model, config.lr)
        else:
            self.engine = TorchEngine(model, config.lr, config.device)

    def resume_from(self, saved: Checkpoint) -> None:
        """Continue from a checkpoint of the same model: weights, Adam state, history, epoch."""
        load_params(self.model, saved)
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
            if self.verbose:
                print(describe_epoch(row, self.config.epochs, seconds), flush=True)
            self.state.epochs_done = epoch
            self.state.learning_rate *= self.config.lr_decay
            self.engine.set_learning_rate(self.state.learning_rate)
            if self.checkpoint_path is not None:
                self.save(self.checkpoint_path)
        self.engine.sync_model()
        return self.state

    def save(self, path: Path) -> None:
        """Write the weights, Adam's state and the training state (atomically)."""
        adam_state = self.engine.adam_state()
        loop = {
            "adam": {"m": _tensors(adam_state.m), "v": _tensors(adam_state.v), "t": adam_state.t},
            "state": asdict(self.state),
        }
        saved = checkpoint.make_checkpoint(
            KIND,
            model=_tensors(self.model.params),
            config=asdict(self.config),
            labels=self.model.idx_to_word,
            fingerprint=self.fingerprint,
            loop=loop,
            projection=self.projection,
        )
        checkpoint.save_checkpoint(saved, path)

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
        """Stop before saving when the epoch's last step (each loss is measured before its
        update) left weights that are NaN or infinite or give a non-finite loss."""
        for n in self.model.params:
            if not np.isfinite(self.model.params[n]).all():
                raise DlcError(
                    f"epoch {epoch}: weight {n} became NaN or infinite; try a lower --lr"
                )
        rows = np.arange(min(self.config.batch_size, len(self.train_split.captions)))
        features = self.train_split.features[self.train_split.image_idxs[rows]]
        with np.errstate(all="ignore"):  # overflow is what is being detected
            log_prob = self.model.sequence_log_prob(features, self.train_split.captions[rows])
        if not np.isfinite(log_prob).all():
            raise DlcError(
                f"epoch {epoch}: the trained weights give a non-finite loss; try a lower --lr"
            )
