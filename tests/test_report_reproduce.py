"""`dlc reproduce --tiny` runs every real part and writes a page a browser renders offline."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from dlclassics.cli import main
from dlclassics.report.reproduce import PARTS


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
    assert page.count("data:image/png;base64,") >= 8  # figures of every part, embedded
    assert "data:image/svg+xml;base64," in page  # the derivations' maths, pre-rendered
    for needle in ("92.16", "95.45"):  # reference figures sit beside ours
        assert needle in page
    assert "src='http" not in page and "href='http" not in page
    report_md = (tiny_report / "report.md").read_text(encoding="utf-8")
    for part in PARTS.values():
        assert f"\n## {part.title}\n" in report_md


def test_page_renders_in_headless_chromium(tiny_report: Path, tmp_path: Path):
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        pytest.fail("chromium is not installed (apt-get install chromium); .ci/run installs it")
    shot = tmp_path / "shot.png"
    subprocess.run(
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
            f"--screenshot={shot}",
            (tiny_report / "index.html").resolve().as_uri(),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    pixels = np.asarray(Image.open(shot).convert("L"), dtype=np.float64)
    assert pixels.shape == (1600, 1200)
    assert pixels.std() > 20  # text, tables and figures, not a blank page
    assert (pixels < 128).mean() > 0.01  # a fair amount of dark ink


def test_reuse_and_only(tiny_report: Path, data_root: Path, capsys):
    args = ["reproduce", "--tiny", "--out", str(tiny_report), "--data-root", str(data_root)]
    assert main([*args, "--only", "gradients", "sentiment"]) == 0
    printed = capsys.readouterr().out
    assert "[gradients] reusing" in printed and "[sentiment] reusing" in printed
    assert "[transfer]" not in printed
    assert main([*args, "--only", "gradients", "--force"]) == 0
    assert "[gradients] running" in capsys.readouterr().out
