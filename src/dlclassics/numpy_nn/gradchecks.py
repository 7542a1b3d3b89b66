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

import numpy as np

from dlclassics.numpy_nn import layers, rnn_layers
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


@dataclass(frozen=True)
class LayerCheck:
    """One layer to check.

    - layer: name shown in the table
    - inputs: the float64 arrays to differentiate with respect to, by argument name; the
      numerical gradient perturbs them in place, and both callables below read them
    - objective: () -> the scalar L at the current inputs
    - gradients: () -> the analytic gradients dL/d(input), in the order of ``inputs``
    """

    layer: str
    inputs: dict[str, np.ndarray]
    objective: Callable[[], float]
    gradients: Callable[[], tuple[np.ndarray, ...]]


def _check(layer: str, args: dict, forward: Callable, backward: Callable, dout) -> LayerCheck:
    """L = sum(forward(**args)[0] * dout); the gradients are ``backward(dout, cache)``."""
    return LayerCheck(
        layer,
        args,
        lambda: float(np.sum(forward(**args)[0] * dout)),
        lambda: backward(dout, forward(**args)[1]),
    )


def _affine(rng: np.random.Generator, s: GradcheckShapes) -> LayerCheck:
    args = {
        "x": rng.standard_normal((s.N, 2, 3)),
        "w": rng.standard_normal((6, s.M)),
        "b": rng.standard_normal(s.M),
    }
    dout = rng.standard_normal((s.N, s.M))
    return _check("affine", args, layers.affine_forward, layers.affine_backward, dout)


def _recurrent_weights(rng: np.random.Generator, s: GradcheckShapes, gates: int) -> dict:
    """Wx (D, gH), Wh (H, gH), b (gH,) at a scale that keeps tanh/sigmoid out of saturation."""
    return {
        "Wx": 0.4 * rng.standard_normal((s.D, gates * s.H)),
        "Wh": 0.4 * rng.standard_normal((s.H, gates * s.H)),
        "b": 0.4 * rng.standard_normal(gates * s.H),
    }


def _rnn_step(rng: np.random.Generator, s: GradcheckShapes) -> LayerCheck:
    args = {"x": rng.standard_normal((s.N, s.D)), "prev_h": rng.standard_normal((s.N, s.H))}
    args.update(_recurrent_weights(rng, s, gates=1))
    dnext_h = rng.standard_normal((s.N, s.H))
    forward, backward = rnn_layers.rnn_step_forward, rnn_layers.rnn_step_backward
    return _check("rnn_step", args, forward, backward, dnext_h)


def _sequence(
    rng: np.random.Generator, s: GradcheckShapes, layer: str, gates: int, forward, backward
) -> LayerCheck:
    """``rnn`` (1 gate) or ``lstm`` (4 gates) over T steps from h0; upstream dh is (N, T, H)."""
    args = {"x": rng.standard_normal((s.N, s.T, s.D)), "h0": rng.standard_normal((s.N, s.H))}
    args.update(_recurrent_weights(rng, s, gates))
    dh = rng.standard_normal((s.N, s.T, s.H))
    return _check(layer, args, forward, backward, dh)


def _rnn(rng: np.random.Generator, s: GradcheckShapes) -> LayerCheck:
    return _sequence(rng, s, "rnn", 1, rnn_layers.rnn_forward, rnn_layers.rnn_backward)


def _lstm_step(rng: np.random.Generator, s: GradcheckShapes) -> LayerCheck:
    weights = _recurrent_weights(rng, s, gates=4)
    args = {
        "x": rng.standard_normal((s.N, s.D)),
        "prev_h": rng.standard_normal((s.N, s.H)),
        "prev_c": rng.standard_normal((s.N, s.H)),
        **weights,
    }
    dnext_h, dnext_c = rng.standard_normal((2, s.N, s.H))

    def objective() -> float:
        next_h, next_c, _ = rnn_layers.lstm_step_forward(**args)
        return float(np.sum(next_h * dnext_h) + np.sum(next_c * dnext_c))

    return LayerCheck(
        "lstm_step",
        args,
        objective,
        lambda: rnn_layers.lstm_step_backward(
            dnext_h, dnext_c, rnn_layers.lstm_step_forward(**args)[2]
        ),
    )


def _lstm(rng: np.random.Generator, s: GradcheckShapes) -> LayerCheck:
    return _sequence(rng, s, "lstm", 4, rnn_layers.lstm_forward, rnn_layers.lstm_backward)


def _word_embedding(rng: np.random.Generator, s: GradcheckShapes) -> LayerCheck:
    words = rng.integers(0, s.V, size=(s.N, s.T))
    args = {"W": rng.standard_normal((s.V, s.D))}
    dout = rng.standard_normal((s.N, s.T, s.D))
    return LayerCheck(
        "word_embedding",
        args,
        lambda: float(np.sum(rnn_layers.word_embedding_forward(words, **args)[0] * dout)),
        lambda: (
            rnn_layers.word_embedding_backward(
                dout, rnn_layers.word_embedding_forward(words, **args)[1]
            ),
        ),
    )


def _temporal_affine(rng: np.random.Generator, s: GradcheckShapes) -> LayerCheck:
    args = {
        "x": rng.standard_normal((s.N, s.T, s.D)),
        "w": rng.standard_normal((s.D, s.M)),
        "b": rng.standard_normal(s.M),
    }
    dout = rng.standard_normal((s.N, s.T, s.M))
    forward, backward = rnn_layers.temporal_affine_forward, rnn_layers.temporal_affine_backward
    return _check("temporal_affine", args, forward, backward, dout)


def _temporal_softmax_loss(rng: np.random.Generator, s: GradcheckShapes) -> LayerCheck:
    targets = rng.integers(0, s.V, size=(s.N, s.T))
    mask = rng.random((s.N, s.T)) > 0.3  # about 30 % padding
    args = {"x": rng.standard_normal((s.N, s.T, s.V))}
    return LayerCheck(
        "temporal_softmax_loss",
        args,
        lambda: float(rnn_layers.temporal_softmax_loss(args["x"], targets, mask)[0]),
        lambda: (rnn_layers.temporal_softmax_loss(args["x"], targets, mask)[1],),
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
)


def run_gradchecks(seed: int = 0, shapes: GradcheckShapes | None = None) -> list[dict]:
    """Check every layer's analytic gradients against centred differences, in float64, on
    random problems of ``shapes`` (default ``GradcheckShapes()``) drawn with ``seed``.

    Returns one dict per (layer, gradient), in a fixed order, with keys
    ``layer`` (str), ``gradient`` (str, e.g. "dWh"), ``shape`` (list of int),
    ``rel_error`` (float, normwise relative error), ``max_elementwise_rel_error`` (float) and
    ``passed`` (bool, rel_error <= TOLERANCE).
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
            rows.append(
                {
                    "layer": check.layer,
                    "gradient": f"d{name}",
                    "shape": list(value.shape),
                    "rel_error": error,
                    "max_elementwise_rel_error": rel_error(grad, numeric),
                    "passed": error <= TOLERANCE,
                }
            )
    return rows


def gradcheck_report(seed: int = 0) -> dict:
    """``run_gradchecks(seed)`` with a summary: the JSON that ``dlc gradcheck --json`` writes.

    Returns a dict with keys ``seed`` (int), ``tolerance`` (float), ``all_passed`` (bool),
    ``max_rel_error`` (float, over all rows) and ``rows`` (the list from ``run_gradchecks``).
    """
    rows = run_gradchecks(seed)
    return {
        "seed": seed,
        "tolerance": TOLERANCE,
        "all_passed": all(row["passed"] for row in rows),
        "max_rel_error": max(row["rel_error"] for row in rows),
        "rows": rows,
    }


def format_gradcheck_table(rows: list[dict]) -> str:
    """One line per (layer, gradient): shape, normwise and elementwise relative error, verdict."""
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
