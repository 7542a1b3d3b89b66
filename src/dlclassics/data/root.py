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
    weights); ``dlc data fetch`` is an explicit request and downloads either way."""
    raw = os.environ.get(OFFLINE_ENV_VAR, "")
    value = raw.strip().lower()
    if value in _OFFLINE_TRUE or value in _OFFLINE_FALSE:
        return value in _OFFLINE_TRUE
    raise DlcError(f"{OFFLINE_ENV_VAR}={raw!r}: expected 1 or 0 (also true/false, yes/no, on/off)")


def user_cache_dir() -> Path:
    """The per-user data folder: ``$XDG_CACHE_HOME/dlclassics/data`` or ``~/.cache/dlclassics/data``."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "dlclassics" / "data"


def resolve_data_root(cli_value: str | os.PathLike[str] | None = None) -> Path:
    """Return the data root, by precedence: the ``--data-root`` flag, ``$DLC_DATA``, the user cache."""
    chosen = cli_value or os.environ.get(DATA_ENV_VAR)
    return Path(chosen).expanduser() if chosen else user_cache_dir()


def add_data_root_argument(parser: argparse.ArgumentParser) -> None:
    """Give a (sub)command the ``--data-root DIR`` option."""
    text = f"folder holding the data sets (default: ${DATA_ENV_VAR}, else {user_cache_dir()})"
    parser.add_argument("--data-root", metavar="DIR", default=None, help=text)
