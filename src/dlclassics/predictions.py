"""Predictions other tools can read: one writer for every ``dlc ... predict`` command.

Each command turns its inputs into ``Prediction`` rows and hands them to ``write_predictions``
with the user's ``--format``:

- ``txt`` (the default): one line a row, as the command has always printed it (the command
  gives the line); a blank input line gives a blank output line, so lines stay aligned;
- ``csv``: a header, then ``input``, ``label`` (or ``caption``), ``true`` when the inputs carry
  their class, one ``p_<class>`` column a class, and any extra fields (lists as JSON);
- ``jsonl``: one JSON object a row, ``{"input": ..., "label": ..., "probabilities": {...}}``
  plus ``"true"`` and the extra fields.

When every row carries its true class, ``accuracy_summary`` gives the accuracy and the confusion
matrix for standard error, so standard output holds the predictions alone.
"""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from dlclassics.io import write_output_text

FORMATS = ("txt", "csv", "jsonl")
SUFFIX_FORMATS = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl"}


@dataclass
class Prediction:
    """One input and what a model made of it.

    Attributes:
        input: the path or the sentence, as the user gave it.
        label: the predicted class; None for a blank input line.
        probabilities: class → probability, for every class (None when not computed).
        true: the true class, when the input carries it (a labelled line, a class folder).
        caption: the generated caption (captioning, in place of ``label``).
        extra: more JSON-ready fields for csv and jsonl (``topk``, ``attributions``).

    Example:
        >>> Prediction("Great food!", label="1", probabilities={"0": 0.02, "1": 0.98}).label
        '1'
    """

    input: str
    label: str | None = None
    probabilities: dict[str, float] | None = None
    true: str | None = None
    caption: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def is_blank(self) -> bool:
        """A row for a blank input line: nothing was predicted."""
        return self.label is None and self.caption is None

    def to_json_row(self) -> dict[str, Any]:
        """The jsonl object of this row: input, label or caption, probabilities, true, extra.

        Example:
            >>> Prediction("a.jpg", label="ants", true="bees").to_json_row()
            {'input': 'a.jpg', 'label': 'ants', 'true': 'bees'}
        """
        row: dict[str, Any] = {"input": self.input}
        if self.caption is not None:
            row["caption"] = self.caption
        else:
            row["label"] = self.label
        if self.probabilities is not None:
            row["probabilities"] = {name: float(p) for name, p in self.probabilities.items()}
        if self.true is not None:
            row["true"] = self.true
        row.update(self.extra)
        return row


def _class_names(predictions: Sequence[Prediction]) -> list[str]:
    """Every class named by some row's probabilities, in first-seen order."""
    names: dict[str, None] = {}
    for prediction in predictions:
        for name in prediction.probabilities or {}:
            names.setdefault(name, None)
    return list(names)


def _csv_cell(value: Any) -> Any:
    if isinstance(value, (list, dict)):
        return json.dumps(value)
    return "" if value is None else value


def render_csv(predictions: Sequence[Prediction]) -> str:
    """The rows as CSV text with a header (see the module docstring for the columns).

    Example:
        >>> print(render_csv([Prediction("x", label="1", probabilities={"0": 0.25, "1": 0.75})]))
        input,label,p_0,p_1
        x,1,0.25,0.75
        <BLANKLINE>
    """
    is_caption = any(p.caption is not None for p in predictions)
    has_true = any(p.true is not None for p in predictions)
    classes = _class_names(predictions)
    extras = list(dict.fromkeys(key for p in predictions for key in p.extra))
    header = ["input", "caption" if is_caption else "label"]
    header += ["true"] if has_true else []
    header += [f"p_{name}" for name in classes] + extras
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    for p in predictions:
        row = [p.input, _csv_cell(p.caption if is_caption else p.label)]
        row += [_csv_cell(p.true)] if has_true else []
        row += [_csv_cell((p.probabilities or {}).get(name)) for name in classes]
        row += [_csv_cell(p.extra.get(key)) for key in extras]
        writer.writerow(row)
    return buffer.getvalue()


def format_for(fmt: str | None, out: str | os.PathLike[str] | None) -> str:
    """The format to write: ``fmt`` when the user gave ``--format``, else the one ``-o``'s
    suffix names (``preds.csv`` → csv, ``preds.jsonl`` → jsonl), else txt.

    Example:
        >>> format_for(None, "preds.csv"), format_for("txt", "preds.csv"), format_for(None, None)
        ('csv', 'txt', 'txt')
    """
    if fmt is not None:
        return fmt
    suffix = os.path.splitext(os.fspath(out))[1].lower() if out is not None else ""
    return SUFFIX_FORMATS.get(suffix, "txt")


def render_predictions(
    predictions: Sequence[Prediction], fmt: str, txt_line: Callable[[Prediction], str]
) -> str:
    """The text of ``predictions`` in ``fmt`` (``txt``, ``csv`` or ``jsonl``).

    Example:
        >>> rows = [Prediction("Great food!", label="1"), Prediction("")]
        >>> render_predictions(rows, "txt", lambda p: p.label)
        '1\\n\\n'
    """
    if fmt == "csv":
        return render_csv(predictions)
    if fmt == "jsonl":
        return "".join(json.dumps(p.to_json_row(), ensure_ascii=False) + "\n" for p in predictions)
    if fmt != "txt":
        raise ValueError(f"unknown prediction format {fmt!r}; expected one of {FORMATS}")
    return "".join(("" if p.is_blank else txt_line(p)) + "\n" for p in predictions)


def write_predictions(
    predictions: Sequence[Prediction],
    fmt: str | None,
    out: str | os.PathLike[str] | None,
    txt_line: Callable[[Prediction], str],
) -> None:
    """Write ``predictions`` in ``fmt`` (None: from ``out``'s suffix, ``format_for``) to ``out``
    (None or ``-``: standard output; a device or pipe directly; a regular file atomically). A
    failed write is one DlcError line.

    Example:
        >>> write_predictions([Prediction("x", label="1")], "jsonl", None, str)
        {"input": "x", "label": "1"}
    """
    text = render_predictions(predictions, format_for(fmt, out), txt_line)
    write_output_text("-" if out is None else out, text)


def accuracy_summary(predictions: Sequence[Prediction]) -> str | None:
    """The accuracy and the confusion matrix (rows: true class, columns: predicted) of rows that
    carry their true class, as lines for standard error; None when no row does.

    Example:
        >>> rows = [Prediction("a", label="ants", true="ants"), Prediction("b", label="ants", true="bees")]
        >>> print(accuracy_summary(rows))
        accuracy 0.5000 (1/2)
        true \\ predicted ants bees
        ants                1    0
        bees                1    0
    """
    scored = [p for p in predictions if p.true is not None and not p.is_blank]
    if not scored:
        return None
    correct = sum(p.label == p.true for p in scored)
    classes = sorted({p.true for p in scored} | {p.label for p in scored})
    counts = {(t, q): 0 for t in classes for q in classes}
    for p in scored:
        counts[(p.true, p.label)] += 1
    corner = "true \\ predicted"
    width = max(len(corner), *(len(name) for name in classes))
    cell = max(5, *(len(name) + 1 for name in classes))
    lines = [f"accuracy {correct / len(scored):.4f} ({correct}/{len(scored)})"]
    lines.append(corner.ljust(width) + "".join(name.rjust(cell) for name in classes))
    for t in classes:
        row = "".join(str(counts[(t, q)]).rjust(cell) for q in classes)
        lines.append(t.ljust(width) + row)
    return "\n".join(lines)
