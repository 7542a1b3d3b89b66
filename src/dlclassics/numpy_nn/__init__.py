"""Recurrent layers in pure NumPy (no autograd) with hand-derived, numerically checked gradients.

The API is the CS231n assignment's: ``rnn_layers`` (RNN, LSTM, word embedding, temporal affine,
temporal softmax loss, and affine), ``layers``, ``optim`` (sgd, sgd_momentum, adam) and
``gradient_check``; ``rnn_layers``' names are importable from this package too. ``attention``
adds soft attention (Show, Attend and Tell) in the same style. ``gradcheck_report`` checks every
layer's gradients numerically (what ``dlc gradcheck`` prints).

Example:
    >>> import numpy as np
    >>> from dlclassics import numpy_nn
    >>> N, T, D, H = 2, 5, 3, 4
    >>> rng = np.random.default_rng(0)
    >>> x, h0 = rng.standard_normal((N, T, D)), np.zeros((N, H))
    >>> Wx, Wh = rng.standard_normal((D, 4 * H)), rng.standard_normal((H, 4 * H))
    >>> h, cache = numpy_nn.lstm_forward(x, h0, Wx, Wh, np.zeros(4 * H))
    >>> dx, dh0, dWx, dWh, db = numpy_nn.lstm_backward(np.ones_like(h), cache)
    >>> next_Wx, adam_state = numpy_nn.optim.adam(Wx, dWx)
    >>> numpy_nn.gradcheck_report(seed=0)["all_passed"]
    True
"""

from dlclassics.numpy_nn import attention, gradient_check, layers, optim, rnn_layers
from dlclassics.numpy_nn.gradchecks import gradcheck_report, run_gradchecks
from dlclassics.numpy_nn.rnn_layers import *  # noqa: F403

__all__ = [
    *rnn_layers.__all__,
    "attention",
    "gradcheck_report",
    "gradient_check",
    "layers",
    "optim",
    "rnn_layers",
    "run_gradchecks",
]
