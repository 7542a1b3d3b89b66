"""The frozen CNN that measures content and style: one forward pass gives both sets of features.

The generated image is optimised in [0, 1] pixel space; the extractor applies the backbone's own
normalisation (``Preprocessing.normalize``) before the layers, so the pixels stay interpretable
and clamping them to [0, 1] keeps them valid. ``Backbone.intermediate`` stops after the deepest
requested layer, so a style run never computes the later blocks or the classifier head.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import torch
from torch import nn

from dlclassics.backbones import Backbone, load_backbone
from dlclassics.errors import DlcError
from dlclassics.runtime import autocast
from dlclassics.style.losses import gram_matrix


def frozen_backbone(
    name: str, weights: str | Path | None = "imagenet", device: str = "cpu"
) -> Backbone:
    """``load_backbone`` on ``device``, prepared for optimising pixels through it.

    Eval mode (BatchNorm uses its running statistics), no parameter gradients (autograd skips
    every weight gradient), BatchNorm folded into the convolution before it (one pass over each
    feature map instead of two), and channels-last memory, which oneDNN's CPU convolutions run
    without layout conversions.
    """
    backbone = load_backbone(name, weights).eval()
    for parameter in backbone.parameters():
        parameter.requires_grad_(False)
    fold_batchnorm(backbone)
    return backbone.eval().to(device=device, memory_format=torch.channels_last)


@torch.no_grad()
def fold_batchnorm(model: nn.Module) -> None:
    """Merge every eval-mode BatchNorm2d that directly follows a Conv2d in an ``nn.Sequential``
    into that convolution's weight and bias, replacing the BatchNorm by ``nn.Identity`` (in place).

    BN(conv(x)) = γ (W*x + b − μ) / sqrt(σ² + ε) + β = (s W)*x + (s (b − μ) + β), s = γ / sqrt(σ² + ε).
    """
    for module in model.modules():
        if not isinstance(module, nn.Sequential):
            continue
        for i in range(len(module) - 1):
            conv, bn = module[i], module[i + 1]
            if not (isinstance(conv, nn.Conv2d) and isinstance(bn, nn.BatchNorm2d)):
                continue
            scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)  # (C_out,)
            bias = conv.bias if conv.bias is not None else torch.zeros_like(bn.running_mean)
            conv.weight.copy_(conv.weight * scale.view(-1, 1, 1, 1))  # (C_out, C_in/g, k, k)
            conv.bias = nn.Parameter(
                (bias - bn.running_mean) * scale + bn.bias, requires_grad=False
            )
            module[i + 1] = nn.Identity()


class StyleFeatureExtractor:
    """Content-layer features and style-layer Gram matrices of images in [0, 1], from a frozen
    ``backbone``'s layers named ``content_layer`` and ``style_layers``; on a GPU the backbone
    runs under ``precision``'s autocast (``runtime.autocast``), the losses in float32.

    Example:
        >>> extractor = StyleFeatureExtractor(frozen_backbone("efficientnet_lite0"), "block4",
        ...     ["stem", "block1"])
        >>> features, grams = extractor(torch.rand(1, 3, 64, 64))
        >>> [tuple(g.shape) for g in grams]
        [(1, 32, 32), (1, 24, 24)]
    """

    def __init__(
        self,
        backbone: Backbone,
        content_layer: str,
        style_layers: Sequence[str],
        *,
        precision: str = "fp32",
    ) -> None:
        backbone.check_layers((content_layer, *style_layers))
        self.backbone = backbone
        self.content_layer = content_layer
        self.style_layers = tuple(style_layers)
        self.precision = precision

    def features(self, pixels: torch.Tensor, names: Sequence[str]) -> dict[str, torch.Tensor]:
        """(1, 3, H, W) pixels in [0, 1] → the named layers' float32 features, normalised the way
        the backbone's weights expect, in channels-last memory."""
        normalised = self.backbone.preprocessing.normalize(pixels)
        normalised = normalised.contiguous(memory_format=torch.channels_last)
        with autocast(str(pixels.device), self.precision):
            features = self.backbone.intermediate(normalised, list(dict.fromkeys(names)))
        return {name: value.float() for name, value in features.items()}

    def __call__(self, pixels: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """(1, 3, H, W) pixels in [0, 1] → (content features (1, C, h, w), [Gram (1, C_l, C_l)])."""
        features = self.features(pixels, (self.content_layer, *self.style_layers))
        grams = [gram_matrix(features[name]) for name in self.style_layers]
        return features[self.content_layer], grams

    @torch.no_grad()
    def content_target(self, content_pixels: torch.Tensor) -> torch.Tensor:
        """P: the content image's features at the content layer, (1, C, h, w), computed once."""
        return self.features(content_pixels, [self.content_layer])[self.content_layer]

    @torch.no_grad()
    def style_targets(
        self, style_pixels: Sequence[torch.Tensor], blend: Sequence[float]
    ) -> list[torch.Tensor]:
        """A^l for every style layer, (1, C_l, C_l): the blend-weighted average of the Gram
        matrices of K style images (1, 3, H_k, W_k), blend weights normalised to sum 1.

        Matching the blended Gram matrix Σ_k b_k A_k^l (with Σ_k b_k = 1) has exactly the same
        gradient as minimising Σ_k b_k ||G^l − A_k^l||², so several styles mix in proportion to
        their blend weights while the loss is computed once per step.
        """
        if any(b < 0 for b in blend) or sum(blend) <= 0:
            raise DlcError(f"style blend weights must be >= 0 and not all 0, got {list(blend)}")
        total = float(sum(blend))
        blended: list = [0.0] * len(self.style_layers)
        for pixels, weight in zip(style_pixels, blend, strict=True):
            features = self.features(pixels, self.style_layers)
            grams = [gram_matrix(features[name]) * (weight / total) for name in self.style_layers]
            blended = [a + g for a, g in zip(blended, grams, strict=True)]
        return blended
