"""A model with what turns sentences into its inputs, built fresh or from a checkpoint, and
scoring sentences with it (on one process, or sharded over the processes of a ``torchrun`` job)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader
from tqdm import tqdm

from dlclassics.checkpoint import config_from, load_checkpoint, load_weights
from dlclassics.distributed import SINGLE_PROCESS, DistContext, gather_objects
from dlclassics.errors import DlcError
from dlclassics.runtime import autocast, torch_threads
from dlclassics.sentiment.batches import (
    CollateFn,
    SentenceDataset,
    collate_bag,
    collate_padded,
    make_loader,
    to_device,
)
from dlclassics.sentiment.config import MODEL_NAMES, SentimentConfig
from dlclassics.sentiment.models import build_word_model
from dlclassics.sentiment.text import SentenceFile
from dlclassics.sentiment.vocab import Vocabulary
from dlclassics.training import EvalResult

KIND = "sentiment"  # the checkpoint kind
EVAL_BATCH = 256


@dataclass
class Classifier:
    """``model`` maps ``collate(examples)`` inputs to logits; ``vocab`` is ``None`` for ``minilm``."""

    model: nn.Module
    config: SentimentConfig
    vocab: Vocabulary | None
    collate: CollateFn

    def dataset(
        self, sentences: Sequence[Sequence[str]], labels: Sequence[int] | None = None
    ) -> SentenceDataset:
        """Token lists → this model's examples: word ids, or the re-joined text for ``minilm``."""
        lengths = [len(tokens) for tokens in sentences]
        if self.vocab is None:
            return SentenceDataset([" ".join(tokens) for tokens in sentences], lengths, labels)
        return SentenceDataset([self.vocab.encode(t) for t in sentences], lengths, labels)


def build_classifier(
    config: SentimentConfig,
    vocab: Vocabulary | None,
    init: np.ndarray | None = None,
    pretrained: bool = True,
) -> Classifier:
    """Build the model ``config.model`` (on the CPU).

    Args:
        config: the settings (``vocab_size`` must match ``vocab``).
        vocab: the word vocabulary (ignored for ``minilm``, which has its own tokenizer).
        init: (V, D) initial word vectors (GloVe) for the embedding models.
        pretrained: ``minilm`` only: load the packaged encoder weights (False when a checkpoint
            will supply them).
    """
    if config.model not in MODEL_NAMES:
        raise DlcError(f"unknown model {config.model!r}; choose from {', '.join(MODEL_NAMES)}")
    if config.model == "minilm":
        from dlclassics.sentiment.minilm import MiniLMClassifier, MiniLMCollate

        model = MiniLMClassifier(config, pretrained)  # before the tokenizer: same random stream
        return Classifier(model, config, None, MiniLMCollate(config.max_length))
    if vocab is None or len(vocab) != config.vocab_size:
        raise ValueError("a word model needs the vocabulary its config was made for")
    collate = collate_bag if config.model == "bow" else collate_padded
    return Classifier(build_word_model(config, init), config, vocab, collate)


def load_classifier(path: str | os.PathLike[str]) -> Classifier:
    """Rebuild a trained classifier from a ``best.pt`` / ``last.pt`` checkpoint, in eval mode.

    Raises:
        DlcError: one line, for a file that is not a sentiment checkpoint or does not hold a
            model this version can rebuild.
    """
    saved = load_checkpoint(path, KIND)
    config = config_from(SentimentConfig, saved["config"], path)
    words = saved["labels"]
    if config.model != "minilm" and len(words) != config.vocab_size:
        raise DlcError(
            f"{path}: damaged {KIND} checkpoint: {len(words)} vocabulary words for a model of "
            f"{config.vocab_size}"
        )
    try:
        vocab = Vocabulary(words) if config.model != "minilm" else None
        classifier = build_classifier(config, vocab, pretrained=False)
    except (ValueError, TypeError, RuntimeError) as exc:
        raise DlcError(f"{path}: damaged {KIND} checkpoint ({exc})") from exc
    load_weights(classifier.model, saved["model"], path)
    classifier.model.eval()
    return classifier


def threads_for(config: SentimentConfig) -> int | None:
    """CPU threads for ``config``: its ``threads``, else 1 for the word models (their small
    products lose more to thread synchronisation than they gain: 10x slower with 2 threads on a
    busy 2-core machine), else None (PyTorch's default) for ``minilm``."""
    return config.threads or (None if config.model == "minilm" else 1)


@torch.no_grad()
def predict_logits(
    model: nn.Module,
    loader: DataLoader,
    device: str = "cpu",
    ctx: DistContext = SINGLE_PROCESS,
    precision: str = "fp32",
) -> tuple[torch.Tensor, torch.Tensor]:
    """Logits and labels (-1 = unlabelled) for every sentence of the data set: (N,), (N,).

    Each rank runs the sentences of its own ``loader`` (a shard, see ``make_loader``); the
    pieces are gathered, so every rank returns the whole data set, in data-set order whatever
    order the batches visited the sentences in. ``model`` is the unwrapped one: the ranks may
    run different numbers of batches, so no DDP collective may happen here.
    """
    model.eval()
    order = torch.tensor([i for batch in loader.batch_sampler for i in batch], dtype=torch.long)
    logits, labels = [torch.empty(0)], [torch.empty(0)]
    progress = tqdm(loader, desc="predict", disable=None if ctx.is_main else True, leave=False)
    for inputs, batch_labels in progress:
        with autocast(device, precision):
            logits.append(model(**to_device(inputs, device)).float().cpu())
        labels.append(batch_labels)
    pieces = gather_objects((order, torch.cat(logits), torch.cat(labels)), ctx)
    size = len(loader.dataset)
    in_order_logits, in_order_labels = torch.empty(size), torch.empty(size)  # (N,), (N,)
    for piece_order, piece_logits, piece_labels in pieces:
        in_order_logits[piece_order], in_order_labels[piece_order] = piece_logits, piece_labels
    return in_order_logits, in_order_labels


def evaluate(
    model: nn.Module,
    loader: DataLoader,
    device: str = "cpu",
    ctx: DistContext = SINGLE_PROCESS,
    precision: str = "fp32",
) -> EvalResult:
    """Mean BCE loss and accuracy (a fraction; P(positive) ≥ 0.5 → 1) of ``model`` on a labelled
    loader, over the whole data set (every rank's shard, see ``predict_logits``)."""
    logits, labels = predict_logits(model, loader, device, ctx, precision)  # (N,), (N,)
    loss = nn.functional.binary_cross_entropy_with_logits(logits, labels)
    accuracy = ((logits >= 0).float() == labels).float().mean()
    return EvalResult(float(loss), float(accuracy), torch.sigmoid(logits), labels)


def probabilities(
    classifier: Classifier, sentences: SentenceFile, device: str = "cpu"
) -> torch.Tensor:
    """P(positive) (N,) of every kept sentence of ``sentences`` (one process)."""
    classifier.model.to(device)
    loader = make_loader(
        classifier.dataset(sentences.sentences), classifier.collate, EVAL_BATCH, False
    )
    config = classifier.config
    with torch_threads(threads_for(config)):
        logits, _ = predict_logits(
            classifier.model, loader, device, precision=config.autocast_precision()
        )
    return logits.sigmoid()
