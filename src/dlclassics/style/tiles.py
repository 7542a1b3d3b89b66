"""Pictures larger than memory: optimise overlapping tiles against global style targets, blend.

The image is cut into tiles of at most ``tile`` x ``tile`` pixels that overlap their neighbours
by ``overlap`` pixels. Each tile is optimised on its own (its own content target, the Gram
matrices of the *whole* style picture as style target, its crop of the starting image as start),
so memory is bounded by the tile size, and the tiles can be dealt out to ``torchrun`` processes.
The optimised tiles are blended with windows that ramp linearly across every overlap and are
normalised to sum to 1 at each pixel: a pixel covered by one tile takes it as is, a pixel in an
overlap a weighted mean whose weights shift smoothly from one tile to the next, so no seam shows.

``plan_tile`` decides before the work whether a picture needs tiles: the memory one optimisation
step needs is estimated from the bytes autograd saves per pixel (measured on a small probe image)
and compared with the memory free on the device.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from dataclasses import dataclass

import torch

from dlclassics import distributed
from dlclassics.errors import DlcError
from dlclassics.style.features import StyleFeatureExtractor
from dlclassics.style.losses import tv_loss
from dlclassics.style.optimize import LOSS_TERMS, LossHistory

AUTO_TILE = 512  # tile side chosen when a picture would not fit and --tile is not given
# peak memory of one step ≈ MEMORY_FACTOR x the tensors autograd saves (the gradients of the
# largest feature maps live beside them); MEMORY_BUDGET: share of the free memory one run may use
MEMORY_FACTOR = 2.0
MEMORY_BUDGET = 0.8
PROBE_SIDE = 96


@dataclass(frozen=True)
class Box:
    """A tile: rows top … top + height − 1, columns left … left + width − 1."""

    top: int
    left: int
    height: int
    width: int

    def crop(self, pixels: torch.Tensor) -> torch.Tensor:
        """This tile of (N, C, H, W) pixels."""
        return pixels[..., self.top : self.top + self.height, self.left : self.left + self.width]


def default_overlap(tile: int) -> int:
    """The overlap used when ``--tile-overlap`` is not given: a quarter of the tile."""
    return tile // 4


def tile_starts(length: int, tile: int, overlap: int) -> list[int]:
    """Start offsets of tiles of ``tile`` pixels covering 0 … length − 1, neighbours overlapping
    by at least ``overlap`` pixels, spread evenly (one tile when ``length <= tile``)."""
    if not 0 <= overlap < tile:
        raise DlcError(f"tile overlap {overlap} must be at least 0 and below the tile size {tile}")
    if length <= tile:
        return [0]
    count = math.ceil((length - overlap) / (tile - overlap))
    return [round(i * (length - tile) / (count - 1)) for i in range(count)]


def tile_boxes(height: int, width: int, *, tile: int, overlap: int) -> list[Box]:
    """The tiles of a ``height`` x ``width`` picture, row by row."""
    return [
        Box(top=top, left=left, height=min(tile, height), width=min(tile, width))
        for top in tile_starts(height, tile, overlap)
        for left in tile_starts(width, tile, overlap)
    ]


def _ramp(size: int, ramp_before: int, ramp_after: int) -> torch.Tensor:
    """1-D window of ``size`` values: rising over ``ramp_before`` pixels, falling over
    ``ramp_after``, 1 in between; never 0, so every covered pixel has a positive weight."""
    index = torch.arange(size, dtype=torch.float64)
    window = torch.ones(size, dtype=torch.float64)
    if ramp_before > 0:
        window = torch.minimum(window, (index + 1) / (ramp_before + 1))
    if ramp_after > 0:
        window = torch.minimum(window, (size - index) / (ramp_after + 1))
    return window


def _window(box: Box, boxes: list[Box]) -> torch.Tensor:
    """(h, w) window of ``box``: ramps across its overlap with the tiles before and after it on
    each axis (none at the picture's border), 1 elsewhere."""
    bottom, right = box.top + box.height, box.left + box.width
    up = max((b.top + b.height - box.top for b in boxes if b.top < box.top), default=0)
    down = max((bottom - b.top for b in boxes if b.top > box.top), default=0)
    before = max((b.left + b.width - box.left for b in boxes if b.left < box.left), default=0)
    after = max((right - b.left for b in boxes if b.left > box.left), default=0)
    rows = _ramp(box.height, min(max(up, 0), box.height), min(max(down, 0), box.height))
    columns = _ramp(box.width, min(max(before, 0), box.width), min(max(after, 0), box.width))
    return rows[:, None] * columns[None, :]


def blend_weights(boxes: list[Box], height: int, width: int) -> list[torch.Tensor]:
    """One (h, w) float64 weight map per tile; at every pixel the weights of the tiles covering it
    sum to 1 (each tile's ``_window``, divided by the sum of the windows there)."""
    windows = [_window(box, boxes) for box in boxes]
    total = torch.zeros(height, width, dtype=torch.float64)
    for window, box in zip(windows, boxes, strict=True):
        box.crop(total).add_(window)
    if (total <= 0).any():
        raise ValueError("the tiles do not cover the picture")
    return [w / box.crop(total) for w, box in zip(windows, boxes, strict=True)]


def blend(tiles: list[torch.Tensor], boxes: list[Box], shape: tuple[int, int]) -> torch.Tensor:
    """The (1, C, height, width) picture made of the (1, C, h, w) ``tiles`` at ``boxes``;
    ``shape`` is (height, width)."""
    height, width = shape
    weights = blend_weights(boxes, height, width)
    out = torch.zeros(1, tiles[0].shape[1], height, width, dtype=torch.float64)
    for tile, weight, box in zip(tiles, weights, boxes, strict=True):
        box.crop(out).add_(tile.detach().cpu().double() * weight)
    return out.to(tiles[0].dtype)


def saved_bytes_per_pixel(extractor: StyleFeatureExtractor, device: str) -> float:
    """Bytes autograd keeps per image pixel for one loss evaluation, measured on a small probe
    (every tensor saved for the backward pass, counted once)."""
    seen: dict[tuple[int, int], int] = {}

    def pack(tensor: torch.Tensor) -> torch.Tensor:
        key = (tensor.untyped_storage().data_ptr(), tensor.untyped_storage().nbytes())
        seen[key] = tensor.untyped_storage().nbytes()
        return tensor

    probe = torch.rand(1, 3, PROBE_SIDE, PROBE_SIDE, device=device, requires_grad=True)
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda tensor: tensor):
        features, grams = extractor(probe)
        loss = features.pow(2).sum() + sum(g.pow(2).sum() for g in grams) + tv_loss(probe, 1.0)
    del loss, features, grams
    return sum(seen.values()) / PROBE_SIDE**2


def free_bytes(device: str) -> int:
    """Memory free for a new run: the GPU's free memory, or the system's available memory."""
    if device.startswith("cuda"):
        return int(torch.cuda.mem_get_info(torch.device(device))[0])
    try:
        with open("/proc/meminfo") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")


def plan_tile(
    extractor: StyleFeatureExtractor,
    height: int,
    width: int,
    *,
    device: str,
    tile: int | None,
    no_tile: bool,
    announce: Callable[[str], None] = print,
) -> tuple[int | None, dict[str, float]]:
    """The tile side for a ``height`` x ``width`` picture (None: untiled), and the memory figures.

    ``tile`` given: that tile. Otherwise the picture is tiled at ``AUTO_TILE`` when its estimated
    need exceeds ``MEMORY_BUDGET`` of the free memory (``announce`` says so), or refused with
    one line if ``no_tile``.
    """
    if tile is not None:
        return tile, {}
    # the memory one optimisation step of the picture is estimated to need, and what is free
    need = int(MEMORY_FACTOR * saved_bytes_per_pixel(extractor, device) * height * width)
    free = free_bytes(device)
    memory = {"estimated_gib": need / 2**30, "free_gib": free / 2**30}
    if need <= MEMORY_BUDGET * free:
        return None, memory
    text = (
        f"a {width}x{height} picture needs about {need / 2**30:.1f} GiB per step but "
        f"{free / 2**30:.1f} GiB are free on {device}"
    )
    if no_tile:
        raise DlcError(f"{text}; drop --no-tile or give --tile PX, or use a smaller --size")
    announce(f"{text}: optimising it in tiles of {AUTO_TILE} px")
    return AUTO_TILE, memory


def mean_history(histories: list[LossHistory]) -> LossHistory:
    """Each loss term averaged over the tiles per iteration; the wall time of the slowest tile."""
    history = LossHistory()
    for k in range(len(histories[0].total)):
        terms = {
            term: sum(getattr(h, term)[k] for h in histories) / len(histories)
            for term in LOSS_TERMS
        }
        history.append(terms, max(h.seconds[k] for h in histories))
    return history


def optimise_tiles(
    optimise: Callable[[torch.Tensor, torch.Tensor, str], tuple[torch.Tensor, LossHistory]],
    content: torch.Tensor,
    start: torch.Tensor,
    *,
    tile: int,
    overlap: int,
    ctx: distributed.DistContext = distributed.SINGLE_PROCESS,
    label: str = "",
) -> tuple[torch.Tensor, LossHistory, int]:
    """Optimise ``start`` tile by tile and blend; (picture, loss history, number of tiles).

    Args:
        optimise: (content tile, start tile, progress label) → (optimised tile, history); it
            holds the style targets, weights and optimiser settings.
        content: (1, 3, H, W) the content at this scale.
        start: (1, 3, H, W) the starting picture (content, noise or the upsampled coarser result).
        tile, overlap: tile side and overlap in pixels.
        ctx: under torchrun each process optimises every world_size-th tile; the tiles are
            gathered so that every process returns the whole picture.
        label: prefix of the progress bars.

    Returns:
        The blended (1, 3, H, W) picture on ``content``'s device, the loss terms averaged over
        the tiles per iteration, and the tile count.
    """
    height, width = content.shape[-2:]
    boxes = tile_boxes(height, width, tile=tile, overlap=overlap)
    mine = []
    for index in distributed.shard(range(len(boxes)), ctx):
        box = boxes[index]
        result, history = optimise(
            box.crop(content), box.crop(start), f"{label}tile {index + 1}/{len(boxes)}"
        )
        mine.append((index, result.cpu(), history))
    done = sorted(
        (item for part in distributed.gather_objects(mine, ctx) for item in part),
        key=lambda item: item[0],
    )
    picture = blend([t for _, t, _ in done], boxes, (height, width)).to(content.device)
    return picture, mean_history([h for _, _, h in done]), len(boxes)
