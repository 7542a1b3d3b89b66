"""The data sets dlclassics knows: folder under the data root, expected layout, manifest, sources.

Every command finds its data set with :func:`dataset_path`, so that is where a missing public data
set is fetched on first use (as ``dlc data fetch`` would; with ``DLC_OFFLINE=1`` it is an error).
A data set comes file by file (:class:`FileSource`) or as one archive (:class:`ArchiveSource`). A
mirror (``--mirror URL`` or ``$DLC_DATA_MIRROR``) replaces every source: it serves archives at its
top level (``<mirror>/hymenoptera_data.zip``) and per-file data sets in their data-root folders
(``<mirror>/yelp/train.txt``), so a data root served over HTTP is a mirror for the latter.
"""

from __future__ import annotations

import functools
import importlib.resources
import os
import posixpath
import sys
import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from dlclassics.data.root import OFFLINE_ENV_VAR, offline, resolve_data_root
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
        """The shipped manifest ``dlclassics/data/manifests/<name>.json``."""
        return load_manifest(self.name)

    def path_under(self, data_root: str | os.PathLike[str]) -> Path:
        """Where this data set lives under ``data_root`` (whether or not it is there)."""
        return Path(data_root) / self.folder

    def missing_layout(self, folder: str | os.PathLike[str]) -> list[str]:
        """The layout paths absent from ``folder`` (empty when the data set looks present)."""
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
    """Read the manifest shipped for data set ``name``."""
    from dlclassics.data.manifest import Manifest

    resource = importlib.resources.files("dlclassics.data") / "manifests" / f"{name}.json"
    with importlib.resources.as_file(resource) as path:
        return Manifest.read(path)


def get_dataset(name: str) -> DatasetSpec:
    """The spec of a known data set; an unknown name is a DlcError listing the known ones."""
    if name not in DATASETS:
        raise DlcError(f"unknown data set {name!r}: known data sets are {', '.join(DATASETS)}")
    return DATASETS[name]


def dataset_path(
    name: str,
    data_root: str | os.PathLike[str] | None = None,
    fetch_missing: bool = True,
    mirror: str | None = None,
) -> Path:
    """``<data root>/<folder>`` of data set ``name``, its layout checked (not its checksums).

    An absent folder is downloaded first when ``fetch_missing`` is set (from ``mirror``, else
    ``$DLC_DATA_MIRROR``, else its public source) unless ``$DLC_OFFLINE`` says not to; an
    incomplete one is never touched. Either failure is a DlcError.
    """
    spec = get_dataset(name)
    root = resolve_data_root(data_root)
    folder = spec.path_under(root)
    missing = spec.missing_layout(folder)
    if not missing:
        return folder
    flags = "--data-root / $DLC_DATA" if data_root is None else "--data-root"
    where = f"point {flags} at a folder holding it"
    not_found = f"data set {name!r} not found under {root} (no {folder / missing[0]})"
    if folder.exists() or folder.is_symlink():
        raise DlcError(
            f"{not_found}: {folder} is incomplete; run `dlc data fetch {name} --force` to "
            f"replace it, or {where}"
        )
    if not fetch_missing:
        raise DlcError(f"{not_found}: run `dlc data fetch {name}`, or {where}")
    if offline():
        raise DlcError(
            f"{not_found} and downloads are off ({OFFLINE_ENV_VAR}="
            f"{os.environ.get(OFFLINE_ENV_VAR, '')}): run `dlc data fetch {name}` where you are "
            f"online, or {where}"
        )
    from dlclassics.data.fetch import fetch_dataset  # tqdm and urllib only when needed

    mirror = resolve_mirror(mirror)
    print(
        f"{name}: not in {root}; downloading it{f' from {mirror}' if mirror else ''} "
        f"(set {OFFLINE_ENV_VAR}=1 to refuse) ...",
        file=sys.stderr,
        flush=True,
    )
    try:
        return fetch_dataset(spec, root, mirror=mirror).path
    except DlcError as exc:
        raise DlcError(
            f"{not_found} and downloading it failed: {exc} (fetch it where you are online, or "
            f"import a copy with `dlc data fetch {name} --from PATH`)"
        ) from exc


def resolve_mirror(cli_value: str | None = None) -> str | None:
    """The mirror base URL: the ``--mirror`` flag, else ``$DLC_DATA_MIRROR``, else none."""
    return cli_value or os.environ.get(MIRROR_ENV_VAR) or None


def download_urls(spec: DatasetSpec, mirror: str | None = None) -> list[tuple[str, str]]:
    """The ``(url, relative path)`` pairs to download for ``spec``: the archive and its file
    name, or one pair per manifest file."""
    if isinstance(spec.source, ArchiveSource):
        name = posixpath.basename(urllib.parse.urlparse(spec.source.url).path)  # its mirror name
        url = _join(mirror, name) if mirror else spec.source.url
        return [(url, name)]
    base = _join(mirror, spec.folder + "/") if mirror else spec.source.base_url
    return [(_join(base, rel), rel) for rel in sorted(spec.manifest.files)]


def _join(base: str, relative: str) -> str:
    """``base`` + ``relative`` with exactly one ``/`` between, the path percent-quoted."""
    return base.rstrip("/") + "/" + urllib.parse.quote(relative)
