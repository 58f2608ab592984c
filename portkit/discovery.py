"""API discovery: which resources a cluster serves, in which versions, with which verbs.

Uses aggregated discovery (``/api`` and ``/apis`` with ``apidiscovery.k8s.io/v2``: two requests for the
whole surface) and falls back to the legacy per-group-version documents on servers that lack it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import attrs

from portkit._paths import collection_path, group_version_path, object_path
from portkit.errors import InvalidNameError, ServerResponseError

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
        """URL path of the collection, or of one object when ``name`` is given (not None).

        Every segment is percent-encoded. ``namespace`` is ignored for cluster-scoped resources; for
        namespaced ones an empty namespace means all namespaces (collections only).

        Raises:
            InvalidNameError: ``name`` is empty or no object can have it, ``namespace`` is not a valid
                namespace name, or an object of a namespaced kind is addressed without a namespace. Nothing
                is sent then: an empty name never turns a request for an object into one for its collection.
        """
        namespace = namespace if self.namespaced else None
        if name is None:
            return collection_path(self.group, self.version, self.name, namespace)
        if self.namespaced and not namespace:
            raise InvalidNameError(
                f"{self.kind} {name!a} is namespaced but no namespace was given: no request was sent.",
                hint="Set metadata.namespace of the object (or map its namespace).",
            )
        return object_path(self.group, self.version, self.name, name, namespace)

    def __str__(self) -> str:
        return f"{self.group_resource} ({self.api_version} {self.kind})"


def _bad(where: str, what: str) -> ServerResponseError:
    return ServerResponseError(
        f"GET {where}: the API discovery document is malformed ({what}).", status=200, reason="BadDiscovery"
    )


def _dict(value: Any, where: str, what: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise _bad(where, f"{what} is not an object")
    return value


def _list(value: Any, where: str, what: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise _bad(where, f"{what} is not a list")
    return value


def _text(value: Any, where: str, what: str, *, required: bool = True) -> str:
    if value is None and not required:
        return ""
    if not isinstance(value, str) or (required and not value):
        raise _bad(where, f"{what} is not a non-empty string")
    return value


def _strings(value: Any, where: str, what: str) -> Any:
    """A list of strings (typed Any: it feeds attrs converters)."""
    items = _list(value, where, what)
    if not all(isinstance(v, str) for v in items):
        raise _bad(where, f"{what} holds something other than strings")
    return items


def parse_aggregated(doc: Mapping[str, Any], where: str = "/apis") -> list[ApiResource]:
    """Resources from an ``APIGroupDiscoveryList`` (``/api`` or ``/apis``, aggregated).

    Raises:
        ServerResponseError: the document does not have the shape of an ``APIGroupDiscoveryList``.
    """
    found: list[ApiResource] = []
    for group_doc in _list(_dict(doc, where, "the document").get("items"), where, "items"):
        group_doc = _dict(group_doc, where, "an item")
        group = _text(
            _dict(group_doc.get("metadata") or {}, where, "metadata").get("name"),
            where,
            "metadata.name",
            required=False,
        )
        for index, version_doc in enumerate(_list(group_doc.get("versions"), where, f"versions of {group!r}")):
            version_doc = _dict(version_doc, where, f"a version of {group!r}")
            version = _text(version_doc.get("version"), where, f"a version of {group!r}")
            for res in _list(version_doc.get("resources"), where, f"resources of {group}/{version}"):
                res = _dict(res, where, f"a resource of {group}/{version}")
                response_kind = _dict(res.get("responseKind") or {}, where, "responseKind")
                kind = response_kind.get("kind")
                if not kind:
                    continue
                found.append(
                    ApiResource(
                        group=group,
                        version=version,
                        kind=_text(kind, where, "responseKind.kind"),
                        name=_text(res.get("resource"), where, f"a resource name in {group}/{version}"),
                        namespaced=res.get("scope") == "Namespaced",
                        verbs=_strings(res.get("verbs"), where, "verbs"),
                        short_names=_strings(res.get("shortNames"), where, "shortNames"),
                        preferred=index == 0,
                    )
                )
    return found


def parse_legacy_resources(group: str, version: str, preferred: bool, doc: Mapping[str, Any]) -> list[ApiResource]:
    """Resources from a legacy ``APIResourceList`` (``/api/v1``, ``/apis/apps/v1``).

    Raises:
        ServerResponseError: the document does not have the shape of an ``APIResourceList``.
    """
    where = group_version_path(group, version)
    found: list[ApiResource] = []
    for r in _list(_dict(doc, where, "the document").get("resources"), where, "resources"):
        r = _dict(r, where, "a resource")
        name = _text(r.get("name"), where, "a resource name")
        if "/" in name:
            continue  # a subresource
        found.append(
            ApiResource(
                group=group,
                version=version,
                kind=_text(r.get("kind"), where, f"the kind of {name!r}"),
                name=name,
                namespaced=r.get("namespaced") is True,
                verbs=_strings(r.get("verbs"), where, "verbs"),
                short_names=_strings(r.get("shortNames"), where, "shortNames"),
                preferred=preferred,
            )
        )
    return found


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
        """Discover through ``fetch(path, accept)`` (a JSON GET); aggregated first, legacy as fallback.

        Raises:
            ServerResponseError: an answer is not a discovery document of the expected shape.
        """
        core = fetch("/api", AGGREGATED_ACCEPT)
        groups = fetch("/apis", AGGREGATED_ACCEPT)
        core = _dict(core, "/api", "the document")
        groups = _dict(groups, "/apis", "the document")
        if core.get("kind") == "APIGroupDiscoveryList" and groups.get("kind") == "APIGroupDiscoveryList":
            return cls(parse_aggregated(core, "/api") + parse_aggregated(groups, "/apis"))
        if not (core.get("kind") == "APIVersions" or "versions" in core):
            raise _bad("/api", "neither an APIGroupDiscoveryList nor an APIVersions document (no kind)")
        if not (groups.get("kind") == "APIGroupList" or "groups" in groups):
            raise _bad("/apis", "neither an APIGroupDiscoveryList nor an APIGroupList document (no kind)")
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
    versions = _strings(core.get("versions"), "/api", "versions")
    jobs: list[tuple[str, str, bool]] = [("", v, i == 0) for i, v in enumerate(versions) if v]
    for g in _list(groups.get("groups"), "/apis", "groups"):
        g = _dict(g, "/apis", "a group")
        name = _text(g.get("name"), "/apis", "a group name")
        preferred = _dict(g.get("preferredVersion") or {}, "/apis", "preferredVersion").get("version")
        for v in _list(g.get("versions"), "/apis", f"versions of {name!r}"):
            version = _text(_dict(v, "/apis", "a group version").get("version"), "/apis", f"a version of {name!r}")
            jobs.append((name, version, version == preferred))

    def one(job: tuple[str, str, bool]) -> list[ApiResource]:
        group, version, preferred = job
        return parse_legacy_resources(
            group, version, preferred, fetch(group_version_path(group, version), "application/json")
        )

    with ThreadPoolExecutor(max_workers=8) as pool:
        results: Iterable[list[ApiResource]] = pool.map(one, jobs)
        return [r for chunk in results for r in chunk]
