"""The "what we found" table: every part's headline figures, each with its 95 % interval, the
figure it is compared with, the difference with its interval and a verdict.

A part builds its ``Finding`` rows with the constructors below from what its run measured (never
by hand); ``findings_table`` collects them, in the order of the report's sections, into the table
the report opens with.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from dlclassics.report.sections import Finding, Section, Table
from dlclassics.stats import (
    Estimate,
    bootstrap_samples,
    independent_difference,
    paired_difference,
    percentile_interval,
    verdict,
    wilson_interval,
)
from dlclassics.tables import format_cell, format_difference, percent

COLUMNS = ["experiment", "what", "ours (95 % interval)", "compared with", "theirs", "difference"]
COLUMNS += ["verdict"]
MET, MISSED = "target met", "target missed"
# the full-settings measurements of a source checkout (a wheel ships without benchmarks/)
BENCHMARK_RESULTS = Path(__file__).resolve().parents[3] / "benchmarks" / "results"


def benchmark_record(name: str) -> dict[str, Any] | None:
    """The full-settings figures ``benchmarks/results/<name>`` of the source checkout, or None
    where there is none (an installed wheel) or it cannot be read: a quick run's caveat then
    says the full figure is not available instead of failing.

    >>> record = benchmark_record("caption_bench.json")
    >>> record is None or "attention" in record
    True
    """
    try:
        return json.loads((BENCHMARK_RESULTS / name).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def accuracy_against_reference(
    claim: str, correct: int, total: int, reference: float, compared_with: str, note: str = ""
) -> Finding:
    """Our accuracy ``correct / total`` against a published ``reference`` accuracy (a fraction)
    measured on a set of the same size (``total`` items), as two independent samples: Wilson
    intervals and Newcombe's interval for the difference.

    >>> f = accuracy_against_reference("best val", 150, 153, 0.9216, "the reference")
    >>> f.verdict, round(f.difference.low, 3)
    ('better', 0.01)
    """
    theirs = round(reference * total)
    difference = independent_difference((correct, total), (theirs, total))
    return Finding(
        claim,
        wilson_interval(correct, total),
        compared_with,
        wilson_interval(theirs, total),
        difference,
        verdict(difference),
        note=note,
    )


def paired_metric(
    claim: str,
    ours: Callable[[np.ndarray], float],
    theirs: Callable[[np.ndarray], float],
    count: int,
    compared_with: str,
    note: str = "",
) -> Finding:
    """Two models scored on the same ``count`` items by a corpus metric (``metric(indices)``
    scores the items at ``indices``, e.g. corpus BLEU-4 of those images' captions): each with its
    bootstrap interval over the items, the difference by a paired bootstrap (seeded; both
    metrics on the same resamples, each computed once per resample).

    >>> a = np.array([0.4, 0.9, 0.5, 0.7] * 10)
    >>> b = a[::-1]  # the same scores on other items: no difference but noise
    >>> f = paired_metric("val BLEU-4", lambda i: a[i].mean(), lambda i: b[i].mean(), 40, "B")
    >>> f.verdict
    'same within noise'
    """
    everything = np.arange(count)
    ours_value, theirs_value = ours(everything), theirs(everything)
    ours_samples, theirs_samples = bootstrap_samples(ours, count), bootstrap_samples(theirs, count)
    difference = paired_difference(ours_value - theirs_value, ours_samples, theirs_samples)
    return Finding(
        claim,
        percentile_interval(ours_value, ours_samples),
        compared_with,
        percentile_interval(theirs_value, theirs_samples),
        difference,
        verdict(difference),
        percent=False,
        note=note,
    )


def against_target(
    claim: str, value: float, target: str, met: bool, note: str = "", percent: bool = False
) -> Finding:
    """A figure with no sampling noise to speak of (a deterministic check, a single-seed loss
    ratio) against a ``target`` (described, e.g. "≥ 10×"): the verdict says whether it is met.

    >>> against_target("largest relative error", 3e-10, "≤ 1e-7", met=True).verdict
    'target met'
    """
    return Finding(
        claim,
        Estimate(value, value, value),
        f"target {target}",
        None,
        None,
        MET if met else MISSED,
        percent=percent,
        note=note,
    )


def _shown(estimate: Estimate | None, as_percent: bool) -> str:
    """A figure for the table: with its interval when it has one, in % for accuracies."""
    if estimate is None:
        return "–"
    shown = percent(estimate) if as_percent else estimate
    unit = " %" if as_percent else ""
    if shown.low == shown.high:  # a figure without an interval (a target check)
        return format_cell(shown.value)
    return format_cell(shown).replace(" (", f"{unit} (", 1)


def findings_table(sections: Sequence[Section]) -> Table:
    """The "what we found" table: one row per finding of every section, in section order;
    each caveat becomes a numbered note under the table and a mark on its row."""
    rows, notes = [], []
    for section in sections:
        for finding in section.findings:
            mark = ""
            if finding.note:
                notes.append(finding.note)
                mark = f" [{len(notes)}]"
            difference = finding.difference
            rows.append(
                [
                    section.title,
                    finding.claim,
                    _shown(finding.ours, finding.percent),
                    finding.compared_with,
                    _shown(finding.theirs, finding.percent),
                    format_difference(difference, finding.percent) if difference else "–",
                    finding.verdict + mark,
                ]
            )
    note = " ".join(f"[{number}] {text}" for number, text in enumerate(notes, start=1))
    intervals = (
        "Intervals are 95 %: Wilson for accuracies, Newcombe's for the difference from a "
        "published figure (independent samples), a paired bootstrap over the same items for "
        "BLEU. An interval that contains 0 reads as 'same within noise'."
    )
    return Table("What we found", COLUMNS, rows, f"{intervals} {note}".strip())
