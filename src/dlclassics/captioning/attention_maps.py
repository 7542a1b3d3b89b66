"""Where the attention captioner looks: the attention-map figure (``attention_val.png``) and, on
the shapes data where every object's position is known, how often the attention peak of a shape
word falls on the object the word names.

An attention map is the (L,) weight vector of one generated word over the L = g x g cells of the
backbone's feature map, drawn over the image (each cell covers 1/g of the image per side).
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from dlclassics.data.images import load_rgb
from dlclassics.errors import DlcError
from dlclassics.figures import LABEL_FONT, new_figure
from dlclassics.io import save_figure

WORDS_PER_ROW = 8  # small maps per row under an image's caption
MAP_INCHES = 1.25  # side of one small map: the word above it stays readable at 100 % zoom
IMAGE_INCHES = 2.5  # side of the image beside its maps
WRAP = 90  # characters per caption line


def grid_side(locations: int) -> int:
    """g for a g x g feature map of ``locations`` cells (a DlcError if not a square)."""
    side = math.isqrt(locations)
    if side * side != locations:
        raise DlcError(f"attention maps need a square feature map, got {locations} locations")
    return side


def plot_attention(rows: Sequence[dict], path: Path, title: str) -> Path:
    """One block per image: the image, its generated (and one true) caption, and for every
    generated word a small copy of the image with that word's attention map over it.

    ``rows``: ``{"image": path, "words": [w_1, ...], "alphas": (len(words), L) array,
    "truth": str (optional)}`` each; an ``<END>`` word and its map are left out.
    """
    rows = [_without_end(row) for row in rows]
    blocks = [max(1, -(-len(row["words"]) // WORDS_PER_ROW)) for row in rows]
    width = IMAGE_INCHES + WORDS_PER_ROW * MAP_INCHES + 0.3
    heights = [max(IMAGE_INCHES, n * (MAP_INCHES + 0.25)) + 0.75 for n in blocks]
    fig = new_figure(width, sum(heights) + 0.4, layout="constrained")
    subfigs = np.atleast_1d(fig.subfigures(len(rows), 1, height_ratios=heights))
    for subfig, row, n_rows in zip(subfigs, rows, blocks, strict=True):
        _attention_block(subfig, row, n_rows)
    fig.suptitle(title, fontsize=LABEL_FONT + 2)
    return save_figure(fig, path)


def _without_end(row: dict) -> dict:
    words = list(row["words"])
    if "<END>" in words:
        words = words[: words.index("<END>")]
    return {**row, "words": words, "alphas": np.asarray(row["alphas"])[: len(words)]}


def _attention_block(subfig, row: dict, n_rows: int) -> None:
    try:
        image = np.asarray(load_rgb(row["image"]))
    except DlcError:
        image = np.full((8, 8, 3), 217, dtype=np.uint8)
    words, alphas = list(row["words"]), np.asarray(row["alphas"], dtype=np.float64)
    side = grid_side(alphas.shape[1])
    caption = "generated: " + " ".join(words)
    if row.get("truth"):
        caption += "\ntruth: " + row["truth"]
    wrapped = "\n".join(textwrap.fill(line, WRAP) for line in caption.split("\n"))
    subfig.suptitle(wrapped, fontsize=LABEL_FONT, ha="left", x=0.01)
    grid = subfig.add_gridspec(
        n_rows, WORDS_PER_ROW + 1, width_ratios=[IMAGE_INCHES / MAP_INCHES] + [1] * WORDS_PER_ROW
    )
    ax = subfig.add_subplot(grid[:, 0])
    ax.imshow(image)
    ax.axis("off")
    height, width = image.shape[:2]
    for k, (word, alpha) in enumerate(zip(words, alphas, strict=False)):
        ax = subfig.add_subplot(grid[k // WORDS_PER_ROW, 1 + k % WORDS_PER_ROW])
        ax.imshow(image, alpha=0.55)
        style = {"cmap": "magma", "alpha": 0.6, "interpolation": "bilinear"}
        vmax, extent = max(float(alpha.max()), 1e-12), (0, width, height, 0)
        ax.imshow(alpha.reshape(side, side), vmin=0, vmax=vmax, extent=extent, **style)
        ax.set_title(word, fontsize=LABEL_FONT)
        ax.axis("off")


# ---- attention peaks vs object boxes (shapes data) --------------------------------------------


def cell_box(cell: int, side: int, image_size: float) -> tuple[float, float, float, float]:
    """(x0, y0, x1, y1) in pixels of feature-map cell ``cell`` (row-major) of a side x side map."""
    size = image_size / side
    row, column = divmod(cell, side)
    return column * size, row * size, (column + 1) * size, (row + 1) * size


def boxes_overlap(a: Sequence[float], b: Sequence[float]) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def named_object(words: Sequence[str], k: int, objects: Sequence, colours: Sequence[str]):
    """The one object of the scene that word ``k`` (a shape word) names, or None.

    The colour word just before it, when there is one, narrows the match ("red circle"); a word
    that matches no object (a wrong caption) or several objects (two red circles) is None.
    """
    shape = words[k]
    colour = words[k - 1] if k > 0 and words[k - 1] in colours else None
    matches = [o for o in objects if o.shape == shape and (colour is None or o.colour == colour)]
    return matches[0] if len(matches) == 1 else None


def attention_box_hits(
    words: Sequence[Sequence[str]],
    alphas: Sequence[np.ndarray],
    scenes: Sequence,
    image_size: float,
    shapes: Sequence[str],
    colours: Sequence[str],
) -> dict[str, float | int]:
    """How often the attention peak of a shape word lies on the object that word names.

    Inputs: per image, the generated words, their (len(words), L) attention weights and the
    scene (its ``objects`` with shape, colour, x, y, radius in pixels of an ``image_size`` image).
    A hit: the peak cell (the largest weight) overlaps the object's box. Chance: the share of
    cells overlapping the box, i.e. the hit rate of a peak at a uniformly random cell.

    Returns {"shape_words": words checked, "hits": hits, "hit_rate", "chance_rate",
    "skipped": shape words that name no single object of the scene}.
    """
    hits = checked = skipped = 0
    chance = 0.0
    for image_words, image_alphas, scene in zip(words, alphas, scenes, strict=True):
        side = grid_side(np.asarray(image_alphas).shape[1])
        cells = [cell_box(c, side, image_size) for c in range(side * side)]
        for k, word in enumerate(image_words):
            if word not in shapes:
                continue
            obj = named_object(image_words, k, scene.objects, colours)
            if obj is None:
                skipped += 1
                continue
            r = obj.radius  # the square box (x0, y0, x1, y1) around the object
            box = (obj.x - r, obj.y - r, obj.x + r, obj.y + r)
            peak = int(np.argmax(image_alphas[k]))
            hits += boxes_overlap(cells[peak], box)
            chance += sum(boxes_overlap(cell, box) for cell in cells) / len(cells)
            checked += 1
    return {
        "shape_words": checked,
        "hits": hits,
        "hit_rate": hits / checked if checked else float("nan"),
        "chance_rate": chance / checked if checked else float("nan"),
        "skipped": skipped,
    }


def shapes_box_hits(
    images: Sequence[str],
    words: Sequence[Sequence[str]],
    alphas: Sequence[np.ndarray],
    config,
) -> dict[str, float | int]:
    """``attention_box_hits`` for images of a shapes folder (named ``<split>_<index>.png``) made
    with ``config`` (a ``ShapesConfig``)."""
    from dlclassics.captioning.shapes import COLOURS, SHAPES, example_scene

    scenes = []
    for image in images:
        split, index = Path(image).stem.split("_")
        scenes.append(example_scene(config, split, int(index))[0])
    return attention_box_hits(words, alphas, scenes, config.image_size, SHAPES, COLOURS)


FIGURE_IMAGES = 4  # images in attention_val.png


def attention_outputs(model, split, out_dir: Path, max_length: int, label: str) -> dict:
    """For an attention model: ``attention_val.png`` in ``out_dir`` (the first FIGURE_IMAGES
    images of ``split``, greedy captions with one map per word) and, when the images come from a
    shapes folder (``meta.json`` beside ``images/``), the attention-peak box statistics of the
    greedy captions of every image of the split.

    Returns {"figure": file name, "boxes": attention_box_hits' dict or None}.
    """
    from dlclassics.captioning.config import ShapesConfig
    from dlclassics.captioning.shapes import read_shapes_meta

    captions, alphas = model.sample(split.features, max_length, 1, return_attention=True)
    words = [[model.idx_to_word[int(i)] for i in row] for row in captions]
    words = [w[: w.index("<END>")] if "<END>" in w else w for w in words]
    truth = [refs[0] for refs in split.references]
    rows = [
        {"image": split.images[i], "words": words[i], "alphas": alphas[i], "truth": truth[i]}
        for i in range(min(FIGURE_IMAGES, split.num_images))
    ]
    plot_attention(rows, Path(out_dir) / "attention_val.png", f"{label}: where each word looks")
    boxes = None
    folder = Path(split.images[0]).parent.parent if split.num_images else None
    if folder is not None and (folder / "meta.json").is_file():
        meta = read_shapes_meta(folder)
        config = ShapesConfig(**meta["config"])
        boxes = shapes_box_hits(split.images, words, list(alphas), config)
    return {"figure": "attention_val.png", "boxes": boxes}
