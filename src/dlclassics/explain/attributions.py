"""Word attributions for the sentiment predictor: how much each word of a sentence moves the
probability of the predicted class, by leaving it out.

A word's weight is P(class | sentence) − P(class | sentence without that word), where the class is
the one predicted for the whole sentence: positive weights are words that speak for the
prediction, negative ones against it. Leave-one-out (occlusion, ``captum``'s
``FeatureAblation`` with one feature per word) reads the model only through its predictions, so
it is exact for every kind of model, word-level or MiniLM, single or an ensemble, and costs one
batched pass over the sentence's n variants. The words are the model's own tokens (its text
normaliser's), the ones it actually reads. Removing the only word of a sentence leaves nothing to
classify: the probability without it is taken as 0.5, no evidence either way.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from dlclassics.predictions import Prediction
from dlclassics.sentiment.classifier import Classifier, Ensemble
from dlclassics.sentiment.predict import member_probabilities

Predictor = Classifier | Ensemble
NO_EVIDENCE = 0.5  # P(class) of an empty sentence: two classes, nothing read
CHUNK = 4096  # leave-one-out variants scored at a time


@dataclass
class SentenceExplanation:
    """The word attributions of one sentence.

    Attributes:
        tokens: the words the model reads (its normaliser's tokens).
        weights: one per token: P(label) minus P(label) without that token.
        label: the predicted class the weights are for; probability: P(label).

    Example:
        >>> [explained] = word_attributions(sentiment.load(), ["Great food, rude staff."])
        >>> explained.label, explained.pairs()[0][0]
        ('1', 'great')
    """

    tokens: list[str]
    weights: list[float]
    label: str
    probability: float

    def pairs(self) -> list[list[str | float]]:
        """``[[word, weight], ...]``, the form of the jsonl ``"attributions"`` field.

        Example:
            >>> SentenceExplanation(["ok", "!"], [0.2, 0.01], "1", 0.7).pairs()
            [['ok', 0.2], ['!', 0.01]]
        """
        return [[token, weight] for token, weight in zip(self.tokens, self.weights, strict=True)]

    def top(self) -> int:
        """The index of the word with the largest weight (the most evidence for the label).

        Example:
            >>> SentenceExplanation(["ok", "!"], [0.2, 0.01], "1", 0.7).top()
            0
        """
        return int(np.argmax(self.weights))


def leave_one_out(tokens: Sequence[str]) -> list[list[str]]:
    """The sentence without each of its tokens in turn.

    Example:
        >>> leave_one_out(["a", "b", "c"])
        [['b', 'c'], ['a', 'c'], ['a', 'b']]
    """
    return [[*tokens[:i], *tokens[i + 1 :]] for i in range(len(tokens))]


def token_probabilities(predictor: Predictor, sentences: Sequence[Sequence[str]]) -> np.ndarray:
    """(N, 2) class probabilities of token lists (the ensemble's mean for an ``Ensemble``), an
    empty list's row ``NO_EVIDENCE`` in both columns; scored ``CHUNK`` sentences at a time.

    Example:
        >>> token_probabilities(sentiment.load(), [["great"], []])[1]
        array([0.5, 0.5])
    """
    rows = [np.zeros((0, 2))]
    for start in range(0, len(sentences), CHUNK):
        rows.append(member_probabilities(predictor, sentences[start : start + CHUNK]).mean(axis=0))
    probabilities = np.concatenate(rows)
    return np.where(np.isnan(probabilities), NO_EVIDENCE, probabilities)


def explain_tokens(
    predictor: Predictor, sentences: Sequence[Sequence[str]]
) -> list[SentenceExplanation | None]:
    """Word attributions of sentences already tokenised by the predictor's normaliser (None for
    an empty one), all variants scored in one batched pass.

    Example:
        >>> explain_tokens(sentiment.load(), [["great", "food"], []])[1] is None
        True
    """
    variants = [list(tokens) for tokens in sentences]
    for tokens in sentences:
        variants.extend(leave_one_out(tokens))
    probabilities = token_probabilities(predictor, variants)  # (N + total tokens, 2)
    explanations: list[SentenceExplanation | None] = []
    offset = len(sentences)
    for i, tokens in enumerate(sentences):
        if not tokens:
            explanations.append(None)
            continue
        column = int(probabilities[i, 1] >= 0.5)  # the predicted class, as ``labels_of`` has it
        without = probabilities[offset : offset + len(tokens), column]
        offset += len(tokens)
        weights = [float(w) for w in probabilities[i, column] - without]
        label = predictor.classes[column]
        explanations.append(
            SentenceExplanation(list(tokens), weights, label, float(probabilities[i, column]))
        )
    return explanations


def word_attributions(
    predictor: Predictor, texts: Sequence[str]
) -> list[SentenceExplanation | None]:
    """Word attributions of raw sentences (as people write them), read with the predictor's own
    normaliser; None for a blank one.

    Example:
        >>> [explained] = word_attributions(sentiment.load(), ["Never again."])
        >>> explained.label, explained.tokens
        ('0', ['never', 'again', '.'])
    """
    return explain_tokens(predictor, [predictor.normaliser(text) for text in texts])


def add_attributions(predictor: Predictor, rows: Sequence[Prediction]) -> None:
    """Add ``extra["attributions"]`` (``[[word, weight], ...]``) to every non-blank row of
    ``dlc sentiment predict``; the words are the predictor's normaliser's tokens of the input.

    Example:
        >>> rows = predict_file(model, "reviews.txt").rows
        >>> add_attributions(model, rows)
        >>> rows[0].extra["attributions"][0]
        ['great', 0.41]
    """
    predicted = [row for row in rows if not row.is_blank]
    explained = explain_tokens(predictor, [predictor.normaliser(row.input) for row in predicted])
    for row, explanation in zip(predicted, explained, strict=True):
        row.extra["attributions"] = [] if explanation is None else explanation.pairs()
