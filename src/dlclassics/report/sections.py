"""What a report is made of: sections holding tables, figures and notes.

A part of ``dlc reproduce`` returns a plain dict; the part's section builder (``report.parts``)
turns it into a ``Section``; the HTML and Markdown writers render sections without knowing which
experiment they came from.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Table:
    title: str
    columns: list[str]
    rows: list[list[object]]
    note: str = ""

    def to_markdown(self) -> str:
        lines = [f"**{self.title}**", "", "| " + " | ".join(self.columns) + " |"]
        lines.append("|" + "|".join("---" for _ in self.columns) + "|")
        lines += ["| " + " | ".join(format_cell(v) for v in row) + " |" for row in self.rows]
        if self.note:
            lines += ["", f"_{self.note}_"]
        return "\n".join(lines)


@dataclass
class Figure:
    path: Path  # absolute path of a PNG written by the run
    caption: str


@dataclass
class Section:
    """One part of the report. ``status`` is "ok", "failed" or "not run"."""

    key: str
    title: str
    status: str
    duration_s: float | None = None
    error: str = ""
    summary: str = ""
    tables: list[Table] = field(default_factory=list)
    figures: list[Figure] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    markdown: str = ""  # extra prose, rendered with maths (the derivations)


def format_cell(value: object) -> str:
    """Numbers to fixed precision, everything else as text."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        if value != value:  # NaN
            return "–"
        return f"{value:.3g}" if abs(value) < 1 else f"{value:.2f}"  # BLEU 0.534, acc 97.39
    if value is None:
        return "–"
    return str(value)
