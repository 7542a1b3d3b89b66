"""The one config of a sentiment run, each model's preset, and the reference results.

Kept free of heavy imports, so ``dlc --help`` stays fast.

Presets: test accuracy played no part in choosing them. ``bow``'s are the dev-best of the sweep in
``benchmarks/sentiment_bench.py``; the others are common starting values, kept because they beat
the reference on dev at the first run (a shared 2-core CPU left no room for wider sweeps; see the
sentiment section of ``benchmarks/RESULTS.md``). Command-line flags override any of them.
"""

from __future__ import annotations

import argparse
from dataclasses import asdict, dataclass, replace
from typing import Any

from dlclassics.options import apply_overrides

REFERENCE_MODELS = ("bow", "avg", "glove-avg", "glove-rnn", "glove-lstm")
MODEL_NAMES = (*REFERENCE_MODELS, "bilstm", "cnn", "minilm")
GLOVE_MODELS = ("glove-avg", "glove-rnn", "glove-lstm", "bilstm", "cnn")
# what may change when a run is resumed: when it stops and how it runs, not what it learns
RESUMABLE = ("epochs", "patience", "threads", "precision")


@dataclass
class SentimentConfig:
    """Everything that decides one sentiment run.

    Model (enough to rebuild the model before loading its weights):
        model: one of ``MODEL_NAMES``.
        vocab_size: V, words in the vocabulary (set from the training data; 0 for ``minilm``).
        embed_dim: D, word-vector size (set to GloVe's size for the GloVe models).
        hidden_size: H, recurrent state size (filters per width for ``cnn``).
        dropout: dropout probability before the final linear layer (and on the word vectors
            of the recurrent models).
        freeze_embeddings: keep the (GloVe) word vectors fixed during training.
        max_length: longest sub-word sequence for ``minilm`` (longer sentences are truncated).
    Training (AdamW on binary cross-entropy, early stopping on dev accuracy):
        epochs, batch_size (global, over all processes), lr (peak rate when warming up),
        weight_decay, patience (epochs without a better dev accuracy before stopping),
        warmup_fraction (> 0: linear warm-up over this fraction of all steps, then linear
        decay to 0, for fine-tuning a pretrained encoder; 0: constant rate), max_grad_norm
        (0: no clipping), seed (initialisation, dropout, shuffling, ``train_limit`` sample).
    Data:
        min_count: training words seen fewer times map to ``<unk>``.
        train_limit: train on a seeded random N of the training sentences (None: all).
        skip_bad_lines: skip and count bad lines instead of stopping at the first.
        glove: a GloVe text file (None: the packaged 50-d GloVe 6B; GloVe models only).
    Run:
        threads: CPU threads (None: 1 for the word models, whose small products lose more to
            thread synchronisation than they gain, PyTorch's default for ``minilm``).
        precision: autocast on a GPU; ``auto`` is bf16 for ``minilm`` and fp32 for the word
            models (small and launch-bound: half precision saves nothing there).
    """

    model: str
    vocab_size: int = 0
    embed_dim: int = 50
    hidden_size: int = 128
    dropout: float = 0.0
    freeze_embeddings: bool = False
    max_length: int = 64
    epochs: int = 10
    batch_size: int = 64
    lr: float = 1e-3
    weight_decay: float = 0.0
    patience: int = 3
    warmup_fraction: float = 0.0
    max_grad_norm: float = 0.0
    seed: int = 0
    min_count: int = 1
    train_limit: int | None = None
    skip_bad_lines: bool = False
    glove: str | None = None
    threads: int | None = None
    precision: str = "auto"

    def checkpoint_config(self) -> dict[str, Any]:
        """What a checkpoint stores, and what ``--resume`` requires to be unchanged."""
        return {k: v for k, v in asdict(self).items() if k not in RESUMABLE}

    def autocast_precision(self) -> str:
        """``precision`` for ``runtime.autocast``, with ``auto`` resolved per model."""
        if self.precision == "auto" and self.model != "minilm":
            return "fp32"
        return self.precision


LSTM = {"hidden_size": 128, "dropout": 0.3, "lr": 2e-3, "max_grad_norm": 1.0}
PRESETS: dict[str, dict[str, Any]] = {
    "bow": {"epochs": 10, "batch_size": 64, "lr": 0.01, "weight_decay": 0.0},
    "avg": {"embed_dim": 64, "dropout": 0.3, "lr": 3e-3},
    "glove-avg": {"dropout": 0.3, "lr": 3e-3},
    "glove-rnn": {"hidden_size": 128, "dropout": 0.3, "lr": 1e-3, "max_grad_norm": 1.0},
    "glove-lstm": LSTM,
    "bilstm": LSTM,
    "cnn": {"hidden_size": 100, "dropout": 0.5, "lr": 1e-3},
    # dev accuracy on all 40 000 sentences is flat from 1 to 3 epochs (97.14 % after 1; 97.16
    # and 97.19 % at the best epoch of 2- and 3-epoch runs; benchmarks/RESULTS.md), so the
    # preset keeps the cheapest: one epoch, about 20 minutes on one CPU thread
    "minilm": {
        "dropout": 0.1,
        "max_length": 64,
        "epochs": 1,
        "batch_size": 32,
        "lr": 8e-5,
        "weight_decay": 0.01,
        "warmup_fraction": 0.1,
        "max_grad_norm": 1.0,
        "patience": 1,
    },
}

# The reference write-up's accuracies (fractions): the figures to beat.
REFERENCE_ACCURACY: dict[str, dict[str, float]] = {
    "bow": {"train": 0.9807, "dev": 0.9606, "test": 0.9545},
    "avg": {"train": 0.9802, "dev": 0.9583, "test": 0.9515},
    "glove-avg": {"train": 0.9821, "dev": 0.9579, "test": 0.9529},
    "glove-rnn": {"train": 0.9910, "dev": 0.9417, "test": 0.9439},
    "glove-lstm": {"train": 0.9969, "dev": 0.9597, "test": 0.9579},
}


def preset(model: str, args: argparse.Namespace | None = None) -> SentimentConfig:
    """``model``'s preset, then every setting given on the command line (``args``)."""
    config = replace(SentimentConfig(model=model), **PRESETS[model])
    return config if args is None else apply_overrides(config, args)
