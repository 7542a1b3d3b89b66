"""Numerical gradients by centred differences, and the relative error used to compare them."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


def eval_numerical_gradient(
    f: Callable[[np.ndarray], float], x: np.ndarray, verbose: bool = False, h: float = 1e-5
) -> np.ndarray:
    """Gradient of a scalar function ``f`` at ``x`` (any shape): an array of x's shape with
    entries ``(f(x + h e_i) - f(x - h e_i)) / 2h``; ``verbose`` prints each (the CS231n argument).

    ``x`` is perturbed in place one entry at a time and restored afterwards, so ``f`` must read
    the array it closes over (CS231n convention).

    Example:
        >>> x = np.array([1.0, 2.0])
        >>> np.round(eval_numerical_gradient(lambda v: float(np.sum(v**2)), x), 6).tolist()
        [2.0, 4.0]
    """
    grad = np.zeros_like(x)
    for index in np.ndindex(x.shape):
        original = x[index]
        x[index] = original + h
        f_plus = f(x)
        x[index] = original - h
        f_minus = f(x)
        x[index] = original
        grad[index] = (f_plus - f_minus) / (2 * h)
        if verbose:
            print(index, grad[index])
    return grad


def eval_numerical_gradient_array(
    f: Callable[[np.ndarray], np.ndarray], x: np.ndarray, df: np.ndarray, h: float = 1e-5
) -> np.ndarray:
    """Gradient of ``sum(f(x) * df)`` at ``x``, an array of x's shape: the backward pass of an
    array function ``f`` with upstream gradient ``df`` of f(x)'s shape (``x`` is perturbed in
    place and restored, as above).

    Example:
        >>> x = np.array([1.0, 2.0])
        >>> np.round(eval_numerical_gradient_array(lambda v: v**2, x, np.ones(2)), 6).tolist()
        [2.0, 4.0]
    """
    grad = np.zeros_like(x)
    for index in np.ndindex(x.shape):
        original = x[index]
        x[index] = original + h
        out_plus = f(x).copy()
        x[index] = original - h
        out_minus = f(x).copy()
        x[index] = original
        grad[index] = np.sum((out_plus - out_minus) * df) / (2 * h)
    return grad


def rel_error(x: np.ndarray, y: np.ndarray) -> float:
    """Largest elementwise relative error ``|x - y| / max(1e-8, |x| + |y|)`` of two arrays of one
    shape; ~1e-7 or less means the gradients agree.

    Example:
        >>> round(rel_error(np.array([1.0, 0.0]), np.array([1.1, 0.0])), 4)
        0.0476
    """
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    return float(np.max(np.abs(x - y) / np.maximum(1e-8, np.abs(x) + np.abs(y))))


def norm_rel_error(x: np.ndarray, y: np.ndarray) -> float:
    """Normwise relative error ``||x - y|| / max(1e-300, ||x|| + ||y||)`` of two arrays of one
    shape, in [0, 1]. Unlike ``rel_error`` it is not dominated by nearly-zero entries, where a
    centred difference returns mostly rounding noise; ``dlc gradcheck`` gates on it.

    Example:
        >>> norm_rel_error(np.array([3.0, 0.0]), np.array([0.0, 4.0]))
        0.7142857142857143
    """
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    scale = np.linalg.norm(x) + np.linalg.norm(y)
    return float(np.linalg.norm(x - y) / max(1e-300, scale))
