"""The one config of a sentiment run, each model's preset, and the reference results (no heavy
imports, so ``dlc --help`` stays fast).

Presets: test accuracy played no part in choosing them. ``bow``'s are the dev-best of the sweep in
``benchmarks/sentiment_bench.py``; the others are common starting values, kept because they beat
the reference on dev at the first run (see the sentiment section of ``benchmarks/HISTORY.md``).
Command-line flags override any of them.
"""

from __future__ import annotations

import argparse
from dataclasses import asdict, dataclass, field
from typing import Any

from dlclassics.errors import DlcError
from dlclassics.options import apply_overrides
from dlclassics.sentiment.normalise import YELP, Normaliser

REFERENCE_MODELS = ("bow", "avg", "glove-avg", "glove-rnn", "glove-lstm")
MODEL_NAMES = (*REFERENCE_MODELS, "bilstm", "cnn", "minilm")
GLOVE_MODELS = ("glove-avg", "glove-rnn", "glove-lstm", "bilstm", "cnn")
# what may change when a run is resumed: when it stops and how it runs, not what it learns
RESUMABLE = ("epochs", "patience", "threads", "precision")


LSTM = {"hidden_size": 128, "dropout": 0.3, "lr": 2e-3, "max_grad_norm": 1.0}
# dev accuracy on all 40 000 sentences is flat from 1 to 3 epochs (97.14 % after 1; 97.16 and
# 97.19 % at the best epoch of 2- and 3-epoch runs; benchmarks/HISTORY.md), so the preset keeps
# the cheapest: one epoch, about 20 minutes on one CPU thread
MINILM = {"dropout": 0.1, "max_length": 64, "epochs": 1, "batch_size": 32, "lr": 8e-5}
MINILM |= {"weight_decay": 0.01, "warmup_fraction": 0.1, "max_grad_norm": 1.0, "patience": 1}
PRESETS: dict[str, dict[str, Any]] = {
    "bow": {"epochs": 10, "batch_size": 64, "lr": 0.01, "weight_decay": 0.0},
    "avg": {"embed_dim": 64, "dropout": 0.3, "lr": 3e-3},
    "glove-avg": {"dropout": 0.3, "lr": 3e-3},
    "glove-rnn": {"hidden_size": 128, "dropout": 0.3, "lr": 1e-3, "max_grad_norm": 1.0},
    "glove-lstm": LSTM,
    "bilstm": LSTM,
    "cnn": {"hidden_size": 100, "dropout": 0.5, "lr": 1e-3},
    "minilm": MINILM,
}

# The reference write-up's accuracies (fractions): the figures to beat.
REFERENCE_ACCURACY: dict[str, dict[str, float]] = {
    "bow": {"train": 0.9807, "dev": 0.9606, "test": 0.9545},
    "avg": {"train": 0.9802, "dev": 0.9583, "test": 0.9515},
    "glove-avg": {"train": 0.9821, "dev": 0.9579, "test": 0.9529},
    "glove-rnn": {"train": 0.9910, "dev": 0.9417, "test": 0.9439},
    "glove-lstm": {"train": 0.9969, "dev": 0.9597, "test": 0.9579},
}


# the values a preset may set, where the model's preset does not (PRESETS below)
GENERIC = {
    "embed_dim": 50,
    "hidden_size": 128,
    "dropout": 0.0,
    "max_length": 64,
    "epochs": 10,
    "batch_size": 64,
    "lr": 1e-3,
    "weight_decay": 0.0,
    "patience": 3,
    "warmup_fraction": 0.0,
    "max_grad_norm": 0.0,
}
# where and how a run happens, not what it learns: never part of a checkpoint's config
PLACEMENT = ("data", "data_root", "out", "resume", "device")


@dataclass
class Config:
    """Everything that decides one sentiment run: the model (enough to rebuild it before loading
    its weights), training (AdamW on binary cross-entropy, early stopping on dev accuracy), data
    and run settings. Fields carry the names of ``dlc sentiment train``'s options
    (``--hidden-size`` → ``hidden_size``); a setting left None takes the model's preset.

    Example:
        >>> config = Config(model="bow", data="my_text_dir", epochs=3, out="runs/s")
        >>> config.lr, config.epochs  # bow's preset rate, the epochs given
        (0.01, 3)
    """

    model: str  # one of MODEL_NAMES
    data: str | None = None  # train.txt, dev.txt (and test.txt); None: the yelp data set
    data_root: str | None = None  # where the yelp data set lives (None: $DLC_DATA, else the cache)
    out: str | None = None  # the run folder; None: runs/sentiment/<model>
    resume: bool = False  # continue from out/last.pt when it exists
    device: str | None = None  # None: a GPU when there is one
    vocab_size: int = 0  # V, set from the training data (0 for minilm)
    embed_dim: int | None = None  # D, set to GloVe's size for the GloVe models
    hidden_size: int | None = None  # H, recurrent state size (filters per width for cnn)
    dropout: float | None = None  # before the final layer (and on the word vectors of the RNNs)
    freeze_embeddings: bool = False
    max_length: int | None = None  # longest sub-word sequence for minilm (longer: truncated)
    epochs: int | None = None
    batch_size: int | None = None  # global, over all processes
    lr: float | None = None  # the peak rate when warming up
    weight_decay: float | None = None
    patience: int | None = None  # epochs without a better dev accuracy before stopping
    # > 0: linear warm-up over this fraction of all steps, then linear decay to 0 (for fine-tuning
    # a pretrained encoder); 0: constant rate
    warmup_fraction: float | None = None
    max_grad_norm: float | None = None  # 0: no clipping
    seed: int = 0  # initialisation, dropout, shuffling, the train_limit sample
    min_count: int = 1  # rarer training words map to <unk>
    train_limit: int | None = None  # train on a seeded random N of the training sentences
    skip_bad_lines: bool = False
    glove: str | None = None  # a GloVe text file (None: the packaged 50-d GloVe 6B)
    # the text normaliser (normalise.Normaliser.to_dict) that turns raw text into the form the
    # model reads, when training and when predicting; stored in the checkpoint with the rest
    normaliser: dict[str, Any] = field(default_factory=YELP.to_dict)
    threads: int | None = None  # None: 1 for the word models, PyTorch's default for minilm
    precision: str = "auto"  # autocast on a GPU: auto is bf16 for minilm, fp32 otherwise

    def __post_init__(self) -> None:
        """Refuse an unknown model; fill each setting left None from the model's preset."""
        if self.model not in MODEL_NAMES:
            raise DlcError(
                f"unknown sentiment model {self.model!r}; one of {', '.join(MODEL_NAMES)}"
            )
        for name, generic in GENERIC.items():
            if getattr(self, name) is None:
                setattr(self, name, PRESETS[self.model].get(name, generic))

    def checkpoint_config(self) -> dict[str, Any]:
        """What a checkpoint stores, and what ``--resume`` requires to be unchanged.

        Example:
            >>> "epochs" in Config(model="bow").checkpoint_config()
            False
        """
        kept = {k: v for k, v in asdict(self).items() if k not in RESUMABLE}
        return {k: v for k, v in kept.items() if k not in PLACEMENT}

    def text_normaliser(self) -> Normaliser:
        """``normaliser`` as the sentence readers take it (a DlcError for rules unknown here).

        Example:
            >>> Config(model="bow").text_normaliser()("Great food!")
            ['great', 'food', '!']
        """
        return Normaliser.from_dict(self.normaliser, f"the {self.model} config")

    def autocast_precision(self) -> str:
        """``precision`` for ``runtime.autocast``: the word models are small and launch-bound, so
        ``auto`` keeps them in fp32 (half precision saves nothing there).

        Example:
            >>> Config(model="bow").autocast_precision()
            'fp32'
        """
        return "fp32" if self.precision == "auto" and self.model != "minilm" else self.precision

    def threads_for(self) -> int | None:
        """CPU threads: ``threads``, else 1 for the word models (their small products lose more
        to thread synchronisation than they gain: 10x slower with 2 threads on a busy 2-core
        machine), else None (PyTorch's default) for ``minilm``.

        Example:
            >>> Config(model="bow").threads_for()
            1
        """
        return self.threads or (None if self.model == "minilm" else 1)


def preset(model: str, args: argparse.Namespace | None = None) -> Config:
    """``model``'s preset, then every setting given on the command line (``args``).

    Example:
        >>> preset("bow").lr
        0.01
    """
    config = Config(model=model)
    return config if args is None else apply_overrides(config, args)
