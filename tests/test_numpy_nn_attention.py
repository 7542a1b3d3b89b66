"""The attention layers: numerical gradient checks in float64, PyTorch autograd cross-checks in
float32 and float64, the step and sequence functions agree, dtypes and shapes are checked."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from dlclassics.numpy_nn import attention
from dlclassics.numpy_nn.gradient_check import eval_numerical_gradient, norm_rel_error
from dlclassics.numpy_nn.validation import strict_dtypes

DTYPES = [np.float32, np.float64]
TOLERANCE = 1e-7  # normwise relative error of a float64 gradient (dlc gradcheck's)


def _problem(
    rng: np.random.Generator,
    N: int,
    T: int,
    L: int,
    D: int = 6,
    W: int = 3,
    H: int = 4,
    A: int = 5,
    dtype: type = np.float64,
) -> dict:
    """Arguments of ``attention_lstm_forward`` at a scale that keeps tanh/sigmoid unsaturated."""
    args = {
        "x": rng.standard_normal((N, T, W)),
        "feats": rng.standard_normal((N, L, D)),
        "W_init": 0.4 * rng.standard_normal((D, 2 * H)),
        "b_init": 0.4 * rng.standard_normal(2 * H),
        "Wx": 0.4 * rng.standard_normal((W + D, 4 * H)),
        "Wh": 0.4 * rng.standard_normal((H, 4 * H)),
        "b": 0.4 * rng.standard_normal(4 * H),
        "W_af": 0.4 * rng.standard_normal((D, A)),
        "W_ah": 0.4 * rng.standard_normal((H, A)),
        "b_a": 0.4 * rng.standard_normal(A),
        "w_a": rng.standard_normal(A),
    }
    return {name: value.astype(dtype) for name, value in args.items()}


def _attention_args(p: dict, prev_h: np.ndarray) -> dict:
    names = ("feats", "W_af", "W_ah", "b_a", "w_a")
    return {"prev_h": prev_h, **{n: p[n] for n in names}}


def _step_args(p: dict, x: np.ndarray, prev_h: np.ndarray, prev_c: np.ndarray) -> dict:
    names = ("feats", "Wx", "Wh", "b", "W_af", "W_ah", "b_a", "w_a")
    return {"x": x, "prev_h": prev_h, "prev_c": prev_c, **{n: p[n] for n in names}}


def _check_numerically(args: dict, objective, analytic: tuple) -> None:
    assert len(analytic) == len(args)
    for (name, value), grad in zip(args.items(), analytic, strict=True):
        assert grad.shape == value.shape, name
        numeric = eval_numerical_gradient(lambda _: objective(), value)
        error = norm_rel_error(grad, numeric)
        assert error <= TOLERANCE, f"d{name}: relative error {error:.2e}"


# ---- numerical gradient checks (float64) ------------------------------------------------------


@pytest.mark.parametrize("with_dalpha", [True, False])
@pytest.mark.parametrize(("N", "L"), [(1, 1), (3, 5)])
def test_attention_gradients(N: int, L: int, with_dalpha: bool) -> None:
    rng = np.random.default_rng(N + L)
    p = _problem(rng, N, 1, L)
    args = _attention_args(p, rng.standard_normal((N, 4)))
    dcontext = rng.standard_normal((N, 6))
    dalpha = rng.standard_normal((N, L)) if with_dalpha else None

    def objective() -> float:
        context, alpha, _ = attention.attention_forward(**args)
        extra = 0.0 if dalpha is None else np.sum(alpha * dalpha)
        return float(np.sum(context * dcontext) + extra)

    _, _, cache = attention.attention_forward(**args)
    _check_numerically(args, objective, attention.attention_backward(dcontext, dalpha, cache))


@pytest.mark.parametrize(("N", "L"), [(1, 1), (3, 5)])
def test_attention_lstm_step_gradients(N: int, L: int) -> None:
    rng = np.random.default_rng(10 + N + L)
    p = _problem(rng, N, 1, L)
    args = _step_args(p, rng.standard_normal((N, 3)), *rng.standard_normal((2, N, 4)))
    dnext_h, dnext_c = rng.standard_normal((2, N, 4))
    dalpha = rng.standard_normal((N, L))

    def objective() -> float:
        next_h, next_c, alpha, _ = attention.attention_lstm_step_forward(**args)
        return float(np.sum(next_h * dnext_h) + np.sum(next_c * dnext_c) + np.sum(alpha * dalpha))

    cache = attention.attention_lstm_step_forward(**args)[3]
    grads = attention.attention_lstm_step_backward(dnext_h, dnext_c, dalpha, cache)
    _check_numerically(args, objective, grads)


@pytest.mark.parametrize("with_dalphas", [True, False])
@pytest.mark.parametrize(("N", "T", "L"), [(1, 1, 1), (2, 5, 3), (3, 3, 4)])
def test_attention_lstm_gradients(N: int, T: int, L: int, with_dalphas: bool) -> None:
    rng = np.random.default_rng(20 + N * T + L)
    args = _problem(rng, N, T, L)
    dh = rng.standard_normal((N, T, 4))
    dalphas = rng.standard_normal((N, T, L)) if with_dalphas else None

    def objective() -> float:
        h, alphas, _ = attention.attention_lstm_forward(**args)
        extra = 0.0 if dalphas is None else np.sum(alphas * dalphas)
        return float(np.sum(h * dh) + extra)

    cache = attention.attention_lstm_forward(**args)[2]
    _check_numerically(args, objective, attention.attention_lstm_backward(dh, dalphas, cache))


# ---- forward properties -----------------------------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES)
def test_sequence_equals_steps_from_the_mean_feature(dtype: type) -> None:
    rng = np.random.default_rng(3)
    N, T, L, H = 3, 4, 5, 4
    p = _problem(rng, N, T, L, dtype=dtype)
    h, alphas, _ = attention.attention_lstm_forward(**p)
    assert h.shape == (N, T, H) and alphas.shape == (N, T, L)
    assert h.dtype == alphas.dtype == dtype
    np.testing.assert_allclose(alphas.sum(axis=2), 1, rtol=1e-5)
    assert (alphas >= 0).all()
    hc0 = p["feats"].mean(axis=1) @ p["W_init"] + p["b_init"]
    prev_h, prev_c = hc0[:, :H], hc0[:, H:]
    tol = {"rtol": 1e-5, "atol": 1e-6} if dtype == np.float32 else {"rtol": 1e-12}
    for t in range(T):
        step = _step_args(p, p["x"][:, t], prev_h, prev_c)
        prev_h, prev_c, alpha, _ = attention.attention_lstm_step_forward(**step)
        np.testing.assert_allclose(prev_h, h[:, t], **tol)
        np.testing.assert_allclose(alpha, alphas[:, t], **tol)


def test_attention_of_identical_locations_is_uniform_and_returns_that_feature() -> None:
    rng = np.random.default_rng(4)
    p = _problem(rng, 2, 1, 6)
    p["feats"][:] = p["feats"][:, :1]  # every location holds the same vector
    context, alpha, _ = attention.attention_forward(**_attention_args(p, np.ones((2, 4))))
    np.testing.assert_allclose(alpha, 1 / 6)
    np.testing.assert_allclose(context, p["feats"][:, 0])


def test_attention_softmax_does_not_overflow() -> None:
    rng = np.random.default_rng(5)
    p = _problem(rng, 2, 1, 3)
    p["w_a"] *= 1e4  # scores of order 1e4: exp would overflow without the max shift
    context, alpha, _ = attention.attention_forward(**_attention_args(p, np.zeros((2, 4))))
    assert np.isfinite(context).all() and np.isfinite(alpha).all()
    np.testing.assert_allclose(alpha.sum(axis=1), 1)


# ---- dtypes and argument checks ---------------------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES)
def test_backward_keeps_the_dtype(dtype: type) -> None:
    rng = np.random.default_rng(6)
    p = _problem(rng, 2, 3, 4, dtype=dtype)
    h, alphas, cache = attention.attention_lstm_forward(**p)
    grads = attention.attention_lstm_backward(h.copy(), alphas.copy(), cache)
    assert {g.dtype for g in grads} == {np.dtype(dtype)}
    context, alpha, cache = attention.attention_forward(**_attention_args(p, h[:, 0]))
    assert {g.dtype for g in attention.attention_backward(context, alpha, cache)} == {
        np.dtype(dtype)
    }


def test_mixed_dtypes_promote_by_default_and_fail_when_strict() -> None:
    rng = np.random.default_rng(7)
    p = _problem(rng, 2, 3, 4, dtype=np.float32)
    p["Wh"] = p["Wh"].astype(np.float64)
    h, _, _ = attention.attention_lstm_forward(**p)
    assert h.dtype == np.float64
    with strict_dtypes(), pytest.raises(ValueError, match="Wh: dtype float64"):
        attention.attention_lstm_forward(**p)


@pytest.mark.parametrize(
    ("name", "shape", "message"),
    [
        ("Wx", (6, 16), r"Wx: expected shape \(W\+D, 4H\) = \(9, 16\)"),
        ("W_init", (6, 9), r"W_init: expected shape \(D, 2H\) = \(6, 8\)"),
        ("W_ah", (3, 5), r"W_ah: expected shape \(H, A\) = \(4, 5\)"),
        ("w_a", (4,), r"w_a: expected shape \(A,\) = \(5,\)"),
        ("feats", (3, 4, 6), r"feats: expected shape \(N, L, D\) = \(2, 4, 6\)"),
        ("feats", (2, 6), r"feats: expected a 3-D array"),
    ],
)
def test_wrong_shapes_name_the_argument(name: str, shape: tuple, message: str) -> None:
    p = _problem(np.random.default_rng(8), 2, 3, 4)
    p[name] = np.zeros(shape)
    with pytest.raises(ValueError, match=message):
        attention.attention_lstm_forward(**p)


def test_upstream_gradients_are_checked() -> None:
    p = _problem(np.random.default_rng(9), 2, 3, 4)
    h, alphas, cache = attention.attention_lstm_forward(**p)
    with pytest.raises(ValueError, match=r"dalphas: expected shape \(N, T, L\) = \(2, 3, 4\)"):
        attention.attention_lstm_backward(h, alphas[:, :, :2], cache)
    with pytest.raises(ValueError, match=r"dh: expected shape \(N, T, H\) = \(2, 3, 4\)"):
        attention.attention_lstm_backward(h[:, :2], None, cache)


# ---- PyTorch autograd cross-check -------------------------------------------------------------


def _torch_attention_lstm(t: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    """The same equations, a few lines of PyTorch: (h (N, T, H), alphas (N, T, L))."""
    H = t["Wh"].shape[0]
    W = t["x"].shape[2]
    hc0 = t["feats"].mean(dim=1) @ t["W_init"] + t["b_init"]
    h, c = hc0[:, :H], hc0[:, H:]
    proj = t["feats"] @ t["W_af"] + t["b_a"]  # (N, L, A)
    hs, alphas = [], []
    for step in range(t["x"].shape[1]):
        u = torch.tanh(proj + (h @ t["W_ah"])[:, None, :])
        alpha = torch.softmax(u @ t["w_a"], dim=1)  # (N, L)
        context = (alpha[:, :, None] * t["feats"]).sum(dim=1)
        a = t["x"][:, step] @ t["Wx"][:W] + context @ t["Wx"][W:] + h @ t["Wh"] + t["b"]
        i, f, o, g = a.chunk(4, dim=1)  # gate order i, f, o, g
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        h = torch.sigmoid(o) * torch.tanh(c)
        hs.append(h)
        alphas.append(alpha)
    return torch.stack(hs, dim=1), torch.stack(alphas, dim=1)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(("N", "T", "L"), [(1, 1, 1), (3, 4, 5)])
def test_attention_lstm_matches_torch_autograd(
    N: int, T: int, L: int, dtype: type, one_torch_thread: None
) -> None:
    rng = np.random.default_rng(30 + N + T + L)
    p = _problem(rng, N, T, L, dtype=dtype)
    dh = rng.standard_normal((N, T, 4)).astype(dtype)
    dalphas = rng.standard_normal((N, T, L)).astype(dtype)
    leaves = {n: torch.from_numpy(v.copy()).requires_grad_(True) for n, v in p.items()}
    t_h, t_alphas = _torch_attention_lstm(leaves)
    torch.autograd.backward([t_h, t_alphas], [torch.from_numpy(dh), torch.from_numpy(dalphas)])

    h, alphas, cache = attention.attention_lstm_forward(**p)
    grads = attention.attention_lstm_backward(dh, dalphas, cache)

    tol = {"rtol": 1e-4, "atol": 1e-5} if dtype == np.float32 else {"rtol": 1e-9, "atol": 1e-11}
    assert h.dtype == alphas.dtype == dtype
    np.testing.assert_allclose(h, t_h.detach().numpy(), **tol)
    np.testing.assert_allclose(alphas, t_alphas.detach().numpy(), **tol)
    for (name, leaf), ours in zip(leaves.items(), grads, strict=True):
        assert ours.dtype == dtype, name
        np.testing.assert_allclose(ours, leaf.grad.numpy(), **tol, err_msg=f"d{name}")


@pytest.mark.parametrize("dtype", DTYPES)
def test_attention_matches_torch_autograd(dtype: type, one_torch_thread: None) -> None:
    rng = np.random.default_rng(40)
    p = _problem(rng, 3, 1, 5, dtype=dtype)
    args = _attention_args(p, rng.standard_normal((3, 4)).astype(dtype))
    dcontext = rng.standard_normal((3, 6)).astype(dtype)
    dalpha = rng.standard_normal((3, 5)).astype(dtype)
    t = {n: torch.from_numpy(v.copy()).requires_grad_(True) for n, v in args.items()}
    u = torch.tanh(t["feats"] @ t["W_af"] + t["b_a"] + (t["prev_h"] @ t["W_ah"])[:, None, :])
    t_alpha = torch.softmax(u @ t["w_a"], dim=1)
    t_context = (t_alpha[:, :, None] * t["feats"]).sum(dim=1)
    torch.autograd.backward(
        [t_context, t_alpha], [torch.from_numpy(dcontext), torch.from_numpy(dalpha)]
    )

    context, alpha, cache = attention.attention_forward(**args)
    grads = attention.attention_backward(dcontext, dalpha, cache)

    tol = {"rtol": 1e-4, "atol": 1e-5} if dtype == np.float32 else {"rtol": 1e-9, "atol": 1e-11}
    np.testing.assert_allclose(context, t_context.detach().numpy(), **tol)
    np.testing.assert_allclose(alpha, t_alpha.detach().numpy(), **tol)
    for (name, leaf), ours in zip(t.items(), grads, strict=True):
        assert ours.dtype == dtype, name
        np.testing.assert_allclose(ours, leaf.grad.numpy(), **tol, err_msg=f"d{name}")
