"""Fully connected (affine) layer, CS231n style: ``*_forward -> (out, cache)``.

Also importable from ``rnn_layers``, where CS231n's assignment 3 defines it. Arguments may be lists
or mixed float32/float64/integer arrays, promoted as NumPy would (see ``validation``).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from dlclassics.numpy_nn.validation import check_float, check_shape, check_upstream, float_arrays


class AffineCache(NamedTuple):
    x: np.ndarray  # (N, d_1, ..., d_k), as given
    w: np.ndarray  # (D, M)


def affine_forward(x: np.ndarray, w: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, AffineCache]:
    """Affine map ``out = x.reshape(N, D) @ w + b``.

    Inputs:
    - x: (N, d_1, ..., d_k) minibatch; each example is flattened to D = d_1 * ... * d_k values
    - w: (D, M) weights
    - b: (M,) biases

    Returns a tuple of:
    - out: (N, M)
    - cache: what ``affine_backward`` needs

    Example:
        >>> out, cache = affine_forward(np.ones((2, 3, 4)), np.ones((12, 5)), np.zeros(5))
        >>> out.shape, float(out[0, 0])
        ((2, 5), 12.0)
    """
    x, w, b = float_arrays(x=x, w=w, b=b)
    if x.ndim < 1:
        raise ValueError("x: expected shape (N, d_1, ..., d_k), got a 0-D array")
    N = x.shape[0]
    D = math.prod(x.shape[1:])
    check_float("w", w, ("D", "M"))
    M = w.shape[1]
    check_shape("w", w, ("D", "M"), expected=(D, M))
    check_float("b", b, ("M",), shape=(M,))

    out = x.reshape(N, D) @ w + b  # (N, D) @ (D, M) -> (N, M)
    return out, AffineCache(x, w)


def affine_backward(
    dout: np.ndarray, cache: AffineCache
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Backward pass of ``affine_forward``.

    Inputs:
    - dout: (N, M) upstream gradient
    - cache: from ``affine_forward``

    Returns a tuple of:
    - dx: (N, d_1, ..., d_k), gradient with respect to x
    - dw: (D, M)
    - db: (M,)

    Example:
        >>> out, cache = affine_forward(np.ones((2, 3, 4)), np.ones((12, 5)), np.zeros(5))
        >>> dx, dw, db = affine_backward(np.ones((2, 5)), cache)
        >>> dx.shape, dw.shape, db.tolist()
        ((2, 3, 4), (12, 5), [2.0, 2.0, 2.0, 2.0, 2.0])
    """
    N = cache.x.shape[0]
    D, M = cache.w.shape
    dout, (x, w) = check_upstream("dout", dout, ("N", "M"), shape=(N, M), cache=cache)

    dx = (dout @ w.T).reshape(x.shape)  # (N, M) @ (M, D) -> (N, D) -> (N, d_1, ..., d_k)
    dw = x.reshape(N, D).T @ dout
    db = dout.sum(axis=0)
    return dx, dw, db
