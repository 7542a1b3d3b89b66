"""The one prediction writer: txt, csv and jsonl, parsed back by the tools a user would use."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from dlclassics.predictions import (
    Prediction,
    accuracy_summary,
    render_predictions,
    write_predictions,
)

ROWS = [
    Prediction("ants/1.jpg", label="ants", probabilities={"ants": 0.9, "bees": 0.1}, true="ants"),
    Prediction("", label=None),
    Prediction(
        'a "quoted", comma',
        label="bees",
        probabilities={"ants": 0.4, "bees": 0.6},
        true="ants",
        extra={"topk": [["bees", 0.6], ["ants", 0.4]]},
    ),
]


def test_txt_keeps_blank_lines_aligned():
    text = render_predictions(ROWS, "txt", lambda p: f"{p.input}\t{p.label}")
    assert text.split("\n") == ["ants/1.jpg\tants", "", 'a "quoted", comma\tbees', ""]


def test_csv_has_a_header_and_parses_back():
    rows = list(csv.DictReader(io.StringIO(render_predictions(ROWS, "csv", str))))
    assert list(rows[0]) == ["input", "label", "true", "p_ants", "p_bees", "topk"]
    assert rows[2]["input"] == 'a "quoted", comma' and float(rows[2]["p_bees"]) == 0.6
    assert json.loads(rows[2]["topk"]) == [["bees", 0.6], ["ants", 0.4]]
    assert rows[1]["label"] == "" and len(rows) == 3


def test_jsonl_rows_parse_back_with_probabilities_and_truth():
    lines = render_predictions(ROWS, "jsonl", str).splitlines()
    parsed = [json.loads(line) for line in lines]
    assert parsed[0] == {
        "input": "ants/1.jpg",
        "label": "ants",
        "probabilities": {"ants": 0.9, "bees": 0.1},
        "true": "ants",
    }
    assert parsed[1] == {"input": "", "label": None}
    assert parsed[2]["topk"][0] == ["bees", 0.6]


def test_captions_take_the_place_of_labels():
    rows = [Prediction("a.jpg", caption="a red circle")]
    assert json.loads(render_predictions(rows, "jsonl", str)) == {
        "input": "a.jpg",
        "caption": "a red circle",
    }
    assert render_predictions(rows, "csv", str).splitlines() == [
        "input,caption",
        "a.jpg,a red circle",
    ]


def test_unknown_format_is_refused():
    with pytest.raises(ValueError, match="xml"):
        render_predictions(ROWS, "xml", str)


def test_written_to_a_file_or_stdout(tmp_path: Path, capsys):
    write_predictions(ROWS, "jsonl", tmp_path / "p.jsonl", str)
    assert len((tmp_path / "p.jsonl").read_text().splitlines()) == 3
    write_predictions(ROWS[:1], "txt", None, lambda p: p.label)
    assert capsys.readouterr().out == "ants\n"


def test_accuracy_and_confusion_matrix_of_labelled_rows():
    summary = accuracy_summary(ROWS)
    assert summary.splitlines()[0] == "accuracy 0.5000 (1/2)"
    matrix = [line.split() for line in summary.splitlines()[2:]]
    assert matrix == [["ants", "1", "1"], ["bees", "0", "0"]]
    assert accuracy_summary([Prediction("x", label="1")]) is None


def test_the_format_follows_the_output_suffix_unless_given(tmp_path: Path):
    write_predictions(ROWS, None, tmp_path / "preds.csv", str)
    assert (tmp_path / "preds.csv").read_text().startswith("input,label,true,")
    write_predictions(ROWS, None, tmp_path / "preds.jsonl", str)
    assert json.loads((tmp_path / "preds.jsonl").read_text().splitlines()[0])["label"] == "ants"
    write_predictions(ROWS[:1], "txt", tmp_path / "forced.csv", lambda p: p.label)
    assert (tmp_path / "forced.csv").read_text() == "ants\n"
