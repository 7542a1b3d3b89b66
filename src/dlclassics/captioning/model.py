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

The attention captioner is its sibling ``captioning.attention_model.AttentionCaptioningRNN``
(feature maps (N, L, D) in, soft attention at every word), with the same ``loss``/``sample``
interface; ``captioning.architecture.build_model`` picks the class for a cell name.
"""

from __future__ import annotations

import numpy as np

from dlclassics.captioning.decoding import CaptionDecoder
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

CELL_TYPES = ("rnn", "lstm")
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


class CaptioningRNN(CaptionDecoder):
    """Image features (D,) → caption, with a vanilla RNN or an LSTM (no regularisation).

    ``word_to_idx`` holds ``<NULL>``; ``sample`` also needs ``<START>`` (and stops at ``<END>``
    when there is one); as in CS231n, V is ``len(word_to_idx)`` whatever the indices. W is the
    word vector size, H the hidden size; dtype float32 trains, float64 checks gradients. seed:
    None (CS231n's behaviour) or an integer, reproducible whatever the global state (what
    ``dlc caption train`` uses); see ``init_params``.
    """

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
        if cell_type not in CELL_TYPES:
            raise ValueError(
                f"cell_type: expected one of {CELL_TYPES}, got {cell_type!r} (the attention "
                "cell is attention_model.AttentionCaptioningRNN)"
            )
        self._set_vocabulary(word_to_idx)
        self.cell_type = cell_type
        self.dtype = dtype
        self.params = init_params(
            len(word_to_idx), input_dim, wordvec_dim, hidden_dim, cell_type, dtype, seed
        )

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
        return self._masked_log_prob(log_softmax(h @ p["W_vocab"] + p["b_vocab"]), captions_out)

    def _step(self, words: np.ndarray, state: tuple) -> tuple:
        """One recurrent step of ``_greedy``/``_beam_search``; state (h, c), c unused by the RNN."""
        p = self.params
        h, c = state
        x = p["W_embed"][words]
        if self.cell_type == "rnn":
            h = rnn_step_forward(x, h, p["Wx"], p["Wh"], p["b"])[0]
        else:
            h, c = lstm_step_forward(x, h, c, p["Wx"], p["Wh"], p["b"])[:2]
        return self._word_log_probs(h), (h, c), None

    def sample(self, features: np.ndarray, max_length: int = 30, beam_size: int = 1) -> np.ndarray:
        """Captions (N, max_length) of features (N, D): word indices without ``<START>``, at most
        ``max_length`` words (``<END>`` included), ``<NULL>`` after ``<END>``. beam_size 1 is
        greedy (the reference); K > 1 is beam search keeping the K most likely partial captions."""
        self._check_sample(beam_size)
        features = np.asarray(features, dtype=self.dtype)
        h0 = features @ self.params["W_proj"] + self.params["b_proj"]  # (N, H)
        state = (h0, np.zeros_like(h0))
        if beam_size == 1:
            return self._greedy(self._step, state, max_length=max_length)[0]
        state = tuple(np.repeat(s, beam_size, axis=0) for s in state)  # K copies of each image's
        return self._beam_search(self._step, state, max_length=max_length, beam_size=beam_size)[0]
