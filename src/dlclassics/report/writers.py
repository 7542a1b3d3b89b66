"""Write the report: ``index.html`` (one self-contained page, opens offline) and ``report.md``.

Figures are embedded in the HTML as base64 data URIs and maths as pre-rendered SVG, so the page
needs no network and can be mailed as one file. To keep it light enough to mail, each figure
is embedded as JPEG where that halves its bytes (photographs), else as PNG (plots), and nothing wider than the page's column is
embedded at more pixels than it is shown with; a figure is shown at its own pixel width (capped
at the column), so text drawn at 10 pt and 110 dpi stays at least 10 px high in the page for
figures up to ``READABLE_WIDTH`` pixels wide. ``report.md`` links the figures by relative path.
Both open with the "what we found" table.
"""

from __future__ import annotations

import base64
import html
import io
import os
import re
from pathlib import Path

from PIL import Image

from dlclassics.io import atomic_write_text
from dlclassics.report.maths import markdown_to_html
from dlclassics.report.sections import Section, Table
from dlclassics.tables import format_cell

COLUMN_WIDTH = 1052  # px: the page's 1100 px less its padding
# 10 pt at the figures' 110 dpi is 15.3 px: still 10 px when shown at 1052 of 1609 px
READABLE_WIDTH = 1609
JPEG_QUALITY = 85
JPEG_GAIN = 0.5  # JPEG only at under half the PNG's bytes: photographs, not plots with text

STYLE = """
body { font-family: -apple-system, 'Segoe UI', Helvetica, Arial, sans-serif; margin: 0 auto;
       max-width: 1100px; padding: 1.5em; color: #1d1d1f; background: #fff; line-height: 1.45; }
h1 { border-bottom: 3px solid #3b6ea5; padding-bottom: .3em; }
h2 { margin-top: 2em; border-bottom: 1px solid #ccc; }
table { border-collapse: collapse; margin: .8em 0; font-size: .93em; }
th, td { border: 1px solid #bbb; padding: .3em .6em; text-align: right; }
th { background: #eef3f8; } td:first-child, th:first-child { text-align: left; }
caption { caption-side: top; text-align: left; font-weight: 600; padding-bottom: .3em; }
figure { display: inline-block; margin: .5em; vertical-align: top; max-width: 100%; }
figure img { max-width: 100%; border: 1px solid #ddd; } figcaption { font-size: .9em; color: #444; }
#findings table { font-size: 1em; } #findings td, #findings th { text-align: left; }
details { margin: .5em 0; } summary { cursor: pointer; color: #3b6ea5; }
.status-ok { color: #1a7f37; } .status-failed { color: #c62828; } .status-notrun { color: #888; }
.error { background: #fdecea; border-left: 4px solid #c62828; padding: .6em; white-space: pre-wrap;
         font-family: monospace; }
.header td { text-align: left; } .note { color: #555; font-size: .9em; }
.math { margin: .6em 0; } .math-display { display: block; margin: .3em 0; }
img.math-inline { vertical-align: middle; }
"""


def embedded_image(path: Path) -> tuple[str, bytes, int]:
    """The MIME type, bytes and display width (px) of the figure at ``path`` as the page embeds
    it: no wider than the column, as JPEG where that takes under half the PNG's bytes (a
    photograph), else as PNG (a plot of a few flat colours, whose lines and text stay sharp)."""
    with Image.open(path) as opened:
        image = opened.convert("RGBA" if "A" in opened.getbands() else "RGB")
    if image.width > COLUMN_WIDTH:
        height = round(image.height * COLUMN_WIDTH / image.width)
        image = image.resize((COLUMN_WIDTH, height), Image.Resampling.LANCZOS)
    png, jpeg = io.BytesIO(), io.BytesIO()
    image.save(png, format="PNG", optimize=True)
    flat = Image.new("RGB", image.size, "white")
    flat.paste(image, mask=image.getchannel("A") if image.mode == "RGBA" else None)
    flat.save(jpeg, format="JPEG", quality=JPEG_QUALITY, optimize=True)
    if len(jpeg.getvalue()) < JPEG_GAIN * len(png.getvalue()):
        return "image/jpeg", jpeg.getvalue(), image.width
    return "image/png", png.getvalue(), image.width


def _html_table(table: Table) -> str:
    head = "".join(f"<th>{html.escape(c)}</th>" for c in table.columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(format_cell(v))}</td>" for v in row) + "</tr>"
        for row in table.rows
    )
    note = f"<p class='note'>{html.escape(table.note)}</p>" if table.note else ""
    caption = html.escape(table.title)
    rendered = f"<table><caption>{caption}</caption><tr>{head}</tr>{body}</table>{note}"
    if table.folded:
        return f"<details><summary>{caption}</summary>{rendered}</details>"
    return rendered


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
            mime, content, width = embedded_image(figure.path)
            data = base64.b64encode(content).decode("ascii")
            caption = html.escape(figure.caption)
            parts.append(
                f"<figure><img src='data:{mime};base64,{data}' width='{width}' alt='{caption}'>"
                f"<figcaption>{caption}</figcaption></figure>"
            )
    parts.extend(f"<p class='note'>{html.escape(n)}</p>" for n in section.notes)
    if section.markdown:  # its own <h1>… become <h3>…, below the section's <h2>
        body = markdown_to_html(section.markdown)
        parts.append(re.sub(r"<(/?)h([1-6])>", lambda m: f"<{m[1]}h{min(6, int(m[2]) + 2)}>", body))
    parts.append("</section>")
    return "\n".join(parts)


def write_html(
    path: Path, title: str, header: dict[str, str], summary: Table, sections: list[Section]
) -> Path:
    """The self-contained page: title, the "what we found" ``summary``, the run's ``header``
    (date, versions, machine, settings, times), then every section."""
    rows = "".join(
        f"<tr><th>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>" for k, v in header.items()
    )
    toc = " · ".join(
        f"<a href='#{s.key}'>{html.escape(s.title)}</a> ({html.escape(s.status)})" for s in sections
    )
    page = (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title><style>{STYLE}</style></head><body>"
        f"<h1>{html.escape(title)}</h1><section id='findings'>{_html_table(summary)}</section>"
        f"<table class='header'>{rows}</table><p>{toc}</p>"
        + "\n".join(_html_section(s) for s in sections)
        + "</body></html>\n"
    )
    return atomic_write_text(path, page)


def write_markdown(
    path: Path, title: str, header: dict[str, str], summary: Table, sections: list[Section]
) -> Path:
    """``report.md``: the same content as the page, figures linked by relative path."""
    out = [f"# {title}", "", summary.to_markdown(), ""]
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
