"""Update rules against hand computations; defaults filled in CS231n-style; dtypes kept."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pytest

from dlclassics.numpy_nn import optim


def test_sgd_step_and_default_learning_rate() -> None:
    w, dw = np.array([1.0, 2.0]), np.array([0.5, -1.0])
    next_w, config = optim.sgd(w, dw, {"learning_rate": 0.1})
    np.testing.assert_allclose(next_w, [0.95, 2.1])
    next_w, config = optim.sgd(w, dw)
    assert config == {"learning_rate": 1e-2}
    np.testing.assert_allclose(next_w, [0.995, 2.01])


def test_sgd_momentum_two_steps_by_hand() -> None:
    w = np.array([1.0, -1.0])
    dw1, dw2 = np.array([0.2, 0.4]), np.array([-0.1, 0.3])
    w1, config = optim.sgd_momentum(w, dw1, {"learning_rate": 0.5})
    assert config["momentum"] == 0.9
    # v1 = -0.5 dw1 = [-0.1, -0.2]; w1 = w + v1
    np.testing.assert_allclose(w1, [0.9, -1.2])
    w2, config = optim.sgd_momentum(w1, dw2, config)
    # v2 = 0.9 v1 - 0.5 dw2 = [-0.09 + 0.05, -0.18 - 0.15] = [-0.04, -0.33]
    np.testing.assert_allclose(config["velocity"], [-0.04, -0.33])
    np.testing.assert_allclose(w2, [0.86, -1.53])


def _adam_by_hand(w: float, grads: Sequence[float], lr: float) -> float:
    m = v = 0.0
    for t, g in enumerate(grads, start=1):
        m = 0.9 * m + 0.1 * g
        v = 0.999 * v + 0.001 * g * g
        m_hat, v_hat = m / (1 - 0.9**t), v / (1 - 0.999**t)
        w -= lr * m_hat / (math.sqrt(v_hat) + 1e-8)
    return w


def test_adam_three_steps_by_hand() -> None:
    grads = [[0.5, -2.0], [0.1, -1.0], [-0.3, 0.5]]
    w = np.array([1.0, -3.0])
    config = {"learning_rate": 0.01}
    for g in grads:
        w, config = optim.adam(w, np.array(g), config)
    assert config["t"] == 3
    assert (config["beta1"], config["beta2"], config["epsilon"]) == (0.9, 0.999, 1e-8)
    first, second = zip(*grads, strict=True)  # each weight's three gradients
    expected = [_adam_by_hand(1.0, first, 0.01), _adam_by_hand(-3.0, second, 0.01)]
    np.testing.assert_allclose(w, expected, rtol=1e-12)


def test_adam_first_step_moves_every_weight_by_the_learning_rate() -> None:
    w = np.array([0.0, 0.0, 0.0])
    next_w, _ = optim.adam(w, np.array([1e-3, -5.0, 200.0]))
    np.testing.assert_allclose(next_w, [-1e-3, 1e-3, -1e-3], rtol=1e-4)


@pytest.mark.parametrize("rule", [optim.sgd, optim.sgd_momentum, optim.adam])
def test_update_rules_keep_float32(rule) -> None:
    w = np.ones((3, 2), dtype=np.float32)
    dw = np.full((3, 2), 0.5, dtype=np.float32)
    config = None
    for _ in range(2):
        w, config = rule(w, dw, config)
    assert w.dtype == np.float32
    assert (w < 1).all()
