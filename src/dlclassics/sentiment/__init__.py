"""Sentence sentiment: five reference classifiers, three stronger ones, ensembles, and their CLI.

The API::

    from dlclassics import sentiment

    clf = sentiment.load()                         # the packaged model; load("run/best.pt")
    clf.predict(["Great food!", "Never again."])   # labels, as in the training files
    clf.predict_proba(texts)                       # (N, 2), rows sum to 1
    res = sentiment.train(sentiment.Config(model="bow", data="my_text_dir", epochs=3))

``Config`` (``config``) decides a run; ``train`` and ``load`` (``run``) load PyTorch on first use,
so that ``dlc --help`` stays fast.
"""

from __future__ import annotations

from typing import Any

from dlclassics.sentiment.config import Config

__all__ = ["Config", "load", "train"]


def __getattr__(name: str) -> Any:
    """``train`` and ``load``, imported from ``sentiment.run`` when first asked for (they bring
    PyTorch, which the command line's help does not need)."""
    if name not in ("train", "load"):
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from dlclassics.sentiment import run

    return run.train if name == "train" else run.load
