"""One table renderer for the command line and the report: markdown rows with cells formatted
one way (fractions below 1 to three significant digits, larger numbers to two decimals, a figure
with its 95 % interval as "97.39 (93.5–99.0)")."""

from __future__ import annotations

from collections.abc import Sequence
from typing import overload

from dlclassics.stats import Difference, Estimate


def _bound(value: float, scale: float) -> str:
    """An interval bound, one decimal coarser than the figure it brackets."""
    return f"{value:.1f}" if abs(scale) >= 1 else f"{value:.3f}"


def format_cell(value: object) -> str:
    """Numbers to fixed precision, booleans as yes/no, None and NaN as a dash, an ``Estimate``
    as its value and interval, the rest as text.

    >>> format_cell(0.53412), format_cell(97.3856), format_cell(Estimate(97.39, 93.47, 98.98))
    ('0.534', '97.39', '97.39 (93.5–99.0)')
    """
    if isinstance(value, Estimate):
        low, high = _bound(value.low, value.value), _bound(value.high, value.value)
        return f"{format_cell(value.value)} ({low}–{high})"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        if value != value:  # NaN
            return "–"
        return f"{value:.3g}" if abs(value) < 1 else f"{value:.2f}"  # BLEU 0.534, acc 97.39
    if value is None:
        return "–"
    return str(value)


def format_difference(difference: Difference, percent: bool) -> str:
    """A difference and its interval, signed: "+5.88 (+0.97 to +11.40) points" for fractions
    shown as percentages, "−0.072 (−0.110 to −0.031)" otherwise.

    >>> format_difference(Difference(0.0588, 0.0097, 0.114, "Newcombe"), percent=True)
    '+5.88 (+0.97 to +11.40) points'
    """
    if percent:
        scaled = (100 * difference.value, 100 * difference.low, 100 * difference.high)
        return "{:+.2f} ({:+.2f} to {:+.2f}) points".format(*scaled).replace("-", "−")
    bounds = (difference.value, difference.low, difference.high)
    return "{:+.3f} ({:+.3f} to {:+.3f})".format(*bounds).replace("-", "−")


@overload
def percent(fraction: Estimate) -> Estimate: ...
@overload
def percent(fraction: float | None) -> float | None: ...
def percent(fraction: float | Estimate | None) -> float | Estimate | None:
    """A fraction in [0, 1] (or an ``Estimate`` of one) as a percentage for display (None
    stays None).

    >>> percent(0.9739), percent(Estimate(0.5, 0.4, 0.6))
    (97.39, Estimate(value=50.0, low=40.0, high=60.0))
    """
    if fraction is None:
        return None
    if isinstance(fraction, Estimate):
        scaled = (100 * fraction.value, 100 * fraction.low, 100 * fraction.high)
        return Estimate(*scaled)
    return 100 * fraction


def markdown_table(columns: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A GitHub-markdown table.

    >>> print(markdown_table(["model", "acc"], [["bow", 95.49]]))
    | model | acc |
    |---|---|
    | bow | 95.49 |
    """
    lines = ["| " + " | ".join(columns) + " |", "|" + "|".join("---" for _ in columns) + "|"]
    lines += ["| " + " | ".join(format_cell(value) for value in row) + " |" for row in rows]
    return "\n".join(lines)
