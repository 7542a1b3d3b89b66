"""A model with what turns sentences into its inputs, built fresh or from a checkpoint, and
scoring sentences with it (on one process, or sharded over the processes of a ``torchrun`` job).

Every collate function returns ``(inputs, labels)``: ``inputs`` a dict of tensors passed as
keyword arguments (``model(**inputs)``), ``labels`` (N,) float 0/1 (-1 for unlabelled prediction
input), or (N, K) when each example's target is a tuple (distillation's (label, weight, teacher
probability), see ``sentiment.distill``), so the one training loop (``dlclassics.training``)
serves every model.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset, DistributedSampler
from tqdm import tqdm

from dlclassics.checkpoint import config_from, load_checkpoint, load_weights
from dlclassics.distributed import SINGLE_PROCESS, DistContext, gather_objects, shard
from dlclassics.errors import DlcError
from dlclassics.runtime import autocast, resolve_device, torch_threads
from dlclassics.sentiment.config import SentimentConfig
from dlclassics.sentiment.models import build_word_model
from dlclassics.sentiment.text import SentenceFile, read_sentences
from dlclassics.sentiment.vocab import PAD_ID, Vocabulary
from dlclassics.training import EvalResult

KIND = "sentiment"  # the checkpoint kind
EVAL_BATCH = 256

Example = tuple[Any, Any]  # (token ids or raw text, label or -1 or a distillation target)
Batch = tuple[dict[str, torch.Tensor], torch.Tensor]
CollateFn = Callable[[Sequence[Example]], Batch]


class SentenceDataset(Dataset):
    """``examples[i]`` = (what the collate function needs for sentence i, its target: a 0/1
    label, -1 when unlabelled, or a tuple of floats); ``lengths[i]`` = its number of words (used
    to batch similar lengths together)."""

    def __init__(
        self, examples: Sequence[Any], lengths: Sequence[int], labels: Sequence[Any] | None = None
    ) -> None:
        self.examples, self.lengths = list(examples), list(lengths)
        self.labels = list(labels) if labels is not None else [-1] * len(self.examples)

    def __len__(self) -> int:
        return len(self.examples)

    def __getitem__(self, i: int) -> Example:
        return self.examples[i], self.labels[i]


def to_device(inputs: dict[str, torch.Tensor], device: str) -> dict[str, torch.Tensor]:
    """A batch's model inputs on ``device``; ``lengths`` stays on the CPU, where
    ``pack_padded_sequence`` wants it."""
    return {k: v if k == "lengths" else v.to(device) for k, v in inputs.items()}


def label_tensor(batch: Sequence[Example]) -> torch.Tensor:
    """The batch's labels as (N,) float (0., 1., or -1. for unlabelled), or its K-tuple targets
    as (N, K) float."""
    return torch.tensor([label for _, label in batch], dtype=torch.float32)


def collate_padded(batch: Sequence[Example]) -> Batch:
    """Token-id lists → ``token_ids`` (N, T) padded with ``PAD_ID``, ``lengths`` (N,), each ≥ 1
    (the reader rejects empty lines); T is the longest sentence in this batch."""
    sizes = [len(ids) for ids, _ in batch]
    longest = max(sizes)
    # one tensor from padded lists: a tensor per sentence would cost more than the model
    padded = [[*ids, *[PAD_ID] * (longest - len(ids))] for ids, _ in batch]
    token_ids = torch.tensor(padded, dtype=torch.long)  # (N, T)
    lengths = torch.tensor(sizes, dtype=torch.long)  # (N,)
    return {"token_ids": token_ids, "lengths": lengths}, label_tensor(batch)


def collate_bag(batch: Sequence[Example]) -> Batch:
    """Token-id lists → a binary bag of words in ``nn.EmbeddingBag`` form: ``bag_ids`` (total
    distinct ids in the batch,), each sentence's distinct ids once (binary, not counts), and
    ``offsets`` (N,), the start of each sentence."""
    distinct = [sorted(set(ids)) for ids, _ in batch]
    sizes = torch.tensor([len(ids) for ids in distinct], dtype=torch.long)  # (N,)
    offsets = torch.cumsum(sizes, 0) - sizes  # (N,) exclusive prefix sum
    bag_ids = torch.tensor([i for ids in distinct for i in ids], dtype=torch.long)
    return {"bag_ids": bag_ids, "offsets": offsets}, label_tensor(batch)


def make_loader(
    dataset: SentenceDataset, collate_fn: CollateFn, batch_size: int, shuffle: bool,
    seed: int = 0, ctx: DistContext = SINGLE_PROCESS,
) -> DataLoader:  # fmt: skip
    """This process's loader over ``dataset`` (its share when ``ctx`` has several ranks).
    Shuffling (training): ``DistributedSampler``, whose order depends only on ``(seed, epoch)``,
    so a resumed run sees the same batches and K ranks together take one process's batches.
    Without shuffling (evaluation) batches hold sentences of similar length, which saves padding;
    rank r takes every K-th sentence in length order."""
    if shuffle:
        sampler = DistributedSampler(dataset, ctx.world_size, ctx.rank, shuffle=True, seed=seed)
        return DataLoader(dataset, batch_size=batch_size, sampler=sampler, collate_fn=collate_fn)
    by_length = sorted(range(len(dataset)), key=lambda i: dataset.lengths[i])
    mine = shard(by_length, ctx)  # every K-th sentence: each rank gets all lengths
    batches = [mine[i : i + batch_size] for i in range(0, len(mine), batch_size)]
    return DataLoader(dataset, batch_sampler=batches, collate_fn=collate_fn)


@dataclass
class Classifier:
    """``model`` maps ``collate(examples)`` inputs to logits; ``vocab`` is ``None`` for ``minilm``."""

    model: nn.Module
    config: SentimentConfig
    vocab: Vocabulary | None
    collate: CollateFn

    def dataset(
        self, sentences: Sequence[Sequence[str]], labels: Sequence[Any] | None = None
    ) -> SentenceDataset:
        """Token lists → this model's examples: word ids, or the re-joined text for ``minilm``."""
        lengths = [len(tokens) for tokens in sentences]
        if self.vocab is None:
            return SentenceDataset([" ".join(tokens) for tokens in sentences], lengths, labels)
        return SentenceDataset([self.vocab.encode(t) for t in sentences], lengths, labels)

    def eval_loader(
        self, dataset: SentenceDataset, ctx: DistContext = SINGLE_PROCESS
    ) -> DataLoader:
        """Evaluation batches of this rank's share of ``dataset`` (see ``make_loader``)."""
        return make_loader(dataset, self.collate, EVAL_BATCH, False, ctx=ctx)


def build_classifier(
    config: SentimentConfig, vocab: Vocabulary | None, init: np.ndarray | None = None,
    pretrained: bool = True,
) -> Classifier:  # fmt: skip
    """The model ``config.model`` on the CPU: word models for ``vocab`` (its size is
    ``config.vocab_size``) with (V, D) word vectors ``init``; ``minilm`` with its own tokenizer
    and, when ``pretrained``, the packaged encoder weights (False when a checkpoint has them)."""
    if config.model == "minilm":
        from dlclassics.sentiment.minilm import MiniLMClassifier, MiniLMCollate

        model = MiniLMClassifier(config, pretrained)  # before the tokenizer: same random stream
        return Classifier(model, config, None, MiniLMCollate(config.max_length))
    if vocab is None or len(vocab) != config.vocab_size:
        raise ValueError("a word model needs the vocabulary its config was made for")
    collate = collate_bag if config.model == "bow" else collate_padded
    return Classifier(build_word_model(config, init), config, vocab, collate)


def load_classifier(path: str | os.PathLike[str]) -> Classifier:
    """Rebuild a trained classifier from a ``best.pt`` / ``last.pt`` checkpoint, in eval mode;
    a file that does not hold a model this version can rebuild is one DlcError line."""
    saved = load_checkpoint(path, KIND)
    config = config_from(SentimentConfig, saved["config"], path)
    try:
        vocab = Vocabulary(saved["labels"]) if config.model != "minilm" else None
        classifier = build_classifier(config, vocab, pretrained=False)
    except (ValueError, TypeError, RuntimeError) as exc:
        raise DlcError(f"{path}: damaged {KIND} checkpoint ({exc})") from exc
    load_weights(classifier.model, saved["model"], path)
    classifier.model.eval()
    return classifier


@torch.no_grad()
def predict_logits(
    model: nn.Module, loader: DataLoader, device: str = "cpu", ctx: DistContext = SINGLE_PROCESS,
    precision: str = "fp32",
) -> tuple[torch.Tensor, torch.Tensor]:  # fmt: skip
    """Logits and labels (-1 = unlabelled) for every sentence of the data set: (N,), (N,). Each
    rank runs its own shard (``make_loader``) and the pieces are gathered in data-set order.
    ``model`` is the unwrapped one: ranks may run different numbers of batches, so no DDP here."""
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
    loader, over the whole data set (every rank's shard, see ``predict_logits``)."""
    logits, labels = predict_logits(model, loader, ctx.device, ctx, precision)  # (N,), (N,)
    loss = nn.functional.binary_cross_entropy_with_logits(logits, labels)
    accuracy = ((logits >= 0).float() == labels).float().mean()
    return EvalResult(float(loss), float(accuracy), torch.sigmoid(logits), labels)


def sentence_logits(
    classifier: Classifier, sentences: Sequence[Sequence[str]], device: str = "cpu"
) -> torch.Tensor:
    """Logits (N,) of the token lists ``sentences`` (one process), in their order."""
    config, model = classifier.config, classifier.model.to(device)
    loader = classifier.eval_loader(classifier.dataset(sentences))
    with torch_threads(config.threads_for()):
        logits, _ = predict_logits(model, loader, device, precision=config.autocast_precision())
    return logits


def probabilities(
    classifier: Classifier, sentences: SentenceFile, device: str = "cpu"
) -> torch.Tensor:
    """P(positive) (N,) of every kept sentence of ``sentences`` (one process)."""
    return sentence_logits(classifier, sentences.sentences, device).sigmoid()


def full_range_activations() -> bool:
    """Whether this CPU multiplies int8 with 32-bit accumulation (VNNI), so dynamic int8 layers
    can quantise activations to all 8 bits. Without it, x86 kernels sum pairs of u8 x s8
    products in 16 bits, which can saturate; torch then keeps activations to 7 bits, which
    costs MiniLM 0.13 points of Yelp dev accuracy against 0.03 at 8 bits."""
    is_vnni = getattr(torch.cpu, "_is_vnni_supported", None)  # private; absent: assume no
    return torch.backends.quantized.engine in ("x86", "fbgemm") and bool(is_vnni and is_vnni())


def quantize_int8(classifier: Classifier) -> Classifier:
    """A copy of ``classifier`` whose ``nn.Linear`` layers are dynamically quantised to int8:
    weights stored as int8 with one scale per output channel, each batch's activations quantised
    on the fly (8 bits where ``full_range_activations``, else 7). For ``minilm``, whose time goes
    to its encoder's linear layers: 2.35x the float model's sentences/s on one CPU thread,
    and the same label for 99.7 % of Yelp dev. CPU only (the int8 kernels are CPU kernels).

    ``torch.ao.quantization.quantize_dynamic`` is deprecated in favour of the separate torchao
    package but still works in torch 2.14; its warning is silenced here.
    """
    from torch.ao.nn.quantized.dynamic import Linear as DynamicLinear
    from torch.ao.quantization import per_channel_dynamic_qconfig, quantize_dynamic

    class FullRangeLinear(DynamicLinear):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            packed = self._packed_params._packed_params
            return torch.ops.quantized.linear_dynamic(x, packed, reduce_range=False).to(x.dtype)

    spec = {nn.Linear: per_channel_dynamic_qconfig}
    mapping = {nn.Linear: FullRangeLinear if full_range_activations() else DynamicLinear}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = quantize_dynamic(
            classifier.model.to("cpu"), spec, dtype=torch.qint8, mapping=mapping
        )
    return replace(classifier, model=model.eval())


@dataclass(frozen=True)
class Predictions:
    """What one input gave (accuracies are fractions)."""

    lines: list[str]  # one per input line (empty for a skipped bad line)
    accuracy: float | None  # on the kept lines of a labelled input (None: unlabelled input)
    skipped: int  # bad input lines skipped
    # several checkpoints and a labelled input: each checkpoint's own accuracy, in order
    member_accuracies: tuple[float, ...] = ()


def predict_sentences(
    classifiers: Sequence[Classifier], sentences: SentenceFile, proba: bool = False,
    device: str = "cpu",
) -> Predictions:  # fmt: skip
    """Classify ``sentences`` with one model, or with the mean P(positive) of several (they may
    differ in kind and vocabulary); ``proba`` writes P(positive) to 4 decimals, not 0/1."""
    members = torch.stack([probabilities(c, sentences, device) for c in classifiers])  # (M, N)
    mean = members.mean(dim=0)  # (N,)
    predicted = (mean >= 0.5).long()  # (N,)
    values = [f"{p:.4f}" for p in mean.tolist()] if proba else [str(y) for y in predicted.tolist()]
    lines = [""] * sentences.total_lines
    for number, value in zip(sentences.line_numbers, values, strict=True):
        lines[number - 1] = value
    if sentences.labels is None:
        return Predictions(lines, None, sentences.skipped)
    labels = torch.tensor(sentences.labels)  # (N,)
    accuracy = float((predicted == labels).float().mean())
    each = tuple(float(((m >= 0.5) == labels).float().mean()) for m in members)
    return Predictions(lines, accuracy, sentences.skipped, each if len(each) > 1 else ())


def predict_file(
    checkpoints: Sequence[str | os.PathLike[str]], path: str | os.PathLike[str],
    labelled: bool | None = None, proba: bool = False, skip_bad_lines: bool = False,
    device: str | None = None,
) -> Predictions:  # fmt: skip
    """``predict_sentences`` for the ``best.pt`` files ``checkpoints`` on the file ``path``
    (``labelled=None``: decided by ``text.looks_labelled``)."""
    classifiers = [load_classifier(checkpoint) for checkpoint in checkpoints]
    sentences = read_sentences(path, labelled, skip_bad_lines)
    return predict_sentences(classifiers, sentences, proba, resolve_device(device))
