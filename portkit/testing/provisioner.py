"""A simulated dynamic volume provisioner for local clusters (no cloud provider behind it).

Runs as its own process next to a LocalCluster: ``python -m portkit.testing.provisioner --kubeconfig K
--provisioner ebs.csi.aws.com [--provisioner ...] --root DIR``. For every PersistentVolumeClaim whose
StorageClass names one of its provisioners it creates a PersistentVolume under ``DIR`` with the requested
size, access modes and reclaim policy, the way an external CSI provisioner would: a ``local`` volume with the
node's affinity when the volume is for a real node (the kubelet mounts the directory into pods, so data
written there is on disk), a ``hostPath`` volume for a kwok node; the
controller-manager's PV binder then binds the pair. ``WaitForFirstConsumer`` is honoured: a claim of such a
class is provisioned only once the scheduler has picked a node (annotation
``volume.kubernetes.io/selected-node``), and the volume gets that node's affinity. Released volumes with
reclaim policy ``Delete`` are deleted with their directory.
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import signal
import sys
import time
from pathlib import Path
from typing import Any

from portkit.cluster import Cluster
from portkit.errors import ConflictError, PortkitError

__all__ = ["Provisioner", "main"]

log = logging.getLogger(__name__)
SELECTED_NODE = "volume.kubernetes.io/selected-node"
KWOK_ANNOTATION = "kwok.x-k8s.io/node"
PROVISIONED_BY = "pv.kubernetes.io/provisioned-by"


class Provisioner:
    """One reconcile pass at a time over claims, classes and volumes of one cluster."""

    def __init__(self, cluster: Cluster, provisioners: set[str], root: Path) -> None:
        self.cluster = cluster
        self.provisioners = provisioners
        self.root = root
        self._pvc = cluster.resource_for("v1", "PersistentVolumeClaim")
        self._pv = cluster.resource_for("v1", "PersistentVolume")
        self._sc = cluster.resource_for("storage.k8s.io/v1", "StorageClass")
        self._node = cluster.resource_for("v1", "Node")

    def reconcile(self) -> int:
        """Provision what is pending and delete what is released; returns the number of changes."""
        classes = {c["metadata"]["name"]: c for c in self.cluster.list(self._sc)}
        ours = {n: c for n, c in classes.items() if c.get("provisioner") in self.provisioners}
        default = next(
            (
                n
                for n, c in ours.items()
                if (c["metadata"].get("annotations") or {}).get("storageclass.kubernetes.io/is-default-class") == "true"
            ),
            None,
        )
        volumes = {v["metadata"]["name"]: v for v in self.cluster.list(self._pv)}
        real_nodes = sorted(
            n["metadata"]["name"]
            for n in self.cluster.list(self._node)
            if KWOK_ANNOTATION not in (n["metadata"].get("annotations") or {})
        )
        changes = 0
        for claim in self.cluster.list(self._pvc):
            spec = claim.get("spec") or {}
            if spec.get("volumeName") or (claim.get("status") or {}).get("phase") == "Bound":
                continue
            class_name = spec.get("storageClassName", default)
            storage_class = ours.get(class_name or "")
            if storage_class is None:
                continue
            name = f"pvc-{claim['metadata']['uid']}"
            if name in volumes:
                continue
            annotations = claim["metadata"].get("annotations") or {}
            node = annotations.get(SELECTED_NODE)
            if storage_class.get("volumeBindingMode") == "WaitForFirstConsumer" and not node:
                continue
            if not node and real_nodes:
                node = real_nodes[0]  # Immediate binding: put the data where pods can really use it
            self._create_volume(name, claim, storage_class, node, real=node in real_nodes)
            changes += 1
        for name, volume in volumes.items():
            annotations = volume["metadata"].get("annotations") or {}
            if (
                annotations.get(PROVISIONED_BY) in self.provisioners
                and (volume.get("status") or {}).get("phase") == "Released"
                and volume["spec"].get("persistentVolumeReclaimPolicy") == "Delete"
            ):
                self.cluster.delete(self._pv, name)
                shutil.rmtree(self.root / name, ignore_errors=True)
                changes += 1
        return changes

    def _create_volume(
        self, name: str, claim: dict[str, Any], storage_class: dict[str, Any], node: str | None, *, real: bool
    ) -> None:
        meta = claim["metadata"]
        spec = claim["spec"]
        path = self.root / name
        path.mkdir(parents=True, exist_ok=True)
        os.chmod(path, 0o777)  # like a fresh file system: any pod user may write (fsGroup is not applied)
        volume: dict[str, Any] = {
            "apiVersion": "v1",
            "kind": "PersistentVolume",
            "metadata": {
                "name": name,
                "annotations": {PROVISIONED_BY: storage_class["provisioner"]},
            },
            "spec": {
                "capacity": {"storage": spec.get("resources", {}).get("requests", {}).get("storage", "1Gi")},
                "accessModes": spec.get("accessModes") or ["ReadWriteOnce"],
                "persistentVolumeReclaimPolicy": storage_class.get("reclaimPolicy", "Delete"),
                "storageClassName": storage_class["metadata"]["name"],
                "volumeMode": spec.get("volumeMode", "Filesystem"),
                "claimRef": {
                    "apiVersion": "v1",
                    "kind": "PersistentVolumeClaim",
                    "namespace": meta["namespace"],
                    "name": meta["name"],
                    "uid": meta["uid"],
                },
            },
        }
        if real:
            volume["spec"]["local"] = {"path": str(path)}  # mounted by the real node's kubelet
        else:
            volume["spec"]["hostPath"] = {"path": str(path), "type": "DirectoryOrCreate"}
        if node:
            volume["spec"]["nodeAffinity"] = {
                "required": {
                    "nodeSelectorTerms": [
                        {"matchExpressions": [{"key": "kubernetes.io/hostname", "operator": "In", "values": [node]}]}
                    ]
                }
            }
        try:
            self.cluster.create(volume)
            log.info("provisioned %s for %s/%s", name, meta["namespace"], meta["name"])
        except ConflictError:
            pass


def main(argv: list[str] | None = None) -> int:
    """Run the provisioner loop until SIGTERM."""
    parser = argparse.ArgumentParser(prog="python -m portkit.testing.provisioner")
    parser.add_argument("--kubeconfig", required=True)
    parser.add_argument("--provisioner", action="append", default=[], required=True)
    parser.add_argument("--root", required=True)
    parser.add_argument("--interval", type=float, default=0.5)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    stop = False

    def on_term(*_: object) -> None:
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, on_term)
    cluster = Cluster.from_kubeconfig(args.kubeconfig)
    provisioner: Provisioner | None = None
    log.info("provisioner for %s started", ", ".join(args.provisioner))
    while not stop:
        try:
            if provisioner is None:
                provisioner = Provisioner(cluster, set(args.provisioner), Path(args.root))
            provisioner.reconcile()
        except PortkitError as exc:  # the API server may be restarting (fault tests); keep going
            log.warning("reconcile failed: %s", exc)
        time.sleep(args.interval)
    return 0


if __name__ == "__main__":
    sys.exit(main())
