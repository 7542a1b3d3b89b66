"""Adam (Kingma & Ba, 2015) for the one tensor style transfer optimises: the image's pixels.

Written out instead of using ``torch.optim.Adam`` because that class imports ``torch._dynamo`` on
construction, which costs seconds of start-up on a small CPU, longer than many style runs take to
optimise. The update is the same as ``torch.optim.Adam`` with its defaults (tested against it).
"""

from __future__ import annotations

from collections.abc import Callable

import torch


class PixelAdam:
    """Adam on a single tensor; ``lr`` may be changed between steps (the schedule sets it).

    m ← β1 m + (1 − β1) g,  v ← β2 v + (1 − β2) g²,
    x ← x − lr · (m / (1 − β1ᵗ)) / (sqrt(v / (1 − β2ᵗ)) + ε)
    """

    def __init__(self, param: torch.Tensor, lr: float, betas=(0.9, 0.999), eps=1e-8) -> None:
        self.param, self.lr, self.eps = param, lr, eps
        self.beta1, self.beta2 = betas
        self.m = torch.zeros_like(param)  # first moment, same shape as param
        self.v = torch.zeros_like(param)  # second moment
        self.t = 0

    @torch.no_grad()
    def step(self, closure: Callable[[], torch.Tensor]) -> torch.Tensor:
        """Evaluate ``closure`` (which sets ``param.grad``) under autograd, then update ``param``."""
        with torch.enable_grad():
            loss = closure()
        grad = self.param.grad
        self.t += 1
        self.m.mul_(self.beta1).add_(grad, alpha=1 - self.beta1)
        self.v.mul_(self.beta2).addcmul_(grad, grad, value=1 - self.beta2)
        m_hat = self.m / (1 - self.beta1**self.t)
        v_hat = self.v / (1 - self.beta2**self.t)
        self.param.addcdiv_(m_hat, v_hat.sqrt_().add_(self.eps), value=-self.lr)
        return loss
