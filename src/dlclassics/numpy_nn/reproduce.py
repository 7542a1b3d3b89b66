"""The "gradients" section of ``dlc reproduce``: the gradient checks of the NumPy layers and the
derivations they verify."""

from __future__ import annotations

import importlib.resources
from pathlib import Path

from dlclassics.io import atomic_write_json
from dlclassics.numpy_nn.gradchecks import gradcheck_report
from dlclassics.report.sections import PartResult, Table

GRADCHECK_SEED = 0


def derivations_text() -> str:
    """The hand derivations of the recurrent layers' gradients (Markdown with TeX maths), shipped
    inside the package as ``dlclassics/report/derivations.md``."""
    resource = importlib.resources.files("dlclassics") / "report" / "derivations.md"
    return resource.read_text(encoding="utf-8")


def run_part(out_dir: Path, data_root: Path, profile: str) -> PartResult:
    """Run ``dlc gradcheck`` (seed 0), write ``gradcheck.json``; one table row per (layer,
    gradient), the derivations as ``markdown``. The checks take about a second, so every
    profile runs the same ones."""
    del data_root, profile  # same checks either way
    report = gradcheck_report(GRADCHECK_SEED)
    atomic_write_json(Path(out_dir) / "gradcheck.json", report)
    rows = [
        [r["layer"], r["gradient"], str(r["shape"]), r["rel_error"], r["passed"]]
        for r in report["rows"]
    ]
    passed = sum(r["passed"] for r in report["rows"])
    table = Table(
        f"dlc gradcheck (float64, seed {report['seed']}): analytic vs numerical gradients",
        ["layer", "gradient", "shape", "relative error", "≤ 1e-7"],
        rows,
        "relative error = ||analytic − numerical|| / (||analytic|| + ||numerical||)",
    )
    return PartResult(
        summary=f"{passed} of {len(rows)} gradients agree with centred differences "
        f"(largest relative error {report['max_rel_error']:.1e}).",
        tables=[table],
        markdown=derivations_text(),
        data=report,
    )
