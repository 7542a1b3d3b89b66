"""Several processes, one or many machines: ``torch.distributed`` as launched by ``torchrun``.

``torchrun --nproc_per_node=K -m dlclassics.cli transfer ...`` starts K copies of the command with
``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``, ``MASTER_ADDR`` and ``MASTER_PORT`` set. ``init()`` reads
them (a plain run is world size 1, so the training code has one path) and picks the backend
(NCCL on GPUs, Gloo on CPUs). Each rank takes ``batch / world_size`` of the global batch, sums
are reduced and evaluations cover the whole set, so every rank reports the same metrics; only
rank 0 writes files.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel

from dlclassics.errors import DlcError

TIMEOUT_ENV_VAR = "DLC_DIST_TIMEOUT"
DEFAULT_TIMEOUT_SECONDS = 300


def collective_timeout() -> dt.timedelta:
    """How long a collective waits for the other ranks: ``$DLC_DIST_TIMEOUT`` seconds (300).

    Example:
        >>> collective_timeout()  # DLC_DIST_TIMEOUT unset
        datetime.timedelta(seconds=300)
    """
    text = os.environ.get(TIMEOUT_ENV_VAR, str(DEFAULT_TIMEOUT_SECONDS))
    try:
        seconds = float(text)
    except ValueError:
        seconds = -1.0
    if not 0 < seconds < 1e7:
        raise DlcError(f"{TIMEOUT_ENV_VAR}={text!r}: expected a positive number of seconds")
    return dt.timedelta(seconds=seconds)


@dataclass(frozen=True)
class DistContext:
    """This process's place among the ``torchrun`` processes and its device.

    Example:
        >>> DistContext(rank=1, world_size=2).is_main
        False
    """

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    device: str = "cpu"

    @property
    def enabled(self) -> bool:
        """Several processes work together (DDP, reductions, gathers).

        Example:
            >>> SINGLE_PROCESS.enabled
            False
        """
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        """Rank 0: the process that prints and writes files.

        Example:
            >>> SINGLE_PROCESS.is_main
            True
        """
        return self.rank == 0


SINGLE_PROCESS = DistContext()


def launched_rank() -> int:
    """This process's rank as torchrun set it (0 for a plain run), before or after ``init``.

    Example:
        >>> launched_rank()  # a plain run
        0
    """
    return int(os.environ.get("RANK", "0"))


def init(device: str | None = None) -> DistContext:
    """Join the process group that torchrun set up, or return the single-process context.

    Example:
        >>> init("cpu")  # not under torchrun
        DistContext(rank=0, world_size=1, local_rank=0, device='cpu')
    """
    if "RANK" not in os.environ or "WORLD_SIZE" not in os.environ:  # not launched by torchrun
        return DistContext(device=device or "cpu")
    timeout = collective_timeout()
    rank, world_size = int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"])
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    use_cuda = torch.cuda.is_available() and device != "cpu"
    if use_cuda:
        torch.cuda.set_device(local_rank)
    if not dist.is_initialized():
        dist.init_process_group(backend="nccl" if use_cuda else "gloo", timeout=timeout)
    device = f"cuda:{local_rank}" if use_cuda else "cpu"
    return DistContext(rank, world_size, local_rank=local_rank, device=device)


def wrap_model(
    model: torch.nn.Module, ctx: DistContext, find_unused_parameters: bool = False
) -> torch.nn.Module:
    """``model`` in ``DistributedDataParallel`` when there are several processes: DDP averages
    every ``backward()``'s gradients over the ranks, so each rank's mean loss over its share gives
    the global batch's gradient. ``find_unused_parameters``: for parameters that miss the loss.

    Example:
        >>> wrap_model(model, SINGLE_PROCESS) is model  # one process: unchanged
        True
    """
    if not ctx.enabled:
        return model
    device_ids = [ctx.local_rank] if ctx.device.startswith("cuda") else None
    return DistributedDataParallel(
        model, device_ids=device_ids, find_unused_parameters=find_unused_parameters
    )


def decorrelate_rng(ctx: DistContext) -> None:
    """Give each rank > 0 its own random stream (dropout masks); rank 0 keeps its own, so a
    single-process run is unchanged.

    Example:
        >>> decorrelate_rng(DistContext(rank=1, world_size=2))  # rank 1: seed + 1
    """
    if ctx.rank > 0:
        torch.manual_seed(torch.initial_seed() + ctx.rank)


def shutdown() -> None:
    """Leave the process group, if this process joined one (a no-op otherwise).

    Example:
        >>> shutdown()
    """
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def per_rank_batch_size(global_batch: int, ctx: DistContext) -> int:
    """Split the global batch evenly; refuse a split that would change the optimisation.

    Example:
        >>> per_rank_batch_size(16, DistContext(rank=0, world_size=4))
        4
    """
    if global_batch % ctx.world_size:
        raise DlcError(
            f"--batch-size {global_batch} does not split evenly over {ctx.world_size} processes"
        )
    return global_batch // ctx.world_size


def all_reduce_sum(values: Sequence[float], ctx: DistContext) -> list[float]:
    """Sum a few numbers (loss sums, correct counts) over all ranks.

    Example:
        >>> all_reduce_sum([1.5, 3], SINGLE_PROCESS)
        [1.5, 3.0]
    """
    if not ctx.enabled:
        return [float(v) for v in values]
    tensor = torch.tensor(list(values), dtype=torch.float64, device=ctx.device)
    dist.all_reduce(tensor, op=dist.ReduceOp.SUM)
    return tensor.tolist()


def shard(items: Sequence, ctx: DistContext) -> list:
    """This rank's share of ``items``: every world_size-th item starting at rank.

    Example:
        >>> shard(list(range(5)), DistContext(rank=1, world_size=2))
        [1, 3]
    """
    return list(items[ctx.rank :: ctx.world_size])


def unshard_rows(pieces: Sequence[torch.Tensor]) -> torch.Tensor:
    """Undo ``shard``: ``pieces[r]`` (N_r, ...), one per rank in rank order, holds rows r, r + K,
    r + 2K, … of the result (sum of N_r, ...).

    Example:
        >>> unshard_rows([torch.tensor([0, 2, 4]), torch.tensor([1, 3])])
        tensor([0, 1, 2, 3, 4])
    """
    rows = sum(len(piece) for piece in pieces)
    whole = pieces[0].new_empty((rows, *pieces[0].shape[1:]))
    for rank, piece in enumerate(pieces):
        whole[rank :: len(pieces)] = piece
    return whole


def gather_objects(obj: object, ctx: DistContext) -> list:
    """Every rank's ``obj``, in rank order, on every rank.

    Example:
        >>> gather_objects({"loss": 0.5}, SINGLE_PROCESS)
        [{'loss': 0.5}]
    """
    if not ctx.enabled:
        return [obj]
    gathered: list = [None] * ctx.world_size
    dist.all_gather_object(gathered, obj)
    return gathered


def barrier(ctx: DistContext) -> None:
    """Wait until every rank gets here (a no-op in a single process).

    Example:
        >>> barrier(SINGLE_PROCESS)
    """
    if ctx.enabled:
        dist.barrier()


def broadcast_object(obj: object, ctx: DistContext) -> object:
    """Rank 0's ``obj`` on every rank (e.g. the resume epoch read from a checkpoint).

    Example:
        >>> broadcast_object(3, SINGLE_PROCESS)
        3
    """
    if not ctx.enabled:
        return obj
    box = [obj]
    dist.broadcast_object_list(box, src=0)
    return box[0]
