"""Finding a data set under the data root: :func:`dataset_path`, which every command uses, so that
is where a missing public data set is fetched on first use (as ``dlc data fetch`` would; with
``DLC_OFFLINE=1`` it is an error).

The data sets themselves are described in :mod:`dlclassics.data.catalog`, below both this module
and :mod:`dlclassics.data.fetch`.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from dlclassics.data.catalog import get_dataset, resolve_mirror
from dlclassics.data.root import OFFLINE_ENV_VAR, offline, resolve_data_root
from dlclassics.errors import DlcError


def dataset_path(
    name: str,
    data_root: str | os.PathLike[str] | None = None,
    *,
    fetch_missing: bool = True,
    mirror: str | None = None,
) -> Path:
    """``<data root>/<folder>`` of data set ``name``, its layout checked (not its checksums).

    ``data_root`` defaults to ``$DLC_DATA``, else the user cache. An absent folder is downloaded
    first when ``fetch_missing`` is set (from ``mirror``, else ``$DLC_DATA_MIRROR``, else its
    public source) unless ``$DLC_OFFLINE`` says not to; an incomplete one is never touched.
    Either failure is a DlcError.

    >>> dataset_path("yelp", "/data")  # doctest: +SKIP
    PosixPath('/data/yelp')
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
