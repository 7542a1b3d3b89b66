"""Scoring a trained captioner on the splits of its data set, and the sample figures.

``evaluate_splits`` captions the train, val (val_unseen) and test images greedily and, when the
run's ``beam`` is above 1, with beam search, and scores them (BLEU-1…4, CIDEr, the assignment's
unigram BLEU, each with a bootstrap interval over the images, exact match against the image's own
captions); ``plot_samples`` draws a grid of
images with their generated and true captions.
"""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import numpy as np

from dlclassics.captioning.architecture import CaptioningModel
from dlclassics.captioning.config import Config
from dlclassics.captioning.dataset import CaptionData, CaptionSplit
from dlclassics.captioning.metrics import (
    bootstrap_intervals,
    corpus_scores,
    exact_match_rate,
    mean_unigram_bleu,
)
from dlclassics.captioning.vocab import decode_captions
from dlclassics.data.images import load_rgb
from dlclassics.errors import DlcError
from dlclassics.figures import plot_image_grid

SAMPLES_IN_FIGURES = 6  # two rows of three: captions stay readable at 100 % zoom
WRAP = 32  # characters per caption line in a sample figure: a 3.2-inch panel at 10 pt


def caption_images(
    model: CaptioningModel, split: CaptionSplit, *, count: int, beam: int, max_length: int
) -> tuple[CaptionSplit, list[str]]:
    """The first ``count`` images of ``split`` and the model's captions of them (beam 1:
    greedy)."""
    split = split.subset_images(np.arange(split.num_images) < count)
    return split, decode_captions(model.sample(split.features, max_length, beam), model.idx_to_word)


def split_candidates(split: CaptionSplit, idx_to_word: list[str]) -> list[list[str]]:
    """Each image's own encoded captions, decoded (what the model was trained to reproduce)."""
    per_image: list[list[str]] = [[] for _ in range(split.num_images)]
    decoded = decode_captions(split.captions, idx_to_word)
    for image, text in zip(split.image_idxs, decoded, strict=True):
        per_image[int(image)].append(text)
    return per_image


def sample_rows(
    split: CaptionSplit, generated: list[str], idx_to_word: list[str]
) -> list[dict[str, str]]:
    """(image, generated, truth) for the first len(generated) images; the truth shown is the
    image's first caption in the split (for ``--overfit``, the one it was trained on)."""
    candidates = split_candidates(split, idx_to_word)
    return [
        {"image": split.images[i], "generated": text, "truth": candidates[i][0]}
        for i, text in enumerate(generated)
    ]


def evaluate(
    model: CaptioningModel, split: CaptionSplit, *, beam: int, max_length: int, max_images: int
) -> tuple[dict[str, float], list[str]]:
    """Caption the first ``max_images`` images of ``split``; returns (scores, the captions):
    BLEU-1…4, CIDEr, unigram BLEU (assignment), exact match against the image's training
    captions, the image count, and ``"intervals"``: {score: [low, high]}, the 95 % bootstrap
    interval over the images of BLEU-1…4, CIDEr and unigram BLEU (``bootstrap_intervals``)."""
    split, generated = caption_images(
        model, split, count=max_images, beam=beam, max_length=max_length
    )
    scores = corpus_scores(split.references, generated)
    scores["unigram BLEU (assignment)"] = mean_unigram_bleu(split.references, generated)
    scores["exact match"] = exact_match_rate(split_candidates(split, model.idx_to_word), generated)
    scores["images"] = split.num_images
    scores["intervals"] = bootstrap_intervals(split.references, generated)
    return scores, generated


def evaluation_splits(data: CaptionData, train: CaptionSplit) -> dict[str, CaptionSplit]:
    """train (the one trained on), val, val_unseen (held-out combinations, if any), test."""
    val = data.splits["val"]
    splits = {"train": train, "val": val}
    if val.unseen.any():
        splits["val_unseen"] = val.subset_images(val.unseen)
    if "test" in data.splits:
        splits["test"] = data.splits["test"]
    return splits


def evaluate_splits(
    model: CaptioningModel, data: CaptionData, train: CaptionSplit, config: Config
) -> tuple[dict[str, Any], dict[str, list[dict[str, str]]]]:
    """Scores per split and decoding (``greedy``, ``beam{K}``), and the greedy sample rows of
    train and val."""
    results: dict[str, Any] = {}
    samples: dict[str, list[dict[str, str]]] = {}
    decodings = {"greedy": 1}
    if config.beam > 1:
        decodings[f"beam{config.beam}"] = config.beam
    for split_name, split in evaluation_splits(data, train).items():
        results[split_name] = {}
        for decoding, beam in decodings.items():
            scores, generated = evaluate(
                model, split, beam=beam, max_length=config.max_length, max_images=config.eval_images
            )
            results[split_name][decoding] = scores
            if decoding == "greedy" and split_name in ("train", "val"):
                shown = generated[:SAMPLES_IN_FIGURES]
                samples[split_name] = sample_rows(split, shown, model.idx_to_word)
    return results, samples


def plot_samples(rows: list[dict[str, str]], path: Path, title: str) -> Path:
    """A grid of images, each with its generated and one true caption (``rows``: ``{"image",
    "generated", "truth"}``); an image that is not a readable local file (a COCO URL: runs never
    download) is a grey panel captioned with its name."""
    images, captions = [], []
    for row in rows:
        generated, truth = textwrap.fill(row["generated"], WRAP), textwrap.fill(row["truth"], WRAP)
        caption = f"gen: {generated}\ngt: {truth}"
        try:
            images.append(load_rgb(row["image"]))
        except DlcError:
            images.append(np.full((8, 8, 3), 0.85))
            caption = f"{Path(row['image']).name}\n{caption}"
        captions.append(caption)
    return plot_image_grid(images, captions, path, title, columns=3)
