"""Carry edit operations onto the text of one YAML document, touching only the bytes they change.

The document is composed (nodes with exact start and end positions: libyaml's composer, or
ruamel.yaml's — see :data:`COMPOSER`); each
operation of :mod:`portkit.gitops._diff` becomes a replacement of a span of the text: a scalar in the
quoting style it had, a key or list item (with the comment lines directly above it) removed, new keys and
items inserted after the last line of their mapping or sequence in its indentation. Everything else —
comments, key order, quoting, indentation, anchors, blank lines — is left as it was. What this cannot
express raises :class:`CannotSplice`; the caller then falls back to a ruamel.yaml round trip.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from typing import Any

import attrs
import yaml

from portkit.gitops._diff import AddKeys, InsertItems, Op, RemoveItem, RemoveKey, SetValue
from portkit.gitops._render import block_lines, flow_text, literal_text, scalar_text

__all__ = [
    "CannotSplice",
    "CommentAt",
    "Style",
    "comment_document",
    "compose",
    "detect_style",
    "drop_document",
    "splice",
]


class CannotSplice(Exception):
    """The edit cannot be carried onto the text exactly; use the round-trip fallback."""


@attrs.frozen
class CommentAt:
    """Put a comment line above the item or key at ``path`` (of a block collection), at its indentation."""

    path: tuple[str | int, ...]
    text: str


def comment_lines(text: str, indent: int = 0) -> list[str]:
    """``text`` as YAML comment lines (one per line of text; control characters dropped)."""
    pad = " " * indent
    out = []
    for line in text.splitlines() or [""]:
        clean = "".join(c for c in line if c.isprintable())
        out.append(f"{pad}# {clean}".rstrip())
    return out


@attrs.frozen
class Style:
    """How a file indents: nested mappings by ``mapping`` spaces, sequence dashes by ``offset`` spaces
    under their key (0: kubectl's ``key:\\n- item``, 2: ``key:\\n  - item``)."""

    mapping: int = 2
    offset: int = 2


_KEY_LINE = re.compile(r"^( *)(?:- )?[^\s#-][^#]*:\s*(?:#.*)?$")


def detect_style(text: str) -> Style:
    """The indentation most lines of ``text`` use (2 and 2 when nothing tells)."""
    maps: Counter[int] = Counter()
    seqs: Counter[int] = Counter()
    lines = text.split("\n")
    for i, line in enumerate(lines[:-1]):
        m = _KEY_LINE.match(line)
        if not m:
            continue
        col = len(m.group(1)) + (2 if line.lstrip(" ").startswith("- ") else 0)
        for nxt in lines[i + 1 :]:
            stripped = nxt.lstrip(" ")
            if not stripped or stripped.startswith("#"):
                continue
            ind = len(nxt) - len(stripped)
            if stripped.startswith("- ") or stripped == "-":
                if ind - col in (0, 2, 4):
                    seqs[ind - col] += 1
            elif ind > col:
                maps[ind - col] += 1
            break
    mapping = maps.most_common(1)[0][0] if maps else 2
    offset = seqs.most_common(1)[0][0] if seqs else 2
    return Style(mapping=mapping if mapping in (2, 3, 4, 8) else 2, offset=offset)


#: the composer giving node positions: ``"libyaml"`` (PyYAML's C composer; bench/gitops_inplace.py needs a third
#: of the CPU time with it) or ``"ruamel"`` (ruamel.yaml's round-trip composer); both give the same positions
#: (the tests run both)
COMPOSER = "libyaml" if getattr(yaml, "__with_libyaml__", False) else "ruamel"


def compose(text: str, composer: str | None = None) -> Any:
    """The node tree of the one document in ``text``, or None when empty. Nodes carry their exact start
    and end positions (``start_mark.index``/``end_mark.index``, in characters) and style."""
    if (composer or COMPOSER) == "libyaml":
        return yaml.compose(text, Loader=yaml.CSafeLoader)
    from ruamel.yaml import YAML

    return YAML(typ="rt").compose(text)


# -- node helpers (ruamel.yaml nodes: .id, .value, .start_mark, .end_mark, .style, .flow_style) ----------


def _is_map(node: Any) -> bool:
    return bool(node.id == "mapping")


def _is_seq(node: Any) -> bool:
    return bool(node.id == "sequence")


def _is_scalar(node: Any) -> bool:
    return bool(node.id == "scalar")


def _is_empty_null(node: Any) -> bool:
    return _is_scalar(node) and node.value == "" and not node.style and node.start_mark.index == node.end_mark.index


def _key_matches(key_node: Any, step: str | int) -> bool:
    if not _is_scalar(key_node):
        return False
    return bool(key_node.value == (step if isinstance(step, str) else str(step)))


@attrs.define
class _Place:
    """A node found by path: the node, its holder (mapping or sequence), its key node (in a mapping) or
    index (in a sequence), and whether it sits inside a flow collection."""

    node: Any
    holder: Any
    key: Any
    index: int
    in_flow: bool


class _Doc:
    def __init__(self, text: str, root: Any, style: Style) -> None:
        self.text = text
        self.root = root
        self.style = style
        self.edits: list[tuple[int, int, str, int]] = []

    # -- positions ---------------------------------------------------------------------------------

    def line_start(self, i: int) -> int:
        return self.text.rfind("\n", 0, i) + 1

    def next_line(self, i: int) -> int:
        j = self.text.find("\n", i)
        return len(self.text) if j < 0 else j + 1

    def column(self, i: int) -> int:
        return i - self.line_start(i)

    def content_start(self, node: Any) -> int:
        """Where the node's own text starts, after an anchor (``&a``) or tag (``!t``)."""
        i = int(node.start_mark.index)
        text = self.text
        while i < len(text) and text[i] in "&!":
            while i < len(text) and text[i] not in " \t\n":
                i += 1
            while i < len(text) and text[i] in " \t":
                i += 1
        if (_is_map(node) or _is_seq(node)) and not node.flow_style and node.value:
            first = node.value[0][0] if _is_map(node) else node.value[0]
            if _is_seq(node):
                return self.dash_of(first)
            return self.content_start(first)
        return i

    def dash_of(self, item: Any) -> int:
        """The position of the ``-`` of a block sequence item."""
        i = self.content_start(item) if not _is_empty_null(item) else int(item.start_mark.index)
        j = i - 1
        while j >= 0 and self.text[j] in " \t\n":
            j -= 1
        if j < 0 or self.text[j] != "-":
            raise CannotSplice("no dash before a sequence item")
        return j

    def end_of(self, node: Any, fallback: int) -> int:
        """Where the node's last content ends (trailing comments and blank lines excluded)."""
        if _is_scalar(node):
            if _is_empty_null(node):
                return fallback
            end = int(node.end_mark.index)
            if node.style in ("|", ">"):
                span = self.text[node.start_mark.index : end]
                end = int(node.start_mark.index) + len(span.rstrip(" \t\n"))
            return end
        if node.flow_style or not node.value:
            return int(node.end_mark.index)
        if _is_map(node):
            key, value = node.value[-1]
            return self.end_of(value, self.colon_after(key) + 1)
        last = node.value[-1]
        return self.end_of(last, self.dash_of(last) + 1)

    def colon_after(self, key: Any) -> int:
        i = int(key.end_mark.index)
        text = self.text
        while i < len(text) and text[i] in " \t":
            i += 1
        if i >= len(text) or text[i] != ":":
            raise CannotSplice("no ':' after a key")
        return i

    def only_space_before(self, i: int) -> bool:
        return not self.text[self.line_start(i) : i].strip()

    def with_comments_above(self, i: int) -> int:
        """``i`` (a line start) moved up over the comment lines directly above it at the same indentation."""
        col = self.column(self.first_non_space(i))
        while i > 0:
            prev = self.line_start(i - 1)
            line = self.text[prev : i - 1]
            stripped = line.lstrip(" ")
            if stripped.startswith("#") and len(line) - len(stripped) == col:
                i = prev
            else:
                break
        return i

    def first_non_space(self, i: int) -> int:
        while i < len(self.text) and self.text[i] in " \t":
            i += 1
        return i

    # -- lookup ------------------------------------------------------------------------------------

    def find(self, path: Sequence[str | int]) -> _Place:
        node, holder, key, index, in_flow = self.root, None, None, -1, False
        for step in path:
            if node is None:
                raise CannotSplice("empty document")
            in_flow = in_flow or bool(getattr(node, "flow_style", False) and not _is_scalar(node))
            if _is_map(node):
                for k, v in node.value:
                    if _key_matches(k, step):
                        holder, key, index, node = node, k, -1, v
                        break
                else:
                    raise CannotSplice(f"key {step!r} not found (merge key or unusual key)")
            elif _is_seq(node) and isinstance(step, int) and 0 <= step < len(node.value):
                holder, key, index, node = node, None, step, node.value[step]
            else:
                raise CannotSplice(f"cannot step into {step!r}")
        return _Place(node, holder, key, index, in_flow)

    # -- edits -------------------------------------------------------------------------------------

    def edit(self, start: int, end: int, text: str, depth: int) -> None:
        self.edits.append((start, end, text, depth))

    def insert_lines(self, pos: int, lines: list[str], depth: int) -> None:
        text = "".join(line + "\n" for line in lines)
        if pos == len(self.text) and self.text and not self.text.endswith("\n"):
            text = "\n" + text.rstrip("\n")
        self.edit(pos, pos, text, depth)

    def block(self, value: Any, indent: int) -> list[str]:
        pad = " " * indent
        return [
            pad + line if line else line
            for line in block_lines(value, mapping=self.style.mapping, offset=self.style.offset)
        ]

    def result(self) -> str:
        # one walk over the text; at one position, deeper insertions come first (a new item of a
        # sequence that ends a mapping goes before a new key of that mapping)
        # the same edit twice: a node reached twice through an alias, changed alike
        edits = sorted(
            {(s, e, t): (s, e, t, d) for s, e, t, d in self.edits}.values(), key=lambda e: (e[0], e[1], -e[3])
        )
        out: list[str] = []
        prev = 0
        for start, end, new, _ in edits:
            if start < prev:
                raise CannotSplice("overlapping edits")
            out.append(self.text[prev:start])
            out.append(new)
            prev = end
        out.append(self.text[prev:])
        return "".join(out)

    # -- operations --------------------------------------------------------------------------------

    def set_value(self, path: Sequence[str | int], value: Any) -> None:
        if not path:
            raise CannotSplice("the whole document")
        place = self.find(path)
        node, depth = place.node, len(path)
        empty = isinstance(value, dict | list) and not value
        container = isinstance(value, dict | list) and not empty
        if _is_scalar(node) and not container and not empty:
            self._set_scalar(place, value, depth)
            return
        flow_node = (_is_map(node) or _is_seq(node)) and bool(node.flow_style)
        if place.in_flow or (flow_node and node.value):
            start = self.content_start(node) if not _is_empty_null(node) else None
            if start is None:
                raise CannotSplice("empty value in a flow collection")
            self.edit(start, int(node.end_mark.index), flow_text(value), depth)
            return
        # block context
        holder_is_map = place.key is not None
        if holder_is_map:
            colon = self.colon_after(place.key)
            key_col = self.column(self.content_start(place.key))
            end = self.end_of(node, colon + 1)
            if empty or not container:
                text = " " + (flow_text(value) if empty else scalar_text(value))
                self.edit(colon + 1, end, text, depth)
                return
            indent = key_col + (self.style.mapping if isinstance(value, dict) else self.style.offset)
            lines = self.block(value, indent)
            self.edit(colon + 1, end, "\n" + "\n".join(lines) + self._eof(end), depth)
            return
        # an item of a block sequence (or the root)
        if place.holder is None:
            raise CannotSplice("the whole document")
        dash = self.dash_of(node)
        start = self.content_start(node) if not _is_empty_null(node) else dash + 1
        end = self.end_of(node, dash + 1)
        if empty or not container:
            text = (" " if start == dash + 1 else "") + (flow_text(value) if empty else scalar_text(value))
            self.edit(start, end, text, depth)
            return
        item_col = self.column(dash) + 2
        lines = self.block(value, item_col)
        first = lines[0][item_col:]
        text = ("" if start > dash + 1 else " ") + "\n".join([first, *lines[1:]]) + self._eof(end)
        self.edit(start if start > dash + 1 else dash + 1, end, text, depth)

    def _eof(self, end: int) -> str:
        """A line break after block text that ends the file (a block scalar there needs one)."""
        return "\n" if end >= len(self.text) else ""

    def _set_scalar(self, place: _Place, value: Any, depth: int) -> None:
        node = place.node
        if _is_empty_null(node):
            if place.key is not None:
                pos = self.colon_after(place.key) + 1
            elif place.holder is not None:
                pos = self.dash_of(node) + 1
            else:
                raise CannotSplice("empty document")
            self.edit(pos, pos, " " + scalar_text(value, flow=place.in_flow), depth)
            return
        start, end = self.content_start(node), int(node.end_mark.index)
        if node.style in ("|", ">"):
            end = self.next_line(self.end_of(node, end))  # blank lines after the content stay as they are
            if isinstance(value, str) and "\n" in value and not value.startswith((" ", "\n", "\t")):
                new = literal_text(value, self._block_indent(start, end, place))
            else:
                new = scalar_text(value) + "\n"
            self.edit(start, end, new, depth)
            return
        style = node.style if node.style in ('"', "'") else None
        if isinstance(value, str) and "\n" in value:
            style = '"'
        self.edit(start, end, scalar_text(value, style=style, flow=place.in_flow), depth)

    def _block_indent(self, start: int, end: int, place: _Place) -> int:
        for line in self.text[start:end].split("\n")[1:]:
            if line.strip():
                return len(line) - len(line.lstrip(" "))
        base = self.column(self.content_start(place.key)) if place.key is not None else 0
        return base + self.style.mapping

    def add_keys(self, path: Sequence[str | int], items: Sequence[tuple[Any, Any]]) -> None:
        place = self.find(path)
        node, depth = place.node, len(path)
        if not _is_map(node):
            raise CannotSplice("adding keys to a non-mapping")
        if node.flow_style:
            if not node.value:
                if place.in_flow or not path:
                    start = self.content_start(node) + 1
                    self.edit(
                        start, start, ", ".join(f"{scalar_text(k, flow=True)}: {flow_text(v)}" for k, v in items), depth
                    )
                    return
                self.set_value(path, dict(items))
                return
            last_key, last_value = node.value[-1]
            pos = self.end_of(last_value, self.colon_after(last_key) + 1)
            text = "".join(f", {scalar_text(k, flow=True)}: {flow_text(v)}" for k, v in items)
            self.edit(pos, pos, text, depth)
            return
        if place.in_flow:
            raise CannotSplice("block mapping in flow context")
        first_key = node.value[0][0]
        indent = self.column(self.content_start(first_key))
        pos = self.next_line(self.end_of(node, 0))
        self.insert_lines(pos, self.block(dict(items), indent), depth)

    def remove_key(self, path: Sequence[str | int], key: Any) -> None:
        place = self.find(path)
        node, depth = place.node, len(path) + 1
        if not _is_map(node):
            raise CannotSplice("removing a key from a non-mapping")
        entries = node.value
        idx = next((i for i, (k, _) in enumerate(entries) if _key_matches(k, key)), None)
        if idx is None:
            raise CannotSplice(f"key {key!r} not found")
        k_node, v_node = entries[idx]
        if node.flow_style:
            self._remove_flow(
                entries, idx, lambda e: e[0], lambda e: self.end_of(e[1], self.colon_after(e[0]) + 1), node, depth
            )
            return
        k_start = self.content_start(k_node)
        v_end = self.end_of(v_node, self.colon_after(k_node) + 1)
        if self.only_space_before(k_start):
            start = self.with_comments_above(self.line_start(k_start))
            self.edit(start, self.next_line(v_end), "", depth)
            return
        if idx + 1 < len(entries):  # "- key: value" (first key on the dash line): the next key moves up
            self.edit(k_start, self.content_start(entries[idx + 1][0]), "", depth)
            return
        raise CannotSplice("removing the only key of a sequence item")

    def _remove_flow(self, entries: Sequence[Any], idx: int, first: Any, end_of: Any, node: Any, depth: int) -> None:
        if len(entries) == 1:
            start = self.content_start(node)
            self.edit(start + 1, int(node.end_mark.index) - 1, "", depth)
        elif idx + 1 < len(entries):
            self.edit(self.content_start(first(entries[idx])), self.content_start(first(entries[idx + 1])), "", depth)
        else:
            self.edit(end_of(entries[idx - 1]), end_of(entries[idx]), "", depth)

    def insert_items(self, path: Sequence[str | int], index: int, values: Sequence[Any]) -> None:
        place = self.find(path)
        node, depth = place.node, len(path)
        if not _is_seq(node):
            raise CannotSplice("inserting into a non-sequence")
        items = node.value
        if node.flow_style:
            rendered = [flow_text(v) for v in values]
            if not items:
                if place.in_flow or not path:
                    start = self.content_start(node) + 1
                    self.edit(start, start, ", ".join(rendered), depth)
                    return
                self.set_value(path, list(values))
                return
            if index < len(items):
                pos = self.content_start(items[index])
                self.edit(pos, pos, "".join(r + ", " for r in rendered), depth)
            else:
                pos = self.end_of(items[-1], int(items[-1].start_mark.index))
                self.edit(pos, pos, "".join(", " + r for r in rendered), depth)
            return
        if place.in_flow:
            raise CannotSplice("block sequence in flow context")
        dash = self.dash_of(items[0])
        if not self.only_space_before(dash):
            raise CannotSplice("a sequence that starts on its parent's line")
        dash_col = self.column(dash)
        lines = self.block(list(values), dash_col)
        if index < len(items):
            item_dash = self.dash_of(items[index])
            if not self.only_space_before(item_dash):
                raise CannotSplice("an item that does not start its line")
            pos = self.with_comments_above(self.line_start(item_dash))
        else:
            pos = self.next_line(self.end_of(node, 0))
        self.insert_lines(pos, lines, depth)

    def comment_at(self, path: Sequence[str | int], text: str) -> None:
        if not path:
            raise CannotSplice("a comment on the whole document")
        place = self.find(path)
        if place.in_flow or place.holder is None or place.holder.flow_style:
            raise CannotSplice("a comment inside a flow collection")
        start = self.dash_of(place.node) if place.key is None else self.content_start(place.key)
        if not self.only_space_before(start):
            raise CannotSplice("a comment for an item that does not start its line")
        pos = self.with_comments_above(self.line_start(start))
        self.insert_lines(pos, comment_lines(text, self.column(start)), len(path) + 1)

    def remove_item(self, path: Sequence[str | int], index: int) -> None:
        place = self.find(path)
        node, depth = place.node, len(path) + 1
        if not _is_seq(node) or not 0 <= index < len(node.value):
            raise CannotSplice("removing a missing item")
        items = node.value
        if node.flow_style:
            self._remove_flow(items, index, lambda e: e, lambda e: self.end_of(e, int(e.start_mark.index)), node, depth)
            return
        item = items[index]
        dash = self.dash_of(item)
        if not self.only_space_before(dash):
            raise CannotSplice("an item that does not start its line")
        start = self.with_comments_above(self.line_start(dash))
        self.edit(start, self.next_line(self.end_of(item, dash + 1)), "", depth)


def _root_span(text: str) -> tuple[_Doc, int, int]:
    try:
        node = compose(text)
    except Exception as exc:
        raise CannotSplice(f"cannot compose: {exc}") from None
    if node is None:
        raise CannotSplice("empty document")
    doc = _Doc(text, node, Style())
    start = doc.content_start(node)
    return doc, start, doc.next_line(doc.end_of(node, start))


def drop_document(text: str, comment: str) -> str:
    """``text`` (one document) with the document replaced by ``comment`` lines; comments above it and
    after it (and a ``---`` line) stay."""
    doc, start, end = _root_span(text)
    if doc.only_space_before(start):
        return text[: doc.line_start(start)] + "".join(f"{c}\n" for c in comment_lines(comment)) + text[end:]
    return text[:start].rstrip(" ") + "\n" + "".join(f"{c}\n" for c in comment_lines(comment)) + text[end:]


def comment_document(text: str, comment: str) -> str:
    """``text`` (one document) with ``comment`` lines just above the document's first line."""
    doc, start, _ = _root_span(text)
    pos = doc.line_start(start) if doc.only_space_before(start) else 0
    return text[:pos] + "".join(f"{c}\n" for c in comment_lines(comment)) + text[pos:]


def splice(text: str, ops: Sequence[Op | CommentAt], *, style: Style | None = None, root: Any = None) -> str:
    """``text`` (one YAML document) with ``ops`` carried out on it.

    Raises:
        CannotSplice: an operation cannot be expressed as an exact text edit.
    """
    if not ops:
        return text
    try:
        node = root if root is not None else compose(text)
    except Exception as exc:  # ruamel's errors have no common base worth naming
        raise CannotSplice(f"cannot compose: {exc}") from None
    if node is None:
        raise CannotSplice("empty document")
    doc = _Doc(text, node, style or detect_style(text))
    for op in ops:
        if isinstance(op, SetValue):
            doc.set_value(op.path, op.value)
        elif isinstance(op, AddKeys):
            doc.add_keys(op.path, op.items)
        elif isinstance(op, RemoveKey):
            doc.remove_key(op.path, op.key)
        elif isinstance(op, InsertItems):
            doc.insert_items(op.path, op.index, op.values)
        elif isinstance(op, RemoveItem):
            doc.remove_item(op.path, op.index)
        elif isinstance(op, CommentAt):
            doc.comment_at(op.path, op.text)
    return doc.result()
