"""pyproject.toml: licence metadata, dependencies exactly what the package imports, no caps, package data complete.

The newest kubernetes client pip could install when this was last checked (2026-12) was 37.0.3; the unit tests
passed against it and against the declared floors (kubernetes 31.0.0, urllib3 1.26.20, PyYAML 6.0,
tenacity 8.2.0, attrs 23.1.0, ruamel.yaml 0.18.0) in scratch virtualenvs.
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path
from typing import Any

from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "portkit"

#: Declared though not imported on this branch yet, with the reason.
DECLARED_AHEAD = {"ruamel-yaml": "round-trip YAML edits that keep comments (portkit.gitops)"}
#: Modules that may import an extra's distribution at module level: they are only imported when it is needed.
GATED_MODULES = {"portkit/testing/_pki.py": "local"}


def _pyproject() -> dict[str, Any]:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _requirements(items: list[str]) -> dict[str, Requirement]:
    return {_norm(r.name): r for r in map(Requirement, items)}


def _imports() -> dict[str, list[tuple[str, bool]]]:
    """Top-level module → [(file, imported at module level)] for every import in the package."""
    found: dict[str, list[tuple[str, bool]]] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(path.read_text(), str(path))
        module_level = {id(node) for node in tree.body}
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            elif (  # importlib.import_module("kubernetes.client.rest") counts as an import too
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "import_module"
                and node.args
                and isinstance(node.args[0], ast.Constant)
                and isinstance(node.args[0].value, str)
            ):
                names = [node.args[0].value]
            else:
                continue
            for name in names:
                found.setdefault(name.split(".")[0], []).append(
                    (path.relative_to(ROOT).as_posix(), id(node) in module_level)
                )
    return found


def _third_party() -> dict[str, tuple[set[str], list[tuple[str, bool]]]]:
    """Imported top-level module → (the distributions that provide it, where it is imported).

    A namespace package (``opentelemetry``) is provided by several distributions; one of them declared is enough.
    """
    dists = packages_distributions()
    out: dict[str, tuple[set[str], list[tuple[str, bool]]]] = {}
    for module, places in _imports().items():
        if module in sys.stdlib_module_names or module in ("portkit", "__future__"):
            continue
        assert module in dists, f"{module} (imported in {places[0][0]}) is not installed: declare and install it"
        out[module] = ({_norm(d) for d in dists[module]}, places)
    return out


def test_dependencies_are_exactly_what_the_package_imports() -> None:
    project = _pyproject()["project"]
    core = set(_requirements(project["dependencies"]))
    extras = {name: _requirements(items) for name, items in project["optional-dependencies"].items() if name != "dev"}
    optional = {dist for reqs in extras.values() for dist in reqs}
    imported = _third_party()
    undeclared = sorted(m for m, (dists, _) in imported.items() if not dists & (core | optional))
    assert not undeclared, f"imported but not declared: {undeclared} (e.g. {imported[undeclared[0]][1][0][0]})"
    provided = {d for dists, _ in imported.values() for d in dists}
    unused = sorted(core - provided - set(DECLARED_AHEAD))
    assert not unused, f"declared but never imported: {unused}"
    # an extra's distribution imported when a module is imported (not lazily) would break a plain install
    for module, (dists, places) in imported.items():
        if dists & core:
            continue
        eager = [f for f, module_level in places if module_level and f not in GATED_MODULES]
        assert not eager, f"{module} comes only with an extra but {eager} import it at module level"


def test_no_runtime_dependency_is_capped() -> None:
    """Upper bounds block users from next year's releases (kubernetes<38 did); floors only."""
    for name, req in _requirements(_pyproject()["project"]["dependencies"]).items():
        capped = [s for s in req.specifier if s.operator in ("<", "<=", "==", "~=", "===")]
        assert not capped, f"{name} is capped: {req}"
    assert "kubernetes" in _requirements(_pyproject()["project"]["dependencies"])


def test_licence_is_an_spdx_expression_with_the_licence_file() -> None:
    data = _pyproject()
    project = data["project"]
    assert project["license"] == "Apache-2.0"  # a string (PEP 639), not the deprecated table
    assert project["license-files"] == ["LICENSE"]
    text = (ROOT / "LICENSE").read_text()
    assert text.split()[:4] == ["Apache", "License", "Version", "2.0,"] and "END OF TERMS AND CONDITIONS" in text
    assert not [c for c in project["classifiers"] if c.startswith("License ::")]  # superseded by the expression
    backend = _requirements(data["build-system"]["requires"])["setuptools"]
    assert backend.specifier.contains("77") and not backend.specifier.contains("76.9")  # PEP 639 support


def test_classifiers_and_extras_a_user_expects() -> None:
    project = _pyproject()["project"]
    classifiers = set(project["classifiers"])
    assert {"Typing :: Typed", "Programming Language :: Python :: 3 :: Only", "Environment :: Console"} <= classifiers
    minimum = project["requires-python"].removeprefix(">=")
    assert f"Programming Language :: Python :: {minimum}" in classifiers
    local = _requirements(project["optional-dependencies"]["local"])
    assert set(local) == {"cryptography"}  # the local-cluster harness's PKI


def _tracked_package_files() -> list[str]:
    try:
        listed = subprocess.run(
            ["git", "ls-files", "--cached", "--others", "--exclude-standard", "portkit"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        ).stdout.split()
    except (OSError, subprocess.CalledProcessError):  # not a git checkout: the files on disk
        listed = [p.relative_to(ROOT).as_posix() for p in PACKAGE.rglob("*") if p.is_file()]
    return [f for f in listed if "__pycache__" not in f and not f.endswith((".pyc", ".py"))]


def test_package_data_holds_every_data_file_of_the_package() -> None:
    """What the wheel ships besides modules: every data file (gomod/node/pause/main.go was once left out)."""
    patterns = _pyproject()["tool"]["setuptools"]["package-data"]["portkit"]
    shipped = {p.relative_to(ROOT).as_posix() for pattern in patterns for p in PACKAGE.glob(pattern) if p.is_file()}
    missing = sorted(set(_tracked_package_files()) - shipped)
    assert not missing, f"not package data, so missing from the wheel: {missing}"
    assert "portkit/testing/gomod/node/pause/main.go" in shipped
    assert "portkit/demo_data/shop-eks/app/20-workloads.yaml" in shipped


def test_version_from_the_command_and_from_python_m(capsys: Any) -> None:
    from portkit import __version__
    from portkit.cli import main

    try:
        code = main(["--version"])
    except SystemExit as exc:  # argparse's version action exits
        code = int(exc.code or 0)
    assert code == 0 and capsys.readouterr().out.strip() == f"portkit {__version__}"
    proc = subprocess.run(
        [sys.executable, "-m", "portkit", "--version"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0 and proc.stdout.strip() == f"portkit {__version__}", proc.stderr
