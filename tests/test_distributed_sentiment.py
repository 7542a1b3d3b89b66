"""``dlc sentiment train`` under torchrun: two CPU processes (gloo on 127.0.0.1) against one.

Two processes with the same global batch and seed see the same sentences at every step (each
takes half of every batch) and average their gradients, so without dropout they must reproduce
the single-process run up to float rounding, and write one set of files.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from dlclassics.checkpoint import load_checkpoint
from dlclassics.cli import main

POSITIVE = ["great", "lovely", "tasty", "friendly", "amazing"]
NEGATIVE = ["awful", "rude", "cold", "bland", "dirty"]
NEUTRAL = ["the", "food", "staff", "was", "and", "place", "very", "our", "table", "."]
# avg without dropout: the runs differ only by the order of float additions
MODEL = ["--model", "avg", "--dropout", "0", "--batch-size", "32", "--seed", "3"]
OUTPUTS = {"best.pt", "last.pt", "metrics.json", "curves.png", "confusion.png"}


pytestmark = pytest.mark.usefixtures("one_torch_thread")  # conftest.py


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """train/dev/test.txt with 256/64/66 labelled lines (test: not a multiple of 2 × 256)."""
    folder = tmp_path_factory.mktemp("toy_yelp")
    rng = random.Random(0)
    for split, n in (("train", 256), ("dev", 64), ("test", 66)):
        lines = []
        for i in range(n):
            words = [rng.choice(NEUTRAL) for _ in range(rng.randint(2, 7))]
            words.insert(rng.randint(0, len(words)), rng.choice(POSITIVE if i % 2 else NEGATIVE))
            lines.append(f"{i % 2} {' '.join(words)}\n")
        (folder / f"{split}.txt").write_text("".join(lines), encoding="utf-8")
    return folder


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def torchrun(*args: str, processes: int = 2) -> subprocess.CompletedProcess:
    """``torchrun --nproc_per_node=processes -m dlclassics.cli ARGS`` on this machine."""
    command = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        f"--nproc_per_node={processes}",
        "--master_addr=127.0.0.1",
        f"--master_port={free_port()}",
        "-m",
        "dlclassics.cli",
        *args,
    ]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "DLC_DIST_TIMEOUT": "60"}
    return subprocess.run(command, capture_output=True, text=True, timeout=180, env=env)


def train_one_process(data_dir: Path, out: Path, *extra: str) -> dict:
    assert main(["sentiment", "train", "--data", str(data_dir), "--out", str(out), *extra]) == 0
    return json.loads((out / "metrics.json").read_text())


def train_two_processes(data_dir: Path, out: Path, *extra: str) -> tuple[dict, str]:
    job = torchrun("sentiment", "train", "--data", str(data_dir), "--out", str(out), *extra)
    assert job.returncode == 0, job.stderr[-3000:]
    return json.loads((out / "metrics.json").read_text()), job.stdout


def assert_same_run(ours: dict, theirs: dict) -> None:
    """Same losses up to rounding; accuracies within one sentence of the smallest split."""
    assert ours["best_epoch"] == theirs["best_epoch"]
    for split in ("train", "dev", "test"):
        assert ours["loss"][split] == pytest.approx(theirs["loss"][split], abs=1e-4)
        assert ours["accuracy"][split] == pytest.approx(theirs["accuracy"][split], abs=1 / 64)
    assert len(ours["history"]) == len(theirs["history"])
    for row, other in zip(ours["history"], theirs["history"], strict=True):
        for key in ("train_loss", "dev_loss"):
            assert row[key] == pytest.approx(other[key], abs=1e-4)


@pytest.fixture(scope="module")
def two_process_run(data_dir: Path, tmp_path_factory: pytest.TempPathFactory):
    out = tmp_path_factory.mktemp("two") / "run"
    metrics, stdout = train_two_processes(data_dir, out, *MODEL, "--epochs", "3")
    return out, metrics, stdout


def test_two_processes_train_like_one_with_the_same_global_batch(
    data_dir: Path, two_process_run, tmp_path: Path
):
    _, metrics, _ = two_process_run
    single = train_one_process(data_dir, tmp_path / "one", *MODEL, "--epochs", "3")
    assert metrics["processes"] == 2 and single["processes"] == 1
    assert metrics["config"]["batch_size"] == 32  # the global batch, as asked
    assert metrics["sentences"] == single["sentences"]  # evaluated on every sentence once
    assert_same_run(metrics, single)
    assert metrics["accuracy"]["dev"] > 0.7  # it learned something: the comparison is not vacuous


def test_only_rank_zero_writes_and_reports(two_process_run):
    out, _, stdout = two_process_run
    assert {p.name for p in out.iterdir()} == OUTPUTS  # no second copy, no temporary files left
    assert stdout.count("epoch 1/3: train loss") == 1
    assert stdout.count("wrote ") == 1
    best = load_checkpoint(out / "best.pt", "sentiment")
    # the unwrapped model's weights: no DDP "module." prefix, loadable by a single process
    assert not any(key.startswith("module.") for key in best["model"])


def test_two_process_checkpoint_resumes_in_one_process(
    data_dir: Path, two_process_run, tmp_path: Path, capsys: pytest.CaptureFixture
):
    out, metrics, _ = two_process_run
    resumed_dir = tmp_path / "resumed"
    shutil.copytree(out, resumed_dir)
    capsys.readouterr()
    resumed = train_one_process(data_dir, resumed_dir, *MODEL, "--epochs", "4", "--resume")
    assert f"resuming {resumed_dir / 'last.pt'} after epoch 3" in capsys.readouterr().out
    assert resumed["processes"] == 1
    assert resumed["history"][:3] == metrics["history"]
    uninterrupted = train_one_process(data_dir, tmp_path / "straight", *MODEL, "--epochs", "4")
    assert_same_run(resumed, uninterrupted)


def test_one_process_checkpoint_resumes_in_two_processes(data_dir: Path, tmp_path: Path):
    out = tmp_path / "run"
    first = train_one_process(data_dir, out, *MODEL, "--epochs", "1")
    resumed, stdout = train_two_processes(data_dir, out, *MODEL, "--epochs", "2", "--resume")
    assert f"resuming {out / 'last.pt'} after epoch 1" in stdout
    assert resumed["history"][:1] == first["history"]
    uninterrupted = train_one_process(data_dir, tmp_path / "straight", *MODEL, "--epochs", "2")
    assert_same_run(resumed, uninterrupted)


def test_a_failing_rank_ends_the_job_with_an_error_naming_it(data_dir: Path, tmp_path: Path):
    # 33 sentences cannot be shared evenly by 2 processes: every rank refuses, naming itself
    job = torchrun(
        "sentiment",
        "train",
        "--data",
        str(data_dir),
        "--out",
        str(tmp_path / "run"),
        "--model",
        "bow",
        "--epochs",
        "1",
        "--batch-size",
        "33",
    )
    assert job.returncode != 0
    for rank in (0, 1):
        assert (
            f"dlc: error: rank {rank} of 2: --batch-size 33 does not split evenly over 2 processes"
            in job.stderr
        )
    assert "dlclassics/" not in job.stderr  # no traceback from our code (torchrun adds its own)
    assert not (tmp_path / "run" / "metrics.json").exists()


def worker_pids(launcher_pid: int) -> dict[int, int]:
    """{rank: pid} of the workers a torchrun process started (Linux /proc)."""
    children = Path(f"/proc/{launcher_pid}/task/{launcher_pid}/children").read_text().split()
    ranks = {}
    for pid in map(int, children):
        environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
        rank = [v for v in environ if v.startswith(b"RANK=")]
        if rank:
            ranks[int(rank[0][5:])] = pid
    return ranks


def torchrun_killing_rank_1(*args: str, once: Path) -> subprocess.CompletedProcess:
    """``torchrun`` of 2 processes as in ``torchrun``; SIGKILL rank 1 as soon as ``once`` exists."""
    command = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--nproc_per_node=2",
        "--master_addr=127.0.0.1",
        f"--master_port={free_port()}",
        "-m",
        "dlclassics.cli",
        *args,
    ]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "DLC_DIST_TIMEOUT": "60"}
    launcher = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )
    try:
        deadline = time.monotonic() + 120
        while not once.exists() and launcher.poll() is None:
            assert time.monotonic() < deadline, f"no {once} after 120 s"
            time.sleep(0.2)
        os.kill(worker_pids(launcher.pid)[1], signal.SIGKILL)
        stdout, stderr = launcher.communicate(timeout=120)
    finally:
        if launcher.poll() is None:
            launcher.kill()
            launcher.wait()
    return subprocess.CompletedProcess(command, launcher.returncode, stdout, stderr)


def test_a_lost_worker_ends_the_job_and_its_last_checkpoint_resumes(data_dir: Path, tmp_path: Path):
    out = tmp_path / "run"
    job = torchrun_killing_rank_1(
        "sentiment",
        "train",
        "--data",
        str(data_dir),
        "--out",
        str(out),
        *MODEL,
        "--epochs",
        "1000",
        "--patience",
        "1000",
        once=out / "last.pt",
    )
    assert job.returncode != 0
    assert "rank      : 1 (local_rank: 1)" in job.stderr and "SIGKILL" in job.stderr
    assert not (out / "metrics.json").exists()
    last = load_checkpoint(out / "last.pt", "sentiment", required=("loop",))
    done = last["loop"]["state"]["epochs_done"]  # the last complete epoch
    resumed = train_one_process(data_dir, out, *MODEL, "--epochs", str(done + 1), "--resume")
    assert [row["epoch"] for row in resumed["history"]] == list(range(1, done + 2))
