"""Image captioning with the NumPy RNN/LSTM of ``dlclassics.numpy_nn`` (part 4).

The Python API::

    from dlclassics import captioning

    res = captioning.train(captioning.Config(data="shapes", cell="lstm", epochs=10, out="runs/c"))
    res.metrics["val_bleu4"]
    captioning.load(res.checkpoint).caption(["a.jpg", pil_image], beam=3)  # → list[str]

Settings (``config``); data (``coco``, ``folder``, ``shapes``, ``features``, ``spatial``,
``vocab``, ``dataset``) → models (``model``, ``attention_model``, their shared ``decoding``,
``architecture`` picking one, the PyTorch twin ``torch_model``) → training (``solver``,
``run``) → scores (``metrics``, ``evaluation``) → new images (``captioner``); ``benchmark``
runs the shapes benchmark, ``reproduce`` renders it, ``commands`` is ``dlc caption``.

``train`` and ``load`` import NumPy and PyTorch on first use, so importing this package (as
building the ``dlc`` parser does) stays light.
"""

from __future__ import annotations

from typing import Any

from dlclassics.captioning.config import Config

__all__ = ["Config", "load", "train"]


def __getattr__(name: str) -> Any:
    """``train`` and ``load``, from ``captioning.run`` when first used."""
    if name not in ("train", "load"):
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from dlclassics.captioning import run

    return run.train if name == "train" else run.load
