"""First-order update rules with the CS231n convention ``rule(w, dw, config) -> (next_w, config)``.

``config`` is a dict of hyperparameters plus the rule's state (velocity, moments, step count); it
is created with the defaults when None, missing keys are filled in, and the updated dict is
returned so the caller can pass it back on the next step. The weights keep their dtype.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from dlclassics.numpy_nn.validation import check_float, check_same_dtype, check_shape

Config = dict[str, Any]


def _check_pair(w: np.ndarray, dw: np.ndarray) -> None:
    check_float("w", w, None)
    check_float("dw", dw, None)
    check_shape("dw", dw, tuple(f"d{k}" for k in range(w.ndim)), expected=w.shape)
    check_same_dtype("w", w, dw=dw)


def _config(config: Config | None, **defaults: Any) -> Config:
    """``config`` (a new dict when None) with its missing keys set to ``defaults``."""
    config = {} if config is None else config
    for key, value in defaults.items():
        config.setdefault(key, value)
    return config


def sgd(w: np.ndarray, dw: np.ndarray, config: Config | None = None) -> tuple[np.ndarray, Config]:
    """Vanilla SGD: ``next_w = w - learning_rate * dw``; w any shape, dw = dloss/dw of w's shape.

    Example:
        >>> w, dw = np.array([1.0, 2.0]), np.array([0.5, -1.0])
        >>> next_w, config = sgd(w, dw, {"learning_rate": 0.1})
        >>> next_w.tolist()
        [0.95, 2.1]
    """
    _check_pair(w, dw)
    config = _config(config, learning_rate=1e-2)
    return w - config["learning_rate"] * dw, config


def sgd_momentum(
    w: np.ndarray, dw: np.ndarray, config: Config | None = None
) -> tuple[np.ndarray, Config]:
    """SGD with momentum: ``v = momentum * v - learning_rate * dw``, ``next_w = w + v``.

    Example:
        >>> w, config = sgd_momentum(np.array([1.0]), np.array([1.0]))
        >>> w, config = sgd_momentum(w, np.array([1.0]), config)  # the velocity carries over
        >>> round(float(w[0]), 6), config["momentum"]
        (0.971, 0.9)
    """
    _check_pair(w, dw)
    config = _config(config, learning_rate=1e-2, momentum=0.9, velocity=np.zeros_like(w))
    config["velocity"] = config["momentum"] * config["velocity"] - config["learning_rate"] * dw
    return w + config["velocity"], config


def adam(w: np.ndarray, dw: np.ndarray, config: Config | None = None) -> tuple[np.ndarray, Config]:
    """Adam (Kingma & Ba, 2015) with bias-corrected first and second moments.

    ``m = beta1 m + (1 - beta1) dw``, ``v = beta2 v + (1 - beta2) dw^2``, ``t += 1``,
    ``next_w = w - learning_rate * (m / (1 - beta1^t)) / (sqrt(v / (1 - beta2^t)) + epsilon)``.

    Example:
        >>> w, config = adam(np.array([1.0, -1.0]), np.array([0.5, -2.0]))
        >>> np.round(w, 6).tolist(), config["t"]  # a first step moves each weight by learning_rate
        ([0.999, -0.999], 1)
    """
    _check_pair(w, dw)
    config = _config(config, learning_rate=1e-3, beta1=0.9, beta2=0.999, epsilon=1e-8)
    config = _config(config, m=np.zeros_like(w), v=np.zeros_like(w), t=0)
    beta1, beta2 = config["beta1"], config["beta2"]
    config["t"] += 1
    config["m"] = beta1 * config["m"] + (1 - beta1) * dw
    config["v"] = beta2 * config["v"] + (1 - beta2) * (dw * dw)
    m_hat = config["m"] / (1 - beta1 ** config["t"])
    v_hat = config["v"] / (1 - beta2 ** config["t"])
    next_w = w - config["learning_rate"] * m_hat / (np.sqrt(v_hat) + config["epsilon"])
    return next_w, config
