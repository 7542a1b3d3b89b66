"""The PyTorch twin of ``CaptioningRNN``: the same parameters, the same equations, autograd.

It exists for speed on larger runs (``--engine torch``) and as an independent check of the
NumPy gradients: given the same weights its loss equals the NumPy loss and its autograd
gradients equal the hand-derived ones (tests). Parameter names and shapes are the NumPy model's,
so a checkpoint moves between engines unchanged; the LSTM keeps the gate order i, f, o, g.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from dlclassics.captioning.model import PARAM_NAMES


class TorchCaptioningRNN(nn.Module):
    """Args: params (NumPy arrays named as in ``CaptioningRNN.params``), cell_type, null_index."""

    def __init__(self, params: dict[str, np.ndarray], cell_type: str, null_index: int) -> None:
        super().__init__()
        self.cell_type = cell_type
        self.null_index = null_index
        for name in PARAM_NAMES:
            self.register_parameter(name, nn.Parameter(torch.from_numpy(np.array(params[name]))))

    def numpy_params(self) -> dict[str, np.ndarray]:
        """Copies of the parameters as NumPy arrays, for checkpoints and NumPy sampling."""
        return {name: getattr(self, name).detach().cpu().numpy().copy() for name in PARAM_NAMES}

    def forward(self, features: torch.Tensor, captions: torch.Tensor) -> torch.Tensor:
        """Masked softmax loss of features (N, D) and int64 captions (N, T + 1) starting with
        ``<START>``: summed over time and averaged over the batch, as in NumPy."""
        captions_in, captions_out = captions[:, :-1], captions[:, 1:]
        h = features @ self.W_proj + self.b_proj  # (N, H)
        x_proj = self.W_embed[captions_in] @ self.Wx + self.b  # (N, T, gH): all inputs at once
        c = torch.zeros_like(h)
        states = []
        for t in range(captions_in.shape[1]):
            a = x_proj[:, t] + h @ self.Wh
            if self.cell_type == "rnn":
                h = torch.tanh(a)
            else:
                i, f, o, g = a.chunk(4, dim=1)  # gate order i, f, o, g
                c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
                h = torch.sigmoid(o) * torch.tanh(c)
            states.append(h)
        scores = torch.stack(states, dim=1) @ self.W_vocab + self.b_vocab  # (N, T, V)
        losses = nn.functional.cross_entropy(
            scores.reshape(-1, scores.shape[-1]),  # (N*T, V)
            captions_out.reshape(-1),
            ignore_index=self.null_index,
            reduction="sum",
        )
        return losses / captions.shape[0]
