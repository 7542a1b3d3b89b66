"""One checkpoint format for every experiment: a plain dict, written atomically, read safely.

Every checkpoint ``dlc`` writes is ``torch.save`` of a dict with these keys:

- ``format`` (``FORMAT``) and ``version`` (``VERSION``): what the file is;
- ``kind``: the experiment that wrote it (``transfer``, ``sentiment``, ``caption``);
- ``model``: the model's ``state_dict`` (tensors only);
- ``config``: the experiment's settings as plain data (rebuilds the model);
- ``labels``: the class names, or the vocabulary (a list of strings), or ``[]``;
- ``fingerprint``: plain data naming the training data it was made from (may be ``{}``);
- ``loop`` (resume checkpoints only): optimiser, scheduler, loop state and random state.

``load_checkpoint`` reads it with ``weights_only=True`` (no code runs from a malicious pickle)
and turns every way a file can be wrong — missing, truncated, not ours, another experiment's,
an older format, missing keys, a field of the wrong type, a weight that is NaN or infinite — into
one ``DlcError`` line, so a damaged file is refused when it is loaded, never served.
"""

from __future__ import annotations

import os
import pickle
import warnings
import zipfile
from dataclasses import fields
from pathlib import Path
from typing import Any, TypeVar

import torch
from torch import nn

from dlclassics.errors import DlcError, first_line
from dlclassics.io import torch_save_atomic

FORMAT = "dlclassics-checkpoint"
VERSION = 1
REQUIRED_KEYS = ("format", "version", "kind", "model", "config", "labels", "fingerprint")
# checkpoints of release 0.1, before the one format: refused with how to get a new one
OLD_FORMATS = {"dlclassics.transfer/1": "transfer", "dlclassics-sentiment-1": "sentiment"}
RETRAIN = {kind: f"dlc {kind} train" for kind in ("transfer", "sentiment", "caption")}
# the type every field must have; "model" is further checked tensor by tensor
FIELD_TYPES = {
    "version": int,
    "kind": str,
    "model": dict,
    "config": dict,
    "labels": list,
    "fingerprint": dict,
}

Config = TypeVar("Config")


def make_checkpoint(
    kind: str,
    model: dict[str, torch.Tensor],
    config: dict[str, Any],
    labels: list[str] | None = None,
    fingerprint: dict[str, Any] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """The checkpoint dict of one model (``extra``: more plain data, e.g. ``loop`` or ``epoch``)."""
    return {
        "format": FORMAT,
        "version": VERSION,
        "kind": kind,
        "model": model,
        "config": config,
        "labels": list(labels or []),
        "fingerprint": fingerprint or {},
        **extra,
    }


save_checkpoint = torch_save_atomic  # a crash mid-write keeps the previous file whole


def read_torch_file(path: str | os.PathLike[str]) -> Any:
    """``torch.load(path, weights_only=True)`` on the CPU; any failure is one DlcError line."""
    path = Path(path)
    if not path.is_file():
        raise DlcError(f"{path}: checkpoint not found")
    if not zipfile.is_zipfile(path):
        raise DlcError(
            f"{path}: not a readable checkpoint (not a whole file written by torch.save)"
        )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        # torch's message advises weights_only=False, which would run the file's code
        raise DlcError(f"{path}: refused: the file holds objects other than weights") from exc
    except (RuntimeError, zipfile.BadZipFile, EOFError, OSError, ValueError) as exc:
        raise DlcError(f"{path}: not a readable checkpoint ({first_line(exc)})") from exc


def load_checkpoint(
    path: str | os.PathLike[str], kind: str, required: tuple[str, ...] = ()
) -> dict[str, Any]:
    """Read a checkpoint of ``kind`` and check it has ``REQUIRED_KEYS`` and ``required``;
    anything else is a one-line DlcError saying what the file is and what was expected."""
    p = Path(path)
    saved = read_torch_file(p)
    file_format = saved.get("format") if isinstance(saved, dict) else None
    if file_format in OLD_FORMATS:
        old_kind = OLD_FORMATS[file_format]
        raise DlcError(
            f"{p}: a {old_kind} checkpoint of dlclassics 0.1, which this version does not read; "
            f"retrain with `{RETRAIN[old_kind]}`"
        )
    if file_format != FORMAT:
        raise DlcError(f"{p}: not a dlc checkpoint (expected a {kind} checkpoint)")
    if saved.get("version") != VERSION:
        raise DlcError(
            f"{p}: checkpoint version {saved.get('version')!r}, this dlclassics reads version "
            f"{VERSION}; retrain with `{RETRAIN.get(kind, 'dlc')}`"
        )
    if saved.get("kind") != kind:
        raise DlcError(f"{p}: a {saved.get('kind')} checkpoint, expected a {kind} checkpoint")
    missing = [key for key in (*REQUIRED_KEYS, *required) if key not in saved]
    if missing:
        raise DlcError(f"{p}: damaged {kind} checkpoint: no {', '.join(missing)}")
    check_fields(saved, p, kind)
    return saved


def check_fields(saved: dict[str, Any], path: Path, kind: str) -> None:
    """Refuse a checkpoint whose fields have the wrong type (``labels`` a string, ``model`` a
    list), whose labels are not all strings, or whose weights are not finite tensors.

    Example:
        >>> check_fields(make_checkpoint("transfer", {"w": torch.zeros(2)}, {}, ["ants"]),
        ...              Path("best.pt"), "transfer")
    """
    for key, expected in FIELD_TYPES.items():
        if not isinstance(saved[key], expected):
            found = type(saved[key]).__name__
            raise DlcError(
                f"{path}: damaged {kind} checkpoint: {key} is a {found}, not a {expected.__name__}"
            )
    if not all(isinstance(label, str) for label in saved["labels"]):
        raise DlcError(f"{path}: damaged {kind} checkpoint: labels are not all strings")
    check_finite_weights(saved["model"], path, kind)


def check_finite_weights(weights: dict[str, Any], path: Path, kind: str) -> None:
    """Every entry of ``weights`` is a tensor, and every floating-point one is finite."""
    for name, tensor in weights.items():
        if not isinstance(tensor, torch.Tensor):
            found = type(tensor).__name__
            raise DlcError(f"{path}: damaged {kind} checkpoint: weight {name} is a {found}")
        if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all()):
            raise DlcError(f"{path}: damaged {kind} checkpoint: weight {name} holds NaN or inf")


def load_weights(module: nn.Module, state: dict[str, Any], path: str | os.PathLike[str]) -> None:
    """``module.load_state_dict(state)``, with missing keys or wrong shapes as one DlcError line."""
    try:
        module.load_state_dict(state)
    except (RuntimeError, KeyError, TypeError, AttributeError) as exc:
        detail = " ".join(str(exc).split())
        raise DlcError(f"{path}: weights do not fit the model ({detail[:200]})") from exc


def config_from(cls: type[Config], values: Any, path: str | os.PathLike[str]) -> Config:
    """Rebuild the dataclass ``cls`` from a checkpoint's plain ``values``.

    Fields a later version added take their defaults, and keys this version does not know are
    ignored, so a config change does not lock users out of their checkpoints; a required field
    that is missing is a DlcError.
    """
    if not isinstance(values, dict):
        raise DlcError(f"{path}: damaged checkpoint: config is not a mapping")
    known = {f.name for f in fields(cls)}
    try:
        return cls(**{k: v for k, v in values.items() if k in known})
    except (TypeError, ValueError) as exc:
        raise DlcError(f"{path}: damaged checkpoint config ({exc})") from exc
