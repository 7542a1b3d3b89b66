"""The model class for a cell name: ``CaptioningRNN`` (rnn, lstm) or ``AttentionCaptioningRNN``
(attention), built from one ``Config``; the only module that knows both classes."""

from __future__ import annotations

import numpy as np

from dlclassics.captioning.attention_model import AttentionCaptioningRNN
from dlclassics.captioning.config import Config
from dlclassics.captioning.model import CaptioningRNN
from dlclassics.errors import DlcError

CELLS = ("rnn", "lstm", "attention")
CaptioningModel = CaptioningRNN | AttentionCaptioningRNN


def build_model(word_to_idx: dict[str, int], feature_dim: int, config: Config) -> CaptioningModel:
    """A freshly initialised float32 model of ``config.cell`` for this vocabulary and feature
    size, its weights drawn from ``config.seed``.

    >>> model = build_model({"<NULL>": 0, "<START>": 1, "<END>": 2}, 6, Config(cell="rnn"))
    >>> type(model).__name__, model.params["Wh"].shape
    ('CaptioningRNN', (256, 256))
    """
    if config.cell not in CELLS:
        raise DlcError(f"--cell {config.cell!r}: expected one of {', '.join(CELLS)}")
    if config.cell != "attention":
        return CaptioningRNN(
            word_to_idx,
            input_dim=feature_dim,
            wordvec_dim=config.wordvec,
            hidden_dim=config.hidden_size,
            cell_type=config.cell,
            dtype=np.float32,
            seed=config.seed,
        )
    if config.engine != "numpy":
        raise DlcError("--cell attention runs on the NumPy engine only: drop --engine torch")
    return AttentionCaptioningRNN(
        word_to_idx,
        input_dim=feature_dim,
        wordvec_dim=config.wordvec,
        hidden_dim=config.hidden_size,
        attention_dim=config.attention_dim,
        regularization=config.attention_reg,
        dtype=np.float32,
        seed=config.seed,
    )
