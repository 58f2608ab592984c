"""Round-trip properties of the in-place writer on real YAML (the test corpus, the golden apps and the
golden GitOps repository): a no-op translation leaves every byte as it was, and random edits change the
values they edit, nothing else."""

from __future__ import annotations

import copy
import importlib
import shutil
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from portkit._yaml import load_yaml_documents
from portkit.gitops import translate_tree
from portkit.gitops._diff import apply_ops, diff, same
from portkit.gitops._documents import split_documents
from portkit.gitops._files import Repo, SourceFile
from portkit.gitops._writer import SPLICED, DocPlan, rewrite

splice_module = importlib.import_module("portkit.gitops._splice")
tree_module = importlib.import_module("portkit.gitops.tree")

TESTS = Path(__file__).resolve().parent.parent
CORPUS_DIRS = [TESTS / "corpus", TESTS / "unit" / "golden" / "apps", TESTS / "unit" / "golden" / "gitops"]


def _corpus() -> list[SourceFile]:
    files = []
    for d in CORPUS_DIRS:
        repo = Repo.read(d)
        files.extend(repo.files[rel] for rel in sorted(repo.files) if rel.endswith((".yaml", ".yml")))
    return files


CORPUS = _corpus()
DOCS = [(f, i) for f in CORPUS for i, d in enumerate(f.docs) if isinstance(d, dict) and d]


def test_the_corpus_is_there() -> None:
    assert len(CORPUS) >= 80
    assert len(DOCS) >= 200


@pytest.mark.parametrize("file", CORPUS, ids=[f.rel for f in CORPUS])
def test_a_noop_plan_for_every_document_leaves_every_byte(file: SourceFile) -> None:
    plans = {i: DocPlan(expected=copy.deepcopy(d), unchanged=False) for i, d in enumerate(file.docs)}
    text, methods = rewrite(file, plans)
    assert text == file.text
    assert methods == {}
    chunks = split_documents(file.text)
    assert "".join(file.text[c.start : c.end] for c in chunks) == file.text
    assert sum(c.is_doc for c in chunks) == len(file.docs)


def test_a_noop_translation_of_the_whole_corpus_writes_nothing(tmp_path: Path, monkeypatch: Any) -> None:
    """translate_tree with translators that change nothing: no file is written, every byte stays."""
    from portkit.translate import translate as real_translate

    def identity(objects: Any, **kwargs: Any) -> Any:
        t = real_translate(objects, **kwargs)
        import attrs

        return attrs.evolve(t, bundle=type(t.bundle)(list(objects)), changes=(), warnings=(), manual_actions=())

    monkeypatch.setattr(tree_module, "translate", identity)
    copies = []
    for d in CORPUS_DIRS:
        dest = tmp_path / d.name
        shutil.copytree(d, dest)
        copies.append(dest)
    before = {p: (p.read_bytes(), p.stat().st_mtime_ns) for c in copies for p in c.rglob("*") if p.is_file()}
    for c in copies:
        result = translate_tree(c, "aws", "ionos", in_place=True, namespace="corpus", helm=False)
        assert result.changed_files == []
    after = {p: (p.read_bytes(), p.stat().st_mtime_ns) for c in copies for p in c.rglob("*") if p.is_file()}
    assert after == before


# -- random edits ---------------------------------------------------------------------------------------

TRICKY = [
    "yes",
    "on",
    "No",
    "0755",
    "1e3",
    "0o14",
    "0x1F",
    "~",
    "null",
    "- x",
    "a: b",
    "#x",
    "*",
    "&a",
    "!t",
    "",
    " lead",
    "trail ",
    "multi\nline\n",
    "two\nlines",
    "tab\tin",
    "x, y",
    "[a]",
    "{b}",
    "q'uote",
    'd"q',
    "ünï",
    "key:",
    "1.5",
    ".inf",
    "2024-01-01",
    "nginx:1.27",
    "a:b",
    "%p",
    "@at",
    "`t`",
    "ok",
]
scalars = st.one_of(
    st.sampled_from(TRICKY),
    st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12),
    st.integers(min_value=-(2**40), max_value=2**40),
    st.booleans(),
    st.none(),
    st.floats(allow_nan=False, allow_infinity=False, width=32),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.sampled_from(["a", "b", "yes", "k/x", "1"]), inner, max_size=3)
    ),
    max_leaves=6,
)


def _paths(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[tuple[Any, ...], Any]]:
    out = [(path, value)]
    if isinstance(value, dict):
        for k, v in value.items():
            out += _paths(v, (*path, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out += _paths(v, (*path, i))
    return out


@st.composite
def edits(draw: Any) -> tuple[SourceFile, int, Any]:
    file, index = draw(st.sampled_from(DOCS))
    doc = copy.deepcopy(file.docs[index])
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        candidates = [(p, v) for p, v in _paths(doc) if p]
        if not candidates:
            break
        path, value = draw(st.sampled_from(candidates))
        parent = doc
        for step in path[:-1]:
            parent = parent[step]
        kind = draw(st.sampled_from(["set", "remove", "add", "insert"]))
        if kind == "remove":
            del parent[path[-1]]
        elif kind == "add" and isinstance(value, dict):
            value[draw(st.sampled_from(["new", "yes", "a/b", "on"]))] = draw(values)
        elif kind == "insert" and isinstance(value, list):
            value.insert(draw(st.integers(min_value=0, max_value=len(value))), draw(values))
        else:
            parent[path[-1]] = draw(values)
    return file, index, doc


def _yaml12(text: str) -> list[Any]:
    from ruamel.yaml import YAML

    return list(YAML(typ="safe", pure=True).load_all(text))


def _check(file: SourceFile, index: int, expected: Any, text: str) -> None:
    """The edited file reads back as expected (by PyYAML, a YAML 1.1 reader like kubectl's, and for the
    strings written, by a YAML 1.2 reader too); the other documents' bytes are unchanged."""
    docs = load_yaml_documents(text, where="edited")
    assert len(docs) == len(file.docs)
    for i, d in enumerate(docs):
        assert same(d, expected if i == index else file.docs[i]), i
    old = [file.text[c.start : c.end] for c in split_documents(file.text) if c.is_doc]
    new = [text[c.start : c.end] for c in split_documents(text) if c.is_doc]
    assert [t for i, t in enumerate(new) if i != index] == [t for i, t in enumerate(old) if i != index]
    strings = [
        (p, v)
        for op in diff(file.docs[index], expected)
        if hasattr(op, "value")
        for p, v in _paths(op.value, op.path)
        if isinstance(v, str)
    ]
    if strings:
        read = _yaml12(new[index])[0]
        for path, value in strings:
            got = read
            for step in path:
                got = got[step]
            assert got == value, path


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(edits())
def test_random_edits_change_what_they_edit_and_nothing_else(case: tuple[SourceFile, int, Any]) -> None:
    file, index, expected = case
    text, _ = rewrite(file, {index: DocPlan(expected=expected, unchanged=False)})
    _check(file, index, expected, text)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(edits())
def test_both_composers_make_the_same_edits(case: tuple[SourceFile, int, Any]) -> None:
    file, index, expected = case
    chunk = [c for c in split_documents(file.text) if c.is_doc][index]
    text = file.text[chunk.start : chunk.end]
    ops = diff(file.docs[index], expected)
    out = {}
    for composer in ("libyaml", "ruamel"):
        try:
            node = splice_module.compose(text, composer)
            out[composer] = splice_module.splice(text, ops, root=node)
        except splice_module.CannotSplice as exc:
            out[composer] = f"cannot: {exc}"
    assert out["libyaml"] == out["ruamel"]


_ONE_LINE: dict[tuple[str, int], set[tuple[Any, ...]]] = {}


def _one_line_scalars(file: SourceFile, index: int) -> set[tuple[Any, ...]]:
    """Paths of the document's scalars written on one line (not block scalars, not folded plain ones)."""
    key = (file.rel, index)
    if key not in _ONE_LINE:
        chunk = [c for c in split_documents(file.text) if c.is_doc][index]
        root = splice_module.compose(file.text[chunk.start : chunk.end])
        found: set[tuple[Any, ...]] = set()

        def walk(node: Any, plain: Any, path: tuple[Any, ...]) -> None:
            if node.id == "scalar":
                if node.start_mark.line == node.end_mark.line and node.style not in ("|", ">"):
                    found.add(path)
            elif node.id == "mapping" and isinstance(plain, dict):
                for k, v in node.value:
                    for pk in plain:
                        if str(pk) == k.value and not isinstance(pk, bool):
                            walk(v, plain[pk], (*path, pk))
            elif node.id == "sequence" and isinstance(plain, list):
                for i, v in enumerate(node.value):
                    walk(v, plain[i], (*path, i))

        walk(root, file.docs[index], ())
        _ONE_LINE[key] = found
    return _ONE_LINE[key]


@st.composite
def scalar_edits(draw: Any) -> tuple[SourceFile, int, Any, int]:
    """Existing one-line scalars replaced by other one-line scalars (what translators mostly do)."""
    file, index = draw(st.sampled_from(DOCS))
    doc = copy.deepcopy(file.docs[index])
    one_line = _one_line_scalars(file, index)
    leaves = [(p, v) for p, v in _paths(doc) if p in one_line and isinstance(v, str | int | bool)]
    if not leaves:
        return file, index, doc, 0
    picked = draw(st.lists(st.sampled_from(leaves), min_size=1, max_size=3, unique_by=lambda e: e[0]))
    for path, _ in picked:
        parent = doc
        for step in path[:-1]:
            parent = parent[step]
        parent[path[-1]] = draw(
            st.one_of(
                st.sampled_from([t for t in TRICKY if "\n" not in t]),
                st.from_regex(r"[a-z][a-z0-9./-]{0,20}", fullmatch=True),
            )
        )
    return file, index, doc, len(picked)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scalar_edits())
def test_scalar_edits_are_spliced_and_touch_only_their_lines(case: tuple[SourceFile, int, Any, int]) -> None:
    file, index, expected, n = case
    text, methods = rewrite(file, {index: DocPlan(expected=expected, unchanged=False)})
    _check(file, index, expected, text)
    old_lines, new_lines = file.text.split("\n"), text.split("\n")
    if methods:
        assert methods == {index: SPLICED}
        assert len(old_lines) == len(new_lines)
        changed = sum(1 for a, b in zip(old_lines, new_lines, strict=True) if a != b)
        assert 1 <= changed <= n


def test_apply_ops_matches_diff_on_the_corpus() -> None:
    """The diff's operations, carried out on the old value, give the new value (the round-trip fallback
    relies on it)."""
    for file, index in DOCS[:200]:
        old = file.docs[index]
        new = copy.deepcopy(old)
        for path, value in _paths(new)[1:4]:
            if isinstance(value, str):
                parent = new
                for step in path[:-1]:
                    parent = parent[step]
                parent[path[-1]] = value + "-x"
        if isinstance(new.get("metadata"), dict):
            new["metadata"].pop("name", None)
            new["metadata"]["labels"] = {"added": "yes"}
        assert same(apply_ops(old, diff(old, new)), new)
