"""Wrong shapes fail with a ValueError naming the argument and the shapes seen; so do wrong
dtypes in strict mode (``validation.strict_dtypes``; the default mode promotes dtypes as NumPy
and the CS231n code do, see tests/test_cs231n_notebooks.py)."""

from __future__ import annotations

import re

import numpy as np
import pytest

from dlclassics.numpy_nn import layers, optim, rnn_layers
from dlclassics.numpy_nn.validation import strict_dtypes

N, T, D, H, V = 2, 3, 4, 5, 6


def _arrays(gates: int, dtype: type = np.float64) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    return {
        "x": rng.standard_normal((N, T, D)).astype(dtype),
        "h0": rng.standard_normal((N, H)).astype(dtype),
        "Wx": rng.standard_normal((D, gates * H)).astype(dtype),
        "Wh": rng.standard_normal((H, gates * H)).astype(dtype),
        "b": rng.standard_normal(gates * H).astype(dtype),
    }


def _raises(message: str):
    return pytest.raises(ValueError, match="^" + re.escape(message) + "$")


def test_rnn_step_names_the_wrong_weight_and_both_shapes() -> None:
    a = _arrays(gates=1)
    with _raises("Wh: expected shape (H, H) = (5, 5), got (5, 4)"):
        rnn_layers.rnn_step_forward(a["x"][:, 0], a["h0"], a["Wx"], a["Wh"][:, :4], a["b"])


@pytest.mark.parametrize(
    ("name", "bad", "message"),
    [
        ("b", np.zeros(19), "b: expected shape (4H,) = (20,), got (19,)"),
        ("Wx", np.zeros((3, 20)), "Wx: expected shape (D, 4H) = (4, 20), got (3, 20)"),
        ("Wh", np.zeros((5, 5)), "Wh: expected shape (H, 4H) = (5, 20), got (5, 5)"),
        ("h0", np.zeros((3, 5)), "h0: expected shape (N, H) = (2, 5), got (3, 5)"),
        ("x", np.zeros((N, D)), "x: expected a 3-D array of shape (N, T, D), got shape (2, 4)"),
    ],
)
def test_lstm_forward_rejects_bad_arguments(name: str, bad: object, message: str) -> None:
    a = _arrays(gates=4)
    a[name] = bad
    with _raises(message):
        rnn_layers.lstm_forward(**a)


# Before issue 15 these were errors in every mode; now only in strict mode (the default promotes).
@pytest.mark.parametrize(
    ("name", "bad", "message"),
    [
        (
            "x",
            np.zeros((N, T, D), dtype=np.int64),
            "x: expected a float32 or float64 array, got dtype int64",
        ),
        ("Wx", [[0.0] * 20] * 4, "Wx: expected a numpy array, got list"),
        (
            "Wx",
            np.zeros((D, 20), dtype=np.float32),
            "Wx: dtype float32 differs from x's float64; pass every float array in one dtype "
            "(float32 or float64)",
        ),
    ],
)
def test_strict_lstm_forward_rejects_bad_dtypes(name: str, bad: object, message: str) -> None:
    a = _arrays(gates=4)
    a[name] = bad
    with strict_dtypes(), _raises(message):
        rnn_layers.lstm_forward(**a)
    rnn_layers.lstm_forward(**a)  # the default mode promotes instead


def test_lstm_step_checks_the_cell_state() -> None:
    a = _arrays(gates=4)
    with _raises("prev_c: expected shape (N, H) = (2, 5), got (2, 4)"):
        rnn_layers.lstm_step_forward(
            a["x"][:, 0], a["h0"], np.zeros((N, 4)), a["Wx"], a["Wh"], a["b"]
        )


@pytest.mark.parametrize(
    ("gates", "forward", "backward"),
    [
        pytest.param(1, rnn_layers.rnn_forward, rnn_layers.rnn_backward, id="rnn"),
        pytest.param(4, rnn_layers.lstm_forward, rnn_layers.lstm_backward, id="lstm"),
    ],
)
def test_backward_checks_the_upstream_gradient(gates: int, forward, backward) -> None:
    a = _arrays(gates=gates)
    _, cache = forward(**a)
    with _raises("dh: expected shape (N, T, H) = (2, 3, 5), got (2, 3, 4)"):
        backward(np.zeros((N, T, 4)), cache)
    message = (
        "dh: dtype float32 differs from the forward input's float64; pass every float "
        "array in one dtype (float32 or float64)"
    )
    with strict_dtypes(), _raises(message):  # strict mode only since issue 15; default promotes
        backward(np.zeros((N, T, H), dtype=np.float32), cache)


def test_rnn_step_backward_checks_dnext_h() -> None:
    a = _arrays(gates=1)
    _, cache = rnn_layers.rnn_step_forward(a["x"][:, 0], a["h0"], a["Wx"], a["Wh"], a["b"])
    with _raises("dnext_h: expected shape (N, H) = (2, 5), got (5, 2)"):
        rnn_layers.rnn_step_backward(np.zeros((H, N)), cache)


def test_word_embedding_rejects_out_of_range_and_float_indices() -> None:
    W = np.zeros((V, D))
    with _raises("x: indices must lie in [0, 6), got values from 0 to 6"):
        rnn_layers.word_embedding_forward(np.array([[0, 6]]), W)
    with _raises("x: indices must lie in [0, 6), got values from -1 to 2"):
        rnn_layers.word_embedding_forward(np.array([[-1, 2]]), W)
    with _raises("x: expected an integer array of indices, got dtype float64"):
        rnn_layers.word_embedding_forward(np.array([[0.0, 1.0]]), W)


def test_temporal_affine_names_the_mismatch() -> None:
    with _raises("w: expected shape (D, M) = (4, 7), got (3, 7)"):
        rnn_layers.temporal_affine_forward(np.zeros((N, T, D)), np.zeros((3, 7)), np.zeros(7))
    with _raises("b: expected shape (M,) = (7,), got (6,)"):
        rnn_layers.temporal_affine_forward(np.zeros((N, T, D)), np.zeros((D, 7)), np.zeros(6))


def test_temporal_softmax_loss_checks_targets_and_mask() -> None:
    x = np.zeros((N, T, V))
    y = np.zeros((N, T), dtype=np.int64)
    with _raises("y: expected shape (N, T) = (2, 3), got (3, 2)"):
        rnn_layers.temporal_softmax_loss(x, np.zeros((T, N), dtype=np.int64), np.ones((N, T)))
    with _raises("mask: expected shape (N, T) = (2, 3), got (2, 2)"):
        rnn_layers.temporal_softmax_loss(x, y, np.ones((N, 2), dtype=bool))
    with _raises("mask: expected bool or 0/1 values"):
        rnn_layers.temporal_softmax_loss(x, y, np.full((N, T), 0.5))
    with _raises("y: indices must lie in [0, 6), got values from 9 to 9"):
        rnn_layers.temporal_softmax_loss(x, np.full((N, T), 9), np.ones((N, T)))


def test_affine_checks_the_flattened_size() -> None:
    with _raises("w: expected shape (D, M) = (12, 5), got (10, 5)"):
        layers.affine_forward(np.zeros((2, 3, 4)), np.zeros((10, 5)), np.zeros(5))


def test_optimizers_check_the_gradient_shape() -> None:
    with _raises("dw: expected shape (d0, d1) = (2, 3), got (3, 2)"):
        optim.adam(np.zeros((2, 3)), np.zeros((3, 2)))
