"""User overrides of profile defaults (storage classes, image registries, zones, ingress class)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

import attrs

from portkit._kv import split_key_value
from portkit.errors import TranslationError

__all__ = ["Mappings", "parse_map_flags"]

_ALIASES = {
    "storage_classes": "storage_classes",
    "storage_class": "storage_classes",
    "storageclass": "storage_classes",
    "storageclasses": "storage_classes",
    "images": "images",
    "image": "images",
    "registries": "images",
    "zones": "zones",
    "zone": "zones",
    "regions": "zones",
    "region": "zones",
    "ingress_class": "ingress_class",
    "ingressclass": "ingress_class",
    "image_pull_secrets": "image_pull_secrets",
    "pullsecret": "image_pull_secrets",
    "pull_secrets": "image_pull_secrets",
    "imagepullsecret": "image_pull_secrets",
    "node_pools": "node_pools",
    "nodepool": "node_pools",
    "node_pool": "node_pools",
}


_LABEL_VALUE = re.compile(r"(?=.{1,63}$)[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?")


def _str_map(value: object, key: str) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise TranslationError(f"mapping {key!r} must be a dict of OLD: NEW strings, got {type(value).__name__}.")
    return {str(k): "" if v is None else str(v) for k, v in value.items()}


@attrs.frozen
class Mappings:
    """Overrides that win over profile defaults.

    Attributes:
        storage_classes: source class name → target class name.
        images: registry/image prefix → new prefix (longest prefix wins).
        zones: source zone or region value → target value (``""`` removes the value).
        ingress_class: the ingress class to use on the target (default: the target profile's, else nginx).
        image_pull_secrets: Secret names added to every pod spec's ``imagePullSecrets``.
        node_pools: source node-pool name → target node-pool name.
    """

    storage_classes: Mapping[str, str] = attrs.field(factory=dict)
    images: Mapping[str, str] = attrs.field(factory=dict)
    zones: Mapping[str, str] = attrs.field(factory=dict)
    ingress_class: str | None = None
    image_pull_secrets: tuple[str, ...] = ()
    node_pools: Mapping[str, str] = attrs.field(factory=dict)

    @classmethod
    def from_value(cls, value: Mappings | Mapping[str, Any] | None) -> Mappings:
        """Build from a dict such as ``{"storage_classes": {"gp3": "x"}, "ingress_class": "nginx"}``."""
        if value is None:
            return cls()
        if isinstance(value, Mappings):
            return value
        if not isinstance(value, Mapping):
            raise TranslationError(f"mappings must be a dict, got {type(value).__name__}.")
        fields: dict[str, Any] = {}
        for raw_key, raw in value.items():
            key = _ALIASES.get(str(raw_key).lower().replace("-", "_"))
            if key is None:
                raise TranslationError(
                    f"unknown mapping {raw_key!r}.",
                    hint="Use storage_classes, images, zones, ingress_class, image_pull_secrets or node_pools.",
                )
            if key == "ingress_class":
                fields[key] = None if raw in (None, "") else str(raw)
            elif key == "image_pull_secrets":
                items = [raw] if isinstance(raw, str) else list(raw or [])
                fields[key] = tuple(dict.fromkeys([*fields.get(key, ()), *(str(i) for i in items)]))
            else:
                merged = dict(fields.get(key, {}))
                merged.update(_str_map(raw, str(raw_key)))
                fields[key] = merged
        for old, new in (fields.get("zones") or {}).items():
            if new and not _LABEL_VALUE.fullmatch(new):
                raise TranslationError(
                    f"zone mapping {old}={new}: {new!r} cannot be a node label value (at most 63 letters, digits, "
                    "'-', '_' or '.', starting and ending with a letter or digit).",
                    hint="Use the zone name as the target's nodes carry it in topology.kubernetes.io/zone.",
                )
        return cls(**fields)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form."""
        return {
            "storage_classes": dict(self.storage_classes),
            "images": dict(self.images),
            "zones": dict(self.zones),
            "ingress_class": self.ingress_class,
            "image_pull_secrets": list(self.image_pull_secrets),
            "node_pools": dict(self.node_pools),
        }


def parse_map_flags(flags: Iterable[str]) -> dict[str, Any]:
    """Parse CLI ``--map`` values: ``images:OLD=NEW``, ``storageclass:OLD=NEW``, ``zone:OLD=NEW``,
    ``ingressclass:NEW``, ``pullsecret:NAME``, ``nodepool:OLD=NEW``."""
    out: dict[str, Any] = {}
    for flag in flags:
        kind, sep, rest = flag.partition(":")
        key = _ALIASES.get(kind.strip().lower().replace("-", "_"))
        if not sep or key is None:
            raise TranslationError(
                f"--map {flag!r}: expected KIND:OLD=NEW with KIND one of storageclass, images, zone, "
                "ingressclass, pullsecret, nodepool."
            )
        if key == "ingress_class":
            if not rest or "=" in rest:
                raise TranslationError(f"--map {flag!r}: use ingressclass:NAME.")
            out[key] = rest
            continue
        if key == "image_pull_secrets":
            if not rest:
                raise TranslationError(f"--map {flag!r}: use pullsecret:NAME.")
            out.setdefault(key, []).append(rest)
            continue
        # the first '=' separates (the ':' of a registry port, registry:5000/x, stays in OLD).
        old, new = split_key_value(rest, flag="--map", form=f"{kind}:OLD=NEW", error=TranslationError)
        out.setdefault(key, {})[old] = new
    return out
