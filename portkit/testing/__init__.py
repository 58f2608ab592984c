"""Testing helpers for portkit and its users: real local Kubernetes clusters.

``LocalCluster`` runs etcd, kube-apiserver, kube-controller-manager, kube-scheduler and kwok as local
processes, from binaries built once from Go modules (see :mod:`portkit.testing.binaries`).
"""

from portkit.testing.localcluster import LocalCluster, load_manifests

__all__ = ["LocalCluster", "load_manifests"]
