"""The single-process side of ``dlclassics.distributed``: sharding and the batch split."""

from __future__ import annotations

import pytest
import torch

from dlclassics.distributed import (
    SINGLE_PROCESS,
    DistContext,
    all_reduce_sum,
    gather_objects,
    per_rank_batch_size,
    shard,
    unshard_rows,
)
from dlclassics.errors import DlcError


@pytest.mark.parametrize("world_size", [1, 2, 3, 5])
def test_shards_cover_every_item_once_and_unshard_restores_the_order(world_size: int):
    items = torch.arange(14 * 3).view(14, 3)  # 14 rows: uneven for 3 and 5 ranks
    pieces = [torch.stack(shard(items, DistContext(r, world_size))) for r in range(world_size)]
    assert sum(len(p) for p in pieces) == len(items)
    assert torch.equal(unshard_rows(pieces), items)


def test_the_global_batch_is_split_evenly_or_refused():
    assert per_rank_batch_size(64, DistContext(1, 4)) == 16
    assert per_rank_batch_size(33, SINGLE_PROCESS) == 33
    with pytest.raises(DlcError, match="--batch-size 33 does not split evenly over 2 processes"):
        per_rank_batch_size(33, DistContext(0, 2))


def test_one_process_needs_no_process_group():
    assert all_reduce_sum([1, 2.5], SINGLE_PROCESS) == [1.0, 2.5]
    assert gather_objects({"a": 1}, SINGLE_PROCESS) == [{"a": 1}]
