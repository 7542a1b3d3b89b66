"""Recurrent layers in pure NumPy: vanilla RNN, LSTM, word embedding, temporal affine and the
temporal softmax loss, each as ``*_forward -> (out, cache)`` / ``*_backward(dout, cache)``.

The signatures are the CS231n assignment's, so course code can import them unchanged
(``from dlclassics.numpy_nn.rnn_layers import *`` gives what ``from cs231n.rnn_layers import *``
gives, ``affine_forward``/``affine_backward`` included; see ``docs/cs231n.md``). Like the CS231n
code, the layers accept lists, integer arrays and mixed float32/float64 arguments and promote them
as NumPy would; ``validation.strict_dtypes()`` turns that into errors instead.
Shapes use N (minibatch), T (time steps), D (input size), H (hidden size), V (vocabulary),
M (outputs).
The LSTM's 4H pre-activation axis holds the gates in the order i, f, o, g.
The equations each function implements are written out in ``dlclassics/report/derivations.md``.

Speed: the sequence functions loop over time only where the recurrence forces it. The input
projection ``x @ Wx`` of every step is one matmul before the loop, and ``dx``, ``dWx``, ``dWh``
and ``db`` are one matmul each after the backward loop. Inside the sequence functions the
activations are kept time-major, (T, N, ...), so each step's rows are contiguous.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from dlclassics.numpy_nn.activations import log_softmax, sigmoid
from dlclassics.numpy_nn.layers import AffineCache, affine_backward, affine_forward
from dlclassics.numpy_nn.validation import (
    check_float,
    check_int,
    check_shape,
    check_upstream,
    float_arrays,
    int_array,
)

__all__ = [
    "AffineCache",
    "LSTMCache",
    "LSTMStepCache",
    "RNNCache",
    "RNNStepCache",
    "TemporalAffineCache",
    "WordEmbeddingCache",
    "affine_backward",
    "affine_forward",
    "lstm_backward",
    "lstm_forward",
    "lstm_step_backward",
    "lstm_step_forward",
    "rnn_backward",
    "rnn_forward",
    "rnn_step_backward",
    "rnn_step_forward",
    "sigmoid",
    "temporal_affine_backward",
    "temporal_affine_forward",
    "temporal_fc_backward",
    "temporal_fc_forward",
    "temporal_softmax_loss",
    "word_embedding_backward",
    "word_embedding_forward",
]

# ---------------------------------------------------------------------------------------------
# Argument checks shared by the RNN and LSTM
# ---------------------------------------------------------------------------------------------


def _check_recurrent_args(
    x: np.ndarray,
    h_name: str,
    h: np.ndarray,
    Wx: np.ndarray,
    Wh: np.ndarray,
    b: np.ndarray,
    gates: int,
    sequence: bool,
) -> tuple[int, int]:
    """Check the shapes of x ((N, T, D) if sequence else (N, D)), h (N, H), Wx (D, gH),
    Wh (H, gH), b (gH,), where g = gates (1 for the RNN, 4 for the LSTM). The arrays must already
    come from ``float_arrays`` (one float dtype).

    Returns (D, H).
    """
    check_float("x", x, ("N", "T", "D") if sequence else ("N", "D"))
    N, D = x.shape[0], x.shape[-1]
    check_float(h_name, h, ("N", "H"))
    H = h.shape[1]
    check_shape(h_name, h, ("N", "H"), expected=(N, H))
    gH = "H" if gates == 1 else f"{gates}H"
    check_float("Wx", Wx, ("D", gH), shape=(D, gates * H))
    check_float("Wh", Wh, ("H", gH), shape=(H, gates * H))
    check_float("b", b, (gH,), shape=(gates * H,))
    return D, H


def _sequence_weight_grads(
    da: np.ndarray, x_tm: np.ndarray, h_prev: np.ndarray, Wx: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Gradients of a recurrent sequence that need no recurrence: one matmul each over all steps.

    Inputs:
    - da: (T, N, G) gradient of the loss with respect to every step's pre-activation a_t
    - x_tm: (T, N, D) inputs, time-major
    - h_prev: (T, N, H) hidden state entering every step (h0, h_1, ..., h_{T-1})
    - Wx: (D, G) input-to-hidden weights

    Returns dx (N, T, D), dWx (D, G), dWh (H, G), db (G,).
    """
    T, N, G = da.shape
    D, H = x_tm.shape[2], h_prev.shape[2]
    da_flat = da.reshape(T * N, G)  # (T, N, G) -> (T*N, G)
    dx = (da_flat @ Wx.T).reshape(T, N, D)  # (T*N, G) @ (G, D) -> (T, N, D)
    dx = np.ascontiguousarray(dx.transpose(1, 0, 2))  # (T, N, D) -> (N, T, D)
    dWx = x_tm.reshape(T * N, D).T @ da_flat
    dWh = h_prev.reshape(T * N, H).T @ da_flat
    db = da_flat.sum(axis=0)
    return dx, dWx, dWh, db


# ---------------------------------------------------------------------------------------------
# Vanilla RNN
# ---------------------------------------------------------------------------------------------


class RNNStepCache(NamedTuple):
    x: np.ndarray  # (N, D)
    prev_h: np.ndarray  # (N, H)
    Wx: np.ndarray  # (D, H)
    Wh: np.ndarray  # (H, H)
    next_h: np.ndarray  # (N, H)


class RNNCache(NamedTuple):
    x_tm: np.ndarray  # (T, N, D) inputs, time-major
    hs: np.ndarray  # (T + 1, N, H) hidden states, hs[0] = h0 and hs[t + 1] = h_t
    Wx: np.ndarray  # (D, H)
    Wh: np.ndarray  # (H, H)


def rnn_step_forward(
    x: np.ndarray, prev_h: np.ndarray, Wx: np.ndarray, Wh: np.ndarray, b: np.ndarray
) -> tuple[np.ndarray, RNNStepCache]:
    """One time step of a vanilla RNN: ``next_h = tanh(x @ Wx + prev_h @ Wh + b)``.

    Inputs:
    - x: (N, D) input at this step
    - prev_h: (N, H) hidden state from the previous step
    - Wx: (D, H) input-to-hidden weights
    - Wh: (H, H) hidden-to-hidden weights
    - b: (H,) biases

    Returns a tuple of:
    - next_h: (N, H) next hidden state
    - cache: what ``rnn_step_backward`` needs

    Example:
        >>> rng = np.random.default_rng(0)
        >>> N, D, H = 2, 3, 4
        >>> x, prev_h = rng.standard_normal((N, D)), np.zeros((N, H))
        >>> Wx = rng.standard_normal((D, H))
        >>> Wh = rng.standard_normal((H, H))
        >>> b = np.zeros(H)
        >>> next_h, cache = rnn_step_forward(x, prev_h, Wx, Wh, b)
        >>> next_h.shape
        (2, 4)
    """
    x, prev_h, Wx, Wh, b = float_arrays(x=x, prev_h=prev_h, Wx=Wx, Wh=Wh, b=b)
    _check_recurrent_args(x, "prev_h", prev_h, Wx, Wh, b, gates=1, sequence=False)
    next_h = np.tanh(x @ Wx + prev_h @ Wh + b)
    return next_h, RNNStepCache(x, prev_h, Wx, Wh, next_h)


def rnn_step_backward(
    dnext_h: np.ndarray, cache: RNNStepCache
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Backward pass of ``rnn_step_forward``.

    Inputs:
    - dnext_h: (N, H) gradient of the loss with respect to next_h
    - cache: from ``rnn_step_forward``

    Returns a tuple of:
    - dx: (N, D)
    - dprev_h: (N, H)
    - dWx: (D, H)
    - dWh: (H, H)
    - db: (H,)

    Example:
        >>> rng = np.random.default_rng(0)
        >>> N, D, H = 2, 3, 4
        >>> x, prev_h = rng.standard_normal((N, D)), np.zeros((N, H))
        >>> Wx = rng.standard_normal((D, H))
        >>> Wh = rng.standard_normal((H, H))
        >>> b = np.zeros(H)
        >>> next_h, cache = rnn_step_forward(x, prev_h, Wx, Wh, b)
        >>> dx, dprev_h, dWx, dWh, db = rnn_step_backward(np.ones_like(next_h), cache)
        >>> dx.shape, dprev_h.shape, dWx.shape, dWh.shape, db.shape
        ((2, 3), (2, 4), (3, 4), (4, 4), (4,))
    """
    dnext_h, cache = check_upstream(
        "dnext_h", dnext_h, ("N", "H"), shape=cache.next_h.shape, cache=cache
    )
    x, prev_h, Wx, Wh, next_h = cache
    da = dnext_h * (1 - next_h * next_h)  # tanh'(a) = 1 - tanh(a)^2
    return da @ Wx.T, da @ Wh.T, x.T @ da, prev_h.T @ da, da.sum(axis=0)


def rnn_forward(
    x: np.ndarray, h0: np.ndarray, Wx: np.ndarray, Wh: np.ndarray, b: np.ndarray
) -> tuple[np.ndarray, RNNCache]:
    """A vanilla RNN over a whole sequence: ``h_t = tanh(x_t @ Wx + h_{t-1} @ Wh + b)``.

    Inputs:
    - x: (N, T, D) input sequence
    - h0: (N, H) initial hidden state
    - Wx: (D, H) input-to-hidden weights
    - Wh: (H, H) hidden-to-hidden weights
    - b: (H,) biases

    Returns a tuple of:
    - h: (N, T, H) hidden states of every step
    - cache: what ``rnn_backward`` needs

    Example:
        >>> rng = np.random.default_rng(0)
        >>> N, T, D, H = 2, 5, 3, 4
        >>> x, h0 = rng.standard_normal((N, T, D)), np.zeros((N, H))
        >>> Wx = rng.standard_normal((D, H))
        >>> Wh = rng.standard_normal((H, H))
        >>> b = np.zeros(H)
        >>> h, cache = rnn_forward(x, h0, Wx, Wh, b)
        >>> h.shape
        (2, 5, 4)
    """
    x, h0, Wx, Wh, b = float_arrays(x=x, h0=h0, Wx=Wx, Wh=Wh, b=b)
    D, H = _check_recurrent_args(x, "h0", h0, Wx, Wh, b, gates=1, sequence=True)
    N, T, _ = x.shape
    x_tm = np.ascontiguousarray(x.transpose(1, 0, 2))  # (N, T, D) -> (T, N, D)
    a = (x_tm.reshape(T * N, D) @ Wx).reshape(T, N, H)  # every step's x_t @ Wx in one matmul
    a += b
    hs = np.empty((T + 1, N, H), dtype=x.dtype)
    hs[0] = h0
    recurrent = np.empty((N, H), dtype=x.dtype)  # h_{t-1} @ Wh, one buffer for all steps
    for t in range(T):
        np.matmul(hs[t], Wh, out=recurrent)
        a[t] += recurrent
        np.tanh(a[t], out=hs[t + 1])
    h = np.ascontiguousarray(hs[1:].transpose(1, 0, 2))  # (T, N, H) -> (N, T, H)
    return h, RNNCache(x_tm, hs, Wx, Wh)


def rnn_backward(
    dh: np.ndarray, cache: RNNCache
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Backward pass of ``rnn_forward``.

    Inputs:
    - dh: (N, T, H) upstream gradients of all hidden states (from the layer above only; the
      gradient through the recurrence is added here)
    - cache: from ``rnn_forward``

    Returns a tuple of:
    - dx: (N, T, D)
    - dh0: (N, H)
    - dWx: (D, H)
    - dWh: (H, H)
    - db: (H,)

    Example:
        >>> rng = np.random.default_rng(0)
        >>> N, T, D, H = 2, 5, 3, 4
        >>> x, h0 = rng.standard_normal((N, T, D)), np.zeros((N, H))
        >>> Wx = rng.standard_normal((D, H))
        >>> Wh = rng.standard_normal((H, H))
        >>> b = np.zeros(H)
        >>> h, cache = rnn_forward(x, h0, Wx, Wh, b)
        >>> dx, dh0, dWx, dWh, db = rnn_backward(np.ones_like(h), cache)
        >>> dx.shape, dh0.shape, dWx.shape, dWh.shape, db.shape
        ((2, 5, 3), (2, 4), (3, 4), (4, 4), (4,))
    """
    T, N, H = cache.hs.shape[0] - 1, cache.hs.shape[1], cache.hs.shape[2]
    dh, cache = check_upstream("dh", dh, ("N", "T", "H"), shape=(N, T, H), cache=cache)
    x_tm, hs, Wx, Wh = cache
    dh_tm = dh.transpose(1, 0, 2)  # (N, T, H) -> (T, N, H) view
    da = np.empty((T, N, H), dtype=hs.dtype)
    dnext_h = np.zeros((N, H), dtype=hs.dtype)  # gradient reaching h_t from step t + 1
    for t in reversed(range(T)):
        h_t = hs[t + 1]
        np.multiply(dh_tm[t] + dnext_h, 1 - h_t * h_t, out=da[t])
        np.matmul(da[t], Wh.T, out=dnext_h)
    dx, dWx, dWh, db = _sequence_weight_grads(da, x_tm, hs[:-1], Wx)
    return dx, dnext_h, dWx, dWh, db


# ---------------------------------------------------------------------------------------------
# LSTM (gate order i, f, o, g along the 4H axis)
# ---------------------------------------------------------------------------------------------


class LSTMStepCache(NamedTuple):
    x: np.ndarray  # (N, D)
    prev_h: np.ndarray  # (N, H)
    prev_c: np.ndarray  # (N, H)
    Wx: np.ndarray  # (D, 4H)
    Wh: np.ndarray  # (H, 4H)
    gates: np.ndarray  # (N, 4H) activated gates [i, f, o, g]
    tanh_c: np.ndarray  # (N, H) tanh(next_c)


class LSTMCache(NamedTuple):
    x_tm: np.ndarray  # (T, N, D) inputs, time-major
    hs: np.ndarray  # (T + 1, N, H) hidden states, hs[0] = h0 and hs[t + 1] = h_t
    cs: np.ndarray  # (T + 1, N, H) cell states, cs[0] = 0 and cs[t + 1] = c_t
    gates: np.ndarray  # (T, N, 4H) activated gates [i, f, o, g] of every step
    tanh_cs: np.ndarray  # (T, N, H) tanh(c_t)
    Wx: np.ndarray  # (D, 4H)
    Wh: np.ndarray  # (H, 4H)


def _cell_forward(
    gates: np.ndarray,
    prev_c: np.ndarray,
    next_c: np.ndarray,
    tanh_c: np.ndarray,
    next_h: np.ndarray,
) -> None:
    """``c_t = f * c_{t-1} + i * g`` and ``h_t = o * tanh(c_t)``, written into the out arrays.

    Inputs: gates (N, 4H) pre-activations, activated in place (sigmoid on i, f, o and tanh on g);
    prev_c (N, H).
    Outputs (filled in): next_c, tanh_c, next_h, each (N, H).
    """
    H = gates.shape[1] // 4
    sigmoid(gates[:, : 3 * H], out=gates[:, : 3 * H])
    np.tanh(gates[:, 3 * H :], out=gates[:, 3 * H :])
    i, f, o, g = np.split(gates, 4, axis=1)
    np.multiply(f, prev_c, out=next_c)
    next_c += i * g
    np.tanh(next_c, out=tanh_c)
    np.multiply(o, tanh_c, out=next_h)


def _cell_backward(
    dnext_h: np.ndarray,
    dnext_c: np.ndarray,
    gates: np.ndarray,
    prev_c: np.ndarray,
    tanh_c: np.ndarray,
    da: np.ndarray,
) -> np.ndarray:
    """Backward pass through one LSTM cell, from (dh_t, dc_t) to the pre-activation gradient.

    Inputs:
    - dnext_h, dnext_c: (N, H) total gradients reaching h_t and c_t
    - gates: (N, 4H) activated gates [i, f, o, g] of this step
    - prev_c: (N, H) cell state c_{t-1}
    - tanh_c: (N, H) tanh(c_t)
    - da: (N, 4H) output array, filled with the gradient with respect to the pre-activation a_t

    Returns dprev_c: (N, H) gradient with respect to c_{t-1}.
    """
    i, f, o, g = np.split(gates, 4, axis=1)
    da_i, da_f, da_o, da_g = np.split(da, 4, axis=1)  # views: writing them fills da
    dc = dnext_c + dnext_h * o * (1 - tanh_c * tanh_c)
    np.multiply(dnext_h * tanh_c, o * (1 - o), out=da_o)  # sigmoid' = s (1 - s)
    np.multiply(dc * g, i * (1 - i), out=da_i)
    np.multiply(dc * prev_c, f * (1 - f), out=da_f)
    np.multiply(dc * i, 1 - g * g, out=da_g)  # tanh' = 1 - tanh^2
    return dc * f


def lstm_step_forward(
    x: np.ndarray,
    prev_h: np.ndarray,
    prev_c: np.ndarray,
    Wx: np.ndarray,
    Wh: np.ndarray,
    b: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, LSTMStepCache]:
    """One time step of an LSTM.

    ``a = x @ Wx + prev_h @ Wh + b`` is split into gates i, f, o, g (in that order);
    ``next_c = sigmoid(a_f) * prev_c + sigmoid(a_i) * tanh(a_g)``,
    ``next_h = sigmoid(a_o) * tanh(next_c)``.

    Inputs:
    - x: (N, D) input at this step
    - prev_h: (N, H) previous hidden state
    - prev_c: (N, H) previous cell state
    - Wx: (D, 4H) input-to-hidden weights
    - Wh: (H, 4H) hidden-to-hidden weights
    - b: (4H,) biases

    Returns a tuple of:
    - next_h: (N, H) next hidden state
    - next_c: (N, H) next cell state
    - cache: what ``lstm_step_backward`` needs

    Example:
        >>> rng = np.random.default_rng(0)
        >>> N, D, H = 2, 3, 4
        >>> x, prev_h, prev_c = rng.standard_normal((N, D)), np.zeros((N, H)), np.zeros((N, H))
        >>> Wx = rng.standard_normal((D, 4 * H))
        >>> Wh = rng.standard_normal((H, 4 * H))
        >>> b = np.zeros(4 * H)
        >>> next_h, next_c, cache = lstm_step_forward(x, prev_h, prev_c, Wx, Wh, b)
        >>> next_h.shape, next_c.shape
        ((2, 4), (2, 4))
    """
    x, prev_h, prev_c, Wx, Wh, b = float_arrays(
        x=x, prev_h=prev_h, prev_c=prev_c, Wx=Wx, Wh=Wh, b=b
    )
    _check_recurrent_args(x, "prev_h", prev_h, Wx, Wh, b, gates=4, sequence=False)
    check_float("prev_c", prev_c, ("N", "H"), shape=prev_h.shape)
    gates = x @ Wx
    gates += prev_h @ Wh
    gates += b
    next_c, tanh_c, next_h = (np.empty_like(prev_c) for _ in range(3))
    _cell_forward(gates, prev_c, next_c, tanh_c, next_h)
    return next_h, next_c, LSTMStepCache(x, prev_h, prev_c, Wx, Wh, gates, tanh_c)


def lstm_step_backward(
    dnext_h: np.ndarray, dnext_c: np.ndarray, cache: LSTMStepCache
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Backward pass of ``lstm_step_forward``.

    Inputs:
    - dnext_h: (N, H) gradient of the loss with respect to next_h
    - dnext_c: (N, H) gradient of the loss with respect to next_c
    - cache: from ``lstm_step_forward``

    Returns a tuple of:
    - dx: (N, D)
    - dprev_h: (N, H)
    - dprev_c: (N, H)
    - dWx: (D, 4H)
    - dWh: (H, 4H)
    - db: (4H,)

    Example:
        >>> rng = np.random.default_rng(0)
        >>> N, D, H = 2, 3, 4
        >>> x, prev_h, prev_c = rng.standard_normal((N, D)), np.zeros((N, H)), np.zeros((N, H))
        >>> Wx = rng.standard_normal((D, 4 * H))
        >>> Wh = rng.standard_normal((H, 4 * H))
        >>> b = np.zeros(4 * H)
        >>> next_h, next_c, cache = lstm_step_forward(x, prev_h, prev_c, Wx, Wh, b)
        >>> grads = lstm_step_backward(np.ones_like(next_h), np.zeros_like(next_c), cache)
        >>> [g.shape for g in grads]  # dx, dprev_h, dprev_c, dWx, dWh, db
        [(2, 3), (2, 4), (2, 4), (3, 16), (4, 16), (16,)]
    """
    shape = cache.prev_c.shape
    dnext_h, cache = check_upstream("dnext_h", dnext_h, ("N", "H"), shape=shape, cache=cache)
    dnext_c, cache = check_upstream("dnext_c", dnext_c, ("N", "H"), shape=shape, cache=cache)
    x, prev_h, prev_c, Wx, Wh, gates, tanh_c = cache
    dnext_h = dnext_h.astype(prev_c.dtype, copy=False)  # dnext_c may have promoted the cache
    da = np.empty_like(gates)
    dprev_c = _cell_backward(dnext_h, dnext_c, gates, prev_c, tanh_c, da)
    return da @ Wx.T, da @ Wh.T, dprev_c, x.T @ da, prev_h.T @ da, da.sum(axis=0)


def lstm_forward(
    x: np.ndarray, h0: np.ndarray, Wx: np.ndarray, Wh: np.ndarray, b: np.ndarray
) -> tuple[np.ndarray, LSTMCache]:
    """An LSTM over a whole sequence; the initial cell state is zero.

    Inputs:
    - x: (N, T, D) input sequence
    - h0: (N, H) initial hidden state
    - Wx: (D, 4H) input-to-hidden weights, gates i, f, o, g
    - Wh: (H, 4H) hidden-to-hidden weights
    - b: (4H,) biases

    Returns a tuple of:
    - h: (N, T, H) hidden states of every step
    - cache: what ``lstm_backward`` needs

    Example:
        >>> rng = np.random.default_rng(0)
        >>> N, T, D, H = 2, 5, 3, 4
        >>> x, h0 = rng.standard_normal((N, T, D)), np.zeros((N, H))
        >>> Wx = rng.standard_normal((D, 4 * H))
        >>> Wh = rng.standard_normal((H, 4 * H))
        >>> b = np.zeros(4 * H)
        >>> h, cache = lstm_forward(x, h0, Wx, Wh, b)
        >>> h.shape
        (2, 5, 4)
    """
    x, h0, Wx, Wh, b = float_arrays(x=x, h0=h0, Wx=Wx, Wh=Wh, b=b)
    D, H = _check_recurrent_args(x, "h0", h0, Wx, Wh, b, gates=4, sequence=True)
    N, T, _ = x.shape
    x_tm = np.ascontiguousarray(x.transpose(1, 0, 2))  # (N, T, D) -> (T, N, D)
    # Pre-activations of every step, starting with all the x_t @ Wx in one matmul; the loop adds
    # h_{t-1} @ Wh and then overwrites them with the activated gates.
    gates = (x_tm.reshape(T * N, D) @ Wx).reshape(T, N, 4 * H)
    gates += b
    hs = np.empty((T + 1, N, H), dtype=x.dtype)
    hs[0] = h0
    cs = np.empty((T + 1, N, H), dtype=x.dtype)
    cs[0] = 0
    tanh_cs = np.empty((T, N, H), dtype=x.dtype)
    recurrent = np.empty((N, 4 * H), dtype=x.dtype)  # h_{t-1} @ Wh, one buffer for all steps
    for t in range(T):
        np.matmul(hs[t], Wh, out=recurrent)
        gates[t] += recurrent
        _cell_forward(gates[t], cs[t], cs[t + 1], tanh_cs[t], hs[t + 1])
    h = np.ascontiguousarray(hs[1:].transpose(1, 0, 2))  # (T, N, H) -> (N, T, H)
    return h, LSTMCache(x_tm, hs, cs, gates, tanh_cs, Wx, Wh)


def lstm_backward(
    dh: np.ndarray, cache: LSTMCache
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Backward pass of ``lstm_forward``.

    Inputs:
    - dh: (N, T, H) upstream gradients of all hidden states (from the layer above only; the
      gradient through the recurrence is added here)
    - cache: from ``lstm_forward``

    Returns a tuple of:
    - dx: (N, T, D)
    - dh0: (N, H)
    - dWx: (D, 4H)
    - dWh: (H, 4H)
    - db: (4H,)

    Example:
        >>> rng = np.random.default_rng(0)
        >>> N, T, D, H = 2, 5, 3, 4
        >>> x, h0 = rng.standard_normal((N, T, D)), np.zeros((N, H))
        >>> Wx = rng.standard_normal((D, 4 * H))
        >>> Wh = rng.standard_normal((H, 4 * H))
        >>> b = np.zeros(4 * H)
        >>> h, cache = lstm_forward(x, h0, Wx, Wh, b)
        >>> dx, dh0, dWx, dWh, db = lstm_backward(np.ones_like(h), cache)
        >>> dx.shape, dh0.shape, dWx.shape, dWh.shape, db.shape
        ((2, 5, 3), (2, 4), (3, 16), (4, 16), (16,))
    """
    T, N, H = cache.tanh_cs.shape
    dh, cache = check_upstream("dh", dh, ("N", "T", "H"), shape=(N, T, H), cache=cache)
    x_tm, hs, cs, gates, tanh_cs, Wx, Wh = cache
    dh_tm = dh.transpose(1, 0, 2)  # (N, T, H) -> (T, N, H) view
    da = np.empty_like(gates)
    dnext_h = np.zeros((N, H), dtype=hs.dtype)  # gradient reaching h_t from step t + 1
    dnext_c = np.zeros((N, H), dtype=hs.dtype)  # gradient reaching c_t from step t + 1
    dh_total = np.empty((N, H), dtype=hs.dtype)  # from the layer above plus from step t + 1
    for t in reversed(range(T)):
        np.add(dh_tm[t], dnext_h, out=dh_total)
        dnext_c = _cell_backward(dh_total, dnext_c, gates[t], cs[t], tanh_cs[t], da[t])
        np.matmul(da[t], Wh.T, out=dnext_h)
    dx, dWx, dWh, db = _sequence_weight_grads(da, x_tm, hs[:-1], Wx)
    return dx, dnext_h, dWx, dWh, db


# ---------------------------------------------------------------------------------------------
# Word embedding, temporal affine, temporal softmax loss
# ---------------------------------------------------------------------------------------------


class WordEmbeddingCache(NamedTuple):
    x: np.ndarray  # (N, T) word indices
    W: np.ndarray  # (V, D)


def word_embedding_forward(x: np.ndarray, W: np.ndarray) -> tuple[np.ndarray, WordEmbeddingCache]:
    """Look up the vector of every word: ``out[n, t] = W[x[n, t]]``.

    Inputs:
    - x: (N, T) integer word indices in [0, V) (an array, or nested lists)
    - W: (V, D) word vectors

    Returns a tuple of:
    - out: (N, T, D) word vectors, W's dtype (float64 if W holds integers)
    - cache: what ``word_embedding_backward`` needs

    Example:
        >>> out, cache = word_embedding_forward(np.array([[0, 2]]), np.arange(6.0).reshape(3, 2))
        >>> out.tolist()
        [[[0.0, 1.0], [4.0, 5.0]]]
    """
    (W,) = float_arrays(W=W)
    check_float("W", W, ("V", "D"))
    x = check_int("x", int_array("x", x), ("N", "T"), upper=W.shape[0])
    return W[x], WordEmbeddingCache(x, W)


def word_embedding_backward(dout: np.ndarray, cache: WordEmbeddingCache) -> np.ndarray:
    """Backward pass of ``word_embedding_forward``; a word used k times gets k gradients summed.

    Inputs:
    - dout: (N, T, D) upstream gradient
    - cache: from ``word_embedding_forward``

    Returns dW: (V, D).

    Example:
        >>> out, cache = word_embedding_forward(np.array([[0, 0, 1]]), np.zeros((3, 2)))
        >>> word_embedding_backward(np.ones((1, 3, 2)), cache).tolist()  # 0 twice, 2 never
        [[2.0, 2.0], [1.0, 1.0], [0.0, 0.0]]
    """
    x, W = cache
    dout, (x, W) = check_upstream(
        "dout", dout, ("N", "T", "D"), shape=(*x.shape, W.shape[1]), cache=cache
    )
    dW = np.zeros_like(W)
    np.add.at(dW, x, dout)  # unbuffered: repeated indices accumulate
    return dW


class TemporalAffineCache(NamedTuple):
    x: np.ndarray  # (N, T, D)
    w: np.ndarray  # (D, M)


def temporal_affine_forward(
    x: np.ndarray, w: np.ndarray, b: np.ndarray
) -> tuple[np.ndarray, TemporalAffineCache]:
    """The same affine map at every time step: ``out[:, t] = x[:, t] @ w + b``.

    Inputs:
    - x: (N, T, D) inputs
    - w: (D, M) weights
    - b: (M,) biases

    Returns a tuple of:
    - out: (N, T, M)
    - cache: what ``temporal_affine_backward`` needs

    Example:
        >>> out, cache = temporal_affine_forward(np.ones((2, 5, 3)), np.ones((3, 4)), np.zeros(4))
        >>> out.shape, float(out[0, 0, 0])
        ((2, 5, 4), 3.0)
    """
    x, w, b = float_arrays(x=x, w=w, b=b)
    check_float("x", x, ("N", "T", "D"))
    N, T, D = x.shape
    check_float("w", w, ("D", "M"))
    M = w.shape[1]
    check_shape("w", w, ("D", "M"), expected=(D, M))
    check_float("b", b, ("M",), shape=(M,))
    out = (x.reshape(N * T, D) @ w).reshape(N, T, M)  # (N*T, D) @ (D, M) -> (N, T, M)
    out += b
    return out, TemporalAffineCache(x, w)


def temporal_affine_backward(
    dout: np.ndarray, cache: TemporalAffineCache
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Backward pass of ``temporal_affine_forward``.

    Inputs:
    - dout: (N, T, M) upstream gradient
    - cache: from ``temporal_affine_forward``

    Returns a tuple of:
    - dx: (N, T, D)
    - dw: (D, M)
    - db: (M,)

    Example:
        >>> out, cache = temporal_affine_forward(np.ones((2, 5, 3)), np.ones((3, 4)), np.zeros(4))
        >>> dx, dw, db = temporal_affine_backward(np.ones((2, 5, 4)), cache)
        >>> dx.shape, dw.shape, db.tolist()
        ((2, 5, 3), (3, 4), [10.0, 10.0, 10.0, 10.0])
    """
    N, T, D = cache.x.shape
    M = cache.w.shape[1]
    dout, (x, w) = check_upstream("dout", dout, ("N", "T", "M"), shape=(N, T, M), cache=cache)
    dout_flat = dout.reshape(N * T, M)  # (N, T, M) -> (N*T, M)
    dx = (dout_flat @ w.T).reshape(N, T, D)  # (N*T, M) @ (M, D) -> (N, T, D)
    dw = x.reshape(N * T, D).T @ dout_flat
    db = dout_flat.sum(axis=0)
    return dx, dw, db


temporal_fc_forward = temporal_affine_forward
temporal_fc_backward = temporal_affine_backward


def temporal_softmax_loss(
    x: np.ndarray, y: np.ndarray, mask: np.ndarray, verbose: bool = False
) -> tuple[np.floating, np.ndarray]:
    """Softmax cross-entropy at every time step, summed over time, averaged over the minibatch.

    ``loss = -(1/N) * sum_{n,t} mask[n, t] * log softmax(x[n, t])[y[n, t]]``. Positions where
    the mask is 0 (the padding after a caption ends) add no loss and get zero gradient.

    Inputs:
    - x: (N, T, V) scores over a vocabulary of V words
    - y: (N, T) integer targets in [0, V)
    - mask: (N, T) bool (or 0/1 numbers): which positions count
    - verbose: print the shape of the flattened gradient, as the CS231n function does

    Returns a tuple of:
    - loss: scalar of x's dtype
    - dx: (N, T, V) gradient of the loss with respect to x

    Example:
        >>> scores = np.zeros((2, 3, 4))  # uniform over 4 words: log 4 per counted position
        >>> mask = np.array([[1, 1, 1], [1, 1, 0]], dtype=bool)
        >>> loss, dx = temporal_softmax_loss(scores, np.zeros((2, 3), dtype=int), mask)
        >>> round(float(loss), 4), dx.shape  # (5 / 2) log 4
        (3.4657, (2, 3, 4))
    """
    (x,) = float_arrays(x=x)
    check_float("x", x, ("N", "T", "V"))
    N, T, V = x.shape
    y = check_int("y", int_array("y", y), ("N", "T"), upper=V)
    check_shape("y", y, ("N", "T"), expected=(N, T))
    mask = int_array("mask", mask)
    check_shape("mask", mask, ("N", "T"), expected=(N, T))
    if mask.dtype != np.bool_ and not np.isin(mask, (0, 1)).all():
        raise ValueError("mask: expected bool or 0/1 values")

    log_probs = log_softmax(x.reshape(N * T, V))  # (N, T, V) -> (N*T, V)
    rows = np.arange(N * T)
    targets = y.reshape(N * T)
    weights = mask.reshape(N * T).astype(x.dtype) / N  # 1/N for counted positions, else 0
    loss = -(weights * log_probs[rows, targets]).sum()
    dx = np.exp(log_probs)  # softmax probabilities
    dx[rows, targets] -= 1
    dx *= weights[:, None]
    if verbose:
        print("dx_flat: ", dx.shape)
    return x.dtype.type(loss), dx.reshape(N, T, V)  # (N*T, V) -> (N, T, V)
