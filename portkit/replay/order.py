"""Dependency order of a replay: which objects go in which wave.

Objects in one wave do not depend on each other and are applied concurrently; a wave starts when the
previous one has finished. Rollback walks the waves backwards.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from portkit.model import split_api_version

__all__ = ["WAVES", "WAVE_NAMES", "custom_resource_wave", "group_waves", "wave_of"]

#: The waves in apply order: a name and the (group, kind) pairs applied in it.
WAVES: tuple[tuple[str, frozenset[tuple[str, str]]], ...] = (
    ("namespaces", frozenset({("", "Namespace")})),
    ("crds", frozenset({("apiextensions.k8s.io", "CustomResourceDefinition")})),
    (
        "classes",
        frozenset(
            {
                ("storage.k8s.io", "StorageClass"),
                ("scheduling.k8s.io", "PriorityClass"),
                ("networking.k8s.io", "IngressClass"),
                ("snapshot.storage.k8s.io", "VolumeSnapshotClass"),
                ("node.k8s.io", "RuntimeClass"),
            }
        ),
    ),
    (
        "rbac",
        frozenset(
            {
                ("", "ServiceAccount"),
                ("rbac.authorization.k8s.io", "ClusterRole"),
                ("rbac.authorization.k8s.io", "Role"),
                ("rbac.authorization.k8s.io", "ClusterRoleBinding"),
                ("rbac.authorization.k8s.io", "RoleBinding"),
            }
        ),
    ),
    (
        "config",
        frozenset({("", "ConfigMap"), ("", "Secret"), ("", "LimitRange"), ("", "ResourceQuota")}),
    ),
    ("storage", frozenset({("", "PersistentVolume"), ("", "PersistentVolumeClaim")})),
    ("services", frozenset({("", "Service"), ("", "Endpoints"), ("discovery.k8s.io", "EndpointSlice")})),
    (
        "workloads",
        frozenset(
            {
                ("apps", "Deployment"),
                ("apps", "StatefulSet"),
                ("apps", "DaemonSet"),
                ("apps", "ReplicaSet"),
                ("batch", "Job"),
                ("batch", "CronJob"),
                ("", "Pod"),
                ("", "ReplicationController"),
            }
        ),
    ),
    (
        "networking",
        frozenset(
            {
                ("networking.k8s.io", "Ingress"),
                ("extensions", "Ingress"),
                ("autoscaling", "HorizontalPodAutoscaler"),
                ("policy", "PodDisruptionBudget"),
                ("networking.k8s.io", "NetworkPolicy"),
            }
        ),
    ),
)

#: Wave names, index = wave number; the last one holds custom resources and kinds not listed above.
WAVE_NAMES: tuple[str, ...] = (*(name for name, _ in WAVES), "custom")

_BY_GROUP_KIND: dict[tuple[str, str], int] = {gk: i for i, (_, kinds) in enumerate(WAVES) for gk in kinds}


def custom_resource_wave() -> int:
    """The wave number of custom resources (and of kinds portkit has no rank for): the last one."""
    return len(WAVES)


def wave_of(obj: Mapping[str, Any]) -> int:
    """The wave an object is applied in (0 = namespaces ... last = custom resources)."""
    group, _ = split_api_version(str(obj.get("apiVersion") or ""))
    kind = str(obj.get("kind") or "")
    wave = _BY_GROUP_KIND.get((group, kind))
    if wave is not None:
        return wave
    return custom_resource_wave()


def group_waves(objects: Iterable[Mapping[str, Any]]) -> list[list[Mapping[str, Any]]]:
    """Objects grouped by wave, in apply order; every wave is present (possibly empty).

    Within a wave the input order is kept, so the result is deterministic.
    """
    waves: list[list[Mapping[str, Any]]] = [[] for _ in WAVE_NAMES]
    for obj in objects:
        waves[wave_of(obj)].append(obj)
    return waves
