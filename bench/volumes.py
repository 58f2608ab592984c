"""Benchmark: volume bytes moved per second through portkit + Velero file-system backup, against a plain
``cp -a`` of the same directory on the same disk, measured in the same run; and the downtime with quiesce.

Run: python bench/volumes.py [--sizes 64 512] [--rounds 1]
Needs the local binaries (python -m portkit.testing.binaries; python -m portkit.testing.velero) and what real
nodes need (root, containerd, runc, CNI plugins, busybox-static: scripts/setup.sh).

For each size a StatefulSet on the source's real node writes that many MiB of random data (1 MiB files, plus
a hundred small files) into its claim; then
- baseline: ``cp -a`` of the claim's directory on the host (same disk) into a fresh directory;
- portkit: ``Migration(volumes="velero", quiesce=True)`` of that namespace to a second cluster. Reported: the
  volume step's wall time and bytes/s, the Velero backup and restore phases alone (from the Backup's and
  Restore's start/completion timestamps: the data movement without Velero's once-a-minute store sync), and the
  downtime (source scaled down → target workloads ready).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from portkit.migration import Migration
from portkit.testing import LocalCluster, start_all, wait_for
from portkit.testing.images import BUSYBOX


def writer(namespace: str, mib: int) -> list[dict[str, Any]]:
    script = (
        "set -e; if [ ! -f /data/.complete ]; then mkdir -p /data/big /data/small; i=0; "
        f"while [ $i -lt {mib} ]; do dd if=/dev/urandom of=/data/big/f$i bs=1M count=1 2>/dev/null; i=$((i+1)); done; "
        "i=0; while [ $i -lt 100 ]; do dd if=/dev/urandom of=/data/small/s$i bs=1k count=4 2>/dev/null; i=$((i+1)); "
        "done; touch /data/.complete; fi; sleep 2147483647 & trap 'kill $!; exit 0' TERM; wait"
    )
    return [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}},
        {
            "apiVersion": "apps/v1",
            "kind": "StatefulSet",
            "metadata": {"name": "data", "namespace": namespace},
            "spec": {
                "serviceName": "data",
                "replicas": 1,
                "selector": {"matchLabels": {"app": "data"}},
                "template": {
                    "metadata": {"labels": {"app": "data"}},
                    "spec": {
                        "terminationGracePeriodSeconds": 1,
                        "containers": [
                            {
                                "name": "w",
                                "image": BUSYBOX,
                                "imagePullPolicy": "IfNotPresent",
                                "command": ["sh", "-c", script],
                                "readinessProbe": {
                                    "exec": {"command": ["sh", "-c", "test -f /data/.complete"]},
                                    "periodSeconds": 1,
                                },
                                "volumeMounts": [{"name": "d", "mountPath": "/data"}],
                            }
                        ],
                    },
                },
                "volumeClaimTemplates": [
                    {
                        "metadata": {"name": "d"},
                        "spec": {
                            "accessModes": ["ReadWriteOnce"],
                            "resources": {"requests": {"storage": f"{mib * 2}Mi"}},
                        },
                    }
                ],
            },
        },
    ]


def claim_dir(lc: LocalCluster, namespace: str) -> Path:
    cluster = lc.cluster()
    pvc = cluster.get(cluster.resource_for("v1", "PersistentVolumeClaim"), "d-data-0", namespace)
    pv = cluster.get(cluster.resource_for("v1", "PersistentVolume"), pvc["spec"]["volumeName"])
    return Path(pv["spec"]["local"]["path"])


def tree_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


def velero_seconds(lc: LocalCluster, kind: str, name: str) -> float:
    out = lc.kubectl("get", kind, "-n", "velero", name, "-o", "json")
    status = json.loads(out)["status"]
    start = dt.datetime.fromisoformat(status["startTimestamp"].replace("Z", "+00:00"))
    end = dt.datetime.fromisoformat(status["completionTimestamp"].replace("Z", "+00:00"))
    return (end - start).total_seconds()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[64, 512], help="MiB per volume")
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args()
    store = Path(tempfile.mkdtemp(prefix="bench-velero-"))
    src = LocalCluster(
        "bvsrc", provider="aws", nodes=0, real_nodes=1, velero=True, velero_store=store, progress=lambda _m: None
    )
    dst = LocalCluster(
        "bvdst", provider="ionos", nodes=0, real_nodes=1, velero=True, velero_store=store, progress=lambda _m: None
    )
    start_all([src, dst])
    rows = []
    try:
        memory = {"source": sum(src.memory().values()), "target": sum(dst.memory().values())}
        for mib in args.sizes:
            for r in range(args.rounds):
                ns = f"bench-{mib}-{r}"
                src.apply(writer(ns, mib))
                wait_for(
                    lambda ns=ns: (
                        src.kubectl(
                            "get", "sts", "-n", ns, "data", "-o", "jsonpath={.status.readyReplicas}", check=False
                        ).strip()
                        == "1"
                    ),
                    1800,
                    f"{mib} MiB written",
                )
                source_dir = claim_dir(src, ns)
                size = tree_bytes(source_dir)
                copy_to = Path(tempfile.mkdtemp(prefix="bench-cp-", dir=source_dir.parent.parent))
                subprocess.run(["sync"], check=True)
                t = time.monotonic()
                subprocess.run(["cp", "-a", str(source_dir), str(copy_to / "copy")], check=True)
                subprocess.run(["sync"], check=True)
                cp_seconds = time.monotonic() - t
                shutil.rmtree(copy_to)
                work = Path(tempfile.mkdtemp(prefix="bench-mig-"))
                migration = Migration(
                    source=src.cluster(),
                    target=dst.cluster(),
                    namespaces=[ns],
                    source_provider="aws",
                    target_provider="ionos",
                    volumes="velero",
                    quiesce=True,
                    workdir=work,
                    timeout=1800,
                    velero_options={"timeout": 3600},
                )
                report = migration.run()
                if not report.ok:
                    raise SystemExit(report.to_text())
                names = json.loads((work / "volumes" / "velero.json").read_text())
                backup_s = velero_seconds(src, "backup", names["backup"])
                restore_s = velero_seconds(dst, "restore", names["restore"])
                step = report.timings["volumes"]
                moved = tree_bytes(claim_dir(dst, ns))
                rows.append((mib, size, moved, cp_seconds, step, backup_s, restore_s, report.downtime_seconds or 0.0))
                shutil.rmtree(work, ignore_errors=True)
    finally:
        src.stop()
        dst.stop()
        shutil.rmtree(store, ignore_errors=True)
    mb = 1e6
    print(
        f"memory with one real node and Velero (node agent running): source {memory['source'] / 2**20:.0f} MiB, "
        f"target {memory['target'] / 2**20:.0f} MiB RSS"
    )
    print("size  bytes      cp -a       portkit volume step (ratio)   backup+restore phases (ratio)   downtime")
    for mib, size, moved, cp_s, step, backup_s, restore_s, downtime in rows:
        assert moved == size, f"the target holds {moved} bytes, the source {size}"
        cp_rate, step_rate = size / cp_s / mb, size / step / mb
        phases = backup_s + restore_s
        phase_rate = size / phases / mb if phases else float("inf")
        print(
            f"{mib:>4}M {size:>10}  {cp_s:5.2f} s {cp_rate:7.1f} MB/s  {step:6.1f} s {step_rate:6.1f} MB/s "
            f"({cp_rate / step_rate:5.1f}x slower)   {phases:5.1f} s {phase_rate:6.1f} MB/s "
            f"({cp_rate / phase_rate:5.1f}x slower)   {downtime:5.1f} s"
        )


if __name__ == "__main__":
    main()
