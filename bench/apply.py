"""Benchmark: portkit plan+apply vs ``kubectl apply --server-side`` of the same objects, on a LocalCluster.

Into an empty target (a fresh LocalCluster): N objects spread over K namespaces (ConfigMaps, Secrets,
headless Services, ServiceAccounts, Roles, RoleBindings, Deployments with 0 replicas so no pods add
noise).
``kubectl apply --server-side -f`` gets the same objects in another set of namespaces, in the same run.
Then a no-op re-apply (a fresh plan and apply of the unchanged bundle) is timed against the first apply.
Both tools are CPU-bound on a small machine and its speed drifts between runs, so this is done in rounds
(fresh namespaces each round, the order of the two tools alternating) and the ratios are reported per
round and as medians.

    python bench/apply.py                       # 5,000 objects, 3 rounds
    python bench/apply.py --objects 500 --rounds 1   # quick
    python bench/apply.py -o json

Targets (issue 5): portkit at least 3x faster than kubectl; no-op re-apply at least 10x faster than the
first apply. Prints the ratios; exits 0 either way (a benchmark, not a test).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

from portkit.replay import apply, plan, verify
from portkit.testing import LocalCluster


def objects(namespaces: list[str], total: int) -> list[dict[str, Any]]:
    """``total`` objects (namespaces included) spread evenly over ``namespaces``."""
    out: list[dict[str, Any]] = [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": n}} for n in namespaces]
    per_ns = max(1, (total - len(namespaces)) // len(namespaces))
    for n in namespaces:
        for i in range(per_ns):
            slot = i % 20
            name = f"obj-{i:05d}"
            meta = {"name": name, "namespace": n, "labels": {"app": f"app-{i % 37}", "bench": "apply"}}
            if slot < 9:
                out.append(
                    {
                        "apiVersion": "v1",
                        "kind": "ConfigMap",
                        "metadata": meta,
                        "data": {"settings.yaml": f"index: {i}\nnamespace: {n}\n" + "x: y\n" * 20},
                    }
                )
            elif slot < 12:
                out.append(
                    {
                        "apiVersion": "v1",
                        "kind": "Secret",
                        "metadata": meta,
                        "type": "Opaque",
                        "data": {"token": "c2VjcmV0LXZhbHVlLWZvci1iZW5jaA=="},
                    }
                )
            elif slot < 14:
                out.append(
                    {
                        "apiVersion": "v1",
                        "kind": "Service",
                        "metadata": meta,
                        "spec": {
                            "clusterIP": "None",  # headless: the local service CIDR has 254 addresses
                            "selector": {"app": f"app-{i % 37}"},
                            "ports": [{"name": "http", "port": 80, "targetPort": 8080}],
                        },
                    }
                )
            elif slot < 16:
                out.append({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": meta})
            elif slot == 16:
                out.append(
                    {
                        "apiVersion": "rbac.authorization.k8s.io/v1",
                        "kind": "Role",
                        "metadata": meta,
                        "rules": [{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get"]}],
                    }
                )
            elif slot == 17:
                out.append(
                    {
                        "apiVersion": "rbac.authorization.k8s.io/v1",
                        "kind": "RoleBinding",
                        "metadata": meta,
                        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": name},
                        "subjects": [{"kind": "ServiceAccount", "name": name, "namespace": n}],
                    }
                )
            else:
                out.append(
                    {
                        "apiVersion": "apps/v1",
                        "kind": "Deployment",
                        "metadata": meta,
                        "spec": {
                            "replicas": 0,
                            "selector": {"matchLabels": {"app": name}},
                            "template": {
                                "metadata": {"labels": {"app": name}},
                                "spec": {
                                    "containers": [
                                        {
                                            "name": "app",
                                            "image": "registry.example/a:1",
                                            "resources": {"requests": {"cpu": "100m"}},
                                        }
                                    ]
                                },
                            },
                        },
                    }
                )
    return out


def cpu_seconds(pids: dict[str, int]) -> dict[str, float]:
    """CPU seconds (user + system) used so far by each process, from /proc (Linux)."""
    ticks = os.sysconf("SC_CLK_TCK")
    out: dict[str, float] = {}
    for name, pid in pids.items():
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            out[name] = (int(fields[11]) + int(fields[12])) / ticks
        except (OSError, IndexError, ValueError):
            out[name] = 0.0
    return out


def server_pids(lc: LocalCluster) -> dict[str, int]:
    """kube-apiserver and etcd process ids of a LocalCluster (for CPU accounting)."""
    procs = getattr(lc, "_procs", {})
    return {name: procs[name].pid for name in ("apiserver", "etcd") if name in procs}


def kubectl_apply(kubectl: str, kubeconfig: str, objs: list[dict[str, Any]], workdir: Path) -> float:
    """Seconds ``kubectl apply --server-side -f`` takes for ``objs`` (one multi-document file)."""
    path = workdir / f"kubectl-{len(objs)}-{time.monotonic_ns()}.yaml"
    path.write_text(yaml.dump_all(objs, Dumper=yaml.CSafeDumper, sort_keys=False))
    started = time.perf_counter()
    proc = subprocess.run(
        [kubectl, f"--kubeconfig={kubeconfig}", "apply", "--server-side", "-f", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    seconds = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(f"kubectl apply failed: {proc.stderr[-2000:]}")
    return seconds


def one_round(
    lc: LocalCluster, cluster: Any, kubectl: str, tmp: Path, args: argparse.Namespace, r: int
) -> dict[str, Any]:
    """One round: kubectl and portkit each apply the objects into their own fresh namespaces (the order
    alternates between rounds), then portkit re-applies its unchanged bundle."""
    ours = objects([f"pk{r}-{i}" for i in range(args.namespaces)], args.objects)
    theirs = objects([f"kc{r}-{i}" for i in range(args.namespaces)], args.objects)
    figures: dict[str, Any] = {"round": r + 1, "objects": len(ours)}
    pids = server_pids(lc)
    me = {"portkit": os.getpid()}

    def run_kubectl() -> None:
        before = cpu_seconds(pids)
        figures["kubectl_first_s"] = kubectl_apply(kubectl, lc.kubeconfig, theirs, tmp)
        figures["kubectl_first_server_cpu_s"] = sum(cpu_seconds(pids).values()) - sum(before.values())

    def run_portkit() -> None:
        before, mine = cpu_seconds(pids), cpu_seconds(me)
        started = time.perf_counter()
        first_plan = plan(ours, cluster, workers=args.workers)
        figures["portkit_plan_s"] = time.perf_counter() - started
        result = apply(first_plan, workdir=tmp / f"journal-{r}", workers=args.workers)
        figures["portkit_first_s"] = time.perf_counter() - started
        figures["portkit_first_server_cpu_s"] = sum(cpu_seconds(pids).values()) - sum(before.values())
        figures["portkit_first_client_cpu_s"] = cpu_seconds(me)["portkit"] - mine["portkit"]
        if not result.ok:
            raise SystemExit(result.to_text())
        figures["portkit_first_writes"] = result.writes

    for step in (run_kubectl, run_portkit) if r % 2 == 0 else (run_portkit, run_kubectl):
        step()

    writes_before, requests_before = cluster.stats.writes, cluster.stats.requests
    started = time.perf_counter()
    apply(plan(ours, cluster, workers=args.workers), workdir=tmp / f"journal-{r}", workers=args.workers)
    figures["portkit_noop_s"] = time.perf_counter() - started
    figures["portkit_noop_writes"] = cluster.stats.writes - writes_before
    figures["portkit_noop_requests"] = cluster.stats.requests - requests_before
    figures["verified"] = verify(ours, cluster, workers=args.workers).ok
    figures["speedup_vs_kubectl"] = figures["kubectl_first_s"] / figures["portkit_first_s"]
    figures["noop_ratio"] = figures["portkit_first_s"] / figures["portkit_noop_s"]
    return figures


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--objects", type=int, default=5000, help="objects per tool (default 5000)")
    parser.add_argument("--namespaces", type=int, default=10, help="namespaces to spread them over (default 10)")
    parser.add_argument("--workers", type=int, default=16, help="portkit concurrency (default 16, apply's default)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds; ratios are reported per round and as medians")
    parser.add_argument("-o", "--output", choices=["text", "json"], default="text")
    args = parser.parse_args(argv)

    rounds: list[dict[str, Any]] = []
    with (
        tempfile.TemporaryDirectory(prefix="portkit-bench-") as tmp,
        LocalCluster(name="bench-apply", provider=None) as lc,
    ):
        cluster = lc.cluster()
        kubectl = str(lc.binaries.kubectl)
        for r in range(args.rounds):
            rounds.append(one_round(lc, cluster, kubectl, Path(tmp), args, r))
            if args.output == "text":
                print_round(rounds[-1], args)
    summary = {
        "objects": rounds[0]["objects"],
        "namespaces": args.namespaces,
        "workers": args.workers,
        "rounds": rounds,
        "median_speedup_vs_kubectl": statistics.median(f["speedup_vs_kubectl"] for f in rounds),
        "median_noop_ratio": statistics.median(f["noop_ratio"] for f in rounds),
    }
    if args.output == "json":
        print(json.dumps(_rounded(summary), indent=2))
        return 0
    print(f"median speed-up vs kubectl:   {summary['median_speedup_vs_kubectl']:.1f}x  (target >= 3x)")
    print(f"median first apply / no-op:   {summary['median_noop_ratio']:.1f}x  (target >= 10x)")
    return 0


def _rounded(value: Any) -> Any:
    if isinstance(value, float):
        return round(value, 3)
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_rounded(v) for v in value]
    return value


def print_round(f: dict[str, Any], args: argparse.Namespace) -> None:
    """The figures of one round, as text."""
    n = f["objects"]
    print(f"-- round {f['round']}: {n} objects per tool in {args.namespaces} namespaces (workers={args.workers})")
    print(f"kubectl apply --server-side: {f['kubectl_first_s']:7.2f} s  ({n / f['kubectl_first_s']:.0f}/s)")
    print(
        f"portkit plan + apply:        {f['portkit_first_s']:7.2f} s  ({n / f['portkit_first_s']:.0f}/s;"
        f" plan {f['portkit_plan_s']:.2f} s, {f['portkit_first_writes']} writes)"
    )
    print(
        f"portkit no-op re-apply:      {f['portkit_noop_s']:7.2f} s  ({f['portkit_noop_writes']} writes,"
        f" {f['portkit_noop_requests']} requests)"
    )
    print(
        f"API server + etcd CPU:       kubectl {f['kubectl_first_server_cpu_s']:.1f} s, portkit "
        f"{f['portkit_first_server_cpu_s']:.1f} s (portkit's own CPU {f['portkit_first_client_cpu_s']:.1f} s)"
    )
    print(f"speed-up vs kubectl:         {f['speedup_vs_kubectl']:.1f}x  (target >= 3x)")
    print(f"first apply / no-op:         {f['noop_ratio']:.1f}x  (target >= 10x)")
    print(f"verify:                      {'ok' if f['verified'] else 'MISMATCHES'}")


if __name__ == "__main__":
    sys.exit(main())
