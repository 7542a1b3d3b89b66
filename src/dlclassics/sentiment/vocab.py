"""The word vocabulary: built from the training sentences, stored in checkpoints as a word list."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence

PAD = "<pad>"
UNK = "<unk>"
PAD_ID = 0
UNK_ID = 1


class Vocabulary:
    """Maps words to ids; id 0 is ``<pad>``, id 1 is ``<unk>`` (every word not in the list).

    Example:
        >>> vocab = Vocabulary.build([["great", "food"], ["great"]])
        >>> vocab.words, vocab.encode(["great", "tacos"])
        (['<pad>', '<unk>', 'great', 'food'], [2, 1])
    """

    def __init__(self, words: Sequence[str]) -> None:
        if list(words[:2]) != [PAD, UNK]:
            raise ValueError(f"a vocabulary starts with {PAD!r}, {UNK!r}")
        self.words = list(words)
        self.index = {word: i for i, word in enumerate(self.words)}
        if len(self.index) != len(self.words):
            raise ValueError("vocabulary words must be unique")

    @classmethod
    def build(cls, sentences: Iterable[Sequence[str]], min_count: int = 1) -> Vocabulary:
        """Every word seen at least ``min_count`` times, most frequent first (ties by spelling).

        Example:
            >>> len(Vocabulary.build([["great", "food"], ["great"]], min_count=2))
            3
        """
        counts = Counter(token for sentence in sentences for token in sentence)
        kept = [word for word, n in counts.items() if n >= min_count and word not in (PAD, UNK)]
        kept.sort(key=lambda word: (-counts[word], word))
        return cls([PAD, UNK, *kept])

    def __len__(self) -> int:
        return len(self.words)

    def encode(self, tokens: Sequence[str]) -> list[int]:
        """Token strings → ids (unknown words → ``UNK_ID``).

        Example:
            >>> Vocabulary(["<pad>", "<unk>", "great"]).encode(["great", "food"])
            [2, 1]
        """
        return [self.index.get(token, UNK_ID) for token in tokens]
