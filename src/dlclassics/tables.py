"""One table renderer for the command line and the report: markdown rows with cells formatted
one way (fractions below 1 to three significant digits, larger numbers to two decimals)."""

from __future__ import annotations

from collections.abc import Sequence


def format_cell(value: object) -> str:
    """Numbers to fixed precision, booleans as yes/no, None and NaN as a dash, the rest as text."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        if value != value:  # NaN
            return "–"
        return f"{value:.3g}" if abs(value) < 1 else f"{value:.2f}"  # BLEU 0.534, acc 97.39
    if value is None:
        return "–"
    return str(value)


def percent(fraction: float | None) -> float | None:
    """A fraction in [0, 1] as a percentage for display (None stays None)."""
    return None if fraction is None else 100 * fraction


def markdown_table(columns: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A GitHub-markdown table."""
    lines = ["| " + " | ".join(columns) + " |", "|" + "|".join("---" for _ in columns) + "|"]
    lines += ["| " + " | ".join(format_cell(value) for value in row) + " |" for row in rows]
    return "\n".join(lines)
