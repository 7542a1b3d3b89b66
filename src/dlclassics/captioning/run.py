"""One captioning experiment end to end (``train``), and a trained model as a captioner of any
images (``load``); ``dlc caption train``, ``sample`` and ``predict`` call these.

``train(config)`` writes into ``config.out``:

- ``checkpoint.pt`` after every epoch (the one checkpoint format, kind ``caption``, with the
  training images' feature projection); ``resume`` continues it with the same settings except
  ``config.RESUMABLE`` ones, else it refuses;
- ``metrics.json``: the configuration, losses, one ``history`` row per epoch and, for every
  evaluated split (train, val, val_unseen and test when present) and decoding (greedy, beam K),
  BLEU-1…4, CIDEr, the assignment's unigram BLEU and the exact-match rate (fractions);
- ``loss.png``, ``samples_train.png``, ``samples_val.png``; for ``cell="attention"`` also
  ``attention_val.png`` (each word's attention map over the image) and, on the shapes data,
  ``attention_boxes`` in ``metrics.json``: how often a shape word's attention peak lies on the
  object it names.

It returns a ``results.Result``: ``metrics`` such as ``val_bleu4`` (greedy) and
``val_bleu4_beam3``, ``history``, ``checkpoint``, the files by role, and the rest of
``metrics.json`` as ``details``.
"""

from __future__ import annotations

import sys
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

import numpy as np

from dlclassics.captioning.architecture import build_model
from dlclassics.captioning.attention_maps import attention_outputs
from dlclassics.captioning.captioner import Captioner
from dlclassics.captioning.coco import load_coco
from dlclassics.captioning.config import DATA_FORMATS, DEFAULT_BEAM, RESUMABLE, Config
from dlclassics.captioning.dataset import CaptionData, CaptionSplit
from dlclassics.captioning.evaluation import (
    caption_images,
    evaluate_splits,
    evaluation_splits,
    plot_samples,
    sample_rows,
)
from dlclassics.captioning.features import FeatureConfig
from dlclassics.captioning.folder import FolderOptions, load_caption_folder
from dlclassics.captioning.shapes import default_shapes_dir, load_shapes
from dlclassics.captioning.solver import (
    CaptioningSolver,
    Checkpoint,
    load_checkpoint,
    load_params,
)
from dlclassics.captioning.spatial import Projection, projection_from_state, projection_state
from dlclassics.checkpoint import config_from
from dlclassics.data.root import resolve_data_root
from dlclassics.errors import DlcError
from dlclassics.figures import plot_series
from dlclassics.io import atomic_write_json
from dlclassics.outputs import check_output_file, prepare_output_dir, release_output_dir
from dlclassics.results import Result
from dlclassics.runtime import resolve_device, torch_threads

CHECKPOINT_NAME = "checkpoint.pt"
# metrics.json's score names → the metric part of Result.metrics' "{split}_{metric}" keys
METRIC_NAMES = {
    "BLEU-1": "bleu1",
    "BLEU-2": "bleu2",
    "BLEU-3": "bleu3",
    "BLEU-4": "bleu4",
    "CIDEr": "cider",
    "unigram BLEU (assignment)": "unigram_bleu",
    "exact match": "exact_match",
}


def detect_format(folder: Path) -> str:
    """``shapes`` for a ``make-shapes`` folder, ``coco`` for CS231n's COCO files, else
    ``folder`` (images and a captions file).

    >>> detect_format(Path("/nowhere"))
    'folder'
    """
    if (folder / "meta.json").is_file() and (folder / "captions_train.txt").is_file():
        return "shapes"
    if (folder / "coco2014_captions.h5").is_file():
        return "coco"
    return "folder"


def data_source(config: Config) -> tuple[str, Path | None]:
    """(format, folder) of ``config.data``: a named set (``shapes``, ``coco``: folder None, the
    default place), or a folder whose format ``config.data_format`` names or is detected; the
    0.1 spelling ``FORMAT:DIR`` still works, with a note.

    >>> data_source(Config(data="shapes"))
    ('shapes', None)
    """
    spec, forced = config.data, config.data_format
    if forced is not None and forced not in DATA_FORMATS:
        raise DlcError(f"--data-format {forced!r}: expected one of {', '.join(DATA_FORMATS)}")
    kind, colon, rest = spec.partition(":")
    if colon and kind in DATA_FORMATS and not Path(spec).exists():
        if not rest:
            raise DlcError(f"--data {spec!r} needs the folder, e.g. --data ~/my_captions")
        print(f"dlc: note: --data {kind}:DIR is deprecated; use --data DIR", file=sys.stderr)
        return forced or kind, Path(rest).expanduser()
    if spec in ("shapes", "coco") and forced in (None, spec):
        return spec, None
    folder = Path(spec).expanduser()
    if not folder.is_dir():
        raise DlcError(
            f"--data {spec!r}: no such folder; expected shapes, coco or a folder of images with "
            "a captions file"
        )
    return forced or detect_format(folder), folder


def load_data(config: Config) -> CaptionData:
    """The data set ``config.data`` names (see ``data_source``), with the image features the
    model reads: pooled, or feature maps for ``cell="attention"``."""
    kind, folder = data_source(config)
    data_root = resolve_data_root(config.data_root)
    spatial = config.cell == "attention"
    features = FeatureConfig(
        config.backbone,
        image_size=config.image_size,
        device=config.device,
        precision=config.precision,
    )
    cache = Path(config.cache_dir) if config.cache_dir else None
    options = FolderOptions(features, pca_dim=config.pca, cache_dir=cache, spatial=spatial)
    if kind == "shapes":
        return load_shapes(folder or default_shapes_dir(data_root), options)
    if kind == "coco":
        if spatial:
            raise DlcError(
                "--cell attention needs the images for their feature maps; the CS231n COCO "
                "files hold pooled features only: use --data shapes or a folder of images"
            )
        return load_coco(folder or data_root / "coco_captioning")
    return load_caption_folder(folder, options)


def training_split(data: CaptionData, config: Config) -> CaptionSplit:
    """The training split, or with ``overfit`` N captions of N different training images (one
    caption per image makes "reproduce the training captions exactly" a well-posed goal)."""
    train, count = data.splits["train"], config.overfit
    if not count:
        return train
    if count > train.num_images:
        raise DlcError(f"--overfit {count}: the training split has only {train.num_images} images")
    images = np.random.default_rng(config.seed).permutation(train.num_images)[:count]
    # np.unique: the sorted images used, and the row of each one's first caption
    used_images, first_rows = np.unique(train.image_idxs, return_index=True)
    first_caption_row = dict(zip(used_images.tolist(), first_rows.tolist(), strict=True))
    return train.subset_captions(np.array([first_caption_row[i] for i in images.tolist()]))


def check_resumable(saved: Checkpoint, config: Config, data: CaptionData) -> None:
    """A DlcError when the checkpoint was trained on another vocabulary or with settings other
    than ``RESUMABLE`` ones changed."""
    if saved.labels != data.idx_to_word:
        raise DlcError(f"{saved.path}: trained with a different vocabulary; cannot resume")
    changed = [
        key
        for key, value in asdict(config).items()
        if key not in RESUMABLE and saved.config.get(key) != value
    ]
    if changed:
        raise DlcError(
            f"{saved.path}: written with other settings ({', '.join(changed)}); resume "
            "with the same settings, or rerun without --resume (the run starts over)"
        )


def describe_data(data: CaptionData, train: CaptionSplit) -> str:
    """The one-line summary ``train`` prints before training."""
    others = ", ".join(
        f"{split.num_images} {name}" for name, split in data.splits.items() if name != "train"
    )
    return (
        f"data: {data.description}: {train.num_images} training images "
        f"({train.captions.shape[0]} captions), {others} images; vocabulary "
        f"{len(data.word_to_idx)} words, {data.feature_dim}-d image features"
    )


def headline_metrics(evaluation: dict[str, Any], last_loss: float | None) -> dict[str, float]:
    """``{split}_{metric}`` figures of every split and decoding (``_beamK`` for beam search),
    and ``train_loss`` (the last epoch's mean).

    >>> headline_metrics({"val": {"greedy": {"BLEU-4": 0.5, "images": 3}}}, 1.25)
    {'train_loss': 1.25, 'val_bleu4': 0.5}
    """
    metrics = {} if last_loss is None else {"train_loss": last_loss}
    for split, by_decoding in evaluation.items():
        for decoding, scores in by_decoding.items():
            suffix = "" if decoding == "greedy" else f"_{decoding}"
            for name, value in scores.items():
                if name in METRIC_NAMES:
                    metrics[f"{split}_{METRIC_NAMES[name]}{suffix}"] = float(value)
    return metrics


def train(config: Config, data: CaptionData | None = None) -> Result:
    """Train and evaluate one captioning model into ``config.out`` (module docstring).

    ``data``: a data set loaded already (benchmarks reuse one across runs); None loads
    ``config.data``. Prints a data summary line and one line per epoch.

    Returns:
        a ``Result``: ``metrics`` (``val_bleu4``, ``val_cider``, ``val_bleu4_beam3``, ...,
        ``train_loss``), ``history`` (one row per epoch), ``checkpoint`` (what ``load`` takes),
        ``files`` by role and the rest of ``metrics.json`` as ``details``.

    Example:
        >>> res = train(Config(data="shapes", cell="lstm", epochs=1, out="runs/c"))
        >>> 0 <= res.metrics["val_bleu4"] <= 1
        True
    """
    out = prepare_output_dir(config.out)
    try:
        with torch_threads(config.threads):
            return _train(config, data, out)
    finally:
        release_output_dir(out)


def _train(config: Config, data: CaptionData | None, out: Path) -> Result:
    config = replace(config, device=resolve_device(config.device))
    checkpoint_path = out / CHECKPOINT_NAME
    data = load_data(config) if data is None else data
    train_split = training_split(data, config)
    print(describe_data(data, train_split), flush=True)
    model = build_model(data.word_to_idx, data.feature_dim, config)
    solver = CaptioningSolver(
        model,
        train_split,
        config,
        checkpoint_path,
        fingerprint={"data": data.description},
        projection=None if data.projection is None else projection_state(data.projection),
        verbose=True,
    )
    if config.resume and checkpoint_path.is_file():
        saved = load_checkpoint(checkpoint_path)
        check_resumable(saved, config, data)
        solver.resume_from(saved)
    state = solver.train()
    evaluation, samples = evaluate_splits(model, data, train_split, config)
    last_loss = state.history[-1]["train_loss"] if state.history else None
    details = {
        "config": asdict(config),
        "data": data.description,
        "vocab_size": len(data.word_to_idx),
        "feature_dim": data.feature_dim,
        "train_captions": int(train_split.captions.shape[0]),
        "train_images": train_split.num_images,
        "final_loss": state.loss_history[-1] if state.loss_history else None,
        "last_epoch_mean_loss": last_loss,
        "epochs_done": state.epochs_done,
        "history": state.history,
        "evaluation": evaluation,
        "samples": samples,
        "figures": _write_figures(state.loss_history, samples, config, out),
    }
    if config.cell == "attention":
        label = f"{config.cell.upper()} ({config.engine}), val images (greedy)"
        attention = attention_outputs(model, data.splits["val"], out, config.max_length, label)
        details["figures"]["attention_val"] = attention["figure"]
        details["attention_boxes"] = attention["boxes"]
    metrics_path = atomic_write_json(out / "metrics.json", details)
    files = {"checkpoint": checkpoint_path, "metrics": metrics_path}
    files |= {_file_role(name): out / file for name, file in details["figures"].items()}
    return Result(
        metrics=headline_metrics(evaluation, last_loss),
        history=state.history,
        checkpoint=checkpoint_path,
        out=out,
        files=files,
        details={key: value for key, value in details.items() if key != "history"},
    )


def _file_role(figure: str) -> str:
    return "loss_figure" if figure == "loss" else figure


def _write_figures(
    losses: list[float], samples: dict[str, list[dict[str, str]]], config: Config, out: Path
) -> dict[str, str]:
    """loss.png, samples_train.png and samples_val.png; returns name → file name."""
    label = f"{config.cell.upper()} ({config.engine})"
    title = f"Captioning training loss, {label}"
    plot_series({label: losses}, out / "loss.png", title, ylabel="training loss", smooth=True)
    for split_name in ("train", "val"):
        title = f"{label}, {split_name} images (greedy)"
        plot_samples(samples[split_name], out / f"samples_{split_name}.png", title)
    return {"loss": "loss.png", **{f"samples_{s}": f"samples_{s}.png" for s in ("train", "val")}}


def load(path: str | Path, device: str | None = None, precision: str = "auto") -> Captioner:
    """A trained captioner from a ``dlc caption train`` checkpoint (``Result.checkpoint``).

    New images' features are computed as in its training run (backbone, image size, the PCA
    fitted on the training images), on ``device`` (None: ``$DLC_DEVICE``, else a visible GPU,
    else the CPU) with ``precision`` (autocast on a GPU).

    Returns:
        a ``Captioner``: ``.caption(images, beam=K)`` → one string per image (paths or PIL
        images, mixed); ``.caption_with_attention`` for an attention model.

    Example:
        >>> captioner = load("runs/c/checkpoint.pt")
        >>> captioner.caption(["a.jpg"], beam=3)
        ['a red circle on a dark background']
    """
    path = Path(path)
    saved = load_checkpoint(path)
    config = config_from(Config, saved.config, path)
    config = replace(config, device=resolve_device(device), precision=precision)
    projection = _projection(saved, config)
    word_to_idx = {word: index for index, word in enumerate(saved.labels)}
    model = build_model(word_to_idx, projection.dim, config)
    load_params(model, saved)
    features = FeatureConfig(
        config.backbone,
        image_size=config.image_size,
        device=config.device,
        precision=config.precision,
    )
    return Captioner(model, projection, features, max_length=config.max_length, checkpoint=path)


def _projection(saved: Checkpoint, config: Config) -> Projection:
    """The checkpoint's feature projection; a checkpoint written before 0.2 has none, so it is
    fitted again on its training data (the same data, the same fit)."""
    if saved.projection is not None:
        try:
            return projection_from_state(saved.projection)
        except (KeyError, TypeError, AttributeError) as exc:
            raise DlcError(f"{saved.path}: damaged feature projection ({exc})") from exc
    if data_source(config)[0] == "coco":
        raise DlcError(
            f"{saved.path}: trained on CS231n's ready-made COCO features (VGG-16 fc7), which "
            "cannot be computed for new images; train on images (shapes or a folder) instead"
        )
    note = f"dlc: note: {saved.path}: refitting its feature projection on {config.data}"
    print(note, file=sys.stderr)
    data = load_data(config)
    if data.idx_to_word != saved.labels:
        raise DlcError(f"{saved.path}: its vocabulary differs from the data set {config.data!r}")
    return data.projection


def sample_split(
    checkpoint_path: Path,
    *,
    out_dir: Path,
    data: str | None = None,
    data_format: str | None = None,
    data_root: str | None = None,
    split_name: str = "val",
    count: int = 6,
    beam: int = DEFAULT_BEAM,
    device: str | None = None,
    precision: str = "auto",
    threads: int | None = None,
) -> tuple[list[dict[str, str]], Path]:
    """Caption the first ``count`` images of a split with the checkpoint's model, on the data
    set it was trained on (or ``data``) with the same feature settings.

    Returns the rows (image, generated, truth) and the figure ``out_dir/samples_<split>.png``,
    whose folder is checked once the checkpoint is read and before the data set is loaded.

    >>> rows, figure = sample_split(Path("run/checkpoint.pt"), out_dir=Path("run"))  # doctest: +SKIP
    >>> sorted(rows[0])  # doctest: +SKIP
    ['generated', 'image', 'truth']
    """
    saved = load_checkpoint(checkpoint_path)
    figure = check_output_file(out_dir / f"samples_{split_name}.png")
    config = config_from(Config, saved.config, checkpoint_path)
    if data is not None:
        config = replace(config, data=data, data_format=data_format)
    config = replace(
        config,
        data_root=data_root or config.data_root,
        device=resolve_device(device),
        precision=precision,
    )
    with torch_threads(threads):
        dataset = load_data(config)
    if dataset.idx_to_word != saved.labels:
        raise DlcError(
            f"{checkpoint_path}: its vocabulary differs from the data set {config.data!r}"
        )
    model = build_model(dataset.word_to_idx, dataset.feature_dim, config)
    load_params(model, saved)
    splits = evaluation_splits(dataset, training_split(dataset, config))
    if split_name not in splits:
        raise DlcError(f"--split {split_name!r}: choose from {', '.join(splits)}")
    split, generated = caption_images(
        model, splits[split_name], count=count, beam=beam, max_length=config.max_length
    )
    rows = sample_rows(split, generated, model.idx_to_word)
    decoding = "greedy" if beam == 1 else f"beam {beam}"
    title = f"{config.cell.upper()}, {split_name} images ({decoding})"
    return rows, plot_samples(rows, figure, title)
