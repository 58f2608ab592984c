"""Comparing manifests: content hashes, field-level diffs and "does the live object hold these fields"."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

import attrs

from portkit.display import truncate
from portkit.redact import REDACTED, is_secret

__all__ = [
    "REDACTED",
    "FieldDiff",
    "content_sha256",
    "effective_desired",
    "is_secret",
    "object_diff",
    "quantity_equal",
    "strip_for_apply",
    "subset_diff",
]

#: Metadata the server owns; never part of a diff.
_NOISE_META = frozenset({"managedFields", "resourceVersion", "generation", "creationTimestamp", "uid", "selfLink"})
#: Keys under which values are Kubernetes quantities ("500m", "1Gi").
_QUANTITY_PARENTS = frozenset({"requests", "limits", "capacity", "hard", "allocatable", "overhead"})
_QUANTITY_KEYS = frozenset({"storage", "sizeLimit"})
_QUANTITY_RE = re.compile(r"^([+-]?[0-9.]+)([eE][+-]?[0-9]+|[numkMGTPE]|[KMGTPE]i)?$")
_SUFFIX = {
    "n": Decimal("1e-9"),
    "u": Decimal("1e-6"),
    "m": Decimal("1e-3"),
    "": Decimal(1),
    "k": Decimal("1e3"),
    "M": Decimal("1e6"),
    "G": Decimal("1e9"),
    "T": Decimal("1e12"),
    "P": Decimal("1e15"),
    "E": Decimal("1e18"),
    "Ki": Decimal(2**10),
    "Mi": Decimal(2**20),
    "Gi": Decimal(2**30),
    "Ti": Decimal(2**40),
    "Pi": Decimal(2**50),
    "Ei": Decimal(2**60),
}


@attrs.frozen
class FieldDiff:
    """One field that differs: ``old`` is the live value (None when absent), ``new`` the planned one.

    Values of Secrets are never kept: they read ``<redacted>``.
    """

    path: str
    old: Any
    new: Any

    @property
    def change(self) -> str:
        """``add``, ``remove`` or ``change``."""
        if self.old is None:
            return "add"
        if self.new is None:
            return "remove"
        return "change"

    def __str__(self) -> str:
        if self.old is None:
            return f"+ {self.path}: {_short(self.new)}"
        if self.new is None:
            return f"- {self.path}: {_short(self.old)}"
        return f"~ {self.path}: {_short(self.old)} -> {_short(self.new)}"

    def to_dict(self) -> dict[str, Any]:
        """Plain dict form."""
        return {"path": self.path, "change": self.change, "old": self.old, "new": self.new}


def _short(value: Any) -> str:
    if isinstance(value, dict | list):
        return truncate(json.dumps(value, sort_keys=True), 80)
    return truncate(json.dumps(value) if isinstance(value, str) else value, 80)


def content_sha256(obj: Mapping[str, Any]) -> str:
    """sha256 (hex) of a manifest's canonical JSON (sorted keys, no spaces)."""
    data = json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(data.encode("utf-8")).hexdigest()


def effective_desired(obj: Mapping[str, Any]) -> dict[str, Any]:
    """The manifest as the server will store it, as far as comparison needs: Secret stringData → data."""
    result = dict(obj)
    if is_secret(obj) and isinstance(obj.get("stringData"), Mapping):
        data = dict(obj.get("data") or {})
        for key, value in obj["stringData"].items():
            data[key] = base64.b64encode(str(value).encode()).decode()
        result["data"] = data
        del result["stringData"]
    return result


def _parse_quantity(value: Any) -> Decimal | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return Decimal(str(value))
    if not isinstance(value, str):
        return None
    match = _QUANTITY_RE.match(value.strip())
    if not match:
        return None
    number, suffix = match.group(1), match.group(2) or ""
    try:
        base = Decimal(number)
        if suffix[:1] in ("e", "E"):
            return base * (Decimal(10) ** int(suffix[1:]))
        return base * _SUFFIX[suffix]
    except (InvalidOperation, KeyError, ValueError):
        return None


def quantity_equal(a: Any, b: Any) -> bool:
    """True when two Kubernetes quantities denote the same amount (``"1000m"`` and ``"1"``)."""
    qa, qb = _parse_quantity(a), _parse_quantity(b)
    return qa is not None and qb is not None and qa == qb


def _scalar_equal(want: Any, have: Any, key: str, parent: str) -> bool:
    if want == have and type(want) is type(have):
        return True
    if isinstance(want, int | float) and isinstance(have, int | float) and not isinstance(want, bool):
        return bool(want == have)
    if parent in _QUANTITY_PARENTS or key in _QUANTITY_KEYS:
        return quantity_equal(want, have)
    return False


def _empty(value: Any) -> bool:
    return value is None or value == {} or value == []


def _named_list(items: list[Any]) -> bool:
    return bool(items) and all(isinstance(i, dict) and isinstance(i.get("name"), str) for i in items)


def subset_diff(
    desired: Any,
    live: Any,
    *,
    path: str = "",
    key: str = "",
    parent: str = "",
    secret: bool = False,
    limit: int = 50,
) -> list[FieldDiff]:
    """Fields of ``desired`` that ``live`` does not hold with the same value (extra live fields are fine).

    Lists of named items (containers, ports, env) are matched by ``name``; other lists element by element.
    Quantities compare by amount. Empty desired values match absent live ones. Secret values are redacted.
    """
    out: list[FieldDiff] = []
    _subset(desired, live, path, key, parent, secret, out, limit)
    return out


def _subset(
    want: Any, have: Any, path: str, key: str, parent: str, secret: bool, out: list[FieldDiff], limit: int
) -> None:
    if len(out) >= limit:
        return
    if want == have and type(want) is type(have):
        return  # whole subtree identical (one C-level comparison; dicts of different sizes fail at once)
    if isinstance(want, dict):
        if not isinstance(have, dict):
            if not (_empty(want) and have is None):
                out.append(_mk(path, have, want, secret))
            return
        for k, v in want.items():
            if path == "metadata" and k in _NOISE_META:
                continue
            sub = f"{path}.{k}" if path else str(k)
            if k not in have:
                if not _empty(v):
                    out.append(_mk(sub, None, v, secret))
                continue
            _subset(v, have[k], sub, str(k), key, secret, out, limit)
        return
    if isinstance(want, list):
        if not isinstance(have, list):
            if not (_empty(want) and have is None):
                out.append(_mk(path, have, want, secret))
            return
        if _named_list(want) and _named_list(have):
            by_name = {i["name"]: i for i in have}
            for item in want:
                sub = f"{path}[{item['name']}]"
                if item["name"] not in by_name:
                    out.append(_mk(sub, None, item, secret))
                else:
                    _subset(item, by_name[item["name"]], sub, key, key, secret, out, limit)
            return
        if len(want) != len(have):
            out.append(_mk(path, have, want, secret))
            return
        for i, (w, h) in enumerate(zip(want, have, strict=True)):
            _subset(w, h, f"{path}[{i}]", key, key, secret, out, limit)
        return
    if not _scalar_equal(want, have, key, parent):
        out.append(_mk(path, have, want, secret))


def _mk(path: str, old: Any, new: Any, secret: bool) -> FieldDiff:
    if secret:  # every field of a Secret diff: its values, and labels or type too (one rule, no guessing)
        return FieldDiff(path, None if old is None else REDACTED, None if new is None else REDACTED)
    return FieldDiff(path, old, new)


def object_diff(live: Any, new: Any, *, secret: bool = False, limit: int = 200) -> list[FieldDiff]:
    """Every difference between two full objects (server-owned metadata and ``status`` ignored)."""
    out: list[FieldDiff] = []
    _full(live, new, "", secret, out, limit)
    return out


def _full(old: Any, new: Any, path: str, secret: bool, out: list[FieldDiff], limit: int) -> None:
    if len(out) >= limit:
        return
    if isinstance(old, dict) and isinstance(new, dict):
        for k in sorted(set(old) | set(new), key=str):
            if path == "" and k == "status":
                continue
            if path == "metadata" and k in _NOISE_META:
                continue
            sub = f"{path}.{k}" if path else str(k)
            if k not in old:
                out.append(_mk(sub, None, new[k], secret))
            elif k not in new:
                out.append(_mk(sub, old[k], None, secret))
            else:
                _full(old[k], new[k], sub, secret, out, limit)
        return
    if isinstance(old, list) and isinstance(new, list):
        if _named_list(old) and _named_list(new) and len({i["name"] for i in new}) == len(new):
            olds = {i["name"]: i for i in old}
            news = {i["name"]: i for i in new}
            for name in list(olds) + [n for n in news if n not in olds]:
                sub = f"{path}[{name}]"
                if name not in news:
                    out.append(_mk(sub, olds[name], None, secret))
                elif name not in olds:
                    out.append(_mk(sub, None, news[name], secret))
                else:
                    _full(olds[name], news[name], sub, secret, out, limit)
            return
        if len(old) == len(new):
            for i, (a, b) in enumerate(zip(old, new, strict=True)):
                _full(a, b, f"{path}[{i}]", secret, out, limit)
            return
    if old != new or type(old) is not type(new):
        out.append(_mk(path, old, new, secret))


def strip_for_apply(obj: Mapping[str, Any]) -> dict[str, Any]:
    """Drop what server-side apply must not receive (status, server-owned metadata)."""
    out = {k: v for k, v in obj.items() if k != "status"}
    meta = {
        k: v
        for k, v in (obj.get("metadata") or {}).items()
        if k not in ("resourceVersion", "uid", "creationTimestamp", "managedFields", "generation", "selfLink")
    }
    out["metadata"] = meta
    return out
