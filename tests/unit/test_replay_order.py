"""Wave order of a replay."""

from __future__ import annotations

from typing import Any

from portkit.replay.order import WAVE_NAMES, group_waves, wave_of


def obj(api_version: str, kind: str, name: str = "x") -> dict[str, Any]:
    return {"apiVersion": api_version, "kind": kind, "metadata": {"name": name}}


ISSUE_ORDER = [
    ("v1", "Namespace"),
    ("apiextensions.k8s.io/v1", "CustomResourceDefinition"),
    ("storage.k8s.io/v1", "StorageClass"),
    ("scheduling.k8s.io/v1", "PriorityClass"),
    ("networking.k8s.io/v1", "IngressClass"),
    ("v1", "ServiceAccount"),
    ("rbac.authorization.k8s.io/v1", "ClusterRole"),
    ("rbac.authorization.k8s.io/v1", "Role"),
    ("rbac.authorization.k8s.io/v1", "RoleBinding"),
    ("rbac.authorization.k8s.io/v1", "ClusterRoleBinding"),
    ("v1", "ConfigMap"),
    ("v1", "Secret"),
    ("v1", "PersistentVolumeClaim"),
    ("v1", "Service"),
    ("apps/v1", "Deployment"),
    ("apps/v1", "StatefulSet"),
    ("batch/v1", "CronJob"),
    ("networking.k8s.io/v1", "Ingress"),
    ("autoscaling/v2", "HorizontalPodAutoscaler"),
    ("policy/v1", "PodDisruptionBudget"),
    ("networking.k8s.io/v1", "NetworkPolicy"),
    ("example.com/v1", "Widget"),
]


def test_waves_follow_the_dependency_order() -> None:
    waves = [wave_of(obj(av, k)) for av, k in ISSUE_ORDER]
    assert waves == sorted(waves)
    names = [WAVE_NAMES[w] for w in waves]
    assert names[0] == "namespaces" and names[1] == "crds" and names[-1] == "custom"
    # kinds of one group share a wave
    assert wave_of(obj("v1", "ConfigMap")) == wave_of(obj("v1", "Secret"))
    assert wave_of(obj("rbac.authorization.k8s.io/v1", "Role")) == wave_of(obj("v1", "ServiceAccount"))
    assert wave_of(obj("v1", "Service")) < wave_of(obj("apps/v1", "Deployment"))
    assert wave_of(obj("v1", "PersistentVolumeClaim")) < wave_of(obj("v1", "Service"))


def test_custom_resources_come_after_everything_and_group_waves_keeps_input_order() -> None:
    objs = [
        obj("example.com/v1", "Widget", "w"),
        obj("apps/v1", "Deployment", "b"),
        obj("v1", "Namespace", "n"),
        obj("apps/v1", "Deployment", "a"),
    ]
    waves = group_waves(objs)
    assert len(waves) == len(WAVE_NAMES)
    flat = [o["metadata"]["name"] for wave in waves for o in wave]
    assert flat == ["n", "b", "a", "w"]
    # same kind name in another group is not the built-in one
    assert WAVE_NAMES[wave_of(obj("example.com/v1", "Deployment"))] == "custom"
