"""New text for a changed file: each changed document edited on its own, every other byte kept.

For each document that changes, in order of preference:

1. the edits spliced into its text (:mod:`portkit.gitops._splice`): only the changed values' bytes move;
2. a ruamel.yaml round trip of that document (load, edit the round-trip containers, dump): comments and
   key order kept, but ruamel normalises some formatting (indentation of sequences, ``null``, quoting of
   single-pair flow items) in that document;
3. the translated object written out by portkit's emitter (comments in that document lost).

Every result is parsed again and must equal the translated object; the method used is reported.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

import attrs

from portkit._yaml import dump_yaml, load_yaml_documents
from portkit.errors import BundleError
from portkit.gitops._diff import Op, apply_ops_in_place, diff, same
from portkit.gitops._documents import split_documents
from portkit.gitops._files import SourceFile
from portkit.gitops._splice import (
    CannotSplice,
    CommentAt,
    Style,
    comment_document,
    comment_lines,
    detect_style,
    drop_document,
    splice,
)

__all__ = ["REWRITTEN", "ROUNDTRIP", "SPLICED", "DocPlan", "RewriteError", "rewrite"]

SPLICED = "spliced"
ROUNDTRIP = "round-trip"
REWRITTEN = "rewritten"


class RewriteError(Exception):
    """The file's documents cannot be told apart in its text (it is left as it was)."""


@attrs.define
class DocPlan:
    """What happens to one document of a file.

    ``expected``: its new value (``None`` with ``unchanged``: left as it is). ``drop``: remove it, leaving
    this comment. ``note``: keep it with this comment above it. ``comments``: comment lines to put above
    items or keys (``kind: List`` items left out or kept), by path in the old document.
    """

    expected: Any = None
    unchanged: bool = True
    drop: str | None = None
    note: str | None = None
    comments: list[CommentAt] = attrs.field(factory=list)


def _valid(text: str, expected: Any, *, dropped: bool = False) -> bool:
    try:
        docs = load_yaml_documents(text, where="edited document")
    except BundleError:
        return False
    if dropped:
        return docs in ([], [None])
    return len(docs) == 1 and same(docs[0], expected)


def _roundtrip(text: str, ops: Sequence[Op], style: Style) -> str:
    from ruamel.yaml import YAML

    from portkit.gitops._render import _to_ruamel

    y = YAML(typ="rt")
    y.preserve_quotes = True
    y.width = 2**30
    y.indent(mapping=style.mapping, sequence=style.offset + 2, offset=style.offset)
    y.representer.add_representer(type(None), lambda rep, _data: rep.represent_scalar("tag:yaml.org,2002:null", "null"))
    data = y.load(text)
    data = apply_ops_in_place(data, ops, _to_ruamel)
    if text.startswith("---"):
        y.explicit_start = True
    buf = io.StringIO()
    y.dump(data, buf)
    return buf.getvalue()


def _plain(text: str, expected: Any) -> str:
    head = "---\n" if text.startswith("---") else ""
    return head + dump_yaml(expected).decode("utf-8")


def _edit_document(text: str, old: Any, plan: DocPlan, style: Style) -> tuple[str, str]:
    """New text of one document and the method that made it."""
    if plan.drop is not None:
        try:
            out = drop_document(text, plan.drop)
            if _valid(out, None, dropped=True):
                return out, SPLICED
        except CannotSplice:
            pass
        head = "---\n" if text.startswith("---") else ""
        return head + "".join(f"{c}\n" for c in comment_lines(plan.drop)), REWRITTEN
    expected = old if plan.unchanged else plan.expected
    ops: list[Any] = [] if plan.unchanged else diff(old, expected)
    try:
        out = splice(text, [*plan.comments, *ops], style=style) if (ops or plan.comments) else text
        if plan.note is not None:
            out = comment_document(out, plan.note)
        if _valid(out, expected):
            return out, SPLICED
    except CannotSplice:
        pass
    try:
        out = _roundtrip(text, ops, style)
        if plan.note is not None:
            out = comment_document(out, plan.note)
        if _valid(out, expected):
            return out, ROUNDTRIP
    except Exception:  # ruamel cannot load or dump it: the last resort below always works
        pass
    out = _plain(text, expected)
    if plan.note is not None:
        out = comment_document(out, plan.note)
    return out, REWRITTEN


def _json_indent(text: str) -> int | None:
    m = re.search(r"^[\[{]\s*\n( +)\S", text)
    return len(m.group(1)) if m else None


def _rewrite_json(file: SourceFile, plans: Mapping[int, DocPlan]) -> tuple[str, list[str]]:
    plan = plans.get(0)
    if plan is None or plan.unchanged:
        return file.text, []
    if plan.drop is not None:
        raise RewriteError("a JSON file cannot hold a comment where its object was: delete the file by hand")
    out = json.dumps(plan.expected, indent=_json_indent(file.text), ensure_ascii=False)
    if file.text.endswith("\n"):
        out += "\n"
    return out, [f"{file.rel}: JSON written again with json.dumps (JSON has no comments to keep)"]


def rewrite(file: SourceFile, plans: Mapping[int, DocPlan]) -> tuple[str, dict[int, str]]:
    """The new text of ``file`` with ``plans`` (by document index) carried out, and the method used for
    each changed document (:data:`SPLICED`, :data:`ROUNDTRIP` or :data:`REWRITTEN`).

    Raises:
        RewriteError: the documents cannot be told apart, or a JSON object would need a comment.
    """
    if file.is_json:
        text, _ = _rewrite_json(file, plans)
        return text, ({0: REWRITTEN} if text != file.text else {})
    chunks = split_documents(file.text)
    doc_chunks = [c for c in chunks if c.is_doc]
    if len(doc_chunks) != len(file.docs):
        raise RewriteError(f"found {len(doc_chunks)} '---' separated documents but the parser read {len(file.docs)}")
    style = detect_style(file.text)
    pieces: list[str] = []
    methods: dict[int, str] = {}
    index = -1
    for chunk in chunks:
        text = file.text[chunk.start : chunk.end]
        if chunk.is_doc:
            index += 1
            plan = plans.get(index)
            if plan is not None and (not plan.unchanged or plan.drop is not None or plan.note or plan.comments):
                new, method = _edit_document(text, file.docs[index], plan, style)
                if text.endswith("\n") and not new.endswith("\n"):
                    new += "\n"
                if new != text:
                    methods[index] = method
                text = new
        pieces.append(text)
    return "".join(pieces), methods
