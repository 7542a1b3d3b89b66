"""The reproduce orchestration and report writers, with stand-in parts (the real parts run in
test_report_reproduce.py): failures stay in their section, results are reused, --only works."""

from __future__ import annotations

import json
import sys
import types
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from dlclassics.figures import plot_series
from dlclassics.report import reproduce
from dlclassics.report.findings import accuracy_against_reference, against_target
from dlclassics.report.maths import markdown_to_html
from dlclassics.report.reproduce import Part, run_reproduce
from dlclassics.report.sections import Figure, PartResult, Table
from dlclassics.report.writers import COLUMN_WIDTH, embedded_image
from dlclassics.stats import wilson_interval
from dlclassics.tables import percent

CALLS: list[str] = []


def _good_part(out_dir: Path, data_root: Path, profile: str) -> PartResult:
    CALLS.append(out_dir.name)
    plot_series({"loss": [3, 2, 1]}, out_dir / "curve.png", "a curve")
    return PartResult(
        summary=f"ran {profile}",
        tables=[
            Table("scores", ["model", "acc"], [["a", 0.5]]),
            Table("with intervals", ["model", "acc"], [["b", percent(wilson_interval(149, 153))]]),
            Table("every check", ["check"], [[f"check {i}"] for i in range(40)], folded=True),
        ],
        figures=[Figure(Path("curve.png"), "a curve")],
        notes=["a note"],
        findings=[
            accuracy_against_reference(
                "best val", 149, 153, 0.9608, "the reference", note="quick settings only"
            ),
            against_target("largest error", 3e-10, "≤ 1e-7", met=True),
        ],
    )


def _bad_part(out_dir: Path, data_root: Path, profile: str) -> PartResult:
    CALLS.append(out_dir.name)
    raise RuntimeError("the data set exploded")


@pytest.fixture
def fake_parts(monkeypatch):
    good = types.ModuleType("fake_good_part")
    good.run_part = _good_part
    bad = types.ModuleType("fake_bad_part")
    bad.run_part = _bad_part
    monkeypatch.setitem(sys.modules, "fake_good_part", good)
    monkeypatch.setitem(sys.modules, "fake_bad_part", bad)
    parts = {
        "alpha": Part("alpha", "A. Alpha", "fake_good_part"),
        "beta": Part("beta", "B. Beta", "fake_bad_part"),
        "gamma": Part("gamma", "C. Gamma", "fake_good_part"),
    }
    monkeypatch.setattr(reproduce, "PARTS", parts)
    CALLS.clear()
    return parts


def test_failed_part_is_shown_and_others_render(tmp_path, fake_parts):
    sections = run_reproduce(tmp_path, tmp_path, profile="tiny", log=lambda _: None)
    status = {s.key: s.status for s in sections}
    assert status == {"alpha": "ok", "beta": "failed", "gamma": "ok"}
    page = (tmp_path / "index.html").read_text()
    assert "RuntimeError: the data set exploded" in page
    assert page.count("data:image/png;base64,") == 2  # both good parts' plots embedded, as PNG
    assert "http://" not in page and "https://" not in page  # opens offline
    record = json.loads((tmp_path / "beta" / "part.json").read_text())
    assert record["status"] == "failed" and "Traceback" in record["traceback"]
    markdown = (tmp_path / "report.md").read_text()
    assert "| a | 0.5 |" in markdown and "![a curve](alpha/curve.png)" in markdown


def test_finished_parts_are_reused_and_failed_ones_rerun(tmp_path, fake_parts):
    run_reproduce(tmp_path, tmp_path, profile="tiny", log=lambda _: None)
    CALLS.clear()
    run_reproduce(tmp_path, tmp_path, profile="tiny", log=lambda _: None)
    assert CALLS == ["beta"]  # an interrupted or failed part runs again, finished ones do not
    CALLS.clear()
    run_reproduce(tmp_path, tmp_path, profile="quick", log=lambda _: None)
    assert CALLS == ["alpha", "beta", "gamma"]  # other settings: everything runs
    CALLS.clear()
    run_reproduce(tmp_path, tmp_path, profile="quick", force=True, only=["gamma"], log=print)
    assert CALLS == ["gamma"]


def test_only_runs_selected_and_reports_the_rest_as_not_run(tmp_path, fake_parts):
    sections = run_reproduce(tmp_path, tmp_path, profile="tiny", only=["gamma"], log=lambda _: None)
    assert [s.status for s in sections] == ["not run", "not run", "ok"]
    assert CALLS == ["gamma"]


def test_maths_is_prerendered_without_network():
    html = markdown_to_html("Step: $h_t = \\tanh(a_t)$\n\n$$c_t = f \\odot c_{t-1} + i \\odot g$$")
    assert html.count("data:image/svg+xml,") == 2
    assert "$" not in html
    fallback = markdown_to_html("$$\\unknowncommand{x}$$")
    assert "<code class='tex'>" in fallback


def test_interrupted_part_continues_and_new_settings_start_clean(tmp_path, fake_parts):
    """A part stopped half-way keeps its folder (its checkpoints) and runs again in place; a part
    run with other settings starts from an empty folder."""
    settings = reproduce.part_settings("tiny", tmp_path)
    part_dir = tmp_path / "alpha"
    part_dir.mkdir()
    (part_dir / "part.json").write_text(json.dumps({"settings": settings, "status": "running"}))
    (part_dir / "checkpoint.npz").write_bytes(b"half-way")
    sections = run_reproduce(tmp_path, tmp_path, profile="quick", only=["alpha"], log=print)
    assert not (part_dir / "checkpoint.npz").exists()  # other settings: started clean
    assert sections[0].status == "ok"

    (part_dir / "part.json").write_text(json.dumps({"settings": settings, "status": "running"}))
    (part_dir / "checkpoint.npz").write_bytes(b"half-way")
    sections = run_reproduce(tmp_path, tmp_path, profile="tiny", only=["gamma"], log=print)
    assert sections[0].status == "interrupted"  # shown as such while it has not been rerun
    lines: list[str] = []
    run_reproduce(tmp_path, tmp_path, profile="tiny", only=["alpha"], log=lines.append)
    assert (part_dir / "checkpoint.npz").read_bytes() == b"half-way"  # kept for the part to resume
    assert any("continuing an unfinished run" in line for line in lines)


def test_what_we_found_opens_the_report_with_intervals_and_verdicts(tmp_path, fake_parts):
    run_reproduce(tmp_path, tmp_path, profile="tiny", log=lambda _: None)
    page = (tmp_path / "index.html").read_text()
    findings = page.index("<section id='findings'>")
    assert findings < page.index("<table class='header'>") < page.index("<section id='alpha'>")
    assert page.count("same within noise [") == 2  # alpha and gamma, each with its caveat mark
    assert "97.39 % (93.5–99.0)" in page and "+1.31 (−3.14 to +5.96) points" in page
    assert "[1] quick settings only" in page and "target met" in page
    assert "<td>97.39 (93.5–99.0)</td>" in page  # a stored interval cell comes back as one
    assert "<details><summary>every check</summary>" in page  # the long table, folded
    markdown = (tmp_path / "report.md").read_text()
    assert markdown.index("**What we found**") < markdown.index("## A. Alpha")
    assert "| B. Beta |" not in markdown  # a failed part has no findings


def test_figures_are_embedded_light_and_at_display_size(tmp_path):
    rng = np.random.default_rng(0)
    photo = tmp_path / "photo.png"
    Image.fromarray(rng.integers(0, 255, (900, 1600, 3), dtype=np.uint8)).save(photo)
    mime, content, width = embedded_image(photo)
    assert mime == "image/jpeg" and width == COLUMN_WIDTH
    assert len(content) < photo.stat().st_size / 2
    plot = plot_series({"loss": [3, 2, 1]}, tmp_path / "plot.png", "a curve")
    mime, _, width = embedded_image(plot)
    assert mime == "image/png" and width == Image.open(plot).width
