"""Soft attention in pure NumPy (Show, Attend and Tell): additive (Bahdanau) attention over L
feature vectors, and an LSTM that attends at every step, each as ``*_forward -> (out, cache)`` /
``*_backward(dout, cache)`` in the style of ``rnn_layers``.

Shapes use N (minibatch), T (time steps), L (feature locations, e.g. 4 x 4 or 7 x 7 cells of a
CNN feature map), D (size of one feature vector), W (word vector size), H (hidden size) and
A (attention size). The LSTM's 4H pre-activation axis holds the gates in the order i, f, o, g,
as in ``rnn_layers``.

Additive attention of a hidden state h (N, H) over features a (N, L, D)::

    u     = tanh(a @ W_af + b_a + (h @ W_ah)[:, None, :])     (N, L, A)
    alpha = softmax over L of u @ w_a                        (N, L)   weights, summing to 1
    z     = sum_l alpha[:, l, None] * a[:, l]                (N, D)   context vector

The attention LSTM: the initial state is an affine map of the mean feature,
``[h0, c0] = mean_l(a) @ W_init + b_init``; step t attends with h_{t-1} and feeds the word vector
and the context, concatenated, to an LSTM cell::

    alpha_t, z_t = attend(h_{t-1}, a)
    h_t, c_t     = lstm_cell([x_t, z_t] @ Wx + h_{t-1} @ Wh + b, c_{t-1})

with ``Wx`` (W + D, 4H): its first W rows take the word vector, the last D rows the context. The
equations of every backward pass are written out in ``dlclassics/report/derivations.md``.

Speed, as in ``rnn_layers``: the feature projection ``a @ W_af + b_a`` and every step's
``x_t @ Wx[:W]`` are computed once before the loop; the weight gradients are one matmul each
after the backward loop (from per-step quantities kept time-major, (T, N, ...)); the gradient of
the features through all the context vectors is one batched matmul.

Dtypes follow ``validation``: arguments are promoted to one float dtype (float32 stays float32),
or must already share one under ``strict_dtypes()``.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from dlclassics.numpy_nn.rnn_layers import _cell_backward, _cell_forward
from dlclassics.numpy_nn.validation import check_float, check_shape, check_upstream, float_arrays

__all__ = [
    "AttentionCache",
    "AttentionLSTMCache",
    "AttentionLSTMStepCache",
    "attention_backward",
    "attention_forward",
    "attention_lstm_backward",
    "attention_lstm_forward",
    "attention_lstm_step_backward",
    "attention_lstm_step_forward",
    "attention_lstm_step_inference",
    "attention_projection",
    "softmax",
]


def softmax(scores: np.ndarray) -> np.ndarray:
    """Softmax over the last axis, row maximum subtracted first (no overflow); scores' dtype.

    Example:
        >>> softmax(np.array([[0.0, 0.0], [1000.0, 0.0]]))
        array([[0.5, 0.5],
               [1. , 0. ]])
    """
    e = np.exp(scores - scores.max(axis=-1, keepdims=True))
    e /= e.sum(axis=-1, keepdims=True)
    return e


# ---------------------------------------------------------------------------------------------
# Argument checks
# ---------------------------------------------------------------------------------------------


def _check_attention_args(H: int, feats, W_af, W_ah, b_a, w_a) -> tuple[int, int, int, int]:
    """Shapes: feats (N, L, D), W_af (D, A), W_ah (H, A), b_a (A,), w_a (A,), for a hidden
    size H. Returns (N, L, D, A)."""
    check_float("feats", feats, ("N", "L", "D"))
    N, L, D = feats.shape
    if L == 0:
        raise ValueError("feats: expected at least one location (L >= 1), got shape (N, 0, D)")
    check_float("W_af", W_af, ("D", "A"))
    A = W_af.shape[1]
    check_shape("W_af", W_af, ("D", "A"), expected=(D, A))
    check_float("W_ah", W_ah, ("H", "A"), shape=(H, A))
    check_float("b_a", b_a, ("A",), shape=(A,))
    check_float("w_a", w_a, ("A",), shape=(A,))
    return N, L, D, A


def _check_state(name: str, h: np.ndarray, N: int) -> int:
    """A state (N, H) for a minibatch of N; returns H."""
    check_float(name, h, ("N", "H"))
    check_shape(name, h, ("N", "H"), expected=(N, h.shape[1]))
    return h.shape[1]


def _check_lstm_weights(Wx: np.ndarray, Wh: np.ndarray, b: np.ndarray, W: int, D: int, H: int):
    """Wx (W + D, 4H), Wh (H, 4H), b (4H,)."""
    check_float("Wx", Wx, ("W+D", "4H"), shape=(W + D, 4 * H))
    check_float("Wh", Wh, ("H", "4H"), shape=(H, 4 * H))
    check_float("b", b, ("4H",), shape=(4 * H,))


# ---------------------------------------------------------------------------------------------
# The attention step shared by the layers: forward and backward on precomputed projections
# ---------------------------------------------------------------------------------------------


def _attend(
    prev_h: np.ndarray,
    feats: np.ndarray,
    proj: np.ndarray,
    W_ah: np.ndarray,
    w_a: np.ndarray,
    u: np.ndarray,
    alpha: np.ndarray,
    context: np.ndarray,
) -> None:
    """Attention weights and context for one step, written into the out arrays.

    Inputs: prev_h (N, H); feats (N, L, D); proj (N, L, A) = feats @ W_af + b_a; W_ah (H, A);
    w_a (A,).
    Outputs (filled in): u (N, L, A) tanh activations; alpha (N, L); context (N, D).
    """
    np.add(proj, (prev_h @ W_ah)[:, None, :], out=u)  # (N, L, A) + (N, 1, A)
    np.tanh(u, out=u)
    alpha[...] = softmax(u @ w_a)  # (N, L, A) @ (A,) -> (N, L)
    np.matmul(alpha[:, None, :], feats, out=context[:, None, :])  # (N, 1, L) @ (N, L, D)


def _attend_backward(
    dcontext: np.ndarray,
    dalpha: np.ndarray | None,
    feats: np.ndarray,
    u: np.ndarray,
    alpha: np.ndarray,
    w_a: np.ndarray,
    out: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Backward through one attention step, except the parts that are done once per sequence.

    Inputs: dcontext (N, D); dalpha (N, L) or None (no gradient on the weights themselves);
    feats (N, L, D); u (N, L, A) and alpha (N, L) of this step; w_a (A,); out: an optional
    (N, L, A) buffer for dpre (a sequence reuses one for all steps: no large allocation per step).

    Returns a tuple of:
    - ds: (N, L) gradient of the scores s = u @ w_a (dw_a = sum over n, l of u * ds)
    - dpre: (N, L, A) gradient of the pre-activation proj + (h @ W_ah)[:, None] (so dproj gets
      dpre, and h @ W_ah gets dpre summed over L)

    The context's gradient to the features, alpha[:, :, None] * dcontext[:, None, :], is left to
    the caller (the sequence does it for all steps in one batched matmul; a single step in
    ``_attend_step_grads``).
    """
    dalpha_total = np.matmul(feats, dcontext[:, :, None])[:, :, 0]  # (N, L, D) @ (N, D, 1)
    if dalpha is not None:
        dalpha_total += dalpha
    # softmax backward: ds = alpha * (dalpha - sum_l alpha * dalpha)
    ds = alpha * (dalpha_total - (alpha * dalpha_total).sum(axis=1, keepdims=True))
    dpre = np.multiply(u, u, out=out)  # (N, L, A), then in place: ds * w_a * (1 - u^2)
    np.subtract(1, dpre, out=dpre)  # tanh' = 1 - tanh^2
    dpre *= w_a
    dpre *= ds[:, :, None]
    return ds, dpre


def _attend_step_grads(
    dcontext: np.ndarray,
    dalpha: np.ndarray | None,
    feats: np.ndarray,
    u: np.ndarray,
    alpha: np.ndarray,
    w_a: np.ndarray,
    W_af: np.ndarray,
) -> tuple[np.ndarray, ...]:
    """Backward through one whole attention step (the layers of one step), inputs as in
    ``_attend_backward`` plus W_af (D, A).

    Returns dq (N, A), the gradient of prev_h @ W_ah, then dfeats (N, L, D), dW_af (D, A),
    db_a (A,) and dw_a (A,).
    """
    N, L, D = feats.shape
    A = w_a.shape[0]
    ds, dpre = _attend_backward(dcontext, dalpha, feats, u, alpha, w_a)
    dpre_flat = dpre.reshape(N * L, A)
    dfeats = alpha[:, :, None] * dcontext[:, None, :]  # through the context
    dfeats += (dpre_flat @ W_af.T).reshape(N, L, D)  # through the projection
    dW_af = feats.reshape(N * L, D).T @ dpre_flat
    dw_a = ds.reshape(N * L) @ u.reshape(N * L, A)  # sum_{n,l} ds[n, l] * u[n, l]
    return dpre.sum(axis=1), dfeats, dW_af, dpre_flat.sum(axis=0), dw_a


def _attend_new(
    prev_h: np.ndarray, feats: np.ndarray, proj: np.ndarray, W_ah: np.ndarray, w_a: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``_attend`` into new arrays of feats' dtype: returns u (N, L, A), alpha (N, L) and
    context (N, D)."""
    N, L, D = feats.shape
    u = np.empty(proj.shape, dtype=feats.dtype)
    alpha = np.empty((N, L), dtype=feats.dtype)
    context = np.empty((N, D), dtype=feats.dtype)
    _attend(prev_h, feats, proj, W_ah, w_a, u, alpha, context)
    return u, alpha, context


# ---------------------------------------------------------------------------------------------
# Additive attention, on its own
# ---------------------------------------------------------------------------------------------


class AttentionCache(NamedTuple):
    prev_h: np.ndarray  # (N, H)
    feats: np.ndarray  # (N, L, D)
    W_af: np.ndarray  # (D, A)
    W_ah: np.ndarray  # (H, A)
    w_a: np.ndarray  # (A,)
    u: np.ndarray  # (N, L, A) tanh activations
    alpha: np.ndarray  # (N, L) attention weights


def attention_forward(
    prev_h: np.ndarray,
    feats: np.ndarray,
    W_af: np.ndarray,
    W_ah: np.ndarray,
    b_a: np.ndarray,
    w_a: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, AttentionCache]:
    """Additive (Bahdanau) attention of a hidden state over L feature vectors.

    ``u = tanh(feats @ W_af + b_a + (prev_h @ W_ah)[:, None])``, ``alpha = softmax_L(u @ w_a)``,
    ``context = sum_l alpha[:, l, None] * feats[:, l]``.

    Inputs:
    - prev_h: (N, H) hidden state that decides where to look
    - feats: (N, L, D) feature vectors of L locations
    - W_af: (D, A) feature projection
    - W_ah: (H, A) hidden-state projection
    - b_a: (A,) bias of the attention layer
    - w_a: (A,) scoring vector

    Returns a tuple of:
    - context: (N, D) attention-weighted mean of the features
    - alpha: (N, L) attention weights (non-negative, each row sums to 1)
    - cache: what ``attention_backward`` needs

    Example:
        >>> rng = np.random.default_rng(0)
        >>> N, L, D, H, A = 2, 4, 3, 5, 6
        >>> prev_h, feats = rng.standard_normal((N, H)), rng.standard_normal((N, L, D))
        >>> W_af, W_ah = rng.standard_normal((D, A)), rng.standard_normal((H, A))
        >>> b_a, w_a = np.zeros(A), rng.standard_normal(A)
        >>> context, alpha, cache = attention_forward(prev_h, feats, W_af, W_ah, b_a, w_a)
        >>> context.shape, alpha.shape, np.allclose(alpha.sum(axis=1), 1)
        ((2, 3), (2, 4), True)
    """
    prev_h, feats, W_af, W_ah, b_a, w_a = float_arrays(
        prev_h=prev_h, feats=feats, W_af=W_af, W_ah=W_ah, b_a=b_a, w_a=w_a
    )
    check_float("prev_h", prev_h, ("N", "H"))
    N = _check_attention_args(prev_h.shape[1], feats, W_af, W_ah, b_a, w_a)[0]
    _check_state("prev_h", prev_h, N)
    proj = attention_projection(feats, W_af, b_a)  # (N, L, A)
    u, alpha, context = _attend_new(prev_h, feats, proj, W_ah, w_a)
    return context, alpha, AttentionCache(prev_h, feats, W_af, W_ah, w_a, u, alpha)


def attention_backward(
    dcontext: np.ndarray, dalpha: np.ndarray | None, cache: AttentionCache
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Backward pass of ``attention_forward``.

    Inputs:
    - dcontext: (N, D) gradient of the loss with respect to the context
    - dalpha: (N, L) gradient with respect to the attention weights (e.g. from a regulariser on
      them), or None for zero
    - cache: from ``attention_forward``

    Returns a tuple of:
    - dprev_h: (N, H)
    - dfeats: (N, L, D)
    - dW_af: (D, A)
    - dW_ah: (H, A)
    - db_a: (A,)
    - dw_a: (A,)

    Example:
        >>> rng = np.random.default_rng(0)
        >>> N, L, D, H, A = 2, 4, 3, 5, 6
        >>> prev_h, feats = rng.standard_normal((N, H)), rng.standard_normal((N, L, D))
        >>> W_af, W_ah = rng.standard_normal((D, A)), rng.standard_normal((H, A))
        >>> b_a, w_a = np.zeros(A), rng.standard_normal(A)
        >>> context, alpha, cache = attention_forward(prev_h, feats, W_af, W_ah, b_a, w_a)
        >>> grads = attention_backward(np.ones_like(context), None, cache)
        >>> [g.shape for g in grads]  # dprev_h, dfeats, dW_af, dW_ah, db_a, dw_a
        [(2, 5), (2, 4, 3), (3, 6), (5, 6), (6,), (6,)]
    """
    N, L, D = cache.feats.shape
    dcontext, cache = check_upstream("dcontext", dcontext, ("N", "D"), shape=(N, D), cache=cache)
    if dalpha is not None:
        dalpha, cache = check_upstream("dalpha", dalpha, ("N", "L"), shape=(N, L), cache=cache)
    prev_h, feats, W_af, W_ah, w_a, u, alpha = cache
    dcontext = dcontext.astype(feats.dtype, copy=False)  # dalpha may have promoted the cache
    dq, dfeats, dW_af, db_a, dw_a = _attend_step_grads(dcontext, dalpha, feats, u, alpha, w_a, W_af)
    return dq @ W_ah.T, dfeats, dW_af, prev_h.T @ dq, db_a, dw_a


# ---------------------------------------------------------------------------------------------
# Attention LSTM, one step
# ---------------------------------------------------------------------------------------------


class AttentionLSTMStepCache(NamedTuple):
    x: np.ndarray  # (N, W)
    prev_h: np.ndarray  # (N, H)
    prev_c: np.ndarray  # (N, H)
    feats: np.ndarray  # (N, L, D)
    Wx: np.ndarray  # (W + D, 4H)
    Wh: np.ndarray  # (H, 4H)
    W_af: np.ndarray  # (D, A)
    W_ah: np.ndarray  # (H, A)
    w_a: np.ndarray  # (A,)
    u: np.ndarray  # (N, L, A) attention tanh activations
    alpha: np.ndarray  # (N, L) attention weights
    context: np.ndarray  # (N, D)
    gates: np.ndarray  # (N, 4H) activated gates [i, f, o, g]
    tanh_c: np.ndarray  # (N, H) tanh(next_c)


def _checked_step_args(**arrays: np.ndarray) -> tuple[np.ndarray, ...]:
    """The arguments of ``attention_lstm_step_forward`` by name, promoted to one float dtype
    (``float_arrays``) and shape-checked; returned in the order given."""
    args = float_arrays(**arrays)
    x, prev_h, prev_c, feats, Wx, Wh, b, W_af, W_ah, b_a, w_a = args
    check_float("prev_h", prev_h, ("N", "H"))
    N, _, D, _ = _check_attention_args(prev_h.shape[1], feats, W_af, W_ah, b_a, w_a)
    H = _check_state("prev_h", prev_h, N)
    check_float("x", x, ("N", "W"))
    check_shape("x", x, ("N", "W"), expected=(N, x.shape[1]))
    check_float("prev_c", prev_c, ("N", "H"), shape=(N, H))
    _check_lstm_weights(Wx, Wh, b, x.shape[1], D, H)
    return args


def attention_lstm_step_forward(
    x: np.ndarray,
    prev_h: np.ndarray,
    prev_c: np.ndarray,
    feats: np.ndarray,
    Wx: np.ndarray,
    Wh: np.ndarray,
    b: np.ndarray,
    W_af: np.ndarray,
    W_ah: np.ndarray,
    b_a: np.ndarray,
    w_a: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, AttentionLSTMStepCache]:
    """One step of the attention LSTM: attend with prev_h, then an LSTM step on [x, context].

    Inputs:
    - x: (N, W) word vectors of this step
    - prev_h: (N, H) previous hidden state (also the attention query)
    - prev_c: (N, H) previous cell state
    - feats: (N, L, D) feature vectors of L locations
    - Wx: (W + D, 4H) input-to-hidden weights: W rows for the word, D rows for the context
    - Wh: (H, 4H) hidden-to-hidden weights
    - b: (4H,) biases, gates i, f, o, g
    - W_af, W_ah, b_a, w_a: attention parameters, (D, A), (H, A), (A,), (A,)

    Returns a tuple of:
    - next_h: (N, H)
    - next_c: (N, H)
    - alpha: (N, L) attention weights of this step
    - cache: what ``attention_lstm_step_backward`` needs

    Example:
        >>> rng = np.random.default_rng(0)
        >>> N, L, D, H, A = 2, 4, 3, 5, 6
        >>> prev_h, feats = rng.standard_normal((N, H)), rng.standard_normal((N, L, D))
        >>> W_af, W_ah = rng.standard_normal((D, A)), rng.standard_normal((H, A))
        >>> b_a, w_a = np.zeros(A), rng.standard_normal(A)
        >>> W = 7  # word vector size
        >>> Wx = rng.standard_normal((W + D, 4 * H))
        >>> Wh = rng.standard_normal((H, 4 * H))
        >>> b = np.zeros(4 * H)
        >>> x, prev_c = rng.standard_normal((N, W)), np.zeros((N, H))
        >>> next_h, next_c, alpha, cache = attention_lstm_step_forward(
        ...     x, prev_h, prev_c, feats, Wx, Wh, b, W_af, W_ah, b_a, w_a
        ... )
        >>> next_h.shape, next_c.shape, alpha.shape
        ((2, 5), (2, 5), (2, 4))
    """
    x, prev_h, prev_c, feats, Wx, Wh, b, W_af, W_ah, b_a, w_a = _checked_step_args(
        x=x,
        prev_h=prev_h,
        prev_c=prev_c,
        feats=feats,
        Wx=Wx,
        Wh=Wh,
        b=b,
        W_af=W_af,
        W_ah=W_ah,
        b_a=b_a,
        w_a=w_a,
    )
    proj = attention_projection(feats, W_af, b_a)  # (N, L, A)
    u, alpha, context = _attend_new(prev_h, feats, proj, W_ah, w_a)
    gates = np.concatenate([x, context], axis=1) @ Wx  # (N, W + D) @ (W + D, 4H)
    gates += prev_h @ Wh
    gates += b
    next_c, tanh_c, next_h = (np.empty_like(prev_c) for _ in range(3))
    _cell_forward(gates, prev_c, next_c, tanh_c, next_h)
    cache = AttentionLSTMStepCache(
        x, prev_h, prev_c, feats, Wx, Wh, W_af, W_ah, w_a, u, alpha, context, gates, tanh_c
    )
    return next_h, next_c, alpha.copy(), cache


def attention_lstm_step_backward(
    dnext_h: np.ndarray,
    dnext_c: np.ndarray,
    dalpha: np.ndarray | None,
    cache: AttentionLSTMStepCache,
) -> tuple[np.ndarray, ...]:
    """Backward pass of ``attention_lstm_step_forward``.

    Inputs:
    - dnext_h: (N, H) gradient of the loss with respect to next_h
    - dnext_c: (N, H) gradient with respect to next_c
    - dalpha: (N, L) gradient with respect to alpha, or None for zero
    - cache: from ``attention_lstm_step_forward``

    Returns a tuple of:
    - dx: (N, W)
    - dprev_h: (N, H)
    - dprev_c: (N, H)
    - dfeats: (N, L, D)
    - dWx: (W + D, 4H)
    - dWh: (H, 4H)
    - db: (4H,)
    - dW_af: (D, A)
    - dW_ah: (H, A)
    - db_a: (A,)
    - dw_a: (A,)

    Example:
        >>> rng = np.random.default_rng(0)
        >>> N, L, D, H, A = 2, 4, 3, 5, 6
        >>> prev_h, feats = rng.standard_normal((N, H)), rng.standard_normal((N, L, D))
        >>> W_af, W_ah = rng.standard_normal((D, A)), rng.standard_normal((H, A))
        >>> b_a, w_a = np.zeros(A), rng.standard_normal(A)
        >>> W = 7  # word vector size
        >>> Wx = rng.standard_normal((W + D, 4 * H))
        >>> Wh = rng.standard_normal((H, 4 * H))
        >>> b = np.zeros(4 * H)
        >>> x, prev_c = rng.standard_normal((N, W)), np.zeros((N, H))
        >>> next_h, next_c, alpha, cache = attention_lstm_step_forward(
        ...     x, prev_h, prev_c, feats, Wx, Wh, b, W_af, W_ah, b_a, w_a
        ... )
        >>> dnext_h, dnext_c = np.ones_like(next_h), np.zeros_like(next_c)
        >>> grads = attention_lstm_step_backward(dnext_h, dnext_c, None, cache)
        >>> [g.shape for g in grads[:4]]  # dx, dprev_h, dprev_c, dfeats; then the weights'
        [(2, 7), (2, 5), (2, 5), (2, 4, 3)]
    """
    N, H = cache.prev_c.shape
    L = cache.alpha.shape[1]
    dnext_h, cache = check_upstream("dnext_h", dnext_h, ("N", "H"), shape=(N, H), cache=cache)
    dnext_c, cache = check_upstream("dnext_c", dnext_c, ("N", "H"), shape=(N, H), cache=cache)
    if dalpha is not None:
        dalpha, cache = check_upstream("dalpha", dalpha, ("N", "L"), shape=(N, L), cache=cache)
    x, prev_h, prev_c, feats, Wx, Wh, W_af, W_ah, w_a, u, alpha, context, gates, tanh_c = cache
    dtype = prev_c.dtype  # a later gradient may have promoted the cache
    dnext_h, dnext_c = dnext_h.astype(dtype, copy=False), dnext_c.astype(dtype, copy=False)
    W = x.shape[1]
    da = np.empty_like(gates)
    dprev_c = _cell_backward(dnext_h, dnext_c, gates, prev_c, tanh_c, da)
    dinput = da @ Wx.T  # (N, W + D)
    dx, dcontext = dinput[:, :W], dinput[:, W:]
    dq, dfeats, dW_af, db_a, dw_a = _attend_step_grads(dcontext, dalpha, feats, u, alpha, w_a, W_af)
    dWx = np.concatenate([x, context], axis=1).T @ da
    dprev_h, dWh, db = da @ Wh.T + dq @ W_ah.T, prev_h.T @ da, da.sum(axis=0)
    return dx, dprev_h, dprev_c, dfeats, dWx, dWh, db, dW_af, prev_h.T @ dq, db_a, dw_a


# ---------------------------------------------------------------------------------------------
# Attention LSTM, whole sequence
# ---------------------------------------------------------------------------------------------


class AttentionLSTMCache(NamedTuple):
    x_tm: np.ndarray  # (T, N, W) word vectors, time-major
    feats: np.ndarray  # (N, L, D)
    mean_feat: np.ndarray  # (N, D)
    hs: np.ndarray  # (T + 1, N, H) hidden states, hs[0] = h0 and hs[t + 1] = h_t
    cs: np.ndarray  # (T + 1, N, H) cell states, cs[0] = c0 and cs[t + 1] = c_t
    gates: np.ndarray  # (T, N, 4H) activated gates [i, f, o, g] of every step
    tanh_cs: np.ndarray  # (T, N, H) tanh(c_t)
    us: np.ndarray  # (T, N, L, A) attention tanh activations of every step
    alphas: np.ndarray  # (T, N, L) attention weights of every step
    contexts: np.ndarray  # (T, N, D) context vectors of every step
    W_init: np.ndarray  # (D, 2H)
    Wx: np.ndarray  # (W + D, 4H)
    Wh: np.ndarray  # (H, 4H)
    W_af: np.ndarray  # (D, A)
    W_ah: np.ndarray  # (H, A)
    w_a: np.ndarray  # (A,)


def _checked_sequence_args(**arrays: np.ndarray) -> tuple[np.ndarray, ...]:
    """The arguments of ``attention_lstm_forward`` by name, promoted to one float dtype
    (``float_arrays``) and shape-checked; returned in the order given."""
    args = float_arrays(**arrays)
    x, feats, W_init, b_init, Wx, Wh, b, W_af, W_ah, b_a, w_a = args
    check_float("x", x, ("N", "T", "W"))
    N, _, W = x.shape
    check_float("Wh", Wh, ("H", "4H"))
    H = Wh.shape[0]
    _, L, D, _ = _check_attention_args(H, feats, W_af, W_ah, b_a, w_a)
    check_shape("feats", feats, ("N", "L", "D"), expected=(N, L, D))
    _check_lstm_weights(Wx, Wh, b, W, D, H)
    check_float("W_init", W_init, ("D", "2H"), shape=(D, 2 * H))
    check_float("b_init", b_init, ("2H",), shape=(2 * H,))
    return args


def _forward_through_time(
    x_tm: np.ndarray,
    feats: np.ndarray,
    hc0: np.ndarray,
    Wx: np.ndarray,
    Wh: np.ndarray,
    b: np.ndarray,
    W_af: np.ndarray,
    W_ah: np.ndarray,
    b_a: np.ndarray,
    w_a: np.ndarray,
) -> tuple[np.ndarray, ...]:
    """The forward loop over steps 0..T-1, kept time-major.

    Inputs: x_tm (T, N, W) word vectors; feats (N, L, D); hc0 (N, 2H) = [h0, c0]; the LSTM and
    attention parameters as in ``attention_lstm_forward``.

    Returns hs, cs (T + 1, N, H), gates (T, N, 4H), tanh_cs (T, N, H), us (T, N, L, A),
    alphas (T, N, L) and contexts (T, N, D): the fields of ``AttentionLSTMCache`` in its order.
    """
    T, N, W = x_tm.shape
    _, L, D = feats.shape
    H, A, dtype = Wh.shape[0], w_a.shape[0], x_tm.dtype
    proj = attention_projection(feats, W_af, b_a)  # once for all steps
    # Pre-activations, starting with all the x_t @ Wx[:W] + b in one matmul; the loop adds the
    # context and recurrent terms and then overwrites them with the activated gates.
    gates = (x_tm.reshape(T * N, W) @ Wx[:W]).reshape(T, N, 4 * H)
    gates += b
    hs = np.empty((T + 1, N, H), dtype=dtype)
    cs = np.empty((T + 1, N, H), dtype=dtype)
    hs[0], cs[0] = hc0[:, :H], hc0[:, H:]
    tanh_cs = np.empty((T, N, H), dtype=dtype)
    us = np.empty((T, N, L, A), dtype=dtype)
    alphas = np.empty((T, N, L), dtype=dtype)
    contexts = np.empty((T, N, D), dtype=dtype)
    W_zh = np.concatenate([Wx[W:], Wh], axis=0)  # (D + H, 4H): context and recurrent rows
    zh = np.empty((N, D + H), dtype=dtype)  # [z_t, h_{t-1}], one buffer for all steps
    for t in range(T):
        _attend(hs[t], feats, proj, W_ah, w_a, us[t], alphas[t], contexts[t])
        zh[:, :D], zh[:, D:] = contexts[t], hs[t]
        gates[t] += zh @ W_zh
        _cell_forward(gates[t], cs[t], cs[t + 1], tanh_cs[t], hs[t + 1])
    return hs, cs, gates, tanh_cs, us, alphas, contexts


def attention_lstm_forward(
    x: np.ndarray,
    feats: np.ndarray,
    W_init: np.ndarray,
    b_init: np.ndarray,
    Wx: np.ndarray,
    Wh: np.ndarray,
    b: np.ndarray,
    W_af: np.ndarray,
    W_ah: np.ndarray,
    b_a: np.ndarray,
    w_a: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, AttentionLSTMCache]:
    """The attention LSTM over a whole sequence (module docstring).

    ``[h0, c0] = mean_l(feats) @ W_init + b_init``; at step t, attention with h_{t-1} gives
    alpha_t and the context z_t, and an LSTM step on ``[x_t, z_t]`` gives h_t, c_t.

    Inputs:
    - x: (N, T, W) word vectors
    - feats: (N, L, D) feature vectors of L locations of every image
    - W_init: (D, 2H) initial-state projection: h0 from the first H columns, c0 from the last H
    - b_init: (2H,) its biases
    - Wx: (W + D, 4H) input-to-hidden weights (word rows first, then context rows)
    - Wh: (H, 4H) hidden-to-hidden weights
    - b: (4H,) biases, gates i, f, o, g
    - W_af: (D, A) attention feature projection
    - W_ah: (H, A) attention hidden-state projection
    - b_a: (A,) attention bias
    - w_a: (A,) attention scoring vector

    Returns a tuple of:
    - h: (N, T, H) hidden states of every step
    - alphas: (N, T, L) attention weights of every step
    - cache: what ``attention_lstm_backward`` needs

    Example:
        >>> rng = np.random.default_rng(0)
        >>> N, L, D, H, A = 2, 4, 3, 5, 6
        >>> prev_h, feats = rng.standard_normal((N, H)), rng.standard_normal((N, L, D))
        >>> W_af, W_ah = rng.standard_normal((D, A)), rng.standard_normal((H, A))
        >>> b_a, w_a = np.zeros(A), rng.standard_normal(A)
        >>> W = 7  # word vector size
        >>> Wx = rng.standard_normal((W + D, 4 * H))
        >>> Wh = rng.standard_normal((H, 4 * H))
        >>> b = np.zeros(4 * H)
        >>> T = 6
        >>> x = rng.standard_normal((N, T, W))
        >>> W_init = rng.standard_normal((D, 2 * H))
        >>> b_init = np.zeros(2 * H)
        >>> h, alphas, cache = attention_lstm_forward(
        ...     x, feats, W_init, b_init, Wx, Wh, b, W_af, W_ah, b_a, w_a
        ... )
        >>> h.shape, alphas.shape
        ((2, 6, 5), (2, 6, 4))
    """
    x, feats, W_init, b_init, Wx, Wh, b, W_af, W_ah, b_a, w_a = _checked_sequence_args(
        x=x,
        feats=feats,
        W_init=W_init,
        b_init=b_init,
        Wx=Wx,
        Wh=Wh,
        b=b,
        W_af=W_af,
        W_ah=W_ah,
        b_a=b_a,
        w_a=w_a,
    )
    mean_feat = feats.mean(axis=1)  # (N, D)
    hc0 = mean_feat @ W_init + b_init  # (N, 2H)
    x_tm = np.ascontiguousarray(x.transpose(1, 0, 2))  # (N, T, W) -> (T, N, W)
    states = _forward_through_time(x_tm, feats, hc0, Wx, Wh, b, W_af, W_ah, b_a, w_a)
    cache = AttentionLSTMCache(x_tm, feats, mean_feat, *states, W_init, Wx, Wh, W_af, W_ah, w_a)
    h = np.ascontiguousarray(cache.hs[1:].transpose(1, 0, 2))  # (T, N, H) -> (N, T, H)
    out_alphas = np.ascontiguousarray(cache.alphas.transpose(1, 0, 2))  # (T, N, L) -> (N, T, L)
    return h, out_alphas, cache


def _backward_through_time(
    dh_tm: np.ndarray, dalphas_tm: np.ndarray | None, cache: AttentionLSTMCache
) -> tuple[np.ndarray, ...]:
    """The backward loop over steps T-1..0, kept time-major.

    Inputs: dh_tm (T, N, H) upstream gradients of the hidden states; dalphas_tm (T, N, L) or
    None; cache from ``attention_lstm_forward`` (in the upstream gradients' dtype).

    Returns a tuple of:
    - da: (T, N, 4H) gradients of the gate pre-activations of every step
    - dcontexts: (T, N, D) gradients of the context vectors
    - dss: (T, N, L) gradients of the attention scores
    - dqs: (T, N, A) gradients of h_{t-1} @ W_ah
    - dproj: (N, L, A) gradient of the feature projection, summed over steps
    - dh0, dc0: (N, H) gradients of the initial state
    """
    T, N, L, A = cache.us.shape
    feats, us, alphas, w_a = cache.feats, cache.us, cache.alphas, cache.w_a
    H, W, D, dtype = cache.Wh.shape[0], cache.x_tm.shape[2], feats.shape[2], cache.hs.dtype
    W_zh_T = np.concatenate([cache.Wx[W:], cache.Wh], axis=0).T  # (4H, D + H)
    W_ah_T = cache.W_ah.T
    da = np.empty_like(cache.gates)  # (T, N, 4H)
    dcontexts = np.empty((T, N, D), dtype=dtype)
    dss = np.empty((T, N, L), dtype=dtype)
    dqs = np.empty((T, N, A), dtype=dtype)
    dproj = np.zeros((N, L, A), dtype=dtype)
    dnext_h = np.zeros((N, H), dtype=dtype)  # gradient reaching h_t from step t + 1
    dnext_c = np.zeros((N, H), dtype=dtype)  # gradient reaching c_t from step t + 1
    dh_total = np.empty((N, H), dtype=dtype)
    dpre = np.empty((N, L, A), dtype=dtype)  # one buffer for every step's dpre
    for t in reversed(range(T)):
        np.add(dh_tm[t], dnext_h, out=dh_total)
        dnext_c = _cell_backward(
            dh_total, dnext_c, cache.gates[t], cache.cs[t], cache.tanh_cs[t], da[t]
        )
        dzh = da[t] @ W_zh_T  # (N, D + H): to the context and to h_{t-1}
        dcontexts[t] = dzh[:, :D]
        dalpha = None if dalphas_tm is None else dalphas_tm[t]
        dss[t], _ = _attend_backward(dcontexts[t], dalpha, feats, us[t], alphas[t], w_a, dpre)
        dproj += dpre
        dpre.sum(axis=1, out=dqs[t])
        dnext_h = dzh[:, D:] + dqs[t] @ W_ah_T
    return da, dcontexts, dss, dqs, dproj, dnext_h, dnext_c


def _sequence_param_grads(
    cache: AttentionLSTMCache,
    da: np.ndarray,
    dcontexts: np.ndarray,
    dss: np.ndarray,
    dqs: np.ndarray,
    dproj: np.ndarray,
    dh0: np.ndarray,
    dc0: np.ndarray,
) -> tuple[np.ndarray, ...]:
    """The gradients after the backward loop (``_backward_through_time``'s outputs), each one
    matmul over all steps; returns the tuple of ``attention_lstm_backward``."""
    T, N, L, A = cache.us.shape
    x_tm, feats, hs, contexts, Wx = cache.x_tm, cache.feats, cache.hs, cache.contexts, cache.Wx
    H, W, D = cache.Wh.shape[0], x_tm.shape[2], feats.shape[2]
    # Initial state: [h0, c0] = mean_feat @ W_init + b_init.
    dhc0 = np.concatenate([dh0, dc0], axis=1)  # (N, 2H)
    dmean = dhc0 @ cache.W_init.T  # (N, D)
    # Features: through every context (one batched matmul over steps), the projection and the
    # mean.
    # (N, L, T) @ (N, T, D)
    dfeats = np.matmul(cache.alphas.transpose(1, 2, 0), dcontexts.transpose(1, 0, 2))
    dproj_flat = dproj.reshape(N * L, A)
    dfeats += (dproj_flat @ cache.W_af.T).reshape(N, L, D)
    dfeats += dmean[:, None, :] / L
    # Weight gradients: one matmul each over all T*N rows.
    da_flat = da.reshape(T * N, 4 * H)
    dx = (da_flat @ Wx[:W].T).reshape(T, N, W)
    dx = np.ascontiguousarray(dx.transpose(1, 0, 2))  # (T, N, W) -> (N, T, W)
    dWx = np.concatenate(
        [x_tm.reshape(T * N, W).T @ da_flat, contexts.reshape(T * N, D).T @ da_flat], axis=0
    )
    h_prev = hs[:-1].reshape(T * N, H)
    return (
        dx,
        dfeats,
        cache.mean_feat.T @ dhc0,
        dhc0.sum(axis=0),
        dWx,
        h_prev.T @ da_flat,
        da_flat.sum(axis=0),
        feats.reshape(N * L, D).T @ dproj_flat,
        h_prev.T @ dqs.reshape(T * N, A),
        dproj_flat.sum(axis=0),
        dss.reshape(T * N * L) @ cache.us.reshape(T * N * L, A),
    )


def attention_lstm_backward(
    dh: np.ndarray, dalphas: np.ndarray | None, cache: AttentionLSTMCache
) -> tuple[np.ndarray, ...]:
    """Backward pass of ``attention_lstm_forward``.

    Inputs:
    - dh: (N, T, H) upstream gradients of all hidden states (from the layer above only; the
      gradient through the recurrence and the attention is added here)
    - dalphas: (N, T, L) gradients with respect to the attention weights (the doubly stochastic
      regulariser's), or None for zero
    - cache: from ``attention_lstm_forward``

    Returns a tuple of:
    - dx: (N, T, W)
    - dfeats: (N, L, D)
    - dW_init: (D, 2H)
    - db_init: (2H,)
    - dWx: (W + D, 4H)
    - dWh: (H, 4H)
    - db: (4H,)
    - dW_af: (D, A)
    - dW_ah: (H, A)
    - db_a: (A,)
    - dw_a: (A,)

    Example:
        >>> rng = np.random.default_rng(0)
        >>> N, L, D, H, A = 2, 4, 3, 5, 6
        >>> prev_h, feats = rng.standard_normal((N, H)), rng.standard_normal((N, L, D))
        >>> W_af, W_ah = rng.standard_normal((D, A)), rng.standard_normal((H, A))
        >>> b_a, w_a = np.zeros(A), rng.standard_normal(A)
        >>> W = 7  # word vector size
        >>> Wx = rng.standard_normal((W + D, 4 * H))
        >>> Wh = rng.standard_normal((H, 4 * H))
        >>> b = np.zeros(4 * H)
        >>> T = 6
        >>> x = rng.standard_normal((N, T, W))
        >>> W_init = rng.standard_normal((D, 2 * H))
        >>> b_init = np.zeros(2 * H)
        >>> h, alphas, cache = attention_lstm_forward(
        ...     x, feats, W_init, b_init, Wx, Wh, b, W_af, W_ah, b_a, w_a
        ... )
        >>> grads = attention_lstm_backward(np.ones_like(h), None, cache)
        >>> len(grads), grads[0].shape, grads[1].shape  # dx, dfeats, then the 9 weight gradients
        (11, (2, 6, 7), (2, 4, 3))
    """
    T, N, L, _ = cache.us.shape
    H = cache.Wh.shape[0]
    dh, cache = check_upstream("dh", dh, ("N", "T", "H"), shape=(N, T, H), cache=cache)
    if dalphas is not None:
        dalphas, cache = check_upstream(
            "dalphas", dalphas, ("N", "T", "L"), shape=(N, T, L), cache=cache
        )
    dh = dh.astype(cache.hs.dtype, copy=False)
    dh_tm = dh.transpose(1, 0, 2)  # (N, T, H) -> (T, N, H) view
    dalphas_tm = None if dalphas is None else dalphas.transpose(1, 0, 2)  # (T, N, L) view
    grads = _backward_through_time(dh_tm, dalphas_tm, cache)
    return _sequence_param_grads(cache, *grads)


# ---------------------------------------------------------------------------------------------
# Test time: one step without a cache, on a feature projection computed once per image
# ---------------------------------------------------------------------------------------------


def attention_projection(feats: np.ndarray, W_af: np.ndarray, b_a: np.ndarray) -> np.ndarray:
    """``feats @ W_af + b_a``: the part of the attention scores that no step changes.

    Inputs: feats (N, L, D); W_af (D, A); b_a (A,). Returns proj (N, L, A), feats' dtype.

    Example:
        >>> attention_projection(np.ones((2, 4, 3)), np.ones((3, 6)), np.zeros(6)).shape
        (2, 4, 6)
    """
    N, L, D = feats.shape
    proj = (feats.reshape(N * L, D) @ W_af).reshape(N, L, W_af.shape[1])
    proj += b_a
    return proj


def attention_lstm_step_inference(
    x: np.ndarray,
    prev_h: np.ndarray,
    prev_c: np.ndarray,
    feats: np.ndarray,
    proj: np.ndarray,
    Wx: np.ndarray,
    Wh: np.ndarray,
    b: np.ndarray,
    W_ah: np.ndarray,
    w_a: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``attention_lstm_step_forward`` for sampling: no cache, no argument checks, and the feature
    projection ``proj = attention_projection(feats, W_af, b_a)`` passed in (computed once per
    caption instead of once per word).

    Inputs: x (N, W); prev_h, prev_c (N, H); feats (N, L, D); proj (N, L, A); Wx (W + D, 4H);
    Wh (H, 4H); b (4H,); W_ah (H, A); w_a (A,), all of one float dtype.

    Returns next_h (N, H), next_c (N, H), alpha (N, L).

    Example:
        >>> rng = np.random.default_rng(0)
        >>> N, L, D, H, A = 2, 4, 3, 5, 6
        >>> prev_h, feats = rng.standard_normal((N, H)), rng.standard_normal((N, L, D))
        >>> W_af, W_ah = rng.standard_normal((D, A)), rng.standard_normal((H, A))
        >>> b_a, w_a = np.zeros(A), rng.standard_normal(A)
        >>> W = 7  # word vector size
        >>> Wx = rng.standard_normal((W + D, 4 * H))
        >>> Wh = rng.standard_normal((H, 4 * H))
        >>> b = np.zeros(4 * H)
        >>> x, prev_c = rng.standard_normal((N, W)), np.zeros((N, H))
        >>> proj = attention_projection(feats, W_af, b_a)  # once per image
        >>> next_h, next_c, alpha = attention_lstm_step_inference(
        ...     x, prev_h, prev_c, feats, proj, Wx, Wh, b, W_ah, w_a
        ... )
        >>> step = attention_lstm_step_forward(
        ...     x, prev_h, prev_c, feats, Wx, Wh, b, W_af, W_ah, b_a, w_a
        ... )
        >>> np.allclose(next_h, step[0]), np.allclose(alpha, step[2])
        (True, True)
    """
    _, alpha, context = _attend_new(prev_h, feats, proj, W_ah, w_a)
    W = x.shape[1]
    gates = x @ Wx[:W]
    gates += context @ Wx[W:]
    gates += prev_h @ Wh
    gates += b
    next_c, tanh_c, next_h = (np.empty_like(prev_c) for _ in range(3))
    _cell_forward(gates, prev_c, next_c, tanh_c, next_h)
    return next_h, next_c, alpha
