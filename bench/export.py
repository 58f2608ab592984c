"""Benchmark: ``portkit export`` against ``kubectl get <kind> -n <ns> -o json`` for every listable kind.

Starts a LocalCluster, fills namespaces with ConfigMaps, Secrets, (headless) Services, Deployments (0
replicas: no pods) and custom resources, then in the same run:

1. exports them with portkit (in a child process, timed from process start, so both sides pay their start-up),
2. runs what a user scripts by hand: ``kubectl get <resource> -n <ns> -o json > file`` for every namespaced
   kind the server lists, in every namespace, one after the other,
3. fills more namespaces up to ``--big`` objects and exports all of them in a child process, reporting its
   peak resident memory (VmHWM).

Usage::

    python bench/export.py                                  # 10,000 objects in 10 namespaces; 50,000 for memory
    python bench/export.py --objects 1000 --namespaces 2 --big 0      # a quick run

Prints objects/s, the ratio to kubectl and the peak memory; the last line is a JSON summary.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

GROUP = "bench.portkit.example.com"
CRD = {
    "apiVersion": "apiextensions.k8s.io/v1",
    "kind": "CustomResourceDefinition",
    "metadata": {"name": f"items.{GROUP}"},
    "spec": {
        "group": GROUP,
        "scope": "Namespaced",
        "names": {"plural": "items", "singular": "item", "kind": "Item", "listKind": "ItemList"},
        "versions": [
            {
                "name": "v1",
                "served": True,
                "storage": True,
                "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}},
            }
        ],
    },
}
#: Share of each kind in a namespace's objects.
MIX = (("ConfigMap", 0.35), ("Secret", 0.20), ("Service", 0.15), ("Deployment", 0.10), ("Item", 0.20))


def make_object(kind: str, ns: str, i: int) -> dict[str, Any]:
    """One realistic-looking object of a kind."""
    meta = {"name": f"{kind.lower()}-{i:05d}", "namespace": ns, "labels": {"app": f"app-{i % 20}", "tier": "bench"}}
    if kind == "ConfigMap":
        return {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": meta,
            "data": {"settings.yaml": f"replicas: {i % 7}\nfeature: {'on' if i % 2 else 'off'}\n" * 4, "id": str(i)},
        }
    if kind == "Secret":
        return {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": meta,
            "type": "Opaque",
            "data": {"token": "c2VjcmV0" * 8},
        }
    if kind == "Service":
        return {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": meta,
            "spec": {"clusterIP": "None", "selector": {"app": meta["labels"]["app"]}, "ports": [{"port": 8080}]},
        }
    if kind == "Deployment":
        labels = {"app": meta["name"]}
        return {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": meta,
            "spec": {
                "replicas": 0,
                "selector": {"matchLabels": labels},
                "template": {
                    "metadata": {"labels": labels},
                    "spec": {
                        "containers": [
                            {
                                "name": "app",
                                "image": f"registry.example/app:{i % 10}",
                                "ports": [{"containerPort": 8080}],
                                "env": [{"name": "ID", "value": str(i)}],
                                "resources": {"requests": {"cpu": "50m", "memory": "64Mi"}},
                            }
                        ]
                    },
                },
            },
        }
    return {"apiVersion": f"{GROUP}/v1", "kind": "Item", "metadata": meta, "spec": {"size": i % 100, "owner": "bench"}}


def populate(cluster: Any, namespaces: list[str], per_namespace: int, workers: int = 16) -> int:
    """Create the namespaces and their objects; returns the number of objects created."""
    ns_res = cluster.resource_for("v1", "Namespace")
    objs: list[dict[str, Any]] = []
    for ns in namespaces:
        try:
            cluster.get(ns_res, ns)
        except Exception:  # NotFound: create it
            cluster.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
        i = 0
        for kind, share in MIX:
            for _ in range(int(per_namespace * share)):
                objs.append(make_object(kind, ns, i))
                i += 1
    with ThreadPoolExecutor(max_workers=workers) as pool:
        list(pool.map(cluster.create, objs, chunksize=64))
    return len(objs)


def wait_for_replicasets(cluster: Any, expected: int, timeout: float = 300.0) -> int:
    """Wait until the controller-manager made one ReplicaSet per Deployment (so both sides see the same)."""
    res = cluster.resource_for("apps/v1", "ReplicaSet")
    deadline = time.monotonic() + timeout
    count = 0
    while time.monotonic() < deadline:
        count = sum(1 for _ in cluster.list(res))
        if count >= expected:
            return count
        time.sleep(1)
    return count


def child_export(kubeconfig: str, directory: str, namespaces: str, workers: int) -> None:
    """Run in a child process: one export, then print timing and peak memory as JSON."""
    from portkit.cluster import Cluster
    from portkit.export import ExportReport, export

    t0 = time.monotonic()
    cluster = Cluster.from_kubeconfig(kubeconfig)
    bundle = export(cluster, namespaces.split(","), directory, workers=workers)
    seconds = time.monotonic() - t0
    report = ExportReport.from_bundle(bundle)
    peak = 0
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            peak = int(line.split()[1]) * 1024
    print(
        json.dumps(
            {
                "seconds_in_export": seconds,
                "objects": len(bundle),
                "listed": report.listed,
                "failures": len(report.failures),
                "peak_rss": peak,
            }
        )
    )


def run_child(kubeconfig: str, directory: str, namespaces: list[str], workers: int) -> dict[str, Any]:
    t0 = time.monotonic()
    proc = subprocess.run(
        [sys.executable, __file__, "--child-export", kubeconfig, directory, ",".join(namespaces), str(workers)],
        capture_output=True,
        text=True,
        check=True,
    )
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    result["wall_seconds"] = time.monotonic() - t0
    return result


def kubectl_baseline(kubectl: str, kubeconfig: str, cluster: Any, namespaces: list[str], out: Path) -> dict[str, Any]:
    """``kubectl get <resource> -n <ns> -o json > file`` for every listable namespaced kind, sequentially."""
    resources = cluster.resources(namespaced=True, verb="list")
    cache = out / "kubectl-cache"
    calls = 0
    items = 0
    t0 = time.monotonic()
    for ns in namespaces:
        for res in resources:
            target = out / f"{ns}-{res.group_resource}.json"
            with target.open("wb") as handle:
                subprocess.run(
                    [
                        kubectl,
                        f"--kubeconfig={kubeconfig}",
                        f"--cache-dir={cache}",
                        "get",
                        res.group_resource,
                        "-n",
                        ns,
                        "-o",
                        "json",
                    ],
                    stdout=handle,
                    stderr=subprocess.DEVNULL,
                    check=False,
                )
            calls += 1
    seconds = time.monotonic() - t0
    for f in out.glob("*.json"):
        with contextlib.suppress(ValueError):
            items += len(json.loads(f.read_bytes()).get("items") or [])
    return {"seconds": seconds, "calls": calls, "items": items}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--objects", type=int, default=10_000, help="objects for the speed comparison")
    parser.add_argument("--namespaces", type=int, default=10, help="namespaces they are spread over")
    parser.add_argument("--big", type=int, default=50_000, help="objects for the memory run (0: skip)")
    parser.add_argument("--workers", type=int, default=8, help="portkit export workers")
    parser.add_argument(
        "--settle-big",
        action="store_true",
        help="wait for the controller-manager to finish the big run's ReplicaSets before exporting (slow)",
    )
    parser.add_argument(
        "--child-export", nargs=4, metavar=("KUBECONFIG", "DIR", "NAMESPACES", "WORKERS"), help=argparse.SUPPRESS
    )
    args = parser.parse_args()
    if args.child_export:
        kubeconfig, directory, namespaces, workers = args.child_export
        child_export(kubeconfig, directory, namespaces, int(workers))
        return 0

    from portkit.testing import LocalCluster

    per_ns = args.objects // args.namespaces
    namespaces = [f"bench-{i:02d}" for i in range(args.namespaces)]
    work = Path(tempfile.mkdtemp(prefix="portkit-bench-export-"))
    summary: dict[str, Any] = {}
    with LocalCluster(name="bench", provider="aws", progress=lambda m: None) as lc:
        cluster = lc.cluster()
        lc.apply([CRD])
        cluster.invalidate_discovery()
        t0 = time.monotonic()
        created = populate(cluster, namespaces, per_ns)
        print(f"created {created} objects in {len(namespaces)} namespaces in {time.monotonic() - t0:.1f}s")
        deployments = int(per_ns * dict(MIX)["Deployment"]) * args.namespaces
        rs = wait_for_replicasets(cluster, deployments)
        print(f"{rs} ReplicaSets made by the controller-manager after {time.monotonic() - t0:.1f}s")

        mine = run_child(lc.kubeconfig, str(work / "bundle"), namespaces, args.workers)
        base = kubectl_baseline(str(lc.binaries.kubectl), lc.kubeconfig, cluster, namespaces, work)
        rate = mine["listed"] / mine["wall_seconds"]
        ratio = base["seconds"] / mine["wall_seconds"]
        print(
            f"portkit export: {mine['objects']} objects exported, {mine['listed']} listed in "
            f"{mine['wall_seconds']:.2f}s wall incl. Python start-up ({mine['seconds_in_export']:.2f}s in export()) "
            f"= {rate:.0f} objects/s; peak RSS {mine['peak_rss'] / 2**20:.0f} MB"
        )
        print(
            f"kubectl get -o json: {base['calls']} calls, {base['items']} items in {base['seconds']:.2f}s "
            f"= {base['items'] / base['seconds']:.0f} objects/s"
        )
        print(f"ratio: portkit is {ratio:.1f}x faster than the kubectl baseline")
        summary.update(
            objects=created,
            namespaces=len(namespaces),
            portkit=mine,
            kubectl=base,
            objects_per_second=round(rate),
            ratio=round(ratio, 2),
        )

        if args.big > created:
            extra = args.big - created
            extra_ns = [f"bench-big-{i:02d}" for i in range(max(1, extra // max(per_ns, 1)))]
            t0 = time.monotonic()
            more = populate(cluster, extra_ns, extra // len(extra_ns))
            all_ns = namespaces + extra_ns
            print(f"created {more} more objects in {len(extra_ns)} namespaces in {time.monotonic() - t0:.1f}s")
            if args.settle_big:
                per_extra = int(extra // len(extra_ns) * dict(MIX)["Deployment"]) * len(extra_ns)
                rs = wait_for_replicasets(cluster, deployments + per_extra, timeout=1800)
                print(f"{rs} ReplicaSets in all after {time.monotonic() - t0:.1f}s")
            big = run_child(lc.kubeconfig, str(work / "big"), all_ns, args.workers)
            print(
                f"big export: {big['objects']} objects exported ({big['listed']} listed) from {len(all_ns)} "
                f"namespaces in {big['wall_seconds']:.1f}s = {big['listed'] / big['wall_seconds']:.0f} objects/s; "
                f"peak RSS {big['peak_rss'] / 2**20:.0f} MB"
            )
            summary["big"] = big
    shutil.rmtree(work, ignore_errors=True)
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())
