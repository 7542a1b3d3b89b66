"""The sentiment Python API (``sentiment.Config``, ``train``, ``load``) and ``dlc sentiment
predict``'s output formats, on the packaged model and a toy data folder."""

from __future__ import annotations

import ast
import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from dlclassics import sentiment
from dlclassics.cli import main
from dlclassics.errors import DlcError
from dlclassics.results import Result
from dlclassics.sentiment.classifier import Ensemble
from toy_sentiment import write_lines, write_toy_yelp

pytestmark = pytest.mark.usefixtures("one_torch_thread")  # conftest.py

SENTENCES = ["great food , lovely staff .", "rude staff and cold food .", "never again ."]


@pytest.fixture(scope="module")
def toy_run(tmp_path_factory: pytest.TempPathFactory) -> Result:
    """A bag of words trained through the API on the toy folder (2 epochs)."""
    folder = tmp_path_factory.mktemp("api")
    data = write_toy_yelp(folder / "data")
    config = sentiment.Config(model="bow", data=str(data), epochs=2, out=str(folder / "run"))
    return sentiment.train(config)


def test_the_api_works_from_a_fresh_interpreter() -> None:
    code = (
        "from dlclassics import sentiment\n"
        "clf = sentiment.load()\n"
        "print(clf.classes, clf.predict(['great food !', 'never again .']))\n"
        "print(clf.predict_proba(['Great food!', 'Never again.']).shape)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["['0', '1'] ['1', '0']", "(2, 2)"]


def test_predict_proba_rows_sum_to_one_and_blank_texts_have_no_label() -> None:
    clf = sentiment.load()
    proba = clf.predict_proba(SENTENCES)
    assert proba.shape == (3, len(clf.classes)) and np.allclose(proba.sum(axis=1), 1.0)
    assert clf.predict(SENTENCES) == [clf.classes[int(p >= 0.5)] for p in proba[:, 1]]
    assert clf.predict(["", "   ", SENTENCES[0]]) == [None, None, "1"]
    assert np.isnan(clf.predict_proba([""])).all()


def test_train_returns_a_result_that_load_reads(toy_run: Result) -> None:
    assert {"train_acc", "dev_acc", "test_acc", "dev_loss"} <= set(toy_run.metrics)
    assert all(0 <= toy_run.metrics[f"{s}_acc"] <= 1 for s in ("train", "dev", "test"))
    assert len(toy_run.history) == 2 and "dev_acc" in toy_run.history[0]
    assert toy_run.checkpoint == toy_run.out / "best.pt" and toy_run.checkpoint.is_file()
    assert all(path.is_file() for path in toy_run.files.values())
    clf = sentiment.load(toy_run.checkpoint)
    assert clf.config.model == "bow" and clf.predict(["the food was lovely"]) == ["1"]


def test_several_paths_load_an_ensemble_of_the_mean(toy_run: Result) -> None:
    single = sentiment.load(toy_run.checkpoint)
    ensemble = sentiment.load([toy_run.checkpoint, sentiment.run.packaged_model(print)])
    assert isinstance(ensemble, Ensemble) and ensemble.classes == ["0", "1"]
    packaged = sentiment.load()
    mean = (single.predict_proba(SENTENCES) + packaged.predict_proba(SENTENCES)) / 2
    assert np.allclose(ensemble.predict_proba(SENTENCES), mean)


def test_config_takes_the_models_preset_for_what_is_not_given() -> None:
    config = sentiment.Config(model="bow", epochs=3)
    assert (config.epochs, config.lr) == (3, 0.01)  # bow's preset rate
    assert sentiment.Config(model="glove-lstm").max_grad_norm == 1.0
    with pytest.raises(DlcError, match="unknown sentiment model 'nope'"):
        sentiment.Config(model="nope")


def test_a_training_file_with_one_label_is_refused(tmp_path: Path) -> None:
    write_lines(tmp_path / "train.txt", ["1 great food", "1 lovely staff"])
    write_lines(tmp_path / "dev.txt", ["1 great", "0 awful"])
    config = sentiment.Config(model="bow", data=str(tmp_path), out=str(tmp_path / "run"))
    with pytest.raises(DlcError, match=r"train\.txt: every training sentence has label 1"):
        sentiment.train(config)


def predict(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[str, str]:
    """``dlc sentiment predict ARGS`` with the packaged model: standard output and error."""
    assert main(["sentiment", "predict", *args]) == 0
    captured = capsys.readouterr()
    return captured.out, captured.err


def test_every_format_parses_back(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = write_lines(tmp_path / "in.txt", SENTENCES)
    labels, _ = predict(capsys, str(source))
    labels = labels.splitlines()
    assert labels == sentiment.load().predict(SENTENCES)
    rows = list(csv.DictReader(io.StringIO(predict(capsys, "--format", "csv", str(source))[0])))
    assert [row["input"] for row in rows] == SENTENCES
    assert [row["label"] for row in rows] == labels
    assert all(float(r["p_0"]) + float(r["p_1"]) == pytest.approx(1.0) for r in rows)
    out, _ = predict(capsys, "--format", "jsonl", str(source))
    objects = [json.loads(line) for line in out.splitlines()]
    assert [set(o) for o in objects] == [{"input", "label", "probabilities"}] * 3
    assert [o["label"] for o in objects] == labels
    assert all(set(o["probabilities"]) == {"0", "1"} for o in objects)
    target = tmp_path / "out.jsonl"
    _, err = predict(capsys, "--format", "jsonl", "-o", str(target), str(source))
    assert target.read_text() == out and f"wrote 3 lines to {target}" in err


def test_labelled_input_carries_true_and_the_accuracy_goes_to_stderr(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = write_lines(tmp_path / "labelled.txt", [f"1 {SENTENCES[0]}", f"0 {SENTENCES[1]}"])
    out, err = predict(capsys, "--format", "jsonl", str(source))
    objects = [json.loads(line) for line in out.splitlines()]
    assert [o["true"] for o in objects] == ["1", "0"]
    assert [o["input"] for o in objects] == SENTENCES[:2]
    assert "accuracy 1.0000 (2/2)" in err and "true \\ predicted" in err
    rows = list(csv.DictReader(io.StringIO(predict(capsys, "--format", "csv", str(source))[0])))
    assert [row["true"] for row in rows] == ["1", "0"]


def test_blank_and_skipped_lines_keep_alignment_in_every_format(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "mixed.txt"
    source.write_bytes(b"Great food!\n\n  \nRude staff.\nbad \xff byte\n")
    out, _ = predict(capsys, "--skip-bad-lines", str(source))
    assert out.split("\n") == ["1", "", "", "0", "", ""]
    out, _ = predict(capsys, "--skip-bad-lines", "--format", "jsonl", str(source))
    objects = [json.loads(line) for line in out.splitlines()]
    assert [o["label"] for o in objects] == ["1", None, None, "0", None]
    assert [o["input"] for o in objects] == ["Great food!", "", "", "Rude staff.", ""]
    out, _ = predict(capsys, "--skip-bad-lines", "--format", "csv", str(source))
    assert [row["label"] for row in csv.DictReader(io.StringIO(out))] == ["1", "", "", "0", ""]
    labelled = write_lines(tmp_path / "labelled.txt", ["1 Great food!", "", "0 Rude staff."])
    out, err = predict(capsys, "--format", "jsonl", str(labelled))
    assert [json.loads(line).get("true") for line in out.splitlines()] == ["1", None, "0"]
    assert "accuracy 1.0000 (2/2)" in err


def test_most_words_unknown_is_one_warning(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = write_lines(tmp_path / "german.txt", ["Das Essen war ausgezeichnet, wirklich."])
    _, err = predict(capsys, str(source))
    assert err.count("dlc: warning: ") == 1 and "unknown to the model" in err
    _, err = predict(capsys, str(write_lines(tmp_path / "en.txt", SENTENCES)))
    assert "dlc: warning" not in err


def test_a_long_line_is_cut_to_max_length_with_a_warning(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = write_lines(tmp_path / "long.txt", ["great food " * 400, "never again ."])
    out, err = predict(capsys, "--max-length", "20", str(source))
    assert out.splitlines() == ["1", "0"]
    assert f"{source}:1: truncated to 20 words" in err


def test_threads_and_precision_are_accepted_by_predict(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = write_lines(tmp_path / "in.txt", SENTENCES)
    out, _ = predict(capsys, "--threads", "1", "--precision", "fp32", str(source))
    assert len(out.splitlines()) == 3


def imported_modules(path: Path) -> set[str]:
    """Every ``dlclassics`` module a source file imports, at its top or inside a function."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            names |= {node.module, *(f"{node.module}.{alias.name}" for alias in node.names)}
        elif isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
    return {name for name in names if name.startswith("dlclassics.")}


def test_the_sentiment_modules_import_no_circle_and_no_reproduce() -> None:
    package = Path(sentiment.__file__).parent
    modules = {f"dlclassics.sentiment.{p.stem}": p for p in package.glob("*.py")}
    del modules["dlclassics.sentiment.__init__"]
    graph = {name: imported_modules(path) & set(modules) for name, path in modules.items()}
    assert all("dlclassics.sentiment.reproduce" not in edges for edges in graph.values())

    def reaches(start: str, goal: str, seen: set[str]) -> bool:
        for step in graph[start] - seen:
            seen.add(step)
            if step == goal or reaches(step, goal, seen):
                return True
        return False

    assert [name for name in graph if reaches(name, name, set())] == []


def test_predict_reads_lines_as_people_write_them(tmp_path: Path, capsys):
    """A file line gets what the same sentence gets from the API and in the training form."""
    raw = ["the food was great.", "Great food!", "We won't be back.", "Don't go here!"]
    tidy = ["the food was great .", "great food !", "we wo n't be back .", "do n't go here !"]
    (tmp_path / "raw.txt").write_text("\n".join(raw) + "\n")
    (tmp_path / "tidy.txt").write_text("\n".join(tidy) + "\n")
    probabilities = []
    for name in ("raw.txt", "tidy.txt"):
        assert main(["sentiment", "predict", str(tmp_path / name), "--format", "jsonl"]) == 0
        rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
        probabilities.append([row["probabilities"]["1"] for row in rows])
    np.testing.assert_allclose(probabilities[0], probabilities[1], atol=1e-6)
    api = sentiment.load().predict_proba(raw)[:, 1]
    np.testing.assert_allclose(probabilities[0], api, atol=1e-5)
    assert [p > 0.5 for p in probabilities[0]] == [True, True, False, False]
