"""Request paths built safely: names and namespaces checked, every segment percent-encoded.

Names come from bundles, journals, manifests and API answers, none of which portkit controls. A name is
checked before it is used (:class:`InvalidNameError`, so nothing is sent), then percent-encoded as one path
segment, so ``?``, ``#``, ``%2F``, spaces or line breaks in a name can neither change the request's
target nor reach its header block.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote, urlencode

from portkit.errors import InvalidNameError

__all__ = [
    "check_name",
    "check_namespace",
    "collection_path",
    "group_version_path",
    "object_path",
    "query_string",
    "safe_path",
    "selector_value",
]

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_DNS_LABEL = re.compile(r"[a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?")
# a path that is already made of percent-encoded segments (RFC 3986 pchar and "/")
_SAFE_PATH = re.compile(r"/[A-Za-z0-9\-._~!$&'()*+,;=:@%/]*")


def _shown(value: object) -> str:
    """A short, escaped rendering of a bad value for an error message (no raw control characters)."""
    text = ascii(value) if isinstance(value, str) else type(value).__name__
    return text if len(text) <= 80 else text[:77] + "..."


def check_name(name: object, what: str = "name") -> str:
    """Return ``name`` when a Kubernetes object can have it; raise :class:`InvalidNameError` otherwise.

    Refused: empty, ``.`` and ``..``, anything containing ``/`` or ``%`` (the API server's own rule for
    names used in paths), control characters, and strings that cannot be encoded as UTF-8.
    """
    problem = ""
    if not isinstance(name, str):
        problem = "is not a string"
    elif not name:
        problem = "is empty"
    elif name in (".", ".."):
        problem = "may not be '.' or '..'"
    elif "/" in name or "%" in name:
        problem = "may not contain '/' or '%'"
    elif _CONTROL.search(name):
        problem = "contains control characters"
    else:
        try:
            name.encode("utf-8")
        except UnicodeEncodeError:
            problem = "is not valid Unicode text"
    if problem:
        raise InvalidNameError(
            f"The {what} {_shown(name)} {problem}: no Kubernetes object can have it, so no request was sent.",
            hint="Fix it where it came from: the bundle or manifest, an object that refers to it, or a journal.",
        )
    assert isinstance(name, str)
    return name


def check_namespace(namespace: object) -> str:
    """Return ``namespace`` when it is a valid namespace name (an RFC 1123 label); raise otherwise."""
    if not isinstance(namespace, str) or not _DNS_LABEL.fullmatch(namespace):
        raise InvalidNameError(
            f"The namespace {_shown(namespace)} is not a valid namespace name (lower-case letters, digits and "
            "'-', at most 63 characters): no request was sent.",
            hint="Fix it where it came from: a -n/--namespace flag, the bundle or manifest, a namespace map or a "
            "journal.",
        )
    return namespace


def _segment(value: str) -> str:
    return quote(value, safe="")


def _base(group: str, version: str) -> str:
    if group:
        return f"/apis/{_segment(group)}/{_segment(version)}"
    return f"/api/{_segment(version)}"


def collection_path(group: str, version: str, resource: str, namespace: str | None = None) -> str:
    """``/apis/<group>/<version>[/namespaces/<ns>]/<resource>`` with every segment encoded."""
    path = _base(group, version)
    if namespace:
        path += f"/namespaces/{_segment(check_namespace(namespace))}"
    return f"{path}/{_segment(resource)}"


def object_path(group: str, version: str, resource: str, name: str, namespace: str | None = None) -> str:
    """The path of one object; ``name`` is checked (an empty name never yields the collection path)."""
    return f"{collection_path(group, version, resource, namespace)}/{_segment(check_name(name))}"


def group_version_path(group: str, version: str) -> str:
    """``/api/<version>`` or ``/apis/<group>/<version>`` (legacy discovery), segments encoded."""
    return _base(group, version)


def safe_path(path: str) -> str:
    """Return ``path`` when it is an absolute path of percent-encoded segments; raise otherwise.

    Every request goes through this: a path built by string formatting from an unchecked name (with
    ``?``, ``#``, spaces or line breaks in it) is refused instead of sent.
    """
    if not isinstance(path, str) or not _SAFE_PATH.fullmatch(path):
        raise InvalidNameError(
            f"Refusing to send a request to the path {_shown(path)}: it holds characters that are not "
            "percent-encoded (a name with '?', '#', spaces or control characters?).",
            hint="Build request paths with ApiResource.path(), which checks and encodes names.",
        )
    return path


def selector_value(value: str) -> str:
    """``value`` escaped for a field selector term (``\\``, ``,`` and ``=`` escaped, as the API server reads them)."""
    return value.replace("\\", "\\\\").replace(",", "\\,").replace("=", "\\=")


def query_string(query: Mapping[str, Any] | None) -> str:
    """``a=1&b=x%20y`` from the non-empty values of ``query`` (keys and values percent-encoded)."""
    if not query:
        return ""
    return urlencode({k: v for k, v in query.items() if v is not None and v != ""})
