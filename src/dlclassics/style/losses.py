"""The three style-transfer losses, exactly as the write-up defines them (sums, not means).

F: features of the generated image at the content layer, P: the content image's features there;
G^l, A^l: Gram matrices of the generated and style images' features at style layer l.

- content:          Lc  = wc * Σ_{c,i,j} (F_{c,i,j} − P_{c,i,j})²
- style:            Ls  = Σ_l ws_l * Σ_{i,j} (G^l_{i,j} − A^l_{i,j})²
- total variation:  Ltv = wtv * Σ_c ( Σ_{i,j} (x_{c,i,j+1} − x_{c,i,j})² + Σ_{i,j} (x_{c,i+1,j} − x_{c,i,j})² )

The Gram matrix is normalised by the number of feature values, C * H * W (as in CS231n), so its
entries are averages over positions (divided further by C) and do not grow with the image size.
All functions are differentiable torch code: the pixels' gradients come from autograd.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch


def content_loss(features: torch.Tensor, target: torch.Tensor, weight: float) -> torch.Tensor:
    """Lc = weight * Σ (features − target)², both (N, C, H, W) at the content layer; a scalar."""
    return weight * (features - target).pow(2).sum()


def gram_matrix(features: torch.Tensor) -> torch.Tensor:
    """(N, C, H, W) features → (N, C, C) symmetric Gram matrices,
    G[n, a, b] = Σ_{i,j} features[n, a, i, j] * features[n, b, i, j] / (C*H*W)."""
    n, c, h, w = features.shape
    flat = features.reshape(n, c, h * w)  # (N, C, H*W)
    return torch.bmm(flat, flat.transpose(1, 2)) / (c * h * w)  # (N, C, C)


def style_loss(
    grams: Sequence[torch.Tensor], targets: Sequence[torch.Tensor], weights: Sequence[float]
) -> torch.Tensor:
    """Ls = Σ_l weights[l] * Σ_{i,j} (grams[l] − targets[l])²; a scalar.

    Per style layer l: ``grams[l]`` (N, C_l, C_l) of the generated image, ``targets[l]``
    (N or 1, C_l, C_l) of the style, ``weights[l]`` = ws_l.
    """
    if not len(grams) == len(targets) == len(weights):
        raise ValueError(
            f"style_loss needs one target and one weight per layer: got {len(grams)} Gram "
            f"matrices, {len(targets)} targets, {len(weights)} weights"
        )
    loss = grams[0].new_zeros(())
    for gram, target, weight in zip(grams, targets, weights, strict=True):
        loss = loss + weight * (gram - target).pow(2).sum()
    return loss


def tv_loss(image: torch.Tensor, weight: float) -> torch.Tensor:
    """Ltv = weight * Σ of squared differences between horizontal and vertical neighbours of the
    (N, 3, H, W) generated image; a scalar."""
    horizontal = image[..., :, 1:] - image[..., :, :-1]  # (N, 3, H, W-1)
    vertical = image[..., 1:, :] - image[..., :-1, :]  # (N, 3, H-1, W)
    return weight * (horizontal.pow(2).sum() + vertical.pow(2).sum())
