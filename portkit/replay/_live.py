"""Reading the live versions of many objects with few requests (lists per kind and namespace, in parallel)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from portkit.cluster import ApiResource, Cluster, snapshot_version
from portkit.errors import ForbiddenError, NotFoundError

__all__ = ["LIST_THRESHOLD", "LiveKey", "fetch_live", "live_key"]

#: From this many objects of one kind in one namespace on, one (paged) list beats one GET per object.
LIST_THRESHOLD = 4

LiveKey = tuple[str, str, str, str]  # group, kind, namespace, name


def live_key(resource: ApiResource, namespace: str, name: str) -> LiveKey:
    """The key :func:`fetch_live` answers under."""
    return (resource.group, resource.kind, namespace if resource.namespaced else "", name)


def fetch_live(
    cluster: Cluster,
    wanted: Iterable[tuple[ApiResource, str, str]],
    *,
    workers: int = 8,
    not_older_than: str | None = None,
) -> dict[LiveKey, dict[str, Any] | None]:
    """The live object (or None when absent) for every ``(resource, namespace, name)``.

    Objects of one resource in one namespace are read with one paged list when there are at least
    :data:`LIST_THRESHOLD` of them (a missing namespace lists as empty), else with one GET each. The
    requests run on ``workers`` threads. API errors other than "not found" propagate.

    All reads see the cluster as of one moment or later: ``not_older_than`` (a resourceVersion), or when
    it is not given and more than one request is needed, the version read first with one consistent
    one-item list (see :meth:`portkit.Cluster.resource_version`). The API server then answers from its
    cache instead of making every list wait until its cache has caught up with etcd.
    """
    groups: dict[tuple[ApiResource, str], set[str]] = defaultdict(set)
    for resource, namespace, name in wanted:
        groups[(resource, namespace if resource.namespaced else "")].add(name)
    result: dict[LiveKey, dict[str, Any] | None] = {}
    jobs: list[tuple[str, ApiResource, str, str | None]] = []
    for (resource, namespace), names in groups.items():
        if len(names) >= LIST_THRESHOLD and ("list" in resource.verbs or not resource.verbs):
            jobs.append(("list", resource, namespace, None))
            for name in names:
                result[live_key(resource, namespace, name)] = None
            continue
        jobs.extend(("get", resource, namespace, name) for name in sorted(names))

    if not_older_than is None and len(jobs) > 1:
        not_older_than = snapshot_version(cluster, [(res, ns or None) for how, res, ns, _ in jobs if how == "list"])

    def run(job: tuple[str, ApiResource, str, str | None]) -> list[tuple[LiveKey, dict[str, Any] | None]]:
        how, resource, namespace, name = job
        if how == "list":
            wanted_names = groups[(resource, namespace)]
            found: list[tuple[LiveKey, dict[str, Any] | None]] = []
            try:
                for item in cluster.list(resource, namespace or None, not_older_than=not_older_than):
                    item_name = str((item.get("metadata") or {}).get("name") or "")
                    if item_name in wanted_names:
                        found.append((live_key(resource, namespace, item_name), item))
            except ForbiddenError:  # may get but not list: one GET each
                return [pair for n in sorted(wanted_names) for pair in run(("get", resource, namespace, n))]
            return found
        assert name is not None
        try:
            live = cluster.get(resource, name, namespace or None, not_older_than=not_older_than)
            return [(live_key(resource, namespace, name), live)]
        except NotFoundError:
            return [(live_key(resource, namespace, name), None)]

    if not jobs:
        return result
    with ThreadPoolExecutor(max_workers=max(1, min(workers, len(jobs)))) as pool:
        for pairs in pool.map(run, jobs):
            for key, obj in pairs:
                result[key] = obj
    return result
