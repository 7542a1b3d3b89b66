"""``dlc sentiment train / predict / compare`` on a small synthetic data folder."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from dlclassics.cli import main
from dlclassics.io import torch_load_checkpoint

POSITIVE = ["great", "lovely", "tasty", "friendly", "amazing"]
NEGATIVE = ["awful", "rude", "cold", "bland", "dirty"]
NEUTRAL = ["the", "food", "staff", "was", "and", "place", "very", "our", "table", "."]


pytestmark = pytest.mark.usefixtures("one_torch_thread")  # conftest.py


def sentence(rng: random.Random, label: int) -> str:
    words = [rng.choice(NEUTRAL) for _ in range(rng.randint(2, 7))]
    words.insert(rng.randint(0, len(words)), rng.choice(POSITIVE if label else NEGATIVE))
    return " ".join(words)


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """train/dev/test.txt (400/100/100 labelled lines) and unlabelled.txt (50 lines)."""
    folder = tmp_path_factory.mktemp("toy_yelp")
    rng = random.Random(0)
    for split, n in (("train", 400), ("dev", 100), ("test", 100)):
        labels = [i % 2 for i in range(n)]
        lines = [f"{label} {sentence(rng, label)}" for label in labels]
        (folder / f"{split}.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    unlabelled = [sentence(rng, i % 2) for i in range(50)]
    (folder / "unlabelled.txt").write_text("\n".join(unlabelled) + "\n", encoding="utf-8")
    return folder


def train(data_dir: Path, out: Path, *extra: str) -> dict:
    code = main(["sentiment", "train", "--data", str(data_dir), "--out", str(out), *extra])
    assert code == 0
    return json.loads((out / "metrics.json").read_text())


@pytest.fixture(scope="module")
def trained(data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A glove-lstm trained on the toy data: its output folder."""
    out = tmp_path_factory.mktemp("run")
    train(data_dir, out, "--model", "glove-lstm", "--epochs", "3", "--batch-size", "32")
    return out


def test_train_writes_metrics_figures_and_a_self_contained_checkpoint(trained: Path) -> None:
    metrics = json.loads((trained / "metrics.json").read_text())
    for name in ("curves.png", "confusion.png", "best.pt", "last.pt"):
        assert (trained / name).stat().st_size > 0
    assert set(metrics["accuracy"]) == {"train", "dev", "test"}
    assert metrics["accuracy"]["test"] > 90  # one sentiment word per sentence: easy
    assert 0 < metrics["glove"]["word_coverage"] <= 1
    assert len(metrics["history"]) == 3 and metrics["confusion_matrix"]["split"] == "test"
    assert sum(map(sum, metrics["confusion_matrix"]["rows_true_cols_predicted"])) == 100
    best = torch_load_checkpoint(trained / "best.pt")
    assert best["vocab"][:2] == ["<pad>", "<unk>"] and best["model_config"]["name"] == "glove-lstm"
    assert best["epoch"] == metrics["best_epoch"]


def test_predict_writes_one_line_per_input_line(
    trained: Path, data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ckpt = str(trained / "best.pt")
    out = tmp_path / "pred.txt"
    args = [
        "sentiment",
        "predict",
        "--checkpoint",
        ckpt,
        "--input",
        str(data_dir / "unlabelled.txt"),
    ]
    assert main([*args, "--out", str(out)]) == 0
    labels = out.read_text().splitlines()
    assert len(labels) == 50 and set(labels) <= {"0", "1"}
    # sentences were generated alternating negative/positive
    assert sum(label == str(i % 2) for i, label in enumerate(labels)) >= 45

    assert main([*args, "--proba"]) == 0
    probabilities = [float(x) for x in capsys.readouterr().out.splitlines()]
    assert len(probabilities) == 50 and all(0 <= p <= 1 for p in probabilities)
    assert [str(int(p >= 0.5)) for p in probabilities] == labels

    test_args = [
        "sentiment",
        "predict",
        "--checkpoint",
        ckpt,
        "--input",
        str(data_dir / "test.txt"),
    ]
    assert main(test_args) == 0
    captured = capsys.readouterr()
    assert len(captured.out.splitlines()) == 100
    metrics = json.loads((trained / "metrics.json").read_text())
    assert f"accuracy: {metrics['accuracy']['test']:.2f} %" in captured.err


def test_predict_with_several_checkpoints_averages_their_probabilities(
    trained: Path, data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bow = tmp_path / "bow"
    train(data_dir, bow, "--model", "bow", "--epochs", "2")
    capsys.readouterr()  # the training log
    members = [str(trained / "best.pt"), str(bow / "best.pt")]
    test_file = str(data_dir / "test.txt")

    def probabilities(*checkpoints: str) -> list[float]:
        args = ["sentiment", "predict", "--proba", "--input", test_file]
        assert main([*args, "--checkpoint", *checkpoints]) == 0
        return [float(x) for x in capsys.readouterr().out.splitlines()]

    lstm, bag = probabilities(members[0]), probabilities(members[1])
    ensemble = probabilities(*members)
    assert len(ensemble) == 100
    for mean, a, b in zip(ensemble, lstm, bag, strict=True):
        assert mean == pytest.approx((a + b) / 2, abs=1.5e-4)  # each printed to 4 decimals

    assert main(["sentiment", "predict", "--input", test_file, "--checkpoint", *members]) == 0
    err = capsys.readouterr().err
    for member in members:
        assert f"{member}: accuracy " in err
    assert "ensemble accuracy: " in err


def test_predict_skip_bad_lines_keeps_alignment(
    trained: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "mixed.txt"
    source.write_bytes(b"great food\n\nrude staff\nbad \xff byte\n")
    args = [
        "sentiment",
        "predict",
        "--checkpoint",
        str(trained / "best.pt"),
        "--input",
        str(source),
    ]
    assert main(args) == 2
    assert f"{source}:2: empty line" in capsys.readouterr().err
    assert main([*args, "--skip-bad-lines"]) == 0
    captured = capsys.readouterr()
    assert captured.out.split("\n")[:4] == ["1", "", "0", ""]
    assert "skipped 2 bad lines" in captured.err


def copy_with_bad_lines(data_dir: Path, folder: Path, bad: bytes) -> Path:
    """train.txt (400 lines) + ``bad`` appended, and dev.txt; no test.txt."""
    folder.mkdir()
    (folder / "train.txt").write_bytes((data_dir / "train.txt").read_bytes() + bad)
    (folder / "dev.txt").write_bytes((data_dir / "dev.txt").read_bytes())
    return folder


@pytest.mark.parametrize(
    ("bad", "problem"),
    [
        (b"1 good\ngood\n", "train.txt:402: missing label"),
        (b"1 ok\n0 \xc3\x28\n", "train.txt:402: not valid UTF-8"),
        (b"1 ok\n\n", "train.txt:402: empty line"),
    ],
)
def test_train_names_the_bad_line(
    data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], bad: bytes, problem: str
) -> None:
    folder = copy_with_bad_lines(data_dir, tmp_path / "data", bad)
    assert main(["sentiment", "train", "--model", "bow", "--data", str(folder)]) == 2
    err = capsys.readouterr().err
    assert problem in err and err.count("\n") == 1


def test_train_skip_bad_lines_counts_them(data_dir: Path, tmp_path: Path) -> None:
    folder = copy_with_bad_lines(data_dir, tmp_path / "data", b"1 ok\n\nno label here\n")
    metrics = train(folder, tmp_path / "o", "--model", "bow", "--epochs", "1", "--skip-bad-lines")
    assert metrics["skipped_lines"]["train"] == 2 and metrics["sentences"]["train"] == 401
    assert "test" not in metrics["accuracy"]  # no test.txt in this folder: dev only


def test_user_errors_are_one_line(
    data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["sentiment", "train", "--model", "bow", "--data", str(tmp_path / "nope")]) == 2
    assert (
        capsys.readouterr().err.strip() == f"dlc: error: {tmp_path / 'nope'}: no such data folder"
    )
    bogus = tmp_path / "bogus.pt"
    bogus.write_bytes(b"not a checkpoint")
    source = tmp_path / "in.txt"
    source.write_text("fine\n")
    assert main(["sentiment", "predict", "--checkpoint", str(bogus), "--input", str(source)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"dlc: error: {bogus}: not a readable") and err.count("\n") == 1
    glove_args = ["--model", "glove-avg", "--glove", str(tmp_path / "none.txt")]
    assert main(["sentiment", "train", "--data", str(data_dir), *glove_args]) == 2
    assert f"{tmp_path / 'none.txt'}: no such GloVe file" in capsys.readouterr().err


def test_same_seed_same_metrics_and_resume_matches(data_dir: Path, tmp_path: Path) -> None:
    args = ["--model", "avg", "--batch-size", "32", "--seed", "3"]
    uninterrupted = train(data_dir, tmp_path / "a", *args, "--epochs", "2")
    # stop after epoch 1 (same seed: same first epoch), then resume to epoch 2
    stopped = train(data_dir, tmp_path / "b", *args, "--epochs", "1")
    assert stopped["history"][0]["dev_loss"] == uninterrupted["history"][0]["dev_loss"]
    resumed = train(data_dir, tmp_path / "b", *args, "--epochs", "2", "--resume")
    dev_losses = [row["dev_loss"] for row in resumed["history"]]
    assert dev_losses == [row["dev_loss"] for row in uninterrupted["history"]]
    assert resumed["accuracy"] == uninterrupted["accuracy"]
    assert resumed["loss"] == uninterrupted["loss"]


def test_compare_prints_the_table_with_reference_numbers(
    data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "cmp"
    args = [
        "sentiment",
        "compare",
        "--models",
        "bow",
        "--data",
        str(data_dir),
        "--out",
        str(out),
    ]
    assert main(args) == 0
    table = capsys.readouterr().out
    assert "| model | train | dev | test | ref train | ref dev | ref test | test Δ |" in table
    assert "| bow |" in table and "| 98.07 | 96.06 | 95.45 |" in table
    rows = json.loads((out / "compare.json").read_text())
    assert [row["model"] for row in rows] == ["bow"]
    assert rows[0]["difference"]["test"] == pytest.approx(rows[0]["ours"]["test"] - 95.45)


def test_train_with_a_glove_text_file(data_dir: Path, tmp_path: Path) -> None:
    glove = tmp_path / "glove.4d.txt"
    rows = [f"{word} {i} {-i} {i / 2} 1" for i, word in enumerate(POSITIVE + NEGATIVE, start=1)]
    glove.write_text("\n".join(rows) + "\n", encoding="utf-8")
    args = ["--model", "glove-avg", "--epochs", "1", "--glove", str(glove)]
    metrics = train(data_dir, tmp_path / "run", *args)
    assert metrics["glove"]["dim"] == 4 and metrics["model_config"]["embed_dim"] == 4
    assert metrics["glove"]["words_found"] == 10 and metrics["glove"]["source"] == str(glove)
