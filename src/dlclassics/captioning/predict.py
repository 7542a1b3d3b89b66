"""Captioning a user's images with a trained checkpoint (``dlc caption predict``): one
``predictions.Prediction`` per image (``caption`` in place of ``label``), and for an attention
model optionally one attention figure per image (each word's map over the picture)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from dlclassics.captioning.attention_maps import plot_attention
from dlclassics.captioning.captioner import Captioner
from dlclassics.captioning.config import DEFAULT_BEAM
from dlclassics.captioning.run import load
from dlclassics.data.images import expand_image_args
from dlclassics.errors import DlcError
from dlclassics.outputs import prepare_output_dir
from dlclassics.predictions import Prediction
from dlclassics.runtime import torch_threads


def attention_figure_names(images: Sequence[Path]) -> list[str]:
    """One file name per image, ``<stem>.attention.png``, numbered where stems repeat.

    >>> attention_figure_names([Path("a/x.jpg"), Path("b/x.png"), Path("y.jpg")])
    ['x.attention.png', 'x-2.attention.png', 'y.attention.png']
    """
    seen: dict[str, int] = {}
    names = []
    for image in images:
        seen[image.stem] = seen.get(image.stem, 0) + 1
        count = seen[image.stem]
        names.append(f"{image.stem}{'' if count == 1 else f'-{count}'}.attention.png")
    return names


def caption_files(
    captioner: Captioner,
    inputs: Sequence[str | os.PathLike[str]],
    *,
    beam: int = DEFAULT_BEAM,
    attention_maps: Path | None = None,
) -> list[Prediction]:
    """Caption the images that ``inputs`` name (files, folders searched for image files, ``-``
    for paths on standard input); with ``attention_maps`` also draw each image's word maps
    into that folder (an attention model only, refused before any work otherwise).

    >>> rows = caption_files(load("run/checkpoint.pt"), ["photos/"], beam=1)  # doctest: +SKIP
    >>> rows[0].caption  # doctest: +SKIP
    'a red circle on a plain background'
    """
    images = expand_image_args(inputs)
    if not images:
        raise DlcError(f"{', '.join(map(str, inputs))}: no image files to caption")
    if attention_maps is None:
        captions = captioner.caption(images, beam=beam)
        return [Prediction(input=str(p), caption=c) for p, c in zip(images, captions, strict=True)]
    if captioner.cell != "attention":
        raise DlcError(
            f"--attention-maps: {captioner.checkpoint} was trained with --cell "
            f"{captioner.cell}; attention maps need a model trained with --cell attention"
        )
    folder = prepare_output_dir(attention_maps, lock=False)
    predictions = []
    attended = captioner.caption_with_attention(images, beam=beam)
    for image, caption, name in zip(images, attended, attention_figure_names(images), strict=True):
        row = {"image": str(image), "words": caption.words, "alphas": caption.alphas}
        figure = plot_attention([row], folder / name, f"{image.name}: where each word looks")
        extra = {"attention_map": str(figure)}
        predictions.append(Prediction(input=str(image), caption=caption.text, extra=extra))
    return predictions


def predict_images(
    checkpoint: str | os.PathLike[str],
    inputs: Sequence[str | os.PathLike[str]],
    *,
    beam: int = DEFAULT_BEAM,
    attention_maps: Path | None = None,
    device: str | None = None,
    precision: str = "auto",
    threads: int | None = None,
) -> list[Prediction]:
    """``caption_files`` with the captioner of ``checkpoint`` (``run.load``) on ``device``,
    PyTorch limited to ``threads`` CPU threads (None: its default).

    >>> predict_images("run/checkpoint.pt", ["a.jpg"], beam=1)[0].caption  # doctest: +SKIP
    'a red circle on a plain background'
    """
    with torch_threads(threads):
        captioner = load(checkpoint, device=device, precision=precision)
        return caption_files(captioner, inputs, beam=beam, attention_maps=attention_maps)
