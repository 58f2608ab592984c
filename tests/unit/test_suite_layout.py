"""The test command collects unit, integration and notebook tests in one pytest run (rootdir imports, no
packages): two test modules with the same file name would stop the whole collection."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

TESTS = Path(__file__).resolve().parent.parent


def test_test_module_names_are_unique_across_the_suite() -> None:
    names = Counter(p.name for p in TESTS.rglob("test_*.py") if not (p.parent / "__init__.py").exists())
    assert [name for name, count in names.items() if count > 1] == []
