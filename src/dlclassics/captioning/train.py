"""One captioning experiment end to end: load data, train, evaluate, write metrics and figures.

``run_training`` is what ``dlc caption train`` runs. Files written into the output folder:

- ``checkpoint.pt``: weights, Adam state and history after every epoch, in the one checkpoint
  format (kind ``caption``); ``--resume`` continues it, with the same settings except those in
  ``config.RESUMABLE_CHANGES`` (more epochs, another engine or device), else it refuses;
- ``metrics.json``: the configuration, losses, one ``history`` row per epoch (``epoch``, ``lr``,
  ``train_loss``, ``seconds``) and, for every evaluated split (train, val, val_unseen when
  present, test when present) and decoding (greedy, beam K), BLEU-1…4, CIDEr, the assignment's
  unigram BLEU and the exact-match rate (fractions);
- ``loss.png``, ``samples_train.png``, ``samples_val.png``.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from dlclassics.captioning.config import TrainConfig, training_settings
from dlclassics.captioning.dataset import CaptionData, CaptionSplit
from dlclassics.captioning.figures import plot_samples
from dlclassics.captioning.loaders import feature_options, load_caption_data
from dlclassics.captioning.metrics import corpus_scores, exact_match_rate, mean_unigram_bleu
from dlclassics.captioning.model import CaptioningRNN
from dlclassics.captioning.solver import (
    CaptioningSolver,
    SolverConfig,
    TrainingState,
    load_checkpoint,
)
from dlclassics.captioning.vocab import decode_captions
from dlclassics.errors import DlcError
from dlclassics.figures import plot_series
from dlclassics.io import atomic_write_json

CHECKPOINT_NAME = "checkpoint.pt"
SAMPLES_IN_FIGURES = 6  # two rows of three: captions stay readable at 100 % zoom


def load_data(config: TrainConfig, data_root: Path) -> CaptionData:
    options = feature_options(
        config.backbone, config.image_size, config.pca, config.feature_cache, config.device
    )
    return load_caption_data(config.data, data_root, options)


def overfit_split(train: CaptionSplit, count: int, seed: int) -> CaptionSplit:
    """``count`` captions of ``count`` different training images, chosen with ``seed``.

    One caption per image makes "reproduce the training captions exactly" a well-posed goal.
    """
    rng = np.random.default_rng(seed)
    images = rng.permutation(train.num_images)[:count]
    first_caption = {}
    for row, image in enumerate(train.image_idxs):
        first_caption.setdefault(int(image), row)
    if count > train.num_images:
        raise DlcError(f"--overfit {count}: the training split has only {train.num_images} images")
    return train.subset_captions(np.array([first_caption[int(i)] for i in images]))


def training_split(data: CaptionData, config: TrainConfig) -> CaptionSplit:
    train = data.splits["train"]
    return overfit_split(train, config.overfit, config.seed) if config.overfit else train


def build_model(data: CaptionData, config: TrainConfig) -> CaptioningRNN:
    if config.cell not in ("rnn", "lstm"):
        raise DlcError(f"--cell {config.cell!r}: expected rnn or lstm")
    return CaptioningRNN(
        data.word_to_idx,
        data.feature_dim,
        config.wordvec,
        config.hidden,
        config.cell,
        np.float32,
        config.seed,
    )


def split_candidates(split: CaptionSplit, idx_to_word: list[str]) -> list[list[str]]:
    """Each image's own encoded captions, decoded (what the model was trained to reproduce)."""
    decoded = decode_captions(split.captions, idx_to_word)
    per_image: list[list[str]] = [[] for _ in range(split.num_images)]
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
    """Caption the first ``max_images`` images of ``split`` and score them.

    Returns (scores, generated captions): BLEU-1…4, CIDEr, unigram BLEU (assignment), exact match
    against the image's training captions, and the image count.
    """
    keep = np.arange(split.num_images) < max_images
    split = split.subset_images(keep)
    generated = decode_captions(model.sample(split.features, max_length, beam), model.idx_to_word)
    scores = corpus_scores(split.references, generated)
    scores["unigram BLEU (assignment)"] = mean_unigram_bleu(split.references, generated)
    scores["exact match"] = exact_match_rate(split_candidates(split, model.idx_to_word), generated)
    scores["images"] = split.num_images
    return scores, generated


def evaluation_splits(data: CaptionData, train: CaptionSplit) -> dict[str, CaptionSplit]:
    """train (the one trained on), val, val_unseen (held-out combinations, if any), test."""
    splits = {"train": train, "val": data.splits["val"]}
    if data.splits["val"].unseen.any():
        splits["val_unseen"] = data.splits["val"].subset_images(data.splits["val"].unseen)
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

    ``data`` may be passed to reuse a loaded data set across runs (benchmarks). Returns the
    metrics dictionary that is also written to ``metrics.json``.
    """
    out_dir = Path(out_dir)
    data = load_data(config, data_root) if data is None else data
    train = training_split(data, config)
    model = build_model(data, config)
    state = _train(model, train, data, config, out_dir / CHECKPOINT_NAME, resume)
    results, samples = _evaluate_splits(model, data, train, config)
    figures = _write_figures(state.loss_history, samples, config, out_dir)
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
        "figures": figures,
    }
    atomic_write_json(out_dir / "metrics.json", metrics)
    return metrics


def _train(
    model: CaptioningRNN,
    train: CaptionSplit,
    data: CaptionData,
    config: TrainConfig,
    checkpoint_path: Path,
    resume: bool,
) -> TrainingState:
    """Run the solver, continuing from ``checkpoint_path`` when ``resume`` and it exists (with
    the same vocabulary and training settings: anything else is refused in one line)."""
    solver_config = SolverConfig(
        config.epochs,
        config.batch_size,
        config.lr,
        config.lr_decay,
        config.engine,
        config.seed,
        config.device,
    )
    fingerprint = {"data": data.description}
    solver = CaptioningSolver(
        model, train, solver_config, checkpoint_path, asdict(config), fingerprint
    )
    if resume and checkpoint_path.is_file():
        saved = load_checkpoint(checkpoint_path)
        if saved.labels != data.idx_to_word:
            raise DlcError(f"{checkpoint_path}: trained with a different vocabulary; cannot resume")
        before, now = training_settings(saved.config), training_settings(asdict(config))
        changed = [key for key in now if before.get(key) != now[key]]
        if changed:
            raise DlcError(
                f"{checkpoint_path}: written with other settings ({', '.join(changed)}); resume "
                "with the same settings, or rerun without --resume (the run starts over)"
            )
        solver.resume_from(saved)
    return solver.train()


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
                samples[split_name] = sample_rows(
                    split, generated[:SAMPLES_IN_FIGURES], model.idx_to_word
                )
    return results, samples


def _write_figures(
    losses: list[float],
    samples: dict[str, list[dict[str, str]]],
    config: TrainConfig,
    out_dir: Path,
) -> dict[str, str]:
    """loss.png, samples_train.png and samples_val.png; returns name → file name."""
    label = f"{config.cell.upper()} ({config.engine})"
    title = f"Captioning training loss, {label}"
    plot_series({label: losses}, out_dir / "loss.png", title, ylabel="training loss", smooth=True)
    figures = {"loss": "loss.png"}
    for split_name in ("train", "val"):
        name = f"samples_{split_name}.png"
        title = f"{label}, {split_name} images (greedy)"
        plot_samples(samples[split_name], out_dir / name, title)
        figures[f"samples_{split_name}"] = name
    return figures
