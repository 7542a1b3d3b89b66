"""Turning sentences into model inputs: data sets, collate functions and data loaders.

Every collate function returns ``(inputs, labels)``: ``inputs`` is a dict of tensors passed to
the model as keyword arguments (``model(**inputs)``), ``labels`` is (N,) float with 0/1 values
(-1 for unlabelled sentences). So the one training loop (``dlclassics.training``) serves every
model.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch.utils.data import DataLoader, Dataset, DistributedSampler

from dlclassics.distributed import SINGLE_PROCESS, DistContext, shard
from dlclassics.sentiment.vocab import PAD_ID

Example = tuple[Any, int]  # (token ids or raw text, label or -1)
Batch = tuple[dict[str, torch.Tensor], torch.Tensor]
CollateFn = Callable[[Sequence[Example]], Batch]


class SentenceDataset(Dataset):
    """``examples[i]`` = (what the collate function needs for sentence i, its label or -1);
    ``lengths[i]`` = its number of words (used to batch similar lengths together)."""

    def __init__(
        self, examples: Sequence[Any], lengths: Sequence[int], labels: Sequence[int] | None = None
    ) -> None:
        if len(lengths) != len(examples) or (labels is not None and len(labels) != len(examples)):
            raise ValueError("one length and one label per example")
        self.examples = list(examples)
        self.lengths = list(lengths)
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
    """The batch's labels as (N,) float (0., 1., or -1. for unlabelled)."""
    return torch.tensor([label for _, label in batch], dtype=torch.float32)  # (N,)


def collate_padded(batch: Sequence[Example]) -> Batch:
    """Token-id lists → ``token_ids`` (N, T) padded with ``PAD_ID``, ``lengths`` (N,).

    T is the longest sentence in this batch. Empty sentences cannot occur (the reader rejects
    empty lines), so every length is ≥ 1.
    """
    lengths = torch.tensor([len(ids) for ids, _ in batch], dtype=torch.long)  # (N,)
    token_ids = torch.full((len(batch), int(lengths.max())), PAD_ID, dtype=torch.long)  # (N, T)
    for row, (ids, _) in enumerate(batch):
        token_ids[row, : len(ids)] = torch.tensor(ids, dtype=torch.long)
    return {"token_ids": token_ids, "lengths": lengths}, label_tensor(batch)


def collate_bag(batch: Sequence[Example]) -> Batch:
    """Token-id lists → a binary bag of words in ``nn.EmbeddingBag`` form.

    Each sentence contributes its *distinct* ids once (binary, not counts), so summing their
    weights equals the dot product of the binary bag-of-words vector with the weight vector,
    without ever building the (N, V) matrix.

    Returns:
        ``bag_ids`` (total distinct ids in the batch,), ``offsets`` (N,) start of each sentence.
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
    shuffle: bool,
    seed: int = 0,
    ctx: DistContext = SINGLE_PROCESS,
) -> DataLoader:
    """This process's loader over ``dataset`` (all of it unless ``ctx`` has several ranks).

    Shuffling (training) uses ``DistributedSampler``, reshuffled by ``sampler.set_epoch``: its
    order depends only on ``(seed, epoch)``, so a resumed run sees the same batches as an
    uninterrupted one. With K ranks rank r takes every K-th sentence of that order from r, so
    step s of the K ranks together covers exactly the sentences of step s of one process with
    a K times larger ``batch_size``. Without shuffling (evaluation) batches hold sentences of
    similar length, which saves the padding; rank r takes every K-th sentence in length order;
    ``predict_logits`` gathers the results back into file order.
    """
    if shuffle:
        sampler = DistributedSampler(
            dataset, num_replicas=ctx.world_size, rank=ctx.rank, shuffle=True, seed=seed
        )
        return DataLoader(dataset, batch_size=batch_size, sampler=sampler, collate_fn=collate_fn)
    by_length = sorted(range(len(dataset)), key=lambda i: dataset.lengths[i])
    mine = shard(by_length, ctx)  # every K-th sentence: each rank gets all lengths
    batches = [mine[i : i + batch_size] for i in range(0, len(mine), batch_size)]
    return DataLoader(dataset, batch_sampler=batches, collate_fn=collate_fn)
