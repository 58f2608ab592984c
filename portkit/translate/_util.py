"""Small helpers over manifests used by several translators."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

__all__ = [
    "POD_KINDS",
    "containers",
    "key_matches",
    "pod_spec_path",
    "pod_template_meta_path",
]

#: Kinds that carry a pod spec, and where.
_POD_SPEC_PATHS: dict[str, tuple[str, ...]] = {
    "Pod": ("spec",),
    "Deployment": ("spec", "template", "spec"),
    "StatefulSet": ("spec", "template", "spec"),
    "DaemonSet": ("spec", "template", "spec"),
    "ReplicaSet": ("spec", "template", "spec"),
    "ReplicationController": ("spec", "template", "spec"),
    "Job": ("spec", "template", "spec"),
    "DeploymentConfig": ("spec", "template", "spec"),
    "CronJob": ("spec", "jobTemplate", "spec", "template", "spec"),
    "PodTemplate": ("template", "spec"),
}
POD_KINDS = frozenset(_POD_SPEC_PATHS)


def pod_spec_path(obj: dict[str, Any]) -> tuple[str, ...] | None:
    """Where the pod spec of a workload lives (None for kinds without one)."""
    return _POD_SPEC_PATHS.get(str(obj.get("kind")))


def pod_template_meta_path(obj: dict[str, Any]) -> tuple[str, ...] | None:
    """Where the pod template's metadata lives (``metadata`` for a bare Pod)."""
    path = _POD_SPEC_PATHS.get(str(obj.get("kind")))
    if path is None:
        return None
    return (*path[:-1], "metadata")


def containers(spec: dict[str, Any]) -> Iterator[tuple[str, int, dict[str, Any]]]:
    """``(field, index, container)`` for containers, initContainers and ephemeralContainers."""
    for field in ("initContainers", "containers", "ephemeralContainers"):
        items = spec.get(field)
        if isinstance(items, list):
            for i, c in enumerate(items):
                if isinstance(c, dict):
                    yield field, i, c


def key_matches(key: str, patterns: Iterable[str]) -> bool:
    """True when ``key`` equals a pattern, or starts with a pattern that ends in ``/``."""
    return any(key == p or (p.endswith("/") and key.startswith(p)) for p in patterns)
