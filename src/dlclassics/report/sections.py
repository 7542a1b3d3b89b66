"""What a report is made of: sections holding tables, figures and notes.

A part of ``dlc reproduce`` returns a ``PartResult``, stored in the part's ``part.json``;
``report.reproduce.build_section`` turns the stored record into a ``Section``; the HTML and
Markdown writers render sections without knowing which experiment they came from.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from dlclassics.tables import markdown_table


@dataclass
class Table:
    title: str
    columns: list[str]
    rows: list[list[object]]
    note: str = ""

    def to_markdown(self) -> str:
        lines = [f"**{self.title}**", "", markdown_table(self.columns, self.rows)]
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


@dataclass
class PartResult:
    """What one part of ``dlc reproduce`` (``<experiment>.reproduce.run_part``) gives the report.

    Attributes:
        summary: one paragraph above the tables.
        tables: the part's tables (numbers as shown: accuracies in %).
        figures: figures with paths relative to the part's folder.
        notes: sentences under the tables.
        markdown: extra prose rendered with maths (the derivations).
        data: everything else worth keeping in ``part.json`` for scripts (plain data).
    """

    summary: str = ""
    tables: list[Table] = field(default_factory=list)
    figures: list[Figure] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    markdown: str = ""
    data: dict[str, Any] = field(default_factory=dict)

    def to_record(self) -> dict[str, Any]:
        """Plain data for ``part.json`` (figure paths as strings)."""
        return asdict(self)
