"""Numerical-vs-analytic gradient checks of every NumPy layer: the table behind ``dlc gradcheck``.

Each layer runs in float64 on small random inputs. Its outputs are reduced to a scalar
``L = sum_k sum(out_k * dout_k)`` with random upstream gradients ``dout_k`` (a loss layer's output
is already a scalar). The layer's backward pass gives dL/d(input); centred differences of L give
the same gradient numerically, and the two are compared.

The pass/fail figure is the normwise relative error ``||a - n|| / (||a|| + ||n||)``; the largest
elementwise relative error is reported beside it. Elementwise, an entry whose true gradient is
nearly zero compares rounding noise with rounding noise and can read 1e-6 for a correct layer.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TypedDict

import numpy as np

from dlclassics.numpy_nn import attention, layers, rnn_layers
from dlclassics.numpy_nn.gradient_check import eval_numerical_gradient, norm_rel_error, rel_error

TOLERANCE = 1e-7  # the largest normwise relative error a float64 gradient may show


@dataclass(frozen=True)
class GradcheckShapes:
    """Sizes of the random problems: small, so every numerical gradient takes milliseconds."""

    N: int = 3  # minibatch
    T: int = 4  # time steps
    D: int = 5  # input size
    H: int = 6  # hidden size
    V: int = 7  # vocabulary / classes
    M: int = 8  # outputs of the affine layers
    L: int = 4  # attention: feature locations
    F: int = 5  # attention: size of one location's feature vector
    A: int = 3  # attention: size of the attention layer


@dataclass(frozen=True)
class LayerCheck:
    """One layer to check; the numerical gradient perturbs ``inputs`` in place, which both
    callables read."""

    layer: str  # name shown in the table
    inputs: dict[str, np.ndarray]  # the float64 arrays to differentiate, by argument name
    objective: Callable[[], float]  # the scalar L at the current inputs
    gradients: Callable[[], tuple[np.ndarray, ...]]  # analytic dL/d(input), in inputs' order


class GradcheckRow(TypedDict):
    """One (layer, gradient) of the table: a row of ``dlc gradcheck`` and of its JSON."""

    layer: str  # e.g. "lstm"
    gradient: str  # e.g. "dWh"
    shape: list[int]
    rel_error: float  # normwise; passed when <= TOLERANCE
    max_elementwise_rel_error: float
    passed: bool


class GradcheckReport(TypedDict):
    """Every row with a summary: the JSON that ``dlc gradcheck -o FILE`` writes."""

    seed: int
    tolerance: float
    all_passed: bool
    max_rel_error: float  # over all rows
    rows: list[GradcheckRow]


def _check(
    layer: str,
    args: dict[str, np.ndarray],
    *,
    forward: Callable,
    backward: Callable,
    douts: tuple[np.ndarray, ...],
) -> LayerCheck:
    """L = sum_k sum(out_k * dout_k) over the outputs of ``forward(**args)`` but the last (the
    cache); the gradients are ``backward(*douts, cache)``."""

    def objective() -> float:
        outs = forward(**args)[:-1]
        return float(sum(np.sum(out * dout) for out, dout in zip(outs, douts, strict=True)))

    return LayerCheck(layer, args, objective, lambda: backward(*douts, forward(**args)[-1]))


def _affine(rng: np.random.Generator, sizes: GradcheckShapes) -> LayerCheck:
    args = {
        "x": rng.standard_normal((sizes.N, 2, 3)),
        "w": rng.standard_normal((6, sizes.M)),
        "b": rng.standard_normal(sizes.M),
    }
    dout = rng.standard_normal((sizes.N, sizes.M))
    return _check(
        "affine",
        args,
        forward=layers.affine_forward,
        backward=layers.affine_backward,
        douts=(dout,),
    )


def _recurrent_weights(
    rng: np.random.Generator, sizes: GradcheckShapes, *, gates: int, input_size: int
) -> dict[str, np.ndarray]:
    """Wx (input_size, gH), Wh (H, gH), b (gH,) at a scale that keeps tanh/sigmoid out of
    saturation."""
    return {
        "Wx": 0.4 * rng.standard_normal((input_size, gates * sizes.H)),
        "Wh": 0.4 * rng.standard_normal((sizes.H, gates * sizes.H)),
        "b": 0.4 * rng.standard_normal(gates * sizes.H),
    }


def _rnn_step(rng: np.random.Generator, sizes: GradcheckShapes) -> LayerCheck:
    args = {
        "x": rng.standard_normal((sizes.N, sizes.D)),
        "prev_h": rng.standard_normal((sizes.N, sizes.H)),
    }
    args.update(_recurrent_weights(rng, sizes, gates=1, input_size=sizes.D))
    dnext_h = rng.standard_normal((sizes.N, sizes.H))
    return _check(
        "rnn_step",
        args,
        forward=rnn_layers.rnn_step_forward,
        backward=rnn_layers.rnn_step_backward,
        douts=(dnext_h,),
    )


def _sequence_args(rng: np.random.Generator, sizes: GradcheckShapes, *, gates: int) -> dict:
    """x (N, T, D), h0 (N, H) and the weights of a recurrent layer with ``gates`` gates."""
    args = {
        "x": rng.standard_normal((sizes.N, sizes.T, sizes.D)),
        "h0": rng.standard_normal((sizes.N, sizes.H)),
    }
    return args | _recurrent_weights(rng, sizes, gates=gates, input_size=sizes.D)


def _rnn(rng: np.random.Generator, sizes: GradcheckShapes) -> LayerCheck:
    """The vanilla RNN over T steps from h0; upstream dh is (N, T, H)."""
    args = _sequence_args(rng, sizes, gates=1)
    dh = rng.standard_normal((sizes.N, sizes.T, sizes.H))
    return _check(
        "rnn", args, forward=rnn_layers.rnn_forward, backward=rnn_layers.rnn_backward, douts=(dh,)
    )


def _lstm(rng: np.random.Generator, sizes: GradcheckShapes) -> LayerCheck:
    """The LSTM over T steps from h0 (and c0 = 0); upstream dh is (N, T, H)."""
    args = _sequence_args(rng, sizes, gates=4)
    dh = rng.standard_normal((sizes.N, sizes.T, sizes.H))
    return _check(
        "lstm",
        args,
        forward=rnn_layers.lstm_forward,
        backward=rnn_layers.lstm_backward,
        douts=(dh,),
    )


def _lstm_step(rng: np.random.Generator, sizes: GradcheckShapes) -> LayerCheck:
    weights = _recurrent_weights(rng, sizes, gates=4, input_size=sizes.D)
    args = {
        "x": rng.standard_normal((sizes.N, sizes.D)),
        "prev_h": rng.standard_normal((sizes.N, sizes.H)),
        "prev_c": rng.standard_normal((sizes.N, sizes.H)),
        **weights,
    }
    dnext_h, dnext_c = rng.standard_normal((2, sizes.N, sizes.H))
    return _check(
        "lstm_step",
        args,
        forward=rnn_layers.lstm_step_forward,
        backward=rnn_layers.lstm_step_backward,
        douts=(dnext_h, dnext_c),
    )


def _word_embedding(rng: np.random.Generator, sizes: GradcheckShapes) -> LayerCheck:
    words = rng.integers(0, sizes.V, size=(sizes.N, sizes.T))
    args = {"W": rng.standard_normal((sizes.V, sizes.D))}
    dout = rng.standard_normal((sizes.N, sizes.T, sizes.D))
    return _check(
        "word_embedding",
        args,
        forward=lambda W: rnn_layers.word_embedding_forward(words, W),
        backward=lambda dout, cache: (rnn_layers.word_embedding_backward(dout, cache),),
        douts=(dout,),
    )


def _temporal_affine(rng: np.random.Generator, sizes: GradcheckShapes) -> LayerCheck:
    args = {
        "x": rng.standard_normal((sizes.N, sizes.T, sizes.D)),
        "w": rng.standard_normal((sizes.D, sizes.M)),
        "b": rng.standard_normal(sizes.M),
    }
    dout = rng.standard_normal((sizes.N, sizes.T, sizes.M))
    return _check(
        "temporal_affine",
        args,
        forward=rnn_layers.temporal_affine_forward,
        backward=rnn_layers.temporal_affine_backward,
        douts=(dout,),
    )


def _temporal_softmax_loss(rng: np.random.Generator, sizes: GradcheckShapes) -> LayerCheck:
    """A loss returns (L, dx) rather than (out, cache), so it is checked directly."""
    targets = rng.integers(0, sizes.V, size=(sizes.N, sizes.T))
    mask = rng.random((sizes.N, sizes.T)) > 0.3  # about 30 % padding
    args = {"x": rng.standard_normal((sizes.N, sizes.T, sizes.V))}
    return LayerCheck(
        "temporal_softmax_loss",
        args,
        lambda: float(rnn_layers.temporal_softmax_loss(args["x"], targets, mask)[0]),
        lambda: (rnn_layers.temporal_softmax_loss(args["x"], targets, mask)[1],),
    )


def _attention_params(rng: np.random.Generator, sizes: GradcheckShapes) -> dict[str, np.ndarray]:
    """feats (N, L, F) and the attention weights W_af (F, A), W_ah (H, A), b_a (A,), w_a (A,)."""
    return {
        "feats": rng.standard_normal((sizes.N, sizes.L, sizes.F)),
        "W_af": 0.4 * rng.standard_normal((sizes.F, sizes.A)),
        "W_ah": 0.4 * rng.standard_normal((sizes.H, sizes.A)),
        "b_a": 0.4 * rng.standard_normal(sizes.A),
        "w_a": rng.standard_normal(sizes.A),
    }


def _attention(rng: np.random.Generator, sizes: GradcheckShapes) -> LayerCheck:
    args = {"prev_h": rng.standard_normal((sizes.N, sizes.H)), **_attention_params(rng, sizes)}
    dcontext = rng.standard_normal((sizes.N, sizes.F))
    dalpha = rng.standard_normal((sizes.N, sizes.L))
    return _check(
        "attention",
        args,
        forward=attention.attention_forward,
        backward=attention.attention_backward,
        douts=(dcontext, dalpha),
    )


def _attention_lstm_step(rng: np.random.Generator, sizes: GradcheckShapes) -> LayerCheck:
    """The LSTM's Wx (D + F, 4H) holds word rows, then context rows."""
    attention_args = _attention_params(rng, sizes)
    args = {
        "x": rng.standard_normal((sizes.N, sizes.D)),
        "prev_h": rng.standard_normal((sizes.N, sizes.H)),
        "prev_c": rng.standard_normal((sizes.N, sizes.H)),
        "feats": attention_args.pop("feats"),
        **_recurrent_weights(rng, sizes, gates=4, input_size=sizes.D + sizes.F),
        **attention_args,
    }
    dnext_h, dnext_c = rng.standard_normal((2, sizes.N, sizes.H))
    dalpha = rng.standard_normal((sizes.N, sizes.L))
    return _check(
        "attention_lstm_step",
        args,
        forward=attention.attention_lstm_step_forward,
        backward=attention.attention_lstm_step_backward,
        douts=(dnext_h, dnext_c, dalpha),
    )


def _attention_lstm(rng: np.random.Generator, sizes: GradcheckShapes) -> LayerCheck:
    attention_args = _attention_params(rng, sizes)
    args = {
        "x": rng.standard_normal((sizes.N, sizes.T, sizes.D)),
        "feats": attention_args.pop("feats"),
        "W_init": 0.4 * rng.standard_normal((sizes.F, 2 * sizes.H)),
        "b_init": 0.4 * rng.standard_normal(2 * sizes.H),
        **_recurrent_weights(rng, sizes, gates=4, input_size=sizes.D + sizes.F),
        **attention_args,
    }
    dh = rng.standard_normal((sizes.N, sizes.T, sizes.H))
    dalphas = rng.standard_normal((sizes.N, sizes.T, sizes.L))
    return _check(
        "attention_lstm",
        args,
        forward=attention.attention_lstm_forward,
        backward=attention.attention_lstm_backward,
        douts=(dh, dalphas),
    )


LAYER_CHECKS = (
    _affine,
    _rnn_step,
    _rnn,
    _lstm_step,
    _lstm,
    _word_embedding,
    _temporal_affine,
    _temporal_softmax_loss,
    _attention,
    _attention_lstm_step,
    _attention_lstm,
)


def run_gradchecks(seed: int = 0, shapes: GradcheckShapes | None = None) -> list[GradcheckRow]:
    """Check every layer's analytic gradients against centred differences, in float64, on
    random problems of ``shapes`` (default ``GradcheckShapes()``) drawn with ``seed``.

    Returns one row per (layer, gradient), in a fixed order.

    >>> rows = run_gradchecks(seed=0)
    >>> len(rows), rows[0]["layer"], rows[0]["gradient"], all(row["passed"] for row in rows)
    (57, 'affine', 'dx', True)
    """
    rng = np.random.default_rng(seed)
    shapes = shapes or GradcheckShapes()
    rows = []
    for make_check in LAYER_CHECKS:
        check = make_check(rng, shapes)
        analytic = check.gradients()
        for (name, value), grad in zip(check.inputs.items(), analytic, strict=True):
            numeric = eval_numerical_gradient(lambda _, c=check: c.objective(), value)
            error = norm_rel_error(grad, numeric)
            row = GradcheckRow(
                layer=check.layer,
                gradient=f"d{name}",
                shape=list(value.shape),
                rel_error=error,
                max_elementwise_rel_error=rel_error(grad, numeric),
                passed=error <= TOLERANCE,
            )
            rows.append(row)
    return rows


def gradcheck_report(seed: int = 0) -> GradcheckReport:
    """``run_gradchecks(seed)`` with a summary: what ``dlc gradcheck -o FILE`` writes as JSON.

    >>> report = gradcheck_report(seed=0)
    >>> report["all_passed"], report["max_rel_error"] <= report["tolerance"], len(report["rows"])
    (True, True, 57)
    """
    rows = run_gradchecks(seed)
    return GradcheckReport(
        seed=seed,
        tolerance=TOLERANCE,
        all_passed=all(row["passed"] for row in rows),
        max_rel_error=max(row["rel_error"] for row in rows),
        rows=rows,
    )


def format_gradcheck_table(rows: list[GradcheckRow]) -> str:
    """One line per (layer, gradient): shape, normwise and elementwise relative error, verdict.

    >>> print(format_gradcheck_table(run_gradchecks(seed=0)[:1]))  # doctest: +ELLIPSIS
    layer                  gradient shape        rel. error max elementwise  result
    ---...
    affine                 dx       3x2x3          ...e-1...        ...e-...  ok
    """
    header = f"{'layer':<22} {'gradient':<8} {'shape':<12} {'rel. error':>10} "
    header += f"{'max elementwise':>15}  result"
    lines = [header, "-" * len(header)]
    for row in rows:
        shape = "x".join(str(size) for size in row["shape"])
        verdict = "ok" if row["passed"] else f"FAIL (> {TOLERANCE:.0e})"
        lines.append(
            f"{row['layer']:<22} {row['gradient']:<8} {shape:<12} {row['rel_error']:>10.2e} "
            f"{row['max_elementwise_rel_error']:>15.2e}  {verdict}"
        )
    return "\n".join(lines)


def format_gradcheck_verdict(report: GradcheckReport) -> str:
    """The sentence under the table: which gradients failed, or that all agree.

    >>> format_gradcheck_verdict(gradcheck_report(seed=0))  # doctest: +ELLIPSIS
    'all 57 gradients agree (largest relative error ...e-1... <= 1e-07, seed 0)'
    """
    failed = [row for row in report["rows"] if not row["passed"]]
    total = len(report["rows"])
    if failed:
        names = ", ".join(f"{row['layer']} {row['gradient']}" for row in failed)
        return f"{len(failed)} of {total} gradients exceed {report['tolerance']:.0e}: {names}"
    return (
        f"all {total} gradients agree (largest relative error "
        f"{report['max_rel_error']:.1e} <= {report['tolerance']:.0e}, seed {report['seed']})"
    )
