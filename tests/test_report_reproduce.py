"""`dlc reproduce --tiny` runs every real part and writes a page a browser renders offline."""

from __future__ import annotations

import html
import json
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from dlclassics.cli import main
from dlclassics.report.reproduce import PARTS

TINY_PAGE_BYTES = 4_500_000  # 3.5 MB measured; the quick page (same figures) 3.7 MB of its 6 MB
# a figure shown at less than this share of its pixel width would draw 10-pt text (at the
# figures' 110 dpi) below 10 px in the page
READABLE_SCALE = 10 / (10 * 110 / 72)
SHOWN_WIDTH = 1052  # px: the page's column at this window size, the widest a figure is shown
CHECK_SCRIPT = """<script>
window.addEventListener('load', () => {
  const broken = [...document.images].filter(i => !(i.complete && i.naturalWidth > 0));
  const table = document.querySelector('#findings table');
  document.body.setAttribute('data-check', JSON.stringify({
    images: document.images.length,
    broken: broken.map(i => i.alt),
    widest: Math.max(...[...document.images].map(i => i.clientWidth)),
    summary_rows: table ? table.rows.length : 0,
    summary_height: table ? table.getBoundingClientRect().height : 0,
  }));
});
</script>"""


def _chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        pytest.fail("chromium is not installed (apt-get install chromium); .ci/run installs it")
    return subprocess.run(
        [
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={tmp_path / 'profile'}",
            "--window-size=1200,1600",
            *args,
        ],
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture(scope="module")
def tiny_report(tmp_path_factory, data_root: Path) -> Path:
    out = tmp_path_factory.mktemp("report")
    exit_code = main(["reproduce", "--tiny", "--out", str(out), "--data-root", str(data_root)])
    assert exit_code == 0, (out / "index.html").read_text()[:2000]
    return out


def test_every_section_is_written_with_its_results(tiny_report: Path):
    page = (tiny_report / "index.html").read_text(encoding="utf-8")
    for part in PARTS.values():
        assert f"<section id='{part.key}'>" in page
        record = json.loads((tiny_report / part.key / "part.json").read_text())
        assert record["status"] == "ok", record.get("traceback")
        assert record["result"]["tables"], f"{part.key} has no table"
    assert "status: failed" not in page
    embedded = page.count("data:image/png;base64,") + page.count("data:image/jpeg;base64,")
    assert embedded >= 8  # figures of every part, embedded
    assert "data:image/svg+xml," in page  # the derivations' maths, pre-rendered
    assert len(page.encode()) <= TINY_PAGE_BYTES  # light enough to mail
    captions = re.findall(r"<figcaption>([^<]*)</figcaption>", page)
    assert len(captions) == len(set(captions)), "two figures with one title"
    for needle in ("92.16", "95.45"):  # reference figures sit beside ours
        assert needle in page
    assert "src='http" not in page and "href='http" not in page
    report_md = (tiny_report / "report.md").read_text(encoding="utf-8")
    for part in PARTS.values():
        assert f"\n## {part.title}\n" in report_md


def test_the_transfer_and_sentiment_sections_have_explained_examples(tiny_report: Path):
    transfer = json.loads((tiny_report / "transfer" / "part.json").read_text())["result"]
    [figure] = [f for f in transfer["figures"] if "Grad-CAM" in f["caption"]]
    assert (tiny_report / "transfer" / figure["path"]).is_file()
    assert transfer["data"]["explained"] in figure["caption"].replace(" / ", "/")
    sentiment = json.loads((tiny_report / "sentiment" / "part.json").read_text())["result"]
    [table] = [t for t in sentiment["tables"] if t["title"].startswith("Word attributions")]
    assert table["columns"] == ["sentence", "label", "P(label)", "top words (weight)"]
    assert len(table["rows"]) >= 3
    page = (tiny_report / "index.html").read_text(encoding="utf-8")
    assert "Word attributions" in page and "Grad-CAM on validation images" in page


def test_page_renders_in_headless_chromium(tiny_report: Path, tmp_path: Path):
    shot = tmp_path / "shot.png"
    _chromium(tmp_path, f"--screenshot={shot}", (tiny_report / "index.html").resolve().as_uri())
    pixels = np.asarray(Image.open(shot).convert("L"), dtype=np.float64)
    assert pixels.shape == (1600, 1200)
    assert pixels.std() > 20  # text, tables and figures, not a blank page
    assert (pixels < 128).mean() > 0.01  # a fair amount of dark ink


def test_summary_table_renders_and_every_image_loads(tiny_report: Path, tmp_path: Path):
    page = (tiny_report / "index.html").read_text(encoding="utf-8")
    checked = tmp_path / "checked.html"
    checked.write_text(page.replace("</body>", CHECK_SCRIPT + "</body>"), encoding="utf-8")
    dom = _chromium(tmp_path, "--virtual-time-budget=20000", "--dump-dom", checked.as_uri())
    found = re.search(r"data-check=\"([^\"]*)\"", dom.stdout)
    assert found, dom.stdout[:500]
    check = json.loads(html.unescape(found[1]))
    assert check["broken"] == [] and check["images"] > 20  # figures and formulas all decode
    assert check["summary_rows"] >= 1 + len(PARTS)  # header + at least one finding per part
    assert check["summary_height"] > 100
    assert check["widest"] <= SHOWN_WIDTH


def test_figure_labels_are_readable_at_full_zoom(tiny_report: Path):
    """Every figure is shown at its own pixel width up to the column's ``SHOWN_WIDTH``: one drawn
    wider than ``SHOWN_WIDTH / READABLE_SCALE`` px would shrink its 10-pt labels below 10 px."""
    for part in PARTS.values():
        record = json.loads((tiny_report / part.key / "part.json").read_text())
        for figure in record["result"]["figures"]:
            with Image.open(tiny_report / part.key / figure["path"]) as image:
                shown = min(image.width, SHOWN_WIDTH)
                assert shown / image.width >= READABLE_SCALE, (figure["path"], image.size)


def test_every_accuracy_in_the_summary_carries_an_interval(tiny_report: Path):
    for part in PARTS.values():
        record = json.loads((tiny_report / part.key / "part.json").read_text())
        findings = record["result"]["findings"]
        assert findings, f"{part.key} reports no finding"
        for finding in findings:
            if finding["theirs"] is not None:  # a comparison, not a target check
                assert finding["ours"]["low"] < finding["ours"]["high"], finding
                assert finding["verdict"] in ("better", "same within noise", "worse")


def test_reuse_and_only(tiny_report: Path, data_root: Path, capsys):
    args = ["reproduce", "--tiny", "--out", str(tiny_report), "--data-root", str(data_root)]
    assert main([*args, "--only", "gradients", "sentiment"]) == 0
    printed = capsys.readouterr().out
    assert "[gradients] reusing" in printed and "[sentiment] reusing" in printed
    assert "[transfer]" not in printed
    assert main([*args, "--only", "gradients", "--force"]) == 0
    assert "[gradients] running" in capsys.readouterr().out
