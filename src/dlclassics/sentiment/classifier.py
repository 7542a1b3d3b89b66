"""A sentiment model with what turns sentences into its inputs, built fresh or from a checkpoint;
scoring sentences with it (on one process, or sharded over the processes of a ``torchrun`` job);
and the predictor people use, ``Classifier.predict`` / ``predict_proba`` on raw text, alone or as
an ``Ensemble``.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader
from tqdm import tqdm

from dlclassics.checkpoint import config_from, load_checkpoint, load_weights
from dlclassics.distributed import SINGLE_PROCESS, DistContext, gather_objects
from dlclassics.errors import DlcError
from dlclassics.runtime import autocast, torch_threads
from dlclassics.sentiment.batches import (
    CollateFn,
    SentenceDataset,
    collate_bag,
    collate_padded,
    make_loader,
    to_device,
)
from dlclassics.sentiment.config import Config
from dlclassics.sentiment.minilm import MiniLMClassifier, MiniLMCollate
from dlclassics.sentiment.models import build_word_model
from dlclassics.sentiment.normalise import YELP, Normaliser
from dlclassics.sentiment.text import LABELS, SentenceFile
from dlclassics.sentiment.vocab import Vocabulary
from dlclassics.training import EvalResult

KIND = "sentiment"  # the checkpoint kind
EVAL_BATCH = 256


@dataclass
class Classifier:
    """A trained (or freshly built) sentiment model: ``model`` maps ``collate(examples)`` inputs
    to logits; ``vocab`` is ``None`` for ``minilm``; ``device`` is where it predicts.

    Example:
        >>> from dlclassics import sentiment
        >>> clf = sentiment.load()  # the packaged model
        >>> clf.classes
        ['0', '1']
        >>> clf.predict(["great food !", "never again ."])
        ['1', '0']
    """

    model: nn.Module
    config: Config
    vocab: Vocabulary | None
    collate: CollateFn
    device: str = "cpu"
    normaliser: Normaliser = YELP  # the config's, checked when loaded (``load_classifier``)

    @property
    def classes(self) -> list[str]:
        """The labels, as in the training files: ``["0", "1"]`` (negative, positive).

        Example:
            >>> sentiment.load().classes
            ['0', '1']
        """
        return list(LABELS)

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """(N, 2) class probabilities of ``texts`` (raw strings), in ``classes`` order; each row
        sums to 1, except a blank text's row, which is NaN (there is nothing to classify).

        Example:
            >>> sentiment.load().predict_proba(["Great food!"]).shape
            (1, 2)
        """
        return self.token_proba([self.normaliser(text) for text in texts])

    def token_proba(self, sentences: Sequence[Sequence[str]]) -> np.ndarray:
        """``predict_proba`` of sentences already tokenised by the model's normaliser (as the
        sentence-file reader gives them); an empty token list gets a NaN row.

        Example:
            >>> sentiment.load().token_proba([["great", "food", "!"], []]).shape
            (2, 2)
        """
        kept = [i for i, tokens in enumerate(sentences) if tokens]
        positive = np.full(len(sentences), np.nan)
        if kept:
            logits = sentence_logits(self, [sentences[i] for i in kept])
            positive[kept] = logits.sigmoid().double().numpy()
        return np.stack([1 - positive, positive], axis=1)

    def predict(self, texts: Sequence[str]) -> list[str | None]:
        """The label of each of ``texts`` (raw strings): ``"1"`` where P(positive) ≥ 0.5, else
        ``"0"``; None for a blank text.

        Example:
            >>> sentiment.load().predict(["Never again.", ""])
            ['0', None]
        """
        return labels_of(self.predict_proba(texts), self.classes)

    def dataset(
        self, sentences: Sequence[Sequence[str]], labels: Sequence[Any] | None = None
    ) -> SentenceDataset:
        """Token lists → this model's examples: word ids, or the re-joined text for ``minilm``.

        Example:
            >>> clf = sentiment.load()
            >>> clf.dataset([["great", "food"]], [1])[0]  # (word ids, label)
            ([18, 19], 1)
        """
        lengths = [len(tokens) for tokens in sentences]
        if self.vocab is None:
            return SentenceDataset([" ".join(tokens) for tokens in sentences], lengths, labels)
        return SentenceDataset([self.vocab.encode(t) for t in sentences], lengths, labels)

    def eval_loader(
        self, dataset: SentenceDataset, ctx: DistContext = SINGLE_PROCESS
    ) -> DataLoader:
        """Evaluation batches of this rank's share of ``dataset`` (see ``make_loader``).

        Example:
            >>> clf = sentiment.load()
            >>> batches = clf.eval_loader(clf.dataset([["great", "food"]]))
            >>> len(batches)
            1
        """
        return make_loader(dataset, self.collate, EVAL_BATCH, shuffle=False, ctx=ctx)


@dataclass
class Ensemble:
    """Several classifiers (of any kinds and vocabularies) whose mean P(positive) decides.

    Example:
        >>> ensemble = sentiment.load(["runs/bow/best.pt", "runs/cnn/best.pt"])
        >>> ensemble.predict(["Great food!"])
        ['1']
    """

    members: list[Classifier]

    def __post_init__(self) -> None:
        """Refuse members that read text differently: one tokenisation serves them all."""
        if len({member.normaliser for member in self.members}) > 1:
            raise DlcError("an ensemble's members must use the same text normaliser")

    @property
    def classes(self) -> list[str]:
        """The labels, as in the training files: ``["0", "1"]``.

        Example:
            >>> sentiment.load(["a/best.pt", "b/best.pt"]).classes
            ['0', '1']
        """
        return self.members[0].classes

    @property
    def normaliser(self) -> Normaliser:
        """The text normaliser every member reads with.

        Example:
            >>> sentiment.load(["a/best.pt", "b/best.pt"]).normaliser
            Normaliser(name='yelp', version=1)
        """
        return self.members[0].normaliser

    def member_proba(self, texts: Sequence[str]) -> np.ndarray:
        """(M, N, 2): each member's ``predict_proba`` of ``texts``.

        Example:
            >>> sentiment.load(["a/best.pt", "b/best.pt"]).member_proba(["Great food!"]).shape
            (2, 1, 2)
        """
        return np.stack([member.predict_proba(texts) for member in self.members])

    def member_token_proba(self, sentences: Sequence[Sequence[str]]) -> np.ndarray:
        """(M, N, 2): each member's ``token_proba`` of tokenised ``sentences``.

        Example:
            >>> ensemble = sentiment.load(["a/best.pt", "b/best.pt"])
            >>> ensemble.member_token_proba([["great", "food", "!"]]).shape
            (2, 1, 2)
        """
        return np.stack([member.token_proba(sentences) for member in self.members])

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """(N, 2): the members' mean class probabilities (NaN rows for blank texts).

        Example:
            >>> sentiment.load(["a/best.pt", "b/best.pt"]).predict_proba(["Great food!", ""]).shape
            (2, 2)
        """
        return self.member_proba(texts).mean(axis=0)

    def predict(self, texts: Sequence[str]) -> list[str | None]:
        """The label of the members' mean P(positive) for each text; None for a blank one.

        Example:
            >>> sentiment.load(["a/best.pt", "b/best.pt"]).predict(["Great food!", ""])
            ['1', None]
        """
        return labels_of(self.predict_proba(texts), self.classes)


def labels_of(probabilities: np.ndarray, classes: Sequence[str]) -> list[str | None]:
    """The label of each (negative, positive) row: the positive class where P(positive) ≥ 0.5,
    None for a NaN (blank) row.

    Example:
        >>> labels_of(np.array([[0.2, 0.8], [0.5, 0.5], [np.nan, np.nan]]), ["0", "1"])
        ['1', '1', None]
    """
    positive = probabilities[:, 1]
    return [
        None if np.isnan(p) else classes[1] if p >= 0.5 else classes[0] for p in positive.tolist()
    ]


def build_classifier(
    config: Config,
    vocab: Vocabulary | None,
    init: np.ndarray | None = None,
    *,
    pretrained: bool = True,
) -> Classifier:
    """The model ``config.model`` on the CPU: word models for ``vocab`` (its size is
    ``config.vocab_size``) with (V, D) word vectors ``init``; ``minilm`` with its own tokenizer
    and, when ``pretrained``, the packaged encoder weights (False when a checkpoint has them).

    Example:
        >>> build_classifier(Config(model="minilm"), None).vocab is None
        True
    """
    if config.model == "minilm":
        model = MiniLMClassifier(config, pretrained)  # before the tokenizer: same random stream
        return Classifier(model, config, None, MiniLMCollate(config.max_length))
    if vocab is None or len(vocab) != config.vocab_size:
        raise ValueError("a word model needs the vocabulary its config was made for")
    collate = collate_bag if config.model == "bow" else collate_padded
    return Classifier(build_word_model(config, init), config, vocab, collate)


def load_classifier(path: str | os.PathLike[str], device: str = "cpu") -> Classifier:
    """Rebuild a trained classifier from a ``best.pt`` / ``last.pt`` checkpoint, in eval mode, to
    predict on ``device``; a file that does not hold a model this version can rebuild is one
    DlcError line.

    Example:
        >>> load_classifier("runs/sentiment/bow/best.pt").config.model
        'bow'
    """
    saved = load_checkpoint(path, KIND)
    config = config_from(Config, saved["config"], path)
    try:
        vocab = Vocabulary(saved["labels"]) if config.model != "minilm" else None
        classifier = build_classifier(config, vocab, pretrained=False)
    except (ValueError, TypeError, RuntimeError) as exc:
        raise DlcError(f"{path}: damaged {KIND} checkpoint ({exc})") from exc
    load_weights(classifier.model, saved["model"], path)
    classifier.model.eval()
    classifier.device = device
    classifier.normaliser = Normaliser.from_dict(config.normaliser, str(path))
    return classifier


@torch.no_grad()
def predict_logits(
    model: nn.Module,
    loader: DataLoader,
    device: str = "cpu",
    *,
    ctx: DistContext = SINGLE_PROCESS,
    precision: str = "fp32",
) -> tuple[torch.Tensor, torch.Tensor]:
    """Logits and labels (-1 = unlabelled) for every sentence of the data set: (N,), (N,). Each
    rank runs its own shard (``make_loader``) and the pieces are gathered in data-set order.
    ``model`` is the unwrapped one: ranks may run different numbers of batches, so no DDP here.

    Example:
        >>> clf = sentiment.load()
        >>> logits, labels = predict_logits(clf.model, clf.eval_loader(clf.dataset([["great"]])))
        >>> logits.shape, labels.tolist()
        (torch.Size([1]), [-1.0])
    """
    model.eval()
    order = torch.tensor([i for batch in loader.batch_sampler for i in batch], dtype=torch.long)
    logits, labels = [torch.empty(0)], [torch.empty(0)]
    progress = tqdm(loader, desc="predict", disable=None if ctx.is_main else True, leave=False)
    for inputs, batch_labels in progress:
        with autocast(device, precision):
            logits.append(model(**to_device(inputs, device)).float().cpu())
        labels.append(batch_labels)
    pieces = gather_objects((order, torch.cat(logits), torch.cat(labels)), ctx)
    size = len(loader.dataset)
    in_order_logits, in_order_labels = torch.empty(size), torch.empty(size)  # (N,), (N,)
    for piece_order, piece_logits, piece_labels in pieces:
        in_order_logits[piece_order], in_order_labels[piece_order] = piece_logits, piece_labels
    return in_order_logits, in_order_labels


def evaluate(model: nn.Module, loader: DataLoader, ctx: DistContext, precision: str) -> EvalResult:
    """Mean BCE loss and accuracy (a fraction; P(positive) ≥ 0.5 → 1) of ``model`` on a labelled
    loader, over the whole data set (every rank's shard, see ``predict_logits``).

    Example:
        >>> clf = sentiment.load()
        >>> loader = clf.eval_loader(clf.dataset([["great"], ["awful"]], [1, 0]))
        >>> evaluate(clf.model, loader, SINGLE_PROCESS, "fp32").accuracy
        1.0
    """
    logits, labels = predict_logits(
        model, loader, ctx.device, ctx=ctx, precision=precision
    )  # (N,), (N,)
    loss = nn.functional.binary_cross_entropy_with_logits(logits, labels)
    accuracy = ((logits >= 0).float() == labels).float().mean()
    return EvalResult(float(loss), float(accuracy), torch.sigmoid(logits), labels)


def sentence_logits(classifier: Classifier, sentences: Sequence[Sequence[str]]) -> torch.Tensor:
    """Logits (N,) of the token lists ``sentences`` (each non-empty; one process, on the
    classifier's ``device``), in their order.

    Example:
        >>> sentence_logits(sentiment.load(), [["great", "food", "!"]]) > 0
        tensor([True])
    """
    config, device = classifier.config, classifier.device
    model = classifier.model.to(device)
    loader = classifier.eval_loader(classifier.dataset(sentences))
    with torch_threads(config.threads_for()):
        logits, _ = predict_logits(model, loader, device, precision=config.autocast_precision())
    return logits


def probabilities(classifier: Classifier, sentences: SentenceFile) -> torch.Tensor:
    """P(positive) (N,) of every kept sentence of ``sentences`` (one process).

    Example:
        >>> probabilities(sentiment.load(), read_sentences("dev.txt")).shape
        torch.Size([10000])
    """
    return sentence_logits(classifier, sentences.sentences).sigmoid()
