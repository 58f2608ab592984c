"""Redaction of Secret values: the one helper every output path uses.

A Secret's values — ``data``, ``stringData`` and the values of ``metadata.annotations`` (OpenShift keeps a
ServiceAccount token in ``openshift.io/token-secret.value``; ``kubectl.kubernetes.io/last-applied-configuration``
holds a whole copy of the Secret) — never appear in change records, warnings, manual actions, reports,
JSON output, error messages or the apply journal. Keys stay readable; values read ``<redacted>``.

* :func:`redact_at` — a value found at a path of a Secret, with every secret value in it replaced (used by
  :class:`portkit.translate.Change` and the plan/verify diffs);
* :func:`redact_object` — a whole Secret with its values replaced;
* :func:`redact_message` — free text about a Secret (an API server's Status message, a warning) with every
  value of that Secret, and every ``Invalid value: "..."`` quotation, replaced.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from portkit.model import ObjectRef

__all__ = [
    "MIN_SCRUB_LENGTH",
    "REDACTED",
    "SECRET_VALUE_FIELDS",
    "is_secret",
    "is_secret_ref",
    "parse_pointer",
    "redact_at",
    "redact_message",
    "redact_object",
    "redact_text",
    "secret_values",
]

#: What a redacted value reads.
REDACTED = "<redacted>"
#: The fields of a Secret whose values are secret (paths from the object's root).
SECRET_VALUE_FIELDS: tuple[tuple[str, ...], ...] = (("data",), ("stringData",), ("metadata", "annotations"))
#: Values shorter than this are not searched for in free text (``"1"`` would redact every digit);
#: structured output redacts values of any length.
MIN_SCRUB_LENGTH = 4

# How the API server quotes a rejected value: field.Invalid / NotSupported / Duplicate / NotFound errors.
_QUOTED_VALUE = re.compile(
    r'((?:Invalid|Unsupported|Duplicate) value|Not found): ("(?:[^"\\]|\\.)*"|map\[[^\]]*\][^{\s]*\{[^}]*\}|\S+)'
)


def is_secret(obj: Mapping[str, Any]) -> bool:
    """True for a core ``v1`` Secret manifest."""
    return obj.get("kind") == "Secret" and str(obj.get("apiVersion") or "") == "v1"


def is_secret_ref(ref: ObjectRef | None) -> bool:
    """True when the reference names a core Secret."""
    return ref is not None and ref.kind == "Secret" and ref.group == ""


def parse_pointer(pointer: str) -> tuple[str, ...]:
    """The segments of an RFC 6901 JSON pointer (``/metadata/annotations/a~1b`` → ``metadata, annotations, a/b``)."""
    if not pointer:
        return ()
    return tuple(p.replace("~1", "/").replace("~0", "~") for p in pointer.lstrip("/").split("/"))


def _redact_map(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: (None if v is None else REDACTED) for k, v in value.items()}
    return REDACTED


def _redact_under(value: Any, rel: Sequence[str]) -> Any:
    if not rel:
        return _redact_map(value)
    if isinstance(value, Mapping) and rel[0] in value:
        out = dict(value)
        out[rel[0]] = _redact_under(value[rel[0]], rel[1:])
        return out
    return value


def redact_at(path: Sequence[str | int], value: Any) -> Any:
    """``value`` (found at ``path`` in a Secret) with every secret value in it replaced by ``<redacted>``.

    A value inside ``data``, ``stringData`` or ``metadata.annotations`` becomes ``<redacted>``; one of these
    maps becomes the same keys with redacted values; a container of them (``metadata``, the whole object)
    is copied with them redacted. Values elsewhere (labels, ``type``) are returned as they are.
    """
    if value is None:
        return None
    steps = tuple(str(p) for p in path)
    for field in SECRET_VALUE_FIELDS:
        n = len(field)
        if steps[:n] == field:
            return REDACTED if len(steps) > n else _redact_map(value)
    for field in SECRET_VALUE_FIELDS:
        if field[: len(steps)] == steps:
            value = _redact_under(value, field[len(steps) :])
    return value


def redact_object(obj: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of a Secret manifest with its values replaced (keys kept); other objects are copied as they are."""
    out: dict[str, Any] = dict(obj)
    if is_secret(obj):
        out = redact_at((), out)
    return out


def _decoded(value: str) -> str | None:
    try:
        raw = base64.b64decode(value, validate=True)
        return raw.decode("utf-8")
    except (binascii.Error, ValueError):
        return None


def secret_values(obj: Mapping[str, Any], *, _depth: int = 0) -> set[str]:
    """Every secret string of a Secret: data values (as stored and base64-decoded), stringData values and
    annotation values (and, for an annotation holding a JSON copy of the object, that copy's values)."""
    found: set[str] = set()
    if not isinstance(obj, Mapping):
        return found
    meta = obj.get("metadata")
    annotations = meta.get("annotations") if isinstance(meta, Mapping) else None
    for field, values in (("data", obj.get("data")), ("stringData", obj.get("stringData")), ("a", annotations)):
        if not isinstance(values, Mapping):
            continue
        for value in values.values():
            if not isinstance(value, str) or not value:
                continue
            found.add(value)
            if field == "data":
                plain = _decoded(value)
                if plain:
                    found.add(plain)
            elif field == "a" and _depth < 2 and value.lstrip().startswith("{"):
                try:
                    nested = json.loads(value)
                except ValueError:
                    continue
                found |= secret_values(nested, _depth=_depth + 1)
    return found


def redact_text(text: str, values: Iterable[str]) -> str:
    """``text`` with every occurrence of the given values (at least :data:`MIN_SCRUB_LENGTH` characters,
    also in their JSON-escaped form and per line of a multi-line value) replaced by ``<redacted>``."""
    if not text:
        return text
    needles: set[str] = set()
    for value in values:
        for form in (value, json.dumps(value)[1:-1], *value.splitlines()):
            if len(form.strip()) >= MIN_SCRUB_LENGTH:
                needles.add(form)
    for needle in sorted(needles, key=len, reverse=True):
        if needle in text:
            text = text.replace(needle, REDACTED)
    return text


def redact_message(message: str, obj: Mapping[str, Any] | None) -> str:
    """A message about ``obj`` safe to print, log and journal.

    For a Secret: its values are replaced, and so is every value the API server quotes
    (``Invalid value: "..."``), whatever it is. Messages about other objects are returned as they are.
    """
    if not message or obj is None or not is_secret(obj):
        return message
    text = redact_text(message, secret_values(obj))
    return _QUOTED_VALUE.sub(lambda m: f'{m.group(1)}: "{REDACTED}"', text)
