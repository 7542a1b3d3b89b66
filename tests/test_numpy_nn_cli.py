"""``dlc gradcheck`` as a user runs it, and the "gradients" section of ``dlc reproduce``."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from dlclassics.cli import main
from dlclassics.numpy_nn import rnn_layers
from dlclassics.numpy_nn.reproduce import run_part


def test_dlc_gradcheck_passes_and_writes_json(tmp_path: Path) -> None:
    out = tmp_path / "nested" / "gradcheck.json"
    result = subprocess.run(
        [sys.executable, "-m", "dlclassics.cli", "gradcheck", "--seed", "3", "--json", str(out)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert any(line.split()[:2] == ["lstm", "dWh"] and line.endswith("ok") for line in lines)
    assert "all 57 gradients agree" in result.stdout
    report = json.loads(out.read_text())
    assert report["seed"] == 3 and report["all_passed"] is True
    assert len(report["rows"]) == 57
    assert all(row["rel_error"] <= 1e-7 for row in report["rows"])
    assert list(out.parent.iterdir()) == [out]  # no temporary file left beside it


def test_dlc_gradcheck_exits_1_when_a_gradient_is_wrong(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    real_backward = rnn_layers.rnn_step_backward

    def wrong_db(dnext_h, cache):
        dx, dprev_h, dWx, dWh, db = real_backward(dnext_h, cache)
        return dx, dprev_h, dWx, dWh, 0 * db

    monkeypatch.setattr(rnn_layers, "rnn_step_backward", wrong_db)
    assert main(["gradcheck"]) == 1
    assert "1 of 57 gradients exceed 1e-07: rnn_step db" in capsys.readouterr().out


def test_dlc_gradcheck_unwritable_json_is_a_one_line_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["gradcheck", "--json", str(tmp_path)]) == 2  # a folder, not a file
    err = capsys.readouterr().err
    assert err.startswith(f"dlc: error: {tmp_path}: is a folder") and err.count("\n") == 1


def test_dlc_gradcheck_into_a_full_device_is_a_one_line_error(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["gradcheck", "-o", "/dev/full"]) == 2
    assert capsys.readouterr().err == (
        "dlc: error: /dev/full: cannot write (No space left on device)\n"
    )
    assert stat.S_ISCHR(os.stat("/dev/full").st_mode)  # still the device


def test_dlc_gradcheck_into_a_named_pipe_keeps_the_pipe(tmp_path: Path) -> None:
    fifo = tmp_path / "gradcheck.fifo"
    os.mkfifo(fifo)
    received: list[bytes] = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_bytes()), daemon=True)
    reader.start()
    assert main(["gradcheck", "-o", str(fifo)]) == 0
    reader.join(timeout=30)
    assert json.loads(received[0])["all_passed"] is True  # the reader got the whole report
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)  # and the pipe is still a pipe
    assert sorted(tmp_path.iterdir()) == [fifo]  # no temporary file beside it


def test_reproduce_gradients_section(tmp_path: Path) -> None:
    result = run_part(tmp_path, tmp_path, profile="tiny")
    assert result.data["all_passed"] is True
    condensed, full = result.tables  # one row per layer function, then every gradient (folded)
    assert len(condensed.rows) == len({row["layer"] for row in result.data["rows"]}) == 11
    assert len(full.rows) == len(result.data["rows"]) == 57 and full.folded
    assert "lstm_step_backward" in result.markdown  # the derivations ride along
    written = json.loads((tmp_path / "gradcheck.json").read_text())
    assert written["rows"] == json.loads(json.dumps(result.data["rows"]))
    json.dumps(result.to_record())  # JSON-able as promised


@pytest.mark.parametrize("seed", ["-3", "abc"])
def test_dlc_gradcheck_rejects_a_bad_seed(seed: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["gradcheck", "--seed", seed])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("dlc: error: dlc gradcheck: argument --seed: ") and err.count("\n") == 1
    assert seed in err
