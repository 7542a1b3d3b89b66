"""Reading sentence files (errors name file:line; text as people write it normalised; blank lines
kept for predict input; long lines cut with one warning) and building the vocabulary."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import pytest

from dlclassics.errors import DlcError
from dlclassics.sentiment.text import (
    looks_labelled,
    read_sentences,
    read_unlabelled,
    unknown_fraction,
    unknown_words_warning,
)
from dlclassics.sentiment.vocab import PAD, UNK, UNK_ID, Vocabulary


def write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def test_reads_labels_tokens_and_crlf(tmp_path: Path) -> None:
    path = write(tmp_path / "a.txt", b"1 great food .\r\n0 cold  soup\n")
    read = read_sentences(path, labelled=True)
    assert read.sentences == [["great", "food", "."], ["cold", "soup"]]
    assert read.labels == [1, 0]
    assert read.line_numbers == [1, 2] and read.total_lines == 2 and read.skipped == 0


@pytest.mark.parametrize(
    ("content", "line", "problem"),
    [
        (b"1 good\ngreat place\n", 2, "missing label"),
        (b"1 good\n\n0 bad\n", 2, "empty line"),
        (b"1 good\n0 caf\xe9 bad\n", 2, "not valid UTF-8"),
        (b"1 good\n0 bad\n1\n", 3, "label without a sentence"),
        (b"2 good\n", 1, "missing label"),
    ],
)
def test_bad_lines_name_file_and_line(
    tmp_path: Path, content: bytes, line: int, problem: str
) -> None:
    path = write(tmp_path / "bad.txt", content)
    with pytest.raises(DlcError) as info:
        read_sentences(path, labelled=True)
    message = str(info.value)
    assert message.startswith(f"{path}:{line}: ") and problem in message
    assert "\n" not in message


def test_skip_bad_lines_counts_them_and_keeps_line_numbers(tmp_path: Path) -> None:
    path = write(tmp_path / "bad.txt", b"1 good\n\nno label\n0 caf\xe9\n0 bad food\n")
    read = read_sentences(path, labelled=True, skip_bad_lines=True)
    assert read.sentences == [["good"], ["bad", "food"]]
    assert read.labels == [1, 0]
    assert read.skipped == 3 and read.line_numbers == [1, 5] and read.total_lines == 5


def test_unlabelled_keeps_leading_digits_as_words(tmp_path: Path) -> None:
    path = write(tmp_path / "u.txt", b"1 star at most .\nlovely\n")
    read = read_sentences(path, labelled=False)
    assert read.labels is None and read.sentences[0][0] == "_num_"  # a number, normalised
    assert read_sentences(path, labelled=None).labels is None
    assert read_sentences(write(tmp_path / "l.txt", b"1 star .\n0 meh\n"), None).labels == [1, 0]


def test_universal_newlines_and_a_byte_order_mark(tmp_path: Path) -> None:
    # old Mac line endings: three sentences, not one; the BOM is not part of the first word
    path = write(tmp_path / "cr.txt", b"\xef\xbb\xbf1 great food\r0 cold soup\r\n1 nice\r")
    read = read_sentences(path, labelled=True)
    assert read.sentences == [["great", "food"], ["cold", "soup"], ["nice"]]
    assert read.labels == [1, 0, 1] and read.total_lines == 3
    assert read_sentences(path, labelled=None).labels == [1, 0, 1]


@pytest.mark.parametrize(
    ("lines", "labelled"),
    [
        ([b"1 star , never again ."], False),  # alone: one label only
        ([b"lovely food", b"1 star , never again .", b"rude staff"], False),  # one line of three
        ([b"1 star , never again .", b"0 stars", b"fine"], True),  # most lines, both labels
        ([b"1 good", b"0 bad", b"l typo", b"1 nice"], True),  # a typo does not flip it
        ([b"1 good", b"1 nice", b"", b"1 fine"], False),  # one label only: say --labelled
        ([], False),
    ],
)
def test_the_labelled_rule(lines: list[bytes], labelled: bool) -> None:
    assert looks_labelled(lines) is labelled


def test_a_label_typo_in_a_labelled_file_is_a_bad_line(tmp_path: Path) -> None:
    path = write(tmp_path / "typo.txt", b"1 good\n0 bad\nl typo here\n1 nice\n")
    with pytest.raises(DlcError, match=r"typo.txt:3: missing label"):
        read_sentences(path, labelled=None)


def test_standard_input(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"great\n\xef\xbf\xbd ok\n")))
    read = read_sentences("-", labelled=None)
    assert read.source == "<stdin>" and read.sentences == [["great"], ["\ufffd", "ok"]]
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"fine\n\n")))
    with pytest.raises(DlcError, match=r"^<stdin>:2: empty line"):
        read_sentences("-", labelled=False)


def test_missing_and_empty_files(tmp_path: Path) -> None:
    with pytest.raises(DlcError, match="no such file"):
        read_sentences(tmp_path / "nope.txt", labelled=True)
    with pytest.raises(DlcError, match="no sentences"):
        read_sentences(write(tmp_path / "e.txt", b""), labelled=False)


def test_vocabulary_order_min_count_and_unknown_words() -> None:
    sentences = [["b", "a", "a"], ["c", "a", "b"]]
    vocab = Vocabulary.build(sentences)
    assert vocab.words == [PAD, UNK, "a", "b", "c"]  # by count, ties by spelling
    assert Vocabulary.build(sentences, min_count=2).words == [PAD, UNK, "a", "b"]
    assert vocab.encode(["a", "zzz", "c"]) == [2, UNK_ID, 4]
    assert Vocabulary(vocab.words).index == vocab.index  # round trip through the word list


def test_raw_lines_are_normalised_the_files_form_kept(tmp_path: Path) -> None:
    raw = write(tmp_path / "raw.txt", "1 Great food!\n0 Don\u2019t go, it\u2019s $5.\n".encode())
    tidy = write(tmp_path / "tidy.txt", b"1 great food !\n0 do n't go , it 's $ _num_ .\n")
    assert read_sentences(raw).sentences == read_sentences(tidy).sentences
    assert read_sentences(tidy).sentences[1] == [
        "do",
        "n't",
        "go",
        ",",
        "it",
        "'s",
        "$",
        "_num_",
        ".",
    ]


def test_blank_lines_are_kept_for_predict_input(tmp_path: Path) -> None:
    path = write(tmp_path / "blank.txt", b"1 good\n\n  \n0 bad\n")
    read = read_sentences(path, labelled=None, keep_blank=True)
    assert read.sentences == [["good"], [], [], ["bad"]]
    assert read.labels == [1, None, None, 0] and read.line_numbers == [1, 2, 3, 4]
    unlabelled = write(tmp_path / "u.txt", b"Nice!\n\nAwful.\n")
    assert read_sentences(unlabelled, False, keep_blank=True).sentences == [
        ["nice", "!"],
        [],
        ["awful", "."],
    ]
    with pytest.raises(DlcError, match=r"blank.txt:2: empty line"):
        read_sentences(path, labelled=True)  # training files still refuse them


def test_predict_input_splits_every_final_period(tmp_path: Path) -> None:
    path = write(tmp_path / "p.txt", b"the food was great.\nThe food was great.\n")
    assert (
        read_sentences(path, False, corpus=False).sentences
        == [["the", "food", "was", "great", "."]] * 2
    )
    assert read_sentences(path, False).sentences[0][-1] == "great."  # a corpus keeps it
    with pytest.raises(DlcError, match="no sentences"):
        read_sentences(write(tmp_path / "all.txt", b"\n\n"), False, keep_blank=True)


def test_a_long_line_is_cut_with_one_warning_naming_it(tmp_path: Path, capsys) -> None:
    long_line = b"great food , " * 400_000  # 1.2 million tokens, 5 MB
    path = write(tmp_path / "long.txt", b"ok\n" + long_line + b"\n" + long_line + b"\nfine\n")
    read = read_sentences(path, labelled=False, max_length=8)
    assert read.sentences[1] == ["great", "food", ","] * 2 + ["great", "food"]
    assert [len(s) for s in read.sentences] == [1, 8, 8, 1] and read.truncated == [2, 3]
    (line,) = capsys.readouterr().err.splitlines()
    assert line == f"dlc: warning: {path}:2: truncated to 8 words (and 1 more line)"
    whole = read_unlabelled(path, max_length=None)
    assert len(whole.sentences[1]) == 1_200_000 and whole.truncated == []
    assert capsys.readouterr().err == ""


def test_unknown_words_give_one_warning_line() -> None:
    known = {"great", "food", "!", "_num_"}
    assert unknown_fraction([["great", "food", "!"], ["_num_"]], known) == 0.0
    fraction = unknown_fraction([["xq", "zz", "!"], ["great"]], known)  # "!" is not a word
    assert fraction == 2 / 3 and unknown_fraction([], known) == 0.0
    assert unknown_words_warning("a.txt", 0.5) is None
    assert unknown_words_warning("a.txt", fraction) == (
        "dlc: warning: a.txt: 67% of the words are unknown to the model "
        "(it reads English review sentences)"
    )
