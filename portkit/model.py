"""Object references and small helpers over plain manifest dicts.

Manifests are plain ``dict`` objects everywhere in portkit's core (as the API server sends them); this
module gives them an identity (:class:`ObjectRef`) and a few safe accessors.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import attrs

__all__ = [
    "CLUSTER_SCOPED_KINDS",
    "ObjectRef",
    "deep_copy",
    "fast_copy",
    "gc_paused",
    "get_path",
    "split_api_version",
]

Manifest = dict[str, Any]

#: Built-in kinds that are cluster-scoped, keyed by (group, kind). Used when no live discovery is at
#: hand (bundles made from plain manifests); a live cluster's discovery always wins.
CLUSTER_SCOPED_KINDS: frozenset[tuple[str, str]] = frozenset(
    {
        ("", "Namespace"),
        ("", "Node"),
        ("", "PersistentVolume"),
        ("apiextensions.k8s.io", "CustomResourceDefinition"),
        ("storage.k8s.io", "StorageClass"),
        ("storage.k8s.io", "CSIDriver"),
        ("storage.k8s.io", "VolumeAttachment"),
        ("snapshot.storage.k8s.io", "VolumeSnapshotClass"),
        ("snapshot.storage.k8s.io", "VolumeSnapshotContent"),
        ("rbac.authorization.k8s.io", "ClusterRole"),
        ("rbac.authorization.k8s.io", "ClusterRoleBinding"),
        ("networking.k8s.io", "IngressClass"),
        ("scheduling.k8s.io", "PriorityClass"),
        ("policy", "PodSecurityPolicy"),
        ("admissionregistration.k8s.io", "MutatingWebhookConfiguration"),
        ("admissionregistration.k8s.io", "ValidatingWebhookConfiguration"),
        ("apiregistration.k8s.io", "APIService"),
        ("node.k8s.io", "RuntimeClass"),
        ("security.openshift.io", "SecurityContextConstraints"),
        ("elbv2.k8s.aws", "IngressClassParams"),
        ("eks.amazonaws.com", "IngressClassParams"),
        ("eks.amazonaws.com", "NodeClass"),
        ("karpenter.sh", "NodePool"),
        ("karpenter.sh", "NodeClaim"),
        ("karpenter.k8s.aws", "EC2NodeClass"),
        ("crd.k8s.amazonaws.com", "ENIConfig"),
    }
)


def split_api_version(api_version: str) -> tuple[str, str]:
    """Split ``apps/v1`` into ``("apps", "v1")`` and ``v1`` into ``("", "v1")``."""
    if "/" in api_version:
        group, _, version = api_version.partition("/")
        return group, version
    return "", api_version


@attrs.frozen(order=True)
class ObjectRef:
    """The identity of one Kubernetes object: group, version, kind, namespace and name.

    ``namespace`` is ``""`` for cluster-scoped objects. Two refs that differ only in version name the same
    object; use :attr:`key` to compare identities across versions.
    """

    group: str
    version: str
    kind: str
    namespace: str
    name: str

    @classmethod
    def from_obj(cls, obj: Mapping[str, Any]) -> ObjectRef:
        """Build the reference of a manifest (``apiVersion``, ``kind``, ``metadata.name/namespace``)."""
        group, version = split_api_version(str(obj.get("apiVersion") or ""))
        meta = obj.get("metadata") or {}
        return cls(
            group=group,
            version=version,
            kind=str(obj.get("kind") or ""),
            namespace=str(meta.get("namespace") or ""),
            name=str(meta.get("name") or ""),
        )

    @property
    def api_version(self) -> str:
        """``group/version``, or just ``version`` for the core group."""
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def group_kind(self) -> str:
        """``Kind.group`` (``Deployment.apps``), or ``Kind`` for the core group."""
        return f"{self.kind}.{self.group}" if self.group else self.kind

    @property
    def key(self) -> tuple[str, str, str, str]:
        """Identity without the version: (group, kind, namespace, name)."""
        return (self.group, self.kind, self.namespace, self.name)

    @property
    def cluster_scoped(self) -> bool:
        """True when the ref has no namespace."""
        return not self.namespace

    def __str__(self) -> str:
        where = f"{self.namespace}/{self.name}" if self.namespace else self.name
        return f"{self.group_kind} {where}"

    def to_dict(self) -> dict[str, str]:
        """Plain dict form for JSON output."""
        return attrs.asdict(self)


def get_path(obj: Mapping[str, Any], *path: str | int, default: Any = None) -> Any:
    """Read a nested value: ``get_path(obj, "spec", "template", "spec")``; ``default`` if any step is missing."""
    cur: Any = obj
    for step in path:
        if isinstance(step, int):
            if not isinstance(cur, list) or step >= len(cur):
                return default
            cur = cur[step]
        else:
            if not isinstance(cur, Mapping) or step not in cur:
                return default
            cur = cur[step]
    return cur


def fast_copy(value: Any) -> Any:
    """Deep copy of JSON-shaped data (dicts, lists, scalars): several times faster than ``copy.deepcopy``.

    Containers of other types (tuples, sets) are shared, not copied.
    """
    t = type(value)
    if t is dict:
        return {k: fast_copy(v) for k, v in value.items()}
    if t is list:
        return [fast_copy(v) for v in value]
    return value


def deep_copy(objs: Iterable[Manifest]) -> list[Manifest]:
    """Deep copies of manifests (they are mutable dicts; copy before changing one you do not own)."""
    return [fast_copy(o) for o in objs]


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector for a block.

    Translating, planning and decoding thousands of manifests allocates many small acyclic containers;
    the collector's passes over them (and over everything else the process holds) can cost as much as the
    work itself. Reference counting still frees everything; the collector resumes afterwards.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
