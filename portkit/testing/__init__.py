"""Testing helpers for portkit and its users: real local Kubernetes clusters.

``LocalCluster`` runs etcd, kube-apiserver, kube-controller-manager, kube-scheduler and kwok as local
processes, and optionally real nodes (a kubelet and containerd that really run pods, see
:mod:`portkit.testing.node`), from binaries built once from Go modules (see :mod:`portkit.testing.binaries`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from portkit.testing.localcluster import LocalCluster, load_manifests, start_all, wait_for

__all__ = ["LocalCluster", "load_manifests", "start_all", "wait_for"]


def __getattr__(name: str) -> Any:  # imported lazily so `python -m portkit.testing.binaries` runs cleanly
    if name in __all__:
        from portkit.testing import localcluster

        return getattr(localcluster, name)
    raise AttributeError(f"module 'portkit.testing' has no attribute {name!r}")
