"""API discovery: which resources a cluster serves, in which versions, with which verbs.

Uses aggregated discovery (``/api`` and ``/apis`` with ``apidiscovery.k8s.io/v2``: two requests for the
whole surface) and falls back to the legacy per-group-version documents on servers that lack it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import attrs

__all__ = ["AGGREGATED_ACCEPT", "ApiResource", "Discovery", "parse_aggregated", "parse_legacy_resources"]

AGGREGATED_ACCEPT = (
    "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,"
    "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,"
    "application/json"
)


@attrs.frozen
class ApiResource:
    """One served resource (no subresources) in one group version.

    Attributes:
        group: API group (``""`` for core).
        version: API version (``v1``).
        kind: object kind (``Deployment``).
        name: plural resource name used in URLs (``deployments``).
        namespaced: whether objects live in a namespace.
        verbs: verbs the server allows on the collection/objects.
        short_names: kubectl short names.
        preferred: whether this is the group's preferred version.
    """

    group: str
    version: str
    kind: str
    name: str
    namespaced: bool
    verbs: frozenset[str] = attrs.field(converter=frozenset, factory=frozenset)
    short_names: tuple[str, ...] = attrs.field(converter=tuple, default=())
    preferred: bool = True

    @property
    def api_version(self) -> str:
        """``group/version``, or ``v1`` for the core group."""
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def group_resource(self) -> str:
        """``deployments.apps`` style name (``configmaps`` for core)."""
        return f"{self.name}.{self.group}" if self.group else self.name

    def path(self, namespace: str | None = None, name: str | None = None) -> str:
        """URL path of the collection, or of one object when ``name`` is given."""
        base = f"/apis/{self.group}/{self.version}" if self.group else f"/api/{self.version}"
        if self.namespaced and namespace:
            base += f"/namespaces/{namespace}"
        base += f"/{self.name}"
        if name:
            base += f"/{name}"
        return base

    def __str__(self) -> str:
        return f"{self.group_resource} ({self.api_version} {self.kind})"


def parse_aggregated(doc: Mapping[str, Any]) -> list[ApiResource]:
    """Resources from an ``APIGroupDiscoveryList`` (``/api`` or ``/apis``, aggregated)."""
    found: list[ApiResource] = []
    for group_doc in doc.get("items") or []:
        group = str((group_doc.get("metadata") or {}).get("name") or "")
        for index, version_doc in enumerate(group_doc.get("versions") or []):
            version = str(version_doc.get("version"))
            for res in version_doc.get("resources") or []:
                kind = (res.get("responseKind") or {}).get("kind")
                if not kind:
                    continue
                found.append(
                    ApiResource(
                        group=group,
                        version=version,
                        kind=str(kind),
                        name=str(res["resource"]),
                        namespaced=res.get("scope") == "Namespaced",
                        verbs=frozenset(res.get("verbs") or ()),
                        short_names=tuple(res.get("shortNames") or ()),
                        preferred=index == 0,
                    )
                )
    return found


def parse_legacy_resources(group: str, version: str, preferred: bool, doc: Mapping[str, Any]) -> list[ApiResource]:
    """Resources from a legacy ``APIResourceList`` (``/api/v1``, ``/apis/apps/v1``)."""
    return [
        ApiResource(
            group=group,
            version=version,
            kind=str(r["kind"]),
            name=str(r["name"]),
            namespaced=bool(r.get("namespaced")),
            verbs=frozenset(r.get("verbs") or ()),
            short_names=tuple(r.get("shortNames") or ()),
            preferred=preferred,
        )
        for r in doc.get("resources") or []
        if "/" not in str(r.get("name", ""))
    ]


Fetch = Callable[[str, str | None], Any]


@attrs.define
class Discovery:
    """The discovered API surface of one cluster (immutable once built)."""

    all_resources: list[ApiResource]
    _by_kind: dict[tuple[str, str, str], ApiResource] = attrs.field(init=False, repr=False)
    _preferred_by_group_kind: dict[tuple[str, str], ApiResource] = attrs.field(init=False, repr=False)

    def __attrs_post_init__(self) -> None:
        self._by_kind = {}
        self._preferred_by_group_kind = {}
        for res in self.all_resources:
            self._by_kind.setdefault((res.group, res.version, res.kind), res)
            if res.preferred:
                self._preferred_by_group_kind.setdefault((res.group, res.kind), res)

    @classmethod
    def fetch(cls, fetch: Fetch) -> Discovery:
        """Discover through ``fetch(path, accept)`` (a JSON GET); aggregated first, legacy as fallback."""
        core = fetch("/api", AGGREGATED_ACCEPT)
        groups = fetch("/apis", AGGREGATED_ACCEPT)
        if core.get("kind") == "APIGroupDiscoveryList" and groups.get("kind") == "APIGroupDiscoveryList":
            return cls(parse_aggregated(core) + parse_aggregated(groups))
        return cls(_fetch_legacy(fetch, core, groups))

    def lookup(self, group: str, version: str, kind: str) -> ApiResource | None:
        """The resource for exactly this group/version/kind, or None."""
        return self._by_kind.get((group, version, kind))

    def preferred(self, group: str, kind: str) -> ApiResource | None:
        """The preferred version's resource for a group and kind."""
        return self._preferred_by_group_kind.get((group, kind))

    def select(self, *, namespaced: bool | None = None, verb: str | None = None) -> list[ApiResource]:
        """Preferred-version resources, optionally only namespaced/cluster-scoped or with a verb."""
        return [
            r
            for r in self._preferred_by_group_kind.values()
            if (namespaced is None or r.namespaced == namespaced) and (verb is None or verb in r.verbs)
        ]

    def groups(self) -> set[str]:
        """API groups served."""
        return {r.group for r in self.all_resources}


def _fetch_legacy(fetch: Fetch, core: Mapping[str, Any], groups: Mapping[str, Any]) -> list[ApiResource]:
    versions = core.get("versions") or []
    jobs: list[tuple[str, str, bool, str]] = [("", v, i == 0, f"/api/{v}") for i, v in enumerate(versions)]
    for g in groups.get("groups") or []:
        preferred = (g.get("preferredVersion") or {}).get("version")
        for v in g.get("versions") or []:
            version = v["version"]
            jobs.append((g["name"], version, version == preferred, f"/apis/{g['name']}/{version}"))

    def one(job: tuple[str, str, bool, str]) -> list[ApiResource]:
        group, version, preferred, path = job
        return parse_legacy_resources(group, version, preferred, fetch(path, "application/json"))

    with ThreadPoolExecutor(max_workers=8) as pool:
        results: Iterable[list[ApiResource]] = pool.map(one, jobs)
        return [r for chunk in results for r in chunk]
