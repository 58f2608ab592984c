"""Deterministic YAML for bundles: a small fast emitter for manifests, PyYAML's C dumper as fallback,
and the loader for untrusted YAML (:mod:`portkit._safe_yaml`: limits, duplicate keys, timestamps kept as
strings as Kubernetes does)."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

import yaml

from portkit._safe_yaml import load_yaml
from portkit.limits import DEFAULT_LIMITS, ReadLimits

__all__ = ["Dumper", "double_quoted", "dump_yaml", "load_yaml_documents", "scalar"]

_SPECIAL_LINE_BREAKS = ("\u2028", "\u2029", "\x85", "\r")
_TOP_KEYS = ("apiVersion", "kind", "metadata")


class Dumper(yaml.CSafeDumper):
    """PyYAML's C dumper without anchors/aliases (every object stands alone)."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def _represent_str(dumper: Dumper, data: str) -> yaml.Node:
    if "\n" in data and not any(c in data for c in _SPECIAL_LINE_BREAKS):
        return dumper.represent_scalar("tag:yaml.org,2002:str", data, style="|")
    return dumper.represent_str(data)


Dumper.add_representer(str, _represent_str)


#: Plain (unquoted) scalars we emit: start with a letter, ``_`` or ``/``; no ``#``, no ``: ``, no
#: trailing ``:``; single spaces between words. Anything else is double-quoted.
_PLAIN = re.compile(r"[A-Za-z_/][A-Za-z0-9_./:@+=,()-]*(?: [A-Za-z0-9_./:@+=,()-]+)*")
#: Words YAML 1.1 readers (PyYAML, and go-yaml v2 under kubectl) take for booleans or null.
_YAML11_WORDS = frozenset(
    w
    for word in ("y", "n", "yes", "no", "true", "false", "on", "off", "null")
    for w in (word, word.capitalize(), word.upper())
)
_TRAILING_SPACE = re.compile(r"[ \t]\n")


class _Unsupported(Exception):
    """A value the fast emitter does not handle (dates, bytes, ...): PyYAML dumps the object instead."""


def scalar(value: object) -> str:
    """One YAML 1.1 and 1.2 scalar for ``None``, a bool, number or one-line string; floats keep a ``.``
    so every reader takes them back as floats (``1.0e+20``, not ``1e+20``)."""
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value != value:
            return ".nan"
        if value in (float("inf"), float("-inf")):
            return ".inf" if value > 0 else "-.inf"
        text = repr(value).lower()
        return text.replace("e", ".0e", 1) if "." not in text and "e" in text else text
    if isinstance(value, str):
        if _PLAIN.fullmatch(value) and not value.endswith(":") and ": " not in value and value not in _YAML11_WORDS:
            return value
        return double_quoted(value)
    raise _Unsupported(type(value).__name__)


def double_quoted(value: str) -> str:
    """A YAML double-quoted scalar: JSON string syntax, with characters that are not printable escaped."""
    text = json.dumps(value, ensure_ascii=False)
    if text.isprintable():
        return text
    return "".join(
        c if c.isprintable() else (f"\\u{ord(c):04x}" if ord(c) < 0x10000 else f"\\U{ord(c):08x}") for c in text
    )


def _block_literal(value: str, indent: str) -> str | None:
    """``|`` block text for a multi-line string, or None when a block could not hold it exactly."""
    if (
        value.startswith((" ", "\n", "\t"))
        or value.endswith("\n\n")
        or _TRAILING_SPACE.search(value)
        or value.endswith((" ", "\t"))
        or not value.replace("\n", "").replace("\t", "").isprintable()
    ):
        return None
    chomp = "" if value.endswith("\n") else "-"
    lines = value[:-1].split("\n") if value.endswith("\n") else value.split("\n")
    return f"|{chomp}\n" + "".join(f"{indent}{line}\n" if line else "\n" for line in lines)


def _emit(value: Any, indent: str, out: list[str]) -> None:
    """Append the block-style YAML of a mapping or sequence whose items start at ``indent``."""
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str | int | bool) or (isinstance(key, str) and "\n" in key):
                raise _Unsupported("key")
            out.append(f"{indent}{scalar(key)}:")
            _emit_item(item, indent, out, in_list=False)
    else:
        for item in value:
            out.append(f"{indent}-")
            _emit_item(item, indent, out, in_list=True)


def _emit_item(item: Any, indent: str, out: list[str], *, in_list: bool) -> None:
    if isinstance(item, dict) and item:
        if in_list:  # "- key: value" with the following keys aligned under the first
            inner: list[str] = []
            _emit(item, indent + "  ", inner)
            out.append(" " + inner[0][len(indent) + 2 :])
            out.extend(inner[1:])
        else:
            out.append("\n")
            _emit(item, indent + "  ", out)
    elif isinstance(item, list) and item:
        if in_list:
            inner = []
            _emit(item, indent + "  ", inner)
            out.append(" " + inner[0][len(indent) + 2 :])
            out.extend(inner[1:])
        else:
            out.append("\n")
            _emit(item, indent, out)  # block sequences in mappings are not indented (kubectl style)
    elif isinstance(item, dict):
        out.append(" {}\n")
    elif isinstance(item, list | tuple):
        if item:
            raise _Unsupported("tuple")
        out.append(" []\n")
    elif isinstance(item, str) and "\n" in item:
        block = _block_literal(item, indent + "  ")
        out.append(" " + (block if block is not None else scalar(item) + "\n"))
    else:
        out.append(f" {scalar(item)}\n")


def dump_yaml(obj: Mapping[str, Any]) -> bytes:
    """Serialize one manifest to YAML bytes, deterministically.

    ``apiVersion``, ``kind`` and ``metadata`` come first, the other keys keep their order; multi-line
    strings use ``|`` blocks; lines are never folded; strings that YAML 1.1 readers (kubectl's included)
    could take for another type are quoted. A small emitter does the common case fast; values it does
    not know (dates, bytes) go through PyYAML's C dumper.
    """
    ordered = {k: obj[k] for k in _TOP_KEYS if k in obj}
    ordered.update((k, v) for k, v in obj.items() if k not in ordered)
    out: list[str] = []
    try:
        _emit(ordered, "", out)
    except _Unsupported:
        return _dump_with_pyyaml(ordered)
    return "".join(out).encode("utf-8")


def _dump_with_pyyaml(obj: Mapping[str, Any]) -> bytes:
    text: str = yaml.dump(
        dict(obj), Dumper=Dumper, sort_keys=False, default_flow_style=False, allow_unicode=True, width=2**31 - 1
    )
    return text.encode("utf-8")


def load_yaml_documents(text: str | bytes, *, where: str, limits: ReadLimits = DEFAULT_LIMITS) -> list[Any]:
    """Parse every document of a YAML stream (timestamps stay strings) within ``limits``.

    Raises:
        BundleError: naming ``where`` (and the line): invalid YAML, a duplicate key
            (:class:`~portkit.errors.DuplicateKeyError`), nesting too deep or aliases expanding too far
            (:class:`~portkit.errors.DocumentTooComplexError`).
    """
    return load_yaml(text, where=where, limits=limits)
