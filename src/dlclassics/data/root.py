"""Where data sets live: ``--data-root``, else ``$DLC_DATA``, else a per-user cache folder."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

DATA_ENV_VAR = "DLC_DATA"


def user_cache_dir() -> Path:
    """The per-user data folder: ``$XDG_CACHE_HOME/dlclassics/data`` or ``~/.cache/dlclassics/data``."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "dlclassics" / "data"


def resolve_data_root(cli_value: str | os.PathLike[str] | None = None) -> Path:
    """Return the data root, by precedence: the ``--data-root`` flag, ``$DLC_DATA``, the user cache."""
    if cli_value:
        return Path(cli_value).expanduser()
    env = os.environ.get(DATA_ENV_VAR)
    if env:
        return Path(env).expanduser()
    return user_cache_dir()


def add_data_root_argument(parser: argparse.ArgumentParser) -> None:
    """Give a (sub)command the ``--data-root DIR`` option."""
    parser.add_argument(
        "--data-root",
        metavar="DIR",
        default=None,
        help=f"folder holding the data sets (default: ${DATA_ENV_VAR}, else {user_cache_dir()})",
    )
