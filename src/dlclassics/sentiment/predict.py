"""Labelling sentence files with a sentiment model, the work behind ``dlc sentiment predict``: one
``predictions.Prediction`` row per input line (a blank row for a blank or skipped line, so output
lines stay aligned with input lines), the true label on the rows of a labelled file.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from dlclassics.outputs import check_output_file
from dlclassics.predictions import Prediction, accuracy_summary, write_predictions
from dlclassics.sentiment.classifier import Classifier, Ensemble, labels_of
from dlclassics.sentiment.packaged import packaged_model
from dlclassics.sentiment.quantize import quantize_members
from dlclassics.sentiment.run import load
from dlclassics.sentiment.text import (
    MAX_LENGTH,
    SentenceFile,
    parse_sentences,
    read_lines,
    unknown_fraction,
    unknown_words_warning,
)

Model = Classifier | Ensemble
SPEED_REPORT_SENTENCES = 2000  # the speed is said from this many sentences on


@dataclass
class FilePredictions:
    """What one input file gave.

    Attributes:
        source: the file's name (``<stdin>`` for ``-``).
        rows: one per input line, in order; blank rows for blank and skipped lines.
        labelled: whether the file was read as labelled (its rows carry ``true``).
        skipped: bad lines skipped (``skip_bad_lines``).
        member_accuracies: for an ensemble on a labelled file, each member's own accuracy
            (fractions), in the ensemble's order; empty otherwise.
        seconds: time spent predicting (reading and loading excluded).

    Example:
        >>> found = predict_file(sentiment.load(), "reviews.txt")
        >>> found.source, len(found.rows), found.labelled
        ('reviews.txt', 3, False)
    """

    source: str
    rows: list[Prediction]
    labelled: bool
    skipped: int
    member_accuracies: list[float] = field(default_factory=list)
    seconds: float = 0.0
    unknown: float = 0.0  # the fraction of its words no member knows (``text.unknown_fraction``)

    @property
    def predicted(self) -> int:
        """How many rows hold a prediction (not blank).

        Example:
            >>> predict_file(sentiment.load(), "reviews.txt").predicted  # one of 3 lines is blank
            2
        """
        return sum(not row.is_blank for row in self.rows)


def member_probabilities(model: Model, sentences: Sequence[Sequence[str]]) -> np.ndarray:
    """(M, N, 2): each member's class probabilities of the tokenised ``sentences`` (M = 1 for
    one classifier).

    Example:
        >>> member_probabilities(sentiment.load(), [["great", "food", "!"]]).shape
        (1, 1, 2)
    """
    if isinstance(model, Ensemble):
        return model.member_token_proba(sentences)
    return model.token_proba(sentences)[None]


def member_accuracies(
    members: np.ndarray, true: Sequence[str | None], classes: Sequence[str]
) -> list[float]:
    """Each member's accuracy (a fraction): ``members`` (M, N, 2) holds the probabilities of N
    sentences, ``true`` their labels (None for a blank line, not scored).

    Example:
        >>> member_accuracies(np.array([[[0.1, 0.9], [0.8, 0.2]]]), ["1", "1"], ["0", "1"])
        [0.5]
    """
    scored = [i for i, answer in enumerate(true) if answer is not None]
    each = []
    for probabilities in members:
        labels = labels_of(probabilities, classes)
        each.append(float(np.mean([labels[i] == true[i] for i in scored])))
    return each


def predict_sentences(
    model: Model, sentences: SentenceFile, texts: Sequence[str] | None = None
) -> FilePredictions:
    """``model``'s rows for the sentences of one read file (see ``FilePredictions``); each row's
    ``input`` is the sentence's entry in ``texts`` (as written; None: its tokens joined).

    Example:
        >>> found = predict_sentences(sentiment.load(), read_sentences("reviews.txt", None))
        >>> found.rows[0].label, found.rows[0].input
        ('1', 'great food !')
    """
    classes = model.classes
    texts = texts or [" ".join(tokens) for tokens in sentences.sentences]
    started = time.perf_counter()
    members = member_probabilities(model, sentences.sentences)  # (M, N, 2)
    seconds = time.perf_counter() - started
    mean = members.mean(axis=0)  # (N, 2)
    labels = labels_of(mean, classes)
    labelled = sentences.labels is not None
    true = [None if y is None else str(y) for y in sentences.labels] if labelled else None
    rows = [Prediction("") for _ in range(sentences.total_lines)]
    for i, number in enumerate(sentences.line_numbers):
        if labels[i] is None:  # a blank sentence: a blank row keeps the lines aligned
            continue
        rows[number - 1] = Prediction(
            texts[i],
            label=labels[i],
            probabilities={name: float(p) for name, p in zip(classes, mean[i], strict=True)},
            true=None if true is None else true[i],
        )
    each = member_accuracies(members, true, classes) if true and len(members) > 1 else []
    return FilePredictions(
        sentences.source,
        rows,
        labelled=labelled,
        skipped=sentences.skipped,
        member_accuracies=each,
        seconds=seconds,
        unknown=unknown_share(model, sentences.sentences),
    )


def unknown_share(model: Model, sentences: Sequence[Sequence[str]]) -> float:
    """The fraction of the words of ``sentences`` that no member's vocabulary holds; 0.0 when a
    member is ``minilm`` (its sub-word tokenizer reads any word).

    Example:
        >>> unknown_share(sentiment.load(), [["great", "zzyzx"]])
        0.5
    """
    members = model.members if isinstance(model, Ensemble) else [model]
    vocabularies = [member.vocab for member in members]
    if any(vocabulary is None for vocabulary in vocabularies):
        return 0.0
    known = {word for vocabulary in vocabularies for word in vocabulary.words}
    return unknown_fraction(sentences, known)


def predict_file(
    model: Model,
    path: str | os.PathLike[str],
    *,
    labelled: bool | None = None,
    skip_bad_lines: bool = False,
    max_length: int | None = MAX_LENGTH,
) -> FilePredictions:
    """``model``'s rows for every line of the sentence file ``path`` (``-``: standard input);
    ``labelled`` None: decided by the file's look (``text.looks_labelled``).

    Example:
        >>> rows = predict_file(sentiment.load(), "reviews.txt").rows
        >>> [row.label for row in rows]
        ['1', None, '0']
    """
    name, raw_lines = read_lines(path)  # read once: standard input cannot be read again
    sentences = parse_sentences(
        name,
        raw_lines,
        labelled=labelled,
        skip_bad_lines=skip_bad_lines,
        normaliser=model.normaliser,
        keep_blank=True,
        max_length=max_length,
        corpus=False,  # text as people write it: a final period is always split off
    )
    is_labelled = sentences.labels is not None
    texts = [as_written(raw_lines[n - 1], is_labelled) for n in sentences.line_numbers]
    return predict_sentences(model, sentences, texts)


def as_written(raw: bytes, labelled: bool) -> str:
    """The sentence of one kept input line as its author wrote it: the line without its line
    ending, surrounding white space, or (``labelled``) its leading label.

    Example:
        >>> as_written(b"1  Great food!  ", labelled=True)
        'Great food!'
    """
    text = raw.decode("utf-8").strip()
    if not labelled:
        return text
    words = text.split(maxsplit=1)  # the label, then the sentence
    return words[1] if len(words) > 1 else ""


def txt_line(proba: bool) -> Callable[[Prediction], str]:
    """The ``txt`` format's line of a row: its label, or P(positive) to 4 decimals (``proba``).

    Example:
        >>> txt_line(True)(Prediction("x", label="1", probabilities={"0": 0.25, "1": 0.75}))
        '0.7500'
    """

    def line(row: Prediction) -> str:
        """The row's label, or its P(positive) with ``proba``."""
        if proba and row.probabilities is not None:
            return f"{row.probabilities['1']:.4f}"
        return row.label or ""

    return line


@dataclass(frozen=True)
class PredictSettings:
    """How ``dlc sentiment predict`` reads, runs and writes (its options).

    Attributes:
        labelled: True/False force the reading of a leading 0/1; None decides per file.
        skip_bad_lines: leave bad lines blank instead of stopping.
        max_length: words a sentence keeps (longer lines are cut, with one warning).
        proba: ``txt``: write P(positive) to 4 decimals, not the label.
        fmt: ``txt``, ``csv`` or ``jsonl`` (``predictions.write_predictions``).
        out: the output file; None: standard output.
        device, threads, precision: where and how the model runs (``run.load``).
        quantize: ``int8``: minilm members dynamically quantised (CPU); None: float.

    Example:
        >>> PredictSettings(fmt="jsonl", proba=True).max_length
        512
    """

    labelled: bool | None = None
    skip_bad_lines: bool = False
    max_length: int | None = MAX_LENGTH
    proba: bool = False
    fmt: str = "txt"
    out: str | None = None
    device: str | None = None
    threads: int | None = None
    precision: str | None = None
    quantize: str | None = None


def load_model(
    checkpoints: Sequence[str], settings: PredictSettings, say: Callable[[str], object]
) -> tuple[Model, list[str]]:
    """The model (or ensemble) of ``checkpoints`` (none: the packaged model, named to ``say``),
    set up as ``settings`` ask; and the checkpoints' names.

    Example:
        >>> model, names = load_model([], PredictSettings(), print)
        using the packaged ...
    """
    names = list(checkpoints) or [str(packaged_model(say))]
    model = load(
        names, device=settings.device, threads=settings.threads, precision=settings.precision
    )
    if settings.quantize:
        model = quantize_members(model, names, say)
    return model, names


def report_file(
    found: FilePredictions,
    names: Sequence[str],
    *,
    several: bool,
    say: Callable[[str], object],
    guessed: bool,
) -> None:
    """The notes on one input file for standard error: how it was read, skipped lines, each
    ensemble member's accuracy, then the accuracy and confusion matrix of a labelled file.

    Example:
        >>> found = predict_file(model, "test.txt")
        >>> report_file(found, ["bow.pt"], several=False, say=print, guessed=False)
        accuracy 0.9500 (95/100)
        true \\ predicted    0    1
        0                  48    2
        1                   3   47
    """
    prefix = f"{found.source}: " if several else ""
    warning = unknown_words_warning(found.source, found.unknown)
    if warning is not None:
        say(warning)
    if found.labelled and guessed:
        say(f"{found.source}: read as labelled (--unlabelled reads the leading 0/1 as words)")
    if found.skipped:
        say(f"{found.source}: skipped {found.skipped} bad lines (empty output lines)")
    for name, value in zip(names, found.member_accuracies, strict=False):
        say(f"{prefix}{name}: accuracy {value:.4f} on its own")
    summary = accuracy_summary(found.rows)
    if summary is not None:
        say(f"{prefix}{'ensemble ' if len(names) > 1 else ''}{summary}")


def predict_files(
    checkpoints: Sequence[str],
    inputs: Sequence[str],
    settings: PredictSettings,
    *,
    say: Callable[[str], object],
    annotate: Callable[[Model, list[Prediction]], None] | None = None,
) -> list[Prediction]:
    """``dlc sentiment predict``: label every line of the ``inputs`` (``-``: standard input) with
    the model of ``checkpoints`` and write the rows as ``settings`` ask; notes, accuracies and
    the speed go to ``say``; ``annotate(model, rows)`` may add fields to the rows before they are
    written (``--explain``'s word attributions). Returns the rows written.

    Example:
        >>> rows = predict_files([], ["reviews.txt"], PredictSettings(fmt="jsonl"), say=print)
        {"input": "great food !", "label": "1", "probabilities": {"0": 0.01, "1": 0.99}}
        ...
    """
    if settings.out is not None:
        check_output_file(settings.out)  # before the work: a bad --out costs nothing
    model, names = load_model(checkpoints, settings, say)
    rows: list[Prediction] = []
    seconds, count = 0.0, 0
    for path in inputs:
        found = predict_file(
            model,
            path,
            labelled=settings.labelled,
            skip_bad_lines=settings.skip_bad_lines,
            max_length=settings.max_length,
        )
        report_file(
            found, names, several=len(inputs) > 1, say=say, guessed=settings.labelled is None
        )
        rows += found.rows
        seconds, count = seconds + found.seconds, count + found.predicted
    if count >= SPEED_REPORT_SENTENCES:
        where = (model.members[0] if isinstance(model, Ensemble) else model).device
        say(f"{count} sentences in {seconds:.2f} s: {count / seconds:.0f} sentences/s on {where}")
    if annotate is not None:
        annotate(model, rows)
    write_predictions(rows, settings.fmt, settings.out, txt_line(settings.proba))
    if settings.out is not None:
        say(f"wrote {len(rows)} lines to {settings.out}")
    return rows
