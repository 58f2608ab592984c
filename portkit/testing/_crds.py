"""Minimal stand-ins for CRDs a provider cluster has but a bare control plane lacks.

The ``snapshot.storage.k8s.io`` CRDs (normally installed by the external-snapshotter) are served here
with open schemas, so a provider's VolumeSnapshotClasses can exist in a local cluster. No snapshot
controller runs: snapshots are objects only.
"""

from __future__ import annotations

from typing import Any

__all__ = ["snapshot_crds"]


def _crd(group: str, kind: str, plural: str, scope: str, short: list[str]) -> dict[str, Any]:
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {
            "name": f"{plural}.{group}",
            # *.k8s.io groups are protected: the API server requires this annotation (the real CRDs have it)
            "annotations": {
                "api-approved.kubernetes.io": "https://github.com/kubernetes-csi/external-snapshotter/pull/419"
            },
        },
        "spec": {
            "group": group,
            "scope": scope,
            "names": {
                "kind": kind,
                "plural": plural,
                "singular": kind.lower(),
                "listKind": f"{kind}List",
                "shortNames": short,
            },
            "versions": [
                {
                    "name": "v1",
                    "served": True,
                    "storage": True,
                    "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}},
                    "subresources": {"status": {}} if kind != "VolumeSnapshotClass" else {},
                }
            ],
        },
    }


def snapshot_crds() -> list[dict[str, Any]]:
    """VolumeSnapshotClass, VolumeSnapshotContent (cluster-scoped) and VolumeSnapshot CRDs."""
    group = "snapshot.storage.k8s.io"
    return [
        _crd(group, "VolumeSnapshotClass", "volumesnapshotclasses", "Cluster", ["vsclass", "vsclasses"]),
        _crd(group, "VolumeSnapshotContent", "volumesnapshotcontents", "Cluster", ["vsc", "vscs"]),
        _crd(group, "VolumeSnapshot", "volumesnapshots", "Namespaced", ["vs"]),
    ]
