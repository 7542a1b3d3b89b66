"""The word-level models: what they compute, that padding never changes it, and that they learn."""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch

from dlclassics.sentiment.batches import collate_bag, collate_padded
from dlclassics.sentiment.config import Config
from dlclassics.sentiment.models import (
    AverageClassifier,
    BagOfWordsClassifier,
    RecurrentClassifier,
    build_word_model,
)

pytestmark = pytest.mark.usefixtures("one_torch_thread")  # conftest.py


V = 30
POSITIVE, NEGATIVE = range(2, 8), range(8, 14)  # sentiment-bearing word ids; 14.. are neutral


def toy_examples(n: int, seed: int = 0) -> list[tuple[list[int], int]]:
    """Sentences of 2-9 neutral ids with one positive or one negative id somewhere."""
    rng = random.Random(seed)
    examples = []
    for _ in range(n):
        label = rng.randint(0, 1)
        ids = [rng.randrange(14, V) for _ in range(rng.randint(1, 8))]
        ids.insert(rng.randint(0, len(ids)), rng.choice(POSITIVE if label else NEGATIVE))
        examples.append((ids, label))
    return examples


def test_bag_of_words_is_binary_bow_times_weights() -> None:
    torch.manual_seed(0)
    model = BagOfWordsClassifier(V)
    torch.nn.init.normal_(model.weights.weight)
    examples = [([3, 5, 3, 3], 1), ([7], 0), ([9, 2, 2], 1)]
    inputs, _ = collate_bag(examples)
    dense = torch.zeros(len(examples), V)  # the (N, V) binary matrix the model never builds
    for row, (ids, _) in enumerate(examples):
        dense[row, ids] = 1.0
    expected = dense @ model.weights.weight[:, 0] + model.bias
    torch.testing.assert_close(model(**inputs), expected)


def test_average_ignores_padding() -> None:
    torch.manual_seed(0)
    model = AverageClassifier(Config("avg", vocab_size=V, embed_dim=8)).eval()
    short = ([4, 5], 1)
    alone, _ = collate_padded([short])
    padded, _ = collate_padded([short, ([6] * 9, 0)])
    expected = model.output(model.embedding(torch.tensor([[4, 5]])).mean(dim=1)).squeeze(1)
    torch.testing.assert_close(model(**alone), expected)
    torch.testing.assert_close(model(**padded)[:1], expected)


@pytest.mark.parametrize(
    ("cell", "bidirectional"), [("rnn", False), ("lstm", False), ("lstm", True)]
)
def test_recurrent_reads_the_last_real_token(cell: str, bidirectional: bool) -> None:
    torch.manual_seed(0)
    name = "bilstm" if bidirectional else f"glove-{cell}"
    model = RecurrentClassifier(
        Config(name, vocab_size=V, embed_dim=8, hidden_size=6), cell, bidirectional=bidirectional
    )
    model.eval()
    short = ([4, 5, 6], 1)
    alone, _ = collate_padded([short])  # (1, 3): no padding at all
    batch, _ = collate_padded([short, ([7] * 10, 0)])  # the short sentence padded to 10
    torch.testing.assert_close(model(**batch)[:1], model(**alone))

    # a model that ran over the padding would read a different state: the check has teeth
    outputs, _ = model.recurrent(model.embedding(batch["token_ids"][:1]))  # (1, 10, H*dirs)
    H = model.recurrent.hidden_size
    at_padding_end = outputs[0, -1, :H]
    at_last_real = outputs[0, 2, :H]
    assert not torch.allclose(at_padding_end, at_last_real, atol=1e-4)
    if not bidirectional:
        features = at_last_real[None]  # (1, H)
        torch.testing.assert_close(model(**alone), model.output(features).squeeze(1))


@pytest.mark.parametrize(
    "name", ["bow", "avg", "glove-avg", "glove-rnn", "glove-lstm", "bilstm", "cnn"]
)
def test_each_model_lowers_its_loss(name: str) -> None:
    torch.manual_seed(0)
    config = Config(name, vocab_size=V, embed_dim=16, hidden_size=16)
    init = np.random.default_rng(0).normal(0, 0.3, (V, 16)).astype(np.float32)
    model = build_word_model(config, init if name not in ("bow", "avg") else None)
    collate = collate_bag if name == "bow" else collate_padded
    inputs, labels = collate(toy_examples(64))
    loss_fn = torch.nn.BCEWithLogitsLoss()
    optimizer = torch.optim.Adam(model.parameters(), lr=0.02)
    with torch.no_grad():
        before = loss_fn(model(**inputs), labels).item()
    for _ in range(30):
        loss = loss_fn(model(**inputs), labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    with torch.no_grad():
        after = loss_fn(model(**inputs), labels).item()
    assert after < 0.7 * before, (before, after)


def test_convolution_ignores_padding_even_for_sentences_shorter_than_a_filter() -> None:
    torch.manual_seed(0)
    model = build_word_model(Config("cnn", vocab_size=V, embed_dim=8, hidden_size=5)).eval()
    for short in (([4, 5, 6, 7], 1), ([9], 0)):  # the second is shorter than every filter
        alone, _ = collate_padded([short])
        batch, _ = collate_padded([short, ([7] * 12, 0)])
        torch.testing.assert_close(model(**batch)[:1], model(**alone))


def test_frozen_glove_embeddings_stay_fixed() -> None:
    init = np.ones((V, 4), dtype=np.float32)
    model = build_word_model(
        Config("glove-avg", vocab_size=V, embed_dim=4, freeze_embeddings=True), init
    )
    assert not model.embedding.weight.requires_grad
    assert torch.all(model.embedding.weight[0] == 0)  # <pad> row
