"""The hand-written pixel Adam takes exactly torch.optim.Adam's steps."""

from __future__ import annotations

import torch

from dlclassics.style.adam import PixelAdam


def test_pixel_adam_matches_torch_adam_including_a_learning_rate_change():
    generator = torch.Generator().manual_seed(0)
    target = torch.randn(2, 3, 4, generator=generator)
    ours = torch.randn(2, 3, 4, generator=generator).requires_grad_(True)
    theirs = ours.detach().clone().requires_grad_(True)
    ours_opt = PixelAdam(ours, lr=0.1)
    theirs_opt = torch.optim.Adam([theirs], lr=0.1)

    def closure_for(x: torch.Tensor):
        def closure() -> torch.Tensor:
            x.grad = None
            loss = ((x - target) ** 4).sum()  # non-quadratic, so the moments matter
            loss.backward()
            return loss

        return closure

    for step in range(12):
        if step == 8:
            ours_opt.lr = 0.01
            theirs_opt.param_groups[0]["lr"] = 0.01
        ours_loss = ours_opt.step(closure_for(ours))
        theirs_loss = theirs_opt.step(closure_for(theirs))
        torch.testing.assert_close(ours_loss, theirs_loss)
        torch.testing.assert_close(ours.detach(), theirs.detach(), rtol=1e-6, atol=1e-7)
