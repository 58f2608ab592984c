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


@pytest.mark.xfail(strict=True, reason="phase 2 of issue 13 in progress: the corpus still fails")
def test_every_corpus_file_against_every_target() -> None:
    failures = []
    for path in FILES:
        for target in runner.TARGETS:
            r = runner.run(path, target)
            if r["crash"] or r["invalid"] or r["unreported"]:
                failures.append(f"{r['file']} → {target}: {r['crash'] or ''} {r['invalid']} {r['unreported']}")
    assert failures == [], "\n".join(failures)
