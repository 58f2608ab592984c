"""Reading and validating provider profile data files.

A profile file is YAML with the sections ``storage``, ``load_balancer``, ``ingress``, ``identity``,
``topology``, ``registries``, ``provider_objects``, ``detect`` and ``local_cluster`` (all optional except
``name``, ``display_name``, ``category`` and ``roles``). Unknown keys, wrong types and unknown enum values
are errors naming the file and the key, so a typo in a profile cannot silently disable a translation.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from portkit.errors import TranslationError
from portkit.profiles._model import (
    CONFIDENCE,
    LB_CONCEPTS,
    TIERS,
    ConceptBinding,
    IdentityProfile,
    IngressEquivalent,
    IngressProfile,
    LoadBalancerProfile,
    Profile,
    ProviderKind,
    ProviderResource,
    Registry,
    ServiceImage,
    SnapshotClassSpec,
    StorageClassSpec,
    StorageProfile,
    TopologyProfile,
)
from portkit.profiles._quantity import parse_quantity

__all__ = ["parse_profile", "read_profile_file"]

_ACCESS_MODES = {"ReadWriteOnce", "ReadOnlyMany", "ReadWriteMany", "ReadWriteOncePod"}
_BINDING = {"Immediate", "WaitForFirstConsumer"}
_RECLAIM = {"Delete", "Retain"}
_CATEGORIES = {"platform", "storage", "load-balancer"}
_ROLES = {"source", "target"}
#: How a load-balancer annotation's value is written: ``seconds`` (``"10"``), ``duration`` (``"10s"``),
#: ``milliseconds`` (``"10000"``, OCI), ``lower``/``upper``/``title`` case, ``raw``; ``list``: the value is a
#: comma-separated list and a yes/no concept's ``on`` value is one item of it (IBM ``enable-features``).
_LB_FORMATS = ("seconds", "duration", "milliseconds", "lower", "upper", "title", "raw", "list")


class _Checker:
    def __init__(self, where: str) -> None:
        self.where = where

    def fail(self, path: str, message: str) -> TranslationError:
        return TranslationError(
            f"provider profile {self.where}: {path}: {message}.",
            hint="Fix the profile file (see portkit/profiles/*.yaml for the format).",
        )

    def mapping(
        self, value: Any, path: str, allowed: set[str], required: frozenset[str] | set[str] = frozenset()
    ) -> dict[str, Any]:
        if value is None:
            value = {}
        if not isinstance(value, Mapping):
            raise self.fail(path, f"expected a mapping, got {type(value).__name__}")
        unknown = set(value) - allowed
        if unknown:
            raise self.fail(path, f"unknown key(s) {sorted(unknown)}; allowed: {sorted(allowed)}")
        missing = required - set(value)
        if missing:
            raise self.fail(path, f"missing key(s) {sorted(missing)}")
        return dict(value)

    def str_(self, value: Any, path: str, *, optional: bool = False) -> str:
        if value is None and optional:
            return ""
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise self.fail(path, f"expected a string, got {type(value).__name__}")
        return str(value)

    def opt_str(self, value: Any, path: str) -> str | None:
        return None if value is None else self.str_(value, path)

    def bool_(self, value: Any, path: str, default: bool) -> bool:
        if value is None:
            return default
        if not isinstance(value, bool):
            raise self.fail(path, f"expected true or false, got {value!r}")
        return value

    def strs(self, value: Any, path: str) -> tuple[str, ...]:
        if value is None:
            return ()
        if not isinstance(value, list):
            raise self.fail(path, "expected a list of strings")
        return tuple(self.str_(v, f"{path}[{i}]") for i, v in enumerate(value))

    def str_map(self, value: Any, path: str) -> dict[str, str]:
        if value is None:
            return {}
        if not isinstance(value, Mapping):
            raise self.fail(path, "expected a mapping of strings")
        return {str(k): self.str_(v, f"{path}.{k}") for k, v in value.items()}

    def enum(self, value: Any, path: str, allowed: set[str] | tuple[str, ...], default: str | None = None) -> str:
        if value is None and default is not None:
            return default
        text = self.str_(value, path)
        if text not in allowed:
            raise self.fail(path, f"{text!r} is not one of {sorted(allowed)}")
        return text

    def regex(self, value: Any, path: str) -> str | None:
        if value is None:
            return None
        text = self.str_(value, path)
        try:
            re.compile(text)
        except re.error as exc:
            raise self.fail(path, f"invalid regular expression: {exc}") from exc
        return text

    def quantity(self, value: Any, path: str) -> str | None:
        if value is None:
            return None
        text = self.str_(value, path)
        try:
            parse_quantity(text)
        except ValueError as exc:
            raise self.fail(path, str(exc)) from exc
        return text


def _storage(c: _Checker, raw: Any) -> StorageProfile:
    data = c.mapping(
        raw,
        "storage",
        {
            "provisioners",
            "default_class",
            "classes",
            "snapshot_classes",
            "topology_keys",
            "tier_parameters",
            "controller_annotations",
        },
        {"provisioners", "classes"},
    )
    provisioners = c.strs(data.get("provisioners"), "storage.provisioners")
    classes = []
    class_keys = {
        "name",
        "provisioner",
        "tier",
        "parameters",
        "binding_mode",
        "reclaim_policy",
        "allow_expansion",
        "access_modes",
        "min_size",
        "granularity",
        "snapshot_class",
        "default",
        "legacy",
        "confidence",
        "encrypted",
    }
    for i, item in enumerate(data.get("classes") or []):
        p = f"storage.classes[{i}]"
        d = c.mapping(item, p, class_keys, {"name", "provisioner", "tier"})
        prov = c.str_(d["provisioner"], f"{p}.provisioner")
        if prov not in provisioners:
            raise c.fail(f"{p}.provisioner", f"{prov!r} is not listed in storage.provisioners")
        modes = c.strs(d.get("access_modes"), f"{p}.access_modes") or ("ReadWriteOnce",)
        for m in modes:
            if m not in _ACCESS_MODES:
                raise c.fail(f"{p}.access_modes", f"{m!r} is not an access mode")
        classes.append(
            StorageClassSpec(
                name=c.str_(d["name"], f"{p}.name"),
                provisioner=prov,
                tier=c.enum(d["tier"], f"{p}.tier", TIERS),
                parameters=c.str_map(d.get("parameters"), f"{p}.parameters"),
                binding_mode=c.enum(d.get("binding_mode"), f"{p}.binding_mode", _BINDING, "WaitForFirstConsumer"),
                reclaim_policy=c.enum(d.get("reclaim_policy"), f"{p}.reclaim_policy", _RECLAIM, "Delete"),
                allow_expansion=c.bool_(d.get("allow_expansion"), f"{p}.allow_expansion", True),
                access_modes=modes,
                min_size=c.quantity(d.get("min_size"), f"{p}.min_size"),
                granularity=c.quantity(d.get("granularity"), f"{p}.granularity"),
                snapshot_class=c.opt_str(d.get("snapshot_class"), f"{p}.snapshot_class"),
                default=c.bool_(d.get("default"), f"{p}.default", False),
                legacy=c.bool_(d.get("legacy"), f"{p}.legacy", False),
                confidence=c.enum(d.get("confidence"), f"{p}.confidence", CONFIDENCE, "verified"),
                encrypted=c.bool_(d.get("encrypted"), f"{p}.encrypted", False),
            )
        )
    if not classes:
        raise c.fail("storage.classes", "at least one class is needed")
    names = [cl.name for cl in classes]
    if len(set(names)) != len(names):
        raise c.fail("storage.classes", "class names must be unique")
    snaps = []
    for i, item in enumerate(data.get("snapshot_classes") or []):
        p = f"storage.snapshot_classes[{i}]"
        d = c.mapping(
            item, p, {"name", "driver", "deletion_policy", "parameters", "default", "confidence"}, {"name", "driver"}
        )
        snaps.append(
            SnapshotClassSpec(
                name=c.str_(d["name"], f"{p}.name"),
                driver=c.str_(d["driver"], f"{p}.driver"),
                deletion_policy=c.enum(d.get("deletion_policy"), f"{p}.deletion_policy", _RECLAIM, "Delete"),
                parameters=c.str_map(d.get("parameters"), f"{p}.parameters"),
                default=c.bool_(d.get("default"), f"{p}.default", False),
                confidence=c.enum(d.get("confidence"), f"{p}.confidence", CONFIDENCE, "verified"),
            )
        )
    snap_names = {s.name for s in snaps}
    for cl in classes:
        if cl.snapshot_class and cl.snapshot_class not in snap_names:
            raise c.fail(f"storage.classes[{cl.name}].snapshot_class", f"{cl.snapshot_class!r} is not defined")
    default = c.opt_str(data.get("default_class"), "storage.default_class")
    if default is not None and default not in names:
        raise c.fail("storage.default_class", f"{default!r} is not one of the classes")
    flagged = [cl.name for cl in classes if cl.default]
    if default is not None and flagged and flagged != [default]:
        raise c.fail("storage.classes", "the class marked default must be storage.default_class")
    tiers: dict[str, dict[str, str]] = {}
    raw_tiers = data.get("tier_parameters") or {}
    if not isinstance(raw_tiers, Mapping):
        raise c.fail("storage.tier_parameters", "expected a mapping")
    for param, table in raw_tiers.items():
        tmap = c.str_map(table, f"storage.tier_parameters.{param}")
        for value, tier in tmap.items():
            c.enum(tier, f"storage.tier_parameters.{param}.{value}", TIERS)
        tiers[str(param)] = tmap
    if default is not None and not flagged:
        classes = [attrs_evolve_default(cl) if cl.name == default else cl for cl in classes]
    return StorageProfile(
        provisioners=provisioners,
        classes=tuple(classes),
        snapshot_classes=tuple(snaps),
        default_class=default,
        topology_keys=c.strs(data.get("topology_keys"), "storage.topology_keys"),
        tier_parameters=tiers,
        controller_annotations=c.strs(data.get("controller_annotations"), "storage.controller_annotations"),
    )


def attrs_evolve_default(cl: StorageClassSpec) -> StorageClassSpec:
    """``cl`` marked as the default class."""
    import attrs

    return attrs.evolve(cl, default=True)


def _load_balancer(c: _Checker, raw: Any) -> LoadBalancerProfile:
    data = c.mapping(
        raw,
        "load_balancer",
        {
            "external",
            "classes",
            "annotation_prefixes",
            "controller_written",
            "concepts",
            "source_ranges",
            "tls",
            "prefer_cluster_traffic_policy",
            "notes",
            "required",
            "protocols",
        },
    )
    concepts: dict[str, tuple[ConceptBinding, ...]] = {}
    raw_concepts = c.mapping(data.get("concepts"), "load_balancer.concepts", set(LB_CONCEPTS))
    for name, bindings in raw_concepts.items():
        if not isinstance(bindings, list):
            bindings = [bindings]
        out = []
        for i, b in enumerate(bindings):
            p = f"load_balancer.concepts.{name}[{i}]"
            d = c.mapping(b, p, {"annotation", "on", "off", "format", "confidence"}, {"annotation"})
            if LB_CONCEPTS[name] == "bool" and d.get("on") is None:
                raise c.fail(p, "a yes/no concept needs an 'on' value")
            if d.get("format") == "list" and LB_CONCEPTS[name] != "bool":
                raise c.fail(f"{p}.format", "'list' is only for yes/no concepts (the 'on' value is one list item)")
            out.append(
                ConceptBinding(
                    annotation=c.str_(d["annotation"], f"{p}.annotation"),
                    on_value=c.opt_str(d.get("on"), f"{p}.on"),
                    off_value=c.opt_str(d.get("off"), f"{p}.off"),
                    format=c.enum(d.get("format"), f"{p}.format", _LB_FORMATS, "raw"),
                    confidence=c.enum(d.get("confidence"), f"{p}.confidence", CONFIDENCE, "verified"),
                )
            )
        concepts[name] = tuple(out)
    return LoadBalancerProfile(
        external=c.bool_(data.get("external"), "load_balancer.external", True),
        classes=c.strs(data.get("classes"), "load_balancer.classes"),
        annotation_prefixes=c.strs(data.get("annotation_prefixes"), "load_balancer.annotation_prefixes"),
        controller_written=c.strs(data.get("controller_written"), "load_balancer.controller_written"),
        concepts=concepts,
        source_ranges=c.bool_(data.get("source_ranges"), "load_balancer.source_ranges", True),
        tls=c.bool_(data.get("tls"), "load_balancer.tls", False),
        prefer_cluster_traffic_policy=c.bool_(
            data.get("prefer_cluster_traffic_policy"), "load_balancer.prefer_cluster_traffic_policy", False
        ),
        notes=c.str_(data.get("notes"), "load_balancer.notes", optional=True),
        required=c.str_map(data.get("required"), "load_balancer.required"),
        protocols=tuple(
            c.enum(v, f"load_balancer.protocols[{i}]", ("TCP", "UDP", "SCTP"))
            for i, v in enumerate(c.strs(data.get("protocols"), "load_balancer.protocols"))
        )
        or ("TCP", "UDP", "SCTP"),
    )


def _ingress(c: _Checker, raw: Any) -> IngressProfile:
    data = c.mapping(
        raw,
        "ingress",
        {
            "classes",
            "controllers",
            "annotation_prefixes",
            "annotations",
            "default_class",
            "equivalents",
            "manual",
            "wildcard_paths",
            "internal_classes",
        },
    )
    eq: dict[str, IngressEquivalent] = {}
    for key, val in (data.get("equivalents") or {}).items():
        p = f"ingress.equivalents.{key}"
        d = c.mapping(val, p, {"nginx", "value", "format", "values"}, {"nginx"})
        eq[str(key)] = IngressEquivalent(
            target=c.str_(d["nginx"], f"{p}.nginx"),
            value=c.opt_str(d.get("value"), f"{p}.value"),
            format=c.enum(d.get("format"), f"{p}.format", ("lower", "upper", "raw"), "raw"),
            values=c.str_map(d.get("values"), f"{p}.values"),
        )
    return IngressProfile(
        classes=c.strs(data.get("classes"), "ingress.classes"),
        controllers=c.strs(data.get("controllers"), "ingress.controllers"),
        annotation_prefixes=c.strs(data.get("annotation_prefixes"), "ingress.annotation_prefixes"),
        annotations=c.strs(data.get("annotations"), "ingress.annotations"),
        default_class=c.opt_str(data.get("default_class"), "ingress.default_class"),
        equivalents=eq,
        manual=c.str_map(data.get("manual"), "ingress.manual"),
        wildcard_paths=c.bool_(data.get("wildcard_paths"), "ingress.wildcard_paths", False),
        internal_classes=c.strs(data.get("internal_classes"), "ingress.internal_classes"),
    )


def _identity(c: _Checker, raw: Any) -> IdentityProfile:
    data = c.mapping(
        raw,
        "identity",
        {
            "mechanism",
            "service_account_annotations",
            "service_account_labels",
            "pod_labels",
            "pod_annotations",
            "node_selector_keys",
            "token_audiences",
        },
    )
    return IdentityProfile(
        mechanism=c.str_(data.get("mechanism") or "none", "identity.mechanism"),
        service_account_annotations=c.strs(
            data.get("service_account_annotations"), "identity.service_account_annotations"
        ),
        service_account_labels=c.strs(data.get("service_account_labels"), "identity.service_account_labels"),
        pod_labels=c.strs(data.get("pod_labels"), "identity.pod_labels"),
        pod_annotations=c.strs(data.get("pod_annotations"), "identity.pod_annotations"),
        node_selector_keys=c.strs(data.get("node_selector_keys"), "identity.node_selector_keys"),
        token_audiences=c.strs(data.get("token_audiences"), "identity.token_audiences"),
    )


def _topology(c: _Checker, raw: Any) -> TopologyProfile:
    data = c.mapping(
        raw,
        "topology",
        {
            "regions",
            "zones",
            "zone_pattern",
            "region_pattern",
            "node_pool_key",
            "node_label_keys",
            "toleration_keys",
            "instance_types",
            "instance_type_pattern",
            "fault_domain_pattern",
            "confidence",
        },
    )
    return TopologyProfile(
        regions=c.str_map(data.get("regions"), "topology.regions"),
        zones=c.strs(data.get("zones"), "topology.zones"),
        zone_pattern=c.regex(data.get("zone_pattern"), "topology.zone_pattern"),
        region_pattern=c.regex(data.get("region_pattern"), "topology.region_pattern"),
        node_pool_key=c.opt_str(data.get("node_pool_key"), "topology.node_pool_key"),
        node_label_keys=c.strs(data.get("node_label_keys"), "topology.node_label_keys"),
        toleration_keys=c.strs(data.get("toleration_keys"), "topology.toleration_keys"),
        instance_types=c.strs(data.get("instance_types"), "topology.instance_types"),
        instance_type_pattern=c.regex(data.get("instance_type_pattern"), "topology.instance_type_pattern"),
        fault_domain_pattern=c.regex(data.get("fault_domain_pattern"), "topology.fault_domain_pattern"),
        confidence=c.enum(data.get("confidence"), "topology.confidence", CONFIDENCE, "verified"),
    )


def _registries(c: _Checker, raw: Any) -> tuple[Registry, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise c.fail("registries", "expected a list")
    out = []
    for i, item in enumerate(raw):
        p = f"registries[{i}]"
        d = c.mapping(item, p, {"pattern", "description", "private"}, {"pattern"})
        pattern = c.regex(d["pattern"], f"{p}.pattern")
        assert pattern is not None
        out.append(
            Registry(
                pattern=pattern,
                description=c.str_(d.get("description"), f"{p}.description", optional=True),
                private=c.bool_(d.get("private"), f"{p}.private", True),
            )
        )
    return tuple(out)


def _service_images(c: _Checker, raw: Any) -> tuple[ServiceImage, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise c.fail("provider_objects.images", "expected a list")
    out = []
    for i, item in enumerate(raw):
        p = f"provider_objects.images[{i}]"
        d = c.mapping(item, p, {"pattern", "message"}, {"pattern", "message"})
        pattern = c.regex(d["pattern"], f"{p}.pattern")
        assert pattern is not None
        out.append(ServiceImage(pattern=pattern, message=c.str_(d["message"], f"{p}.message")))
    return tuple(out)


def _provider_resources(c: _Checker, raw: Any) -> tuple[ProviderResource, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise c.fail("provider_objects.resources", "expected a list")
    out = []
    for i, item in enumerate(raw):
        p = f"provider_objects.resources[{i}]"
        d = c.mapping(item, p, {"name", "message", "source", "confidence"}, {"name", "message"})
        out.append(
            ProviderResource(
                name=c.str_(d["name"], f"{p}.name"),
                message=c.str_(d["message"], f"{p}.message"),
                source=c.str_(d.get("source"), f"{p}.source", optional=True),
                confidence=c.enum(d.get("confidence"), f"{p}.confidence", CONFIDENCE, "verified"),
            )
        )
    return tuple(out)


def _provider_objects(c: _Checker, raw: Any) -> tuple[tuple[ProviderKind, ...], tuple[str, ...], tuple[str, ...]]:
    data = c.mapping(raw, "provider_objects", {"kinds", "annotation_prefixes", "label_prefixes", "images", "resources"})
    kinds = []
    keys = {
        "group", "kind", "action", "message", "when_path", "when_values", "source", "confidence",
    }  # fmt: skip
    for i, item in enumerate(data.get("kinds") or []):
        p = f"provider_objects.kinds[{i}]"
        d = c.mapping(item, p, keys, {"group", "kind"})
        kinds.append(
            ProviderKind(
                group=c.str_(d["group"], f"{p}.group", optional=True),
                kind=c.str_(d["kind"], f"{p}.kind"),
                action=c.enum(d.get("action"), f"{p}.action", ("drop", "manual"), "drop"),
                message=c.str_(d.get("message"), f"{p}.message", optional=True),
                when_path=c.opt_str(d.get("when_path"), f"{p}.when_path"),
                when_values=c.strs(d.get("when_values"), f"{p}.when_values"),
                source=c.str_(d.get("source"), f"{p}.source", optional=True),
                confidence=c.enum(d.get("confidence"), f"{p}.confidence", CONFIDENCE, "verified"),
            )
        )
    return (
        tuple(kinds),
        c.strs(data.get("annotation_prefixes"), "provider_objects.annotation_prefixes"),
        c.strs(data.get("label_prefixes"), "provider_objects.label_prefixes"),
    )


def parse_profile(data: Any, where: str) -> Profile:
    """Validate the parsed YAML of one profile and build a :class:`Profile`."""
    c = _Checker(where)
    top = c.mapping(
        data,
        "(top)",
        {
            "name",
            "display_name",
            "category",
            "roles",
            "summary",
            "storage",
            "load_balancer",
            "ingress",
            "identity",
            "topology",
            "registries",
            "provider_objects",
            "detect",
            "local_cluster",
            "unverified",
        },
        {"name", "display_name", "category", "roles"},
    )
    roles = c.strs(top["roles"], "roles")
    for r in roles:
        if r not in _ROLES:
            raise c.fail("roles", f"{r!r} is not one of {sorted(_ROLES)}")
    kinds, ann_prefixes, label_prefixes = _provider_objects(c, top.get("provider_objects"))
    detect = c.mapping(top.get("detect"), "detect", {"node_label_keys", "provisioners", "api_groups"})
    local = c.mapping(
        top.get("local_cluster"),
        "local_cluster",
        {"region", "zones", "instance_type", "node_name", "labels", "storage_classes", "snapshot_classes"},
    )
    if local:
        c.strs(local.get("zones"), "local_cluster.zones")
        c.str_map(local.get("labels"), "local_cluster.labels")
        c.strs(local.get("storage_classes"), "local_cluster.storage_classes")
        c.strs(local.get("snapshot_classes"), "local_cluster.snapshot_classes")
    name = c.str_(top["name"], "name")
    if not re.fullmatch(r"[a-z0-9][a-z0-9-]*", name):
        raise c.fail("name", f"{name!r} must be lower-case letters, digits and dashes")
    return Profile(
        name=name,
        display_name=c.str_(top["display_name"], "display_name"),
        category=c.enum(top["category"], "category", _CATEGORIES),
        roles=roles,
        summary=c.str_(top.get("summary"), "summary", optional=True).strip(),
        storage=_storage(c, top["storage"]) if top.get("storage") is not None else None,
        load_balancer=_load_balancer(c, top["load_balancer"]) if top.get("load_balancer") is not None else None,
        ingress=_ingress(c, top["ingress"]) if top.get("ingress") is not None else None,
        identity=_identity(c, top["identity"]) if top.get("identity") is not None else None,
        topology=_topology(c, top["topology"]) if top.get("topology") is not None else None,
        registries=_registries(c, top.get("registries")),
        provider_kinds=kinds,
        provider_resources=_provider_resources(
            c,
            (top.get("provider_objects") or {}).get("resources")
            if isinstance(top.get("provider_objects"), dict)
            else None,
        ),
        annotation_prefixes=ann_prefixes,
        label_prefixes=label_prefixes,
        service_images=_service_images(
            c,
            (top.get("provider_objects") or {}).get("images")
            if isinstance(top.get("provider_objects"), dict)
            else None,
        ),
        detect_node_label_keys=c.strs(detect.get("node_label_keys"), "detect.node_label_keys"),
        detect_provisioners=c.strs(detect.get("provisioners"), "detect.provisioners"),
        detect_api_groups=c.strs(detect.get("api_groups"), "detect.api_groups"),
        local_cluster=local,
        unverified=c.strs(top.get("unverified"), "unverified"),
        members=(name,),
        source_file=where,
    )


def read_profile_file(path: Path) -> Profile:
    """Read and validate one profile YAML file."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise TranslationError(f"cannot read provider profile {path}: {exc}.") from exc
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        data = yaml.load(text, Loader=loader)
    except yaml.YAMLError as exc:
        raise TranslationError(f"provider profile {path} is not valid YAML: {exc}.") from exc
    profile = parse_profile(data, str(path.name))
    if profile.name != path.stem:
        raise TranslationError(f"provider profile {path.name}: name {profile.name!r} must match the file name.")
    return profile
