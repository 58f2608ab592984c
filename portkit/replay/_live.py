"""Reading the live versions of many objects with few requests (lists per kind and namespace, in parallel)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from portkit.cluster import ApiResource, Cluster
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
) -> dict[LiveKey, dict[str, Any] | None]:
    """The live object (or None when absent) for every ``(resource, namespace, name)``.

    Objects of one resource in one namespace are read with one paged list when there are at least
    :data:`LIST_THRESHOLD` of them (a missing namespace lists as empty), else with one GET each. The
    requests run on ``workers`` threads. API errors other than "not found" propagate.
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

    def run(job: tuple[str, ApiResource, str, str | None]) -> list[tuple[LiveKey, dict[str, Any] | None]]:
        how, resource, namespace, name = job
        if how == "list":
            wanted_names = groups[(resource, namespace)]
            found: list[tuple[LiveKey, dict[str, Any] | None]] = []
            try:
                for item in cluster.list(resource, namespace or None):
                    item_name = str((item.get("metadata") or {}).get("name") or "")
                    if item_name in wanted_names:
                        found.append((live_key(resource, namespace, item_name), item))
            except ForbiddenError:  # may get but not list: one GET each
                return [pair for n in sorted(wanted_names) for pair in run(("get", resource, namespace, n))]
            return found
        assert name is not None
        try:
            return [(live_key(resource, namespace, name), cluster.get(resource, name, namespace or None))]
        except NotFoundError:
            return [(live_key(resource, namespace, name), None)]

    if not jobs:
        return result
    with ThreadPoolExecutor(max_workers=max(1, min(workers, len(jobs)))) as pool:
        for pairs in pool.map(run, jobs):
            for key, obj in pairs:
                result[key] = obj
    return result
