"""One spine in every experiment package: the same files with the same roles, and a Python API
importable from a fresh interpreter (``Config``, ``train`` → ``Result``, ``load`` → a predictor)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "dlclassics"
PARTS = ("transfer", "style", "captioning", "sentiment")
SPINE = ("config.py", "run.py", "commands.py", "reproduce.py")


@pytest.mark.parametrize("part", PARTS)
def test_every_part_has_the_spine_files(part: str):
    missing = [name for name in SPINE if not (PACKAGE / part / name).is_file()]
    assert not missing, f"{part} lacks {missing}"


def imported_modules(path: Path) -> set[str]:
    """Every module a file imports, inside functions too."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def test_only_the_report_imports_a_reproduce_module():
    files = [*PACKAGE.rglob("*.py"), *(ROOT / "benchmarks").glob("*.py")]
    offenders = [
        str(path.relative_to(ROOT))
        for path in files
        if "report" not in path.relative_to(ROOT).parts
        and any(name.endswith(".reproduce") for name in imported_modules(path))
    ]
    assert not offenders


def test_no_formatter_opt_outs():
    skipped = [
        f"{path.relative_to(ROOT)}:{number}"
        for path in PACKAGE.rglob("*.py")
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if "fmt: skip" in line or "fmt: off" in line
    ]
    assert not skipped


def test_the_api_imports_from_a_fresh_interpreter_and_says_what_it_returns():
    code = """
import inspect
from dlclassics import captioning, sentiment, style, transfer
from dlclassics.results import Result
calls = [transfer.train, transfer.load, style.train, style.stylize, captioning.train,
         captioning.load, sentiment.train, sentiment.load]
for call in calls:
    doc = inspect.getdoc(call) or ""
    assert "Example" in doc and ("return" in doc.lower() or "→" in doc), call.__qualname__
for part in (transfer, style, captioning, sentiment):
    assert part.train.__annotations__.get("return") in (Result, "Result"), part.__name__
    assert "Config" in inspect.signature(part.train).parameters["config"].annotation.__str__()
print("ok")
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.stdout.strip() == "ok", done.stderr[-2000:]
