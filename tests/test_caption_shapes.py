"""The generated shapes benchmark: deterministic files, five captions, held-out combinations."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

from dlclassics.captioning.config import ShapesConfig
from dlclassics.captioning.shapes import COLOURS, HELD_OUT_PAIRS, SHAPES, make_shapes

SMALL = ShapesConfig(n_train=40, n_val=30, n_test=30, seed=1, image_size=64)


def digests(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def captions_by_image(path: Path) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for line in path.read_text().splitlines():
        name, caption = line.split("\t")
        out.setdefault(name.split("#")[0], []).append(caption)
    return out


def test_same_seed_same_files_other_seed_other_files(tmp_path: Path) -> None:
    make_shapes(tmp_path / "a", SMALL)
    make_shapes(tmp_path / "b", SMALL)
    make_shapes(tmp_path / "c", ShapesConfig(**{**SMALL.__dict__, "seed": 2}))
    first = digests(tmp_path / "a")
    assert len(first) == 40 + 30 + 30 + 3 + 1  # images, three captions files, meta.json
    assert first == digests(tmp_path / "b")
    assert first["captions_train.txt"] != digests(tmp_path / "c")["captions_train.txt"]


def test_five_different_captions_and_held_out_pairs_only_outside_training(tmp_path: Path) -> None:
    make_shapes(tmp_path / "s", SMALL)
    pattern = {pair: re.compile(rf"\b{pair[0]} {pair[1]}\b") for pair in HELD_OUT_PAIRS}
    meta = json.loads((tmp_path / "s" / "meta.json").read_text())
    for split in ("train", "val", "test"):
        by_image = captions_by_image(tmp_path / "s" / f"captions_{split}.txt")
        assert all(len(set(c)) == 5 for c in by_image.values())
        mentions = {
            name
            for name, caps in by_image.items()
            for c in caps
            for p in pattern.values()
            if p.search(c)
        }
        if split == "train":
            assert mentions == set() and meta["unseen"]["train"] == []
        else:
            # only images flagged unseen show a held-out pair, and several of them do
            assert mentions <= set(meta["unseen"][split]) and len(mentions) >= 3
    assert len(HELD_OUT_PAIRS) < len(COLOURS) * len(SHAPES) // 4


def test_existing_folder_is_kept_or_regenerated(tmp_path: Path) -> None:
    make_shapes(tmp_path / "s", SMALL)
    image = tmp_path / "s" / "images" / "train_00000.png"
    before = image.stat().st_mtime_ns
    make_shapes(tmp_path / "s", SMALL)
    assert image.stat().st_mtime_ns == before  # same configuration: nothing rewritten
    fewer = ShapesConfig(**{**SMALL.__dict__, "n_train": 10})
    make_shapes(tmp_path / "s", fewer)
    assert len(list((tmp_path / "s" / "images").glob("train_*.png"))) == 10
    assert json.loads((tmp_path / "s" / "meta.json").read_text())["config"]["n_train"] == 10
