"""Keeping the photo's colours (Gatys et al. 2016, "Preserving color in neural artistic style
transfer"): luminance-only transfer and colour histogram matching.

Colours are split into luminance Y and chrominance Cb, Cr (full-range YCbCr of JPEG, ITU-R
BT.601 weights), all in [0, 1]:

- ``--original-colors``: the style is transferred on luminance only. The content and style
  pictures become grey images of their luminance (the style's luminance first shifted and scaled
  to the content's mean and standard deviation), the optimiser paints the grey content, and the
  result is the painted luminance under the content's own Cb and Cr. Where the painted luminance
  together with the content's chrominance would leave the RGB cube, the luminance is clamped to
  the range that chrominance allows, so the chrominance is kept exactly (up to 8-bit rounding).
- ``--match-histogram``: before optimising, the style pictures' colours are mapped by the affine
  transform x → A (x − μ_s) + μ_c, A = Σ_c^½ Σ_s^−½, that gives them the content's mean colour
  and RGB covariance (so also its per-channel means and standard deviations).
"""

from __future__ import annotations

import torch

# RGB → YCbCr (full range, BT.601): rows Y, Cb − ½, Cr − ½
RGB_TO_YCBCR = (
    (0.299, 0.587, 0.114),
    (-0.168736, -0.331264, 0.5),
    (0.5, -0.418688, -0.081312),
)
# YCbCr → RGB: columns Y, Cb − ½, Cr − ½
YCBCR_TO_RGB = (
    (1.0, 0.0, 1.402),
    (1.0, -0.344136, -0.714136),
    (1.0, 1.772, 0.0),
)


def _mix(pixels: torch.Tensor, matrix: tuple) -> torch.Tensor:
    """Per-pixel 3 x 3 matrix product of (N, 3, H, W) pixels."""
    weights = torch.tensor(matrix, dtype=pixels.dtype, device=pixels.device)
    return torch.einsum("oc,nchw->nohw", weights, pixels)


def rgb_to_ycbcr(pixels: torch.Tensor) -> torch.Tensor:
    """(N, 3, H, W) RGB in [0, 1] → (N, 3, H, W) Y, Cb, Cr in [0, 1]."""
    ycc = _mix(pixels, RGB_TO_YCBCR)
    return ycc + torch.tensor([0.0, 0.5, 0.5], dtype=ycc.dtype, device=ycc.device).view(1, 3, 1, 1)


def ycbcr_to_rgb(ycc: torch.Tensor) -> torch.Tensor:
    """(N, 3, H, W) Y, Cb, Cr → RGB (not clamped)."""
    offset = torch.tensor([0.0, 0.5, 0.5], dtype=ycc.dtype, device=ycc.device).view(1, 3, 1, 1)
    return _mix(ycc - offset, YCBCR_TO_RGB)


def luminance(pixels: torch.Tensor) -> torch.Tensor:
    """(N, 3, H, W) RGB → (N, 1, H, W) luminance Y."""
    return rgb_to_ycbcr(pixels)[:, :1]


def grey(pixels: torch.Tensor) -> torch.Tensor:
    """(N, 3, H, W) RGB → the grey picture of its luminance, (N, 3, H, W) with R = G = B = Y."""
    return luminance(pixels).expand(-1, 3, -1, -1).contiguous()


def match_luminance(style: torch.Tensor, content: torch.Tensor) -> torch.Tensor:
    """``style``'s grey luminance picture with its mean and standard deviation moved to the
    content's (Gatys et al. 2016, eq. 2), clamped to [0, 1]; (1, 3, H, W) as ``grey``."""
    y_s, y_c = luminance(style), luminance(content)
    scale = y_c.std() / y_s.std().clamp_min(1e-6)
    matched = ((y_s - y_s.mean()) * scale + y_c.mean()).clamp(0.0, 1.0)
    return matched.expand(-1, 3, -1, -1).contiguous()


def with_content_colors(painted: torch.Tensor, content: torch.Tensor) -> torch.Tensor:
    """The luminance of ``painted`` (1, 3, H, W), the optimised picture, under the chrominance of
    ``content`` (1, 3, H, W), the photo at the same size: (1, 3, H, W) in [0, 1].

    With the content's Cb, Cr fixed, RGB = Y + a where a = RGB_content − Y_content; the result
    stays in [0, 1] exactly when max(−a) ≤ Y ≤ min(1 − a), a range that holds the content's own
    luminance, so clamping Y to it keeps every pixel in the RGB cube without touching Cb, Cr.
    """
    if painted.shape != content.shape:
        raise ValueError(f"painted {tuple(painted.shape)} and content {tuple(content.shape)}")
    offsets = content - luminance(content)  # (1, 3, H, W): what the chrominance adds per channel
    low = (-offsets).amax(dim=1, keepdim=True)
    high = (1.0 - offsets).amin(dim=1, keepdim=True)
    y = torch.minimum(torch.maximum(luminance(painted), low), high)
    return (y + offsets).clamp(0.0, 1.0)  # the clamp only removes float rounding


def chroma_difference(result: torch.Tensor, content: torch.Tensor) -> float:
    """Mean absolute difference of Cb and Cr between two (1, 3, H, W) pictures, in 1/255 units."""
    diff = (rgb_to_ycbcr(result)[:, 1:] - rgb_to_ycbcr(content)[:, 1:]).abs()
    return float(diff.mean()) * 255.0


def colour_statistics(pixels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(mean (3,), covariance (3, 3)) of a (1, 3, H, W) picture's pixels, in float64."""
    flat = pixels.reshape(3, -1).double()  # (3, H*W)
    mean = flat.mean(dim=1)
    centred = flat - mean[:, None]
    return mean, centred @ centred.T / flat.shape[1]


def _matrix_power(cov: torch.Tensor, power: float) -> torch.Tensor:
    """Σ^power of a symmetric positive semi-definite 3 x 3 matrix (eigenvalues floored)."""
    values, vectors = torch.linalg.eigh(cov)
    values = values.clamp_min(1e-8)
    return vectors @ torch.diag(values**power) @ vectors.T


def match_histogram(style: torch.Tensor, content: torch.Tensor) -> torch.Tensor:
    """``style`` (1, 3, H_s, W_s) recoloured so that its RGB mean and covariance equal those of
    ``content`` (1, 3, H, W), both in [0, 1]: x → A (x − μ_s) + μ_c with A = Σ_c^½ Σ_s^−½ (the
    symmetric square roots; Gatys et al. 2016, "image analogies" colour transfer), then clamped
    to [0, 1]. Returns (1, 3, H_s, W_s), ``style``'s dtype and device."""
    mean_s, cov_s = colour_statistics(style)
    mean_c, cov_c = colour_statistics(content)
    transform = _matrix_power(cov_c, 0.5) @ _matrix_power(cov_s, -0.5)  # (3, 3)
    flat = style.reshape(3, -1).double()
    mapped = transform @ (flat - mean_s[:, None]) + mean_c[:, None]
    return mapped.reshape(style.shape).to(style.dtype).clamp(0.0, 1.0)


def prepare_colors(
    content: torch.Tensor,
    styles: list[torch.Tensor],
    *,
    original_colors: bool,
    histogram: bool,
) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """The pictures the optimiser sees: (content, styles) after ``--match-histogram`` (styles
    recoloured to the content) and ``--original-colors`` (both as luminance, the styles' matched
    to the content's mean and spread)."""
    if histogram:
        styles = [match_histogram(style, content) for style in styles]
    if original_colors:
        styles = [match_luminance(style, content) for style in styles]
        content = grey(content)
    return content, styles
