"""The NumPy layers agree with PyTorch autograd: forward values and every gradient.

torch.nn.RNN / torch.nn.LSTM are loaded with the same weights. torch stores W_ih (4H, D) with the
gates in the order i, f, g, o and two biases b_ih + b_hh; ours is Wx (D, 4H) in the order
i, f, o, g with one bias, so the gate blocks are reordered, the weights transposed, b goes into
b_ih and b_hh is zero.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from dlclassics.numpy_nn import layers, rnn_layers

DTYPES = [np.float32, np.float64]
SEQUENCE_SHAPES = [(1, 1), (1, 5), (4, 1), (3, 6)]  # (N, T)
D, H = 5, 4


def _tolerance(dtype: type) -> dict:
    return {"rtol": 1e-4, "atol": 1e-5} if dtype == np.float32 else {"rtol": 1e-9, "atol": 1e-11}


def _assert_close(ours: np.ndarray, theirs: torch.Tensor, dtype: type) -> None:
    assert ours.dtype == dtype
    np.testing.assert_allclose(ours, theirs.detach().numpy(), **_tolerance(dtype))


def _tensor(array: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(array.copy()).requires_grad_(True)


def _ifog_to_ifgo(array: np.ndarray, axis: int) -> np.ndarray:
    i, f, o, g = np.split(array, 4, axis=axis)
    return np.concatenate([i, f, g, o], axis=axis)


def _ifgo_to_ifog(array: np.ndarray, axis: int) -> np.ndarray:
    i, f, g, o = np.split(array, 4, axis=axis)
    return np.concatenate([i, f, o, g], axis=axis)


def _random_problem(rng: np.random.Generator, N: int, T: int, gates: int, dtype: type) -> dict:
    return {
        "x": rng.standard_normal((N, T, D)).astype(dtype),
        "h0": rng.standard_normal((N, H)).astype(dtype),
        "Wx": (0.5 * rng.standard_normal((D, gates * H))).astype(dtype),
        "Wh": (0.5 * rng.standard_normal((H, gates * H))).astype(dtype),
        "b": (0.5 * rng.standard_normal(gates * H)).astype(dtype),
        "dh": rng.standard_normal((N, T, H)).astype(dtype),
    }


def _run_torch_module(module: torch.nn.Module, p: dict, with_cell: bool) -> dict:
    """Forward and backward through a torch RNN/LSTM; returns its output and raw gradients."""
    x, h0 = _tensor(p["x"]), _tensor(p["h0"][None])  # h0 (N, H) -> (1, N, H)
    if with_cell:
        state = (h0, torch.zeros_like(h0))  # our LSTM starts from c0 = 0
        h, _ = module(x, state)
    else:
        h, _ = module(x, h0)
    h.backward(torch.from_numpy(p["dh"]))
    return {
        "h": h,
        "dx": x.grad,
        "dh0": h0.grad[0],
        "dW_ih": module.weight_ih_l0.grad.numpy(),
        "dW_hh": module.weight_hh_l0.grad.numpy(),
        "db_ih": module.bias_ih_l0.grad.numpy(),
        "db_hh": module.bias_hh_l0.grad.numpy(),
    }


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(("N", "T"), SEQUENCE_SHAPES)
def test_rnn_matches_torch_rnn(N: int, T: int, dtype: type) -> None:
    p = _random_problem(np.random.default_rng(N * 10 + T), N, T, gates=1, dtype=dtype)
    module = torch.nn.RNN(D, H, batch_first=True, dtype=torch.from_numpy(p["x"]).dtype)
    with torch.no_grad():
        module.weight_ih_l0.copy_(torch.from_numpy(p["Wx"].T.copy()))
        module.weight_hh_l0.copy_(torch.from_numpy(p["Wh"].T.copy()))
        module.bias_ih_l0.copy_(torch.from_numpy(p["b"]))
        module.bias_hh_l0.zero_()
    theirs = _run_torch_module(module, p, with_cell=False)

    h, cache = rnn_layers.rnn_forward(p["x"], p["h0"], p["Wx"], p["Wh"], p["b"])
    dx, dh0, dWx, dWh, db = rnn_layers.rnn_backward(p["dh"], cache)

    _assert_close(h, theirs["h"], dtype)
    _assert_close(dx, theirs["dx"], dtype)
    _assert_close(dh0, theirs["dh0"], dtype)
    _assert_close(dWx, torch.from_numpy(theirs["dW_ih"].T), dtype)
    _assert_close(dWh, torch.from_numpy(theirs["dW_hh"].T), dtype)
    _assert_close(db, torch.from_numpy(theirs["db_ih"]), dtype)
    _assert_close(db, torch.from_numpy(theirs["db_hh"]), dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(("N", "T"), SEQUENCE_SHAPES)
def test_lstm_matches_torch_lstm(N: int, T: int, dtype: type) -> None:
    p = _random_problem(np.random.default_rng(N * 10 + T + 1), N, T, gates=4, dtype=dtype)
    module = torch.nn.LSTM(D, H, batch_first=True, dtype=torch.from_numpy(p["x"]).dtype)
    with torch.no_grad():
        module.weight_ih_l0.copy_(torch.from_numpy(_ifog_to_ifgo(p["Wx"], axis=1).T.copy()))
        module.weight_hh_l0.copy_(torch.from_numpy(_ifog_to_ifgo(p["Wh"], axis=1).T.copy()))
        module.bias_ih_l0.copy_(torch.from_numpy(_ifog_to_ifgo(p["b"], axis=0)))
        module.bias_hh_l0.zero_()
    theirs = _run_torch_module(module, p, with_cell=True)

    h, cache = rnn_layers.lstm_forward(p["x"], p["h0"], p["Wx"], p["Wh"], p["b"])
    dx, dh0, dWx, dWh, db = rnn_layers.lstm_backward(p["dh"], cache)

    _assert_close(h, theirs["h"], dtype)
    _assert_close(dx, theirs["dx"], dtype)
    _assert_close(dh0, theirs["dh0"], dtype)
    _assert_close(dWx, torch.from_numpy(_ifgo_to_ifog(theirs["dW_ih"], axis=0).T), dtype)
    _assert_close(dWh, torch.from_numpy(_ifgo_to_ifog(theirs["dW_hh"], axis=0).T), dtype)
    _assert_close(db, torch.from_numpy(_ifgo_to_ifog(theirs["db_ih"], axis=0)), dtype)
    _assert_close(db, torch.from_numpy(_ifgo_to_ifog(theirs["db_hh"], axis=0)), dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("N", [1, 3])
def test_rnn_step_matches_handwritten_torch(N: int, dtype: type) -> None:
    rng = np.random.default_rng(N)
    p = _random_problem(rng, N, 1, gates=1, dtype=dtype)
    x = p["x"][:, 0]
    dnext_h = p["dh"][:, 0]
    tx, th, tWx, tWh, tb = (_tensor(a) for a in (x, p["h0"], p["Wx"], p["Wh"], p["b"]))
    torch.tanh(tx @ tWx + th @ tWh + tb).backward(torch.from_numpy(dnext_h))

    next_h, cache = rnn_layers.rnn_step_forward(x, p["h0"], p["Wx"], p["Wh"], p["b"])
    grads = rnn_layers.rnn_step_backward(dnext_h, cache)

    _assert_close(next_h, torch.tanh(tx @ tWx + th @ tWh + tb), dtype)
    for ours, leaf in zip(grads, (tx, th, tWx, tWh, tb), strict=True):
        _assert_close(ours, leaf.grad, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("N", [1, 3])
def test_lstm_step_matches_handwritten_torch(N: int, dtype: type) -> None:
    rng = np.random.default_rng(N + 7)
    p = _random_problem(rng, N, 1, gates=4, dtype=dtype)
    x, prev_h = p["x"][:, 0], p["h0"]
    prev_c = rng.standard_normal((N, H)).astype(dtype)
    dnext_h, dnext_c = rng.standard_normal((2, N, H)).astype(dtype)
    leaves = [_tensor(a) for a in (x, prev_h, prev_c, p["Wx"], p["Wh"], p["b"])]
    tx, th, tc, tWx, tWh, tb = leaves
    a_i, a_f, a_o, a_g = (tx @ tWx + th @ tWh + tb).chunk(4, dim=1)  # gate order i, f, o, g
    t_next_c = torch.sigmoid(a_f) * tc + torch.sigmoid(a_i) * torch.tanh(a_g)
    t_next_h = torch.sigmoid(a_o) * torch.tanh(t_next_c)
    torch.autograd.backward(
        [t_next_h, t_next_c], [torch.from_numpy(dnext_h), torch.from_numpy(dnext_c)]
    )

    next_h, next_c, cache = rnn_layers.lstm_step_forward(
        x, prev_h, prev_c, p["Wx"], p["Wh"], p["b"]
    )
    dx, dprev_h, dprev_c, dWx, dWh, db = rnn_layers.lstm_step_backward(dnext_h, dnext_c, cache)

    _assert_close(next_h, t_next_h, dtype)
    _assert_close(next_c, t_next_c, dtype)
    for ours, leaf in zip((dx, dprev_h, dprev_c, dWx, dWh, db), leaves, strict=True):
        _assert_close(ours, leaf.grad, dtype)


def _mask(kind: str, rng: np.random.Generator, N: int, T: int) -> np.ndarray:
    if kind == "zeros":
        return np.zeros((N, T), dtype=bool)
    if kind == "ones":
        return np.ones((N, T), dtype=bool)
    return rng.random((N, T)) > 0.4


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("mask_kind", ["random", "zeros", "ones"])
@pytest.mark.parametrize(("N", "T"), SEQUENCE_SHAPES)
def test_temporal_softmax_loss_matches_torch_cross_entropy(
    N: int, T: int, mask_kind: str, dtype: type
) -> None:
    V = 6
    rng = np.random.default_rng(N + 3 * T)
    x = (3 * rng.standard_normal((N, T, V))).astype(dtype)
    y = rng.integers(0, V, size=(N, T))
    mask = _mask(mask_kind, rng, N, T)

    tx = _tensor(x)
    per_position = F.cross_entropy(
        tx.reshape(N * T, V), torch.from_numpy(y).reshape(N * T), reduction="none"
    )
    t_loss = (per_position * torch.from_numpy(mask.reshape(N * T)).to(tx.dtype)).sum() / N
    t_loss.backward()

    loss, dx = rnn_layers.temporal_softmax_loss(x, y, mask)

    assert loss.dtype == dtype
    np.testing.assert_allclose(loss, t_loss.item(), **_tolerance(dtype))
    _assert_close(dx, tx.grad, dtype)
    if mask_kind == "zeros":
        assert loss == 0 and not dx.any()
    assert not dx[~mask].any(), "masked positions must get exactly zero gradient"


@pytest.mark.parametrize("dtype", DTYPES)
def test_temporal_softmax_loss_mask_accepts_zero_one_integers(dtype: type) -> None:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 3, 4)).astype(dtype)
    y = rng.integers(0, 4, size=(2, 3))
    mask = np.array([[1, 1, 0], [1, 0, 0]])
    loss_int, dx_int = rnn_layers.temporal_softmax_loss(x, y, mask)
    loss_bool, dx_bool = rnn_layers.temporal_softmax_loss(x, y, mask.astype(bool))
    assert loss_int == loss_bool
    np.testing.assert_array_equal(dx_int, dx_bool)


@pytest.mark.parametrize("dtype", DTYPES)
def test_word_embedding_matches_torch_embedding(dtype: type) -> None:
    rng = np.random.default_rng(1)
    V, N, T = 5, 3, 4
    W = rng.standard_normal((V, D)).astype(dtype)
    x = rng.integers(0, V, size=(N, T))
    x[0, :] = 2  # a word used several times must collect all its gradients
    dout = rng.standard_normal((N, T, D)).astype(dtype)
    tW = _tensor(W)
    t_out = F.embedding(torch.from_numpy(x), tW)
    t_out.backward(torch.from_numpy(dout))

    out, cache = rnn_layers.word_embedding_forward(x, W)
    dW = rnn_layers.word_embedding_backward(dout, cache)

    _assert_close(out, t_out, dtype)
    _assert_close(dW, tW.grad, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(("N", "T"), SEQUENCE_SHAPES)
def test_temporal_affine_matches_torch_linear(N: int, T: int, dtype: type) -> None:
    M = 7
    rng = np.random.default_rng(2)
    x = rng.standard_normal((N, T, D)).astype(dtype)
    w = rng.standard_normal((D, M)).astype(dtype)
    b = rng.standard_normal(M).astype(dtype)
    dout = rng.standard_normal((N, T, M)).astype(dtype)
    tx, tw, tb = _tensor(x), _tensor(w), _tensor(b)
    t_out = F.linear(tx, tw.T, tb)
    t_out.backward(torch.from_numpy(dout))

    out, cache = rnn_layers.temporal_fc_forward(x, w, b)
    dx, dw, db = rnn_layers.temporal_fc_backward(dout, cache)

    _assert_close(out, t_out, dtype)
    for ours, leaf in zip((dx, dw, db), (tx, tw, tb), strict=True):
        _assert_close(ours, leaf.grad, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_affine_flattens_trailing_dimensions_like_torch(dtype: type) -> None:
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 3, 4)).astype(dtype)
    w = rng.standard_normal((12, 5)).astype(dtype)
    b = rng.standard_normal(5).astype(dtype)
    dout = rng.standard_normal((2, 5)).astype(dtype)
    tx, tw, tb = _tensor(x), _tensor(w), _tensor(b)
    t_out = tx.reshape(2, 12) @ tw + tb
    t_out.backward(torch.from_numpy(dout))

    out, cache = layers.affine_forward(x, w, b)
    dx, dw, db = layers.affine_backward(dout, cache)

    _assert_close(out, t_out, dtype)
    assert dx.shape == x.shape
    for ours, leaf in zip((dx, dw, db), (tx, tw, tb), strict=True):
        _assert_close(ours, leaf.grad, dtype)
