"""Write the report: ``index.html`` (one self-contained page, opens offline) and ``report.md``.

Figures are embedded in the HTML as base64 data URIs and maths as pre-rendered SVG, so the page
needs no network and can be mailed as one file. ``report.md`` links the figures by relative path.
"""

from __future__ import annotations

import base64
import html
import os
import re
from pathlib import Path

from dlclassics.io import atomic_write_text
from dlclassics.report.maths import markdown_to_html
from dlclassics.report.sections import Section, Table
from dlclassics.tables import format_cell

STYLE = """
body { font-family: -apple-system, 'Segoe UI', Helvetica, Arial, sans-serif; margin: 0 auto;
       max-width: 1100px; padding: 1.5em; color: #1d1d1f; background: #fff; line-height: 1.45; }
h1 { border-bottom: 3px solid #3b6ea5; padding-bottom: .3em; }
h2 { margin-top: 2em; border-bottom: 1px solid #ccc; }
table { border-collapse: collapse; margin: .8em 0; font-size: .93em; }
th, td { border: 1px solid #bbb; padding: .3em .6em; text-align: right; }
th { background: #eef3f8; } td:first-child, th:first-child { text-align: left; }
caption { caption-side: top; text-align: left; font-weight: 600; padding-bottom: .3em; }
figure { display: inline-block; margin: .5em; vertical-align: top; max-width: 47%; }
figure img { max-width: 100%; border: 1px solid #ddd; } figcaption { font-size: .9em; color: #444; }
.status-ok { color: #1a7f37; } .status-failed { color: #c62828; } .status-notrun { color: #888; }
.error { background: #fdecea; border-left: 4px solid #c62828; padding: .6em; white-space: pre-wrap;
         font-family: monospace; }
.header td { text-align: left; } .note { color: #555; font-size: .9em; }
.math { margin: .6em 0; } .math-display { display: block; margin: .3em 0; }
img.math-inline { vertical-align: middle; }
"""


def _html_table(table: Table) -> str:
    head = "".join(f"<th>{html.escape(c)}</th>" for c in table.columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(format_cell(v))}</td>" for v in row) + "</tr>"
        for row in table.rows
    )
    note = f"<p class='note'>{html.escape(table.note)}</p>" if table.note else ""
    caption = html.escape(table.title)
    return f"<table><caption>{caption}</caption><tr>{head}</tr>{body}</table>{note}"


def _html_section(section: Section) -> str:
    status_class = "status-" + section.status.replace(" ", "")
    timing = f" · {section.duration_s:.0f} s" if section.duration_s is not None else ""
    parts = [
        f"<section id='{section.key}'><h2>{html.escape(section.title)}</h2>",
        f"<p class='{status_class}'>status: {html.escape(section.status)}{timing}</p>",
    ]
    if section.error:
        parts.append(f"<div class='error'>{html.escape(section.error)}</div>")
    if section.summary:
        parts.append(f"<p>{html.escape(section.summary)}</p>")
    parts.extend(_html_table(t) for t in section.tables)
    for figure in section.figures:
        if figure.path.is_file():
            mime = "image/png" if figure.path.suffix.lower() == ".png" else "image/jpeg"
            data = base64.b64encode(figure.path.read_bytes()).decode("ascii")
            caption = html.escape(figure.caption)
            parts.append(
                f"<figure><img src='data:{mime};base64,{data}' alt='{caption}'>"
                f"<figcaption>{caption}</figcaption></figure>"
            )
    parts.extend(f"<p class='note'>{html.escape(n)}</p>" for n in section.notes)
    if section.markdown:  # its own <h1>… become <h3>…, below the section's <h2>
        body = markdown_to_html(section.markdown)
        parts.append(re.sub(r"<(/?)h([1-6])>", lambda m: f"<{m[1]}h{min(6, int(m[2]) + 2)}>", body))
    parts.append("</section>")
    return "\n".join(parts)


def write_html(path: Path, title: str, header: dict[str, str], sections: list[Section]) -> Path:
    rows = "".join(
        f"<tr><th>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>" for k, v in header.items()
    )
    toc = " · ".join(
        f"<a href='#{s.key}'>{html.escape(s.title)}</a> ({html.escape(s.status)})" for s in sections
    )
    page = (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title><style>{STYLE}</style></head><body>"
        f"<h1>{html.escape(title)}</h1><table class='header'>{rows}</table><p>{toc}</p>"
        + "\n".join(_html_section(s) for s in sections)
        + "</body></html>\n"
    )
    return atomic_write_text(path, page)


def write_markdown(path: Path, title: str, header: dict[str, str], sections: list[Section]) -> Path:
    out = [f"# {title}", ""]
    out += [f"- **{k}**: {v}" for k, v in header.items()]
    for section in sections:
        timing = f", {section.duration_s:.0f} s" if section.duration_s is not None else ""
        out += ["", f"## {section.title}", "", f"status: {section.status}{timing}"]
        if section.error:
            out += ["", "```", section.error, "```"]
        if section.summary:
            out += ["", section.summary]
        out += ["\n" + t.to_markdown() for t in section.tables]
        for figure in section.figures:
            if figure.path.is_file():
                rel = os.path.relpath(figure.path, path.parent)
                out += ["", f"![{figure.caption}]({Path(rel).as_posix()})"]
        out += ["", *section.notes] if section.notes else []
        if section.markdown:
            out += ["", section.markdown]
    return atomic_write_text(path, "\n".join(out) + "\n")
