"""``dlc caption`` as a user runs it: make-shapes, train on an own folder, resume, sample."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from dlclassics.cli import main

pytestmark = pytest.mark.usefixtures("one_torch_thread")


WORDS = ("red", "blue", "green", "ball", "box", "cup")


def caption_folder(root: Path) -> Path:
    """Eight solid-colour pictures, two captions each (Flickr8k format)."""
    (root / "images").mkdir(parents=True)
    rng = np.random.default_rng(0)
    lines = []
    for i in range(8):
        colour = tuple(int(v) for v in rng.integers(0, 255, 3))
        Image.new("RGB", (40, 40), colour).save(root / "images" / f"p{i}.png")
        a, b = WORDS[i % 3], WORDS[3 + (i // 3) % 3]
        lines += [f"p{i}.png#0\ta {a} {b}", f"p{i}.png#1\tthe {b} is {a}"]
    (root / "captions.txt").write_text("\n".join(lines) + "\n")
    return root


def test_train_resume_and_sample_on_an_own_folder(tmp_path: Path, capsys) -> None:
    folder = caption_folder(tmp_path / "mine")
    out = tmp_path / "run"
    common = [
        "caption",
        "train",
        "--data",
        str(folder),
        "--cell",
        "lstm",
        "--overfit",
        "4",
        "--batch-size",
        "4",
        "--hidden-size",
        "24",
        "--wordvec",
        "12",
        "--lr",
        "2e-2",
        "--lr-decay",
        "1",
        "--image-size",
        "32",
        "--cache-dir",
        str(tmp_path / "cache"),
        "--beam",
        "2",
        "--out",
        str(out),
    ]
    assert main([*common, "--epochs", "40"]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["epochs_done"] == 40 and metrics["train_captions"] == 4
    assert metrics["evaluation"]["train"]["greedy"]["exact match"] == 1.0
    assert set(metrics["evaluation"]["val"]) == {"greedy", "beam2"}
    assert all(
        (out / name).is_file() for name in ("loss.png", "samples_train.png", "samples_val.png")
    )

    assert main([*common, "--epochs", "45", "--resume"]) == 0
    resumed = json.loads((out / "metrics.json").read_text())
    assert resumed["epochs_done"] == 45 and len(resumed["history"]) == 45
    assert [row["epoch"] for row in resumed["history"]] == list(range(1, 46))

    capsys.readouterr()
    sample = [
        "caption",
        "sample",
        "--checkpoint",
        str(out / "checkpoint.pt"),
        "--split",
        "train",
        "--n",
        "2",
    ]
    assert main(sample) == 0
    printed = capsys.readouterr().out
    train_captions = {s["generated"] for s in metrics["samples"]["train"]}
    assert printed.count("generated:") == 2 and any(c in printed for c in train_captions)


def test_user_errors_are_one_line(tmp_path: Path, capsys) -> None:
    assert main(["caption", "train", "--data", "pictures", "--out", str(tmp_path)]) == 2
    assert "dlc: error: --data 'pictures': no such folder; expected shapes, coco" in (
        capsys.readouterr().err
    )
    assert (
        main(
            ["caption", "train", "--data", f"folder:{tmp_path / 'nowhere'}", "--out", str(tmp_path)]
        )
        == 2
    )
    assert "nowhere: no such folder" in capsys.readouterr().err
    assert main(["caption", "sample", "--checkpoint", str(tmp_path / "none.pt")]) == 2
    assert "none.pt: checkpoint not found" in capsys.readouterr().err


TINY = [
    "--cell",
    "rnn",
    "--hidden-size",
    "8",
    "--wordvec",
    "4",
    "--image-size",
    "32",
    "--beam",
    "1",
]


def train_tiny(folder: Path, out: Path, cache: Path, *extra: str) -> int:
    """A few epochs of a tiny model on ``folder``, into ``out``."""
    data = ["--data", str(folder), "--cache-dir", str(cache), "--out", str(out)]
    return main(["caption", "train", *data, *TINY, "--epochs", "2", "--batch-size", "4", *extra])


def stderr_lines(capsys) -> list[str]:
    return capsys.readouterr().err.strip().splitlines()


def test_checkpoint_round_trip_through_sample(tmp_path: Path, capsys) -> None:
    """``caption sample`` reads the one checkpoint format back into the same model."""
    import torch

    from dlclassics.captioning.solver import load_checkpoint

    folder, out = caption_folder(tmp_path / "mine"), tmp_path / "run"
    assert train_tiny(folder, out, tmp_path / "cache") == 0
    saved = torch.load(out / "checkpoint.pt", weights_only=True)
    assert (saved["format"], saved["kind"]) == ("dlclassics-checkpoint", "caption")
    assert saved["labels"][:4] == ["<NULL>", "<START>", "<END>", "<UNK>"]
    assert saved["config"]["hidden_size"] == 8 and saved["loop"]["state"]["epochs_done"] == 2
    capsys.readouterr()
    sample = ["caption", "sample", "--checkpoint", str(out / "checkpoint.pt"), "--split", "train"]
    assert main([*sample, "--n", "3", "--out", str(tmp_path / "figs")]) == 0
    assert capsys.readouterr().out.count("generated:") == 3
    assert (tmp_path / "figs" / "samples_train.png").is_file()
    params = load_checkpoint(out / "checkpoint.pt").params
    assert params["Wh"].shape == (8, 8) and params["Wh"].dtype == np.float32


def test_a_wrong_kind_or_old_checkpoint_is_one_line(tmp_path: Path, capsys) -> None:
    from dlclassics.checkpoint import make_checkpoint, save_checkpoint

    transfer = tmp_path / "best.pt"
    save_checkpoint(make_checkpoint("transfer", {}, {"mode": "freeze"}, ["ants", "bees"]), transfer)
    assert main(["caption", "sample", "--checkpoint", str(transfer)]) == 2
    assert stderr_lines(capsys) == [
        f"dlc: error: {transfer}: a transfer checkpoint, expected a caption checkpoint"
    ]
    old = tmp_path / "checkpoint.npz"  # what dlclassics 0.1 wrote
    np.savez(old, meta=np.array("{}"), adam_t=np.array(3))
    assert main(["caption", "sample", "--checkpoint", str(old)]) == 2
    (line,) = stderr_lines(capsys)
    assert line.startswith(f"dlc: error: {old}: a caption checkpoint of dlclassics 0.1")
    assert "retrain with `dlc caption train`" in line


def test_resume_with_other_settings_is_refused(tmp_path: Path, capsys) -> None:
    folder, out, cache = caption_folder(tmp_path / "mine"), tmp_path / "run", tmp_path / "cache"
    assert train_tiny(folder, out, cache) == 0
    before = (out / "checkpoint.pt").read_bytes()
    capsys.readouterr()
    assert train_tiny(folder, out, cache, "--resume", "--lr", "0.5", "--epochs", "3") == 2
    (line,) = stderr_lines(capsys)
    assert "written with other settings (lr); resume with the same settings" in line
    assert (out / "checkpoint.pt").read_bytes() == before
    # more epochs and another engine are allowed
    assert train_tiny(folder, out, cache, "--resume", "--epochs", "3", "--engine", "torch") == 0
    assert json.loads((out / "metrics.json").read_text())["epochs_done"] == 3


def test_a_non_finite_step_is_never_saved(tmp_path: Path, capsys) -> None:
    folder, out = caption_folder(tmp_path / "mine"), tmp_path / "run"
    assert train_tiny(folder, out, tmp_path / "cache", "--lr", "1e30") == 2
    (line,) = stderr_lines(capsys)
    assert "try a lower --lr" in line
    assert not (out / "checkpoint.pt").exists()


def test_device_cpu_is_honoured_by_the_torch_engine(tmp_path: Path, monkeypatch) -> None:
    """``--engine torch --device cpu``: the torch model's parameters are on the CPU."""
    from dlclassics.captioning import solver

    engines = []

    class SpyEngine(solver.TorchEngine):
        def __init__(self, *args, **kwargs) -> None:
            super().__init__(*args, **kwargs)
            engines.append(self)

    monkeypatch.setattr(solver, "TorchEngine", SpyEngine)
    folder, out = caption_folder(tmp_path / "mine"), tmp_path / "run"
    assert train_tiny(folder, out, tmp_path / "cache", "--engine", "torch", "--device", "cpu") == 0
    assert {p.device.type for p in engines[0].net.parameters()} == {"cpu"}
    assert json.loads((out / "metrics.json").read_text())["config"]["device"] == "cpu"


def test_overfit_alone_applies_the_reference_protocol() -> None:
    from dlclassics.captioning.commands import train_config
    from dlclassics.cli import build_parser

    def config(*args: str):
        return train_config(build_parser().parse_args(["caption", "train", *args]))

    protocol = config("--overfit", "50", "--device", "cpu")
    assert (protocol.overfit, protocol.epochs, protocol.batch_size) == (50, 50, 25)
    assert (protocol.lr, protocol.lr_decay) == (5e-3, 0.995)
    assert (protocol.hidden_size, protocol.wordvec) == (512, 256)
    given = config("--overfit", "50", "--epochs", "3", "--hidden-size", "64", "--device", "cpu")
    assert (given.epochs, given.batch_size, given.hidden_size, given.lr_decay) == (3, 25, 64, 0.995)
    plain = config("--device", "cpu")
    assert (plain.overfit, plain.epochs, plain.batch_size) == (None, 10, 100)
    assert (plain.lr_decay, plain.hidden_size, plain.wordvec, plain.pca) == (0.9, 256, 128, None)


@pytest.mark.parametrize(
    ("flag", "value"),
    [
        ("--batch-size", "0"),
        ("--lr", "nan"),
        ("--lr", "-1"),
        ("--hidden-size", "0"),
        ("--overfit", "-5"),
    ],
)
def test_bad_numbers_are_one_line(tmp_path: Path, capsys, flag: str, value: str) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["caption", "train", "--out", str(tmp_path / "run"), flag, value])
    assert exit_.value.code == 2
    (line,) = stderr_lines(capsys)
    assert line.startswith(f"dlc: error: dlc caption train: argument {flag}")
    assert not (tmp_path / "run").exists()


def test_make_shapes_command(tmp_path: Path) -> None:
    args = [
        "caption",
        "make-shapes",
        "--out",
        str(tmp_path / "s"),
        "--n-train",
        "6",
        "--n-val",
        "3",
        "--n-test",
        "3",
    ]
    assert main(args) == 0
    assert len(list((tmp_path / "s" / "images").glob("*.png"))) == 12
    assert (tmp_path / "s" / "captions_val.txt").read_text().count("\n") == 15
