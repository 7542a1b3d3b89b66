"""The small sentiment model shipped inside the package, so that ``dlc sentiment predict FILE``
labels sentences right after ``pip install``, with no training and no download.

``shipped/model.pt`` is an ordinary sentiment ``best.pt``: a word-level student distilled from a
fine-tuned MiniLM (``dlc sentiment distill``), small because its vocabulary holds only the Yelp
training words' GloVe rows. ``shipped/card.json`` records the file's SHA-256, how it was made and
what it scores; ``shipped/MODEL_CARD.md`` says the same for people. ``package_model`` writes all
three (``benchmarks/sentiment_distill_bench.py --ship``).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from dlclassics.errors import DlcError
from dlclassics.io import atomic_write_bytes, atomic_write_json, atomic_write_text

SHIPPED = Path(__file__).parent / "shipped"
MODEL, CARD, CARD_TEXT = SHIPPED / "model.pt", SHIPPED / "card.json", SHIPPED / "MODEL_CARD.md"
MOST_BYTES = 5_000_000  # what a wheel may carry for one model

CARD_TEMPLATE = """# Model card: the packaged sentiment model

`dlc sentiment predict FILE` uses this model when no `--checkpoint` is given.

- **What it is:** a `{model}` sentence classifier (the word-level student of knowledge
  distillation), {megabytes:.1f} MB, SHA-256 `{sha256}`.
- **Task:** P(positive) of one English review sentence; label 1 when it is at least 0.5.
- **Data:** the course's Yelp sentences (`dlc data fetch yelp`): {train} labelled training
  sentences and {unlabelled} unlabelled ones (`unlabelled.txt`, plus {augment} altered copy or
  copies of each training sentence: `--augment`), labelled by the teacher; model choices made on
  the {dev} dev sentences, test scored once.
- **Teacher:** the mean P(positive) of {teacher} (dev {teacher_dev:.2%}, test
  {teacher_test:.2%}); alpha {alpha}, temperature {temperature}.
- **Accuracy:** dev {dev_accuracy:.2%}, test {test_accuracy:.2%}.
- **Speed:** {speed:,.0f} sentences/s predicting the 10 000 test sentences on one CPU thread
  (reading and loading excluded; {machine}).
- **Limits:** English Yelp-style sentences; words outside its vocabulary ({vocabulary} words of
  the training and unlabelled sentences) are unknown to it; one sentence a line (longer texts: split them first).
- **Rebuild:**

```
{commands}
```
"""


def read_card() -> dict[str, Any]:
    """The packaged model's card (``shipped/card.json``)."""
    try:
        return json.loads(CARD.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise DlcError(f"{CARD}: unreadable model card ({exc}); reinstall dlclassics") from exc


def packaged_model(say: Callable[[str], object]) -> Path:
    """The packaged checkpoint's path, after one line to ``say`` naming it and its accuracy."""
    if not MODEL.is_file():
        raise DlcError(f"{MODEL}: the packaged model is missing; reinstall dlclassics")
    card = read_card()
    say(
        f"using the packaged {card['model']} model (test accuracy {card['test_accuracy']:.2%}; "
        f"{CARD_TEXT.name} beside it); --checkpoint uses your own"
    )
    return MODEL


def package_model(checkpoint: str | os.PathLike[str], card: dict[str, Any]) -> dict[str, Any]:
    """Copy ``checkpoint`` into the package as the default model and write its card (``card``:
    the fields of ``CARD_TEMPLATE``; the size and SHA-256 are added). Returns the card."""
    data = Path(checkpoint).read_bytes()
    if len(data) > MOST_BYTES:
        raise DlcError(
            f"{checkpoint}: {len(data) / 1e6:.1f} MB, above the {MOST_BYTES / 1e6:.0f} MB"
        )
    card = {**card, "megabytes": len(data) / 1e6, "sha256": hashlib.sha256(data).hexdigest()}
    atomic_write_bytes(MODEL, data)
    atomic_write_json(CARD, card)
    atomic_write_text(CARD_TEXT, CARD_TEMPLATE.format(**card))
    return card
