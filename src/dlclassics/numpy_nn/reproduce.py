"""The "gradients" section of ``dlc reproduce``: the gradient checks of the NumPy layers and the
derivations they verify."""

from __future__ import annotations

from pathlib import Path

from dlclassics.io import atomic_write_json
from dlclassics.numpy_nn.gradchecks import gradcheck_report

GRADCHECK_SEED = 0
DERIVATIONS = Path(__file__).resolve().parents[3] / "docs" / "derivations.md"


def run_part(out_dir: Path, data_root: Path, profile: str) -> dict:
    """Run ``dlc gradcheck`` (seed 0) and write ``gradcheck.json`` into ``out_dir``.

    The checks take about a second, so every profile runs the same checks, and ``data_root`` is
    unused (the inputs are random).

    Returns the report dict (``tables``, ``summary``, ``markdown`` = docs/derivations.md when the
    source tree is present) plus ``all_passed``, ``max_rel_error``, ``seed``, ``tolerance`` and
    ``rows`` (one per (layer, gradient): ``layer``, ``gradient``, ``shape``, ``rel_error``,
    ``max_elementwise_rel_error``, ``passed``).
    """
    del data_root, profile  # same checks either way; see the docstring
    report = gradcheck_report(GRADCHECK_SEED)
    atomic_write_json(Path(out_dir) / "gradcheck.json", report)
    rows = [
        [r["layer"], r["gradient"], str(r["shape"]), r["rel_error"], r["passed"]]
        for r in report["rows"]
    ]
    passed = sum(r["passed"] for r in report["rows"])
    table = {
        "title": f"dlc gradcheck (float64, seed {report['seed']}): analytic vs numerical gradients",
        "columns": ["layer", "gradient", "shape", "relative error", "≤ 1e-7"],
        "rows": rows,
        "note": "relative error = ||analytic − numerical|| / (||analytic|| + ||numerical||)",
    }
    if DERIVATIONS.is_file():
        derivations = DERIVATIONS.read_text(encoding="utf-8")
    else:  # installed from a wheel: the docs folder is not part of the package
        derivations = "The derivations are in `docs/derivations.md` of the source tree."
    return {
        **report,
        "summary": f"{passed} of {len(rows)} gradients agree with centred differences "
        f"(largest relative error {report['max_rel_error']:.1e}).",
        "tables": [table],
        "markdown": derivations,
    }
