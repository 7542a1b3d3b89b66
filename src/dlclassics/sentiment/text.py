"""The one reader of line-oriented sentence input: training splits, predict files, standard input.

One pre-tokenised sentence a line, led by a ``0``/``1`` label in a labelled file. ``\n``,
``\r\n`` and a lone ``\r`` each end a line; a leading UTF-8 byte-order mark is skipped; ``-``
reads standard input. Bad lines (not UTF-8, empty, no label in a labelled file, a label without a
sentence) raise a ``DlcError`` naming ``file:line``, or are skipped and counted.
"""

from __future__ import annotations

import os
import random
import sys
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from dlclassics.errors import DlcError

LABELS = ("0", "1")


@dataclass(frozen=True)
class SentenceFile:
    """The readable lines of one input (``source``: the file, or ``<stdin>``)."""

    source: str
    sentences: list[list[str]]  # one token list per kept line, in input order
    labels: list[int] | None  # one 0/1 label per sentence; None for unlabelled input
    line_numbers: list[int]  # the 1-based line of each sentence
    total_lines: int  # bad lines included
    skipped: int  # bad lines skipped (0 unless skip_bad_lines)

    def __len__(self) -> int:
        return len(self.sentences)


def read_lines(path: str | os.PathLike[str]) -> tuple[str, list[bytes]]:
    """The input's name and its lines as bytes, without line endings or byte-order mark."""
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
    sentences (or alone) stays a sentence, and one label typo in a labelled file is a bad line."""
    firsts = [words[0] for words in (line.split(maxsplit=1) for line in lines) if words]
    labels = [word for word in firsts if word in (b"0", b"1")]
    return 2 * len(labels) > len(firsts) and set(labels) == {b"0", b"1"}


def _parse_line(raw: bytes, labelled: bool) -> tuple[list[str], int | None]:
    """Split one raw line into tokens and label; raise ``ValueError(problem)`` when it is bad."""
    try:
        tokens = raw.decode("utf-8").split()
    except UnicodeDecodeError as exc:
        raise ValueError(f"not valid UTF-8 (byte {exc.start})") from exc
    if not tokens:
        raise ValueError("empty line")
    if not labelled:
        return tokens, None
    if tokens[0] not in LABELS:
        raise ValueError(f"missing label: the line must start with 0 or 1, found {tokens[0]!r}")
    if len(tokens) == 1:
        raise ValueError("label without a sentence")
    return tokens[1:], int(tokens[0])


def read_sentences(
    path: str | os.PathLike[str], labelled: bool | None = True, skip_bad_lines: bool = False
) -> SentenceFile:
    """Read a sentence file (or ``-``); ``labelled=None``: decided by ``looks_labelled``. The
    first bad line (unless skipping) is a DlcError ``<file>:<line>: <problem>``."""
    name, raw_lines = read_lines(path)
    return parse_sentences(name, raw_lines, labelled, skip_bad_lines)


def read_unlabelled(path: str | os.PathLike[str], skip_bad_lines: bool = False) -> SentenceFile:
    """Read a file that must hold sentences without labels (extra training text): one that
    ``looks_labelled`` is a DlcError, rather than read with its labels as words."""
    name, raw_lines = read_lines(path)
    if looks_labelled(raw_lines):
        raise DlcError(
            f"{name}: looks labelled (most lines start with a 0/1 label); give sentences "
            "without labels"
        )
    return parse_sentences(name, raw_lines, False, skip_bad_lines)


def parse_sentences(
    name: str, raw_lines: Sequence[bytes], labelled: bool | None, skip_bad_lines: bool
) -> SentenceFile:
    """The sentences of the input ``name`` from its ``raw_lines`` (see ``read_sentences``)."""
    if labelled is None:
        labelled = looks_labelled(raw_lines)
    sentences: list[list[str]] = []
    labels, line_numbers = [], []
    for number, raw in enumerate(raw_lines, start=1):
        try:
            tokens, label = _parse_line(raw, labelled)
        except ValueError as exc:
            if skip_bad_lines:
                continue
            raise DlcError(f"{name}:{number}: {exc} (--skip-bad-lines skips such lines)") from None
        sentences.append(tokens)
        line_numbers.append(number)
        if label is not None:
            labels.append(label)
    skipped = len(raw_lines) - len(sentences)
    if not sentences:
        raise DlcError(f"{name}: no sentences" + f" ({skipped} bad lines skipped)" * bool(skipped))
    kept_labels = labels if labelled else None
    return SentenceFile(name, sentences, kept_labels, line_numbers, len(raw_lines), skipped)


def subsample(sentences: SentenceFile, n: int, seed: int) -> SentenceFile:
    """A seeded random ``n`` of the sentences, in file order (files are often sorted by label)."""
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
