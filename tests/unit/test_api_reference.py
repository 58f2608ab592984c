"""``docs/api.md`` is the reference the docstrings generate: regenerate it with
``python -m portkit._apiref docs/api.md`` after changing a public name, a signature or a docstring."""

from __future__ import annotations

import importlib
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from portkit._apiref import MODULES, _doc_markdown, entries, missing_docstrings, reference_markdown

DOC = Path(__file__).resolve().parents[2] / "docs" / "api.md"


def test_docs_api_md_matches_the_docstrings() -> None:
    assert DOC.read_text(encoding="utf-8") == reference_markdown(), (
        "docs/api.md is out of date: run `python -m portkit._apiref docs/api.md`"
    )


def test_every_public_name_has_a_docstring() -> None:
    """Functions, classes, their public methods and properties, and constants (a ``#:`` comment)."""
    assert missing_docstrings() == []


def test_the_reference_names_every_public_name() -> None:
    text = DOC.read_text(encoding="utf-8")
    for module in MODULES:
        assert f"\n## Module {module}\n" in text
        for name in importlib.import_module(module).__all__:
            assert f"\n### {module}.{name}\n" in text, f"{module}.{name}"
    assert "\n#### portkit.Cluster.from_kubeconfig\n" in text and "\n#### portkit.Plan.diff\n" in text


@pytest.fixture
def sample(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A module with documented and undocumented public names."""
    (tmp_path / "apiref_sample.py").write_text(
        textwrap.dedent('''
        """A sample."""

        __all__ = ["LIMIT", "SIZE", "Thing", "documented", "undocumented"]

        #: How many.
        LIMIT = 3
        SIZE = 4


        class Thing:
            """A thing."""

            def __init__(self, name: str, *, size: int = SIZE) -> None:
                self.name = name

            def shown(self) -> str:
                """Shown."""
                return self.name

            def bare(self) -> None:
                pass

            @property
            def kind(self) -> str:
                return "thing"


        def documented(a: int, /, b: str = "x", *rest: int, flag: bool = False) -> list[int]:
            """Does it.

            Args:
                a: the first
                    (continued).
                flag: a flag.

            Raises:
                ValueError: when not.
            """
            return [a]


        def undocumented() -> None:
            pass
    ''')
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    yield "apiref_sample"
    sys.modules.pop("apiref_sample", None)


def test_a_missing_docstring_is_found(sample: str) -> None:
    found = entries([sample])
    assert missing_docstrings(found) == [
        "apiref_sample.SIZE", "apiref_sample.Thing.bare", "apiref_sample.Thing.kind", "apiref_sample.undocumented"
    ]  # fmt: skip


def test_signatures_and_google_sections_become_markdown(sample: str) -> None:
    text = reference_markdown(entries([sample]))
    signature = "def documented(a: int, /, b: str = 'x', *rest: int, flag: bool = False) -> list[int]"
    assert f"```python\n{signature}\n```" in text
    assert "```python\nclass Thing(name: str, *, size: int = 4)\n```" in text
    assert "#### apiref_sample.Thing.shown\n\n```python\ndef shown() -> str\n```\n\nShown." in text
    assert "**Args**\n\n- `a`: the first (continued).\n- `flag`: a flag.\n\n" in text
    assert "**Raises**\n\n- `ValueError`: when not." in text
    assert "### apiref_sample.LIMIT\n\n```python\nLIMIT = 3\n```\n\nHow many." in text
    assert "[`Thing`](#apiref_samplething)" in text


def test_doctests_roles_and_literal_blocks() -> None:
    doc = "See :class:`~portkit.Plan` and ``x``.\n\n>>> 1 + 1\n2\n\nRun it::\n\n    portkit plan DIR\n\nAfter."
    assert _doc_markdown(doc) == [
        "See `portkit.Plan` and `x`.", "", "```pycon", ">>> 1 + 1", "2", "```", "", "Run it:",
        "```", "portkit plan DIR", "```", "", "After.",
    ]  # fmt: skip
