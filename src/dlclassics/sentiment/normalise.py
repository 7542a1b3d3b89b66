"""Text as people write it, in the form of the Yelp training files.

The Yelp sentences were tokenised the Penn Treebank way; the conventions, read off the 70 000
lines of ``train/dev/test/unlabelled.txt``:

- lower case, ASCII (no accents, no curly quotes or dashes);
- ``! ? , ; : ( ) [ ] $ % & # @ = ~`` are tokens of their own (``, :`` stay inside numbers:
  ``1,000``, ``5:30``); a run of ``!``/``?`` is one mark; periods run together are ``...`` per
  three and ``.`` for the rest (``....`` is ``... .``; ``..`` is ``...``); ``--`` or more is
  ``--``; ``- + * / _`` stay inside words (``go-to``, ``a+``, ``1/2``, ``w/``);
- clitics split: ``do n't``, ``ca n't``, ``wo n't``, ``it 's``, ``i 'm``, ``we 've``,
  ``you 'll``, ``they 're``, ``i 'd``; ``cannot`` is ``can not``, ``gonna`` ``gon na``,
  ``wanna`` ``wan na``, ``gotta`` ``got ta``; ``ol'`` is ``ol '``;
- double quotes are two backticks (opening) and two apostrophes (closing);
- a number (digits, one decimal point) is ``_num_``; ``2nd``, ``10pm``, ``3-4`` stay words;
- a sentence's period is a token; abbreviations keep theirs (``dr.``, ``p.m.``, initials).

The files' own text is a fixed point: ``normalise(line, corpus=True) == line`` for every one of
their lines. ``corpus`` is for reading training files: the Yelp files end 60 of their 70 000
lines in ``good.`` (their tokeniser missed the period), and those stay as they are. Text to
predict has that period split, always (``the food was great.`` → ``great .``): kept, the model
reads ``great.``, a word it saw a few times, and P(positive) falls from 0.999 to 0.60. Every step is a single left-to-right pass: time is
linear in the text's length; with a ``limit`` only a head of the text is read.

>>> tokenise("Don't miss it: GREAT food!!")
['do', "n't", 'miss', 'it', ':', 'great', 'food', '!']
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import asdict, dataclass
from typing import Any

from dlclassics.errors import DlcError

# Characters the files spell another way; NFKC leaves these alone.
_ASCII_FORMS = {
    char: form
    for chars, form in (
        ("\u2018\u2019\u201a\u201b\u2032\u00b4\u02bc", "'"),
        ("\u201c\u201e\u201f\u00ab", " `` "),
        ("\u201d\u00bb", " '' "),
        ("\u2014\u2015", " -- "),
        ("\u2010\u2011\u2012\u2013\u2212", "-"),
    )
    for char in chars
}
_ASCII_FORM_CHARS = re.compile(f"[{''.join(_ASCII_FORMS)}]")
# Accents (left by NFKD), variation selectors and zero-width characters: dropped.
_MARKS = re.compile(
    "[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe00-\ufe0f"
    "\ufe20-\ufe2f\u200b-\u200d\u2060\ufeff]"
)
_OPENING_QUOTE = re.compile(r'(?:^|(?<=[\s(\[{<]))"')
# In a word: letters, digits, _ + * /; a lone ., - or '; , and : between digits.
_WORD = r"(?:[\w+*/]++|\.(?!\.)|-(?!-)|(?<=\d)[,:](?=\d)|(?<!')'(?!'))++"
_PIECES = re.compile(
    rf"(?P<quotes>``|'')|(?P<ellipsis>\.{{2,}})|(?P<dashes>-{{2,}})|(?P<marks>[!?]+)"
    rf"|(?P<word>{_WORD})|(?P<other>\S)"
)
_NUMBER = re.compile(r"[0-9]+(?:\.[0-9]+)?")
_CLITICS = frozenset({"n't", "'s", "'ve", "'m", "'ll", "'re", "'d"})
_LONGEST_CLITIC = max(map(len, _CLITICS))
_JOINED = {
    "cannot": ["can", "not"],
    "gonna": ["gon", "na"],
    "wanna": ["wan", "na"],
    "gotta": ["got", "ta"],
}
# Tokens the rules leave as they are; a line of them, one space apart, is most of the files.
_FILES_WORD = rf"(?!(?:{'|'.join(_JOINED)})(?: |$))[a-z]+"
_FILES_TOKEN = rf"(?:{_FILES_WORD}|[.,!?;:()$%&#@=~]|n't|'(?:s|ve|m|ll|re|d)|_num_|\.\.\.|--|``|'')"
_FILES_FORM = re.compile(rf"{_FILES_TOKEN}(?: {_FILES_TOKEN})*+")
# Words whose period is part of them, not the end of a sentence ("dr. smith", "main st.").
_ABBREVIATIONS = frozenset(
    {"dr", "mr", "mrs", "ms", "st", "vs", "jr", "sr", "mt", "ft", "prof", "ave", "blvd", "apt"}
    | {"dept", "inc", "ltd", "approx"}
)
_LONGEST_ABBREVIATION = max(map(len, _ABBREVIATIONS))
NUMBER_TOKEN = "_num_"
HEAD_CHARS_PER_TOKEN = 64  # a limited tokenise reads this much text a token first (words: ~4)
_RULES = frozenset({("yelp", 1)})  # (name, version) of the rules below


@dataclass(frozen=True)
class Normaliser:
    """Which text normalisation a model was trained with, stored in its checkpoint as plain data.

    Calling it tokenises one line (see ``tokenise``); ``name``/``version`` say which rules, so
    that a checkpoint made with other rules is refused rather than fed the wrong form.

    >>> YELP("Great food!")
    ['great', 'food', '!']
    >>> Normaliser.from_dict(YELP.to_dict(), "best.pt") == YELP
    True
    """

    name: str = "yelp"
    version: int = 1

    def __post_init__(self) -> None:
        if (self.name, self.version) not in _RULES:
            raise ValueError(f"unknown text normaliser {self.name} {self.version}")

    def __call__(self, text: str, limit: int | None = None, *, corpus: bool = False) -> list[str]:
        """``tokenise(text, self, limit, corpus=corpus)``."""
        return tokenise(text, self, limit, corpus=corpus)

    def to_dict(self) -> dict[str, Any]:
        """The plain data a checkpoint stores.

        >>> YELP.to_dict()
        {'name': 'yelp', 'version': 1}
        """
        return asdict(self)

    @classmethod
    def from_dict(cls, data: object, source: str) -> Normaliser:
        """The normaliser a checkpoint's ``data`` names; a DlcError naming ``source`` when the
        data is malformed or names rules this dlclassics does not know.

        >>> Normaliser.from_dict({"name": "yelp", "version": 1}, "best.pt")
        Normaliser(name='yelp', version=1)
        """
        if not (
            isinstance(data, dict)
            and set(data) == {"name", "version"}
            and isinstance(data["name"], str)
            and type(data["version"]) is int
        ):
            raise DlcError(f"{source}: damaged checkpoint (normaliser {data!r})")
        if (data["name"], data["version"]) not in _RULES:
            known = ", ".join(f"{name} {version}" for name, version in sorted(_RULES))
            raise DlcError(
                f"{source}: made with text normaliser {data['name']} {data['version']}; "
                f"this dlclassics knows {known} (a newer dlclassics may)"
            )
        return cls(data["name"], data["version"])


YELP = Normaliser()


def ascii_form(text: str) -> str:
    """``text`` lower-cased in the files' alphabet: NFKC, curly quotes and dashes as ASCII,
    accents and zero-width characters dropped, straight double quotes as `````` / ``''``.

    >>> ascii_form("Café “Olé” it’s").split()
    ['cafe', '``', 'ole', "''", "it's"]
    """
    text = text.lower()
    if not text.isascii():
        text = unicodedata.normalize(
            "NFKD", _ASCII_FORM_CHARS.sub(lambda match: _ASCII_FORMS[match.group()], text)
        )
        text = unicodedata.normalize("NFKC", _MARKS.sub("", text))
    if '"' in text:
        text = _OPENING_QUOTE.sub(" `` ", text).replace('"', " '' ")
    return text


def _ends_sentence(word: str, dot: int) -> bool:
    """True when the period at ``word[dot]`` ends a sentence: not an abbreviation's (``dr.``),
    an initial's (``b.``; "i." is the pronoun) or dotted letters' (``p.m.``, ``i.e.``). Looks at
    a few characters."""
    letter = word[dot - 1]
    initial = letter.isalpha() and letter != "i" and (dot == 1 or word[dot - 2] == ".")
    abbreviation = dot <= _LONGEST_ABBREVIATION and word[:dot] in _ABBREVIATIONS
    return not initial and not abbreviation


def _tail_size(word: str, end: int) -> int:
    """How many characters at the end of ``word[:end]`` are a token of their own: a sentence
    period, a closing apostrophe, a clitic (``n't``, ``'s``, ...); 0 when none."""
    if word[end - 1] == "'" or (word[end - 1] == "." and _ends_sentence(word, end - 1)):
        return 1
    apostrophe = word.rfind("'", max(end - _LONGEST_CLITIC, 1), end)  # a clitic needs a stem
    if apostrophe < 0:
        return 0
    if word[apostrophe - 1 : end] == "n't" and apostrophe > 1:
        return 3
    return end - apostrophe if word[apostrophe:end] in _CLITICS else 0


def split_word(word: str) -> list[str]:
    """One word run (letters, digits, ``_+*/``, inner ``.-'``) as the files' tokens: sentence
    periods, closing apostrophes and clitics split off its end, then joined words and numbers.

    >>> split_word("can't."), split_word("ol'"), split_word("5.99"), split_word("dr.")
    (['ca', "n't", '.'], ['ol', "'"], ['_num_'], ['dr.'])
    """
    end, tail = len(word), []
    while end > 1 and (size := _tail_size(word, end)):
        tail.append(word[end - size : end])
        end -= size
    word, tail = word[:end], tail[::-1]
    if word in _JOINED:
        return [*_JOINED[word], *tail]
    return [NUMBER_TOKEN if _NUMBER.fullmatch(word) else word, *tail]


def _ellipsis(periods: int) -> list[str]:
    """A run of ``periods`` periods as the files write it: ``...`` per three, then ``.`` for a
    remainder (``....`` is ``... .``); ``..`` is ``...``.

    >>> _ellipsis(2), _ellipsis(4), _ellipsis(6)
    (['...'], ['...', '.'], ['...', '...'])
    """
    if periods == 2:
        return ["..."]
    return ["..."] * (periods // 3) + ["."] * bool(periods % 3)


def _word_tokens(word: str, limit: int | None) -> tuple[list[str], bool]:
    """The tokens of one white-space-free ``word`` of ``ascii_form`` text, and whether they are
    all of them (False when a runaway word stopped at ``limit`` tokens or more)."""
    if word.isalpha() and word not in _JOINED:
        return [word], True  # most words: no regex needed
    tokens: list[str] = []
    for match in _PIECES.finditer(word):
        if limit is not None and len(tokens) >= limit:
            return tokens, False
        piece, kind = match.group(), match.lastgroup
        if kind == "word":
            tokens += [piece] if piece.isalpha() and piece not in _JOINED else split_word(piece)
        elif kind == "ellipsis":
            tokens += _ellipsis(len(piece))
        elif kind == "dashes":
            tokens.append("--")
        elif kind == "marks":
            tokens.append(piece[0])
        else:
            tokens.append(piece)
    return tokens, True


def _scan(text: str, limit: int | None) -> tuple[list[str], bool]:
    """The tokens of ``text`` (already ``ascii_form``) and whether the scan reached its end
    (False when it stopped at ``limit`` tokens)."""
    tokens: list[str] = []
    words = text.split()  # no token spans white space
    for index, word in enumerate(words):
        more, whole = _word_tokens(word, None if limit is None else limit - len(tokens))
        tokens += more
        if limit is not None and len(tokens) >= limit:
            return tokens, whole and index == len(words) - 1
    return tokens, True


def _files_own_ending(text: str, tokens: list[str]) -> list[str]:
    """``tokens`` with a split final ``word .`` joined back to ``word.`` when everything else in
    ``text`` was already in the files' form: the Yelp files end 60 lines that way, and a corpus
    read through the normaliser must come out unchanged."""
    if len(tokens) < 2 or tokens[-1] != ".":
        return tokens
    joined = [*tokens[:-2], tokens[-2] + "."]
    return joined if joined == text.split() else tokens


def _head(text: str, size: int) -> str:
    """``text`` cut at its last space or tab before ``size`` characters ("" when there is
    none): its tokens are the first tokens of ``text``, since no token spans white space."""
    return text[: max(text.rfind(" ", 0, size), text.rfind("\t", 0, size), 0)]


def tokenise(
    text: str, normaliser: Normaliser = YELP, limit: int | None = None, *, corpus: bool = False
) -> list[str]:
    """The tokens of one line of raw or already-normalised text, in the training files' form;
    at most ``limit`` of them (the first ones; then only the text they come from is looked at).
    ``corpus``: a line of a training file, whose own ``good.`` ending is kept (module doc).

    >>> tokenise("It's the BEST taco in town… 5 stars!!!")
    ['it', "'s", 'the', 'best', 'taco', 'in', 'town', '...', '_num_', 'stars', '!']
    >>> tokenise("it 's the best taco in town ... _num_ stars !")
    ['it', "'s", 'the', 'best', 'taco', 'in', 'town', '...', '_num_', 'stars', '!']
    >>> tokenise("Great food!" * 1_000_000, limit=3)
    ['great', 'food', '!']
    """
    text = text.rstrip()  # a head ending in white space ends the text
    size = HEAD_CHARS_PER_TOKEN * (limit or 0)
    while 0 < size < len(text):  # read a growing head until it holds ``limit`` tokens
        if len(tokens := _scan(ascii_form(_head(text, size)), limit)[0]) >= limit:
            return tokens[:limit]
        size *= 4
    if _FILES_FORM.fullmatch(text):
        return text.split(" ")[:limit]  # the quick way for the files' own lines: nothing to change
    tokens, whole = _scan(ascii_form(text), limit)
    return (_files_own_ending(text, tokens) if whole and corpus else tokens)[:limit]


def normalise(text: str, normaliser: Normaliser = YELP, *, corpus: bool = False) -> str:
    """One line in the training files' form: its tokens joined by single spaces (``corpus``:
    see ``tokenise``).

    >>> normalise("Best tacos in town, hands down!")
    'best tacos in town , hands down !'
    """
    return " ".join(tokenise(text, normaliser, corpus=corpus))
