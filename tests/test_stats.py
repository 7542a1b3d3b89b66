"""dlclassics.stats against values computed once with statsmodels 0.15.0 and scipy 1.17.1
(in a throwaway virtual environment; neither is a dependency) and pinned here."""

from __future__ import annotations

import numpy as np
import pytest

from dlclassics.stats import (
    BETTER,
    SAME,
    WORSE,
    Difference,
    bootstrap_interval,
    independent_difference,
    mcnemar,
    paired_bootstrap,
    verdict,
    wilson_interval,
)


@pytest.mark.parametrize(
    ("successes", "total", "low", "high"),
    [  # statsmodels.stats.proportion.proportion_confint(successes, total, method="wilson")
        (149, 153, 0.9347131943281209, 0.9897872604002961),
        (9549, 10000, 0.9506549649312839, 0.9587956733510745),
        (0, 20, 0.0, 0.1611251580528194),
        (20, 20, 0.8388748419471804, 0.9999999999999999),
    ],
)
def test_wilson_matches_statsmodels(successes: int, total: int, low: float, high: float):
    estimate = wilson_interval(successes, total)
    assert estimate.value == pytest.approx(successes / total)
    assert (estimate.low, estimate.high) == pytest.approx((low, high), abs=1e-12)


def test_wilson_refuses_impossible_counts():
    with pytest.raises(ValueError, match="successes"):
        wilson_interval(5, 4)


@pytest.mark.parametrize(
    ("first", "second", "low", "high"),
    [  # statsmodels confint_proportions_2indep(..., method="newcomb", compare="diff")
        ((150, 153), (141, 153), 0.009655929926086028, 0.11400565984151324),
        ((9549, 10000), (9545, 10000), -0.005373339202062687, 0.0061741573918459),
    ],
)
def test_independent_difference_matches_statsmodels(first, second, low, high):
    difference = independent_difference(first, second)
    assert difference.value == pytest.approx(first[0] / first[1] - second[0] / second[1])
    assert (difference.low, difference.high) == pytest.approx((low, high), abs=1e-12)


def _paired(both: int, only_first: int, only_second: int, neither: int):
    """Correctness lists of two models with these four counts."""
    first = [True] * both + [True] * only_first + [False] * only_second + [False] * neither
    second = [True] * both + [False] * only_first + [True] * only_second + [False] * neither
    return first, second


@pytest.mark.parametrize(
    ("table", "p_value"),
    [  # statsmodels.stats.contingency_tables.mcnemar(np.array(table), exact=True).pvalue
        ((80, 10, 5, 5), 0.30175781249999994),
        ((9400, 120, 95, 385), 0.10145232764870649),
        ((140, 9, 1, 3), 0.021484375),
    ],
)
def test_mcnemar_exact_p_value_matches_statsmodels(table, p_value: float):
    difference = mcnemar(*_paired(*table))
    assert difference.p_value == pytest.approx(p_value, rel=1e-12)
    total = sum(table)
    assert difference.value == pytest.approx((table[1] - table[2]) / total)
    assert difference.low < difference.value < difference.high


def test_mcnemar_interval_is_newcombes_paired_method():
    # Newcombe's method 10 by hand for (80, 10, 5, 5): Wilson intervals of 0.90 and 0.85 on
    # n = 100, phi = (80·5 − 10·5) / sqrt(90·10·85·15), then the square-and-add with -2·phi
    difference = mcnemar(*_paired(80, 10, 5, 5))
    assert (difference.low, difference.high) == pytest.approx(
        (-0.027494575678769978, 0.13026652843354772), abs=1e-12
    )


def test_bootstrap_matches_the_t_interval_on_smooth_data():
    # scipy.stats.ttest_1samp(x, 0).confidence_interval() = (0.48878, 0.51658),
    # ttest_rel(x, y).confidence_interval() = (0.02308, 0.03702): the bootstrap's percentile
    # intervals agree to a tenth of their width on 400 items
    items = np.arange(400)
    x = np.sin(items * 0.37) * 0.2 + 0.5
    y = x - 0.03 + np.cos(items * 1.3) * 0.1
    single = bootstrap_interval(lambda i: float(x[i].mean()), 400, resamples=2000, seed=0)
    assert single.value == pytest.approx(0.5026775992184356)
    assert (single.low, single.high) == pytest.approx((0.48878, 0.51658), abs=0.003)
    paired = paired_bootstrap(lambda i: x[i].mean(), lambda i: y[i].mean(), 400, resamples=2000)
    assert paired.value == pytest.approx(0.03004736281727392)
    assert (paired.low, paired.high) == pytest.approx((0.02308, 0.03702), abs=0.0015)
    assert paired.p_value == 0.0 and verdict(paired) == BETTER


def test_bootstrap_is_seeded():
    scores = np.linspace(0, 1, 50)
    first = bootstrap_interval(lambda i: float(scores[i].mean()), 50, seed=3)
    assert bootstrap_interval(lambda i: float(scores[i].mean()), 50, seed=3) == first


def test_an_inseparable_comparison_reads_same_within_noise():
    # transfer at quick settings: 149 vs 150 of 153 validation images, one image apart
    one_image_apart = mcnemar(*_paired(148, 1, 2, 2))
    assert one_image_apart.p_value == 1.0
    assert verdict(one_image_apart) == SAME
    # sentiment: 95.49 % vs the reference's 95.45 % on 10 000 sentences
    assert verdict(independent_difference((9549, 10000), (9545, 10000))) == SAME
    # two captioners with the same per-image scores but for noise
    rng = np.random.default_rng(0)
    a, b = rng.uniform(0, 1, 200), rng.uniform(0, 1, 200)
    assert verdict(paired_bootstrap(lambda i: a[i].mean(), lambda i: b[i].mean(), 200)) == SAME


def test_verdict_reads_the_interval():
    assert verdict(Difference(0.05, 0.01, 0.09, "x")) == BETTER
    assert verdict(Difference(-0.05, -0.09, -0.01, "x")) == WORSE
    assert verdict(Difference(0.05, 0.0, 0.09, "x")) == SAME
