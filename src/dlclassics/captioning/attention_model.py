"""The attention captioner in NumPy (Show, Attend and Tell, soft attention), built from
``dlclassics.numpy_nn.attention``: ``CaptioningRNN``'s sibling for ``cell_type="attention"``.

Training (``loss``)::

    features (N, L, D) --mean, affine--> h0, c0 (N, H)
    captions_in (N, T) --word embedding--> x (N, T, W)
    x, features --attention LSTM from (h0, c0)--> h (N, T, H), alphas (N, T, L)
    h --temporal affine--> scores (N, T, V) --masked softmax loss vs captions_out--> loss
    + regularization * doubly stochastic penalty on alphas (optional)

The features are L vectors per image (the cells of a CNN feature map, see
``captioning.spatial.extract_feature_maps``); at every word the LSTM reads a weighted mean of
them, with weights ``alpha`` computed from its previous hidden state. Test time (``sample``)
decodes greedily or with beam search, and can return the attention weights of every generated
word (the attention maps of ``attention_val.png``).

The interface is ``CaptioningRNN``'s (``loss``, ``sample``, ``sequence_log_prob``, ``params``,
``word_to_idx``, ``idx_to_word``, ``cell_type``), so the solver, the checkpoints and the
evaluation code take either model.
"""

from __future__ import annotations

import numpy as np

from dlclassics.captioning.decoding import CaptionDecoder
from dlclassics.numpy_nn.activations import log_softmax
from dlclassics.numpy_nn.attention import (
    attention_lstm_backward,
    attention_lstm_forward,
    attention_lstm_step_inference,
    attention_projection,
)
from dlclassics.numpy_nn.rnn_layers import (
    temporal_affine_backward,
    temporal_affine_forward,
    temporal_softmax_loss,
    word_embedding_backward,
    word_embedding_forward,
)

# The parameters of attention_lstm_forward, in its order.
RECURRENT_NAMES = ("W_init", "b_init", "Wx", "Wh", "b", "W_af", "W_ah", "b_a", "w_a")
ATTENTION_PARAM_NAMES = ("W_init", "b_init", "W_embed", *RECURRENT_NAMES[2:], "W_vocab", "b_vocab")


def init_attention_params(
    vocab_size: int,
    input_dim: int,
    wordvec_dim: int,
    hidden_dim: int,
    attention_dim: int,
    dtype: type,
    seed: int | None,
    context_output: bool = False,
) -> dict[str, np.ndarray]:
    """Small random word vectors, 1/sqrt(fan-in) weights, zero biases (as ``init_params``).

    seed None draws from NumPy's global generator, an integer from ``np.random.default_rng(seed)``.
    Returns W_init (D, 2H), b_init (2H,), W_embed (V, W), Wx (W + D, 4H), Wh (H, 4H), b (4H,),
    W_af (D, A), W_ah (H, A), b_a (A,), w_a (A,), W_vocab (H, V) or with ``context_output``
    (H + D, V), b_vocab (V,).
    """
    D, W, H, A, V = input_dim, wordvec_dim, hidden_dim, attention_dim, vocab_size
    normal = np.random.randn if seed is None else np.random.default_rng(seed).standard_normal

    def draw(*shape: int) -> np.ndarray:
        return np.asarray(normal(*shape) if seed is None else normal(shape))

    params = {
        "W_init": draw(D, 2 * H) / np.sqrt(D),
        "b_init": np.zeros(2 * H),
        "W_embed": draw(V, W) / 100,
        "Wx": draw(W + D, 4 * H) / np.sqrt(W + D),
        "Wh": draw(H, 4 * H) / np.sqrt(H),
        "b": np.zeros(4 * H),
        "W_af": draw(D, A) / np.sqrt(D),
        "W_ah": draw(H, A) / np.sqrt(H),
        "b_a": np.zeros(A),
        "w_a": draw(A) / np.sqrt(A),
        "W_vocab": draw(H + D * context_output, V) / np.sqrt(H + D * context_output),
        "b_vocab": np.zeros(V),
    }
    return {name: value.astype(dtype) for name, value in params.items()}


class AttentionCaptioningRNN(CaptionDecoder):
    """Image feature map → caption, with an attention LSTM.

    Args:
        word_to_idx: vocabulary of V words, holding ``<NULL>``; ``sample`` also needs
            ``<START>`` (and stops at ``<END>`` when there is one).
        input_dim: D, size of the feature vector of one location.
        wordvec_dim: W, size of a word vector.
        hidden_dim: H, size of the LSTM state.
        attention_dim: A, size of the attention layer (default: H).
        regularization: lambda of the doubly stochastic attention penalty (0: off).
        context_output: the word scores read the context vector beside the hidden state,
            ``scores = [h_t, z_t] @ W_vocab + b_vocab`` (the paper's "deep output" without its
            hidden layer); otherwise ``h_t @ W_vocab + b_vocab``.
        dtype: np.float32 for training, np.float64 for gradient checks.
        seed: None (NumPy's global generator) or an integer (a private generator).
    """

    cell_type = "attention"

    def __init__(
        self,
        word_to_idx: dict[str, int],
        input_dim: int = 512,
        wordvec_dim: int = 128,
        hidden_dim: int = 128,
        attention_dim: int | None = None,
        regularization: float = 0.0,
        dtype: type = np.float32,
        seed: int | None = None,
        context_output: bool = False,
    ) -> None:
        if regularization < 0:
            raise ValueError(f"regularization: expected 0 or more, got {regularization}")
        self._set_vocabulary(word_to_idx)
        self.dtype = dtype
        self.regularization = float(regularization)
        self.context_output = bool(context_output)
        attention_dim = hidden_dim if attention_dim is None else attention_dim
        sizes = (len(word_to_idx), input_dim, wordvec_dim, hidden_dim, attention_dim)
        self.params = init_attention_params(*sizes, dtype, seed, self.context_output)

    @property
    def hidden_dim(self) -> int:
        return self.params["Wh"].shape[0]

    def _features(self, features: np.ndarray) -> np.ndarray:
        features = np.asarray(features, dtype=self.dtype)
        if features.ndim != 3:
            raise ValueError(
                "features: the attention model needs (N, L, D) feature maps, got shape "
                f"{features.shape} (pooled features are (N, D))"
            )
        return features

    def _recurrent_params(self) -> list[np.ndarray]:
        return [self.params[name] for name in RECURRENT_NAMES]

    def loss(
        self, features: np.ndarray, captions: np.ndarray
    ) -> tuple[float, dict[str, np.ndarray]]:
        """Training loss (softmax + optional attention penalty) and its gradients.

        Inputs:
        - features: (N, L, D) feature maps
        - captions: (N, T + 1) int word indices, ``<START>`` first; ``<NULL>`` pads the end

        Returns (loss, grads) with grads[name] of params[name]'s shape.
        """
        p = self.params
        features = self._features(features)
        captions = np.asarray(captions)
        captions_in, captions_out = captions[:, :-1], captions[:, 1:]
        mask = captions_out != self._null
        N = captions.shape[0]

        x, embed_cache = word_embedding_forward(captions_in, p["W_embed"])
        h, alphas, rec_cache = attention_lstm_forward(x, features, *self._recurrent_params())
        out = self._output_input(h, alphas, features)  # (N, T, H) or (N, T, H + D)
        scores, vocab_cache = temporal_affine_forward(out, p["W_vocab"], p["b_vocab"])
        loss, dscores = temporal_softmax_loss(scores, captions_out, mask)

        grads: dict[str, np.ndarray] = {}
        dout, grads["W_vocab"], grads["b_vocab"] = temporal_affine_backward(dscores, vocab_cache)
        dh, dalphas = dout, None
        if self.context_output:  # z = alphas @ features: dalphas = dz @ features^T
            H = self.hidden_dim
            dh = np.ascontiguousarray(dout[:, :, :H])
            dalphas = np.matmul(dout[:, :, H:], features.transpose(0, 2, 1))  # (N, T, L)
        if self.regularization > 0:
            m = mask.astype(self.dtype)[:, :, None]  # (N, T, 1)
            gap = 1 - (alphas * m).sum(axis=1)  # (N, L): 1 - attention each location received
            loss = loss + self.regularization / N * float((gap * gap).sum())
            dpenalty = (-2 * self.regularization / N) * m * gap[:, None, :]  # (N, T, L)
            dalphas = dpenalty if dalphas is None else dalphas + dpenalty

        dx, _, *recurrent = attention_lstm_backward(dh, dalphas, rec_cache)
        grads.update(zip(RECURRENT_NAMES, recurrent, strict=True))
        grads["W_embed"] = word_embedding_backward(dx, embed_cache)
        return float(loss), {name: grads[name] for name in ATTENTION_PARAM_NAMES}

    def forward_attention(
        self, features: np.ndarray, captions: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Teacher-forced pass: (N, T, V) word log-probabilities and (N, T, L) attention weights
        of captions (N, T + 1) starting with ``<START>``."""
        p = self.params
        features = self._features(features)
        x = p["W_embed"][np.asarray(captions)[:, :-1]]
        h, alphas, _ = attention_lstm_forward(x, features, *self._recurrent_params())
        out = self._output_input(h, alphas, features)
        return log_softmax(out @ p["W_vocab"] + p["b_vocab"]), alphas

    def _output_input(self, h: np.ndarray, alphas: np.ndarray, features: np.ndarray):
        """What the word scores read: h (..., H), or [h, z] (..., H + D) with the context
        z = alphas @ features when ``context_output`` (h (N, T, H) with alphas (N, T, L), or
        one step: h (N, H) with alphas (N, L))."""
        if not self.context_output:
            return h
        if h.ndim == 2:
            context = np.matmul(alphas[:, None, :], features)[:, 0]  # (N, D)
        else:
            context = np.matmul(alphas, features)  # (N, T, L) @ (N, L, D)
        return np.concatenate([h, context], axis=-1)

    def sequence_log_prob(self, features: np.ndarray, captions: np.ndarray) -> np.ndarray:
        """log p(caption | image) of whole captions (N, T + 1): summed word log-probabilities.

        Returns (N,) float64.
        """
        captions = np.asarray(captions)
        log_probs, _ = self.forward_attention(features, captions)
        return self._masked_log_prob(log_probs, captions[:, 1:])

    # ---- test time ----------------------------------------------------------------------------

    def sample(
        self,
        features: np.ndarray,
        max_length: int = 30,
        beam_size: int = 1,
        return_attention: bool = False,
    ) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
        """Generate captions.

        Inputs:
        - features: (N, L, D) feature maps
        - max_length: most words generated (``<END>`` included)
        - beam_size: 1 = greedy; K > 1 = beam search keeping K partial captions per image
        - return_attention: also return the attention weights of every generated word

        Returns captions (N, max_length) int word indices without ``<START>``, ``<NULL>`` after
        ``<END>``; with ``return_attention``, also alphas (N, max_length, L) (zero after
        ``<END>``).
        """
        self._check_sample(beam_size)
        features = self._features(features)
        p = self.params
        H = self.hidden_dim
        L = features.shape[1]
        hc0 = features.mean(axis=1) @ p["W_init"] + p["b_init"]
        state = (hc0[:, :H], hc0[:, H:])
        if beam_size == 1:
            step = self._decoder_step(features)
            captions, alphas = self._greedy(step, state, max_length=max_length, locations=L)
        else:
            state = tuple(np.repeat(s, beam_size, axis=0) for s in state)
            step = self._decoder_step(np.repeat(features, beam_size, axis=0))  # (N*K, L, D)
            captions, alphas = self._beam_search(
                step, state, max_length=max_length, beam_size=beam_size, locations=L
            )
        return (captions, alphas) if return_attention else captions

    def _decoder_step(self, feats: np.ndarray):
        """``step(words, (h, c))`` of ``_greedy``/``_beam_search`` for feature maps feats, their
        projection computed once."""
        p = self.params
        proj = attention_projection(feats, p["W_af"], p["b_a"])

        def step(words: np.ndarray, state: tuple) -> tuple:
            weights = (p["Wx"], p["Wh"], p["b"], p["W_ah"], p["w_a"])
            x = p["W_embed"][words]
            h, c, alpha = attention_lstm_step_inference(x, *state, feats, proj, *weights)
            return self._word_log_probs(self._output_input(h, alpha, feats)), (h, c), alpha

        return step
