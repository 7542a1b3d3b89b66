"""How sure a figure is: intervals for accuracies and metrics, tests for comparisons.

A report that says "97.39 % vs 98.04 %" without saying that the two are one image of 153 apart
invites a conclusion the numbers do not carry. Every comparison the report makes goes through
this module: an accuracy gets a Wilson 95 % interval; two accuracies from independent test sets
(ours against the reference's published figure) get Newcombe's interval for their difference;
two models on the same items get McNemar's exact test and Newcombe's paired interval; a metric
that is not a plain proportion (corpus BLEU, CIDEr) gets a seeded bootstrap over the items.
``verdict`` turns a difference's interval into "better", "same within noise" or "worse".

Pure Python and NumPy: the figures were checked against statsmodels and scipy once (the values
are pinned in ``tests/test_stats.py``), which stay out of the dependencies.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np

CONFIDENCE = 0.95
BOOTSTRAP_RESAMPLES = 1000
BETTER, SAME, WORSE = "better", "same within noise", "worse"


@dataclass(frozen=True)
class Estimate:
    """A figure with its interval: ``value`` in [``low``, ``high``] at ``CONFIDENCE``."""

    value: float
    low: float
    high: float


@dataclass(frozen=True)
class Difference:
    """``value`` = first − second, its interval, and the two-sided p-value of "no difference"
    when the method gives one (McNemar, the bootstrap); ``method`` names how it was computed."""

    value: float
    low: float
    high: float
    method: str
    p_value: float | None = None


def _z(confidence: float) -> float:
    return NormalDist().inv_cdf(0.5 + confidence / 2)


def wilson_interval(successes: int, total: int, confidence: float = CONFIDENCE) -> Estimate:
    """The accuracy ``successes / total`` with its Wilson score interval, which stays inside
    [0, 1] and keeps its coverage near 100 % accuracy, where the normal approximation fails.

    >>> e = wilson_interval(149, 153)
    >>> round(e.value, 4), round(e.low, 4), round(e.high, 4)
    (0.9739, 0.9347, 0.9898)
    """
    if total <= 0 or not 0 <= successes <= total:
        raise ValueError(f"need 0 <= successes <= total and total > 0, got {successes}/{total}")
    z, share = _z(confidence), successes / total
    scale = 1 + z * z / total
    centre = (share + z * z / (2 * total)) / scale
    half = z * math.sqrt(share * (1 - share) / total + z * z / (4 * total * total)) / scale
    return Estimate(share, max(0.0, centre - half), min(1.0, centre + half))


def independent_difference(
    first: tuple[int, int], second: tuple[int, int], confidence: float = CONFIDENCE
) -> Difference:
    """Accuracy ``first`` − accuracy ``second``, each given as (correct, total), measured on
    independent items (ours against a published figure), with Newcombe's hybrid score interval
    (his method 10, from the two Wilson intervals).

    >>> d = independent_difference((150, 153), (141, 153))
    >>> round(d.value, 4), round(d.low, 4), round(d.high, 4)
    (0.0588, 0.0097, 0.114)
    """
    one, two = wilson_interval(*first, confidence), wilson_interval(*second, confidence)
    value = one.value - two.value
    low = value - math.hypot(one.value - one.low, two.high - two.value)
    high = value + math.hypot(one.high - one.value, two.value - two.low)
    return Difference(value, low, high, "Newcombe, independent samples")


def _binomial_tail(count: int, trials: int) -> float:
    """P(X <= count) for X ~ Binomial(trials, 1/2), exactly (integers, then one division)."""
    return sum(math.comb(trials, k) for k in range(count + 1)) / 2**trials


def mcnemar(
    first_correct: Sequence[bool], second_correct: Sequence[bool], confidence: float = CONFIDENCE
) -> Difference:
    """Two models scored on the same items (``first_correct[i]``: model one got item i right):
    the accuracy difference first − second with Newcombe's paired score interval (method 10)
    and McNemar's exact two-sided p-value, which looks only at the items the models disagree on.

    >>> d = mcnemar([True] * 90 + [False] * 10, [True] * 85 + [False] * 15)
    >>> round(d.value, 2), d.p_value
    (0.05, 0.0625)
    """
    one, two = np.asarray(first_correct, bool), np.asarray(second_correct, bool)
    if one.shape != two.shape or one.ndim != 1 or one.size == 0:
        raise ValueError(f"need two equal, non-empty 1-d lists, got {one.shape} and {two.shape}")
    both, only_first = int(np.sum(one & two)), int(np.sum(one & ~two))
    only_second, neither = int(np.sum(~one & two)), int(np.sum(~one & ~two))
    total, discordant = one.size, only_first + only_second
    p_value = min(1.0, 2 * _binomial_tail(min(only_first, only_second), discordant))
    first = wilson_interval(both + only_first, total, confidence)
    second = wilson_interval(both + only_second, total, confidence)
    margins = (both + only_first) * (only_second + neither) * (both + only_second)
    margins *= only_first + neither
    phi = (both * neither - only_first * only_second) / math.sqrt(margins) if margins else 0.0
    below, above = first.value - first.low, second.high - second.value
    low = math.sqrt(max(0.0, below**2 - 2 * phi * below * above + above**2))
    below, above = first.high - first.value, second.value - second.low
    high = math.sqrt(max(0.0, below**2 - 2 * phi * below * above + above**2))
    value = first.value - second.value
    return Difference(value, value - low, value + high, "McNemar exact, Newcombe paired", p_value)


def bootstrap_samples(
    metric: Callable[[np.ndarray], float],
    count: int,
    resamples: int = BOOTSTRAP_RESAMPLES,
    seed: int = 0,
) -> np.ndarray:
    """(resamples,) values of a corpus metric over ``count`` items, each on a resample of the
    items drawn with replacement (``metric(indices)`` scores the items at those indices, repeats
    included). The same seed draws the same resamples, so two models' samples are paired.

    >>> scores = np.array([0.2, 0.4, 0.6, 0.8])
    >>> bootstrap_samples(lambda i: float(scores[i].mean()), 4, resamples=3).shape
    (3,)
    """
    if count <= 0:
        raise ValueError("a bootstrap needs at least one item")
    draws = np.random.default_rng(seed).integers(0, count, size=(resamples, count))
    return np.array([metric(indices) for indices in draws], dtype=np.float64)


def percentile_interval(value: float, samples: np.ndarray) -> Estimate:
    """``value`` with the 95 % percentile interval of its bootstrap ``samples``.

    >>> e = percentile_interval(0.5, np.linspace(0, 1, 201))
    >>> round(e.low, 3), round(e.high, 3)
    (0.025, 0.975)
    """
    low, high = np.quantile(samples, [(1 - CONFIDENCE) / 2, (1 + CONFIDENCE) / 2])
    return Estimate(float(value), float(low), float(high))


def bootstrap_interval(
    metric: Callable[[np.ndarray], float],
    count: int,
    resamples: int = BOOTSTRAP_RESAMPLES,
    seed: int = 0,
) -> Estimate:
    """A corpus metric over ``count`` items (``metric`` as in ``bootstrap_samples``) with its
    95 % percentile bootstrap interval over the items.

    >>> scores = np.array([0.2, 0.4, 0.6, 0.8])
    >>> e = bootstrap_interval(lambda i: float(scores[i].mean()), 4)
    >>> round(e.value, 2), e.low < 0.5 < e.high
    (0.5, True)
    """
    samples = bootstrap_samples(metric, count, resamples, seed)
    return percentile_interval(metric(np.arange(count)), samples)


def paired_difference(value: float, first: np.ndarray, second: np.ndarray) -> Difference:
    """The difference ``value`` of two metrics with its 95 % percentile interval from their
    paired bootstrap samples (``first[k]`` and ``second[k]`` scored on the same resample), and
    a two-sided bootstrap p-value (twice the share of resampled differences beyond zero).

    >>> paired_difference(0.4, np.full(50, 0.9), np.full(50, 0.5)).low > 0
    True
    """
    samples = first - second
    low, high = np.quantile(samples, [(1 - CONFIDENCE) / 2, (1 + CONFIDENCE) / 2])
    far_side = np.mean(samples <= 0) if value > 0 else np.mean(samples >= 0)
    p_value = min(1.0, 2 * float(far_side))
    return Difference(float(value), float(low), float(high), "paired bootstrap over items", p_value)


def paired_bootstrap(
    first: Callable[[np.ndarray], float],
    second: Callable[[np.ndarray], float],
    count: int,
    resamples: int = BOOTSTRAP_RESAMPLES,
    seed: int = 0,
) -> Difference:
    """``first`` − ``second``, two metrics of two models over the same ``count`` items (each
    as in ``bootstrap_samples``), both scored on the same resampled items
    (``paired_difference``).

    >>> a, b = np.array([0.9, 0.8, 0.7, 0.6]), np.array([0.5, 0.4, 0.3, 0.2])
    >>> d = paired_bootstrap(lambda i: a[i].mean(), lambda i: b[i].mean(), 4)
    >>> round(d.value, 2), d.low > 0
    (0.4, True)
    """
    value = first(np.arange(count)) - second(np.arange(count))
    return paired_difference(
        value,
        bootstrap_samples(first, count, resamples, seed),
        bootstrap_samples(second, count, resamples, seed),
    )


def verdict(difference: Difference) -> str:
    """ "better" when the whole interval of first − second lies above zero, "worse" when below,
    else "same within noise": the data cannot tell the two apart.

    >>> verdict(Difference(0.0065, -0.012, 0.025, "Newcombe, independent samples"))
    'same within noise'
    """
    if difference.low > 0:
        return BETTER
    if difference.high < 0:
        return WORSE
    return SAME
