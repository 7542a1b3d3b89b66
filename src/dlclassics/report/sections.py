"""What a report is made of: sections holding tables, figures and notes.

A part of ``dlc reproduce`` returns a ``PartResult``, stored in the part's ``part.json``;
``report.reproduce.build_section`` turns the stored record into a ``Section``; the HTML and
Markdown writers render sections without knowing which experiment they came from. A part's
``findings`` (its headline figures against what they are compared with, built with
``report.findings``) make the "what we found" table at the top of the report.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from dlclassics.stats import Difference, Estimate
from dlclassics.tables import markdown_table


@dataclass
class Table:
    title: str
    columns: list[str]
    rows: list[list[object]]
    note: str = ""
    folded: bool = False  # shown closed (<details>) in the page: a long table for reference

    def to_markdown(self) -> str:
        """The table as GitHub Markdown, title above and note below (folded in <details>)."""
        lines = [f"**{self.title}**", "", markdown_table(self.columns, self.rows)]
        if self.note:
            lines += ["", f"_{self.note}_"]
        if self.folded:
            lines = [f"<details><summary>{self.title}</summary>", "", *lines[2:], "</details>"]
        return "\n".join(lines)


@dataclass
class Figure:
    path: Path  # absolute path of a PNG written by the run
    caption: str


@dataclass
class Finding:
    """One row of the "what we found" table: a headline figure of ours with its interval, the
    figure it is compared with, the difference with its interval, and the verdict.

    Attributes:
        claim: what is measured, e.g. "finetune: best val accuracy".
        ours: our figure (a fraction for accuracies and BLEU) with its 95 % interval.
        compared_with: what the other figure is, e.g. "the reference (ResNet-18)".
        theirs: the other figure (its interval when it has one; low = high = value otherwise),
            or None when the comparison is with a target (``verdict`` then says whether it is met).
        difference: ours − theirs with its interval (None without a measured comparison).
        verdict: "better", "same within noise", "worse", or a target's "met" / "missed".
        percent: show fractions as percentages (accuracies), else as they are (BLEU, ratios).
        note: a caveat the table must carry (e.g. a quick-settings result that the full
            settings reverse, with the full-settings figure).
    """

    claim: str
    ours: Estimate
    compared_with: str
    theirs: Estimate | None
    difference: Difference | None
    verdict: str
    percent: bool = True
    note: str = ""

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> Finding:
        """The finding stored in ``part.json`` (``dataclasses.asdict`` of one)."""
        theirs, difference = record.get("theirs"), record.get("difference")
        return cls(
            claim=str(record["claim"]),
            ours=Estimate(**record["ours"]),
            compared_with=str(record["compared_with"]),
            theirs=Estimate(**theirs) if theirs else None,
            difference=Difference(**difference) if difference else None,
            verdict=str(record["verdict"]),
            percent=bool(record.get("percent", True)),
            note=str(record.get("note", "")),
        )


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
    findings: list[Finding] = field(default_factory=list)


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
        findings: the part's headline figures for the "what we found" table.
    """

    summary: str = ""
    tables: list[Table] = field(default_factory=list)
    figures: list[Figure] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    markdown: str = ""
    data: dict[str, Any] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)

    def to_record(self) -> dict[str, Any]:
        """Plain data for ``part.json`` (figure paths as strings)."""
        return asdict(self)
