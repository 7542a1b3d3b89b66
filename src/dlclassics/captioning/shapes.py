"""A generated captioning benchmark: rendered scenes of one to three shapes, five captions each.

Every scene is drawn with PIL from a random generator seeded by ``(seed, split, index)``, so the
same seed writes byte-identical files. A scene holds one to three objects (a shape of ``SHAPES``
in a colour of ``COLOURS``, small or large, placed apart) on a plain, gradient, noise or striped
background, light or dark. Its five different captions come from a small grammar naming the
objects, their sizes, positions and spatial relations, the count and the background.

Held-out combinations: the colour × shape pairs of ``HELD_OUT_PAIRS`` never appear in training;
about a third of val and test scenes show one (flagged ``unseen`` in ``meta.json``), which
measures whether a model composes attributes it learned separately.

Layout written by :func:`make_shapes` (the folder+captions format that ``dlc caption train
--data folder:DIR`` reads, one captions file per split)::

    DIR/images/{train,val,test}_00000.png
    DIR/captions_{train,val,test}.txt     # Flickr8k style: "<image>#<k>\\t<caption>"
    DIR/meta.json                         # seed, counts, held-out pairs, unseen images per split

Default folder: ``~/.cache/dlclassics/shapes`` (``data.root.cache_dir``), or
``<data root>/shapes`` when a complete set is there already; generated data never goes into the
data root.
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import re
import sys
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw
from tqdm import tqdm

from dlclassics.captioning.config import ShapesConfig
from dlclassics.captioning.dataset import CaptionData
from dlclassics.captioning.folder import FolderOptions, load_caption_folder
from dlclassics.data.root import cache_dir
from dlclassics.errors import DlcError
from dlclassics.io import atomic_write_bytes, atomic_write_json, atomic_write_text

SHAPES = ("circle", "square", "triangle", "diamond", "star")
COLOURS = {
    "red": (220, 30, 30),
    "green": (30, 170, 50),
    "blue": (40, 70, 230),
    "yellow": (240, 220, 30),
    "purple": (140, 40, 190),
    "orange": (250, 130, 20),
}
HELD_OUT_PAIRS = (
    ("red", "triangle"),
    ("blue", "circle"),
    ("green", "star"),
    ("yellow", "square"),
    ("purple", "diamond"),
)
SIZES = {"small": (9, 13), "large": (19, 25)}  # radius range in pixels at 128 px
BACKGROUND_STYLES = ("plain", "gradient", "noise", "stripes")
SPLITS = ("train", "val", "test")
CAPTIONS_PER_IMAGE = 5
UNSEEN_FRACTION = 0.35  # share of val/test scenes built around a held-out pair
FORMAT_VERSION = 1
GENERATED_NAME = re.compile(r"^(train|val|test)_\d{5}\.png$")


@dataclass(frozen=True)
class ShapeObject:
    """One object of a scene: attributes and where it is drawn (centre and radius in pixels)."""

    shape: str
    colour: str
    size: str
    x: float
    y: float
    radius: float

    def phrase(self, with_size: bool) -> str:
        """ "a large red circle" (with_size) or "a red circle"; "an" before a vowel."""
        words = [self.size, self.colour, self.shape] if with_size else [self.colour, self.shape]
        return ("an " if words[0][0] in "aeiou" else "a ") + " ".join(words)


@dataclass(frozen=True)
class Scene:
    """A whole picture: its objects (sorted left to right) and background."""

    objects: tuple[ShapeObject, ...]
    background_style: str
    background_tone: str  # "light" or "dark"
    background_rgb: tuple[int, int, int]


def _allowed_pairs(unseen: bool) -> list[tuple[str, str]]:
    held_out = set(HELD_OUT_PAIRS)
    return [(c, s) for c in COLOURS for s in SHAPES if ((c, s) in held_out) == unseen]


def sample_scene(rng: np.random.Generator, size: int, include_unseen: bool) -> Scene:
    """Draw a random scene; with ``include_unseen`` its first object is a held-out pair."""
    n_objects = int(rng.integers(1, 4))
    seen_pairs = _allowed_pairs(unseen=False)
    pairs = [seen_pairs[i] for i in rng.integers(0, len(seen_pairs), size=n_objects)]
    if include_unseen:
        unseen_pairs = _allowed_pairs(unseen=True)
        pairs[0] = unseen_pairs[int(rng.integers(0, len(unseen_pairs)))]
    scale = size / 128
    attributes = [(c, s, ("small", "large")[int(rng.integers(0, 2))]) for c, s in pairs]
    objects = None
    while objects is None:  # rejection sampling of whole layouts: objects must not overlap
        objects = _place(attributes, size, scale, rng)
    tone = ("light", "dark")[int(rng.integers(0, 2))]
    level = rng.integers(185, 235) if tone == "light" else rng.integers(25, 75)
    tint = rng.integers(-12, 13, size=3)
    background_rgb = tuple(int(v) for v in np.clip(level + tint, 0, 255))
    style = BACKGROUND_STYLES[int(rng.integers(0, len(BACKGROUND_STYLES)))]
    ordered = tuple(sorted(objects, key=lambda o: o.x))
    return Scene(ordered, style, tone, background_rgb)


def _place(
    attributes: list[tuple[str, str, str]], size: int, scale: float, rng: np.random.Generator
) -> list[ShapeObject] | None:
    """Positions for (colour, shape, size word) objects that keep apart, or None if stuck."""
    objects: list[ShapeObject] = []
    for colour, shape, size_word in attributes:
        low, high = SIZES[size_word]
        radius = float(rng.uniform(low, high)) * scale
        for _attempt in range(30):
            x, y = rng.uniform(radius + 2, size - radius - 2, size=2)
            if all(math.hypot(x - o.x, y - o.y) > radius + o.radius + 6 * scale for o in objects):
                objects.append(ShapeObject(shape, colour, size_word, float(x), float(y), radius))
                break
        else:
            return None
    return objects


def _background(scene: Scene, size: int, rng: np.random.Generator) -> Image.Image:
    base = np.array(scene.background_rgb, dtype=np.float32)
    if scene.background_style == "plain":
        pixels = np.broadcast_to(base, (size, size, 3))
    elif scene.background_style == "gradient":
        ramp = np.linspace(-25, 25, size, dtype=np.float32)
        axis_ramp = ramp[:, None] if rng.integers(0, 2) else ramp[None, :]
        pixels = base + axis_ramp[..., None]  # (S, 1, 1) or (1, S, 1) broadcast to (S, S, 3)
    elif scene.background_style == "noise":
        pixels = base + rng.normal(0, 10, size=(size, size, 1)).astype(np.float32)
    else:  # stripes
        period = int(rng.integers(6, 16))
        band = ((np.arange(size) // period) % 2).astype(np.float32) * 18 - 9
        pixels = base + (band[:, None, None] if rng.integers(0, 2) else band[None, :, None])
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8).copy(), mode="RGB")


def _polygon(obj: ShapeObject, scale: float) -> list[tuple[float, float]]:
    """Vertices of a polygonal shape, in the supersampled canvas."""
    cx, cy, r = obj.x * scale, obj.y * scale, obj.radius * scale
    if obj.shape == "square":
        h = r * 0.85
        return [(cx - h, cy - h), (cx + h, cy - h), (cx + h, cy + h), (cx - h, cy + h)]
    if obj.shape == "diamond":
        return [(cx, cy - r), (cx + r * 0.8, cy), (cx, cy + r), (cx - r * 0.8, cy)]
    if obj.shape == "triangle":
        return [
            (cx + r * math.cos(a), cy + r * math.sin(a))
            for a in (-math.pi / 2, math.pi / 6, 5 * math.pi / 6)
        ]
    points = []  # five-pointed star: alternate outer and inner radius
    for k in range(10):
        radius = r if k % 2 == 0 else r * 0.45
        angle = -math.pi / 2 + k * math.pi / 5
        points.append((cx + radius * math.cos(angle), cy + radius * math.sin(angle)))
    return points


def render_scene(
    scene: Scene, size: int, rng: np.random.Generator, supersample: int = 2
) -> Image.Image:
    """Draw ``scene`` as a ``size`` × ``size`` RGB image (shapes antialiased by supersampling)."""
    big = _background(scene, size, rng).resize((size * supersample,) * 2, Image.NEAREST)
    draw = ImageDraw.Draw(big)
    for obj in scene.objects:
        fill = COLOURS[obj.colour]
        if obj.shape == "circle":
            cx, cy, r = obj.x * supersample, obj.y * supersample, obj.radius * supersample
            draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=fill)
        else:
            draw.polygon(_polygon(obj, supersample), fill=fill)
    return big.resize((size, size), Image.BILINEAR)


def _location(obj: ShapeObject, size: int) -> str:
    """3 × 3 grid cell: "top left", "top", ..., "center", ..., "bottom right"."""
    vertical = ("top", "", "bottom")[min(int(obj.y / size * 3), 2)]
    horizontal = ("left", "", "right")[min(int(obj.x / size * 3), 2)]
    return " ".join(w for w in (vertical, horizontal) if w) or "center"


def _relation(a: ShapeObject, b: ShapeObject) -> str:
    """Where ``a`` is relative to ``b``, along the axis where they are furthest apart."""
    dx, dy = a.x - b.x, a.y - b.y
    if abs(dx) >= abs(dy):
        return "to the left of" if dx < 0 else "to the right of"
    return "above" if dy < 0 else "below"


def _join(phrases: list[str]) -> str:
    return phrases[0] if len(phrases) == 1 else " ".join(phrases[:-1]) + " and " + phrases[-1]


def caption_candidates(scene: Scene, size: int) -> list[str]:
    """Every caption the grammar produces for ``scene`` (all true of it, all different)."""
    objs = scene.objects
    bg = f"on a {scene.background_tone} background"
    full = [o.phrase(with_size=True) for o in objs]
    short = [o.phrase(with_size=False) for o in objs]
    if len(objs) == 1:
        o = objs[0]
        return [
            full[0],
            f"{short[0]} {bg}",
            f"{full[0]} near the {_location(o, size)}",
            f"there is one {o.colour} {o.shape} {bg}",
            f"a picture of {full[0]}",
            f"one {o.size} {o.shape} that is {o.colour}",
            f"a single {o.colour} {o.shape} near the {_location(o, size)}",
        ]
    if len(objs) == 2:
        a, b = objs
        rel_ab, rel_ba = _relation(a, b), _relation(b, a)
        return [
            f"{full[0]} {rel_ab} {full[1]}",
            f"{short[1]} {rel_ba} {short[0]}",
            f"{_join(full)}",
            f"two shapes {bg} {_join(short)}",
            f"there is {short[0]} {rel_ab} {short[1]}",
            f"{short[0]} and {short[1]} {bg}",
            f"two shapes {full[0]} {rel_ab} {full[1]}",
        ]
    a, b, c = objs
    return [
        _join(full),
        f"three shapes {_join(short)}",
        f"{full[0]} {_relation(a, b)} {full[1]} and {full[2]}",
        f"three shapes {bg}",
        f"there are three shapes {_join(short)}",
        f"{short[2]} {_relation(c, b)} {short[1]} and {short[0]}",
        f"three objects {bg} {_join(short)}",
    ]


def scene_captions(scene: Scene, size: int, rng: np.random.Generator) -> list[str]:
    """Five different captions of ``scene``, drawn from ``caption_candidates`` without replacement."""
    candidates = list(dict.fromkeys(caption_candidates(scene, size)))
    picks = rng.choice(len(candidates), size=CAPTIONS_PER_IMAGE, replace=False)
    return [candidates[i] for i in sorted(picks)]


def example_scene(
    config: ShapesConfig, split: str, index: int
) -> tuple[Scene, np.random.Generator, bool]:
    """The scene of example ``index`` of ``split``, the generator that drew it (it draws the rest
    of the example next) and the ``unseen`` flag."""
    rng = np.random.default_rng([config.seed, SPLITS.index(split), index])
    unseen = split != "train" and rng.random() < UNSEEN_FRACTION
    return sample_scene(rng, config.image_size, include_unseen=unseen), rng, unseen


def generate_example(
    config: ShapesConfig, split: str, index: int
) -> tuple[Image.Image, list[str], bool]:
    """Image, five captions and the ``unseen`` flag of example ``index`` of ``split``."""
    scene, rng, unseen = example_scene(config, split, index)
    image = render_scene(scene, config.image_size, rng)
    return image, scene_captions(scene, config.image_size, rng), unseen


def make_shapes(out_dir: str | Path, config: ShapesConfig) -> Path:
    """Write the shapes data set to ``out_dir`` (see the module docstring); returns ``out_dir``.

    The files are written atomically and ``meta.json`` last, so a folder with ``meta.json`` is
    complete. An existing complete folder with the same configuration is left as it is; one made
    with another configuration is regenerated, and its generated images beyond the new counts
    are removed.
    """
    out = Path(out_dir)
    meta_path = out / "meta.json"
    with contextlib.suppress(OSError, ValueError):
        old = json.loads(meta_path.read_text(encoding="utf-8"))
        if (old.get("format_version"), old.get("config")) == (FORMAT_VERSION, asdict(config)):
            return out
    meta_path.unlink(missing_ok=True)  # until regenerated, the folder is not complete
    (out / "images").mkdir(parents=True, exist_ok=True)
    written: set[str] = set()
    unseen_by_split: dict[str, list[str]] = {}
    total = config.n_train + config.n_val + config.n_test
    with tqdm(total=total, desc="rendering shapes", unit="img", disable=None) as bar:
        for split in SPLITS:
            lines, unseen_names = [], []
            for index in range(getattr(config, f"n_{split}")):
                image, captions, unseen = generate_example(config, split, index)
                name = f"{split}_{index:05d}.png"
                _write_png(out / "images" / name, image)
                written.add(name)
                lines += [f"{name}#{k}\t{caption}" for k, caption in enumerate(captions)]
                if unseen:
                    unseen_names.append(name)
                bar.update(1)
            atomic_write_text(out / f"captions_{split}.txt", "\n".join(lines) + "\n")
            unseen_by_split[split] = unseen_names
    for stale in (out / "images").iterdir():
        if GENERATED_NAME.match(stale.name) and stale.name not in written:
            stale.unlink()
    meta = {
        "format_version": FORMAT_VERSION,
        "generator": "dlc caption make-shapes",
        "config": asdict(config),
        "held_out_pairs": [list(p) for p in HELD_OUT_PAIRS],
        "unseen": unseen_by_split,
    }
    atomic_write_json(meta_path, meta)
    return out


def _write_png(path: Path, image: Image.Image) -> None:
    """Save as PNG, atomically; an identical existing file is left untouched (its modification
    time, and so the feature cache keyed on it, stays valid when a data set is regenerated)."""
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    data = buffer.getvalue()
    if path.is_file() and path.stat().st_size == len(data) and path.read_bytes() == data:
        return
    atomic_write_bytes(path, data)


def read_shapes_meta(folder: str | Path) -> dict:
    """``meta.json`` of a shapes folder, or a DlcError saying how to create it."""
    path = Path(folder) / "meta.json"
    if not path.is_file():
        raise DlcError(f"{path}: not found; create the data set with `dlc caption make-shapes`")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise DlcError(f"{path}: not valid JSON ({exc})") from exc


def default_shapes_dir(data_root: Path) -> Path:
    """Where the shapes data set lives by default: ``<data root>/shapes`` when a complete set is
    there already (one made by an earlier version, or put there by hand), else the user cache
    (generated data never goes into the data root, which may be shared and read-only).

    >>> default_shapes_dir(Path("/nowhere")).name
    'shapes'
    """
    in_root = Path(data_root) / "shapes"
    return in_root if (in_root / "meta.json").is_file() else cache_dir("shapes")


def load_shapes(folder: Path, options: FolderOptions) -> CaptionData:
    """The shapes data set (generated first if missing), with the ``unseen`` flags of its images.

    The features see the images resized to ``options.features.image_size`` px."""
    if not (folder / "meta.json").is_file():
        print(
            f"dlc: creating the shapes data set in {folder} (dlc caption make-shapes)",
            file=sys.stderr,
        )
        make_shapes(folder, ShapesConfig())
    meta = read_shapes_meta(folder)
    data = load_caption_folder(folder, replace(options, min_word_count=1))
    for split_name, split in data.splits.items():
        unseen = set(meta["unseen"].get(split_name, []))
        split.unseen = np.array([Path(p).name in unseen for p in split.images], dtype=bool)
    data.description = f"shapes benchmark from {folder}"
    return data
