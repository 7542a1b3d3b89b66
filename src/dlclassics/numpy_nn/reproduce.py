"""The "gradients" section of ``dlc reproduce``: the gradient checks of the NumPy layers and the
derivations they verify."""

from __future__ import annotations

import importlib.resources
from pathlib import Path
from typing import Any

from dlclassics.io import atomic_write_json
from dlclassics.numpy_nn.gradchecks import gradcheck_report
from dlclassics.report.findings import against_target
from dlclassics.report.sections import PartResult, Table

GRADCHECK_SEED = 0


def derivations_text() -> str:
    """The hand derivations of the recurrent layers' gradients (Markdown with TeX maths), shipped
    inside the package as ``dlclassics/report/derivations.md``."""
    resource = importlib.resources.files("dlclassics") / "report" / "derivations.md"
    return resource.read_text(encoding="utf-8")


def worst_per_layer(rows: list[dict[str, Any]]) -> list[list[object]]:
    """One table row per layer function, in the report's order: the gradients checked, the one
    with the largest relative error, that error, and whether every gradient passed."""
    by_layer: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        by_layer.setdefault(row["layer"], []).append(row)
    table = []
    for layer, checks in by_layer.items():
        worst = max(checks, key=lambda check: check["rel_error"])
        names = ", ".join(check["gradient"] for check in checks)
        passed = all(check["passed"] for check in checks)
        table.append([layer, names, worst["gradient"], worst["rel_error"], passed])
    return table


def run_part(out_dir: Path, data_root: Path, profile: str) -> PartResult:
    """Run ``dlc gradcheck`` (seed 0), write ``gradcheck.json``; one table row per layer
    function (its worst gradient), the full table (every layer and gradient) folded, the
    derivations as ``markdown``. The checks take about a second, so every profile runs the
    same ones."""
    del data_root, profile  # same checks either way
    report = gradcheck_report(GRADCHECK_SEED)
    atomic_write_json(Path(out_dir) / "gradcheck.json", report)
    rows = [
        [r["layer"], r["gradient"], str(r["shape"]), r["rel_error"], r["passed"]]
        for r in report["rows"]
    ]
    passed = sum(r["passed"] for r in report["rows"])
    limit = f"{report['tolerance']:.0e}".replace("e-0", "e-")  # 1e-07 -> 1e-7
    condensed = Table(
        f"dlc gradcheck (float64, seed {report['seed']}): the worst gradient of each layer",
        ["layer", "gradients checked", "worst", "its relative error", f"all ≤ {limit}"],
        worst_per_layer(report["rows"]),
        "relative error = ||analytic − numerical|| / (||analytic|| + ||numerical||), "
        "numerical by centred differences",
    )
    full = Table(
        f"Every gradient ({len(rows)} checks)",
        ["layer", "gradient", "shape", "relative error", f"≤ {limit}"],
        rows,
        folded=True,
    )
    worst = report["max_rel_error"]
    finding = against_target(
        f"largest relative error of {len(rows)} analytic gradients",
        worst,
        f"≤ {limit}",
        met=bool(report["all_passed"]),
    )
    return PartResult(
        summary=f"{passed} of {len(rows)} gradients agree with centred differences "
        f"(largest relative error {worst:.1e}).",
        tables=[condensed, full],
        markdown=derivations_text(),
        data=report,
        findings=[finding],
    )
