"""Loading untrusted YAML and JSON: limits enforced while parsing, never after the damage is done.

YAML goes through libyaml (PyYAML's C parser) in one of two ways:

* **the fast path**, for the documents Kubernetes tools write (no anchors, aliases, merge keys or unusual
  tags): the parser's events are turned straight into dicts, lists and scalars by a small loop here. It
  rejects duplicate keys and nesting deeper than ``max_depth`` as it goes, resolves plain scalars exactly as
  PyYAML's safe loader does (YAML 1.1 booleans, ints, floats, null; timestamps stay strings, as
  Kubernetes keeps them) and is about three times faster than PyYAML's own constructor;
* **the guarded path**, for everything else: libyaml composes the node graph (aliases stay shared nodes,
  so an alias bomb costs only its own size), an iterative walk over the graph measures its depth and how
  many nodes the aliases would add when expanded and refuses it over the limits (and refuses aliases that
  refer to their own node), and only then PyYAML's safe constructor builds the objects, with duplicate keys
  rejected. Values JSON cannot hold (``!!set``, ``!!binary``) are refused; an explicit ``!!timestamp``
  stays text, as implicit ones do.

A document falls back from the fast path to the guarded path as soon as the fast path meets something it
does not handle; both give the same objects.

JSON goes through :func:`json.loads` with duplicate keys rejected and its depth checked; JSON nested deeper
than the interpreter can parse is refused the same way.
"""

from __future__ import annotations

import json
from typing import Any

import yaml
import yaml.constructor
import yaml.reader
from yaml import events as ev
from yaml._yaml import CParser  # the C extension: PyYAML's C parser is a hard requirement of portkit

from portkit.errors import BundleError, DocumentTooComplexError, DuplicateKeyError
from portkit.limits import DEFAULT_LIMITS, ReadLimits

__all__ = ["load_json", "load_yaml"]

_STR = "tag:yaml.org,2002:str"
_NULL = "tag:yaml.org,2002:null"
_BOOL = "tag:yaml.org,2002:bool"
_INT = "tag:yaml.org,2002:int"
_FLOAT = "tag:yaml.org,2002:float"
_MERGE = "tag:yaml.org,2002:merge"
_BOOLS = {"yes": True, "no": False, "true": True, "false": False, "on": True, "off": False}
_NO_KEY = object()


class _Fallback(Exception):
    """The fast path met something it does not handle; the guarded path loads the stream."""


def _fail_hint() -> str:
    return "Fix or regenerate the file."


class _GuardedLoader(yaml.CSafeLoader):
    """PyYAML's C safe loader: timestamps stay strings, duplicate keys are refused."""

    where = "YAML"

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        explicit = [k for k, _ in node.value if k.tag != _MERGE]  # before the merge keys are flattened
        merged = len(explicit) != len(node.value)
        mapping: dict[Any, Any] = super().construct_mapping(node, deep=deep)
        if merged or len(mapping) < len(explicit):  # merged keys may repeat explicit ones; explicit ones may not
            seen: set[Any] = set()
            for key_node in explicit:
                key = self.construct_object(key_node, deep=True)
                if key in seen:
                    raise _duplicate(self.where, key, key_node.start_mark.line)
                seen.add(key)
        return mapping


def _not_json(loader: _GuardedLoader, node: yaml.Node) -> Any:
    raise yaml.constructor.ConstructorError(
        None, None, f"the tag {node.tag} makes a value a Kubernetes object cannot hold (not JSON)", node.start_mark
    )


_GuardedLoader.add_constructor("tag:yaml.org,2002:set", _not_json)
_GuardedLoader.add_constructor("tag:yaml.org,2002:binary", _not_json)


def _as_text(loader: _GuardedLoader, node: yaml.ScalarNode) -> Any:
    return loader.construct_scalar(node)


_GuardedLoader.add_constructor("tag:yaml.org,2002:timestamp", _as_text)
_GuardedLoader.yaml_implicit_resolvers = {
    first: [r for r in resolvers if r[0] != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.CSafeLoader.yaml_implicit_resolvers.items()
}
_RESOLVERS: dict[str, list[tuple[str, Any]]] = _GuardedLoader.yaml_implicit_resolvers


def _duplicate(where: str, key: Any, line: int | None) -> DuplicateKeyError:
    text = repr(key)
    if len(text) > 80:
        text = text[:77] + "..."
    at = f": line {line + 1}" if line is not None else ""
    return DuplicateKeyError(
        f"{where}{at}: the key {text} appears twice in one mapping.",
        hint="Remove one of them (kubectl refuses such files too; YAML readers disagree on which one wins).",
    )


def _too_deep(where: str, limit: int, line: int | None = None) -> DocumentTooComplexError:
    at = f": line {line + 1}" if line is not None else ""
    return DocumentTooComplexError(
        f"{where}{at}: nested deeper than {limit} levels.",
        hint="Check the file; if it is right, raise ReadLimits(max_depth=...).",
    )


# ------------------------------------------------------------------------------------------- fast path


def _scalar(event: ev.ScalarEvent) -> Any:
    """The value of a scalar event, resolved as PyYAML's safe loader does; _Fallback for unusual ones."""
    value: str = event.value
    if event.tag is not None:
        if event.tag == _STR:
            return value
        raise _Fallback
    if not event.implicit[0]:  # quoted or block scalar without a tag: a string
        return value
    resolvers = _RESOLVERS.get(value[0] if value else "")
    if not resolvers:
        return value
    tag = next((t for t, regexp in resolvers if regexp.match(value)), None)
    if tag is None:
        return value
    if tag == _NULL:
        return None
    if tag == _BOOL:
        return _BOOLS[value.lower()]
    if tag == _INT and value.lstrip("-+").isdigit() and (value.lstrip("-+")[0] != "0" or value.lstrip("-+") == "0"):
        return int(value)  # plain decimal; octal, hex, binary, "_" and sexagesimal go the guarded path
    if tag == _FLOAT and "_" not in value and ":" not in value and value[-1] not in "fFnN":
        return float(value)
    raise _Fallback


def _fast(data: str | bytes, where: str, max_depth: int) -> list[Any]:
    """Events straight to objects (see the module docstring); raises _Fallback when it cannot."""
    parser = CParser(data)
    try:
        docs: list[Any] = []
        stack: list[Any] = []  # the open containers
        keys: list[Any] = []  # per open container: the key waiting for its value (_NO_KEY if none)
        get = parser.get_event
        get()  # StreamStart
        while True:
            event: Any = get()
            cls = type(event)
            if cls is ev.ScalarEvent:
                if event.anchor is not None:
                    raise _Fallback
                value = _scalar(event)
            elif cls is ev.MappingStartEvent or cls is ev.SequenceStartEvent:
                if event.anchor is not None or event.tag is not None:
                    raise _Fallback
                value = {} if cls is ev.MappingStartEvent else []
                if len(stack) >= max_depth:
                    raise _too_deep(where, max_depth, event.start_mark.line)
            elif cls is ev.MappingEndEvent or cls is ev.SequenceEndEvent:
                stack.pop()
                keys.pop()
                continue
            elif cls is ev.DocumentStartEvent or cls is ev.DocumentEndEvent:
                continue
            elif cls is ev.StreamEndEvent:
                return docs
            else:  # aliases
                raise _Fallback
            if not stack:
                docs.append(value)
            else:
                top = stack[-1]
                if type(top) is list:
                    top.append(value)
                elif keys[-1] is _NO_KEY:
                    if type(value) is dict or type(value) is list:
                        raise _Fallback  # a complex key: the guarded path reports it
                    if value in top:
                        raise _duplicate(where, value, event.start_mark.line)
                    keys[-1] = value
                else:
                    top[keys[-1]] = value
                    keys[-1] = _NO_KEY
            if type(value) is dict or type(value) is list:
                stack.append(value)
                keys.append(_NO_KEY)
    finally:
        parser.dispose()


# ---------------------------------------------------------------------------------------- guarded path


def _check_graph(root: yaml.Node, where: str, limits: ReadLimits) -> None:
    """Refuse a node graph nested too deep, whose aliases expand too far, or with an alias to its own node.

    One iterative post-order walk over the distinct nodes: each node's expanded size and height are
    computed once (aliases are shared nodes), so an alias bomb is measured in the time of its own size.
    """
    size: dict[int, int] = {}
    height: dict[int, int] = {}
    on_path: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        key = id(node)
        if done:
            on_path.discard(key)
            children = _children(node)
            size[key] = 1 + sum(size[id(c)] for c in children)
            h = 1 + max((height[id(c)] for c in children), default=0)
            if h > limits.max_depth:
                raise _too_deep(where, limits.max_depth, node.start_mark.line)
            height[key] = h
            continue
        if key in size:
            continue
        if isinstance(node, yaml.ScalarNode):
            size[key] = 1
            height[key] = 0
            continue
        if key in on_path:
            raise DocumentTooComplexError(
                f"{where}: line {node.start_mark.line + 1}: an alias refers to the node that holds it "
                "(a recursive structure).",
                hint=_fail_hint(),
            )
        on_path.add(key)
        stack.append((node, True))
        if len(on_path) > limits.max_depth:
            raise _too_deep(where, limits.max_depth, node.start_mark.line)
        stack.extend((c, False) for c in _children(node) if id(c) not in size)
    added = size[id(root)] - len(size)
    if added > limits.max_alias_nodes:
        raise DocumentTooComplexError(
            f"{where}: YAML aliases would expand the document by {added:,} nodes, over the limit of "
            f"{limits.max_alias_nodes:,} (an alias bomb?).",
            hint="Write the repeated parts out; if the file is right, raise ReadLimits(max_alias_nodes=...).",
        )


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [n for pair in node.value for n in pair]
    return list(node.value)  # a SequenceNode (scalars never get here)


def _guarded(data: str | bytes, where: str, limits: ReadLimits) -> list[Any]:
    loader = _GuardedLoader(data)
    loader.where = where
    try:
        docs: list[Any] = []
        while loader.check_node():
            node: Any = loader.get_node()
            _check_graph(node, where, limits)
            docs.append(loader.construct_document(node))
        return docs
    finally:
        loader.dispose()


# --------------------------------------------------------------------------------------------- public


def load_yaml(data: str | bytes, *, where: str, limits: ReadLimits = DEFAULT_LIMITS) -> list[Any]:
    """Every document of a YAML stream, within the limits.

    Raises:
        DuplicateKeyError: a mapping holds a key twice.
        DocumentTooComplexError: nested too deep, aliases expanding too far, or a recursive alias.
        BundleError: not valid YAML (with the line), or a value that cannot be built.
    """
    try:
        try:
            return _fast(data, where, limits.max_depth)
        except _Fallback:
            return _guarded(data, where, limits)
    except yaml.reader.ReaderError as exc:
        raise BundleError(
            f"{where}: cannot read YAML at character {exc.position}: {exc.reason} (#x{exc.character:02x}).",
            hint=_fail_hint(),
        ) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" at line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or "invalid YAML"
        if "nesting depth" in problem:  # libyaml's own limit (1,000 levels)
            raise _too_deep(where, limits.max_depth, mark.line if mark is not None else None) from None
        raise BundleError(f"{where}: cannot parse YAML{at}: {problem}.", hint=_fail_hint()) from None
    except (ValueError, TypeError, OverflowError) as exc:  # e.g. an integer of 5,000 digits
        raise BundleError(f"{where}: a value cannot be read: {str(exc)[:200]}.", hint=_fail_hint()) from None
    except RecursionError:  # not expected (both paths are iterative); never let one escape
        raise _too_deep(where, limits.max_depth) from None


def _pairs_hook(where: str) -> Any:
    def hook(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        obj = dict(pairs)
        if len(obj) != len(pairs):
            seen: set[str] = set()
            for key, _ in pairs:
                if key in seen:
                    raise _duplicate(where, key, None)
                seen.add(key)
        return obj

    return hook


def _json_depth_ok(value: Any, limit: int) -> bool:
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > limit:
            return False
        stack.extend((c, depth + 1) for c in children if isinstance(c, dict | list))
    return True


def load_json(data: str | bytes, *, where: str, limits: ReadLimits = DEFAULT_LIMITS) -> Any:
    """One JSON document, within the limits; duplicate keys refused.

    Raises:
        DuplicateKeyError, DocumentTooComplexError, BundleError: as :func:`load_yaml`.
    """
    try:
        value = json.loads(data, object_pairs_hook=_pairs_hook(where))
    except RecursionError:
        raise _too_deep(where, limits.max_depth) from None
    except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError, over-long integers
        raise BundleError(f"{where}: cannot parse JSON: {str(exc)[:200]}.", hint=_fail_hint()) from None
    if not _json_depth_ok(value, limits.max_depth):
        raise _too_deep(where, limits.max_depth)
    return value
