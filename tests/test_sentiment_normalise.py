"""The text normaliser: the Yelp files' own lines are a fixed point, text as people write it
comes out in their form, a second pass changes nothing, and time is linear with a limit."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from dlclassics.errors import DlcError
from dlclassics.sentiment.classifier import load_classifier
from dlclassics.sentiment.normalise import YELP, Normaliser, normalise, split_word, tokenise
from dlclassics.sentiment.packaged import CARD_TEXT, MODEL, read_card

SPLITS = ("train", "dev", "test", "unlabelled")


def test_every_line_of_the_yelp_files_is_unchanged(yelp_root: Path) -> None:
    changed, count = [], 0
    for split in SPLITS:
        lines = (yelp_root / f"{split}.txt").read_text(encoding="utf-8").splitlines()
        for number, line in enumerate(lines, start=1):
            sentence = line if split == "unlabelled" else line[2:]  # after "0 " / "1 "
            if normalise(sentence, corpus=True) != sentence:
                changed.append(f"{split}:{number}: {sentence!r} -> {normalise(sentence)!r}")
        count += len(lines)
    assert count == 70_000 and changed == []


@pytest.mark.parametrize(
    ("raw", "tidy"),
    [
        ("Great food!", "great food !"),
        ("Don't", "do n't"),
        ("Best tacos in town, hands down!", "best tacos in town , hands down !"),
        ("We can't and WON'T go back.", "we ca n't and wo n't go back ."),
        (
            "It\u2019s the best\u2026 I\u2019m sure they\u2019ll say we\u2019d",
            "it 's the best ... i 'm sure they 'll say we 'd",
        ),
        ("I cannot, I'm gonna wanna, gotta", "i can not , i 'm gon na wan na , got ta"),
        ('"Amazing" they said', "`` amazing '' they said"),
        ("\u201cAmazing\u201d \u2014 really", "`` amazing '' -- really"),
        ("$5.99 for 2 (worth it) 50% off #1", "$ _num_ for _num_ ( worth it ) _num_ % off # _num_"),
        (
            "5:30pm, 1,000 people; 3-4 go-to spots w/ a/c",
            "5:30pm , 1,000 people ; 3-4 go-to spots w/ a/c",
        ),
        ("Wow!!! Really?! Ok... fine--ish", "wow ! really ? ok ... fine -- ish"),
        (
            "Dr. Smith at 5 p.m. on Main St. was great. Loved it!",
            "dr. smith at _num_ p.m. on main st. was great . loved it !",
        ),
        ("I give it a 5.", "i give it a _num_ ."),
        ("Good.... Meh......", "good ... . meh ... ..."),
        ("My boyfriend and I. Jr. and J. R. R.", "my boyfriend and i . jr. and j. r. r."),
        (
            "The girls' room, ol' diner, y'all, o'clock",
            "the girls ' room , ol ' diner , y'all , o'clock",
        ),
        ("Caf\u00e9 na\u00efve \uff27\uff32\uff25\uff21\uff34 \ufb01ne", "cafe naive great fine"),
        ("zero\u200bwidth  tabs\there", "zerowidth tabs here"),
    ],
)
def test_text_as_people_write_it(raw: str, tidy: str) -> None:
    assert normalise(raw) == tidy
    assert normalise(tidy) == tidy  # already normalised: unchanged


def test_a_final_period_is_split_but_a_corpus_keeps_the_files_own_endings() -> None:
    for text in ("The food was great.", "the food was great."):
        assert normalise(text) == "the food was great ."  # text to predict
    assert normalise("the food was great.", corpus=True) == "the food was great."  # 60 such
    assert normalise("the food was great, loved it.", corpus=True) == (
        "the food was great , loved it ."  # written by hand: not one of the files' lines
    )


def test_a_second_pass_changes_nothing_on_random_text() -> None:
    rng = random.Random(0)
    pieces = [*"ab .,'-!?\"\u201c\u201d\u2019\u2014\u200b \u00e912:$`", "n't", "'s", "dr", "p."]
    for _ in range(3000):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 30)))
        tokens = tokenise(text)
        assert tokenise(" ".join(tokens)) == tokens, text
        assert tokenise(text, limit=3) == tokens[:3], text


def test_a_limit_reads_only_the_head_of_a_huge_line() -> None:
    line = "Great food, don't miss it! " * 500_000  # 13.5 MB, 4 million tokens
    assert tokenise(line, limit=5) == ["great", "food", ",", "do", "n't"]
    one_mb = "word " * 200_000
    assert len(tokenise(one_mb)) == 200_000  # no limit: every token, in one linear pass
    assert tokenise("\u200b " * 100_000 + "fine", limit=1) == ["fine"]  # dropped marks skipped
    assert tokenise("x" * 1_000_000 + "!", limit=2) == ["x" * 1_000_000, "!"]


def test_split_word_peels_periods_apostrophes_and_clitics() -> None:
    assert split_word("it's.") == ["it", "'s", "."]
    assert split_word("2.'") == ["_num_", ".", "'"]
    assert split_word("b.") == ["b."] and split_word("hotels.com.") == ["hotels.com", "."]
    assert split_word("n't") == ["n't"] and split_word("'s") == ["'s"]


def test_the_normaliser_round_trips_through_a_checkpoint_dict() -> None:
    assert Normaliser.from_dict(YELP.to_dict(), "best.pt") is not None
    assert YELP.to_dict() == {"name": "yelp", "version": 1}
    assert YELP("Great food!") == ["great", "food", "!"]
    with pytest.raises(DlcError, match=r"^best.pt: made with text normaliser yelp 9; "):
        Normaliser.from_dict({"name": "yelp", "version": 9}, "best.pt")
    for damaged in ("yelp", {"name": "yelp"}, {"name": "yelp", "version": "1"}):
        with pytest.raises(DlcError, match=r"^best.pt: damaged checkpoint"):
            Normaliser.from_dict(damaged, "best.pt")
    with pytest.raises(ValueError, match="unknown text normaliser"):
        Normaliser("other", 1)


def test_the_packaged_card_says_what_text_it_expects_and_scores() -> None:
    text = read_card()["text"]
    assert (
        Normaliser.from_dict(text["normaliser"], "card.json") == load_classifier(MODEL).normaliser
    )
    for split in ("dev", "test"):  # benchmarks/sentiment_text_bench.py --card
        scores = text[split]
        assert scores["rewritten"] >= 0.96
        assert abs(scores["rewritten"] - scores["files_form"]) <= 0.005
    assert "as people write it" in CARD_TEXT.read_text(encoding="utf-8")
