"""Namespace mapping: move objects to other namespaces and rewrite every reference to the old names.

Rewritten always: ``metadata.namespace``; Namespace objects' names (and their
``kubernetes.io/metadata.name`` label); RoleBinding / ClusterRoleBinding subjects; NetworkPolicy and pod
(anti-)affinity ``namespaceSelector`` terms on ``kubernetes.io/metadata.name`` and affinity ``namespaces``
lists; PersistentVolume ``claimRef``; webhook and APIService service references.

Rewritten only when asked (``rewrite_dns=True``), and always reported: service DNS names
``<svc>.<ns>.svc`` / ``<svc>.<ns>.svc.cluster.local`` in container env values, ConfigMap data and
ExternalName services. When not asked, the names found are reported so nothing changes silently.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import attrs

from portkit._kv import split_key_value
from portkit.display import html_table, text_table
from portkit.errors import ConfigurationError
from portkit.model import ObjectRef, fast_copy, split_api_version

__all__ = [
    "NS_LABEL",
    "MappingResult",
    "NamespaceChange",
    "iter_pod_specs",
    "map_namespaces",
    "parse_namespace_map",
]

#: The label the API server puts on every Namespace with its own name.
NS_LABEL = "kubernetes.io/metadata.name"

_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")

_POD_SPEC_PATHS: dict[tuple[str, str], tuple[str, ...]] = {
    ("", "Pod"): ("spec",),
    ("", "ReplicationController"): ("spec", "template", "spec"),
    ("apps", "Deployment"): ("spec", "template", "spec"),
    ("apps", "StatefulSet"): ("spec", "template", "spec"),
    ("apps", "DaemonSet"): ("spec", "template", "spec"),
    ("apps", "ReplicaSet"): ("spec", "template", "spec"),
    ("batch", "Job"): ("spec", "template", "spec"),
    ("batch", "CronJob"): ("spec", "jobTemplate", "spec", "template", "spec"),
}


@attrs.frozen
class NamespaceChange:
    """One rewritten (or, for DNS names not rewritten, found) namespace reference.

    Attributes:
        ref: the object, as it is after the mapping.
        path: the field, e.g. ``subjects[0].namespace``.
        old: the value before.
        new: the value after (for a DNS name that was only found: what it would become).
        what: ``namespace``, ``reference`` or ``dns``.
        applied: False for DNS names found but left alone (``rewrite_dns=False``).
    """

    ref: ObjectRef
    path: str
    old: str
    new: str
    what: str
    applied: bool = True

    def to_dict(self) -> dict[str, Any]:
        """Plain dict form."""
        return {
            "ref": self.ref.to_dict(),
            "object": str(self.ref),
            "path": self.path,
            "old": self.old,
            "new": self.new,
            "what": self.what,
            "applied": self.applied,
        }


@attrs.frozen
class MappingResult:
    """The mapped objects and every change made (or, for DNS names, proposed)."""

    objects: list[dict[str, Any]] = attrs.field(repr=False)
    changes: list[NamespaceChange]
    namespace_map: dict[str, str]

    @property
    def dns_not_rewritten(self) -> list[NamespaceChange]:
        """Service DNS names that point into a mapped namespace but were left unchanged."""
        return [c for c in self.changes if not c.applied]

    def __repr__(self) -> str:
        applied = sum(1 for c in self.changes if c.applied)
        return (
            f"<MappingResult {len(self.objects)} objects, {applied} references rewritten, "
            f"{len(self.dns_not_rewritten)} DNS names left>"
        )

    def _rows(self) -> list[list[str]]:
        return [
            [str(c.ref), c.path, c.old, c.new, "yes" if c.applied else "no (rewrite_dns=False)"] for c in self.changes
        ]

    def to_text(self) -> str:
        """A table of the changes."""
        return text_table(["object", "field", "old", "new", "rewritten"], self._rows())

    def _repr_html_(self) -> str:
        return html_table(["object", "field", "old", "new", "rewritten"], self._rows(), title=repr(self))

    def to_dict(self) -> dict[str, Any]:
        """Plain dict form (without the objects)."""
        return {"namespace_map": dict(self.namespace_map), "changes": [c.to_dict() for c in self.changes]}


def parse_namespace_map(
    items: Iterable[str] | Mapping[str, str] | None, *, flag: str = "Namespace mapping"
) -> dict[str, str]:
    """``["shop=shop-eu", "db=db-eu"]`` → ``{"shop": "shop-eu", "db": "db-eu"}`` (a mapping is checked and copied).

    ``flag`` names where the items came from in the message about a malformed one (``--namespace-map``).

    Raises:
        ConfigurationError: an item is not ``old=new``, a name is not a valid namespace name, two old
            names map to the same new one, or one old name is given twice with different targets.
    """
    if items is None:
        return {}
    pairs: list[tuple[str, str]] = []
    if isinstance(items, Mapping):
        pairs = [(str(k), str(v)) for k, v in items.items()]
    else:
        pairs = [
            split_key_value(str(item), flag=flag, form="OLD=NEW", example="shop=shop-eu", strip=True) for item in items
        ]
    result: dict[str, str] = {}
    for old, new in pairs:
        for name in (old, new):
            if not _DNS_LABEL.match(name) or len(name) > 63:
                raise ConfigurationError(
                    f"Namespace mapping {old}={new}: {name!r} is not a valid namespace name.",
                    hint="Namespace names are lower-case letters, digits and '-', at most 63 characters.",
                )
        if old in result and result[old] != new:
            raise ConfigurationError(f"Namespace {old!r} is mapped twice ({result[old]!r} and {new!r}).")
        result[old] = new
    targets: dict[str, str] = {}
    for old, new in result.items():
        if new in targets and targets[new] != old:
            raise ConfigurationError(
                f"Namespaces {targets[new]!r} and {old!r} both map to {new!r}; objects with the same name "
                "would collide.",
                hint="Map every namespace to its own target namespace.",
            )
        targets[new] = old
    return result


class _Mapper:
    def __init__(self, namespace_map: Mapping[str, str], rewrite_dns: bool) -> None:
        self.map = dict(namespace_map)
        self.rewrite_dns = rewrite_dns
        self.changes: list[NamespaceChange] = []
        self._dns: re.Pattern[str] | None = None
        if self.map:
            names = "|".join(re.escape(n) for n in sorted(self.map, key=len, reverse=True))
            self._dns = re.compile(
                r"(?<![A-Za-z0-9.-])([a-z0-9](?:[-a-z0-9.]*[a-z0-9])?)\.(" + names + r")\.svc"
                r"(\.cluster\.local)?(?![A-Za-z0-9-])"
            )

    # -- helpers ----------------------------------------------------------------------------------
    def _ref(self, obj: Mapping[str, Any]) -> ObjectRef:
        return ObjectRef.from_obj(obj)

    def _note(self, obj: Mapping[str, Any], path: str, old: str, new: str, what: str, applied: bool = True) -> None:
        self.changes.append(NamespaceChange(self._ref(obj), path, old, new, what, applied))

    def _swap(self, obj: Mapping[str, Any], container: Any, key: Any, path: str) -> None:
        """Map ``container[key]`` if it is a mapped namespace name."""
        value = container[key]
        if isinstance(value, str) and value in self.map and self.map[value] != value:
            container[key] = self.map[value]
            self._note(obj, path, value, self.map[value], "reference")

    def _selector(self, obj: Mapping[str, Any], selector: Any, path: str) -> None:
        if not isinstance(selector, dict):
            return
        labels = selector.get("matchLabels")
        if isinstance(labels, dict) and NS_LABEL in labels:
            self._swap(obj, labels, NS_LABEL, f"{path}.matchLabels[{NS_LABEL}]")
        for i, expr in enumerate(selector.get("matchExpressions") or ()):
            if isinstance(expr, dict) and expr.get("key") == NS_LABEL:
                values = expr.get("values")
                if isinstance(values, list):
                    for j in range(len(values)):
                        self._swap(obj, values, j, f"{path}.matchExpressions[{i}].values[{j}]")

    # -- per object -------------------------------------------------------------------------------
    def map_object(self, source: Mapping[str, Any]) -> dict[str, Any]:
        obj: dict[str, Any] = fast_copy(dict(source))
        if not self.map:
            return obj
        group, _ = split_api_version(str(obj.get("apiVersion") or ""))
        kind = str(obj.get("kind") or "")
        meta = obj.setdefault("metadata", {})
        if (group, kind) == ("", "Namespace"):
            old = str(meta.get("name") or "")
            if old in self.map and self.map[old] != old:
                meta["name"] = self.map[old]
                self.changes.append(NamespaceChange(self._ref(obj), "metadata.name", old, self.map[old], "namespace"))
                labels = meta.get("labels")
                if isinstance(labels, dict) and labels.get(NS_LABEL) == old:
                    labels[NS_LABEL] = self.map[old]
        else:
            old = str(meta.get("namespace") or "")
            if old in self.map and self.map[old] != old:
                meta["namespace"] = self.map[old]
                self._note(obj, "metadata.namespace", old, self.map[old], "namespace")
        if group == "rbac.authorization.k8s.io" and kind in ("RoleBinding", "ClusterRoleBinding"):
            for i, subject in enumerate(obj.get("subjects") or ()):
                if isinstance(subject, dict) and "namespace" in subject:
                    self._swap(obj, subject, "namespace", f"subjects[{i}].namespace")
        if (group, kind) == ("networking.k8s.io", "NetworkPolicy"):
            spec = obj.get("spec") or {}
            for direction, peers_key in (("ingress", "from"), ("egress", "to")):
                for i, rule in enumerate(spec.get(direction) or ()):
                    for j, peer in enumerate((rule or {}).get(peers_key) or ()):
                        if isinstance(peer, dict):
                            self._selector(
                                obj,
                                peer.get("namespaceSelector"),
                                f"spec.{direction}[{i}].{peers_key}[{j}].namespaceSelector",
                            )
        if (group, kind) == ("", "PersistentVolume"):
            claim = (obj.get("spec") or {}).get("claimRef")
            if isinstance(claim, dict) and "namespace" in claim:
                self._swap(obj, claim, "namespace", "spec.claimRef.namespace")
        if group == "admissionregistration.k8s.io" and kind.endswith("WebhookConfiguration"):
            for i, hook in enumerate(obj.get("webhooks") or ()):
                service = ((hook or {}).get("clientConfig") or {}).get("service")
                if isinstance(service, dict) and "namespace" in service:
                    self._swap(obj, service, "namespace", f"webhooks[{i}].clientConfig.service.namespace")
        if (group, kind) == ("apiregistration.k8s.io", "APIService"):
            service = (obj.get("spec") or {}).get("service")
            if isinstance(service, dict) and "namespace" in service:
                self._swap(obj, service, "namespace", "spec.service.namespace")
        pod_path = _POD_SPEC_PATHS.get((group, kind))
        if pod_path:
            pod_spec: Any = obj
            for step in pod_path:
                pod_spec = pod_spec.get(step) if isinstance(pod_spec, dict) else None
            if isinstance(pod_spec, dict):
                self._pod_spec(obj, pod_spec, ".".join(pod_path))
        if (group, kind) == ("", "ConfigMap"):
            data = obj.get("data")
            if isinstance(data, dict):
                for key in list(data):
                    self._dns_in(obj, data, key, f"data[{key}]")
        if (group, kind) == ("", "Service"):
            spec = obj.get("spec")
            if isinstance(spec, dict) and isinstance(spec.get("externalName"), str):
                self._dns_in(obj, spec, "externalName", "spec.externalName")
        return obj

    def _pod_spec(self, obj: Mapping[str, Any], spec: dict[str, Any], path: str) -> None:
        affinity = spec.get("affinity") or {}
        for aff_kind in ("podAffinity", "podAntiAffinity"):
            aff = affinity.get(aff_kind) or {}
            for i, term in enumerate(aff.get("requiredDuringSchedulingIgnoredDuringExecution") or ()):
                self._affinity_term(obj, term, f"{path}.affinity.{aff_kind}.required[{i}]")
            for i, weighted in enumerate(aff.get("preferredDuringSchedulingIgnoredDuringExecution") or ()):
                term = (weighted or {}).get("podAffinityTerm")
                self._affinity_term(obj, term, f"{path}.affinity.{aff_kind}.preferred[{i}].podAffinityTerm")
        for group_key in ("initContainers", "containers", "ephemeralContainers"):
            for i, container in enumerate(spec.get(group_key) or ()):
                for j, env in enumerate((container or {}).get("env") or ()):
                    if isinstance(env, dict) and isinstance(env.get("value"), str):
                        self._dns_in(obj, env, "value", f"{path}.{group_key}[{i}].env[{j}].value")

    def _affinity_term(self, obj: Mapping[str, Any], term: Any, path: str) -> None:
        if not isinstance(term, dict):
            return
        names = term.get("namespaces")
        if isinstance(names, list):
            for k in range(len(names)):
                self._swap(obj, names, k, f"{path}.namespaces[{k}]")
        self._selector(obj, term.get("namespaceSelector"), f"{path}.namespaceSelector")

    def _dns_in(self, obj: Mapping[str, Any], container: dict[str, Any], key: str, path: str) -> None:
        if self._dns is None:
            return
        text = container[key]
        if not isinstance(text, str):
            return
        found: list[tuple[str, str]] = []

        def replace(match: re.Match[str]) -> str:
            ns = match.group(2)
            new = f"{match.group(1)}.{self.map[ns]}.svc{match.group(3) or ''}"
            if new != match.group(0):
                found.append((match.group(0), new))
            return new

        rewritten = self._dns.sub(replace, text)
        for old, new in found:
            self._note(obj, path, old, new, "dns", applied=self.rewrite_dns)
        if self.rewrite_dns and found:
            container[key] = rewritten


def map_namespaces(
    objects: Iterable[Mapping[str, Any]],
    namespace_map: Mapping[str, str] | None,
    *,
    rewrite_dns: bool = False,
) -> MappingResult:
    """Copies of ``objects`` moved to their mapped namespaces, with every reference rewritten.

    The input objects are never modified. Namespaces not in the map stay where they are.

    Args:
        objects: manifests (plain dicts).
        namespace_map: ``{"old": "new"}``.
        rewrite_dns: also rewrite service DNS names (``web.shop.svc.cluster.local``) in env values,
            ConfigMap data and ExternalName services; when False they are only reported.
    """
    mapper = _Mapper(parse_namespace_map(namespace_map), rewrite_dns)
    mapped = [mapper.map_object(obj) for obj in objects]
    return MappingResult(mapped, mapper.changes, dict(mapper.map))


def iter_pod_specs(obj: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    """The pod spec(s) inside a workload manifest (none for other kinds)."""
    group, _ = split_api_version(str(obj.get("apiVersion") or ""))
    path = _POD_SPEC_PATHS.get((group, str(obj.get("kind") or "")))
    if not path:
        return
    cur: Any = obj
    for step in path:
        cur = cur.get(step) if isinstance(cur, Mapping) else None
    if isinstance(cur, Mapping):
        yield cur
