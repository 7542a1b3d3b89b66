"""Numerically stable logistic sigmoid and log-softmax, in the dtype of their input."""

from __future__ import annotations

import numpy as np


def sigmoid(x: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """Logistic function ``1 / (1 + exp(-x))``, elementwise.

    Computed as ``0.5 * (1 + tanh(x / 2))``, an identity that never overflows (``exp(-x)`` does
    for large negative x) and needs no branch on the sign of x.

    Inputs:
    - x: array of any shape, float32 or float64
    - out: optional array of x's shape to write into (may be x itself)

    Returns an array of x's shape and dtype with values in [0, 1].

    Example:
        >>> sigmoid(np.array([-1000.0, 0.0, 1000.0]))  # no overflow warning
        array([0. , 0.5, 1. ])
    """
    out = np.multiply(x, 0.5, out=out)
    np.tanh(out, out=out)
    out += 1
    out *= 0.5
    return out


def log_softmax(scores: np.ndarray) -> np.ndarray:
    """Log-probabilities of a softmax over the last axis.

    The row maximum is subtracted before exponentiating, so large scores cannot overflow.

    Inputs:
    - scores: array of shape (..., C)

    Returns an array of shape (..., C) whose ``exp`` sums to 1 over the last axis.

    Example:
        >>> log_softmax(np.array([[0.0, 0.0], [1000.0, 0.0]])).round(4).tolist()  # no overflow
        [[-0.6931, -0.6931], [0.0, -1000.0]]
    """
    shifted = scores - scores.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))
