"""The optimisation loop: change the generated image's pixels to lower Lc + Ls + Ltv.

Pixels live in [0, 1] and are clamped back into that range after every step (projected gradient
descent). The reference ran Adam with lr 3.0 on ImageNet-normalised pixels (std ≈ 0.226), clamped
to [-1.5, 1.5], and dropped the rate to 0.1 at step 180 of 200. A step of 3.0 there is a step of
3.0 * 0.226 ≈ 0.68 in [0, 1] pixels: Adam's first steps move every pixel by about the learning
rate, so that rate throws the image to the clamp bounds. We keep the schedule's shape (decay at 90 %
of the iterations) with rates chosen for [0, 1] pixels (see ``OptimConfig``).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from tqdm import tqdm

from dlclassics.errors import DlcError
from dlclassics.style.adam import PixelAdam
from dlclassics.style.features import StyleFeatureExtractor
from dlclassics.style.losses import content_loss, style_loss, tv_loss

LOSS_TERMS = ("total", "content", "style", "tv")
# log2 of the first losses optimised as they are (``loss_scale``); ordinary runs start near 1e3-1e5
ORDINARY_LOSS = (-10, 40)


@dataclass(frozen=True)
class LossWeights:
    """wc, ws_l (one per style layer) and wtv of the reference write-up's losses."""

    content: float
    style: tuple[float, ...]
    tv: float


@dataclass(frozen=True)
class OptimConfig:
    """How the pixels are optimised: ``iterations`` steps of "adam" or "lbfgs", starting from the
    content photo or from uniform noise (``init``). Adam's learning rate, in [0, 1] pixel units,
    is ``lr`` until ``decay_at`` of the iterations, then ``lr_decayed`` (the reference's 3.0 → 0.1
    ratio is 30×); ``lbfgs_history`` is the number of past steps L-BFGS remembers."""

    iterations: int = 200
    optimizer: str = "adam"
    lr: float = 0.02
    lr_decayed: float = 0.002
    decay_at: float = 0.9
    lbfgs_history: int = 20
    init: str = "content"


@dataclass
class LossHistory:
    """Each loss term after k optimiser steps, k = 0 … iterations (iterations + 1 entries)."""

    total: list[float] = field(default_factory=list)
    content: list[float] = field(default_factory=list)
    style: list[float] = field(default_factory=list)
    tv: list[float] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)  # wall time when the image had k steps

    def append(self, terms: dict[str, float], seconds: float) -> None:
        for name in LOSS_TERMS:
            getattr(self, name).append(terms[name])
        self.seconds.append(seconds)

    def as_dict(self) -> dict[str, list[float]]:
        return {name: getattr(self, name) for name in (*LOSS_TERMS, "seconds")}


def initial_image(content_pixels: torch.Tensor, init: str, seed: int) -> torch.Tensor:
    """The starting image, (1, 3, H, W) in [0, 1] on the content's device: a copy of the content
    photo or uniform noise (drawn on the CPU, so a seed gives the same start on every device)."""
    if init == "content":
        return content_pixels.clone()
    if init == "noise":
        generator = torch.Generator().manual_seed(seed)
        return torch.rand(content_pixels.shape, generator=generator).to(content_pixels.device)
    raise DlcError(f"unknown --init {init!r}; choose content or noise")


def total_loss(
    pixels: torch.Tensor,
    extractor: StyleFeatureExtractor,
    *,
    content_target: torch.Tensor,
    style_targets: list[torch.Tensor],
    weights: LossWeights,
) -> tuple[torch.Tensor, dict[str, float]]:
    """Lc + Ls + Ltv of ``pixels`` (1, 3, H, W); returns the differentiable total and each term."""
    features, grams = extractor(pixels)
    terms = {
        "content": content_loss(features, content_target, weights.content),
        "style": style_loss(grams, style_targets, weights.style),
        "tv": tv_loss(pixels, weights.tv),
    }
    total = terms["content"] + terms["style"] + terms["tv"]
    values = {"total": total.item(), **{name: t.item() for name, t in terms.items()}}
    return total, values


def loss_scale(first_total: float) -> float:
    """The power of two the optimisers see the loss (and its gradient) multiplied by: 1 when the
    run's first loss lies in ``ORDINARY_LOSS`` (every ordinary run takes the same steps as
    without it), else the inverse of the power of two nearest it.

    Why: at loss weights near 1e20 the backward pass and L-BFGS's dot products overflow float32,
    and at tiny weights L-BFGS's absolute tolerances (1e-7 on the gradient) end it at once; both
    "finish" near the starting image. A power of two is exact, so nothing else changes.

    Example:
        >>> loss_scale(5000.0), loss_scale(2.0**70)
        (1.0, 8.470329472543003e-22)
    """
    low, high = ORDINARY_LOSS
    if not 0 < first_total < math.inf or low <= math.log2(first_total) <= high:
        return 1.0
    return 2.0 ** -round(math.log2(first_total))


def check_finite(values: dict[str, float], pixels: torch.Tensor, iteration: int) -> None:
    """Stop at a NaN or infinite loss or pixel gradient, with the reason in one line: infinite at
    the first iteration, the loss weights exceed float32's range (3.4e38); else the steps
    diverged (or a weight is NaN).

    Example:
        >>> check_finite({"total": 1.0}, torch.zeros(1, requires_grad=True), 0)  # fine: no error
    """
    what = f"the style loss became {values['total']}"
    if math.isfinite(values["total"]) and pixels.grad is not None:
        if bool(torch.isfinite(pixels.grad).all()):
            return
        what = f"the pixel gradient overflowed float32 (loss {values['total']:.3g})"
    if iteration == 0 and not math.isnan(values["total"]):
        raise DlcError(
            f"{what} at iteration 0: the loss weights are too large for float32 arithmetic; "
            "lower --style-weight, --style-scale, --content-weight or --tv-weight"
        )
    raise DlcError(f"{what} at iteration {iteration}: lower the learning rate or the loss weights")


def take_step(
    optimizer: PixelAdam | torch.optim.LBFGS,
    closure: Callable[[], torch.Tensor],
    pixels: torch.Tensor,
    *,
    evaluations: list[dict[str, float]],
    step: int,
) -> dict[str, float]:
    """One optimiser step, then clamp the pixels to [0, 1]; the loss terms at the step's start.

    The progress check: an Adam step moves every pixel whose gradient is not 0 (``PixelAdam``
    keeps its moments in float32's range at any loss scale), so a step that left the image
    unchanged although the loss has a gradient means the steps are below float32's resolution
    of the pixels: refused with the reason instead of "finishing" with the starting image.
    (L-BFGS is not checked: it rightly stands still once converged.)
    """
    first_evaluation = len(evaluations)
    before = pixels.detach().clone() if isinstance(optimizer, PixelAdam) else None
    optimizer.step(closure)
    with torch.no_grad():
        pixels.clamp_(0.0, 1.0)
    values = evaluations[first_evaluation]  # L-BFGS's line search may evaluate several times
    stuck = before is not None and pixels.grad is not None and torch.equal(before, pixels)
    if stuck and pixels.grad.abs().max().item() > 0:
        raise DlcError(
            f"iteration {step}: the optimiser step left the image unchanged (loss "
            f"{values['total']:.3g}): the learning rate is too small to change a pixel; "
            "raise --lr"
        )
    return values


def optimise_pixels(
    extractor: StyleFeatureExtractor,
    content_pixels: torch.Tensor,
    style_targets: list[torch.Tensor],
    *,
    weights: LossWeights,
    config: OptimConfig,
    seed: int = 0,
    progress: bool = True,
    start: torch.Tensor | None = None,
    desc: str = "style",
) -> tuple[torch.Tensor, LossHistory]:
    """Optimise the pixels, starting from the (1, 3, H, W) ``content_pixels`` in [0, 1] (or from
    noise drawn with ``seed``, or from ``start``, e.g. a coarser scale's result), against the
    blended Gram matrices ``style_targets`` (one (1, C_l, C_l) per style layer), on the content's
    device; ``progress`` shows a tqdm bar labelled ``desc``.

    Returns the final image (1, 3, H, W) in [0, 1] and the loss history (unscaled). A NaN or
    infinite loss or gradient (weights too large for float32), or a step that cannot change the
    image (learning rate too small), is a DlcError.

    Example:
        >>> picture, history = optimise_pixels(
        ...     extractor, content, targets, weights=weights, config=OptimConfig())
        >>> history.style[-1] < history.style[0]
        True
    """
    content_target = extractor.content_target(content_pixels)
    if start is None:
        start = initial_image(content_pixels, config.init, seed)
    pixels = start.detach().clone().requires_grad_(True)
    optimizer = make_optimizer(pixels, config)
    evaluations: list[dict[str, float]] = []  # every loss evaluation, in order
    history = LossHistory()
    started = time.perf_counter()
    scale = 1.0  # set from the first evaluation (``loss_scale``)

    def closure() -> torch.Tensor:
        """Loss and pixel gradient, both times ``scale``; L-BFGS's line search may call it
        several times a step."""
        nonlocal scale
        pixels.grad = None
        loss, values = total_loss(
            pixels,
            extractor,
            content_target=content_target,
            style_targets=style_targets,
            weights=weights,
        )
        if not evaluations:
            scale = loss_scale(values["total"])
        scaled = loss * scale
        scaled.backward()
        check_finite(values, pixels, len(history.total))
        evaluations.append(values)
        return scaled

    bar = tqdm(range(config.iterations), desc=desc, disable=None if progress else True)
    for step in bar:
        if isinstance(optimizer, PixelAdam) and step == int(config.decay_at * config.iterations):
            optimizer.lr = config.lr_decayed
        step_start = time.perf_counter() - started
        values = take_step(optimizer, closure, pixels, evaluations=evaluations, step=step)
        history.append(values, step_start)
        bar.set_postfix({term: f"{values[term]:.3g}" for term in ("content", "style", "tv")})
    with torch.no_grad():  # the loss of the final image, so the history has iterations + 1 points
        _, values = total_loss(
            pixels,
            extractor,
            content_target=content_target,
            style_targets=style_targets,
            weights=weights,
        )
    check_finite(values, pixels, config.iterations)
    history.append(values, time.perf_counter() - started)
    return pixels.detach(), history


def make_optimizer(pixels: torch.Tensor, config: OptimConfig) -> PixelAdam | torch.optim.LBFGS:
    """Adam at ``config.lr``, or L-BFGS doing one iteration per loop step (its curvature history
    carries over between steps) with a strong-Wolfe line search, so it needs no learning rate."""
    if config.optimizer == "adam":
        return PixelAdam(pixels, lr=config.lr)
    if config.optimizer == "lbfgs":
        search = {"history_size": config.lbfgs_history, "line_search_fn": "strong_wolfe"}
        return torch.optim.LBFGS([pixels], lr=1.0, max_iter=1, **search)
    raise DlcError(f"unknown optimizer {config.optimizer!r}; choose adam or lbfgs")
