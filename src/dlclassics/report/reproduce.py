"""``dlc reproduce``: run every part of the reference write-up and write the report.

Each part runs in its own folder ``OUT/<part>/`` and leaves a ``part.json`` record (settings,
status, time, result or error). A part with the same settings and success is reused; one that was
interrupted or failed continues from its own checkpoints; ``--force`` or other settings start it
afresh. A part that fails is recorded with its error and the rest still run.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import importlib
import json
import os
import platform
import shutil
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dlclassics import __version__
from dlclassics.io import atomic_write_json
from dlclassics.report.findings import findings_table
from dlclassics.report.sections import Figure, Finding, Section, Table
from dlclassics.report.writers import write_html, write_markdown
from dlclassics.stats import Estimate

PROFILES = ("tiny", "quick", "full")
RECORD_NAME = "part.json"


@dataclass(frozen=True)
class Part:
    key: str
    title: str
    module: str  # provides run_part(out_dir, data_root, profile) -> PartResult


PARTS: dict[str, Part] = {
    p.key: p
    for p in (
        Part("transfer", "1. Transfer learning", "dlclassics.transfer.reproduce"),
        Part("style", "2. Neural style transfer", "dlclassics.style.reproduce"),
        Part("gradients", "3. RNN and LSTM layers in NumPy", "dlclassics.numpy_nn.reproduce"),
        Part("captioning", "4. Image captioning", "dlclassics.captioning.reproduce"),
        Part("sentiment", "5. Sentence sentiment", "dlclassics.sentiment.reproduce"),
    )
}


def part_settings(profile: str, data_root: Path) -> dict[str, str]:
    """What must match for a stored part result to be reused."""
    return {"profile": profile, "data_root": str(data_root.resolve()), "version": __version__}


def read_record(part_dir: Path) -> dict[str, Any] | None:
    try:
        return json.loads((part_dir / RECORD_NAME).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None  # no record, or a damaged one: the part runs (again)


def stored_cell(value: object) -> object:
    """A table cell as ``part.json`` stores it, back as the object it was: a figure with its
    interval was stored as {"value", "low", "high"}."""
    if isinstance(value, dict) and set(value) == {"value", "low", "high"}:
        return Estimate(**value)
    return value


def build_section(part: Part, record: dict[str, Any] | None, part_dir: Path) -> Section:
    """The section of ``part`` from its record (None when the part has never run); the record's
    ``result`` is ``PartResult.to_record()``, figure paths relative to ``part_dir``."""
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
            Table(
                t["title"],
                list(t["columns"]),
                [[stored_cell(cell) for cell in row] for row in t["rows"]],
                t.get("note", ""),
                bool(t.get("folded", False)),
            )
            for t in result.get("tables", [])
        ],
        figures=[Figure(part_dir / f["path"], f["caption"]) for f in result.get("figures", [])],
        notes=[str(n) for n in result.get("notes", [])],
        markdown=str(result.get("markdown", "")),
        findings=[Finding.from_record(f) for f in result.get("findings", [])],
    )


def run_one_part(part: Part, part_dir: Path, data_root: Path, profile: str) -> dict[str, Any]:
    """Run a part, catching its failure; returns and stores its record. A "running" record is
    written first, so that a run stopped half-way is recognised (and continued) next time."""
    part_dir.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    record: dict[str, Any] = {
        "part": part.key,
        "settings": part_settings(profile, data_root),
        "started": dt.datetime.now().isoformat(timespec="seconds"),
        "status": "running",
    }
    atomic_write_json(part_dir / RECORD_NAME, record)
    try:
        run_part = importlib.import_module(part.module).run_part
        result = run_part(out_dir=part_dir, data_root=data_root, profile=profile)
        record["result"] = result.to_record()
        record["status"] = "ok"
    except Exception as exc:  # a failed part is reported in its section; the others still run
        record["status"] = "failed"
        record["error"] = f"{type(exc).__name__}: {exc}".strip().splitlines()[0]
        record["traceback"] = traceback.format_exc()
    record["duration_s"] = time.perf_counter() - started
    atomic_write_json(part_dir / RECORD_NAME, record)
    return record


def machine_header(profile: str, data_root: Path, timings: dict[str, float]) -> dict[str, str]:
    import numpy
    import torch

    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        lines = Path("/proc/cpuinfo").read_text().splitlines()
        cpu = next((x.split(":", 1)[1].strip() for x in lines if x.startswith("model name")), cpu)
    return {
        "date": dt.datetime.now().strftime("%Y-%m-%d %H:%M"),
        "versions": f"dlclassics {__version__}, Python {platform.python_version()}, "
        f"torch {torch.__version__}, numpy {numpy.__version__}",
        "machine": f"{cpu}, {os.cpu_count()} logical cores, {platform.system()}",
        "settings": f"profile {profile}, data root {data_root.resolve()}",
        "time per part": ", ".join(f"{k} {v:.0f} s" for k, v in timings.items())
        + (f" (total {sum(timings.values()):.0f} s)" if timings else "–"),
    }


def run_reproduce(
    out_dir: Path,
    data_root: Path,
    profile: str = "quick",
    only: Sequence[str] | None = None,
    force: bool = False,
    log: Callable[[str], None] = print,
) -> list[Section]:
    """Run the selected parts (reusing finished ones) and write ``index.html`` and ``report.md``."""
    if profile not in PROFILES:
        raise ValueError(f"profile must be one of {PROFILES}, got {profile!r}")
    selected = list(only) if only else list(PARTS)
    settings = part_settings(profile, data_root)
    for key in selected:
        part, part_dir = PARTS[key], out_dir / key
        record = read_record(part_dir)
        same_settings = bool(record) and record.get("settings") == settings
        if not force and same_settings and record.get("status") == "ok":
            log(f"[{key}] reusing the result from {record.get('started', '?')} (--force reruns)")
            continue
        if force or not same_settings:
            # other settings (or --force): start clean, so no checkpoint of theirs is resumed
            shutil.rmtree(part_dir, ignore_errors=True)
            log(f"[{key}] running ({profile})…")
        else:
            log(f"[{key}] continuing an unfinished run ({profile})…")
        record = run_one_part(part, part_dir, data_root, profile)
        outcome = "done" if record["status"] == "ok" else f"FAILED: {record['error']}"
        log(f"[{key}] {outcome} in {record['duration_s']:.0f} s")

    sections, timings = [], {}
    for key, part in PARTS.items():
        record = read_record(out_dir / key)
        sections.append(build_section(part, record, out_dir / key))
        if record and record.get("duration_s") is not None:
            timings[key] = float(record["duration_s"])
    header = machine_header(profile, data_root, timings)
    title = "dlclassics — five classic deep-learning experiments"
    summary = findings_table(sections)
    write_html(out_dir / "index.html", title, header, summary, sections)
    write_markdown(out_dir / "report.md", title, header, summary, sections)
    return sections
