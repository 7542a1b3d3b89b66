"""The data sets dlclassics knows: folder under the data root, expected layout, manifest, sources.

A data set comes file by file (:class:`FileSource`) or as one archive (:class:`ArchiveSource`). A
mirror (``--mirror URL`` or ``$DLC_DATA_MIRROR``) replaces every source: it serves archives at its
top level (``<mirror>/hymenoptera_data.zip``) and per-file data sets in their data-root folders
(``<mirror>/yelp/train.txt``), so a data root served over HTTP is a mirror for the latter.

This module only describes; :mod:`dlclassics.data.fetch` downloads what it describes and
:mod:`dlclassics.data.registry` finds a data set under the data root (fetching it when missing).
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

from dlclassics.errors import DlcError

if TYPE_CHECKING:  # the manifest module pulls in tqdm; `dlc --help` does not need it
    from dlclassics.data.manifest import Manifest

MIRROR_ENV_VAR = "DLC_DATA_MIRROR"

_EECS598 = (
    "https://raw.githubusercontent.com/ChenchenMa0131/EECS598-Deep-Learning/master/Homework2/codes/"
)


@dataclass(frozen=True)
class FileSource:
    """Each manifest file downloads from ``base_url`` + its relative path and is hashed on the
    fly."""

    base_url: str


@dataclass(frozen=True)
class ArchiveSource:
    """One zip or tar archive that unpacks to ``top_folder/`` holding the data set's files."""

    url: str
    top_folder: str
    # the archive's own size cap, where it carries large files the manifest leaves out (never
    # extracted); by default the manifest's size cap applies to it too
    max_bytes: int | None = None


@dataclass(frozen=True)
class DatasetSpec:
    """A known data set: ``name`` (what users type), its ``folder`` under the data root, and the
    ``layout``: paths relative to ``folder`` that must exist for it to count as present (a
    trailing ``/`` marks a folder)."""

    name: str
    folder: str
    description: str
    layout: tuple[str, ...]
    source: FileSource | ArchiveSource

    @property
    def manifest(self) -> Manifest:
        """The shipped manifest ``dlclassics/data/manifests/<name>.json``.

        >>> len(get_dataset("styles").manifest.files)
        4
        """
        return load_manifest(self.name)

    def path_under(self, data_root: str | os.PathLike[str]) -> Path:
        """Where this data set lives under ``data_root`` (whether or not it is there).

        >>> get_dataset("hymenoptera").path_under("/data").as_posix()
        '/data/hymenoptera_data'
        """
        return Path(data_root) / self.folder

    def missing_layout(self, folder: str | os.PathLike[str]) -> list[str]:
        """The layout paths absent from ``folder`` (empty when the data set looks present).

        >>> get_dataset("yelp").missing_layout("/nowhere")
        ['train.txt', 'dev.txt', 'test.txt', 'unlabelled.txt']
        """
        paths = [(rel, Path(folder) / rel) for rel in self.layout]
        return [rel for rel, p in paths if not (p.is_dir() if rel.endswith("/") else p.is_file())]


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
                url="https://cs231n.stanford.edu/coco_captioning.zip",
                top_folder="coco_captioning",
                # it also carries the 4096-d fc7 features (train/val2014_vgg16_fc7.h5), which
                # the manifest leaves out
                max_bytes=8 * 1000**3,
            ),
        ),
    )
}


@functools.cache
def load_manifest(name: str) -> Manifest:
    """Read the manifest shipped for data set ``name`` (once; later calls share it).

    >>> sorted(load_manifest("yelp").files)[:2]
    ['dev.txt', 'test.txt']
    """
    from dlclassics.data.manifest import Manifest

    resource = importlib.resources.files("dlclassics.data") / "manifests" / f"{name}.json"
    with importlib.resources.as_file(resource) as path:
        return Manifest.read(path)


def get_dataset(name: str) -> DatasetSpec:
    """The spec of a known data set; an unknown name is a DlcError listing the known ones.

    >>> get_dataset("yelp").folder
    'yelp'
    """
    if name not in DATASETS:
        raise DlcError(f"unknown data set {name!r}: known data sets are {', '.join(DATASETS)}")
    return DATASETS[name]


def resolve_mirror(cli_value: str | None = None) -> str | None:
    """The mirror base URL: the ``--mirror`` flag, else ``$DLC_DATA_MIRROR``, else none.

    >>> resolve_mirror("http://localhost:8000/")
    'http://localhost:8000/'
    """
    return cli_value or os.environ.get(MIRROR_ENV_VAR) or None


def download_urls(spec: DatasetSpec, mirror: str | None = None) -> list[tuple[str, str]]:
    """The ``(url, relative path)`` pairs to download for ``spec``: the archive and its file
    name, or one pair per manifest file.

    >>> download_urls(get_dataset("hymenoptera"), "http://m/")
    [('http://m/hymenoptera_data.zip', 'hymenoptera_data.zip')]
    """
    if isinstance(spec.source, ArchiveSource):
        name = posixpath.basename(urllib.parse.urlparse(spec.source.url).path)  # its mirror name
        url = _join(mirror, name) if mirror else spec.source.url
        return [(url, name)]
    base = _join(mirror, spec.folder + "/") if mirror else spec.source.base_url
    return [(_join(base, rel), rel) for rel in sorted(spec.manifest.files)]


def _join(base: str, relative: str) -> str:
    """``base`` + ``relative`` with exactly one ``/`` between, the path percent-quoted."""
    return base.rstrip("/") + "/" + urllib.parse.quote(relative)
