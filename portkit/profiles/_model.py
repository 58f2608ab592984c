"""Typed views of provider profiles (built from the validated YAML data files)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import attrs

__all__ = [
    "CONFIDENCE",
    "LB_CONCEPTS",
    "TIERS",
    "ConceptBinding",
    "IdentityProfile",
    "IngressEquivalent",
    "IngressProfile",
    "LoadBalancerProfile",
    "Profile",
    "ProviderKind",
    "ProviderResource",
    "Registry",
    "ServiceImage",
    "SnapshotClassSpec",
    "StorageClassSpec",
    "StorageProfile",
    "TopologyProfile",
]

#: How sure the catalog is of a value: ``verified`` (provider sources/docs), ``community`` (seen only in
#: community manifests), ``unverified`` (a guess the catalog could not confirm).
CONFIDENCE = ("verified", "community", "unverified")

#: Storage performance tiers used to match classes between providers.
TIERS = ("hdd", "ssd", "fast-ssd", "shared")

#: Load-balancer concepts carried between providers. ``bool`` concepts have on/off values, ``value``
#: concepts pass a value through (with a format), ``manual`` ones need a person on the target.
LB_CONCEPTS: dict[str, str] = {
    "internal": "bool",
    "proxy_protocol": "bool",
    "health_check_path": "value",
    "health_check_port": "value",
    "health_check_protocol": "value",
    "health_check_interval": "value",
    "health_check_timeout": "value",
    "tls_certificate": "manual",
    "fixed_ip": "manual",
    "size": "drop",
    "subnet": "drop",
}


def _size_gi(text: str | None) -> float | None:
    if text is None:
        return None
    from portkit.profiles._quantity import parse_quantity

    return parse_quantity(text) / 2**30


@attrs.frozen
class StorageClassSpec:
    """One StorageClass a provider offers."""

    name: str
    provisioner: str
    tier: str
    parameters: Mapping[str, str] = attrs.field(factory=dict)
    binding_mode: str = "WaitForFirstConsumer"
    reclaim_policy: str = "Delete"
    allow_expansion: bool = True
    access_modes: tuple[str, ...] = ("ReadWriteOnce",)
    min_size: str | None = None
    granularity: str | None = None
    snapshot_class: str | None = None
    default: bool = False
    legacy: bool = False
    confidence: str = "verified"
    encrypted: bool = False

    @property
    def min_size_gi(self) -> float | None:
        """Minimum size in GiB (None: no minimum known)."""
        return _size_gi(self.min_size)

    @property
    def granularity_gi(self) -> float | None:
        """Size step in GiB (None: any size)."""
        return _size_gi(self.granularity)

    def manifest(self) -> dict[str, Any]:
        """The StorageClass manifest the provider ships."""
        obj: dict[str, Any] = {
            "apiVersion": "storage.k8s.io/v1",
            "kind": "StorageClass",
            "metadata": {"name": self.name},
            "provisioner": self.provisioner,
            "reclaimPolicy": self.reclaim_policy,
            "volumeBindingMode": self.binding_mode,
            "allowVolumeExpansion": self.allow_expansion,
        }
        if self.parameters:
            obj["parameters"] = dict(self.parameters)
        if self.default:
            obj["metadata"]["annotations"] = {"storageclass.kubernetes.io/is-default-class": "true"}
        return obj


@attrs.frozen
class SnapshotClassSpec:
    """One VolumeSnapshotClass a provider offers."""

    name: str
    driver: str
    deletion_policy: str = "Delete"
    parameters: Mapping[str, str] = attrs.field(factory=dict)
    default: bool = False
    confidence: str = "verified"

    def manifest(self) -> dict[str, Any]:
        """The VolumeSnapshotClass manifest."""
        obj: dict[str, Any] = {
            "apiVersion": "snapshot.storage.k8s.io/v1",
            "kind": "VolumeSnapshotClass",
            "metadata": {"name": self.name},
            "driver": self.driver,
            "deletionPolicy": self.deletion_policy,
        }
        if self.parameters:
            obj["parameters"] = dict(self.parameters)
        if self.default:
            obj["metadata"]["annotations"] = {"snapshot.storage.kubernetes.io/is-default-class": "true"}
        return obj


@attrs.frozen
class StorageProfile:
    """A provider's storage: provisioners, classes, snapshot classes."""

    provisioners: tuple[str, ...]
    classes: tuple[StorageClassSpec, ...]
    snapshot_classes: tuple[SnapshotClassSpec, ...] = ()
    default_class: str | None = None
    topology_keys: tuple[str, ...] = ()
    tier_parameters: Mapping[str, Mapping[str, str]] = attrs.field(factory=dict)
    controller_annotations: tuple[str, ...] = ()

    def get_class(self, name: str) -> StorageClassSpec | None:
        """The class called ``name``, if the provider ships one."""
        for cls in self.classes:
            if cls.name == name:
                return cls
        return None

    def default(self) -> StorageClassSpec | None:
        """The provider's default class."""
        if self.default_class:
            return self.get_class(self.default_class)
        for cls in self.classes:
            if cls.default:
                return cls
        return None

    def for_tier(self, tier: str, access_mode: str | None = None) -> StorageClassSpec | None:
        """The best class for a tier (falling back to nearby tiers) that serves ``access_mode``."""
        order = {
            "fast-ssd": ("fast-ssd", "ssd", "hdd"),
            "ssd": ("ssd", "fast-ssd", "hdd"),
            "hdd": ("hdd", "ssd", "fast-ssd"),
            "shared": ("shared",),
        }.get(tier, (tier,))
        default = self.default()
        for want in order:
            candidates = [
                c
                for c in self.classes
                if c.tier == want and not c.legacy and (access_mode is None or access_mode in c.access_modes)
            ]
            if candidates:
                if default is not None and default in candidates:
                    return default
                return candidates[0]
        return None

    def snapshot_class(self, name: str | None = None) -> SnapshotClassSpec | None:
        """The snapshot class called ``name``, or the default one."""
        for snap in self.snapshot_classes:
            if (name is not None and snap.name == name) or (name is None and snap.default):
                return snap
        if name is None and self.snapshot_classes:
            return self.snapshot_classes[0]
        return None

    def tier_of(self, provisioner: str, parameters: Mapping[str, Any]) -> str | None:
        """Guess the tier of a custom StorageClass from its parameters (None when they are not a mapping)."""
        if not isinstance(parameters, Mapping):
            return None
        for param, table in self.tier_parameters.items():
            value = parameters.get(param)
            if value is not None and str(value) in table:
                return table[str(value)]
        for cls in self.classes:
            if cls.provisioner == provisioner and all(
                str(parameters.get(k)) == v for k, v in cls.parameters.items() if k == "type"
            ):
                return cls.tier
        return None


@attrs.frozen
class ConceptBinding:
    """How one load-balancer concept is spelled on one provider."""

    annotation: str
    on_value: str | None = None
    off_value: str | None = None
    format: str | None = None
    confidence: str = "verified"


@attrs.frozen
class LoadBalancerProfile:
    """A provider's Service type=LoadBalancer vocabulary."""

    external: bool = True
    classes: tuple[str, ...] = ()
    annotation_prefixes: tuple[str, ...] = ()
    controller_written: tuple[str, ...] = ()
    concepts: Mapping[str, tuple[ConceptBinding, ...]] = attrs.field(factory=dict)
    source_ranges: bool = True
    tls: bool = False
    prefer_cluster_traffic_policy: bool = False
    notes: str = ""
    required: Mapping[str, str] = attrs.field(factory=dict)
    protocols: tuple[str, ...] = ("TCP", "UDP", "SCTP")
    _exact: frozenset[str] = attrs.field(init=False, factory=frozenset, eq=False, repr=False)

    def __attrs_post_init__(self) -> None:
        exact = {b.annotation for bs in self.concepts.values() for b in bs} | set(self.controller_written)
        object.__setattr__(self, "_exact", frozenset(exact))

    def owns_annotation(self, key: str) -> bool:
        """True when ``key`` belongs to this provider's load-balancer vocabulary."""
        if not isinstance(key, str):
            return False
        return key in self._exact or key.startswith(self.annotation_prefixes)


@attrs.frozen
class IngressEquivalent:
    """An ingress annotation's equivalent on the nginx family."""

    target: str
    value: str | None = None
    format: str | None = None
    values: Mapping[str, str] = attrs.field(factory=dict)


@attrs.frozen
class IngressProfile:
    """A provider's ingress classes and annotation families."""

    classes: tuple[str, ...] = ()
    controllers: tuple[str, ...] = ()
    annotation_prefixes: tuple[str, ...] = ()
    annotations: tuple[str, ...] = ()
    default_class: str | None = None
    equivalents: Mapping[str, IngressEquivalent] = attrs.field(factory=dict)
    manual: Mapping[str, str] = attrs.field(factory=dict)
    wildcard_paths: bool = False
    internal_classes: tuple[str, ...] = ()

    def owns_annotation(self, key: str) -> bool:
        """True when ``key`` belongs to this provider's ingress vocabulary."""
        if not isinstance(key, str):
            return False
        return key in self.annotations or any(key.startswith(p) for p in self.annotation_prefixes)


@attrs.frozen
class IdentityProfile:
    """A provider's workload-identity keys."""

    mechanism: str = "none"
    service_account_annotations: tuple[str, ...] = ()
    service_account_labels: tuple[str, ...] = ()
    pod_labels: tuple[str, ...] = ()
    pod_annotations: tuple[str, ...] = ()
    node_selector_keys: tuple[str, ...] = ()
    #: Audiences of projected ServiceAccount tokens that only this provider's identity service accepts
    #: (IBM IAM trusted profiles exchange a token for audience ``iam``).
    token_audiences: tuple[str, ...] = ()


@attrs.frozen
class TopologyProfile:
    """A provider's regions, zones and node labels."""

    regions: Mapping[str, str] = attrs.field(factory=dict)
    zones: tuple[str, ...] = ()
    zone_pattern: str | None = None
    region_pattern: str | None = None
    node_pool_key: str | None = None
    node_label_keys: tuple[str, ...] = ()
    toleration_keys: tuple[str, ...] = ()
    instance_types: tuple[str, ...] = ()
    instance_type_pattern: str | None = None
    fault_domain_pattern: str | None = None
    confidence: str = "verified"
    _zone_re: re.Pattern[str] | None = attrs.field(init=False, default=None, eq=False, repr=False)
    _region_re: re.Pattern[str] | None = attrs.field(init=False, default=None, eq=False, repr=False)
    _itype_re: re.Pattern[str] | None = attrs.field(init=False, default=None, eq=False, repr=False)
    _fd_re: re.Pattern[str] | None = attrs.field(init=False, default=None, eq=False, repr=False)

    def __attrs_post_init__(self) -> None:
        object.__setattr__(self, "_fd_re", re.compile(self.fault_domain_pattern) if self.fault_domain_pattern else None)
        object.__setattr__(self, "_zone_re", re.compile(self.zone_pattern) if self.zone_pattern else None)
        object.__setattr__(self, "_region_re", re.compile(self.region_pattern) if self.region_pattern else None)
        object.__setattr__(
            self, "_itype_re", re.compile(self.instance_type_pattern) if self.instance_type_pattern else None
        )

    def is_zone(self, value: str) -> bool:
        """True when ``value`` looks like one of this provider's zones."""
        if not isinstance(value, str):
            return False
        if value in self.zones:
            return True
        return bool(self._zone_re is not None and self._zone_re.fullmatch(value))

    def is_region(self, value: str) -> bool:
        """True when ``value`` is one of this provider's regions."""
        if not isinstance(value, str):
            return False
        if value in self.regions:
            return True
        return bool(self._region_re is not None and self._region_re.fullmatch(value))

    def is_instance_type(self, value: str) -> bool:
        """True when ``value`` looks like one of this provider's instance types."""
        if not isinstance(value, str):
            return False
        if value in self.instance_types:
            return True
        return bool(self._itype_re is not None and self._itype_re.fullmatch(value))

    def owns_label(self, key: str) -> bool:
        """True when a node label key is this provider's own (not portable)."""
        if not isinstance(key, str):
            return False
        if key in self.node_label_keys:
            return True
        return key.startswith(tuple(k for k in self.node_label_keys if k.endswith("/")))

    def is_fault_domain(self, value: str) -> bool:
        """True when ``value`` of a zone key is a non-zonal fault-domain number (AKS ``"0"``..``"4"``)."""
        return isinstance(value, str) and self._fd_re is not None and self._fd_re.fullmatch(value) is not None

    def region_in_city(self, city: str) -> str | None:
        """The region in ``city`` (profiles record each region's city), if any."""
        for region, where in self.regions.items():
            if where.lower() == city.lower():
                return region
        return None


@attrs.frozen
class Registry:
    """A container registry host pattern."""

    pattern: str
    description: str = ""
    private: bool = True
    _re: re.Pattern[str] | None = attrs.field(init=False, default=None, eq=False, repr=False)

    def __attrs_post_init__(self) -> None:
        object.__setattr__(self, "_re", re.compile(self.pattern))

    def matches(self, image: str) -> bool:
        """True when ``image`` is on this registry."""
        assert self._re is not None
        return isinstance(image, str) and self._re.match(image) is not None


@attrs.frozen
class ServiceImage:
    """A container image that talks to one provider's managed services (it keeps running, but needs them)."""

    pattern: str
    message: str
    _re: re.Pattern[str] | None = attrs.field(init=False, default=None, eq=False, repr=False)

    def __attrs_post_init__(self) -> None:
        object.__setattr__(self, "_re", re.compile(self.pattern))

    def matches(self, image: str) -> bool:
        """True when ``image`` matches."""
        assert self._re is not None
        return self._re.search(image) is not None


@attrs.frozen
class ProviderKind:
    """A kind that only exists on one provider and is dropped (or needs a person) when leaving it.

    ``kind`` ``"*"`` matches every kind of the group; a ``group`` starting with ``*.`` matches every group
    ending so (``*.services.k8s.aws``: every AWS Controllers for Kubernetes service). ``source`` cites where
    the fact comes from; ``confidence`` is as for every profile value.
    """

    group: str
    kind: str
    action: str = "drop"
    message: str = ""
    when_path: str | None = None
    when_values: tuple[str, ...] = ()
    source: str = ""
    confidence: str = "verified"

    def matches(self, group: str, kind: str) -> bool:
        """True when this entry covers objects of ``group``/``kind``."""
        if self.kind != "*" and self.kind != kind:
            return False
        if self.group.startswith("*."):
            return group.endswith(self.group[1:])
        return self.group == group


@attrs.frozen
class ProviderResource:
    """An extended resource (``aws.amazon.com/neuron``, ``google.com/tpu``) only one provider's nodes offer.

    ``name`` ending in ``/`` matches every resource with that prefix.
    """

    name: str
    message: str
    source: str = ""
    confidence: str = "verified"

    def matches(self, resource: str) -> bool:
        """True when ``resource`` is this one (or has this prefix)."""
        return resource == self.name or (self.name.endswith("/") and resource.startswith(self.name))


@attrs.frozen
class Profile:
    """A provider profile: what is specific to one provider (or a combination, ``rook-ceph+metallb``).

    Aspects a provider does not cover (``storage`` on MetalLB, ``load_balancer`` on Longhorn) are None.
    """

    name: str
    display_name: str
    category: str
    roles: tuple[str, ...]
    summary: str = ""
    storage: StorageProfile | None = None
    load_balancer: LoadBalancerProfile | None = None
    ingress: IngressProfile | None = None
    identity: IdentityProfile | None = None
    topology: TopologyProfile | None = None
    registries: tuple[Registry, ...] = ()
    provider_kinds: tuple[ProviderKind, ...] = ()
    provider_resources: tuple[ProviderResource, ...] = ()
    annotation_prefixes: tuple[str, ...] = ()
    label_prefixes: tuple[str, ...] = ()
    service_images: tuple[ServiceImage, ...] = ()
    detect_node_label_keys: tuple[str, ...] = ()
    detect_provisioners: tuple[str, ...] = ()
    detect_api_groups: tuple[str, ...] = ()
    local_cluster: Mapping[str, Any] = attrs.field(factory=dict)
    unverified: tuple[str, ...] = ()
    members: tuple[str, ...] = ()
    source_file: str = ""

    def __repr__(self) -> str:
        aspects = ",".join(self.aspects())
        return f"<Profile {self.name} ({self.category}; {aspects})>"

    def aspects(self) -> list[str]:
        """The aspects this profile covers."""
        out = []
        for attr in ("storage", "load_balancer", "ingress", "identity", "topology"):
            if getattr(self, attr) is not None:
                out.append(attr)
        if self.registries:
            out.append("registries")
        return out

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able summary of the profile."""
        storage = self.storage
        return {
            "name": self.name,
            "display_name": self.display_name,
            "category": self.category,
            "roles": list(self.roles),
            "aspects": self.aspects(),
            "summary": self.summary,
            "members": list(self.members),
            "storage_classes": [
                {
                    "name": c.name,
                    "provisioner": c.provisioner,
                    "tier": c.tier,
                    "default": c.default,
                    "access_modes": list(c.access_modes),
                    "min_size": c.min_size,
                    "confidence": c.confidence,
                }
                for c in (storage.classes if storage else ())
            ],
            "snapshot_classes": [s.name for s in (storage.snapshot_classes if storage else ())],
            "load_balancer": None
            if self.load_balancer is None
            else {
                "external": self.load_balancer.external,
                "concepts": sorted(self.load_balancer.concepts),
                "tls": self.load_balancer.tls,
                "source_ranges": self.load_balancer.source_ranges,
            },
            "ingress_classes": list(self.ingress.classes) if self.ingress else [],
            "identity": self.identity.mechanism if self.identity else None,
            "unverified": list(self.unverified),
        }
