"""Where data sets live (``--data-root``, else ``$DLC_DATA``, else a per-user cache folder), and
whether dlclassics may download anything (``$DLC_OFFLINE``)."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from dlclassics.errors import DlcError

DATA_ENV_VAR = "DLC_DATA"
OFFLINE_ENV_VAR = "DLC_OFFLINE"
_OFFLINE_TRUE = ("1", "true", "yes", "on")
_OFFLINE_FALSE = ("", "0", "false", "no", "off")


def offline() -> bool:
    """True when ``$DLC_OFFLINE`` (1/true/yes/on or 0/false/no/off, any case; unset: online)
    forbids the downloads a command would make on its own (a missing data set, pretrained
    weights); ``dlc data fetch`` is an explicit request and downloads either way.

    Example:
        >>> offline()  # with DLC_OFFLINE=yes in the environment  # doctest: +SKIP
        True
    """
    raw = os.environ.get(OFFLINE_ENV_VAR, "")
    value = raw.strip().lower()
    if value in _OFFLINE_TRUE or value in _OFFLINE_FALSE:
        return value in _OFFLINE_TRUE
    raise DlcError(f"{OFFLINE_ENV_VAR}={raw!r}: expected 1 or 0 (also true/false, yes/no, on/off)")


def cache_root() -> Path:
    """The per-user cache folder of dlclassics (not created here).

    ``$XDG_CACHE_HOME/dlclassics``, else ``~/.cache/dlclassics``.

    >>> cache_root().name
    'dlclassics'
    """
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "dlclassics"


def user_cache_dir() -> Path:
    """The per-user data root, ``cache_root() / "data"`` (not created here).

    >>> user_cache_dir() == cache_root() / "data"
    True
    """
    return cache_root() / "data"


def cache_dir(*parts: str) -> Path:
    """The folder ``cache_root() / parts...`` for data dlclassics generates, created on demand.

    Generated data (rendered captioning images, cached features, teacher logits) goes here rather
    than under the data root, which may be read-only. A folder that cannot be created is a
    DlcError naming it.

    >>> folder = cache_dir("shapes")  # e.g. ~/.cache/dlclassics/shapes
    >>> folder.is_dir()
    True
    """
    folder = cache_root().joinpath(*parts)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DlcError(
            f"{folder}: cannot create the cache folder ({exc.strerror or exc}); "
            "set $XDG_CACHE_HOME to a writable folder"
        ) from exc
    return folder


def resolve_data_root(cli_value: str | os.PathLike[str] | None = None) -> Path:
    """Return the data root, by precedence: the ``--data-root`` flag, ``$DLC_DATA``, the user
    cache.

    Example:
        >>> resolve_data_root("/data")
        PosixPath('/data')
    """
    chosen = cli_value or os.environ.get(DATA_ENV_VAR)
    return Path(chosen).expanduser() if chosen else user_cache_dir()


def add_data_root_argument(parser: argparse.ArgumentParser) -> None:
    """Give a (sub)command the ``--data-root DIR`` option.

    Example:
        >>> parser = argparse.ArgumentParser()
        >>> add_data_root_argument(parser)
        >>> parser.parse_args(["--data-root", "/data"]).data_root
        '/data'
    """
    text = f"folder holding the data sets (default: ${DATA_ENV_VAR}, else {user_cache_dir()})"
    parser.add_argument("--data-root", metavar="DIR", default=None, help=text)
