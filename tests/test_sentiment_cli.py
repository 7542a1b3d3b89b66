"""``dlc sentiment train / predict / compare`` on a small synthetic data folder."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import pytest
import torch

from dlclassics.checkpoint import load_checkpoint, make_checkpoint, save_checkpoint
from dlclassics.cli import main
from toy_sentiment import NEGATIVE, POSITIVE, write_toy_yelp

pytestmark = pytest.mark.usefixtures("one_torch_thread")  # conftest.py


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """train/dev/test.txt (400/100/100 labelled lines) and unlabelled.txt (50 lines)."""
    return write_toy_yelp(tmp_path_factory.mktemp("toy_yelp"))


def single_error(capsys: pytest.CaptureFixture[str]) -> str:
    """The one ``dlc: error:`` line on standard error (no traceback, no warning)."""
    err = capsys.readouterr().err
    assert err.startswith("dlc: error: ") and err.count("\n") == 1, err
    return err


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
    assert metrics["accuracy"]["test"] > 0.9  # one sentiment word per sentence: easy
    assert 0 < metrics["glove"]["word_coverage"] <= 1
    assert len(metrics["history"]) == 3 and metrics["confusion_matrix"]["split"] == "test"
    assert sum(map(sum, metrics["confusion_matrix"]["rows_true_cols_predicted"])) == 100
    best = load_checkpoint(trained / "best.pt", "sentiment")
    assert best["labels"][:2] == ["<pad>", "<unk>"] and best["config"]["model"] == "glove-lstm"
    assert len(best["labels"]) == best["config"]["vocab_size"] == metrics["config"]["vocab_size"]
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
    assert f"accuracy {metrics['accuracy']['test']:.4f} (" in captured.err


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
    assert "ensemble accuracy " in err


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
    assert main(args) == 2  # a blank line is kept (a blank output line), a bad byte is not
    assert f"{source}:4: not valid UTF-8" in capsys.readouterr().err
    assert main([*args, "--skip-bad-lines"]) == 0
    captured = capsys.readouterr()
    assert captured.out.split("\n")[:4] == ["1", "", "0", ""]
    assert "skipped 1 bad lines" in captured.err


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
    out = ["--out", str(tmp_path / "run")]
    assert main(["sentiment", "train", "--model", "bow", "--data", str(folder), *out]) == 2
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
    assert err.startswith(f"dlc: error: {bogus}: ") and err.count("\n") == 1
    glove_args = ["--model", "glove-avg", "--glove", str(tmp_path / "none.txt")]
    out = ["--out", str(tmp_path / "run")]
    assert main(["sentiment", "train", "--data", str(data_dir), *glove_args, *out]) == 2
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
    assert rows[0]["difference"]["test"] == pytest.approx(rows[0]["ours"]["test"] - 0.9545)


def test_train_with_a_glove_text_file(data_dir: Path, tmp_path: Path) -> None:
    glove = tmp_path / "glove.4d.txt"
    rows = [f"{word} {i} {-i} {i / 2} 1" for i, word in enumerate(POSITIVE + NEGATIVE, start=1)]
    glove.write_text("\n".join(rows) + "\n", encoding="utf-8")
    args = ["--model", "glove-avg", "--epochs", "1", "--glove", str(glove)]
    metrics = train(data_dir, tmp_path / "run", *args)
    assert metrics["glove"]["dim"] == 4 and metrics["config"]["embed_dim"] == 4
    assert metrics["glove"]["words_found"] == 10 and metrics["glove"]["source"] == str(glove)


def test_predict_round_trip_with_positional_files_and_standard_input(
    trained: Path,
    data_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    ckpt, unlabelled, test = (
        str(trained / "best.pt"),
        data_dir / "unlabelled.txt",
        data_dir / "test.txt",
    )
    assert main(["sentiment", "predict", "--checkpoint", ckpt, "--input", str(unlabelled)]) == 0
    expected = capsys.readouterr().out
    assert len(expected.splitlines()) == 50
    # the file after the checkpoint: argparse hands it to --checkpoint, which gives it back
    for args in (["--checkpoint", ckpt, str(unlabelled)], [str(unlabelled), "--checkpoint", ckpt]):
        assert main(["sentiment", "predict", *args]) == 0
        assert capsys.readouterr().out == expected
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(unlabelled.read_bytes())))
    assert main(["sentiment", "predict", "--checkpoint", ckpt, "-"]) == 0
    assert capsys.readouterr().out == expected
    # two files: their lines in order, the accuracy of the labelled one named by its file
    assert main(["sentiment", "predict", "--checkpoint", ckpt, str(unlabelled), str(test)]) == 0
    captured = capsys.readouterr()
    assert captured.out.startswith(expected) and len(captured.out.splitlines()) == 150
    assert f"{test}: accuracy " in captured.err and f"{unlabelled}: accuracy" not in captured.err


@pytest.mark.parametrize("kind", ["transfer", "garbage", "release 0.1", "short vocabulary"])
def test_predict_refuses_a_checkpoint_that_is_not_a_sentiment_model_in_one_line(
    kind: str, trained: Path, data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "other.pt"
    if kind == "transfer":
        weights = {"head.weight": torch.zeros(2, 4)}
        save_checkpoint(make_checkpoint("transfer", weights, {"backbone": "x"}, ["a", "b"]), path)
        expected = "a transfer checkpoint, expected a sentiment checkpoint"
    elif kind == "garbage":
        path.write_bytes(b"PK\x03\x04 not a zip archive after all")
        expected = "not a readable checkpoint"
    elif kind == "release 0.1":
        torch.save({"format": "dlclassics-sentiment-1", "model_state": {}}, path)
        expected = "retrain with `dlc sentiment train`"
    else:
        saved = load_checkpoint(trained / "best.pt", "sentiment")
        save_checkpoint({**saved, "labels": saved["labels"][:-3]}, path)
        expected = "damaged sentiment checkpoint"
    assert (
        main(["sentiment", "predict", "--checkpoint", str(path), str(data_dir / "test.txt")]) == 2
    )
    assert expected in single_error(capsys)


def test_device_cpu_is_honoured_in_train_and_predict(
    data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dlclassics import training
    from dlclassics.sentiment import classifier

    monkeypatch.setenv("DLC_DEVICE", "cuda")  # --device wins over the environment
    seen: list[tuple[set[str], str]] = []
    real_train, real_predict = training.train, classifier.predict_logits

    def spy_train(model: torch.nn.Module, *args, **kwargs):
        seen.append(({p.device.type for p in model.parameters()}, kwargs["device"]))
        return real_train(model, *args, **kwargs)

    def spy_predict(model: torch.nn.Module, loader, device: str, *args, **kwargs):
        seen.append(({p.device.type for p in model.parameters()}, device))
        return real_predict(model, loader, device, *args, **kwargs)

    monkeypatch.setattr(training, "train", spy_train)
    monkeypatch.setattr(classifier, "predict_logits", spy_predict)
    metrics = train(
        data_dir, tmp_path / "run", "--model", "avg", "--epochs", "1", "--device", "cpu"
    )
    assert metrics["device"] == "cpu" and seen and all(s == ({"cpu"}, "cpu") for s in seen)
    seen.clear()
    ckpt = str(tmp_path / "run" / "best.pt")
    assert (
        main(
            [
                "sentiment",
                "predict",
                "--device",
                "cpu",
                "--checkpoint",
                ckpt,
                str(data_dir / "test.txt"),
            ]
        )
        == 0
    )
    assert seen == [({"cpu"}, "cpu")]


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without a GPU")
def test_device_cuda_without_a_gpu_is_one_line(
    data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["sentiment", "train", "--model", "bow", "--data", str(data_dir), "--device", "cuda"]
    assert main([*args, "--out", str(tmp_path / "run")]) == 2
    assert "no CUDA GPU" in single_error(capsys)


@pytest.mark.parametrize("change", ["setting", "data"])
def test_resume_with_changed_settings_or_data_is_refused_in_one_line(
    change: str, data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "run"
    train(data_dir, out, "--model", "bow", "--epochs", "1")
    before = (out / "last.pt").read_bytes()
    capsys.readouterr()
    args = ["sentiment", "train", "--model", "bow", "--epochs", "2", "--out", str(out), "--resume"]
    if change == "setting":
        args += ["--data", str(data_dir), "--lr", "0.5"]
    else:  # the same vocabulary, one label flipped
        other = copy_with_bad_lines(data_dir, tmp_path / "other", b"")
        lines = (other / "train.txt").read_text().splitlines(keepends=True)
        lines[0] = ("1" if lines[0][0] == "0" else "0") + lines[0][1:]
        (other / "train.txt").write_text("".join(lines))
        args += ["--data", str(other)]
    assert main(args) == 2
    err = single_error(capsys)
    assert (
        f"last.pt: written with a different {'config' if change == 'setting' else 'fingerprint'}"
        in err
    )
    assert (out / "last.pt").read_bytes() == before


def test_an_unusable_out_is_refused_before_any_work(
    trained: Path, data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ckpt, unlabelled = str(trained / "best.pt"), str(data_dir / "unlabelled.txt")
    assert (
        main(["sentiment", "predict", "--checkpoint", ckpt, unlabelled, "-o", str(tmp_path)]) == 2
    )
    assert "is a folder" in single_error(capsys)
    a_file = tmp_path / "a_file"
    a_file.write_text("keep me")
    args = ["sentiment", "train", "--model", "bow", "--data", str(data_dir), "-o", str(a_file)]
    assert main(args) == 2
    assert "exists and is not a folder" in single_error(capsys)
    assert a_file.read_text() == "keep me"
    out = tmp_path / "pred.txt"
    assert main(["sentiment", "predict", "--checkpoint", ckpt, unlabelled, "-o", str(out)]) == 0
    assert len(out.read_text().splitlines()) == 50


@pytest.mark.parametrize(
    "flag",
    [
        ("--batch-size", "0"),
        ("--dropout", "2"),
        ("--hidden-size", "0"),
        ("--train-limit", "-5"),
        ("--threads", "-3"),
        ("--lr", "nan"),
        ("--lr", "-1"),
        ("--epochs", "0"),
        ("--patience", "0"),
    ],
)
def test_bad_numbers_are_refused_in_one_line(
    flag: tuple[str, str], data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["sentiment", "train", "--model", "bow", "--data", str(data_dir), *flag])
    assert exit_info.value.code == 2
    assert flag[0] in single_error(capsys)


def test_cr_only_and_bom_files_are_read_line_by_line(
    trained: Path, data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "mac"
    folder.mkdir()
    for split in ("train", "dev"):
        text = (data_dir / f"{split}.txt").read_bytes().replace(b"\n", b"\r")
        (folder / f"{split}.txt").write_bytes(b"\xef\xbb\xbf" + text)
    metrics = train(folder, tmp_path / "run", "--model", "bow", "--epochs", "1")
    assert metrics["sentences"] == {"train": 400, "dev": 100}
    capsys.readouterr()  # the training log
    source = tmp_path / "three.txt"
    source.write_bytes(b"\xef\xbb\xbfgreat food\rrude staff\rlovely place")
    assert (
        main(["sentiment", "predict", "--checkpoint", str(trained / "best.pt"), str(source)]) == 0
    )
    assert capsys.readouterr().out.splitlines() == ["1", "0", "1"]


def test_labelled_or_not_by_flag_or_by_the_rule(
    trained: Path, data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ckpt, test = str(trained / "best.pt"), str(data_dir / "test.txt")
    assert main(["sentiment", "predict", "--checkpoint", ckpt, test, "--unlabelled"]) == 0
    captured = capsys.readouterr()
    assert len(captured.out.splitlines()) == 100 and "accuracy" not in captured.err
    # a one-star review that starts with "1" stays a sentence among ordinary ones, and alone
    for text in ("lovely food\n1 star , never again .\nrude staff\n", "1 star , never again .\n"):
        (tmp_path / "u.txt").write_text(text)
        assert main(["sentiment", "predict", "--checkpoint", ckpt, str(tmp_path / "u.txt")]) == 0
        captured = capsys.readouterr()
        assert len(captured.out.splitlines()) == text.count("\n") and "accuracy" not in captured.err
    assert (
        main(["sentiment", "predict", "--checkpoint", ckpt, str(tmp_path / "u.txt"), "--labelled"])
        == 0
    )
    assert "accuracy " in capsys.readouterr().err
    # one typo in a labelled file is a bad line, not a switch to unlabelled input
    lines = (data_dir / "test.txt").read_text().splitlines(keepends=True)
    (tmp_path / "typo.txt").write_text("".join([*lines[:6], "l" + lines[6][1:], *lines[7:]]))
    assert main(["sentiment", "predict", "--checkpoint", ckpt, str(tmp_path / "typo.txt")]) == 2
    assert f"{tmp_path / 'typo.txt'}:7: missing label" in single_error(capsys)
