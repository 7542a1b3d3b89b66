"""Greedy and beam-search decoding shared by the RNN/LSTM captioner (``captioning.model``) and
the attention captioner (``captioning.attention_model``).

Both models advance their recurrence one word at a time through a ``step`` function; the
decoders here only choose the words: greedily (the reference), or keeping the ``beam_size``
most likely partial captions of every image at once.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from dlclassics.captioning.vocab import END, NULL, START
from dlclassics.numpy_nn.activations import log_softmax

# step(words, state) -> (log_probs, state, alpha or None) of the decoders
Step = Callable[[np.ndarray, tuple], tuple]


class CaptionDecoder:
    """What the two captioning models share: the vocabulary and the decoding (greedy or beam
    search) of any recurrence given as ``step(words, state) -> (log_probs, state, alpha)``.

    A subclass sets ``params`` (with ``W_vocab``, ``b_vocab``) and ``dtype``, and calls
    ``_set_vocabulary`` in its constructor::

        class Model(CaptionDecoder):
            def __init__(self, word_to_idx):
                self._set_vocabulary(word_to_idx)
    """

    def _set_vocabulary(self, word_to_idx: dict[str, int]) -> None:
        self.word_to_idx = dict(word_to_idx)
        self.idx_to_word = sorted(self.word_to_idx, key=self.word_to_idx.__getitem__)
        self._null = word_to_idx[NULL]
        # CS231n reads these with .get: a vocabulary without them can still compute the loss.
        self._start = word_to_idx.get(START)
        self._end = word_to_idx.get(END)

    @property
    def _end_index(self) -> int:
        """The ``<END>`` index, or -1 (matching no word) for a vocabulary without one."""
        return -1 if self._end is None else self._end

    def _check_sample(self, beam_size: int) -> None:
        if beam_size < 1:
            raise ValueError(f"beam_size: expected 1 or more, got {beam_size}")
        if self._start is None:
            raise ValueError(f"sample: the vocabulary has no {START} word to start captions from")

    def _word_log_probs(self, out: np.ndarray) -> np.ndarray:
        """(M, H) hidden states (or (M, H + D) output inputs) → (M, V) log-probabilities of the
        next word; ``<NULL>`` and ``<START>`` are never generated (log-prob -inf), the others
        keep the model's values."""
        log_probs = log_softmax(out @ self.params["W_vocab"] + self.params["b_vocab"])
        log_probs[:, [i for i in (self._null, self._start) if i is not None]] = -np.inf
        return log_probs

    def _masked_log_prob(self, log_probs: np.ndarray, captions_out: np.ndarray) -> np.ndarray:
        """(N,) float64 sum of the log-probabilities (N, T, V) of the words captions_out (N, T)
        that are not ``<NULL>``."""
        picked = np.take_along_axis(log_probs.astype(np.float64), captions_out[..., None], axis=2)
        return (picked[..., 0] * (captions_out != self._null)).sum(axis=1)

    def _greedy(
        self, step: Step, state: tuple, *, max_length: int, locations: int = 0
    ) -> tuple[np.ndarray, np.ndarray]:
        """Captions (N, max_length) and attention weights (N, max_length, L) chosen greedily
        for the N rows of ``state``; ``step(words, state) -> (log_probs, state, alpha or None)``
        advances the recurrence; L = ``locations`` (0 without attention)."""
        N, L = len(state[0]), locations
        words = np.full(N, self._start)
        captions = np.full((N, max_length), self._null, dtype=np.int64)
        alphas = np.zeros((N, max_length, L), dtype=self.dtype)
        done = np.zeros(N, dtype=bool)
        for t in range(max_length):
            log_probs, state, alpha = step(words, state)
            words = log_probs.argmax(axis=1)
            captions[~done, t] = words[~done]
            if alpha is not None:
                alphas[~done, t] = alpha[~done]
            done |= words == self._end_index
            if done.all():
                break
        return captions, alphas

    def _beam_search(
        self, step: Step, state: tuple, *, max_length: int, beam_size: int, locations: int = 0
    ) -> tuple[np.ndarray, np.ndarray]:
        """Beam search over all N images at once: (N, K) beams scored by summed log-probability,
        K = ``beam_size``; ``state`` holds (N*K, ...) arrays, K copies of each image's, and
        ``step`` is as in ``_greedy``. Returns the best beam's captions and attention weights.

        A finished beam (ended by ``<END>``) stays in the beam with its score, extended only by
        ``<NULL>`` at no cost, so it competes with the unfinished ones until the end.
        """
        K, L = beam_size, locations
        N, V = len(state[0]) // K, len(self.idx_to_word)
        scores = np.full((N, K), -np.inf)
        scores[:, 0] = 0.0  # only one live beam at first, so the K starts are not duplicates
        captions = np.full((N, K, max_length), self._null, dtype=np.int64)
        alphas = np.zeros((N, K, max_length, L), dtype=self.dtype)
        finished = np.zeros((N, K), dtype=bool)
        words = np.full(N * K, self._start)
        rows = np.arange(N)[:, None]
        for t in range(max_length):
            log_probs, state, alpha = step(words, state)
            log_probs = log_probs.astype(np.float64)  # (N*K, V)
            done = finished.reshape(N * K)
            log_probs[done] = -np.inf
            log_probs[done, self._null] = 0.0
            total = (scores.reshape(N * K, 1) + log_probs).reshape(N, K * V)
            best = np.argsort(-total, axis=1, kind="stable")[:, :K]  # (N, K) in K*V
            source, new_words = best // V, best % V  # parent beam and new word
            scores = np.take_along_axis(total, best, axis=1)
            was_finished = finished[rows, source]
            captions = captions[rows, source]
            captions[:, :, t] = np.where(was_finished, self._null, new_words)
            if alpha is not None:
                alphas = alphas[rows, source]
                alpha = alpha.reshape(N, K, L)[rows, source]
                alphas[:, :, t] = np.where(was_finished[..., None], 0, alpha)
            finished = was_finished | (new_words == self._end_index)
            state = tuple(s.reshape(N, K, -1)[rows, source].reshape(N * K, -1) for s in state)
            words = new_words.reshape(N * K)
            if finished.all():
                break
        best_beam = scores.argmax(axis=1)
        return captions[np.arange(N), best_beam], alphas[np.arange(N), best_beam]
