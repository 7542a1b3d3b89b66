"""``dlc style --batch-dir DIR STYLE ...``: the same style painted onto every photo of a folder.

Each photo is an independent optimisation, so under ``torchrun`` the photos are dealt out across
the processes (rank r takes photos r, r + K, r + 2K, … of the sorted list) and each process loads
the backbone once for all of its photos. Every photo's files go to ``OUT/<photo name>/``, written
by the one rank that painted it; when all ranks are done, rank 0 writes ``OUT/metrics.json``
with one summary row per photo.
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path
from typing import Any

from dlclassics import distributed
from dlclassics.data.images import list_images
from dlclassics.errors import DlcError
from dlclassics.io import atomic_write_json
from dlclassics.outputs import prepare_output_dir
from dlclassics.runtime import resolve_device
from dlclassics.style.config import Config
from dlclassics.style.features import frozen_backbone
from dlclassics.style.images import save_format
from dlclassics.style.run import train


def photo_folders(photos: list[Path], out: Path) -> dict[Path, Path]:
    """``{photo: OUT/<photo stem>}``; two photos with the same stem would share a folder."""
    seen: dict[str, Path] = {}
    for photo in photos:
        if photo.stem in seen:
            raise DlcError(f"{photo}: same name as {seen[photo.stem]}; rename one of them")
        seen[photo.stem] = photo
    return {photo: out / photo.stem for photo in photos}


def run_batch(template: Config, content_dir: Path) -> dict[str, Any] | None:
    """Style every image in ``content_dir`` with ``template``'s styles and settings (its
    ``content`` is ignored; ``out``, a folder, receives one sub-folder per photo).

    Returns, on rank 0 (or the only process), the summary written to ``OUT/metrics.json``:
    ``photos`` (one row per photo, in name order), ``styles``, ``processes``, ``seconds`` (the
    slowest rank's) and ``photos_per_second``; None on the other ranks.

    Example:
        >>> summary = run_batch(Config(styles=["starry.jpg"], out=Path("out"), size=64), "photos")
        >>> [row["image"] for row in summary["photos"]]
        ['a/result.png', 'b/result.png']
    """
    if save_format(template.out) is not None:
        raise DlcError(f"{template.out}: with --batch-dir, -o is a folder, not an image")
    photos = list_images(content_dir)
    if not photos:
        raise DlcError(f"{content_dir}: no images to style")
    folders = photo_folders(photos, template.out)
    if distributed.launched_rank() == 0:
        prepare_output_dir(template.out)  # before any work; it covers every photo's folder
    try:
        ctx = distributed.init(resolve_device(template.device))
        return _paint_shards(
            dataclasses.replace(template, device=ctx.device), folders=folders, ctx=ctx
        )
    finally:
        distributed.shutdown()


def _paint_shards(
    template: Config, *, folders: dict[Path, Path], ctx: distributed.DistContext
) -> dict[str, Any] | None:
    """Paint this process's share of the photos (``folders``: photo → its output folder) and
    gather the summary rows; rank 0 writes and returns the summary (see ``run_batch``)."""
    started = time.perf_counter()
    backbone = frozen_backbone(template.backbone, template.weights, template.device)
    rows = []
    for photo in distributed.shard(list(folders), ctx):
        config = dataclasses.replace(template, content=photo, out=folders[photo])
        result = train(config, backbone=backbone, progress=ctx.is_main, prepare=False)
        name = folders[photo].name
        rows.append(
            {
                "content": str(photo),
                "folder": name,
                "image": f"{name}/{result.files['image'].name}",
                "style_reduction": result.metrics["style_reduction"],
                "losses_last": result.details["losses_last"],
                "seconds": result.metrics["seconds"],
                "rank": ctx.rank,
            }
        )
    seconds = time.perf_counter() - started
    gathered = distributed.gather_objects((rows, seconds), ctx)
    every_row = [row for rank_rows, _ in gathered for row in rank_rows]
    every_row.sort(key=lambda row: Path(row["content"]).name)
    slowest = max(rank_seconds for _, rank_seconds in gathered)
    summary = {
        "photos": every_row,
        "styles": [str(p) for p in template.styles],
        "processes": ctx.world_size,
        "seconds": slowest,
        "photos_per_second": len(every_row) / slowest,
    }
    if ctx.is_main:
        atomic_write_json(template.out / "metrics.json", summary)
    distributed.barrier(ctx)
    return summary if ctx.is_main else None
