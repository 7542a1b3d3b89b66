"""A synthetic Yelp-like data set for the sentiment tests: one sentiment word among neutral ones,
so that every model learns it in a few epochs."""

from __future__ import annotations

import random
from pathlib import Path

POSITIVE = ["great", "lovely", "tasty", "friendly", "amazing"]
NEGATIVE = ["awful", "rude", "cold", "bland", "dirty"]
NEUTRAL = ["the", "food", "staff", "was", "and", "place", "very", "our", "table", "."]


def sentence(rng: random.Random, label: int) -> str:
    """2-7 neutral words and one positive (label 1) or negative (label 0) word."""
    words = [rng.choice(NEUTRAL) for _ in range(rng.randint(2, 7))]
    words.insert(rng.randint(0, len(words)), rng.choice(POSITIVE if label else NEGATIVE))
    return " ".join(words)


def write_lines(path: Path, lines: list[str]) -> Path:
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def write_toy_yelp(folder: Path) -> Path:
    """train/dev/test.txt (400/100/100 labelled lines, labels alternating) and unlabelled.txt
    (50 lines) in ``folder``, the same every time."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = random.Random(0)
    for split, n in (("train", 400), ("dev", 100), ("test", 100)):
        write_lines(folder / f"{split}.txt", [f"{i % 2} {sentence(rng, i % 2)}" for i in range(n)])
    write_lines(folder / "unlabelled.txt", [sentence(rng, i % 2) for i in range(50)])
    return folder
