"""No dead code in the package: private helpers nobody calls and attributes nobody reads are removed, not kept
"just in case" (issue 14 found ``translate._profile_name`` and ``WaitResult.summary_table`` that way).

The scan reads the source with :mod:`ast` (names in f-strings count) and is deliberately simple: a name is
used when it is referenced anywhere, whatever it refers to. Methods that a framework calls by name are listed
in ``HOOKS``.
"""

from __future__ import annotations

import ast
import json
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "portkit"

# Called by name from outside portkit's own code: kubernetes' KubeConfigLoader, PyYAML's Dumper,
# prometheus_client's collector registry, http.server's BaseHTTPRequestHandler.
HOOKS = {"_load_from_exec_plugin", "ignore_aliases", "collect", "log_message", "do_GET"}


def _trees(paths: Iterable[Path]) -> Iterator[tuple[Path, ast.Module]]:
    for path in sorted(paths):
        yield path, ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def _notebook_trees() -> Iterator[ast.Module]:
    for nb in sorted((ROOT / "notebooks").glob("*.ipynb")):
        for cell in json.loads(nb.read_text(encoding="utf-8"))["cells"]:
            if cell["cell_type"] == "code":
                source = "".join(cell["source"])
                lines = [ln for ln in source.splitlines() if not ln.lstrip().startswith(("%", "!"))]
                yield ast.parse("\n".join(lines))


def _referenced(trees: Iterable[ast.Module]) -> set[str]:
    """Every name read, every attribute read and every name imported."""
    names: set[str] = set()
    for tree in trees:
        for node in ast.walk(tree):
            if isinstance(node, ast.Name):
                names.add(node.id)
            elif isinstance(node, ast.Attribute) and not isinstance(node.ctx, ast.Store):
                names.add(node.attr)
            elif isinstance(node, ast.alias):
                names.add(node.name.rsplit(".", 1)[-1])
            elif isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.isidentifier():
                names.add(node.value)  # getattr(obj, "_name"), __all__ entries
    return names


def _definitions(tree: ast.Module) -> Iterator[tuple[str, str]]:
    """``(qualified name, name)`` of the module's functions and classes and of every class's methods."""
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            yield node.name, node.name
    for cls in (n for n in ast.walk(tree) if isinstance(n, ast.ClassDef)):
        for node in cls.body:
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                yield f"{cls.name}.{node.name}", node.name


def _is_private_module(path: Path) -> bool:
    parts = path.relative_to(PACKAGE).parts
    return any(p.startswith("_") and p != "__init__.py" for p in parts)


def _package() -> list[tuple[Path, ast.Module]]:
    return list(_trees(PACKAGE.rglob("*.py")))


def _unused(defs: Iterable[tuple[Path, ast.Module]], used: set[str], wanted: Callable[[str], bool]) -> list[str]:
    out = []
    for path, tree in defs:
        for qualified, name in _definitions(tree):
            if name.startswith("__") or name in HOOKS or name in used or not wanted(name):
                continue
            out.append(f"{path.relative_to(ROOT)}::{qualified}")
    return out


def test_every_private_function_class_and_method_is_used_by_the_package() -> None:
    package = _package()
    used = _referenced(tree for _, tree in package)
    dead = _unused(package, used, lambda name: name.startswith("_"))
    assert not dead, f"private and never referenced in portkit/ (remove them): {dead}"


def test_every_name_of_a_private_module_is_used_somewhere() -> None:
    """Names without an underscore in private modules (``portkit/_files.py``, ``portkit/gitops/_files.py``) are
    not API: something in the package, the tests, the examples, the benchmarks or the notebooks uses them."""
    package = _package()
    others = [p for d in ("tests", "examples", "bench", "scripts") for p in (ROOT / d).rglob("*.py")]
    used = _referenced([*(t for _, t in package), *(t for _, t in _trees(others)), *_notebook_trees()])
    private_modules = [(p, t) for p, t in package if _is_private_module(p)]
    dead = _unused(private_modules, used, lambda name: not name.startswith("_"))
    assert not dead, f"defined in a private module and never referenced (remove them): {dead}"


def test_every_private_attribute_set_is_read() -> None:
    package = _package()
    used = _referenced(tree for _, tree in package)
    written = [
        f"{path.relative_to(ROOT)}:{node.lineno} {node.attr}"
        for path, tree in package
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store)
        if node.attr.startswith("_") and not node.attr.startswith("__") and node.attr not in used
    ]
    assert not written, f"private attributes set and never read (remove them): {written}"
