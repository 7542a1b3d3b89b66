"""The one checkpoint format: what it writes, and every way a file is refused in one line."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pytest
import torch

from dlclassics.checkpoint import (
    FORMAT,
    VERSION,
    config_from,
    load_checkpoint,
    load_weights,
    make_checkpoint,
    save_checkpoint,
)
from dlclassics.errors import DlcError


@dataclass
class Settings:
    hidden: int
    dropout: float = 0.1


def saved(tmp_path: Path, **changes) -> Path:
    checkpoint = make_checkpoint("sentiment", {"w": torch.ones(2)}, {"hidden": 4}, ["a", "b"])
    checkpoint.update(changes)
    return save_checkpoint(checkpoint, tmp_path / "c.pt")


def test_round_trip_keeps_every_field(tmp_path: Path):
    loaded = load_checkpoint(saved(tmp_path), "sentiment")
    assert (loaded["format"], loaded["version"], loaded["kind"]) == (FORMAT, VERSION, "sentiment")
    assert loaded["labels"] == ["a", "b"] and loaded["config"] == {"hidden": 4}
    torch.testing.assert_close(loaded["model"]["w"], torch.ones(2))
    assert [p.name for p in tmp_path.iterdir()] == ["c.pt"]  # written atomically


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"kind": "transfer"}, "a transfer checkpoint, expected a sentiment checkpoint"),
        (
            {"format": "dlclassics-sentiment-1"},
            "dlclassics 0.1.*retrain with `dlc sentiment train`",
        ),
        ({"format": "something"}, "not a dlc checkpoint"),
        ({"version": 99}, "version 99"),
        ({"labels": "ab"}, "labels is a str, not a list"),
        ({"labels": ["a", 2]}, "labels are not all strings"),
        ({"config": [4]}, "config is a list, not a dict"),
        ({"fingerprint": None}, "fingerprint is a NoneType"),
        ({"model": {"w": [1.0, 2.0]}}, "weight w is a list"),
        ({"model": {"w": torch.tensor([1.0, float("nan")])}}, "weight w holds NaN or inf"),
        ({"model": {"w": torch.tensor([float("-inf")])}}, "weight w holds NaN or inf"),
    ],
)
def test_wrong_files_are_refused_with_what_they_are(tmp_path: Path, changes, message):
    with pytest.raises(DlcError, match=message):
        load_checkpoint(saved(tmp_path, **changes), "sentiment")


def test_missing_keys_are_named(tmp_path: Path):
    path = saved(tmp_path)
    checkpoint = torch.load(path, weights_only=True)
    del checkpoint["model"], checkpoint["labels"]
    torch.save(checkpoint, path)
    with pytest.raises(DlcError, match="damaged sentiment checkpoint: no model, labels"):
        load_checkpoint(path, "sentiment")


def test_truncated_garbage_and_missing_files(tmp_path: Path):
    path = saved(tmp_path)
    path.write_bytes(path.read_bytes()[:100])
    with pytest.raises(DlcError, match="not a readable checkpoint"):
        load_checkpoint(path, "sentiment")
    (tmp_path / "text.pt").write_text("hello\n")
    with pytest.raises(DlcError, match="not a readable checkpoint"):
        load_checkpoint(tmp_path / "text.pt", "sentiment")
    with pytest.raises(DlcError, match="checkpoint not found"):
        load_checkpoint(tmp_path / "none.pt", "sentiment")


class Exploit:
    def __reduce__(self):
        return (os.system, ("true",))


def test_a_pickle_with_code_is_refused_without_torchs_advice(tmp_path: Path):
    torch.save({"model": Exploit()}, tmp_path / "evil.pt")
    with pytest.raises(DlcError) as refused:
        load_checkpoint(tmp_path / "evil.pt", "sentiment")
    assert "objects other than weights" in str(refused.value)
    assert "weights_only=False" not in str(refused.value)


def test_weights_that_do_not_fit_are_one_line(tmp_path: Path):
    layer = torch.nn.Linear(3, 2)
    with pytest.raises(DlcError, match="weights do not fit the model") as refused:
        load_weights(layer, {"weight": torch.zeros(2, 4), "bias": torch.zeros(2)}, "c.pt")
    assert "\n" not in str(refused.value)


def test_config_ignores_unknown_fields_and_names_missing_ones():
    assert config_from(Settings, {"hidden": 3, "added_later": 1}, "c.pt") == Settings(3)
    with pytest.raises(DlcError, match="damaged checkpoint config"):
        config_from(Settings, {"dropout": 0.2}, "c.pt")
