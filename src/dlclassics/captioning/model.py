"""The captioning model in NumPy, built from ``dlclassics.numpy_nn`` layers (the reference's
``CaptioningRNN``).

Training (``loss``)::

    features (N, D) --affine--> h0 (N, H)
    captions_in (N, T) --word embedding--> x (N, T, W) --RNN/LSTM from h0--> h (N, T, H)
    h --temporal affine--> scores (N, T, V) --masked softmax loss vs captions_out--> loss

with ``captions_in = captions[:, :-1]`` and ``captions_out = captions[:, 1:]``; ``<NULL>``
targets (padding) give no loss. Test time (``sample``) starts from ``<START>`` and feeds each
chosen word back in: greedily, or keeping the ``beam_size`` most likely partial captions.

It is a drop-in for CS231n's ``classifiers/rnn.py`` (see ``docs/cs231n.md``): the same
constructor, ``loss`` and ``sample``, and the same weights after ``np.random.seed(231)``.

``CaptioningRNN(..., cell_type="attention")`` builds the attention captioner instead
(``captioning.attention_model.AttentionCaptioningRNN``: feature maps (N, L, D) in, soft attention
at every word), with the same ``loss``/``sample`` interface.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from dlclassics.captioning.vocab import END, NULL, START
from dlclassics.numpy_nn.activations import log_softmax
from dlclassics.numpy_nn.layers import affine_backward, affine_forward
from dlclassics.numpy_nn.rnn_layers import (
    lstm_backward,
    lstm_forward,
    lstm_step_forward,
    rnn_backward,
    rnn_forward,
    rnn_step_forward,
    temporal_affine_backward,
    temporal_affine_forward,
    temporal_softmax_loss,
    word_embedding_backward,
    word_embedding_forward,
)

CELL_TYPES = ("rnn", "lstm", "attention")
PARAM_NAMES = ("W_proj", "b_proj", "W_embed", "Wx", "Wh", "b", "W_vocab", "b_vocab")


def init_params(
    vocab_size: int,
    input_dim: int,
    wordvec_dim: int,
    hidden_dim: int,
    cell_type: str,
    dtype: type,
    seed: int | None,
) -> dict[str, np.ndarray]:
    """The reference's initialisation: small random embeddings, 1/sqrt(fan-in) weights, zero biases.

    Returns W_proj (D, H), b_proj (H,), W_embed (V, W), Wx (W, gH), Wh (H, gH), b (gH,),
    W_vocab (H, V), b_vocab (V,), with g = 1 for the RNN and 4 for the LSTM (gates i, f, o, g).
    seed None draws from NumPy's global generator exactly as CS231n's ``__init__`` does (W_embed,
    W_proj, Wx, Wh, W_vocab), so ``np.random.seed(s)`` first gives the assignment's weights; an
    integer seed draws from ``np.random.default_rng(seed)`` in this package's order since its
    first release (W_proj first, then W_embed), so the same seed keeps its weights.
    """
    G = {"rnn": 1, "lstm": 4}[cell_type] * hidden_dim
    shapes = {
        "W_proj": (input_dim, hidden_dim),
        "W_embed": (vocab_size, wordvec_dim),
        "Wx": (wordvec_dim, G),
        "Wh": (hidden_dim, G),
        "W_vocab": (hidden_dim, vocab_size),
    }
    if seed is None:
        draw, order = lambda shape: np.random.randn(*shape), ["W_embed", "W_proj"]
    else:
        draw, order = np.random.default_rng(seed).standard_normal, ["W_proj", "W_embed"]
    drawn = {name: draw(shapes[name]) for name in [*order, "Wx", "Wh", "W_vocab"]}
    params = {
        "W_proj": drawn["W_proj"] / np.sqrt(input_dim),
        "b_proj": np.zeros(hidden_dim),
        "W_embed": drawn["W_embed"] / 100,
        "Wx": drawn["Wx"] / np.sqrt(wordvec_dim),
        "Wh": drawn["Wh"] / np.sqrt(hidden_dim),
        "b": np.zeros(G),
        "W_vocab": drawn["W_vocab"] / np.sqrt(hidden_dim),
        "b_vocab": np.zeros(vocab_size),
    }
    return {name: value.astype(dtype) for name, value in params.items()}


class CaptioningRNN:
    """Image features (D,) → caption, with a vanilla RNN or an LSTM (no regularisation).

    ``word_to_idx`` holds ``<NULL>``; ``sample`` also needs ``<START>`` (and stops at ``<END>``
    when there is one); as in CS231n, V is ``len(word_to_idx)`` whatever the indices. W is the
    word vector size, H the hidden size; dtype float32 trains, float64 checks gradients. seed:
    None (CS231n's behaviour) or an integer, reproducible whatever the global state (what
    ``dlc caption train`` uses); see ``init_params``.
    """

    def __new__(cls, *args: Any, **kwargs: Any) -> Any:
        """``cell_type="attention"`` gives an ``AttentionCaptioningRNN`` built from the same
        arguments (plus its own keywords: attention_dim, regularization, context_output)."""
        names = (
            "word_to_idx",
            "input_dim",
            "wordvec_dim",
            "hidden_dim",
            "cell_type",
            "dtype",
            "seed",
        )
        given = {**dict(zip(names, args, strict=False)), **kwargs}
        if cls is not CaptioningRNN or given.get("cell_type") != "attention":
            return super().__new__(cls)
        from dlclassics.captioning.attention_model import AttentionCaptioningRNN

        del given["cell_type"]
        return AttentionCaptioningRNN(**given)

    def __init__(
        self,
        word_to_idx: dict[str, int],
        input_dim: int = 512,
        wordvec_dim: int = 128,
        hidden_dim: int = 128,
        cell_type: str = "rnn",
        dtype: type = np.float32,
        seed: int | None = None,
    ) -> None:
        if cell_type not in CELL_TYPES[:2]:
            raise ValueError(f"cell_type: expected one of {CELL_TYPES}, got {cell_type!r}")
        self.word_to_idx = dict(word_to_idx)
        self.idx_to_word = sorted(self.word_to_idx, key=self.word_to_idx.__getitem__)
        self.cell_type = cell_type
        self.dtype = dtype
        self._null = word_to_idx[NULL]
        # CS231n reads these with .get: a vocabulary without them can still compute the loss.
        self._start = word_to_idx.get(START)
        self._end = word_to_idx.get(END)
        self.params = init_params(
            len(word_to_idx), input_dim, wordvec_dim, hidden_dim, cell_type, dtype, seed
        )

    @property
    def _end_index(self) -> int:
        """The ``<END>`` index, or -1 (matching no word) for a vocabulary without one."""
        return -1 if self._end is None else self._end

    def loss(
        self, features: np.ndarray, captions: np.ndarray
    ) -> tuple[float, dict[str, np.ndarray]]:
        """(loss, grads) of features (N, D) and captions (N, T + 1) (int word indices,
        ``<START>`` first, ``<NULL>`` padding); grads[name] has params[name]'s shape."""
        p = self.params
        features = np.asarray(features, dtype=self.dtype)
        captions = np.asarray(captions)
        captions_in, captions_out = captions[:, :-1], captions[:, 1:]  # (N, T) each
        mask = captions_out != self._null

        h0, proj_cache = affine_forward(features, p["W_proj"], p["b_proj"])  # (N, H)
        x, embed_cache = word_embedding_forward(captions_in, p["W_embed"])  # (N, T, W)
        recurrent_forward = rnn_forward if self.cell_type == "rnn" else lstm_forward
        h, rec_cache = recurrent_forward(x, h0, p["Wx"], p["Wh"], p["b"])  # (N, T, H)
        scores, vocab_cache = temporal_affine_forward(h, p["W_vocab"], p["b_vocab"])  # (N, T, V)
        loss, dscores = temporal_softmax_loss(scores, captions_out, mask)

        grads: dict[str, np.ndarray] = {}
        dh, grads["W_vocab"], grads["b_vocab"] = temporal_affine_backward(dscores, vocab_cache)
        recurrent_backward = rnn_backward if self.cell_type == "rnn" else lstm_backward
        dx, dh0, grads["Wx"], grads["Wh"], grads["b"] = recurrent_backward(dh, rec_cache)
        grads["W_embed"] = word_embedding_backward(dx, embed_cache)
        _, grads["W_proj"], grads["b_proj"] = affine_backward(dh0, proj_cache)
        return float(loss), grads

    def sequence_log_prob(self, features: np.ndarray, captions: np.ndarray) -> np.ndarray:
        """(N,) float64 log p(caption | image) of features (N, D) and captions (N, T + 1) as in
        ``loss``: the summed word log-probabilities up to ``<END>``."""
        p = self.params
        features = np.asarray(features, dtype=self.dtype)
        captions_in, captions_out = captions[:, :-1], captions[:, 1:]
        h0 = features @ p["W_proj"] + p["b_proj"]
        x = p["W_embed"][captions_in]  # (N, T, W)
        recurrent_forward = rnn_forward if self.cell_type == "rnn" else lstm_forward
        h, _ = recurrent_forward(x, h0, p["Wx"], p["Wh"], p["b"])
        log_probs = log_softmax(h @ p["W_vocab"] + p["b_vocab"]).astype(np.float64)  # (N, T, V)
        picked = np.take_along_axis(log_probs, captions_out[..., None], axis=2)[..., 0]  # (N, T)
        return (picked * (captions_out != self._null)).sum(axis=1)

    def _step_fn(self) -> Callable[..., tuple[np.ndarray, np.ndarray]]:
        """One recurrent step ``(x, h, c) -> (next_h, next_c)``; c is unused by the RNN."""
        p = self.params
        if self.cell_type == "rnn":
            return lambda x, h, c: (rnn_step_forward(x, h, p["Wx"], p["Wh"], p["b"])[0], c)
        return lambda x, h, c: lstm_step_forward(x, h, c, p["Wx"], p["Wh"], p["b"])[:2]

    def _word_log_probs(self, h: np.ndarray) -> np.ndarray:
        """(M, H) hidden states → (M, V) log-probabilities of the next word; ``<NULL>`` and
        ``<START>`` are never generated (log-prob -inf), the others keep the model's values."""
        log_probs = log_softmax(h @ self.params["W_vocab"] + self.params["b_vocab"])
        log_probs[:, [i for i in (self._null, self._start) if i is not None]] = -np.inf
        return log_probs

    def sample(self, features: np.ndarray, max_length: int = 30, beam_size: int = 1) -> np.ndarray:
        """Captions (N, max_length) of features (N, D): word indices without ``<START>``, at most
        ``max_length`` words (``<END>`` included), ``<NULL>`` after ``<END>``. beam_size 1 is
        greedy (the reference); K > 1 is beam search keeping the K most likely partial captions."""
        if beam_size < 1:
            raise ValueError(f"beam_size: expected 1 or more, got {beam_size}")
        if self._start is None:
            raise ValueError(f"sample: the vocabulary has no {START} word to start captions from")
        features = np.asarray(features, dtype=self.dtype)
        h0 = features @ self.params["W_proj"] + self.params["b_proj"]  # (N, H)
        if beam_size == 1:
            return self._greedy(h0, max_length)
        return self._beam_search(h0, max_length, beam_size)

    def _greedy(self, h: np.ndarray, max_length: int) -> np.ndarray:
        N = h.shape[0]
        step = self._step_fn()
        c = np.zeros_like(h)
        words = np.full(N, self._start)
        captions = np.full((N, max_length), self._null, dtype=np.int64)
        done = np.zeros(N, dtype=bool)
        for t in range(max_length):
            h, c = step(self.params["W_embed"][words], h, c)
            words = self._word_log_probs(h).argmax(axis=1)
            captions[~done, t] = words[~done]
            done |= words == self._end_index
            if done.all():
                break
        return captions

    def _beam_search(self, h: np.ndarray, max_length: int, K: int) -> np.ndarray:
        """Beam search over all N images at once: (N, K) beams scored by summed log-probability.

        A finished beam (ended by ``<END>``) stays in the beam with its score, extended only by
        ``<NULL>`` at no cost, so it competes with the unfinished ones until the end.
        """
        N, H = h.shape
        V = len(self.idx_to_word)
        step = self._step_fn()
        h = np.repeat(h, K, axis=0)  # (N*K, H): K copies of each image's state
        c = np.zeros_like(h)
        scores = np.full((N, K), -np.inf)
        scores[:, 0] = 0.0  # only one live beam at first, so the K starts are not duplicates
        captions = np.full((N, K, max_length), self._null, dtype=np.int64)
        finished = np.zeros((N, K), dtype=bool)
        words = np.full(N * K, self._start)
        rows = np.arange(N)[:, None]
        for t in range(max_length):
            h, c = step(self.params["W_embed"][words], h, c)
            log_probs = self._word_log_probs(h).astype(np.float64)  # (N*K, V)
            done = finished.reshape(N * K)
            log_probs[done] = -np.inf
            log_probs[done, self._null] = 0.0
            total = (scores.reshape(N * K, 1) + log_probs).reshape(N, K * V)
            best = np.argsort(-total, axis=1, kind="stable")[:, :K]  # (N, K) in K*V
            source, words_nk = best // V, best % V  # parent beam and new word
            scores = np.take_along_axis(total, best, axis=1)
            captions = captions[rows, source]
            captions[:, :, t] = np.where(finished[rows, source], self._null, words_nk)
            finished = finished[rows, source] | (words_nk == self._end_index)
            h = h.reshape(N, K, H)[rows, source].reshape(N * K, H)
            c = c.reshape(N, K, H)[rows, source].reshape(N * K, H)
            words = words_nk.reshape(N * K)
            if finished.all():
                break
        return captions[np.arange(N), scores.argmax(axis=1)]
