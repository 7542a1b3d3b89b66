"""Recurrent layers in pure NumPy (no autograd) with hand-derived, numerically checked gradients.

The API is the CS231n assignment's: ``rnn_layers`` (RNN, LSTM, word embedding, temporal affine,
temporal softmax loss, and affine), ``layers``, ``optim`` (sgd, sgd_momentum, adam) and
``gradient_check``; ``rnn_layers``' names are importable from this package too. ``attention``
adds soft attention (Show, Attend and Tell) in the same style. ``dlc gradcheck`` checks every
gradient numerically.
"""

from dlclassics.numpy_nn import rnn_layers
from dlclassics.numpy_nn.rnn_layers import *  # noqa: F403

__all__ = list(rnn_layers.__all__)
