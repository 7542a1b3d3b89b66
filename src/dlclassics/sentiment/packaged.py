"""The small sentiment model shipped inside the package, so that ``dlc sentiment predict FILE``
labels sentences right after ``pip install``, with no training and no download.

``shipped/model.pt`` is an ordinary sentiment ``best.pt``: a word-level student distilled from a
fine-tuned MiniLM (``dlc sentiment distill``), small because its vocabulary holds only the Yelp
training words' GloVe rows. ``shipped/card.json`` records the file's SHA-256, how it was made,
what text it expects and what it scores; ``shipped/MODEL_CARD.md`` says the same for people.
``package_model`` writes all three (``benchmarks/sentiment_distill_bench.py --ship``);
``record_text_accuracy`` adds the scores on text as people write it
(``benchmarks/sentiment_text_bench.py --card``).
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
from dlclassics.sentiment.normalise import YELP
from dlclassics.sentiment.text import MAX_LENGTH

SHIPPED = Path(__file__).parent / "shipped"
MODEL, CARD, CARD_TEXT = SHIPPED / "model.pt", SHIPPED / "card.json", SHIPPED / "MODEL_CARD.md"
MOST_BYTES = 5_000_000  # what a wheel may carry for one model

CARD_TEMPLATE = """# Model card: the packaged sentiment model

`dlc sentiment predict FILE` uses this model when no `--checkpoint` is given.

- **What it is:** a `{model}` sentence classifier (the word-level student of knowledge
  distillation), {megabytes:.1f} MB, SHA-256 `{sha256}`.
- **Task:** P(positive) of one English review sentence; label 1 when it is at least 0.5.
- **Text:** {text_bullet}
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


def text_bullet(card: dict[str, Any]) -> str:
    """The card's sentence on the text the model expects (its normaliser, the word cap) and, once
    ``record_text_accuracy`` has run, what it scores on text as people write it.

    >>> text_bullet({})[:40]
    'one English sentence a line, as people '
    """
    text = card.get("text", {})
    normaliser = text.get("normaliser", YELP.to_dict())
    expects = (
        "one English sentence a line, as people write it (capitals, `food!`, `don't`, curly "
        f"quotes) or already tokenised; the `{normaliser['name']}` {normaliser['version']} "
        "normaliser (`sentiment.normalise`) turns it into the training files' form (lower case, "
        "punctuation and clitics split, numbers as `_num_`), and the first "
        f"{text.get('max_length', MAX_LENGTH)} words are kept."
    )
    if "test" not in text:
        return expects
    test = text["test"]
    return (
        f"{expects} Test accuracy {test['files_form']:.2%} in the files' form, "
        f"{test['rewritten']:.2%} rewritten as people write (dev {text['dev']['files_form']:.2%}"
        f" and {text['dev']['rewritten']:.2%}; {test['rewritten_without_normaliser']:.2%} on the "
        "rewrite without the normaliser; `benchmarks/sentiment_text_bench.py`)."
    )


def render_card(card: dict[str, Any]) -> str:
    """``MODEL_CARD.md``'s text for ``card`` (``CARD_TEMPLATE``'s fields but ``text_bullet``).

    >>> "Model card" in render_card(read_card())
    True
    """
    return CARD_TEMPLATE.format(**card, text_bullet=text_bullet(card))


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
    atomic_write_text(CARD_TEXT, render_card(card))
    return card


def record_text_accuracy(accuracy: dict[str, dict[str, float]]) -> dict[str, Any]:
    """Add the packaged model's ``accuracy`` on text as people write it (per split:
    ``files_form``, ``rewritten``, ``rewritten_without_normaliser``) to its card, with the
    normaliser and word cap it is used with; rewrite ``MODEL_CARD.md``. Returns the card.

    >>> card = record_text_accuracy({"dev": {...}, "test": {...}})  # sentiment_text_bench.py
    """
    text = {"normaliser": YELP.to_dict(), "max_length": MAX_LENGTH}
    card = {**read_card(), "text": text | accuracy}
    atomic_write_json(CARD, card)
    atomic_write_text(CARD_TEXT, render_card(card))
    return card
