"""Text for new values: scalars in the style of the value they replace, flow collections, and block
collections in a file's indentation (emitted by ruamel.yaml).

Strings are written plain only when every YAML reader takes them back as the same string: YAML 1.1
readers (PyYAML, kubectl's go-yaml) read ``yes``/``on``/``0755`` as booleans and numbers, YAML 1.2
readers read ``0o14`` and ``1e3`` as numbers; such strings are quoted.
"""

from __future__ import annotations

import functools
import io
import re
from typing import Any

import yaml
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.scalarstring import DoubleQuotedScalarString, LiteralScalarString

from portkit._yaml import double_quoted, scalar

__all__ = ["block_lines", "flow_text", "plain_ok", "scalar_text"]

_RESOLVER = yaml.resolver.Resolver()
_STR = "tag:yaml.org,2002:str"
_YAML12_NUMBER = re.compile(
    r"[-+]?(?:0o[0-7]+|0x[0-9a-fA-F]+|[0-9][0-9_]*(?:\.[0-9_]*)?(?:[eE][-+]?[0-9]+)?|\.[0-9]+(?:[eE][-+]?[0-9]+)?"
    r"|\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))"
)
_FIRST_BAD = frozenset("[]{}#&*!|>'\"%@`,")
_FLOW_BAD = frozenset(",[]{}")


@functools.lru_cache(maxsize=4096)
def plain_ok(value: str, flow: bool = False) -> bool:
    """True when ``value`` can be written as a plain scalar (in a flow collection when ``flow``)."""
    if not value or not value.isprintable() or value != value.strip():
        return False
    first = value[0]
    if first in _FIRST_BAD:
        return False
    if first in "-?:" and (len(value) == 1 or value[1] in " \t"):
        return False
    if ": " in value or " #" in value or value.endswith(":") or "\t" in value:
        return False
    if flow:
        if any(c in _FLOW_BAD for c in value):
            return False
        if re.search(r":(?:[ ,\[\]{}]|$)", value):
            return False
    if _YAML12_NUMBER.fullmatch(value) or value == "~":
        return False
    tag: str = _RESOLVER.resolve(yaml.ScalarNode, value, (True, False))  # type: ignore[no-untyped-call]
    return tag == _STR


def _literal_ok(value: str) -> bool:
    if "\n" not in value or value.startswith((" ", "\t", "\n")):
        return False
    return all(line.isprintable() and line == line.rstrip(" \t") for line in value.split("\n"))


def literal_text(value: str, indent: int) -> str:
    """A ``|`` block scalar (header and content lines, ending with a line break) at ``indent`` spaces."""
    stripped = value.rstrip("\n")
    trailing = len(value) - len(stripped)
    chomp = "-" if trailing == 0 else ("" if trailing == 1 else "+")
    pad = " " * indent
    lines = [pad + line if line else "" for line in stripped.split("\n")]
    extra = [""] * (trailing - 1) if trailing > 1 else []
    return f"|{chomp}\n" + "\n".join([*lines, *extra]) + "\n"


def scalar_text(value: Any, *, style: str | None = None, flow: bool = False) -> str:
    """One scalar on one line: in the quoting ``style`` of the scalar it replaces (``"``, ``'`` or None
    for plain) when that can hold it, else plain when safe, else double-quoted."""
    if value is None or isinstance(value, int | float):  # bool is an int
        return scalar(value)
    if not isinstance(value, str):
        raise TypeError(f"not a scalar: {type(value).__name__}")
    if style == '"':
        return double_quoted(value)
    if style == "'" and value.isprintable():
        return "'" + value.replace("'", "''") + "'"
    if plain_ok(value, flow):
        return value
    return double_quoted(value)


def flow_text(value: Any) -> str:
    """A value in flow style on one line: ``{a: b, c: [1, 2]}``."""
    if isinstance(value, dict):
        return "{" + ", ".join(f"{scalar_text(k, flow=True)}: {flow_text(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(flow_text(v) for v in value) + "]"
    return scalar_text(value, flow=True)


def _to_ruamel(value: Any) -> Any:
    if isinstance(value, dict):
        out = CommentedMap()
        for k, v in value.items():
            out[_to_ruamel(k) if isinstance(k, str) else k] = _to_ruamel(v)
        return out
    if isinstance(value, list):
        return CommentedSeq([_to_ruamel(v) for v in value])
    if isinstance(value, str):
        if _literal_ok(value):
            return LiteralScalarString(value)
        if not plain_ok(value):
            return DoubleQuotedScalarString(value)
    return value


@functools.lru_cache(maxsize=16)
def _emitter(mapping: int, offset: int) -> YAML:
    y = YAML(typ="rt")
    y.width = 2**30
    y.indent(mapping=mapping, sequence=offset + 2, offset=offset)
    y.representer.add_representer(type(None), lambda rep, _data: rep.represent_scalar("tag:yaml.org,2002:null", "null"))
    return y


def block_lines(value: dict[Any, Any] | list[Any], *, mapping: int = 2, offset: int = 0) -> list[str]:
    """A non-empty mapping or sequence in block style as lines starting at column 0 (nested mappings
    indented by ``mapping``, sequence dashes by ``offset`` under their key), emitted by ruamel.yaml."""
    buf = io.StringIO()
    _emitter(mapping, offset).dump(_to_ruamel(value), buf)
    lines = buf.getvalue().rstrip("\n").split("\n")
    if lines and lines[-1] == "...":
        lines.pop()
    lead = min((len(line) - len(line.lstrip(" ")) for line in lines if line.strip()), default=0)
    return [line[lead:] for line in lines]
