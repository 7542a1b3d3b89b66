"""Caption text → word indices: tokenising, the vocabulary, encoding and decoding.

The special words and their indices follow the reference's COCO vocabulary, so its
``coco2014_vocab.json`` and our vocabularies index the same way: ``<NULL>`` = 0 (padding, ignored
by the loss), ``<START>`` = 1, ``<END>`` = 2, ``<UNK>`` = 3 (words below the minimum count).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence

import numpy as np

NULL, START, END, UNK = "<NULL>", "<START>", "<END>", "<UNK>"
SPECIAL_WORDS = (NULL, START, END, UNK)
_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")


def tokenize(caption: str) -> list[str]:
    """Lower-case words and numbers; punctuation is dropped ("A dog's ball." → a, dog's, ball)."""
    return _WORD.findall(caption.lower())


def build_vocab(tokenized: Iterable[Sequence[str]], min_count: int = 1) -> dict[str, int]:
    """``word_to_idx``: the special words, then every word seen ``min_count`` times or more.

    Words are ordered by decreasing count, then alphabetically, so the result is deterministic.
    """
    counts = Counter(word for words in tokenized for word in words)
    kept = sorted((w for w, c in counts.items() if c >= min_count), key=lambda w: (-counts[w], w))
    return {word: index for index, word in enumerate([*SPECIAL_WORDS, *kept])}


def encode_captions(
    tokenized: Sequence[Sequence[str]], word_to_idx: dict[str, int], max_words: int
) -> np.ndarray:
    """C tokenized captions as (C, L + 2) int32 rows ``<START> w1 ... wk <END> <NULL> ...``;
    L is the longest caption's length, at most ``max_words`` (longer ones are cut); unknown
    words are ``<UNK>``."""
    unk = word_to_idx[UNK]
    longest = min(max((len(words) for words in tokenized), default=0), max_words)
    out = np.full((len(tokenized), longest + 2), word_to_idx[NULL], dtype=np.int32)
    for row, words in enumerate(tokenized):
        ids = [word_to_idx[START], *(word_to_idx.get(w, unk) for w in words[:max_words])]
        ids.append(word_to_idx[END])
        out[row, : len(ids)] = ids
    return out


def decode_captions(captions: np.ndarray, idx_to_word: Sequence[str]) -> list[str]:
    """Index arrays (N, T) → strings: the words up to the first ``<END>``, without
    ``<START>``/``<NULL>`` (``<UNK>`` is kept: it is a word the model emitted)."""
    decoded = []
    for row in np.atleast_2d(captions):
        words = [idx_to_word[int(index)] for index in row]
        words = words[: words.index(END)] if END in words else words
        decoded.append(" ".join(word for word in words if word not in (NULL, START)))
    return decoded
