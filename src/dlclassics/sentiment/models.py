"""The word-level classifiers. Each returns one logit per sentence; sigmoid(logit) = P(positive).

The sigmoid is folded into the loss (``BCEWithLogitsLoss``, the numerically stable form of
sigmoid + binary cross-entropy) and applied explicitly when probabilities are reported.

| name         | inputs                     | architecture                                       |
|--------------|----------------------------|----------------------------------------------------|
| ``bow``      | ``bag_ids``, ``offsets``   | binary bag of words → linear                       |
| ``avg``      | ``token_ids``, ``lengths`` | trainable embeddings → masked mean → linear        |
| ``glove-avg``| ``token_ids``, ``lengths`` | as ``avg``, embeddings initialised from GloVe      |
| ``glove-rnn``| ``token_ids``, ``lengths`` | GloVe embeddings → RNN → last real token → linear  |
| ``glove-lstm``| ``token_ids``, ``lengths``| GloVe embeddings → LSTM → last real token → linear |
| ``bilstm``   | ``token_ids``, ``lengths`` | GloVe → bidirectional LSTM → [both ends, max pool] → linear |
| ``cnn``      | ``token_ids``, ``lengths`` | GloVe → convolutions of widths 3, 4, 5 → max over time → linear |
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from dlclassics.sentiment.config import Config
from dlclassics.sentiment.vocab import PAD_ID


def masked_mean(vectors: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """Mean over each sentence's real positions: ``vectors`` (N, T, D) (padding arbitrary),
    ``lengths`` (N,) ≥ 1 → (N, D).

    Example:
        >>> masked_mean(torch.tensor([[[1.0], [3.0], [9.0]]]), torch.tensor([2]))
        tensor([[2.]])
    """
    T = vectors.shape[1]
    mask = torch.arange(T, device=vectors.device)[None, :] < lengths[:, None]  # (N, T)
    summed = (vectors * mask[:, :, None]).sum(dim=1)  # (N, D)
    return summed / lengths[:, None].to(vectors.dtype)


class BagOfWordsClassifier(nn.Module):
    """logit = x · w + b for the binary bag-of-words vector x ∈ {0,1}^V: ``nn.EmbeddingBag``
    sums w over each sentence's distinct ids, so the (N, V) matrix is never built.

    Example:
        >>> model = BagOfWordsClassifier(vocab_size=10)
        >>> model(torch.tensor([2, 3, 4]), torch.tensor([0, 2])).shape
        torch.Size([2])
    """

    def __init__(self, vocab_size: int) -> None:
        super().__init__()
        self.weights = nn.EmbeddingBag(vocab_size, 1, mode="sum")  # w as a (V, 1) table
        nn.init.zeros_(self.weights.weight)
        self.bias = nn.Parameter(torch.zeros(1))

    def forward(self, bag_ids: torch.Tensor, offsets: torch.Tensor) -> torch.Tensor:
        """``bag_ids`` (total,), ``offsets`` (N,) as from ``collate_bag`` → logits (N,)."""
        return self.weights(bag_ids, offsets).squeeze(1) + self.bias  # (N, 1) -> (N,)


def _embedding(config: Config, init: np.ndarray | None) -> nn.Embedding:
    """A (V, D) embedding table, from ``init`` when given; the ``<pad>`` row stays zero."""
    if init is not None:
        table = torch.tensor(init, dtype=torch.float32)  # a copy: the caller's array stays as is
        table[PAD_ID] = 0.0
        freeze = config.freeze_embeddings
        return nn.Embedding.from_pretrained(table, freeze=freeze, padding_idx=PAD_ID)
    embedding = nn.Embedding(config.vocab_size, config.embed_dim, padding_idx=PAD_ID)
    embedding.weight.requires_grad_(not config.freeze_embeddings)
    return embedding


class AverageClassifier(nn.Module):
    """Word vectors → mean over the sentence's real tokens → dropout → linear.

    Example:
        >>> model = AverageClassifier(Config("avg", vocab_size=10, embed_dim=8))
        >>> model(torch.tensor([[2, 3, 0]]), torch.tensor([2])).shape
        torch.Size([1])
    """

    def __init__(self, config: Config, init: np.ndarray | None = None) -> None:
        super().__init__()
        self.embedding = _embedding(config, init)
        self.dropout = nn.Dropout(config.dropout)
        self.output = nn.Linear(config.embed_dim, 1)

    def forward(self, token_ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """``token_ids`` (N, T), ``lengths`` (N,) → logits (N,)."""
        pooled = masked_mean(self.embedding(token_ids), lengths)  # (N, D)
        return self.output(self.dropout(pooled)).squeeze(1)  # (N, 1) -> (N,)


class RecurrentClassifier(nn.Module):
    """Word vectors → RNN or LSTM over the real tokens only → final state → linear.

    The sequences are packed, so padding never enters the recurrence and ``h_n`` holds each
    sentence's state after its last real token (forward) and its first token (backward).
    ``bidirectional`` (``bilstm``) also max-pools the outputs over the real tokens, so a strong
    word anywhere in the sentence is not washed out by the end of the recurrence.

    Example:
        >>> model = RecurrentClassifier(Config("glove-lstm", vocab_size=10, embed_dim=8), "lstm")
        >>> model(torch.tensor([[2, 3, 0]]), torch.tensor([2])).shape
        torch.Size([1])
    """

    def __init__(
        self,
        config: Config,
        cell: str,
        *,
        bidirectional: bool = False,
        init: np.ndarray | None = None,
    ) -> None:
        super().__init__()
        self.bidirectional = bidirectional
        self.embedding = _embedding(config, init)
        self.dropout = nn.Dropout(config.dropout)
        recurrent = {"rnn": nn.RNN, "lstm": nn.LSTM}[cell]
        self.recurrent = recurrent(
            config.embed_dim, config.hidden_size, batch_first=True, bidirectional=bidirectional
        )
        self.output = nn.Linear(config.hidden_size * (4 if bidirectional else 1), 1)

    def forward(self, token_ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """``token_ids`` (N, T), ``lengths`` (N,) → logits (N,)."""
        vectors = self.dropout(self.embedding(token_ids))  # (N, T, D)
        packed = pack_padded_sequence(
            vectors, lengths.cpu(), batch_first=True, enforce_sorted=False
        )
        outputs, state = self.recurrent(packed)
        h_n = state[0] if isinstance(state, tuple) else state  # (layers*dirs, N, H); LSTM: (h, c)
        if not self.bidirectional:
            features = h_n[-1]  # (N, H)
        else:
            padded, _ = pad_packed_sequence(
                outputs, batch_first=True, padding_value=float("-inf")
            )  # (N, T', 2H), padding positions -inf so max ignores them
            features = torch.cat([h_n[-2], h_n[-1], padded.max(dim=1).values], dim=1)  # (N, 4H)
        return self.output(self.dropout(features)).squeeze(1)  # (N, 1) -> (N,)


class ConvolutionClassifier(nn.Module):
    """Word vectors → 1-D convolutions of widths 3, 4, 5 with ReLU → max over each sentence's
    windows → dropout → linear (Kim, 2014).

    "Wide" convolutions (zero padding of width − 1 on both sides) give a sentence shorter than a
    filter windows too; windows wholly in the batch padding are masked out of the max, and the
    ``<pad>`` vector is zero, so the result does not depend on how much a sentence was padded.

    Example:
        >>> model = ConvolutionClassifier(Config("cnn", vocab_size=10, embed_dim=8, hidden_size=4))
        >>> model(torch.tensor([[2, 3, 4, 5, 0]]), torch.tensor([4])).shape
        torch.Size([1])
    """

    WIDTHS = (3, 4, 5)

    def __init__(self, config: Config, init: np.ndarray | None = None) -> None:
        super().__init__()
        self.embedding = _embedding(config, init)
        self.convolutions = nn.ModuleList(
            nn.Conv1d(config.embed_dim, config.hidden_size, width, padding=width - 1)
            for width in self.WIDTHS
        )
        self.dropout = nn.Dropout(config.dropout)
        self.output = nn.Linear(config.hidden_size * len(self.WIDTHS), 1)

    def forward(self, token_ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """``token_ids`` (N, T), ``lengths`` (N,) → logits (N,)."""
        vectors = self.embedding(token_ids).transpose(1, 2)  # (N, T, D) -> (N, D, T)
        pooled = []
        for convolution in self.convolutions:
            width = convolution.kernel_size[0]
            features = torch.relu(convolution(vectors))  # (N, H, T + width - 1)
            positions = torch.arange(features.shape[2], device=features.device)
            real = positions[None, :] < (lengths.to(features.device) + width - 1)[:, None]
            masked = features.masked_fill(~real[:, None, :], float("-inf"))  # (N, H, T + w - 1)
            pooled.append(masked.max(dim=2).values)  # (N, H)
        features = torch.cat(pooled, dim=1)  # (N, 3H)
        return self.output(self.dropout(features)).squeeze(1)  # (N, 1) -> (N,)


def build_word_model(config: Config, init: np.ndarray | None = None) -> nn.Module:
    """The word-level model ``config.model`` (not ``minilm``), embeddings from ``init`` if given.

    Example:
        >>> type(build_word_model(Config("bilstm", vocab_size=10, embed_dim=8))).__name__
        'RecurrentClassifier'
    """
    name = config.model
    if name == "bow":
        return BagOfWordsClassifier(config.vocab_size)
    if name in ("avg", "glove-avg"):
        return AverageClassifier(config, init)
    if name == "cnn":
        return ConvolutionClassifier(config, init)
    if name not in ("glove-rnn", "glove-lstm", "bilstm"):
        raise ValueError(f"unknown word model {name!r}")
    cell = "rnn" if name == "glove-rnn" else "lstm"
    return RecurrentClassifier(config, cell, bidirectional=name == "bilstm", init=init)
