"""No import circles in ``src/dlclassics``, counting imports anywhere in a file: inside functions
and under ``if TYPE_CHECKING:`` as well, since each hides a circle rather than breaking it."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"


def module_files(src: Path) -> dict[str, tuple[Path, bool]]:
    """Every module under ``src`` by dotted name: its file, and whether it is a package."""
    modules = {}
    for path in src.rglob("*.py"):
        parts = list(path.relative_to(src).with_suffix("").parts)
        is_package = parts[-1] == "__init__"
        if is_package:
            parts = parts[:-1]
        modules[".".join(parts)] = (path, is_package)
    return modules


def imported_names(module: str, is_package: bool, node: ast.AST) -> list[str]:
    """The dotted names an ``import`` or ``from ... import`` statement may load."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if not isinstance(node, ast.ImportFrom):
        return []
    package = module.split(".") if is_package else module.split(".")[:-1]
    if node.level:
        package = package[: len(package) - node.level + 1]
        stem = ".".join([*package, *([node.module] if node.module else [])])
    else:
        stem = node.module or ""
    return [stem, *(f"{stem}.{alias.name}" for alias in node.names)]


def import_graph(src: Path) -> dict[str, set[str]]:
    """Module -> the modules of ``src`` it imports. Edges into a package's ``__init__`` are left
    out: importing ``a.b.c`` loads ``a/b/__init__`` whichever way the imports run."""
    modules = module_files(src)
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, (path, is_package) in modules.items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            for target in imported_names(name, is_package, node):
                while target and target not in modules:
                    target = target.rpartition(".")[0]
                if target and target != name and not modules[target][1]:
                    graph[name].add(target)
    return graph


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected groups of more than one module (Tarjan's algorithm, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is None:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    group = []
                    while not group or group[-1] != node:
                        group.append(stack.pop())
                        on_stack.discard(group[-1])
                    if len(group) > 1:
                        found.append(sorted(group))
            elif child not in index:
                index[child] = low[child] = len(index)
                stack.append(child)
                on_stack.add(child)
                work.append((child, iter(sorted(graph[child]))))
            elif child in on_stack:
                low[node] = min(low[node], index[child])
    return found


def test_the_checker_finds_a_circle_hidden_inside_a_function(tmp_path):
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text("from pkg.b import f\n")
    (package / "b.py").write_text("def f():\n    from pkg import a\n")
    (package / "c.py").write_text("from . import a\n")
    assert circles(import_graph(tmp_path)) == [["pkg.a", "pkg.b"]]


def test_the_data_layer_has_no_circle():
    graph = import_graph(SRC)
    data = {name for name in graph if name.startswith("dlclassics.data.")}
    assert circles({name: graph[name] & data for name in data}) == []
    # the locator sits above the downloader, which sits above the catalogue
    assert "dlclassics.data.registry" not in graph["dlclassics.data.fetch"]
    assert "dlclassics.data.fetch" not in graph["dlclassics.data.catalog"]


def test_no_import_circles_in_src():
    found = circles(import_graph(SRC))
    assert found == [], "import circles: " + "; ".join(" <-> ".join(group) for group in found)
