"""The NumPy captioning model: gradients, agreement with its PyTorch twin, decoding, training."""

from __future__ import annotations

import itertools
from dataclasses import replace

import numpy as np
import pytest
import torch

from dlclassics.captioning.config import Config
from dlclassics.captioning.dataset import CaptionSplit
from dlclassics.captioning.model import PARAM_NAMES, CaptioningRNN
from dlclassics.captioning.solver import CaptioningSolver, load_checkpoint
from dlclassics.captioning.torch_model import TorchCaptioningRNN
from dlclassics.captioning.vocab import decode_captions
from dlclassics.numpy_nn.gradient_check import eval_numerical_gradient, rel_error

pytestmark = pytest.mark.usefixtures("one_torch_thread")


WORDS = {"<NULL>": 0, "<START>": 1, "<END>": 2, "<UNK>": 3, "cat": 4, "dog": 5, "sits": 6}


def tiny_batch(
    rng: np.random.Generator, n: int = 3, length: int = 6
) -> tuple[np.ndarray, np.ndarray]:
    features = rng.standard_normal((n, 5))
    captions = rng.integers(2, len(WORDS), size=(n, length))
    captions[:, 0] = WORDS["<START>"]
    captions[0, 3:] = WORDS["<NULL>"]  # a padded caption: <NULL> targets must not count
    return features, captions


@pytest.mark.parametrize("cell", ["rnn", "lstm"])
def test_whole_model_gradients_match_numerical(cell: str) -> None:
    model = CaptioningRNN(
        WORDS, input_dim=5, wordvec_dim=4, hidden_dim=6, cell_type=cell, dtype=np.float64, seed=3
    )
    features, captions = tiny_batch(np.random.default_rng(0))
    _, grads = model.loss(features, captions)
    for name in PARAM_NAMES:
        numerical = eval_numerical_gradient(
            lambda _: model.loss(features, captions)[0], model.params[name]
        )
        # entrywise relative error is noisy for entries near 0, so compare with a small atol too
        assert np.allclose(grads[name], numerical, rtol=1e-5, atol=1e-9), (
            name,
            rel_error(grads[name], numerical),
        )


def test_null_padding_adds_no_loss() -> None:
    model = CaptioningRNN(WORDS, 5, 4, 6, "lstm", np.float64)
    features, captions = tiny_batch(np.random.default_rng(1))
    longer = np.concatenate([captions, np.zeros((3, 4), dtype=captions.dtype)], axis=1)
    assert model.loss(features, captions)[0] == pytest.approx(
        model.loss(features, longer)[0], rel=1e-12
    )


@pytest.mark.parametrize("cell", ["rnn", "lstm"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_torch_twin_matches_numpy_loss_and_gradients(cell: str, dtype: type) -> None:
    model = CaptioningRNN(WORDS, 5, 4, 6, cell, dtype, seed=1)
    features, captions = tiny_batch(np.random.default_rng(2), n=4)
    loss, grads = model.loss(features.astype(dtype), captions)
    twin = TorchCaptioningRNN(model.params, cell, WORDS["<NULL>"])
    torch_loss = twin(torch.from_numpy(features.astype(dtype)), torch.from_numpy(captions))
    torch_loss.backward()
    assert abs(torch_loss.item() - loss) < 1e-5
    tolerance = 1e-10 if dtype == np.float64 else 1e-5
    for name in PARAM_NAMES:
        assert np.allclose(getattr(twin, name).grad.numpy(), grads[name], atol=tolerance), name


def _with_start(captions: np.ndarray) -> np.ndarray:
    return np.concatenate([np.full((captions.shape[0], 1), WORDS["<START>"]), captions], axis=1)


def _sharp_model(cell: str) -> CaptioningRNN:
    """A random model with large weights, so greedy and beam search disagree now and then."""
    model = CaptioningRNN(WORDS, 5, 4, 6, cell, np.float64, seed=7)
    for value in model.params.values():
        value *= 4
    return model


@pytest.mark.parametrize("cell", ["rnn", "lstm"])
def test_exhaustive_beam_search_finds_the_most_likely_caption(cell: str) -> None:
    model = _sharp_model(cell)
    features = np.random.default_rng(5).standard_normal((4, 5))
    length = 3
    allowed = [WORDS[w] for w in ("<END>", "<UNK>", "cat", "dog", "sits")]
    every = []  # every caption of at most 3 words, <END> only last, <NULL> after it
    for n in range(1, length + 1):
        for words in itertools.product(allowed, repeat=n):
            if WORDS["<END>"] not in words[:-1] and (n == length or words[-1] == WORDS["<END>"]):
                every.append(list(words) + [WORDS["<NULL>"]] * (length - n))
    every = np.array(every)
    for i in range(features.shape[0]):
        log_probs = model.sequence_log_prob(
            np.repeat(features[i : i + 1], len(every), 0), _with_start(every)
        )
        beam = model.sample(features[i : i + 1], length, beam_size=len(every))
        assert np.array_equal(beam[0], every[log_probs.argmax()])


@pytest.mark.parametrize("cell", ["rnn", "lstm"])
def test_beam_search_scores_at_least_greedy(cell: str) -> None:
    model = _sharp_model(cell)
    features = np.random.default_rng(6).standard_normal((40, 5))
    greedy = model.sample(features, max_length=8)
    assert np.array_equal(model.sample(features, max_length=8, beam_size=1), greedy)
    beam = model.sample(features, max_length=8, beam_size=3)
    greedy_lp = model.sequence_log_prob(features, _with_start(greedy))
    beam_lp = model.sequence_log_prob(features, _with_start(beam))
    assert np.all(beam_lp >= greedy_lp - 1e-9)
    assert np.any(beam_lp > greedy_lp + 1e-6), "beam search never improved on greedy here"


def tiny_split() -> CaptionSplit:
    """Five images with one caption each, features that tell them apart."""
    texts = ["cat sits", "dog sits", "cat", "dog dog sits", "sits cat dog"]
    captions = np.zeros((5, 6), dtype=np.int32)
    for row, text in enumerate(texts):
        ids = [1, *(WORDS[w] for w in text.split()), 2]
        captions[row, : len(ids)] = ids
    features = np.random.default_rng(0).standard_normal((5, 5)).astype(np.float32)
    return CaptionSplit(
        captions, np.arange(5), features, [f"img{i}" for i in range(5)], [[t] for t in texts]
    )


@pytest.mark.parametrize("cell", ["rnn", "lstm"])
def test_overfits_a_handful_of_captions(cell: str) -> None:
    split = tiny_split()
    model = CaptioningRNN(WORDS, 5, 16, 32, cell, np.float32, seed=0)
    config = Config(epochs=150, batch_size=5, lr=2e-2, lr_decay=0.995)
    state = CaptioningSolver(model, split, config).train()
    assert state.loss_history[-1] < 0.1
    generated = decode_captions(model.sample(split.features, max_length=8), model.idx_to_word)
    assert generated == [refs[0] for refs in split.references]


@pytest.mark.parametrize("second_engine", ["numpy", "torch"])
def test_resume_continues_exactly_where_training_stopped(tmp_path, second_engine: str) -> None:
    split = tiny_split()
    config = Config(epochs=6, batch_size=2, lr=1e-2, lr_decay=0.9, engine="numpy")
    straight = CaptioningRNN(WORDS, 5, 8, 12, "lstm", np.float32, seed=0)
    CaptioningSolver(straight, split, config).train()

    first = CaptioningRNN(WORDS, 5, 8, 12, "lstm", np.float32, seed=0)
    half = replace(config, epochs=3)
    CaptioningSolver(first, split, half, checkpoint_path=tmp_path / "ckpt.npz").train()
    resumed = CaptioningRNN(
        WORDS, 5, 8, 12, "lstm", np.float32, seed=99
    )  # weights come from the file
    solver = CaptioningSolver(resumed, split, replace(config, engine=second_engine))
    solver.resume_from(load_checkpoint(tmp_path / "ckpt.npz"))
    state = solver.train()
    assert state.epochs_done == 6 and len(state.loss_history) == 6 * 3
    for name in PARAM_NAMES:
        assert np.allclose(resumed.params[name], straight.params[name], atol=1e-5), name
