"""One captioning experiment end to end (``dlc caption train``), and captioning images with a
trained checkpoint (``dlc caption sample``).

``run_training`` writes into the output folder:

- ``checkpoint.pt`` after every epoch (the one checkpoint format, kind ``caption``); ``--resume``
  continues it with the same settings except ``config.RESUMABLE`` ones, else it refuses;
- ``metrics.json``: the configuration, losses, one ``history`` row per epoch and, for every
  evaluated split (train, val, val_unseen and test when present) and decoding (greedy, beam K),
  BLEU-1…4, CIDEr, the assignment's unigram BLEU and the exact-match rate (fractions);
- ``loss.png``, ``samples_train.png``, ``samples_val.png``; for ``--cell attention`` also
  ``attention_val.png`` (each word's attention map over the image) and, on the shapes data,
  ``attention_boxes`` in ``metrics.json``: how often a shape word's attention peak lies on the
  object it names.
"""

from __future__ import annotations

import textwrap
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

import numpy as np

from dlclassics.captioning.attention_maps import attention_outputs
from dlclassics.captioning.coco import load_coco
from dlclassics.captioning.config import RESUMABLE, TrainConfig
from dlclassics.captioning.dataset import CaptionData, CaptionSplit
from dlclassics.captioning.features import FeatureConfig
from dlclassics.captioning.folder import FolderOptions, load_caption_folder
from dlclassics.captioning.metrics import corpus_scores, exact_match_rate, mean_unigram_bleu
from dlclassics.captioning.model import CELL_TYPES, CaptioningRNN
from dlclassics.captioning.shapes import default_shapes_dir, load_shapes
from dlclassics.captioning.solver import CaptioningSolver, load_checkpoint, load_params
from dlclassics.captioning.vocab import decode_captions
from dlclassics.checkpoint import config_from
from dlclassics.data.images import load_rgb
from dlclassics.errors import DlcError
from dlclassics.figures import plot_image_grid, plot_series
from dlclassics.io import atomic_write_json
from dlclassics.outputs import check_output_file

CHECKPOINT_NAME = "checkpoint.pt"
SAMPLES_IN_FIGURES = 6  # two rows of three: captions stay readable at 100 % zoom
WRAP = 32  # characters per caption line in a sample figure: a 3.2-inch panel at 10 pt


def load_data(config: TrainConfig, data_root: Path) -> CaptionData:
    """The data set ``config.data`` names: ``shapes[:DIR]`` (generated when absent),
    ``coco[:DIR]`` (CS231n's files, default ``<data root>/coco_captioning``) or ``folder:DIR``
    (images + a captions file, ``captioning.folder``)."""
    kind, _, where = config.data.partition(":")
    if kind not in ("shapes", "coco", "folder"):
        raise DlcError(f"--data {config.data!r}: expected shapes[:DIR], coco[:DIR] or folder:DIR")
    folder = Path(where).expanduser() if where else None
    spatial = config.cell == "attention"
    features = FeatureConfig(config.backbone, image_size=config.image_size, device=config.device)
    cache = Path(config.feature_cache) if config.feature_cache else None
    options = FolderOptions(features, pca_dim=config.pca, cache_dir=cache, spatial=spatial)
    if kind == "shapes":
        shapes_dir = folder or default_shapes_dir(data_root)
        return load_shapes(shapes_dir, options)
    if kind == "coco":
        if spatial:
            raise DlcError(
                "--cell attention needs the images for their feature maps; the CS231n COCO "
                "files hold pooled features only: use --data shapes or folder:DIR"
            )
        return load_coco(folder or Path(data_root) / "coco_captioning")
    if folder is None:
        raise DlcError("--data folder:DIR needs the folder, e.g. folder:~/my_captions")
    return load_caption_folder(folder, options)


def training_split(data: CaptionData, config: TrainConfig) -> CaptionSplit:
    """The training split, or with ``overfit`` N captions of N different training images (one
    caption per image makes "reproduce the training captions exactly" a well-posed goal)."""
    train, count = data.splits["train"], config.overfit
    if not count:
        return train
    if count > train.num_images:
        raise DlcError(f"--overfit {count}: the training split has only {train.num_images} images")
    images = np.random.default_rng(config.seed).permutation(train.num_images)[:count]
    first_caption = dict(zip(*np.unique(train.image_idxs, return_index=True), strict=True))
    return train.subset_captions(np.array([first_caption[i] for i in images]))


def build_model(data: CaptionData, config: TrainConfig) -> CaptioningRNN:
    """The model ``config.cell`` names (an ``AttentionCaptioningRNN`` for "attention")."""
    if config.cell not in CELL_TYPES:
        raise DlcError(f"--cell {config.cell!r}: expected one of {', '.join(CELL_TYPES)}")
    if config.cell == "attention" and config.engine != "numpy":
        raise DlcError("--cell attention runs on the NumPy engine only: drop --engine torch")
    extra = {}
    if config.cell == "attention":
        extra = {"attention_dim": config.attention_dim, "regularization": config.attention_reg}
    return CaptioningRNN(
        data.word_to_idx, data.feature_dim, config.wordvec, config.hidden, config.cell,
        np.float32, config.seed, **extra,
    )  # fmt: skip


def caption_images(
    model: CaptioningRNN, split: CaptionSplit, count: int, beam: int, max_length: int
) -> tuple[CaptionSplit, list[str]]:
    """The first ``count`` images of ``split`` and the model's captions of them."""
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
    model: CaptioningRNN, split: CaptionSplit, beam: int, max_length: int, max_images: int
) -> tuple[dict[str, float], list[str]]:
    """Caption the first ``max_images`` images of ``split``; returns (scores, the captions):
    BLEU-1…4, CIDEr, unigram BLEU (assignment), exact match against the image's training
    captions, and the image count."""
    split, generated = caption_images(model, split, max_images, beam, max_length)
    scores = corpus_scores(split.references, generated)
    scores["unigram BLEU (assignment)"] = mean_unigram_bleu(split.references, generated)
    scores["exact match"] = exact_match_rate(split_candidates(split, model.idx_to_word), generated)
    scores["images"] = split.num_images
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


def run_training(
    config: TrainConfig,
    out_dir: Path,
    data_root: Path,
    resume: bool = False,
    data: CaptionData | None = None,
) -> dict[str, Any]:
    """Train and evaluate one model; write checkpoint, metrics.json and figures into ``out_dir``.

    ``data``: a loaded data set to reuse across runs (benchmarks). Returns the metrics.
    """
    out_dir, checkpoint_path = Path(out_dir), Path(out_dir) / CHECKPOINT_NAME
    data = load_data(config, data_root) if data is None else data
    train = training_split(data, config)
    model = build_model(data, config)
    solver = CaptioningSolver(model, train, config, checkpoint_path, {"data": data.description})
    if resume and checkpoint_path.is_file():
        saved = load_checkpoint(checkpoint_path)
        if saved.labels != data.idx_to_word:
            raise DlcError(f"{checkpoint_path}: trained with a different vocabulary; cannot resume")
        changed = [
            key
            for key, value in asdict(config).items()
            if key not in RESUMABLE and saved.config.get(key) != value
        ]
        if changed:
            raise DlcError(
                f"{checkpoint_path}: written with other settings ({', '.join(changed)}); resume "
                "with the same settings, or rerun without --resume (the run starts over)"
            )
        solver.resume_from(saved)
    state = solver.train()
    results, samples = _evaluate_splits(model, data, train, config)
    metrics = {
        "config": asdict(config),
        "data": data.description,
        "vocab_size": len(data.word_to_idx),
        "feature_dim": data.feature_dim,
        "train_captions": int(train.captions.shape[0]),
        "train_images": train.num_images,
        "final_loss": state.loss_history[-1] if state.loss_history else None,
        "last_epoch_mean_loss": state.history[-1]["train_loss"] if state.history else None,
        "epochs_done": state.epochs_done,
        "history": state.history,
        "evaluation": results,
        "samples": samples,
        "figures": _write_figures(state.loss_history, samples, config, out_dir),
    }
    if config.cell == "attention":
        label = f"{config.cell.upper()} ({config.engine}), val images (greedy)"
        attention = attention_outputs(model, data.splits["val"], out_dir, config.max_length, label)
        metrics["figures"]["attention_val"] = attention["figure"]
        metrics["attention_boxes"] = attention["boxes"]
    atomic_write_json(out_dir / "metrics.json", metrics)
    return metrics


def _evaluate_splits(
    model: CaptioningRNN, data: CaptionData, train: CaptionSplit, config: TrainConfig
) -> tuple[dict[str, Any], dict[str, list[dict[str, str]]]]:
    """Scores per split and decoding, and the greedy sample rows of train and val."""
    results: dict[str, Any] = {}
    samples: dict[str, list[dict[str, str]]] = {}
    decodings = {"greedy": 1, **({f"beam{config.beam}": config.beam} if config.beam > 1 else {})}
    for split_name, split in evaluation_splits(data, train).items():
        results[split_name] = {}
        for decoding, beam in decodings.items():
            scores, generated = evaluate(model, split, beam, config.max_length, config.eval_images)
            results[split_name][decoding] = scores
            if decoding == "greedy" and split_name in ("train", "val"):
                shown = generated[:SAMPLES_IN_FIGURES]
                samples[split_name] = sample_rows(split, shown, model.idx_to_word)
    return results, samples


def _write_figures(
    losses: list[float], samples: dict[str, list[dict[str, str]]], config: TrainConfig, out: Path
) -> dict[str, str]:
    """loss.png, samples_train.png and samples_val.png; returns name → file name."""
    label = f"{config.cell.upper()} ({config.engine})"
    title = f"Captioning training loss, {label}"
    plot_series({label: losses}, out / "loss.png", title, ylabel="training loss", smooth=True)
    for split_name in ("train", "val"):
        title = f"{label}, {split_name} images (greedy)"
        plot_samples(samples[split_name], out / f"samples_{split_name}.png", title)
    return {"loss": "loss.png", **{f"samples_{s}": f"samples_{s}.png" for s in ("train", "val")}}


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


def sample_from_checkpoint(
    checkpoint_path: Path,
    data_root: Path,
    data_spec: str | None,
    split_name: str,
    count: int,
    beam: int,
    out_dir: Path,
    device: str = "cpu",
) -> tuple[list[dict[str, str]], Path]:
    """Caption the first ``count`` images of a split with the checkpoint's model, on the data
    set it was trained on (or ``data_spec``) with the same feature settings.

    Returns the rows (image, generated, truth) and the figure ``out_dir/samples_<split>.png``,
    whose folder is checked once the checkpoint is read and before the data set is loaded.
    """
    saved = load_checkpoint(checkpoint_path)
    figure = check_output_file(out_dir / f"samples_{split_name}.png")
    config = config_from(TrainConfig, saved.config, checkpoint_path)
    config = replace(config, data=data_spec or config.data, device=device)
    data = load_data(config, data_root)
    if data.idx_to_word != saved.labels:
        raise DlcError(
            f"{checkpoint_path}: its vocabulary differs from the data set {config.data!r}"
        )
    model = build_model(data, config)
    load_params(model, saved)
    splits = evaluation_splits(data, training_split(data, config))
    if split_name not in splits:
        raise DlcError(f"--split {split_name!r}: choose from {', '.join(splits)}")
    split, generated = caption_images(model, splits[split_name], count, beam, config.max_length)
    rows = sample_rows(split, generated, model.idx_to_word)
    decoding = "greedy" if beam == 1 else f"beam {beam}"
    return rows, plot_samples(
        rows, figure, f"{config.cell.upper()}, {split_name} images ({decoding})"
    )
