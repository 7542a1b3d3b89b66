"""Markdown with LaTeX maths → HTML that needs no network: formulas are pre-rendered to SVG.

Matplotlib's mathtext renders a useful subset of TeX (fractions, sums, Greek, sub/superscripts,
``\\odot``, ``\\tanh``) without a TeX installation. A formula it cannot parse (``aligned``
environments, say) is shown as its TeX source in a code span, which stays readable.
"""

from __future__ import annotations

import html
import io
import re
from urllib.parse import quote

import markdown

_DISPLAY = re.compile(r"\$\$(.+?)\$\$", re.DOTALL)
SVG_URI_SAFE = ' /=:.,-_();"{}*'  # left as they are in a data URI inside a '-quoted attribute
_INLINE = re.compile(r"(?<![\\$])\$(?!\$)(.+?)(?<![\\$])\$")


def formula_to_svg(tex: str, fontsize: float = 13.0) -> str | None:
    """Render one formula to an SVG document string, or None if mathtext cannot parse it."""
    from matplotlib import mathtext
    from matplotlib.font_manager import FontProperties

    buffer = io.BytesIO()
    try:
        mathtext.math_to_image(f"${tex}$", buffer, prop=FontProperties(size=fontsize), format="svg")
    except (ValueError, RuntimeError):
        return None
    # the page embeds hundreds of formulas: keep only the <svg> element, without its metadata
    # and indentation (a third of the bytes)
    svg = buffer.getvalue().decode("utf-8")
    svg = re.sub(r"<metadata>.*?</metadata>", "", svg[svg.index("<svg") :], flags=re.S)
    return re.sub(r"\n\s*", " ", svg)


def _img_tag(tex: str, display: bool) -> str:
    # mathtext has no environments: render an aligned block line by line, without the & marks
    tex = re.sub(r"\\(begin|end)\{(aligned|align\*?|split|gathered)\}", "", tex).replace("&", "")
    lines = [line.strip() for line in tex.strip().splitlines() if line.strip()]
    # a display block may hold several lines separated by \\ ; render each on its own
    parts = [p.strip() for line in lines for p in re.split(r"\\\\", line) if p.strip()]
    rendered = []
    for part in parts or [tex.strip()]:
        svg = formula_to_svg(part, fontsize=14.0 if display else 12.0)
        if svg is None:
            rendered.append(f"<code class='tex'>{html.escape(part)}</code>")
        else:
            # percent-encoded rather than base64: a quarter fewer bytes for SVG's ASCII text
            data = quote(svg, safe=SVG_URI_SAFE)
            alt = html.escape(part, quote=True)
            cls = "math-display" if display else "math-inline"
            rendered.append(f"<img class='{cls}' alt='{alt}' src='data:image/svg+xml,{data}'>")
    if display:
        return "<div class='math'>" + "<br>".join(rendered) + "</div>"
    return " ".join(rendered)


def markdown_to_html(text: str) -> str:
    """Convert Markdown with ``$…$`` / ``$$…$$`` maths to self-contained HTML."""
    placeholders: dict[str, str] = {}

    def stash(rendered: str) -> str:
        key = f"MATHPLACEHOLDER{len(placeholders)}X"
        placeholders[key] = rendered
        return key

    # maths first, so Markdown never sees the underscores and asterisks inside formulas
    text = _DISPLAY.sub(lambda m: "\n\n" + stash(_img_tag(m.group(1), True)) + "\n\n", text)
    text = _INLINE.sub(lambda m: stash(_img_tag(m.group(1), False)), text)
    body = markdown.markdown(text, extensions=["tables", "fenced_code"])
    for key, rendered in placeholders.items():
        body = body.replace(f"<p>{key}</p>", rendered).replace(key, rendered)
    return body
