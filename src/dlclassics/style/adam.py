"""Adam (Kingma & Ba, 2015) for the one tensor style transfer optimises: the image's pixels.

Written out instead of using ``torch.optim.Adam`` because that class imports ``torch._dynamo`` on
construction, which costs seconds of start-up on a small CPU, longer than many style runs take to
optimise. The update is the same as ``torch.optim.Adam`` with its defaults (tested against it).

Adam's step m̂ / (sqrt(v̂) + ε) does not depend on the loss's scale, but float32 does: with loss
weights around 1e20 the pixel gradients exceed 1.8e19, their squares overflow float32 (3.4e38),
v becomes inf for most pixels and their steps m / inf are 0, so the run ends near the photo while
its loss still falls a little (issue 27). Gradients so small that ε dominates sqrt(v) (weights
around 1e-10) stall the same way. So the moments are kept in units of a power of two, ``scale``:
1 while the gradients' peak stays within ``ORDINARY_PEAK`` (every ordinary run, which then takes
exactly torch's steps), else the power of two nearest that peak. Multiplying by a power of two is
exact in floating point, so rescaling m and v changes no step; only ε is then measured against
the rescaled gradient, which is what keeps tiny gradients moving.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

# log2 of the gradient peaks (largest |gradient| of a step) Adam takes in its own units: below
# 2^-16 ε = 1e-8 starts to swamp the smaller pixels' gradients; above 2^48 the squares come within
# 2^31 of float32's largest value, which v (a running mean of squares) must never reach.
ORDINARY_PEAK = (-16, 48)


def peak_exponent(grad: torch.Tensor) -> int | None:
    """log2 of the power of two nearest the largest |value| of ``grad``; None when that is 0 or
    not finite.

    Example:
        >>> peak_exponent(torch.tensor([0.5, -3.0e20]))
        68
    """
    peak = grad.abs().max().item()
    return round(math.log2(peak)) if 0 < peak < math.inf else None


class PixelAdam:
    """Adam on a single tensor; ``lr`` may be changed between steps (the schedule sets it).

    m ← β1 m + (1 − β1) g,  v ← β2 v + (1 − β2) g²,
    x ← x − lr · (m / (1 − β1ᵗ)) / (sqrt(v / (1 − β2ᵗ)) + ε)

    with g, m and sqrt(v) in units of ``2**exponent`` (see the module's note).

    Example:
        >>> x = torch.zeros(3, requires_grad=True)
        >>> adam = PixelAdam(x, lr=0.1)
        >>> def closure():
        ...     x.grad = None
        ...     loss = ((x - 1.0) ** 2).sum()
        ...     loss.backward()
        ...     return loss
        >>> _ = adam.step(closure)
        >>> x.detach()
        tensor([0.1000, 0.1000, 0.1000])
    """

    def __init__(
        self,
        param: torch.Tensor,
        lr: float,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
    ) -> None:
        self.param = param
        self.lr = lr
        self.eps = eps
        self.beta1, self.beta2 = betas
        self.m = torch.zeros_like(param)  # first moment, same shape as param
        self.v = torch.zeros_like(param)  # second moment
        self.t = 0
        self.exponent = 0  # the moments are in units of 2**exponent (g) and 4**exponent (v)

    @torch.no_grad()
    def step(self, closure: Callable[[], torch.Tensor]) -> torch.Tensor:
        """Evaluate ``closure`` (which sets ``param.grad``) under autograd, update ``param``, and
        return the loss ``closure`` returned."""
        with torch.enable_grad():
            loss = closure()
        grad = self.param.grad
        self._follow_scale(grad)
        if self.exponent:
            grad = grad * 2.0**-self.exponent  # exact: a power of two
        self.t += 1
        self.m.mul_(self.beta1).add_(grad, alpha=1 - self.beta1)
        self.v.mul_(self.beta2).addcmul_(grad, grad, value=1 - self.beta2)
        m_hat = self.m / (1 - self.beta1**self.t)
        v_hat = self.v / (1 - self.beta2**self.t)
        self.param.addcdiv_(m_hat, v_hat.sqrt_().add_(self.eps), value=-self.lr)
        return loss

    def _follow_scale(self, grad: torch.Tensor) -> None:
        """Move ``exponent`` to ``grad``'s peak when that leaves ``ORDINARY_PEAK`` (relative to
        the current unit), rescaling m and v exactly; an ordinary gradient changes nothing."""
        peak = peak_exponent(grad)
        low, high = ORDINARY_PEAK
        if peak is None or low <= peak - self.exponent <= high:
            return
        shift = peak - self.exponent
        self.m.mul_(2.0**-shift)
        self.v.mul_(4.0**-shift)
        self.exponent = peak
