"""The sentiment part of ``dlc reproduce`` on a toy Yelp folder: the ensemble and distilled rows,
each row's sentences/s on one CPU thread and checkpoint size, the throughput figure."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

from dlclassics.cli import main
from dlclassics.report.sections import PartResult
from dlclassics.sentiment import classifier as classifier_module
from dlclassics.sentiment import run as run_module
from dlclassics.sentiment.classifier import load_classifier
from dlclassics.sentiment.compare import (
    COLUMNS,
    SPEED_COLUMNS,
    comparison_table,
    taught_by,
    throughput,
)
from dlclassics.sentiment.reproduce import EXPLAINED, TRADEOFF, run_part
from dlclassics.stats import Estimate, wilson_interval
from dlclassics.tables import percent
from toy_sentiment import write_toy_yelp

pytestmark = pytest.mark.usefixtures("one_torch_thread")  # conftest.py

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def toy_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data root whose ``yelp`` holds train/dev/test.txt (400/100/100 labelled lines) and
    unlabelled.txt (50 lines)."""
    root = tmp_path_factory.mktemp("toy_root")
    write_toy_yelp(root / "yelp")
    return root


@pytest.fixture(scope="module")
def private_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """The teacher-logit cache in a temporary folder, not the user's."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("cache")))
        yield


@pytest.fixture(scope="module")
def figure_titles() -> dict[Path, str]:
    """The title drawn in each figure ``quick`` trains (figure file → title)."""
    return {}


@pytest.fixture(scope="module")
def quick(
    toy_root: Path,
    tmp_path_factory: pytest.TempPathFactory,
    private_cache: None,
    figure_titles: dict[Path, str],
) -> tuple[Path, PartResult]:
    """The quick profile (bow, glove-avg, their ensemble, a distilled bow) on the toy data,
    each trained model's figure titles recorded in ``figure_titles``."""
    out = tmp_path_factory.mktemp("quick")

    def titled(plot, path_at: int):  # the title follows the path in both plotting functions
        def record(*args, **kwargs):
            figure_titles[Path(args[path_at]).relative_to(out)] = args[path_at + 1]
            return plot(*args, **kwargs)

        return record

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(run_module, "plot_curves", titled(run_module.plot_curves, 1))
        patch.setattr(run_module, "plot_confusion", titled(run_module.plot_confusion, 2))
        return out, run_part(out, toy_root, "quick")


INTERVAL = re.compile(r"^\d+\.\d\d \(\d+\.\d–\d+\.\d\)$")  # "95.49 (95.1–95.9)"


def test_quick_profile_has_the_ensemble_and_distilled_rows(quick: tuple[Path, PartResult]):
    out, result = quick
    rows = result.data["rows"]
    names = ["bow", "glove-avg", "ensemble: bow + glove-avg", "distilled bow ← bow + glove-avg"]
    assert [row["model"] for row in rows] == names
    assert result.data["best_model"] in names
    assert load_classifier(out / "distilled-bow" / "best.pt").config.model == "bow"
    metrics = json.loads((out / "distilled-bow" / "metrics.json").read_text())
    assert metrics["config"]["epochs"] == 4  # the profile's, not the preset's 10
    teachers = [Path(t["path"]) for t in metrics["distillation"]["teachers"]]
    assert teachers == [out / "bow" / "best.pt", out / "glove-avg" / "best.pt"]
    assert metrics["distillation"]["unlabelled"]["sentences"] == 50
    assert rows[3]["reference"] is None and rows[3]["ours"]["test"] == metrics["accuracy"]["test"]
    predictions = (out / "unlabelled_predictions.txt").read_text().splitlines()
    assert len(predictions) == 50 and set(predictions) <= {"0", "1"}


def test_every_row_is_timed_and_sized_in_the_table_and_summary(quick: tuple[Path, PartResult]):
    out, result = quick
    rows = json.loads((out / "summary.json").read_text())["data"]["rows"]
    for row in rows:
        assert row["sentences_per_second"] > 0 and row["megabytes"] > 0
    sizes = {row["model"]: row["megabytes"] for row in rows}
    assert sizes["ensemble: bow + glove-avg"] == pytest.approx(sizes["bow"] + sizes["glove-avg"])
    assert sizes["bow"] == (out / "bow" / "best.pt").stat().st_size / 1e6
    table = result.tables[0]
    assert table.columns == COLUMNS + SPEED_COLUMNS
    speeds = [cells[-2] for cells in table.rows]
    assert speeds == [round(row["sentences_per_second"]) for row in rows]
    assert "| train s | sentences/s | MB |" in (out / "table.md").read_text()


def test_the_throughput_figure_comes_first(quick: tuple[Path, PartResult]):
    out, result = quick
    first = result.figures[0]
    assert first.path == Path(TRADEOFF) and "one CPU thread" in first.caption
    assert (out / TRADEOFF).read_bytes().startswith(PNG)
    for figure in result.figures:  # the distilled student's curves too
        assert (out / figure.path).is_file(), figure.path
    assert Path("distilled-bow/curves.png") in [figure.path for figure in result.figures]


def test_every_figure_title_and_caption_is_unique_and_names_the_distilled_student(
    quick: tuple[Path, PartResult], figure_titles: dict[Path, str]
):
    out, result = quick
    student = "distilled bow ← bow + glove-avg"
    assert figure_titles[Path("distilled-bow/curves.png")] == f"{student}: training curves"
    assert figure_titles[Path("distilled-bow/confusion.png")] == f"{student} on test"
    assert figure_titles[Path("bow/confusion.png")] == "bow on test"
    assert len(figure_titles) == 6 and len(set(figure_titles.values())) == 6
    captions = [figure.caption for figure in result.figures]
    assert len(captions) == 7 and len(set(captions)) == 7
    assert f"{student}: confusion matrix" in captions
    metrics = json.loads((out / "distilled-bow" / "metrics.json").read_text())
    assert metrics["name"] == student and metrics["model"] == "bow"


def test_every_accuracy_of_ours_carries_its_wilson_interval(quick: tuple[Path, PartResult]):
    out, result = quick
    table, rows = result.tables[0], result.data["rows"]
    splits = {"train": 1, "dev": 2, "test": 3}
    for row, cells in zip(rows, table.rows, strict=True):
        for split, column in splits.items():
            cell = cells[column]
            if split not in row["ours"]:  # the ensemble has no train accuracy
                assert cell is None
                continue
            total = row["sentences"][split]
            assert total == (400 if split == "train" else 100)
            correct = round(row["ours"][split] * total)
            assert cell == percent(wilson_interval(correct, total))
            assert isinstance(cell, Estimate) and cell.low <= cell.value <= cell.high
            assert cell.low < cell.high and cell.value == pytest.approx(100 * row["ours"][split])
        for column in (4, 5, 6):  # the reference's published figures: no count, no interval
            assert cells[column] is None or isinstance(cells[column], float)
    for line in (out / "table.md").read_text().splitlines()[2:]:
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        assert all(cell == "–" or INTERVAL.match(cell) for cell in cells[1:4]), line


def test_throughput_predicts_on_one_thread(
    quick: tuple[Path, PartResult], monkeypatch: pytest.MonkeyPatch
):
    out, _ = quick
    threads, predict = [], classifier_module.predict_logits

    def spy(*args, **kwargs):
        threads.append(torch.get_num_threads())
        return predict(*args, **kwargs)

    monkeypatch.setattr(classifier_module, "predict_logits", spy)
    torch.set_num_threads(2)  # one_torch_thread restores the setting
    sentences = [["great", "food"], ["rude", "staff", "."]] * 20
    members = [out / "bow" / "best.pt", out / "glove-avg" / "best.pt"]
    speed = throughput(members, sentences)
    assert speed["sentences_per_second"] > 0
    assert threads and set(threads) == {1}  # every pass, both members
    assert len(threads) % 2 == 0 and len(threads) >= 4  # the warm-up and at least one timed pass


def test_tiny_profile_keeps_one_model_and_still_times_it(
    toy_root: Path, tmp_path: Path, private_cache: None
):
    result = run_part(tmp_path, toy_root, "tiny")
    [row] = result.data["rows"]
    assert row["model"] == "bow" and row["sentences_per_second"] > 0 and row["megabytes"] > 0
    assert result.tables[0].columns[-2:] == SPEED_COLUMNS
    assert result.figures[0].path == Path(TRADEOFF) and (tmp_path / TRADEOFF).is_file()
    assert not (tmp_path / "distilled-bow").exists()
    explained = result.tables[1]  # word attributions of the example sentences
    assert explained.columns == ["sentence", "label", "P(label)", "top words (weight)"]
    assert [row[0] for row in explained.rows] == list(EXPLAINED)
    for _, label, probability, words in explained.rows:
        assert label in ("0 (negative)", "1 (positive)") and 0.5 <= float(probability) <= 1
        assert re.fullmatch(r"\S+ [+−]\d\.\d\d(, \S+ [+−]\d\.\d\d)*", words), words
    assert len(result.data["attributions"]) == len(EXPLAINED)


def test_tiny_report_has_intervals_in_the_sentiment_table_and_unique_captions(
    toy_root: Path, tmp_path: Path, private_cache: None, capsys: pytest.CaptureFixture[str]
):
    args = ["reproduce", "--tiny", "--only", "sentiment", "--out", str(tmp_path)]
    assert main([*args, "--data-root", str(toy_root)]) == 0
    capsys.readouterr()
    report = (tmp_path / "report.md").read_text()
    section = report[report.index("## 5. Sentence sentiment") :]
    header = next(line for line in section.splitlines() if line.startswith("| model |"))
    columns = [cell.strip() for cell in header.strip("|").split("|")]
    table = [line for line in section.splitlines() if line.startswith("| bow |")]
    assert len(table) == 1
    row = [cell.strip() for cell in table[0].strip("|").split("|")]
    cells = dict(zip(columns, row, strict=True))
    for split in ("train", "dev", "test"):
        assert INTERVAL.match(cells[split]), cells[split]
    for split in ("ref train", "ref dev", "ref test"):
        assert re.fullmatch(r"\d+\.\d\d", cells[split]), cells[split]
    captions = re.findall(r"^!\[(.*)\]\(", report, re.MULTILINE)
    assert len(captions) == 3 and len(set(captions)) == len(captions)


def test_untimed_rows_keep_the_compare_columns():
    row = {"model": "bow", "ours": {"test": 0.9}, "reference": None, "train_seconds": 1.0}
    columns, cells = comparison_table([row])
    assert columns == COLUMNS and len(cells[0]) == len(COLUMNS)


def test_a_student_resumes_only_with_the_teachers_it_was_distilled_from(
    quick: tuple[Path, PartResult],
):
    out, _ = quick
    student, members = out / "distilled-bow" / "last.pt", [out / "bow" / "best.pt"]
    assert taught_by(student, [*members, out / "glove-avg" / "best.pt"])
    assert not taught_by(student, members)  # another ensemble: the student starts over
    assert not taught_by(out / "distilled-cnn" / "last.pt", members)  # none saved yet
