"""Recurrent layers in pure NumPy (no autograd) with hand-derived, numerically checked gradients.

The API is the CS231n assignment's: ``rnn_layers`` (RNN, LSTM, word embedding, temporal affine,
temporal softmax loss), ``layers`` (affine), ``optim`` (sgd, sgd_momentum, adam) and
``gradient_check``. ``dlc gradcheck`` checks every gradient numerically.
"""

from dlclassics.numpy_nn.layers import affine_backward, affine_forward
from dlclassics.numpy_nn.rnn_layers import (
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
    temporal_fc_backward,
    temporal_fc_forward,
    temporal_softmax_loss,
    word_embedding_backward,
    word_embedding_forward,
)

__all__ = [
    "affine_backward",
    "affine_forward",
    "lstm_backward",
    "lstm_forward",
    "lstm_step_backward",
    "lstm_step_forward",
    "rnn_backward",
    "rnn_forward",
    "rnn_step_backward",
    "rnn_step_forward",
    "temporal_affine_backward",
    "temporal_affine_forward",
    "temporal_fc_backward",
    "temporal_fc_forward",
    "temporal_softmax_loss",
    "word_embedding_backward",
    "word_embedding_forward",
]
