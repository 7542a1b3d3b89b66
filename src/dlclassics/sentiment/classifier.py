"""A model together with what turns sentences into its inputs, built fresh or from a checkpoint."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from dlclassics.errors import DlcError
from dlclassics.io import torch_load_checkpoint
from dlclassics.sentiment.batches import CollateFn, SentenceDataset, collate_bag, collate_padded
from dlclassics.sentiment.models import ModelConfig, build_word_model
from dlclassics.sentiment.names import MODEL_NAMES
from dlclassics.sentiment.train import CHECKPOINT_FORMAT
from dlclassics.sentiment.vocab import Vocabulary


def set_cpu_threads(model_name: str, requested: int | None = None) -> int:
    """Set PyTorch's CPU threads: ``requested``, else 1 for the word models, whose small matrix
    products lose more to thread synchronisation than they gain (10× slower with 2 threads on
    a busy 2-core machine), else PyTorch's default for ``minilm``. Returns the number set."""
    if requested or model_name != "minilm":
        torch.set_num_threads(requested or 1)
    return torch.get_num_threads()


@dataclass
class Classifier:
    """``model`` maps ``collate(examples)`` inputs to logits; ``vocab`` is ``None`` for ``minilm``."""

    model: nn.Module
    config: ModelConfig
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

    def checkpoint_info(self) -> dict[str, Any]:
        """Plain data saved with the weights so the checkpoint alone rebuilds this classifier."""
        return {
            "model_config": asdict(self.config),
            "vocab": self.vocab.words if self.vocab is not None else [],
        }


def build_classifier(
    config: ModelConfig,
    vocab: Vocabulary | None,
    init: np.ndarray | None = None,
    pretrained: bool = True,
) -> Classifier:
    """Build the model ``config.name``.

    Args:
        config: the model settings (``vocab_size`` must match ``vocab``).
        vocab: the word vocabulary (ignored for ``minilm``, which has its own tokenizer).
        init: (V, D) initial word vectors (GloVe) for the embedding models.
        pretrained: ``minilm`` only: load the packaged encoder weights (False when a checkpoint
            will supply them).
    """
    if config.name not in MODEL_NAMES:
        raise DlcError(f"unknown model {config.name!r}; choose from {', '.join(MODEL_NAMES)}")
    if config.name == "minilm":
        from dlclassics.sentiment.minilm import MiniLMClassifier, MiniLMCollate

        return Classifier(
            MiniLMClassifier(config, pretrained), config, None, MiniLMCollate(config.max_length)
        )
    if vocab is None or len(vocab) != config.vocab_size:
        raise ValueError("a word model needs the vocabulary its config was made for")
    collate = collate_bag if config.name == "bow" else collate_padded
    return Classifier(build_word_model(config, init), config, vocab, collate)


def load_classifier(path: str | os.PathLike[str]) -> Classifier:
    """Rebuild a trained classifier from a ``best.pt`` / ``last.pt`` checkpoint (weights only)."""
    state = torch_load_checkpoint(path)
    if not isinstance(state, dict) or state.get("format") != CHECKPOINT_FORMAT:
        raise DlcError(f"{path}: not a dlc sentiment checkpoint")
    config = ModelConfig(**state["model_config"])
    vocab = Vocabulary(state["vocab"]) if state["vocab"] else None
    classifier = build_classifier(config, vocab, pretrained=False)
    classifier.model.load_state_dict(state["model_state"])
    classifier.model.eval()
    return classifier
