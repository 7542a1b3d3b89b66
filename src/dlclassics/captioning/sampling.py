"""Caption images with a trained checkpoint (``dlc caption sample``)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np

from dlclassics.captioning.config import TrainConfig
from dlclassics.captioning.dataset import CaptionData
from dlclassics.captioning.figures import plot_samples
from dlclassics.captioning.model import CaptioningRNN
from dlclassics.captioning.solver import Checkpoint, load_checkpoint
from dlclassics.captioning.train import (
    build_model,
    evaluation_splits,
    load_data,
    sample_rows,
    training_split,
)
from dlclassics.captioning.vocab import decode_captions
from dlclassics.checkpoint import config_from
from dlclassics.errors import DlcError
from dlclassics.outputs import check_output_file


def model_from_checkpoint(
    saved: Checkpoint,
    checkpoint_path: Path,
    data_root: Path,
    data_spec: str | None,
    device: str = "cpu",
) -> tuple[CaptioningRNN, TrainConfig, CaptionData]:
    """The checkpoint's model, its settings, and the data set it was trained on (or
    ``data_spec``), loaded with the same feature settings (features computed on ``device``).

    Raises:
        DlcError: the data set's vocabulary or the weights' shapes are not the checkpoint's.
    """
    config = config_from(TrainConfig, saved.config, checkpoint_path)
    config = replace(config, data=data_spec or config.data, device=device)
    data = load_data(config, data_root)
    if data.idx_to_word != saved.labels:
        raise DlcError(
            f"{checkpoint_path}: its vocabulary differs from the data set {config.data!r}"
        )
    model = build_model(data, config)
    for name, value in saved.params.items():
        if value.shape != model.params[name].shape:
            raise DlcError(
                f"{checkpoint_path}: parameter {name} has shape {value.shape}, expected "
                f"{model.params[name].shape}"
            )
        model.params[name] = value.astype(model.dtype)
    return model, config, data


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
    """Caption the first ``count`` images of a split with the checkpoint's model.

    Returns the rows (image, generated, truth) and the path of the figure
    ``out_dir/samples_<split>.png``, whose folder is checked once the checkpoint is read and
    before the data set is loaded.
    """
    saved = load_checkpoint(checkpoint_path)
    figure = check_output_file(out_dir / f"samples_{split_name}.png")
    model, config, data = model_from_checkpoint(
        saved, checkpoint_path, data_root, data_spec, device
    )
    splits = evaluation_splits(data, training_split(data, config))
    if split_name not in splits:
        raise DlcError(f"--split {split_name!r}: choose from {', '.join(splits)}")
    split = splits[split_name]
    split = split.subset_images(np.arange(split.num_images) < count)
    generated = decode_captions(
        model.sample(split.features, config.max_length, beam), model.idx_to_word
    )
    rows = sample_rows(split, generated, model.idx_to_word)
    decoding = "greedy" if beam == 1 else f"beam {beam}"
    title = f"{config.cell.upper()}, {split_name} images ({decoding})"
    return rows, plot_samples(rows, figure, title)
