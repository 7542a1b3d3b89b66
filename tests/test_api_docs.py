"""The Python API page runs as written: every ```python block of docs/api.md, in order, in a fresh
interpreter, from a folder holding the small files the page names."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

API_PAGE = Path(__file__).resolve().parents[1] / "docs" / "api.md"
SECTIONS = ("transfer", "style", "captioning", "sentiment")


def page_blocks() -> dict[str, list[str]]:
    """The ```python blocks of each ``## section`` of the page, in order."""
    blocks: dict[str, list[str]] = {}
    for part in re.split(r"^## ", API_PAGE.read_text(), flags=re.M)[1:]:
        name, _, body = part.partition("\n")
        blocks[name.strip()] = re.findall(r"^```python\n(.*?)^```", body, flags=re.M | re.S)
    return blocks


def shrink(source: Path, target: Path, side: int = 96) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    with Image.open(source) as image:
        image.convert("RGB").resize((side, side)).save(target, quality=90)


def write_sentences(source: Path, target: Path, count: int) -> None:
    lines = source.read_text().splitlines()
    zeros = [line for line in lines if line.startswith("0 ")][: count // 2]
    ones = [line for line in lines if line.startswith("1 ")][: count // 2]
    target.write_text("\n".join(zeros + ones) + "\n")


@pytest.fixture(scope="module")
def workspace(tmp_path_factory, hymenoptera_root: Path, styles_root: Path, yelp_root: Path) -> Path:
    """photo.jpg, starry.jpg, a.jpg, my_images/<class>/*.jpg and my_text_dir/*.txt."""
    root = tmp_path_factory.mktemp("api")
    shrink(styles_root / "tubingen.jpg", root / "photo.jpg")
    shrink(styles_root / "starry_night.jpg", root / "starry.jpg")
    for name in ("ants", "bees"):
        for index, image in enumerate(sorted((hymenoptera_root / "val" / name).iterdir())[:6]):
            shrink(image, root / "my_images" / name / f"{index}.jpg")
    shrink(next(iter(sorted((hymenoptera_root / "val" / "bees").iterdir()))), root / "a.jpg")
    (root / "my_text_dir").mkdir()
    for split, count in (("train", 60), ("dev", 20), ("test", 20)):
        write_sentences(yelp_root / f"{split}.txt", root / "my_text_dir" / f"{split}.txt", count)
    return root


def test_every_experiment_has_a_runnable_example():
    blocks = page_blocks()
    assert all(blocks.get(name) for name in SECTIONS), {n: len(blocks.get(n, [])) for n in SECTIONS}


@pytest.mark.parametrize("section", SECTIONS)
def test_the_examples_run_as_written(section: str, workspace: Path, data_root: Path):
    code = "\n".join(page_blocks().get(section, []))
    assert code, f"docs/api.md has no example for {section}"
    env = {**os.environ, "DLC_DATA": str(data_root), "OMP_NUM_THREADS": "1", "MPLBACKEND": "Agg"}
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=workspace,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
