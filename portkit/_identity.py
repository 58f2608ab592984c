"""Checks of an object's identity (group, version, kind, namespace, name) before it names a file.

An object's identity becomes a path in a bundle (:func:`portkit.bundle.object_path`), so it is checked
the way the API server would check it, before any path is built: a namespace is a DNS label (at most 63
characters; so it can never be ``_cluster``), a group a DNS subdomain, a version a DNS label, a kind a
letter followed by letters, digits and ``-``, and a name at most 253 characters without control
characters, ``/``, ``.`` or ``..``. A 5,000-character namespace or a NUL in a name is a clear error
instead of an ``OSError`` from the file system.
"""

from __future__ import annotations

import re

__all__ = ["MAX_NAME_CHARS", "identity_problem"]

#: Longest object name accepted (the Kubernetes limit for names that are DNS subdomains).
MAX_NAME_CHARS = 253

_DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?")
_DNS_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
_KIND = re.compile(r"[A-Za-z]([-A-Za-z0-9]{0,61}[A-Za-z0-9])?")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def _show(value: str) -> str:
    text = repr(value)
    return text if len(text) <= 60 else f"{text[:40]}...' ({len(value)} characters)"


def identity_problem(group: str, version: str, kind: str, namespace: str, name: str) -> str | None:
    """What is wrong with an identity (a short sentence fragment), or ``None`` when it is valid.

    ``namespace`` is ``""`` for cluster-scoped objects and ``group`` ``""`` for the core group.
    """
    if group and (len(group) > 253 or not _DNS_SUBDOMAIN.fullmatch(group)):
        return f"an invalid API group {_show(group)} (expected a lowercase DNS subdomain)"
    if not _DNS_LABEL.fullmatch(version):
        return f"an invalid API version {_show(version)}"
    if not _KIND.fullmatch(kind):
        return f"an invalid kind {_show(kind)} (expected letters, digits and '-', at most 63)"
    if namespace and not _DNS_LABEL.fullmatch(namespace):
        return (
            f"an invalid metadata.namespace {_show(namespace)} "
            "(a namespace is lowercase letters, digits and '-', at most 63 characters)"
        )
    if len(name) > MAX_NAME_CHARS:
        return f"a metadata.name of {len(name)} characters (at most {MAX_NAME_CHARS})"
    if _CONTROL.search(name) or "/" in name or name in (".", ".."):
        return f"an invalid metadata.name {_show(name)}"
    return None
