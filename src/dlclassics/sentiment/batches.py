"""Sentences into batches, for every sentiment model: the data set, the collate functions of the
word models, and the loader that shards and orders them.

Every collate function returns ``(inputs, labels)``: ``inputs`` a dict of tensors passed as
keyword arguments (``model(**inputs)``), ``labels`` (N,) float 0/1 (-1 for unlabelled prediction
input), or (N, K) when each example's target is a tuple (distillation's (label, weight, teacher
probability), see ``sentiment.distill``), so the one training loop (``dlclassics.training``)
serves every model. ``minilm``'s collate (``sentiment.minilm``) follows the same contract.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch.utils.data import DataLoader, Dataset, DistributedSampler

from dlclassics.distributed import SINGLE_PROCESS, DistContext, shard
from dlclassics.sentiment.vocab import PAD_ID

Example = tuple[Any, Any]  # (token ids or raw text, label or -1 or a distillation target)
Batch = tuple[dict[str, torch.Tensor], torch.Tensor]
CollateFn = Callable[[Sequence[Example]], Batch]


class SentenceDataset(Dataset):
    """``examples[i]`` = (what the collate function needs for sentence i, its target: a 0/1
    label, -1 when unlabelled, or a tuple of floats); ``lengths[i]`` = its number of words (used
    to batch similar lengths together).

    Example:
        >>> data = SentenceDataset([[4, 5], [6]], lengths=[2, 1], labels=[1, 0])
        >>> len(data), data[0]
        (2, ([4, 5], 1))
    """

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
    ``pack_padded_sequence`` wants it.

    Example:
        >>> inputs, _ = collate_padded([([4, 5], 1)])
        >>> to_device(inputs, "cpu")["lengths"]
        tensor([2])
    """
    return {k: v if k == "lengths" else v.to(device) for k, v in inputs.items()}


def label_tensor(batch: Sequence[Example]) -> torch.Tensor:
    """The batch's labels as (N,) float (0., 1., or -1. for unlabelled), or its K-tuple targets
    as (N, K) float.

    Example:
        >>> label_tensor([([4], 1), ([5], -1)])
        tensor([ 1., -1.])
    """
    return torch.tensor([label for _, label in batch], dtype=torch.float32)


def collate_padded(batch: Sequence[Example]) -> Batch:
    """Token-id lists → ``token_ids`` (N, T) padded with ``PAD_ID``, ``lengths`` (N,), each ≥ 1
    (blank sentences never reach a model); T is the longest sentence in this batch.

    Example:
        >>> inputs, labels = collate_padded([([4, 5, 6], 1), ([7], 0)])
        >>> inputs["token_ids"].tolist(), inputs["lengths"].tolist()
        ([[4, 5, 6], [7, 0, 0]], [3, 1])
    """
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
    ``offsets`` (N,), the start of each sentence.

    Example:
        >>> inputs, _ = collate_bag([([4, 5, 4], 1), ([7], 0)])
        >>> inputs["bag_ids"].tolist(), inputs["offsets"].tolist()
        ([4, 5, 7], [0, 2])
    """
    distinct = [sorted(set(ids)) for ids, _ in batch]
    sizes = torch.tensor([len(ids) for ids in distinct], dtype=torch.long)  # (N,)
    offsets = torch.cumsum(sizes, 0) - sizes  # (N,) exclusive prefix sum
    bag_ids = torch.tensor([i for ids in distinct for i in ids], dtype=torch.long)
    return {"bag_ids": bag_ids, "offsets": offsets}, label_tensor(batch)


def make_loader(
    dataset: SentenceDataset,
    collate_fn: CollateFn,
    batch_size: int,
    *,
    shuffle: bool,
    seed: int = 0,
    ctx: DistContext = SINGLE_PROCESS,
) -> DataLoader:
    """This process's loader over ``dataset`` (its share when ``ctx`` has several ranks).
    Shuffling (training): ``DistributedSampler``, whose order depends only on ``(seed, epoch)``,
    so a resumed run sees the same batches and K ranks together take one process's batches.
    Without shuffling (evaluation) batches hold sentences of similar length, which saves padding;
    rank r takes every K-th sentence in length order.

    Example:
        >>> data = SentenceDataset([[4, 5], [6], [7, 8, 9]], lengths=[2, 1, 3])
        >>> [len(b[1]) for b in make_loader(data, collate_padded, 2, shuffle=False)]
        [2, 1]
    """
    if shuffle:
        sampler = DistributedSampler(dataset, ctx.world_size, ctx.rank, shuffle=True, seed=seed)
        return DataLoader(dataset, batch_size=batch_size, sampler=sampler, collate_fn=collate_fn)
    by_length = sorted(range(len(dataset)), key=lambda i: dataset.lengths[i])
    mine = shard(by_length, ctx)  # every K-th sentence: each rank gets all lengths
    batches = [mine[i : i + batch_size] for i in range(0, len(mine), batch_size)]
    return DataLoader(dataset, batch_sampler=batches, collate_fn=collate_fn)
