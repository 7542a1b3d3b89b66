"""Neural style transfer (Gatys et al.): optimise an image's pixels so that its CNN features keep
the content of one picture and the Gram-matrix statistics of others.

    from dlclassics import style

    picture = style.stylize("photo.jpg", "starry.jpg", size=256, iters=200)  # a PIL image
    result = style.train(style.Config(content="photo.jpg", styles=["starry.jpg"], out="out/a.png"))
    result.files["image"], result.metrics["style_loss_last"]

``Config`` (``config``) holds a run's settings; ``run`` has ``stylize`` (returns the picture,
writes nothing) and ``train`` (writes the image and its side files, returns a ``Result``). There
is no ``load``: a run trains no model (the backbone stays frozen, the pixels are optimised), so
nothing is saved to load again; ``Result.checkpoint`` is None.

A run measures ``losses`` on a frozen backbone's ``features`` with per-backbone ``presets``,
optimises the pixels (``adam``, ``optimize``; coarse to fine in ``multiscale``, in tiles in
``tiles``, keeping the photo's colours with ``colors``), reading and writing pictures with
``images``; ``batch`` paints a folder of photos over torchrun processes; ``reference`` runs the
reference experiment; ``commands`` is ``dlc style`` and ``reproduce`` renders the report's part.
``train`` and ``stylize`` import PyTorch on first use, so building the ``dlc`` parser stays light.
"""

from __future__ import annotations

from typing import Any

from dlclassics.style.config import Config

__all__ = ["Config", "stylize", "train"]


def __getattr__(name: str) -> Any:
    """``train`` and ``stylize``, imported from ``style.run`` when first asked for (PEP 562)."""
    if name not in ("train", "stylize"):
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from dlclassics.style import run

    return run.train if name == "train" else run.stylize
