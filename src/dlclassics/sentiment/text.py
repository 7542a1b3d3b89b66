"""Reading sentence files: one pre-tokenised sentence a line, optionally led by a ``0``/``1`` label.

A labelled line is ``<label> <token> <token> ...`` with label ``0`` (negative) or ``1``
(positive). Bad lines (not UTF-8, empty, missing label, label without a sentence) raise a
``DlcError`` naming ``file:line``, or are skipped and counted when ``skip_bad_lines`` is set.
"""

from __future__ import annotations

import os
import random
from dataclasses import dataclass, replace
from pathlib import Path

from dlclassics.errors import DlcError

LABELS = ("0", "1")


@dataclass(frozen=True)
class SentenceFile:
    """The readable lines of one file.

    Attributes:
        path: the file read.
        sentences: one token list per kept line, in file order.
        labels: one 0/1 label per sentence, or ``None`` for an unlabelled file.
        line_numbers: the 1-based line each sentence came from.
        total_lines: lines in the file, bad ones included.
        skipped: how many bad lines were skipped (0 unless ``skip_bad_lines``).
    """

    path: Path
    sentences: list[list[str]]
    labels: list[int] | None
    line_numbers: list[int]
    total_lines: int
    skipped: int

    def __len__(self) -> int:
        return len(self.sentences)


def _parse_line(raw: bytes, labelled: bool) -> tuple[list[str], int | None]:
    """Split one raw line into tokens and label; raise ``ValueError(problem)`` when it is bad."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValueError(f"not valid UTF-8 (byte {exc.start})") from exc
    tokens = text.split()
    if not tokens:
        raise ValueError("empty line")
    if not labelled:
        return tokens, None
    if tokens[0] not in LABELS:
        raise ValueError(f"missing label: the line must start with 0 or 1, found {tokens[0]!r}")
    if len(tokens) == 1:
        raise ValueError("label without a sentence")
    return tokens[1:], int(tokens[0])


def _raw_lines(path: Path) -> list[bytes]:
    """The file's lines as bytes, without line endings (a final newline adds no line)."""
    if not path.is_file():
        raise DlcError(f"{path}: no such file")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise DlcError(f"{path}: cannot read ({exc.strerror})") from exc
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    return [line.rstrip(b"\r") for line in lines]


def looks_labelled(path: str | os.PathLike[str]) -> bool:
    """True when every non-empty line starts with a ``0`` or ``1`` token (a labelled file)."""
    first_tokens = [line.split(maxsplit=1)[:1] for line in _raw_lines(Path(path))]
    present = [tokens[0] for tokens in first_tokens if tokens]
    return bool(present) and all(token in (b"0", b"1") for token in present)


def read_sentences(
    path: str | os.PathLike[str], labelled: bool, skip_bad_lines: bool = False
) -> SentenceFile:
    """Read a sentence file.

    Args:
        path: the file, UTF-8, one sentence a line.
        labelled: whether each line must start with a ``0``/``1`` label.
        skip_bad_lines: skip bad lines and count them instead of raising.

    Returns:
        The sentences (and labels) in file order.

    Raises:
        DlcError: ``<file>:<line>: <problem>`` for the first bad line (unless skipping), or
            ``<file>: no sentences`` when nothing readable is left.
    """
    p = Path(path)
    sentences: list[list[str]] = []
    labels: list[int] = []
    line_numbers: list[int] = []
    raw_lines = _raw_lines(p)
    for number, raw in enumerate(raw_lines, start=1):
        try:
            tokens, label = _parse_line(raw, labelled)
        except ValueError as exc:
            if not skip_bad_lines:
                hint = " (use --skip-bad-lines to skip such lines)"
                raise DlcError(f"{p}:{number}: {exc}{hint}") from None
            continue
        sentences.append(tokens)
        line_numbers.append(number)
        if label is not None:
            labels.append(label)
    skipped = len(raw_lines) - len(sentences)
    if not sentences:
        raise DlcError(
            f"{p}: no sentences" + (f" ({skipped} bad lines skipped)" if skipped else "")
        )
    return SentenceFile(
        p, sentences, labels if labelled else None, line_numbers, len(raw_lines), skipped
    )


def subsample(sentences: SentenceFile, n: int, seed: int) -> SentenceFile:
    """A seeded random ``n`` of the sentences, in file order (files are often sorted by label)."""
    if n >= len(sentences):
        return sentences
    keep = sorted(random.Random(seed).sample(range(len(sentences)), n))
    return replace(
        sentences,
        sentences=[sentences.sentences[i] for i in keep],
        labels=[sentences.labels[i] for i in keep] if sentences.labels is not None else None,
        line_numbers=[sentences.line_numbers[i] for i in keep],
    )
