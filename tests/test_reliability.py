"""Every bad input of issue 14, through ``dlc`` itself, in one table.

Each case runs ``cli.main(argv)`` on tiny inputs this file writes, and checks what a user relies
on: the exit code, that standard error is exactly one ``dlc: error:`` line (no traceback, no
library warning), and that nothing already in the output folder changed.
"""

from __future__ import annotations

import hashlib
import os
import signal
import stat
import subprocess
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from dlclassics import cli

pytestmark = pytest.mark.usefixtures("one_torch_thread")  # conftest.py

POSITIVE = ["great food and friendly staff", "i love this place", "best pizza in town"]
NEGATIVE = ["terrible service and cold food", "never again", "the worst meal i had"]


def write_sentences(folder: Path, counts: dict[str, int]) -> Path:
    """train/dev/test.txt of ``0 sentence`` / ``1 sentence`` lines (alternating labels)."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    for split, count in counts.items():
        lines = []
        for i in range(count):
            label = i % 2
            words = (POSITIVE if label else NEGATIVE)[rng.integers(3)]
            lines.append(f"{label} {words} .")
        (folder / f"{split}.txt").write_text("\n".join(lines) + "\n")
    return folder


def write_images(root: Path) -> Path:
    """train/{reds,blues} with 4 images each, val/ with 2 each."""
    rng = np.random.default_rng(0)
    colours = {"reds": (210, 40, 40), "blues": (40, 40, 210)}
    for split, count in (("train", 4), ("val", 2)):
        for name, colour in colours.items():
            (root / split / name).mkdir(parents=True)
            for i in range(count):
                pixels = np.clip(np.array(colour) + rng.normal(0, 30, (40, 40, 3)), 0, 255)
                Image.fromarray(pixels.astype("uint8")).save(root / split / name / f"{i}.png")
    return root


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Tiny inputs and one good run of each kind (its checkpoints are damaged copy by copy)."""
    root = tmp_path_factory.mktemp("inputs")
    paths = {
        "tf": write_images(root / "tf"),
        "sent": write_sentences(root / "sent", {"train": 40, "dev": 10, "test": 10}),
        "photo": root / "photo.png",
        "thin": root / "thin.png",
        "text": root / "text.txt",
        "afile": root / "afile.txt",
    }
    noise = np.random.default_rng(1).integers(0, 256, (40, 48, 3), dtype=np.uint8)
    Image.fromarray(noise).save(paths["photo"])
    Image.fromarray(np.full((1, 5000, 3), 90, np.uint8)).save(paths["thin"])
    paths["text"].write_text("great food .\r\nnever again .\r\n")
    paths["afile"].write_text("not a folder\n")
    sentiment_run = root / "sentiment_run"
    train = ["sentiment", "train", "--model", "bow", "--data", str(paths["sent"])]
    assert cli.main([*train, "--epochs", "2", "-o", str(sentiment_run)]) == 0
    paths["sentiment_best"] = sentiment_run / "best.pt"
    paths["sentiment_run"] = sentiment_run
    transfer_run = root / "transfer_run"
    args = ["--mode", "freeze", "--epochs", "1", "--views", "1", "--no-tta"]
    assert (
        cli.main(["transfer", "train", "--data", str(paths["tf"]), *args, "-o", str(transfer_run)])
        == 0
    )
    paths["transfer_best"] = transfer_run / "freeze" / "best.pt"
    return paths


def damaged(
    inputs: dict[str, Path],
    tmp: Path,
    change: Callable[[dict], None],
    source: str = "sentiment_best",
) -> Path:
    """A copy of a good best.pt (``source``: which) with ``change`` applied to its dict."""
    saved = torch.load(inputs[source], weights_only=True)
    change(saved)
    path = tmp / "damaged.pt"
    torch.save(saved, path)
    return path


def truncated(inputs: dict[str, Path], tmp: Path) -> Path:
    path = tmp / "cut.pt"
    path.write_bytes(inputs["sentiment_best"].read_bytes()[:2000])
    return path


class Exploit:
    def __reduce__(self):
        return (os.system, ("echo pwned > /dev/null",))


def malicious(tmp: Path) -> Path:
    path = tmp / "evil.pt"
    torch.save({"format": "dlclassics-checkpoint", "model": Exploit()}, path)
    return path


def poison_first_weight(saved: dict) -> None:
    name = next(iter(saved["model"]))
    saved["model"][name] = torch.full_like(saved["model"][name], float("nan"))


def shrink_largest_tensor(saved: dict) -> None:
    name = max(saved["model"], key=lambda key: saved["model"][key].numel())
    saved["model"][name] = saved["model"][name][:1]


@dataclass
class Case:
    """``argv(inputs, tmp, out)`` → the ``dlc`` arguments; ``expect`` is in the one error line."""

    name: str
    argv: Callable[[dict[str, Path], Path, Path], list[str]]
    expect: str
    code: int = 2


def sent_train(inputs: dict[str, Path], out: Path, *extra: str) -> list[str]:
    data = ["--data", str(inputs["sent"])]
    return ["sentiment", "train", "--model", "bow", *data, "-o", str(out), *extra]


def tf_train(inputs: dict[str, Path], out: Path, *extra: str) -> list[str]:
    data = ["--data", str(inputs["tf"]), "--mode", "freeze", "--views", "1", "--no-tta"]
    return ["transfer", "train", *data, "-o", str(out), *extra]


def sent_predict(checkpoint: Path, inputs: dict[str, Path], *extra: str) -> list[str]:
    return ["sentiment", "predict", "--checkpoint", str(checkpoint), str(inputs["text"]), *extra]


CASES = [
    # 1. numbers that would make weights non-finite are refused before any work
    Case("transfer --lr inf", lambda i, t, o: tf_train(i, o, "--lr", "inf"), "--lr"),
    Case("sentiment --lr inf", lambda i, t, o: sent_train(i, o, "--lr", "inf"), "--lr"),
    # 2. outputs that cannot be written are refused before the work
    Case("sentiment -o FILE", lambda i, t, o: sent_train(i, i["afile"]), "afile.txt"),
    Case("transfer -o FILE", lambda i, t, o: tf_train(i, i["afile"]), "afile.txt"),
    Case(
        "predict -o DIR",
        lambda i, t, o: sent_predict(i["sentiment_best"], i, "-o", str(o)),
        "folder",
    ),
    Case(
        "style -o under a file",
        lambda i, t, o: ["style", str(i["photo"]), str(i["photo"]), "-o", f"{i['afile']}/r.png"],
        "afile.txt",
    ),
    # 3. checkpoints whose contents are wrong
    Case(
        "missing keys",
        lambda i, t, o: sent_predict(damaged(i, t, lambda s: s.pop("model")), i),
        "damaged.pt",
    ),
    Case(
        "shape mismatch",
        lambda i, t, o: sent_predict(damaged(i, t, shrink_largest_tensor), i),
        "damaged.pt",
    ),
    Case(
        "short vocabulary",
        lambda i, t, o: sent_predict(damaged(i, t, lambda s: s["labels"].pop()), i),
        "damaged.pt",
    ),
    Case(
        "NaN weights",
        lambda i, t, o: sent_predict(damaged(i, t, poison_first_weight), i),
        "holds NaN",
    ),
    Case(
        "NaN transfer weights",
        lambda i, t, o: [
            *("transfer", "predict", "--checkpoint"),
            str(damaged(i, t, poison_first_weight, source="transfer_best")),
            str(i["photo"]),
        ],
        "holds NaN",
    ),
    Case(
        "labels a string",
        lambda i, t, o: [
            *("transfer", "predict", "--checkpoint"),
            str(damaged(i, t, lambda s: s.update(labels="ab"), source="transfer_best")),
            str(i["photo"]),
        ],
        "labels is a str",
    ),
    Case(
        "config a list",
        lambda i, t, o: sent_predict(damaged(i, t, lambda s: s.update(config=[1])), i),
        "config is a list",
    ),
    Case(
        "predict -o /dev/full",
        lambda i, t, o: sent_predict(i["sentiment_best"], i, "-o", "/dev/full"),
        "No space left on device",
    ),
    Case("truncated", lambda i, t, o: sent_predict(truncated(i, t), i), "cut.pt"),
    Case("malicious pickle", lambda i, t, o: sent_predict(malicious(t), i), "evil.pt"),
    Case("wrong kind", lambda i, t, o: sent_predict(i["transfer_best"], i), "transfer"),
    Case(
        "sentiment checkpoint to transfer predict",
        lambda i, t, o: ["transfer", "predict", "--checkpoint", str(i["sentiment_best"]), "x"],
        "sentiment",
    ),
    # 4. numeric flags
    *[
        Case(
            f"sentiment {flag} {value}",
            lambda i, t, o, f=flag, v=value: sent_train(i, o, f, v),
            flag,
        )
        for flag, value in [
            ("--batch-size", "0"),
            ("--dropout", "2"),
            ("--hidden-size", "0"),
            ("--train-limit", "-5"),
            ("--threads", "-3"),
            ("--lr", "nan"),
            ("--lr", "-1"),
            ("--epochs", "0"),
        ]
    ],
    # 6. resume with changed settings
    Case(
        "resume with another --lr",
        lambda i, t, o: sent_train(
            i, i["sentiment_run"], "--epochs", "3", "--lr", "0.5", "--resume"
        ),
        "different",
    ),
    # 7. runaway work
    Case(
        "5000x1 style picture",
        lambda i, t, o: ["style", str(i["photo"]), str(i["thin"]), "-o", str(o / "r.png")],
        "thin.png",
    ),
    Case(
        "style weight overflow",
        lambda i, t, o: [
            *("style", str(i["photo"]), str(i["photo"]), "-o", str(o / "r.png")),
            *("--size", "32", "--iters", "3", "--style-weight", *["1e38"] * 4),
        ],
        "style loss became inf",
    ),
]


def snapshot(folder: Path) -> dict[str, str]:
    """Every file under ``folder`` (hidden lock files aside) with its content hash."""
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and not p.name.startswith(".dlc")
    }


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_bad_input_is_one_line_and_changes_nothing(
    case: Case, inputs: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    out = tmp_path / "out"
    out.mkdir()
    (out / "earlier.txt").write_text("written by an earlier run\n")
    watched = [out, inputs["sentiment_run"], inputs["afile"].parent]
    before = [snapshot(folder) for folder in watched]
    argv = case.argv(inputs, tmp_path, out)
    capsys.readouterr()
    try:
        code = cli.main(argv)
    except SystemExit as stop:  # argparse's own exit, after its one line
        code = stop.code
    err = capsys.readouterr().err
    assert code == case.code, err
    assert err.startswith("dlc: error: ") and err.count("\n") == 1, err
    assert case.expect in err
    assert "Traceback" not in err and "weights_only=False" not in err
    assert [snapshot(folder) for folder in watched] == before


def test_a_folder_locked_by_a_live_run_is_refused(inputs: dict[str, Path], tmp_path: Path, capsys):
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        out = tmp_path / "busy"
        out.mkdir()
        (out / ".dlc.lock").write_text(f"{other.pid}\n")
        assert cli.main(sent_train(inputs, out, "--epochs", "1")) == 2
        err = capsys.readouterr().err
        assert f"another dlc run (PID {other.pid})" in err and err.count("\n") == 1
    finally:
        other.kill()
        other.wait()
    # once that process is gone its lock is stale: the next run takes over
    assert cli.main(sent_train(inputs, out, "--epochs", "1")) == 0
    assert (out / "best.pt").is_file()


def test_a_checkpoint_with_an_unknown_config_field_still_loads(
    inputs: dict[str, Path], tmp_path: Path, capsys
):
    """A later version may add settings: the checkpoint of this one must still be read."""
    future = damaged(inputs, tmp_path, lambda s: s["config"].update(new_setting=3))
    assert cli.main(sent_predict(future, inputs)) == 0
    assert capsys.readouterr().out.count("\n") == 2  # CR-only line ends: two sentences


def test_stale_temporary_files_are_removed_by_the_next_run(inputs: dict[str, Path], tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    leftover = out / ".last.pt.abc123.tmp"  # what SIGKILL during an atomic write leaves
    leftover.write_bytes(b"half a checkpoint")
    assert cli.main(sent_train(inputs, out, "--epochs", "1")) == 0
    assert not leftover.exists()


def test_a_pipe_given_as_output_gets_the_lines_and_stays_a_pipe(
    inputs: dict[str, Path], tmp_path: Path
):
    fifo = tmp_path / "predictions.fifo"
    os.mkfifo(fifo)
    received: list[str] = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_text()))
    reader.start()
    code = cli.main(sent_predict(inputs["sentiment_best"], inputs, "-o", str(fifo)))
    reader.join(timeout=30)
    assert code == 0
    assert stat.S_ISFIFO(fifo.stat().st_mode)
    assert received and received[0].count("\n") == 2


def test_a_device_given_as_output_stays_a_device(inputs: dict[str, Path]):
    assert cli.main(sent_predict(inputs["sentiment_best"], inputs, "-o", "/dev/null")) == 0
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)


def test_an_os_error_naming_a_path_is_one_line(monkeypatch, capsys):
    """A permission error anywhere (a read-only cache folder) names the path, not a type."""

    def refuse(args):
        raise PermissionError(13, "Permission denied", "/cache/features.pt")

    parser = cli.build_parser()
    args = parser.parse_args(["data", "status"])
    monkeypatch.setattr(cli, "build_parser", lambda: parser)
    monkeypatch.setattr(args, "func", refuse, raising=False)
    monkeypatch.setattr(parser, "parse_args", lambda argv: args)
    assert cli.main(["data", "status"]) == 2
    err = capsys.readouterr().err
    assert err == "dlc: error: /cache/features.pt: Permission denied\n"


def test_ctrl_c_while_the_program_exits_is_ignored(monkeypatch, capsys):
    """Once ``dlc`` (run as the program: no argv) has its exit code, a Ctrl-C during the exit
    handlers (the lock's removal) must not print an "Exception ignored in atexit" traceback."""
    monkeypatch.setattr(sys, "argv", ["dlc", "data", "path", "yelp"])
    before = signal.getsignal(signal.SIGINT)
    try:
        assert cli.main() == 0
        assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGINT, before)
    assert cli.main(["data", "path", "yelp"]) == 0  # called in-process: SIGINT left alone
    assert signal.getsignal(signal.SIGINT) is before


def test_an_unwritable_caption_cache_is_one_line_naming_it(tmp_path: Path, capsys):
    """A cache folder that cannot be made (a file stands in its way; root ignores permission
    bits) stops in one line naming it, not as an unexpected error."""
    folder = tmp_path / "mine"
    (folder / "images").mkdir(parents=True)
    for name, colour in (("a.png", "red"), ("b.png", "blue")):
        Image.new("RGB", (16, 16), colour).save(folder / "images" / name)
    (folder / "captions.txt").write_text("a.png#0\ta red box\nb.png#0\ta blue box\n")
    blocker = tmp_path / "cache"
    blocker.write_text("not a folder\n")
    argv = ["caption", "train", "--data", str(folder), "--cache-dir", str(blocker / "features")]
    assert cli.main([*argv, "--epochs", "1", "-o", str(tmp_path / "run")]) == 2
    errors = [line for line in capsys.readouterr().err.splitlines() if "error" in line]
    assert len(errors) == 1 and errors[0].startswith("dlc: error: "), errors
    assert str(blocker) in errors[0]
