"""Numerical-vs-analytic gradient checks of every NumPy layer, the table behind ``dlc gradcheck``.

Each layer is run in float64 on small random inputs. Its outputs are reduced to a scalar
``L = sum_k sum(out_k * dout_k)`` with random upstream gradients ``dout_k``; the analytic backward
pass gives dL/d(input) directly, and centred differences of L give the numerical gradient.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from dlclassics.numpy_nn import layers, rnn_layers
from dlclassics.numpy_nn.gradient_check import eval_numerical_gradient, rel_error

TOLERANCE = 1e-7  # the largest relative error a float64 gradient may show


@dataclass(frozen=True)
class GradcheckShapes:
    """Sizes of the random problems: small, so every numerical gradient takes milliseconds."""

    N: int = 3  # minibatch
    T: int = 4  # time steps
    D: int = 5  # input size
    H: int = 6  # hidden size
    V: int = 7  # vocabulary / classes
    M: int = 8  # temporal affine outputs


@dataclass(frozen=True)
class LayerCheck:
    """One layer to check.

    - layer: name shown in the table
    - inputs: the float64 arrays to differentiate with respect to, by name
    - gradient_names: gradient name for each input, in the order of ``inputs``
    - forward: inputs -> list of outputs (arrays or a scalar loss)
    - backward: (forward outputs' upstream gradients, inputs) -> gradients by gradient name
    - upstream: one random upstream gradient per forward output (None for a scalar loss)
    """

    layer: str
    inputs: dict[str, np.ndarray]
    gradient_names: dict[str, str]
    forward: Callable[[dict[str, np.ndarray]], list]
    backward: Callable[[dict[str, np.ndarray]], dict[str, np.ndarray]]
    upstream: list[np.ndarray | None]


def _layer_checks(rng: np.random.Generator, s: GradcheckShapes) -> list[LayerCheck]:
    def randn(*shape: int, scale: float = 1.0) -> np.ndarray:
        return scale * rng.standard_normal(shape)

    checks = []

    aff = {"x": randn(s.N, 2, 3), "w": randn(6, s.M, scale=0.5), "b": randn(s.M)}
    aff_dout = randn(s.N, s.M)
    checks.append(
        LayerCheck(
            "affine",
            aff,
            {"x": "dx", "w": "dw", "b": "db"},
            lambda a: [layers.affine_forward(a["x"], a["w"], a["b"])[0]],
            lambda a: dict(
                zip(
                    ("dx", "dw", "db"),
                    layers.affine_backward(aff_dout, layers.affine_forward(**a)[1]),
                    strict=True,
                )
            ),
            [aff_dout],
        )
    )

    for cell, gates in (("rnn", 1), ("lstm", 4)):
        step_inputs = {
            "x": randn(s.N, s.D),
            "prev_h": randn(s.N, s.H),
            "Wx": randn(s.D, gates * s.H, scale=0.4),
            "Wh": randn(s.H, gates * s.H, scale=0.4),
            "b": randn(gates * s.H, scale=0.4),
        }
        seq_inputs = {
            "x": randn(s.N, s.T, s.D),
            "h0": randn(s.N, s.H),
            "Wx": randn(s.D, gates * s.H, scale=0.4),
            "Wh": randn(s.H, gates * s.H, scale=0.4),
            "b": randn(gates * s.H, scale=0.4),
        }
        dnext_h, dh = randn(s.N, s.H), randn(s.N, s.T, s.H)
        seq_forward = getattr(rnn_layers, f"{cell}_forward")
        seq_backward = getattr(rnn_layers, f"{cell}_backward")
        seq_names = ("dx", "dh0", "dWx", "dWh", "db")
        if cell == "rnn":
            step_forward = rnn_layers.rnn_step_forward
            step_names = ("dx", "dprev_h", "dWx", "dWh", "db")
            checks.append(
                LayerCheck(
                    "rnn_step",
                    step_inputs,
                    dict(zip(step_inputs, step_names, strict=True)),
                    lambda a: [step_forward(**a)[0]],
                    lambda a, d=dnext_h, n=step_names: dict(
                        zip(n, rnn_layers.rnn_step_backward(d, step_forward(**a)[1]), strict=True)
                    ),
                    [dnext_h],
                )
            )
        else:
            step_inputs["prev_c"] = randn(s.N, s.H)
            dnext_c = randn(s.N, s.H)
            step_names = ("dx", "dprev_h", "dprev_c", "dWx", "dWh", "db")
            lstm_step = rnn_layers.lstm_step_forward
            checks.append(
                LayerCheck(
                    "lstm_step",
                    step_inputs,
                    {
                        "x": "dx",
                        "prev_h": "dprev_h",
                        "Wx": "dWx",
                        "Wh": "dWh",
                        "b": "db",
                        "prev_c": "dprev_c",
                    },
                    lambda a: list(lstm_step(**a)[:2]),
                    lambda a, dh_=dnext_h, dc_=dnext_c, n=step_names: dict(
                        zip(
                            n,
                            rnn_layers.lstm_step_backward(dh_, dc_, lstm_step(**a)[2]),
                            strict=True,
                        )
                    ),
                    [dnext_h, dnext_c],
                )
            )
        checks.append(
            LayerCheck(
                cell,
                seq_inputs,
                dict(zip(seq_inputs, seq_names, strict=True)),
                lambda a, f=seq_forward: [f(**a)[0]],
                lambda a, f=seq_forward, g=seq_backward, d=dh: dict(
                    zip(seq_names, g(d, f(**a)[1]), strict=True)
                ),
                [dh],
            )
        )

    words = rng.integers(0, s.V, size=(s.N, s.T))
    emb = {"W": randn(s.V, s.D)}
    emb_dout = randn(s.N, s.T, s.D)
    checks.append(
        LayerCheck(
            "word_embedding",
            emb,
            {"W": "dW"},
            lambda a: [rnn_layers.word_embedding_forward(words, a["W"])[0]],
            lambda a: {
                "dW": rnn_layers.word_embedding_backward(
                    emb_dout, rnn_layers.word_embedding_forward(words, a["W"])[1]
                )
            },
            [emb_dout],
        )
    )

    ta = {"x": randn(s.N, s.T, s.D), "w": randn(s.D, s.M), "b": randn(s.M)}
    ta_dout = randn(s.N, s.T, s.M)
    checks.append(
        LayerCheck(
            "temporal_affine",
            ta,
            {"x": "dx", "w": "dw", "b": "db"},
            lambda a: [rnn_layers.temporal_affine_forward(**a)[0]],
            lambda a: dict(
                zip(
                    ("dx", "dw", "db"),
                    rnn_layers.temporal_affine_backward(
                        ta_dout, rnn_layers.temporal_affine_forward(**a)[1]
                    ),
                    strict=True,
                )
            ),
            [ta_dout],
        )
    )

    targets = rng.integers(0, s.V, size=(s.N, s.T))
    mask = rng.random((s.N, s.T)) > 0.3
    sm = {"x": randn(s.N, s.T, s.V)}
    checks.append(
        LayerCheck(
            "temporal_softmax_loss",
            sm,
            {"x": "dx"},
            lambda a: [rnn_layers.temporal_softmax_loss(a["x"], targets, mask)[0]],
            lambda a: {"dx": rnn_layers.temporal_softmax_loss(a["x"], targets, mask)[1]},
            [None],
        )
    )
    return checks


def _scalar_objective(check: LayerCheck, inputs: dict[str, np.ndarray]) -> float:
    """``sum_k sum(out_k * dout_k)``, or the loss itself for a loss layer."""
    total = 0.0
    for out, dout in zip(check.forward(inputs), check.upstream, strict=True):
        total += float(out) if dout is None else float(np.sum(out * dout))
    return total


def run_gradchecks(seed: int = 0, shapes: GradcheckShapes | None = None) -> list[dict]:
    """Check every layer's analytic gradients against centred differences, in float64.

    Inputs:
    - seed: seeds the random inputs, weights, targets and masks
    - shapes: problem sizes (defaults: ``GradcheckShapes()``)

    Returns one dict per (layer, gradient), in a fixed order, with keys
    ``layer`` (str), ``gradient`` (str, e.g. "dWh"), ``shape`` (list of int),
    ``rel_error`` (float, the largest elementwise relative error) and
    ``passed`` (bool, rel_error <= TOLERANCE).
    """
    rng = np.random.default_rng(seed)
    rows = []
    for check in _layer_checks(rng, shapes or GradcheckShapes()):
        analytic = check.backward(check.inputs)
        for input_name, gradient_name in check.gradient_names.items():
            numeric = eval_numerical_gradient(
                lambda _, c=check: _scalar_objective(c, c.inputs), check.inputs[input_name]
            )
            error = rel_error(analytic[gradient_name], numeric)
            rows.append(
                {
                    "layer": check.layer,
                    "gradient": gradient_name,
                    "shape": list(numeric.shape),
                    "rel_error": error,
                    "passed": error <= TOLERANCE,
                }
            )
    return rows
