"""The data sets dlclassics knows: folder under the data root, expected layout, manifest, sources.

Other parts locate their data with :func:`dataset_path`::

    root = dataset_path("yelp", args.data_root)     # <data root>/yelp, or a DlcError saying
    train = root / "train.txt"                      # how to fetch it

Sources are public. A data set comes either file by file (:class:`FileSource`: every file of the
manifest from ``base_url + relative path``) or as one archive (:class:`ArchiveSource`) whose
extracted files are checked against the manifest. A mirror (``--mirror URL`` or
``$DLC_DATA_MIRROR``) replaces every source: it serves archives at its top level
(``<mirror>/hymenoptera_data.zip``) and per-file data sets in their data-root folders
(``<mirror>/yelp/train.txt``), so a data root served over HTTP is a mirror for the latter.
"""

from __future__ import annotations

import functools
import importlib.resources
import os
import posixpath
import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from dlclassics.data.root import resolve_data_root
from dlclassics.errors import DlcError

if TYPE_CHECKING:  # the manifest module pulls in tqdm; `dlc --help` does not need it
    from dlclassics.data.manifest import Manifest

MIRROR_ENV_VAR = "DLC_DATA_MIRROR"

_EECS598 = (
    "https://raw.githubusercontent.com/ChenchenMa0131/EECS598-Deep-Learning/master/Homework2/codes/"
)


@dataclass(frozen=True)
class FileSource:
    """Each manifest file downloads from ``base_url`` + its relative path and is hashed on the fly."""

    base_url: str


@dataclass(frozen=True)
class ArchiveSource:
    """One zip or tar archive that unpacks to ``top_folder/`` holding the data set's files."""

    url: str
    top_folder: str

    @property
    def file_name(self) -> str:
        """The archive's name, e.g. ``hymenoptera_data.zip`` (also its name on a mirror)."""
        return posixpath.basename(urllib.parse.urlparse(self.url).path)


@dataclass(frozen=True)
class DatasetSpec:
    """A known data set.

    Attributes:
        name: what users type (``dlc data fetch NAME``).
        folder: its folder under the data root.
        description: one line for ``dlc data status``.
        layout: paths relative to ``folder`` that must exist for the data set to count as present
            (a trailing ``/`` marks a folder).
        source: where to download it.
    """

    name: str
    folder: str
    description: str
    layout: tuple[str, ...]
    source: FileSource | ArchiveSource

    @property
    def manifest(self) -> Manifest:
        """The shipped manifest ``dlclassics/data/manifests/<name>.json``."""
        return load_manifest(self.name)

    def path_under(self, data_root: str | os.PathLike[str]) -> Path:
        """Where this data set lives under ``data_root`` (whether or not it is there)."""
        return Path(data_root) / self.folder

    def missing_layout(self, folder: str | os.PathLike[str]) -> list[str]:
        """The layout paths absent from ``folder`` (empty when the data set looks present)."""
        base = Path(folder)
        return [
            rel
            for rel in self.layout
            if not ((base / rel).is_dir() if rel.endswith("/") else (base / rel).is_file())
        ]


DATASETS: dict[str, DatasetSpec] = {
    spec.name: spec
    for spec in (
        DatasetSpec(
            name="hymenoptera",
            folder="hymenoptera_data",
            description="ants and bees photos, image folder train/val (PyTorch tutorial)",
            layout=("train/ants/", "train/bees/", "val/ants/", "val/bees/"),
            source=ArchiveSource(
                url="https://download.pytorch.org/tutorial/hymenoptera_data.zip",
                top_folder="hymenoptera_data",
            ),
        ),
        DatasetSpec(
            name="styles",
            folder="styles",
            description="content photo and three paintings for neural style transfer",
            layout=("tubingen.jpg", "composition_vii.jpg", "the_scream.jpg", "starry_night.jpg"),
            source=FileSource(base_url=_EECS598 + "styles/"),
        ),
        DatasetSpec(
            name="yelp",
            folder="yelp",
            description="Yelp review sentences: labelled train/dev/test and unlabelled",
            layout=("train.txt", "dev.txt", "test.txt", "unlabelled.txt"),
            source=FileSource(base_url=_EECS598 + "data/"),
        ),
        DatasetSpec(
            name="coco-captioning",
            folder="coco_captioning",
            description="COCO 2014 captions with VGG-16 fc7 PCA features (CS231n format)",
            layout=(
                "coco2014_captions.h5",
                "train2014_vgg16_fc7_pca.h5",
                "val2014_vgg16_fc7_pca.h5",
                "coco2014_vocab.json",
                "train2014_urls.txt",
                "val2014_urls.txt",
            ),
            source=ArchiveSource(
                url="http://cs231n.stanford.edu/coco_captioning.zip",
                top_folder="coco_captioning",
            ),
        ),
    )
}


@functools.cache
def load_manifest(name: str) -> Manifest:
    """Read the manifest shipped for data set ``name``."""
    from dlclassics.data.manifest import Manifest

    resource = importlib.resources.files("dlclassics.data") / "manifests" / f"{name}.json"
    with importlib.resources.as_file(resource) as path:
        return Manifest.read(path)


def get_dataset(name: str) -> DatasetSpec:
    """The spec of a known data set; an unknown name is a DlcError listing the known ones."""
    try:
        return DATASETS[name]
    except KeyError:
        known = ", ".join(DATASETS)
        raise DlcError(f"unknown data set {name!r}: known data sets are {known}") from None


def dataset_path(name: str, data_root: str | os.PathLike[str] | None = None) -> Path:
    """Locate data set ``name`` under ``data_root`` (default: :func:`resolve_data_root`).

    Only the layout is checked (fast); ``dlc data status`` verifies checksums.

    Returns:
        ``<data root>/<folder>``, e.g. ``~/.cache/dlclassics/data/yelp``.

    Raises:
        DlcError: when the data set's folder or one of its layout paths is missing.
    """
    spec = get_dataset(name)
    root = resolve_data_root(data_root)
    folder = spec.path_under(root)
    missing = spec.missing_layout(folder)
    if missing:
        raise DlcError(
            f"data set {name!r} not found under {root} (no {folder / missing[0]}): "
            f"run `dlc data fetch {name}`, or point --data-root / $DLC_DATA at a folder holding it"
        )
    return folder


def resolve_mirror(cli_value: str | None = None) -> str | None:
    """The mirror base URL: the ``--mirror`` flag, else ``$DLC_DATA_MIRROR``, else none."""
    return cli_value or os.environ.get(MIRROR_ENV_VAR) or None


def download_urls(spec: DatasetSpec, mirror: str | None = None) -> list[tuple[str, str]]:
    """The ``(url, relative path)`` pairs to download for ``spec``.

    For an archive the single relative path is the archive's file name; for a per-file data set
    there is one pair per manifest file.
    """
    if isinstance(spec.source, ArchiveSource):
        name = spec.source.file_name
        url = _join(mirror, name) if mirror else spec.source.url
        return [(url, name)]
    base = _join(mirror, spec.folder + "/") if mirror else spec.source.base_url
    return [(_join(base, rel), rel) for rel in sorted(spec.manifest.files)]


def _join(base: str, relative: str) -> str:
    """``base`` + ``relative`` with exactly one ``/`` between, the path percent-quoted."""
    return base.rstrip("/") + "/" + urllib.parse.quote(relative)
