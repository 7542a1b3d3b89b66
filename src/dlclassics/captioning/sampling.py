"""Caption images with a trained checkpoint (``dlc caption sample``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from dlclassics.captioning.config import TrainConfig
from dlclassics.captioning.figures import plot_samples
from dlclassics.captioning.solver import load_checkpoint
from dlclassics.captioning.train import (
    build_model,
    evaluation_splits,
    load_data,
    sample_rows,
    training_split,
)
from dlclassics.captioning.vocab import decode_captions
from dlclassics.errors import DlcError


def sample_from_checkpoint(
    checkpoint_path: Path,
    data_root: Path,
    data_spec: str | None,
    split_name: str,
    count: int,
    beam: int,
    out_dir: Path | None,
) -> tuple[list[dict[str, str]], Path]:
    """Caption the first ``count`` images of a split with the checkpoint's model.

    The data set is the one the checkpoint was trained on (or ``data_spec``), loaded with the same
    feature settings; its vocabulary must be the checkpoint's. Returns the rows
    (image, generated, truth) and the path of the figure ``samples_<split>.png``.
    """
    if count < 1 or beam < 1:
        raise DlcError("--n and --beam must be at least 1")
    checkpoint = load_checkpoint(checkpoint_path)
    config = TrainConfig.from_dict(checkpoint.meta.get("train_config", {}))
    if data_spec:
        config.data = data_spec
    data = load_data(config, data_root)
    if data.word_to_idx != checkpoint.meta.get("word_to_idx"):
        raise DlcError(
            f"{checkpoint_path}: its vocabulary differs from the data set {config.data!r}"
        )
    model = build_model(data, config)
    for name, value in checkpoint.params.items():
        if value.shape != model.params[name].shape:
            raise DlcError(
                f"{checkpoint_path}: parameter {name} has shape {value.shape}, expected {model.params[name].shape}"
            )
        model.params[name] = value.astype(model.dtype)
    splits = evaluation_splits(data, training_split(data, config))
    if split_name not in splits:
        raise DlcError(f"--split {split_name!r}: choose from {', '.join(splits)}")
    split = splits[split_name]
    keep = np.arange(split.num_images) < count
    split = split.subset_images(keep)
    generated = decode_captions(
        model.sample(split.features, config.max_length, beam), model.idx_to_word
    )
    rows = sample_rows(split, generated, model.idx_to_word)
    out_dir = Path(checkpoint_path).parent if out_dir is None else out_dir
    decoding = "greedy" if beam == 1 else f"beam {beam}"
    figure = plot_samples(
        [r["image"] for r in rows],
        [r["generated"] for r in rows],
        [r["truth"] for r in rows],
        out_dir / f"samples_{split_name}.png",
        f"{config.cell.upper()}, {split_name} images ({decoding})",
    )
    return rows, figure
