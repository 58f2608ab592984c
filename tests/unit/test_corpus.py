"""The real-world corpus: every file of ``tests/corpus`` against every target, through translate and lint.

A run fails on a crash, an invalid object, or a provider-bound item (found by ``tests/corpus/scanner.py``,
which does not use portkit's profiles) that reaches the output with no Change, warning, manual action or
lint finding quoting it. Sources of the files: ``tests/corpus/SOURCES.md``.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

_RUNNER = Path(__file__).resolve().parents[1] / "corpus" / "runner.py"
_spec = importlib.util.spec_from_file_location("corpus_runner", _RUNNER)
assert _spec is not None and _spec.loader is not None
runner = importlib.util.module_from_spec(_spec)
sys.modules.setdefault("corpus_runner", runner)
_spec.loader.exec_module(runner)

FILES = runner.corpus_files()


def test_the_corpus_is_big_enough_and_cited() -> None:
    sources = (_RUNNER.parent / "SOURCES.md").read_text()
    assert len(FILES) >= 30
    for provider in ("eks", "gke", "aks", "openshift"):
        assert any(f.parent.name == provider for f in FILES), provider
    for f in FILES:
        assert f"`{f.relative_to(_RUNNER.parent)}`" in sources, f"{f.name} is not cited in SOURCES.md"


@pytest.mark.parametrize("target", runner.TARGETS)
@pytest.mark.parametrize("path", FILES, ids=[str(f.relative_to(_RUNNER.parent)) for f in FILES])
def test_corpus_file(path: Path, target: str) -> None:
    result = runner.run(path, target)
    assert result["crash"] is None, result["crash"]
    assert result["invalid"] == [], result["invalid"]
    assert result["unreported"] == [], result["unreported"]
