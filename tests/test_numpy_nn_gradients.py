"""Every NumPy layer's analytic gradients agree with centred differences; dtypes are kept."""

from __future__ import annotations

import numpy as np
import pytest

from dlclassics.numpy_nn import gradchecks, rnn_layers
from dlclassics.numpy_nn.gradient_check import (
    eval_numerical_gradient,
    eval_numerical_gradient_array,
    norm_rel_error,
    rel_error,
)


@pytest.mark.parametrize(
    "shapes",
    [
        gradchecks.GradcheckShapes(),
        gradchecks.GradcheckShapes(N=1, T=1),
        gradchecks.GradcheckShapes(N=1, T=7, D=2, H=3),
        gradchecks.GradcheckShapes(N=5, T=1, D=3, H=2, V=3, M=2),
    ],
    ids=["default", "N1-T1", "N1-T7", "N5-T1"],
)
@pytest.mark.parametrize("seed", [0, 1])
def test_every_layer_passes_its_numerical_gradient_check(
    shapes: gradchecks.GradcheckShapes, seed: int
) -> None:
    rows = gradchecks.run_gradchecks(seed, shapes)
    covered = {(row["layer"], row["gradient"]) for row in rows}
    assert len(covered) == len(rows) == 57
    assert {"lstm_step", "lstm", "rnn_step", "rnn", "temporal_softmax_loss"} <= {
        layer for layer, _ in covered
    }
    assert {"attention", "attention_lstm_step", "attention_lstm"} <= {name for name, _ in covered}
    failed = [row for row in rows if not row["passed"]]
    assert not failed, failed


def test_gradcheck_catches_a_wrong_gradient(monkeypatch: pytest.MonkeyPatch) -> None:
    """A backward pass that is off by 1 % in one gradient fails exactly that row."""
    real_backward = rnn_layers.lstm_backward

    def wrong_dWh(dh, cache):
        dx, dh0, dWx, dWh, db = real_backward(dh, cache)
        return dx, dh0, dWx, 1.01 * dWh, db

    monkeypatch.setattr(rnn_layers, "lstm_backward", wrong_dWh)
    rows = gradchecks.run_gradchecks(seed=0)
    failed = [(row["layer"], row["gradient"]) for row in rows if not row["passed"]]
    assert failed == [("lstm", "dWh")]


def test_centred_difference_matches_a_known_derivative() -> None:
    x = np.array([0.3, -1.2, 2.0])
    grad = eval_numerical_gradient(lambda v: float(np.sum(np.sin(v) * v)), x)
    np.testing.assert_allclose(grad, np.cos(x) * x + np.sin(x), rtol=1e-9)
    np.testing.assert_array_equal(x, [0.3, -1.2, 2.0])  # restored after perturbing


def test_numerical_gradient_of_an_array_function() -> None:
    x = np.array([[1.0, 2.0], [3.0, -4.0]])
    df = np.array([[0.5, -1.0], [2.0, 1.0]])
    grad = eval_numerical_gradient_array(lambda v: v**3, x, df)
    np.testing.assert_allclose(grad, 3 * x**2 * df, rtol=1e-8)


def test_relative_errors() -> None:
    assert rel_error(np.array([1.0, 2.0]), np.array([1.0, 2.0])) == 0
    assert rel_error(np.array([1.0, 0.0]), np.array([1.1, 0.0])) == pytest.approx(0.1 / 2.1)
    assert norm_rel_error(np.array([3.0, 0.0]), np.array([0.0, 4.0])) == pytest.approx(5 / 7)


def _lstm_inputs(dtype: type, N: int = 2, T: int = 3, D: int = 4, H: int = 5) -> list:
    rng = np.random.default_rng(0)
    return [
        rng.standard_normal((N, T, D)).astype(dtype),
        rng.standard_normal((N, H)).astype(dtype),
        (0.3 * rng.standard_normal((D, 4 * H))).astype(dtype),
        (0.3 * rng.standard_normal((H, 4 * H))).astype(dtype),
        (0.3 * rng.standard_normal(4 * H)).astype(dtype),
    ]


SEQUENCE_LAYERS = [
    pytest.param(rnn_layers.rnn_forward, rnn_layers.rnn_backward, id="rnn"),
    pytest.param(rnn_layers.lstm_forward, rnn_layers.lstm_backward, id="lstm"),
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(("forward", "backward"), SEQUENCE_LAYERS)
def test_sequence_layers_keep_the_input_dtype(forward, backward, dtype: type) -> None:
    x, h0, Wx, Wh, b = _lstm_inputs(dtype)
    if forward is rnn_layers.rnn_forward:  # one gate: the first H columns of the LSTM's weights
        Wx, Wh, b = Wx[:, :5], Wh[:, :5], b[:5]
    h, cache = forward(x, h0, Wx, Wh, b)
    grads = backward(np.ones_like(h), cache)
    assert h.dtype == dtype and h.flags.c_contiguous
    assert [g.dtype for g in grads] == [dtype] * 5
    assert [g.shape for g in grads] == [x.shape, h0.shape, Wx.shape, Wh.shape, b.shape]


def test_float32_lstm_agrees_with_float64() -> None:
    h32, cache32 = rnn_layers.lstm_forward(*_lstm_inputs(np.float32))
    h64, cache64 = rnn_layers.lstm_forward(*_lstm_inputs(np.float64))
    np.testing.assert_allclose(h32, h64, rtol=1e-5, atol=1e-6)
    dh = np.random.default_rng(1).standard_normal(h64.shape)
    for g32, g64 in zip(
        rnn_layers.lstm_backward(dh.astype(np.float32), cache32),
        rnn_layers.lstm_backward(dh, cache64),
        strict=True,
    ):
        np.testing.assert_allclose(g32, g64, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sigmoid_and_softmax_are_stable_for_extreme_scores(dtype: type) -> None:
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        x = np.array([[[1000.0, -1000.0, 0.0]]], dtype=dtype)
        loss, dx = rnn_layers.temporal_softmax_loss(x, np.array([[1]]), np.ones((1, 1), bool))
        assert np.isfinite(loss) and loss == pytest.approx(2000.0)
        np.testing.assert_allclose(dx, [[[1.0, -1.0, 0.0]]], atol=1e-6)
        prev_h = np.zeros((1, 1), dtype)
        Wx = np.zeros((1, 4), dtype)
        b = np.array([-1000.0, 1000.0, 1000.0, 1000.0], dtype)  # saturated gates
        next_h, next_c, _ = rnn_layers.lstm_step_forward(
            np.zeros((1, 1), dtype), prev_h, np.ones((1, 1), dtype), Wx, np.zeros((1, 4), dtype), b
        )
        assert next_c.dtype == dtype
        np.testing.assert_allclose(next_c, [[1.0]])  # f = 1 keeps c, i = 0 adds nothing
        np.testing.assert_allclose(next_h, [[np.tanh(1.0)]], rtol=1e-6)


def test_word_embedding_accumulates_repeated_words() -> None:
    W = np.arange(6, dtype=np.float32).reshape(3, 2)
    x = np.array([[0, 2, 0]])
    out, cache = rnn_layers.word_embedding_forward(x, W)
    np.testing.assert_array_equal(out, [[[0, 1], [4, 5], [0, 1]]])
    dW = rnn_layers.word_embedding_backward(np.ones((1, 3, 2), np.float32), cache)
    np.testing.assert_array_equal(dW, [[2, 2], [0, 0], [1, 1]])
    assert dW.dtype == np.float32
