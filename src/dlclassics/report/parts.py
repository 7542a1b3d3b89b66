"""Turn each part's stored record into a report ``Section``.

A part's ``run_part`` returns a ``PartResult``; ``part.json`` keeps it as plain data
(``PartResult.to_record``): tables as ``{"title", "columns", "rows", "note"}``, figures as
``{"path", "caption"}`` with paths relative to the part's folder.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dlclassics.report.sections import Figure, Section, Table


def build_section(part: Any, record: dict[str, Any] | None, part_dir: Path) -> Section:
    """The section of ``part`` from its record (None when the part has never run)."""
    if record is None:
        return Section(part.key, part.title, "not run", summary="Not run yet: use --only.")
    result = record.get("result") or {}
    status = record.get("status", "failed")
    return Section(
        part.key,
        part.title,
        "interrupted" if status == "running" else status,
        duration_s=record.get("duration_s"),
        error=record.get("error", ""),
        summary=str(result.get("summary", "")),
        tables=[
            Table(t["title"], list(t["columns"]), [list(r) for r in t["rows"]], t.get("note", ""))
            for t in result.get("tables", [])
        ],
        figures=[Figure(part_dir / f["path"], f["caption"]) for f in result.get("figures", [])],
        notes=[str(n) for n in result.get("notes", [])],
        markdown=str(result.get("markdown", "")),
    )
