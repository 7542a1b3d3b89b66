"""The one reader of line-oriented sentence input: training splits, predict files, standard input.

One sentence a line, led by a ``0``/``1`` label in a labelled file, as people write it or
already in the Yelp files' form: each goes through a ``normalise.Normaliser`` (the files' own
lines come out unchanged; ``corpus=False`` for predict input). ``\n``, ``\r\n`` and a lone
``\r`` each end a line; a leading UTF-8 byte-order mark is skipped; ``-`` reads standard input.
A sentence longer than ``max_length`` words is cut there, with one warning line for the input.
Bad lines (not UTF-8, no label in a labelled file, a label without a sentence, a blank line
unless ``keep_blank``) raise a ``DlcError`` naming ``file:line``, or are skipped and counted.
"""

from __future__ import annotations

import os
import random
import re
import sys
from collections.abc import Container, Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from dlclassics.errors import DlcError
from dlclassics.sentiment.normalise import YELP, Normaliser

LABELS = ("0", "1")
MAX_LENGTH = 512  # words a sentence keeps by default; the Yelp sentences have at most 15
UNKNOWN_WARNING_FRACTION = 0.5  # warn when more of the input's words than this are unknown
_WORDLIKE = re.compile(r"[^\W_]")  # a letter or digit: a word, not punctuation


@dataclass(frozen=True)
class SentenceFile:
    """The readable lines of one input (``source``: the file, or ``<stdin>``)."""

    source: str
    sentences: list[list[str]]  # one token list per kept line, in input order ([]: blank)
    labels: list[int | None] | None  # 0/1 per sentence (None: blank); None for unlabelled input
    line_numbers: list[int]  # the 1-based line of each sentence
    total_lines: int  # bad lines included
    skipped: int  # bad lines skipped (0 unless skip_bad_lines)
    truncated: list[int] = field(default_factory=list)  # lines cut to max_length words

    def __len__(self) -> int:
        return len(self.sentences)


def read_lines(path: str | os.PathLike[str]) -> tuple[str, list[bytes]]:
    """The input's name and its lines as bytes, without line endings or byte-order mark.

    >>> read_lines("reviews.txt")  # "great food !\\r\\nmeh\\n"
    ('reviews.txt', [b'great food !', b'meh'])
    """
    if str(path) == "-":
        name, stream = "<stdin>", sys.stdin
        data = stream.buffer.read() if hasattr(stream, "buffer") else stream.read().encode()
    else:
        p, name = Path(path), str(path)
        if not p.is_file():
            raise DlcError(f"{p}: no such file")
        try:
            data = p.read_bytes()
        except OSError as exc:
            raise DlcError(f"{p}: cannot read ({exc.strerror})") from exc
    return name, data.removeprefix(b"\xef\xbb\xbf").splitlines()  # \n, \r\n and \r


def looks_labelled(lines: Sequence[bytes]) -> bool:
    """True when MORE THAN HALF of the non-empty lines start with a ``0`` or ``1`` word AND both
    labels occur: a rule one line cannot flip, so ``1 star , never again .`` among ordinary
    sentences (or alone) stays a sentence, and one label typo in a labelled file is a bad line.

    >>> looks_labelled([b"1 great", b"0 awful"]), looks_labelled([b"1 star , never again ."])
    (True, False)
    """
    firsts = [words[0] for words in (line.split(maxsplit=1) for line in lines) if words]
    labels = [word for word in firsts if word in (b"0", b"1")]
    return 2 * len(labels) > len(firsts) and set(labels) == {b"0", b"1"}


def _parse_line(
    raw: bytes,
    labelled: bool,
    *,
    normaliser: Normaliser,
    max_length: int | None,
    keep_blank: bool,
    corpus: bool,
) -> tuple[list[str], int | None, bool]:
    """One raw line's tokens (at most ``max_length``), label, and whether it was cut; raise
    ``ValueError(problem)`` when it is bad."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValueError(f"not valid UTF-8 (byte {exc.start})") from exc
    label = None
    if labelled and (words := text.split(maxsplit=1)):
        if words[0] not in LABELS:
            raise ValueError(f"missing label: the line must start with 0 or 1, found {words[0]!r}")
        label, text = int(words[0]), words[1] if len(words) > 1 else ""
    tokens = normaliser(text, None if max_length is None else max_length + 1, corpus=corpus)
    if not tokens and label is not None:
        raise ValueError("label without a sentence")
    if not tokens and not keep_blank:
        raise ValueError("empty line")
    cut = max_length is not None and len(tokens) > max_length
    return tokens[:max_length] if cut else tokens, label, cut


def read_sentences(
    path: str | os.PathLike[str],
    labelled: bool | None = True,
    skip_bad_lines: bool = False,
    *,
    normaliser: Normaliser = YELP,
    keep_blank: bool = False,
    max_length: int | None = MAX_LENGTH,
    corpus: bool = True,
) -> SentenceFile:
    """Read a sentence file (or ``-``); ``labelled=None``: decided by ``looks_labelled``. The
    first bad line (unless skipping) is a DlcError ``<file>:<line>: <problem>``. For predict
    input: ``keep_blank``, a blank line is a sentence with no tokens (label None), keeping output
    lines aligned with input lines; ``corpus=False``, a final period is always split (a training
    file keeps the Yelp files' own ``good.`` endings: ``normalise.tokenise``). ``max_length``
    None: no cut.

    >>> found = read_sentences("reviews.txt", None, keep_blank=True, corpus=False)
    >>> found.sentences  # "Great food!", "", "the food was great."
    [['great', 'food', '!'], [], ['the', 'food', 'was', 'great', '.']]
    """
    name, raw_lines = read_lines(path)
    return parse_sentences(
        name,
        raw_lines,
        labelled=labelled,
        skip_bad_lines=skip_bad_lines,
        normaliser=normaliser,
        keep_blank=keep_blank,
        max_length=max_length,
        corpus=corpus,
    )


def read_unlabelled(
    path: str | os.PathLike[str],
    skip_bad_lines: bool = False,
    *,
    normaliser: Normaliser = YELP,
    max_length: int | None = MAX_LENGTH,
) -> SentenceFile:
    """Read a file that must hold sentences without labels (extra training text): one that
    ``looks_labelled`` is a DlcError, rather than read with its labels as words.

    >>> read_unlabelled("extra.txt").labels is None
    True
    """
    name, raw_lines = read_lines(path)
    if looks_labelled(raw_lines):
        raise DlcError(
            f"{name}: looks labelled (most lines start with a 0/1 label); give sentences "
            "without labels"
        )
    return parse_sentences(
        name,
        raw_lines,
        labelled=False,
        skip_bad_lines=skip_bad_lines,
        normaliser=normaliser,
        max_length=max_length,
    )


def truncation_warning(source: str, lines: Sequence[int], max_length: int) -> str:
    """The one warning line for an input whose ``lines`` were cut to ``max_length`` words.

    >>> truncation_warning("long.txt", [3, 9], 512)
    'dlc: warning: long.txt:3: truncated to 512 words (and 1 more line)'
    """
    more = len(lines) - 1
    also = f" (and {more} more line{'s' * (more > 1)})" if more else ""
    return f"dlc: warning: {source}:{lines[0]}: truncated to {max_length} words{also}"


def parse_sentences(
    name: str,
    raw_lines: Sequence[bytes],
    *,
    labelled: bool | None,
    skip_bad_lines: bool,
    normaliser: Normaliser = YELP,
    keep_blank: bool = False,
    max_length: int | None = MAX_LENGTH,
    corpus: bool = True,
) -> SentenceFile:
    """The sentences of the input ``name`` from its ``raw_lines`` (see ``read_sentences``); a
    ``truncation_warning`` on standard error when lines were cut.

    >>> found = parse_sentences("<t>", [b"1 Great!", b"0 meh"], labelled=None, skip_bad_lines=False)
    >>> found.sentences
    [['great', '!'], ['meh']]
    """
    if labelled is None:
        labelled = looks_labelled(raw_lines)
    sentences: list[list[str]] = []
    labels: list[int | None] = []
    line_numbers, truncated = [], []
    for number, raw in enumerate(raw_lines, start=1):
        try:
            tokens, label, cut = _parse_line(
                raw,
                labelled,
                normaliser=normaliser,
                max_length=max_length,
                keep_blank=keep_blank,
                corpus=corpus,
            )
        except ValueError as exc:
            if skip_bad_lines:
                continue
            raise DlcError(f"{name}:{number}: {exc} (--skip-bad-lines skips such lines)") from None
        sentences.append(tokens)
        labels.append(label)
        line_numbers.append(number)
        if cut:
            truncated.append(number)
    skipped = len(raw_lines) - len(sentences)
    if not any(sentences):
        raise DlcError(f"{name}: no sentences" + f" ({skipped} bad lines skipped)" * bool(skipped))
    if truncated and max_length is not None:
        print(truncation_warning(name, truncated, max_length), file=sys.stderr)
    kept_labels = labels if labelled else None
    return SentenceFile(
        name, sentences, kept_labels, line_numbers, len(raw_lines), skipped, truncated
    )


def subsample(sentences: SentenceFile, n: int, seed: int) -> SentenceFile:
    """A seeded random ``n`` of the sentences, in file order (files are often sorted by label).

    >>> len(subsample(read_sentences("train.txt"), 100, seed=0))
    100
    """
    if n >= len(sentences):
        return sentences
    keep = sorted(random.Random(seed).sample(range(len(sentences)), n))
    labels = sentences.labels
    return replace(
        sentences,
        sentences=[sentences.sentences[i] for i in keep],
        labels=[labels[i] for i in keep] if labels is not None else None,
        line_numbers=[sentences.line_numbers[i] for i in keep],
    )


def unknown_fraction(sentences: Iterable[Sequence[str]], known: Container[str]) -> float:
    """The fraction of the words (tokens holding a letter or digit) of ``sentences`` not in
    ``known`` (a model's vocabulary: ``Vocabulary.index``); 0.0 when there are no words.

    >>> unknown_fraction([["great", "food", "!"], ["zzyzx"]], {"great", "food", "!"})
    0.3333333333333333
    """
    words = [token for sentence in sentences for token in sentence if _WORDLIKE.search(token)]
    return sum(word not in known for word in words) / len(words) if words else 0.0


def unknown_words_warning(source: str, fraction: float) -> str | None:
    """The one warning line when most words of the input ``source`` are unknown to the model
    (``fraction`` from ``unknown_fraction``), else None.

    >>> unknown_words_warning("notes.txt", 0.8)
    'dlc: warning: notes.txt: 80% of the words are unknown to the model (it reads English review sentences)'
    """
    if fraction <= UNKNOWN_WARNING_FRACTION:
        return None
    return (
        f"dlc: warning: {source}: {fraction:.0%} of the words are unknown to the model "
        "(it reads English review sentences)"
    )
