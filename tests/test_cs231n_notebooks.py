"""The check cells of CS231n assignment 3 (RNN_Captioning.ipynb, LSTM_Captioning.ipynb), run
unchanged against ``dlclassics.numpy_nn`` and ``dlclassics.captioning.model`` (issue 15).

Source of every constant: the Spring 2022 notebooks as published in the public repository
``AnirudhM1/CS231n-2022-Solutions``, commit 1308eeedf663a295700b2819b880a51775e9a478 (2022-06-30),
files ``assignment3/RNN_Captioning.ipynb`` and ``assignment3/LSTM_Captioning.ipynb``; the cell
sources (inputs, expected arrays, expected losses) are the course's own and identical in
``Chants77/CS231n-2022Spring`` (commit 45a0dccd5bc92e14299a2871f9a232550b32a9ff). "Cell n" below
is the index in the notebook's ``cells`` list. The weight initialisation that ``seed=None``
reproduces is ``assignment3/cs231n/classifiers/rnn.py`` of the first repository, same commit.

Every check cell is transcribed with the notebook's exact inputs and calls; only the ``print``
lines become assertions:

- forward cells print expected arrays to 8 decimals: the output must round to every printed
  decimal (|out - expected| <= 5e-9) and the notebook's ``rel_error`` must be within the order the
  notebook asks for;
- gradient cells: the notebook says "errors on the order of e-k or less"; the assertion is
  ``rel_error < 10 ** (1 - k)`` (of the order e-k), the published output's own errors
  (noted per test) being of that order too;
- the two CaptioningRNN losses to 3e-12 (the published runs differ by 2.6e-12 and 2.3e-12);
- the temporal softmax sanity losses to the printed digits, the notebook's RNG state being that
  left by the cells before (replayed here).

The numerical gradients are this package's ``eval_numerical_gradient(_array)``, which compute
what CS231n's ``gradient_check.py`` computes (same centred differences, same order).
"""

# The cells assign lambdas and unpack values they never use; they are transcribed as they are.
# ruff: noqa: E731, F841, RUF059

from __future__ import annotations

import ast

import numpy as np
import pytest

from dlclassics.captioning.model import CaptioningRNN
from dlclassics.numpy_nn import layers
from dlclassics.numpy_nn.gradient_check import (
    eval_numerical_gradient,
    eval_numerical_gradient_array,
    norm_rel_error,
)
from dlclassics.numpy_nn.rnn_layers import (
    affine_backward,
    affine_forward,
    lstm_backward,
    lstm_forward,
    lstm_step_backward,
    lstm_step_forward,
    rnn_backward,
    rnn_forward,
    rnn_step_backward,
    rnn_step_forward,
    temporal_affine_backward,
    temporal_affine_forward,
    temporal_softmax_loss,
    word_embedding_backward,
    word_embedding_forward,
)
from dlclassics.numpy_nn.validation import strict_dtypes

SOURCE = "AnirudhM1/CS231n-2022-Solutions@1308eeedf663a295700b2819b880a51775e9a478"
PRINTED = 5e-9 * (1 + 1e-9)  # half a unit of the 8th printed decimal


def rel_error(x, y):
    """returns relative error (the notebooks' setup cell, cell 2, verbatim)"""
    return np.max(np.abs(x - y) / (np.maximum(1e-8, np.abs(x) + np.abs(y))))


def published(text: str) -> np.ndarray:
    """An expected array as the notebook's cell writes it: a nested list literal, laid out as
    printed (kept as text so that the formatter leaves the layout alone)."""
    return np.asarray(ast.literal_eval(text.strip()))


def assert_printed(out: np.ndarray, expected: np.ndarray) -> None:
    """``out`` rounds to every decimal the notebook prints (8)."""
    assert out.shape == expected.shape
    assert np.abs(out - expected).max() <= PRINTED


# =============================================================================================
# RNN_Captioning.ipynb (SOURCE, assignment3/RNN_Captioning.ipynb)
# =============================================================================================


def test_rnn_notebook_cell_9_rnn_step_forward() -> None:
    """Cell 9, "Vanilla RNN: step forward": errors of order e-8 (published 6.29e-09)."""
    N, D, H = 3, 10, 4

    x = np.linspace(-0.4, 0.7, num=N * D).reshape(N, D)
    prev_h = np.linspace(-0.2, 0.5, num=N * H).reshape(N, H)
    Wx = np.linspace(-0.1, 0.9, num=D * H).reshape(D, H)
    Wh = np.linspace(-0.3, 0.7, num=H * H).reshape(H, H)
    b = np.linspace(-0.2, 0.4, num=H)

    next_h, _ = rnn_step_forward(x, prev_h, Wx, Wh, b)
    expected_next_h = published(
        """
        [[-0.58172089, -0.50182032, -0.41232771, -0.31410098],
         [ 0.66854692,  0.79562378,  0.87755553,  0.92795967],
         [ 0.97934501,  0.99144213,  0.99646691,  0.99854353]]
        """
    )

    assert rel_error(expected_next_h, next_h) < 1e-8
    assert_printed(next_h, expected_next_h)


def test_rnn_notebook_cell_11_rnn_step_backward() -> None:
    """Cell 11, "Vanilla RNN: step backward": order e-8 (published 2.5e-10 ... 1.2e-09)."""
    np.random.seed(231)
    N, D, H = 4, 5, 6
    x = np.random.randn(N, D)
    h = np.random.randn(N, H)
    Wx = np.random.randn(D, H)
    Wh = np.random.randn(H, H)
    b = np.random.randn(H)

    out, cache = rnn_step_forward(x, h, Wx, Wh, b)

    dnext_h = np.random.randn(*out.shape)

    fx = lambda x: rnn_step_forward(x, h, Wx, Wh, b)[0]
    fh = lambda prev_h: rnn_step_forward(x, h, Wx, Wh, b)[0]
    fWx = lambda Wx: rnn_step_forward(x, h, Wx, Wh, b)[0]
    fWh = lambda Wh: rnn_step_forward(x, h, Wx, Wh, b)[0]
    fb = lambda b: rnn_step_forward(x, h, Wx, Wh, b)[0]

    dx_num = eval_numerical_gradient_array(fx, x, dnext_h)
    dprev_h_num = eval_numerical_gradient_array(fh, h, dnext_h)
    dWx_num = eval_numerical_gradient_array(fWx, Wx, dnext_h)
    dWh_num = eval_numerical_gradient_array(fWh, Wh, dnext_h)
    db_num = eval_numerical_gradient_array(fb, b, dnext_h)

    dx, dprev_h, dWx, dWh, db = rnn_step_backward(dnext_h, cache)

    assert rel_error(dx_num, dx) < 1e-7
    assert rel_error(dprev_h_num, dprev_h) < 1e-7
    assert rel_error(dWx_num, dWx) < 1e-7
    assert rel_error(dWh_num, dWh) < 1e-7
    assert rel_error(db_num, db) < 1e-7


def test_rnn_notebook_cell_13_rnn_forward() -> None:
    """Cell 13, "Vanilla RNN: forward": order e-7 (published 7.73e-08)."""
    N, T, D, H = 2, 3, 4, 5

    x = np.linspace(-0.1, 0.3, num=N * T * D).reshape(N, T, D)
    h0 = np.linspace(-0.3, 0.1, num=N * H).reshape(N, H)
    Wx = np.linspace(-0.2, 0.4, num=D * H).reshape(D, H)
    Wh = np.linspace(-0.4, 0.1, num=H * H).reshape(H, H)
    b = np.linspace(-0.7, 0.1, num=H)

    h, _ = rnn_forward(x, h0, Wx, Wh, b)
    expected_h = published(
        """
        [[[-0.42070749, -0.27279261, -0.11074945,  0.05740409,  0.22236251],
          [-0.39525808, -0.22554661, -0.0409454,   0.14649412,  0.32397316],
          [-0.42305111, -0.24223728, -0.04287027,  0.15997045,  0.35014525]],
         [[-0.55857474, -0.39065825, -0.19198182,  0.02378408,  0.23735671],
          [-0.27150199, -0.07088804,  0.13562939,  0.33099728,  0.50158768],
          [-0.51014825, -0.30524429, -0.06755202,  0.17806392,  0.40333043]]]
        """
    )

    assert rel_error(expected_h, h) < 1e-6
    assert_printed(h, expected_h)


def test_rnn_notebook_cell_15_rnn_backward() -> None:
    """Cell 15, "Vanilla RNN: backward": order e-6 (published 3.4e-10 ... 1.3e-07)."""
    np.random.seed(231)

    N, D, T, H = 2, 3, 10, 5

    x = np.random.randn(N, T, D)
    h0 = np.random.randn(N, H)
    Wx = np.random.randn(D, H)
    Wh = np.random.randn(H, H)
    b = np.random.randn(H)

    out, cache = rnn_forward(x, h0, Wx, Wh, b)

    dout = np.random.randn(*out.shape)

    dx, dh0, dWx, dWh, db = rnn_backward(dout, cache)

    fx = lambda x: rnn_forward(x, h0, Wx, Wh, b)[0]
    fh0 = lambda h0: rnn_forward(x, h0, Wx, Wh, b)[0]
    fWx = lambda Wx: rnn_forward(x, h0, Wx, Wh, b)[0]
    fWh = lambda Wh: rnn_forward(x, h0, Wx, Wh, b)[0]
    fb = lambda b: rnn_forward(x, h0, Wx, Wh, b)[0]

    dx_num = eval_numerical_gradient_array(fx, x, dout)
    dh0_num = eval_numerical_gradient_array(fh0, h0, dout)
    dWx_num = eval_numerical_gradient_array(fWx, Wx, dout)
    dWh_num = eval_numerical_gradient_array(fWh, Wh, dout)
    db_num = eval_numerical_gradient_array(fb, b, dout)

    assert rel_error(dx_num, dx) < 1e-5
    assert rel_error(dh0_num, dh0) < 1e-5
    assert rel_error(dWx_num, dWx) < 1e-5
    assert rel_error(dWh_num, dWh) < 1e-5
    assert rel_error(db_num, db) < 1e-5


def test_rnn_notebook_cell_17_word_embedding_forward() -> None:
    """Cell 17, "Word embedding: forward": order e-8 (published 1.0000000094736443e-08)."""
    N, T, V, D = 2, 4, 5, 3

    x = np.asarray([[0, 3, 1, 2], [2, 1, 0, 3]])
    W = np.linspace(0, 1, num=V * D).reshape(V, D)

    out, _ = word_embedding_forward(x, W)
    expected_out = published(
        """
        [[[ 0.,          0.07142857,  0.14285714],
          [ 0.64285714,  0.71428571,  0.78571429],
          [ 0.21428571,  0.28571429,  0.35714286],
          [ 0.42857143,  0.5,         0.57142857]],
         [[ 0.42857143,  0.5,         0.57142857],
          [ 0.21428571,  0.28571429,  0.35714286],
          [ 0.,          0.07142857,  0.14285714],
          [ 0.64285714,  0.71428571,  0.78571429]]]
        """
    )

    assert rel_error(expected_out, out) < 1e-7
    assert_printed(out, expected_out)


def test_rnn_notebook_cell_19_word_embedding_backward() -> None:
    """Cell 19, "Word embedding: backward": order e-11 (published 3.28e-12)."""
    np.random.seed(231)

    N, T, V, D = 50, 3, 5, 6
    x = np.random.randint(V, size=(N, T))
    W = np.random.randn(V, D)

    out, cache = word_embedding_forward(x, W)
    dout = np.random.randn(*out.shape)
    dW = word_embedding_backward(dout, cache)

    f = lambda W: word_embedding_forward(x, W)[0]
    dW_num = eval_numerical_gradient_array(f, W, dout)

    assert rel_error(dW, dW_num) < 1e-10


def _rnn_notebook_cell_21() -> tuple[float, float, float]:
    """Cell 21 verbatim; returns its three printed errors (dx, dw, db)."""
    np.random.seed(231)

    # Gradient check for temporal affine layer
    N, T, D, M = 2, 3, 4, 5
    x = np.random.randn(N, T, D)
    w = np.random.randn(D, M)
    b = np.random.randn(M)

    out, cache = temporal_affine_forward(x, w, b)

    dout = np.random.randn(*out.shape)

    fx = lambda x: temporal_affine_forward(x, w, b)[0]
    fw = lambda w: temporal_affine_forward(x, w, b)[0]
    fb = lambda b: temporal_affine_forward(x, w, b)[0]

    dx_num = eval_numerical_gradient_array(fx, x, dout)
    dw_num = eval_numerical_gradient_array(fw, w, dout)
    db_num = eval_numerical_gradient_array(fb, b, dout)

    dx, dw, db = temporal_affine_backward(dout, cache)

    return rel_error(dx_num, dx), rel_error(dw_num, dw), rel_error(db_num, db)


def test_rnn_notebook_cell_21_temporal_affine() -> None:
    """Cell 21, "Temporal affine layer": order e-9 (published 3.3e-11 ... 2.9e-10)."""
    dx_error, dw_error, db_error = _rnn_notebook_cell_21()
    assert dx_error < 1e-8
    assert dw_error < 1e-8
    assert db_error < 1e-8


def test_rnn_notebook_cell_23_temporal_softmax_loss(capsys: pytest.CaptureFixture) -> None:
    """Cell 23, "Temporal softmax loss": the three sanity losses and the gradient check
    (``verbose=False`` passed, as the cell does).

    The cell draws from NumPy's global generator without seeding it: its published losses
    2.3027781774290146, 23.025985953127226 and 2.2643611790293394 come from the state cell 21
    left, so cell 21 runs first, as in the notebook. dx: order e-7 (published 2.58e-08).
    """
    _rnn_notebook_cell_21()

    # Sanity check for temporal softmax loss
    N, T, V = 100, 1, 10

    def check_loss(N, T, V, p):
        x = 0.001 * np.random.randn(N, T, V)
        y = np.random.randint(V, size=(N, T))
        mask = np.random.rand(N, T) <= p
        print(temporal_softmax_loss(x, y, mask)[0])

    check_loss(100, 1, 10, 1.0)  # Should be about 2.3
    check_loss(100, 10, 10, 1.0)  # Should be about 23
    check_loss(5000, 10, 10, 0.1)  # Should be within 2.2-2.4

    # Gradient check for temporal softmax loss
    N, T, V = 7, 8, 9

    x = np.random.randn(N, T, V)
    y = np.random.randint(V, size=(N, T))
    mask = np.random.rand(N, T) > 0.5

    loss, dx = temporal_softmax_loss(x, y, mask, verbose=False)

    dx_num = eval_numerical_gradient(
        lambda x: temporal_softmax_loss(x, y, mask)[0], x, verbose=False
    )

    assert rel_error(dx, dx_num) < 1e-6
    losses = [float(line) for line in capsys.readouterr().out.split()]
    assert losses == pytest.approx(
        [2.3027781774290146, 23.025985953127226, 2.2643611790293394], rel=1e-12, abs=0
    )
    assert abs(losses[0] - 2.3) < 0.01 and abs(losses[1] - 23) < 0.1 and 2.2 < losses[2] < 2.4


def test_rnn_notebook_cell_25_captioning_rnn_loss() -> None:
    """Cell 25, "RNN for image captioning": expected loss 9.83235591003, "error on the order of
    e-10 or less" (published difference 2.611e-12); the vocabulary has no <START>/<END>."""
    N, D, W, H = 10, 20, 30, 40
    word_to_idx = {"<NULL>": 0, "cat": 2, "dog": 3}
    V = len(word_to_idx)
    T = 13

    model = CaptioningRNN(
        word_to_idx,
        input_dim=D,
        wordvec_dim=W,
        hidden_dim=H,
        cell_type="rnn",
        dtype=np.float64,
    )

    # Set all model parameters to fixed values
    for k, v in model.params.items():
        model.params[k] = np.linspace(-1.4, 1.3, num=v.size).reshape(*v.shape)

    features = np.linspace(-1.5, 0.3, num=(N * D)).reshape(N, D)
    captions = (np.arange(N * T) % V).reshape(N, T)

    loss, grads = model.loss(features, captions)
    expected_loss = 9.83235591003

    assert abs(loss - expected_loss) < 3e-12


def _captioning_rnn_gradient_cell(
    cell_type: str,
) -> tuple[CaptioningRNN, dict[str, tuple[float, float]]]:
    """RNN_Captioning.ipynb cell 27 verbatim, with ``cell_type`` as a parameter; returns the
    model and, per parameter, (the printed relative error, the normwise relative error)."""
    np.random.seed(231)

    batch_size = 2
    timesteps = 3
    input_dim = 4
    wordvec_dim = 5
    hidden_dim = 6
    word_to_idx = {"<NULL>": 0, "cat": 2, "dog": 3}
    vocab_size = len(word_to_idx)

    captions = np.random.randint(vocab_size, size=(batch_size, timesteps))
    features = np.random.randn(batch_size, input_dim)

    model = CaptioningRNN(
        word_to_idx,
        input_dim=input_dim,
        wordvec_dim=wordvec_dim,
        hidden_dim=hidden_dim,
        cell_type=cell_type,
        dtype=np.float64,
    )

    loss, grads = model.loss(features, captions)

    errors = {}
    for param_name in sorted(grads):
        f = lambda _: model.loss(features, captions)[0]
        param_grad_num = eval_numerical_gradient(f, model.params[param_name], verbose=False, h=1e-6)
        e = rel_error(param_grad_num, grads[param_name])
        # beside the printed elementwise error, the normwise one (for the LSTM variant below)
        errors[param_name] = (e, norm_rel_error(param_grad_num, grads[param_name]))
    return model, errors


def _cs231n_init(cell_type: str) -> dict[str, np.ndarray]:
    """The weights CS231n's ``CaptioningRNN.__init__`` (classifiers/rnn.py, SOURCE) draws in
    the cell above: the same global-generator calls, in its order, after the cell's own draws."""
    np.random.seed(231)
    np.random.randint(3, size=(2, 3))  # captions
    np.random.randn(2, 4)  # features
    V, D, W, H, g = 3, 4, 5, 6, {"rnn": 1, "lstm": 4}[cell_type]
    return {
        "W_embed": np.random.randn(V, W) / 100,
        "W_proj": np.random.randn(D, H) / np.sqrt(D),
        "b_proj": np.zeros(H),
        "Wx": np.random.randn(W, g * H) / np.sqrt(W),
        "Wh": np.random.randn(H, g * H) / np.sqrt(H),
        "b": np.zeros(g * H),
        "W_vocab": np.random.randn(H, V) / np.sqrt(H),
        "b_vocab": np.zeros(V),
    }


def test_rnn_notebook_cell_27_captioning_rnn_gradients() -> None:
    """Cell 27: numerical gradient check of the whole model after ``np.random.seed(231)``;
    "errors around the order of e-6 or less" (published 4.9e-10 ... 7.7e-07). The weights are
    CS231n's, bit for bit."""
    model, errors = _captioning_rnn_gradient_cell("rnn")
    assert sorted(errors) == ["W_embed", "W_proj", "W_vocab", "Wh", "Wx", "b", "b_proj", "b_vocab"]
    for param_name, (e, _) in errors.items():
        assert e < 1e-5, (param_name, e)
    # Three published errors to 5 digits: the same weights give the same numbers (the others
    # are dominated by rounding noise and vary with the order of floating-point operations).
    assert errors["W_embed"][0] == pytest.approx(2.331074e-09, rel=2e-5)
    assert errors["W_proj"][0] == pytest.approx(9.974427e-09, rel=2e-5)
    assert errors["b_proj"][0] == pytest.approx(1.934808e-08, rel=2e-5)
    reference = _cs231n_init("rnn")
    for name, value in model.params.items():
        np.testing.assert_array_equal(value, reference[name], err_msg=name)


def test_lstm_variant_of_the_captioning_rnn_gradient_cell() -> None:
    """Not a published cell: LSTM_Captioning.ipynb (2022) checks the LSTM model's loss only, so
    this is cell 27 of RNN_Captioning.ipynb with ``cell_type='lstm'``. With h = 1e-6 a few
    gradient entries are ~1e-7, where centred differences are mostly rounding noise and the
    elementwise ``rel_error`` reads up to ~6e-4 for correct gradients (CS231n's code computes
    the same numbers), so the figure here is the normwise relative error."""
    model, errors = _captioning_rnn_gradient_cell("lstm")
    for param_name, (_, normwise) in errors.items():
        assert normwise < 1e-6, (param_name, normwise)
    reference = _cs231n_init("lstm")
    for name, value in model.params.items():
        np.testing.assert_array_equal(value, reference[name], err_msg=name)


# =============================================================================================
# LSTM_Captioning.ipynb (SOURCE, assignment3/LSTM_Captioning.ipynb)
# =============================================================================================


def test_lstm_notebook_cell_7_lstm_step_forward() -> None:
    """Cell 7, "LSTM: step forward": order e-8 (published 5.71e-09, 5.81e-09)."""
    N, D, H = 3, 4, 5
    x = np.linspace(-0.4, 1.2, num=N * D).reshape(N, D)
    prev_h = np.linspace(-0.3, 0.7, num=N * H).reshape(N, H)
    prev_c = np.linspace(-0.4, 0.9, num=N * H).reshape(N, H)
    Wx = np.linspace(-2.1, 1.3, num=4 * D * H).reshape(D, 4 * H)
    Wh = np.linspace(-0.7, 2.2, num=4 * H * H).reshape(H, 4 * H)
    b = np.linspace(0.3, 0.7, num=4 * H)

    next_h, next_c, cache = lstm_step_forward(x, prev_h, prev_c, Wx, Wh, b)

    expected_next_h = published(
        """
        [[ 0.24635157,  0.28610883,  0.32240467,  0.35525807,  0.38474904],
         [ 0.49223563,  0.55611431,  0.61507696,  0.66844003,  0.7159181 ],
         [ 0.56735664,  0.66310127,  0.74419266,  0.80889665,  0.858299  ]]
        """
    )
    expected_next_c = published(
        """
        [[ 0.32986176,  0.39145139,  0.451556,    0.51014116,  0.56717407],
         [ 0.66382255,  0.76674007,  0.87195994,  0.97902709,  1.08751345],
         [ 0.74192008,  0.90592151,  1.07717006,  1.25120233,  1.42395676]]
        """
    )

    assert rel_error(expected_next_h, next_h) < 1e-8
    assert rel_error(expected_next_c, next_c) < 1e-8
    assert_printed(next_h, expected_next_h)
    assert_printed(next_c, expected_next_c)


def test_lstm_notebook_cell_9_lstm_step_backward() -> None:
    """Cell 9, "LSTM: step backward": order e-7 (published 1.5e-10 ... 9.7e-08)."""
    np.random.seed(231)

    N, D, H = 4, 5, 6
    x = np.random.randn(N, D)
    prev_h = np.random.randn(N, H)
    prev_c = np.random.randn(N, H)
    Wx = np.random.randn(D, 4 * H)
    Wh = np.random.randn(H, 4 * H)
    b = np.random.randn(4 * H)

    next_h, next_c, cache = lstm_step_forward(x, prev_h, prev_c, Wx, Wh, b)

    dnext_h = np.random.randn(*next_h.shape)
    dnext_c = np.random.randn(*next_c.shape)

    fx_h = lambda x: lstm_step_forward(x, prev_h, prev_c, Wx, Wh, b)[0]
    fh_h = lambda h: lstm_step_forward(x, prev_h, prev_c, Wx, Wh, b)[0]
    fc_h = lambda c: lstm_step_forward(x, prev_h, prev_c, Wx, Wh, b)[0]
    fWx_h = lambda Wx: lstm_step_forward(x, prev_h, prev_c, Wx, Wh, b)[0]
    fWh_h = lambda Wh: lstm_step_forward(x, prev_h, prev_c, Wx, Wh, b)[0]
    fb_h = lambda b: lstm_step_forward(x, prev_h, prev_c, Wx, Wh, b)[0]

    fx_c = lambda x: lstm_step_forward(x, prev_h, prev_c, Wx, Wh, b)[1]
    fh_c = lambda h: lstm_step_forward(x, prev_h, prev_c, Wx, Wh, b)[1]
    fc_c = lambda c: lstm_step_forward(x, prev_h, prev_c, Wx, Wh, b)[1]
    fWx_c = lambda Wx: lstm_step_forward(x, prev_h, prev_c, Wx, Wh, b)[1]
    fWh_c = lambda Wh: lstm_step_forward(x, prev_h, prev_c, Wx, Wh, b)[1]
    fb_c = lambda b: lstm_step_forward(x, prev_h, prev_c, Wx, Wh, b)[1]

    num_grad = eval_numerical_gradient_array

    dx_num = num_grad(fx_h, x, dnext_h) + num_grad(fx_c, x, dnext_c)
    dh_num = num_grad(fh_h, prev_h, dnext_h) + num_grad(fh_c, prev_h, dnext_c)
    dc_num = num_grad(fc_h, prev_c, dnext_h) + num_grad(fc_c, prev_c, dnext_c)
    dWx_num = num_grad(fWx_h, Wx, dnext_h) + num_grad(fWx_c, Wx, dnext_c)
    dWh_num = num_grad(fWh_h, Wh, dnext_h) + num_grad(fWh_c, Wh, dnext_c)
    db_num = num_grad(fb_h, b, dnext_h) + num_grad(fb_c, b, dnext_c)

    dx, dh, dc, dWx, dWh, db = lstm_step_backward(dnext_h, dnext_c, cache)

    assert rel_error(dx_num, dx) < 1e-6
    assert rel_error(dh_num, dh) < 1e-6
    assert rel_error(dc_num, dc) < 1e-6
    assert rel_error(dWx_num, dWx) < 1e-6
    assert rel_error(dWh_num, dWh) < 1e-6
    assert rel_error(db_num, db) < 1e-6


def test_lstm_notebook_cell_11_lstm_forward() -> None:
    """Cell 11, "LSTM: forward": order e-7 (published 8.61e-08)."""
    N, D, H, T = 2, 5, 4, 3
    x = np.linspace(-0.4, 0.6, num=N * T * D).reshape(N, T, D)
    h0 = np.linspace(-0.4, 0.8, num=N * H).reshape(N, H)
    Wx = np.linspace(-0.2, 0.9, num=4 * D * H).reshape(D, 4 * H)
    Wh = np.linspace(-0.3, 0.6, num=4 * H * H).reshape(H, 4 * H)
    b = np.linspace(0.2, 0.7, num=4 * H)

    h, cache = lstm_forward(x, h0, Wx, Wh, b)

    expected_h = published(
        """
        [[[ 0.01764008,  0.01823233,  0.01882671,  0.0194232 ],
          [ 0.11287491,  0.12146228,  0.13018446,  0.13902939],
          [ 0.31358768,  0.33338627,  0.35304453,  0.37250975]],
         [[ 0.45767879,  0.4761092,   0.4936887,   0.51041945],
          [ 0.6704845,   0.69350089,  0.71486014,  0.7346449 ],
          [ 0.81733511,  0.83677871,  0.85403753,  0.86935314]]]
        """
    )

    assert rel_error(expected_h, h) < 1e-6
    assert_printed(h, expected_h)


def test_lstm_notebook_cell_13_lstm_backward() -> None:
    """Cell 13, "LSTM: backward": order e-8, dWh order e-6 (published 1.9e-09 ... 2.5e-08,
    dWh 1.04e-06)."""
    np.random.seed(231)

    N, D, T, H = 2, 3, 10, 6

    x = np.random.randn(N, T, D)
    h0 = np.random.randn(N, H)
    Wx = np.random.randn(D, 4 * H)
    Wh = np.random.randn(H, 4 * H)
    b = np.random.randn(4 * H)

    out, cache = lstm_forward(x, h0, Wx, Wh, b)

    dout = np.random.randn(*out.shape)

    dx, dh0, dWx, dWh, db = lstm_backward(dout, cache)

    fx = lambda x: lstm_forward(x, h0, Wx, Wh, b)[0]
    fh0 = lambda h0: lstm_forward(x, h0, Wx, Wh, b)[0]
    fWx = lambda Wx: lstm_forward(x, h0, Wx, Wh, b)[0]
    fWh = lambda Wh: lstm_forward(x, h0, Wx, Wh, b)[0]
    fb = lambda b: lstm_forward(x, h0, Wx, Wh, b)[0]

    dx_num = eval_numerical_gradient_array(fx, x, dout)
    dh0_num = eval_numerical_gradient_array(fh0, h0, dout)
    dWx_num = eval_numerical_gradient_array(fWx, Wx, dout)
    dWh_num = eval_numerical_gradient_array(fWh, Wh, dout)
    db_num = eval_numerical_gradient_array(fb, b, dout)

    assert rel_error(dx_num, dx) < 1e-7
    assert rel_error(dh0_num, dh0) < 1e-7
    assert rel_error(dWx_num, dWx) < 1e-7
    assert rel_error(dWh_num, dWh) < 1e-5
    assert rel_error(db_num, db) < 1e-7


def test_lstm_notebook_cell_15_captioning_lstm_loss() -> None:
    """Cell 15, "LSTM captioning model": expected loss 9.82445935443, "a difference on the order
    of e-10 or less" (published difference 2.261e-12); no <START>/<END> in the vocabulary."""
    N, D, W, H = 10, 20, 30, 40
    word_to_idx = {"<NULL>": 0, "cat": 2, "dog": 3}
    V = len(word_to_idx)
    T = 13

    model = CaptioningRNN(
        word_to_idx,
        input_dim=D,
        wordvec_dim=W,
        hidden_dim=H,
        cell_type="lstm",
        dtype=np.float64,
    )

    # Set all model parameters to fixed values
    for k, v in model.params.items():
        model.params[k] = np.linspace(-1.4, 1.3, num=v.size).reshape(*v.shape)

    features = np.linspace(-0.5, 1.7, num=N * D).reshape(N, D)
    captions = (np.arange(N * T) % V).reshape(N, T)

    loss, grads = model.loss(features, captions)
    expected_loss = 9.82445935443

    assert abs(loss - expected_loss) < 3e-12


# =============================================================================================
# The interface differences issue 15 removed, one by one
# =============================================================================================


def test_star_import_gives_the_cs231n_names() -> None:
    """``from cs231n.rnn_layers import *`` code works with ours: CS231n's rnn_layers.py (2022,
    SOURCE) defines affine_forward/affine_backward and sigmoid there too."""
    namespace: dict = {}
    exec("from dlclassics.numpy_nn.rnn_layers import *", namespace)
    cs231n_names = {
        "affine_forward",
        "affine_backward",
        "rnn_step_forward",
        "rnn_step_backward",
        "rnn_forward",
        "rnn_backward",
        "word_embedding_forward",
        "word_embedding_backward",
        "sigmoid",
        "lstm_step_forward",
        "lstm_step_backward",
        "lstm_forward",
        "lstm_backward",
        "temporal_affine_forward",
        "temporal_affine_backward",
        "temporal_softmax_loss",
    }
    assert cs231n_names <= set(namespace)
    assert affine_forward is layers.affine_forward and affine_backward is layers.affine_backward
    x = np.linspace(-1, 1, 2 * 3 * 2).reshape(2, 3, 2)
    out, cache = affine_forward(x, np.ones((6, 4)), np.zeros(4))
    dx, dw, db = affine_backward(np.ones_like(out), cache)
    assert out.shape == (2, 4) and dx.shape == x.shape and dw.shape == (6, 4) and db.shape == (4,)


def test_temporal_softmax_loss_verbose_prints_like_cs231n(capsys: pytest.CaptureFixture) -> None:
    x = np.zeros((2, 3, 4))
    y = np.zeros((2, 3), dtype=int)
    mask = np.ones((2, 3), dtype=bool)
    quiet = temporal_softmax_loss(x, y, mask, verbose=False)
    assert capsys.readouterr().out == ""
    loud = temporal_softmax_loss(x, y, mask, verbose=True)
    assert capsys.readouterr().out == "dx_flat:  (6, 4)\n"
    assert quiet[0] == loud[0] == pytest.approx(3 * np.log(4))


def test_vocabulary_without_start_and_end() -> None:
    """CS231n reads <START>/<END> with .get; sampling is the one thing that needs <START>."""
    model = CaptioningRNN({"<NULL>": 0, "cat": 2, "dog": 3}, 4, 5, 6, "lstm", np.float64, seed=0)
    assert model._start is None and model._end is None
    loss, _ = model.loss(np.ones((2, 4)), [[1, 2, 0], [2, 1, 1]])  # captions as a list
    assert np.isfinite(loss)
    with pytest.raises(ValueError, match="<START>"):
        model.sample(np.ones((2, 4)))


def test_global_generator_without_seed_and_private_generator_with_one() -> None:
    words = {"<NULL>": 0, "<START>": 1, "<END>": 2, "cat": 3}
    np.random.seed(5)
    first = CaptioningRNN(words, 4, 5, 6, "rnn", np.float64)
    np.random.seed(5)
    second = CaptioningRNN(words, 4, 5, 6, "rnn", np.float64)
    after = np.random.rand()
    for name in first.params:
        np.testing.assert_array_equal(first.params[name], second.params[name])
    np.random.seed(5)
    np.random.randn(4, 5), np.random.randn(4, 6), np.random.randn(5, 6)
    np.random.randn(6, 6), np.random.randn(6, 4)
    assert np.random.rand() == after  # CS231n's draws, no more, no fewer

    # An explicit seed (what `dlc caption train` passes) keeps the pre-issue-15 weights: a
    # private default_rng drawing W_proj, W_embed, Wx, Wh, W_vocab, whatever the global state.
    seeded = CaptioningRNN(words, 4, 5, 6, "lstm", np.float32, seed=3)
    rng = np.random.default_rng(3)
    expected = {
        "W_proj": rng.standard_normal((4, 6)) / np.sqrt(4),
        "W_embed": rng.standard_normal((4, 5)) / 100,
        "Wx": rng.standard_normal((5, 24)) / np.sqrt(5),
        "Wh": rng.standard_normal((6, 24)) / np.sqrt(6),
        "W_vocab": rng.standard_normal((6, 4)) / np.sqrt(6),
    }
    for name, value in expected.items():
        assert seeded.params[name].dtype == np.float32
        np.testing.assert_array_equal(seeded.params[name], value.astype(np.float32))
    np.random.seed(0)
    again = CaptioningRNN(words, 4, 5, 6, "lstm", np.float32, seed=3)
    np.testing.assert_array_equal(again.params["Wh"], seeded.params["Wh"])


def _lstm_args(dtype: type) -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    shapes = [(2, 3, 4), (2, 5), (4, 20), (5, 20), (20,)]
    return [rng.standard_normal(s).astype(dtype) for s in shapes]


def test_mixed_float32_float64_promotes_like_numpy() -> None:
    x, h0, Wx, Wh, b = _lstm_args(np.float64)
    h64, cache64 = lstm_forward(x, h0, Wx, Wh, b)
    h_mixed, cache = lstm_forward(x.astype(np.float32), h0, Wx, Wh.astype(np.float32), b)
    assert h_mixed.dtype == np.float64
    np.testing.assert_allclose(h_mixed, h64, rtol=1e-6, atol=1e-7)
    # float32 forward pass, float64 upstream gradient: the backward pass runs in float64
    x32, h0_32, Wx32, Wh32, b32 = _lstm_args(np.float32)
    h32, cache32 = lstm_forward(x32, h0_32, Wx32, Wh32, b32)
    assert h32.dtype == np.float32 and cache32.hs.dtype == np.float32  # all float32 stays so
    grads32 = lstm_backward(np.ones_like(h32), cache32)
    assert [g.dtype for g in grads32] == [np.float32] * 5
    grads = lstm_backward(np.ones(h32.shape), cache32)
    assert [g.dtype for g in grads] == [np.float64] * 5
    dx, dw, db = temporal_affine_backward(
        np.ones((2, 3, 6)), temporal_affine_forward(x32, np.ones((4, 6), np.float32), [0.0] * 6)[1]
    )
    assert dx.dtype == dw.dtype == db.dtype == np.float64


def test_integer_inputs_and_lists_are_accepted() -> None:
    x = np.arange(12).reshape(3, 4)  # integer x, as np.arange gives
    Wx = np.linspace(-0.1, 0.9, num=4 * 2).reshape(4, 2)
    next_h, cache = rnn_step_forward(x, [[0.0, 0.1]] * 3, Wx, np.eye(2), [0.1, -0.1])
    assert next_h.dtype == np.float64
    np.testing.assert_allclose(next_h, np.tanh(x @ Wx + np.array([0.0, 0.1]) + [0.1, -0.1]))
    dx, dprev_h, dWx, dWh, db = rnn_step_backward(np.ones((3, 2)), cache)
    assert dx.dtype == np.float64 and dx.shape == (3, 4)
    W = np.linspace(0, 1, num=5 * 3).reshape(5, 3)
    out, _ = word_embedding_forward([[0, 3, 1, 2], [2, 1, 0, 3]], W)  # a list of word indices
    np.testing.assert_array_equal(out[1, 0], W[2])
    out, _ = word_embedding_forward(np.array([[4]], dtype=np.uint8), W)
    np.testing.assert_array_equal(out[0, 0], W[4])
    loss, dx = temporal_softmax_loss(np.zeros((1, 2, 3)), [[0, 2]], [[True, False]])
    assert loss == pytest.approx(np.log(3))
    out32, _ = word_embedding_forward([[1]], W.astype(np.float32))
    assert out32.dtype == np.float32


def test_wrong_shapes_and_indices_still_fail_clearly() -> None:
    x, h0, Wx, Wh, b = _lstm_args(np.float64)
    with pytest.raises(
        ValueError, match=r"^Wh: expected shape \(H, 4H\) = \(5, 20\), got \(5, 4\)$"
    ):
        lstm_forward(x, h0, Wx, Wh[:, :4].astype(np.float32), b)
    with pytest.raises(ValueError, match=r"^x: expected a 3-D array of shape \(N, T, D\)"):
        lstm_forward([[1.0, 2.0, 3.0, 4.0]], h0, Wx, Wh, b)
    with pytest.raises(ValueError, match=r"^x: expected an integer array of indices"):
        word_embedding_forward([[0.5, 1.0]], np.zeros((3, 2)))
    with pytest.raises(ValueError, match=r"^x: indices must lie in \[0, 3\)"):
        word_embedding_forward([[0, 3]], np.zeros((3, 2)))
    with pytest.raises(ValueError, match=r"^x: expected a float or integer array, got dtype <U1"):
        rnn_step_forward([["a"]], np.zeros((1, 1)), np.zeros((1, 1)), np.zeros((1, 1)), [0.0])


def test_strict_mode_keeps_the_old_errors() -> None:
    x, h0, Wx, Wh, b = _lstm_args(np.float64)
    with strict_dtypes(), pytest.raises(ValueError, match=r"^Wh: dtype float32 differs from x's"):
        lstm_forward(x, h0, Wx, Wh.astype(np.float32), b)
    with strict_dtypes(), pytest.raises(ValueError, match=r"^x: expected a numpy array, got list"):
        word_embedding_forward([[0, 1]], np.zeros((3, 2)))
    with strict_dtypes(False):  # nested: explicitly lenient
        word_embedding_forward([[0, 1]], np.zeros((3, 2)))
    lstm_forward(x, h0, Wx, Wh.astype(np.float32), b)  # the default mode is back


def test_caches_are_named_and_unpack_like_tuples() -> None:
    x, h0, Wx, Wh, b = _lstm_args(np.float64)
    _, _, step_cache = lstm_step_forward(x[:, 0], h0, np.zeros_like(h0), Wx, Wh, b)
    _, sequence_cache = lstm_forward(x, h0, Wx, Wh, b)
    for cache, fields in [
        (step_cache, ("x", "prev_h", "prev_c", "Wx", "Wh", "gates", "tanh_c")),
        (sequence_cache, ("x_tm", "hs", "cs", "gates", "tanh_cs", "Wx", "Wh")),
    ]:
        assert cache._fields == fields
        assert isinstance(cache, tuple) and len(cache) == len(fields)
        first, *_ = cache
        assert first is cache[0] is getattr(cache, fields[0])
