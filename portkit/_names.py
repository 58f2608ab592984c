"""Checks of Kubernetes names that come from files or callers before they are used (journal records, the
arguments portkit gives the ``velero`` CLI).

The rules are the API server's: a namespace is an RFC 1123 label, most object names are RFC 1123
subdomains, and any object name must at least be a valid path segment (not ``.`` or ``..``, no ``/``
or ``%``). portkit is stricter than the last rule in one way: no whitespace or control characters.
"""

from __future__ import annotations

import re

__all__ = [
    "is_api_group",
    "is_dns_label",
    "is_dns_subdomain",
    "is_kind",
    "is_object_name",
    "is_version",
    "why_not_dns_label",
    "why_not_dns_subdomain",
]

_LABEL = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?"
_LABEL_RE = re.compile(rf"{_LABEL}")
_SUBDOMAIN_RE = re.compile(rf"{_LABEL}(\.{_LABEL})*")
_KIND_RE = re.compile(r"[A-Za-z][A-Za-z0-9]*")
# printable ASCII and non-ASCII letters; no whitespace, no controls, no '/' or '%'
_FORBIDDEN_IN_NAME = re.compile(r"[\x00-\x20\x7f-\x9f/%\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]")


def is_dns_label(value: object) -> bool:
    """An RFC 1123 label (namespaces): lower-case alphanumerics and '-', at most 63 characters."""
    return isinstance(value, str) and 0 < len(value) <= 63 and _LABEL_RE.fullmatch(value) is not None


def is_dns_subdomain(value: object) -> bool:
    """An RFC 1123 subdomain (most object names): labels joined by '.', at most 253 characters."""
    return isinstance(value, str) and 0 < len(value) <= 253 and _SUBDOMAIN_RE.fullmatch(value) is not None


def is_object_name(value: object) -> bool:
    """A name the API server accepts for some kind and that is safe in a request path and a terminal:
    1-253 characters, not ``.`` or ``..``, no ``/``, ``%``, whitespace or control characters (RBAC names
    such as ``system:controller:x`` pass)."""
    return (
        isinstance(value, str)
        and 0 < len(value) <= 253
        and value not in (".", "..")
        and _FORBIDDEN_IN_NAME.search(value) is None
    )


def is_kind(value: object) -> bool:
    """A kind: a letter, then letters and digits (``Deployment``, ``ClusterRoleBinding``), at most 63."""
    return isinstance(value, str) and 0 < len(value) <= 63 and _KIND_RE.fullmatch(value) is not None


def is_api_group(value: object) -> bool:
    """An API group: ``""`` (the core group) or an RFC 1123 subdomain."""
    return value == "" or is_dns_subdomain(value)


def is_version(value: object) -> bool:
    """An API version within a group (``v1``, ``v1beta1``): an RFC 1123 label."""
    return is_dns_label(value)


def why_not_dns_label(value: object, what: str) -> str | None:
    """None when ``value`` is a valid RFC 1123 label, else a sentence saying why it cannot be ``what``."""
    if is_dns_label(value):
        return None
    return (
        f"{what} {value!r} is not a valid Kubernetes name: use at most 63 lower-case letters, digits and '-', "
        "starting and ending with a letter or digit"
    )


def why_not_dns_subdomain(value: object, what: str) -> str | None:
    """None when ``value`` is a valid RFC 1123 subdomain, else a sentence saying why it cannot be ``what``."""
    if is_dns_subdomain(value):
        return None
    return (
        f"{what} {value!r} is not a valid Kubernetes name: use at most 253 lower-case letters, digits, '-' "
        "and '.', starting and ending with a letter or digit"
    )
