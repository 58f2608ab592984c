"""portkit.fleet on real clusters: the generated Jobs pass the API server's validation, a generated unit
script migrates for real with the real `portkit` command, and one Migration handles many namespaces.

The many-namespaces test prints its measurement (run pytest with -s to see it); docs/scale.md quotes it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

import portkit
from portkit.fleet import plan_fleet
from portkit.migration import STEPS
from portkit.testing import LocalCluster

pytestmark = pytest.mark.integration

JOB_NS = "fleet-jobs"
# namespaces in the one-Migration scale test; PORTKIT_FLEET_SCALE=200 measures a bigger run (docs/scale.md)
SCALE = int(os.environ.get("PORTKIT_FLEET_SCALE", "30"))
# the local target has 2 simulated nodes of 110 pods: above that, Deployments are scaled to 0 (no pods)
REPLICAS = 1 if SCALE <= 150 else 0


def small_app(namespace: str, replicas: int = 1) -> list[dict[str, Any]]:
    """A namespace with a ConfigMap and a Deployment using it."""
    labels = {"app": "web"}
    return [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}},
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "web-config", "namespace": namespace},
         "data": {"GREETING": f"hello from {namespace}"}},
        {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": namespace},
         "spec": {"replicas": replicas, "selector": {"matchLabels": labels},
                  "template": {"metadata": {"labels": labels}, "spec": {"containers": [
                      {"name": "web", "image": "registry.example.eu/web:1.0",
                       "envFrom": [{"configMapRef": {"name": "web-config"}}],
                       "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}}}]}}}},
    ]  # fmt: skip


def plans() -> list[tuple[str, Any]]:
    base: dict[str, Any] = {
        "image": "registry.example.eu/portkit:0.1",
        "source_secret": "src-kubeconfig",
        "target_secret": "dst-kubeconfig",
        "to_provider": "ionos",
        "job_namespace": JOB_NS,
    }
    namespaces = ["shop", "billing", "search", "fleet-a", "fleet-b"]
    return [
        ("jobs", plan_fleet(namespaces, **base, workspace_pvc="portkit-ws", name="fleet-jobs",
                            namespace_map={"shop": "shop-eu"}, maps=["zone:eu-central-1a=de/fra"], backoff_limit=2,
                            active_deadline_seconds=3600, ttl_seconds_after_finished=600, queue="migrations")),
        ("indexed", plan_fleet(namespaces, **base, workspace_pvc="portkit-ws", name="fleet-indexed", engine="indexed",
                               batch_size=2, parallelism=2, rules_configmap="portkit-rules")),
        ("s3", plan_fleet(namespaces, **base, bundle_store="s3://migrations/eks-to-ionos", s3_secret="s3-creds",
                          s3_endpoint="https://s3.eu-central-1.ionoscloud.com", name="fleet-s3",
                          service_account="portkit", image_pull_secrets=["regcred"])),
    ]  # fmt: skip


def test_generated_jobs_pass_server_side_validation(source_cluster: LocalCluster) -> None:
    cluster = source_cluster.cluster()
    source_cluster.apply([{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": JOB_NS}}])
    checked = 0
    for engine, plan in plans():
        for manifest in plan.manifests:
            served = cluster.apply(manifest, dry_run=True)  # real validation and defaulting, nothing stored
            assert served["kind"] == manifest["kind"], engine
            if manifest["kind"] == "Job":
                spec, mine = served["spec"], manifest["spec"]
                assert spec["template"]["spec"]["containers"][0]["args"] == \
                    mine["template"]["spec"]["containers"][0]["args"]  # fmt: skip
                assert spec["podFailurePolicy"] == mine["podFailurePolicy"], engine
                assert served["metadata"]["labels"]["portkit.io/fleet"] == plan.name
                if engine == "indexed":
                    assert spec["completionMode"] == "Indexed" and spec["backoffLimitPerIndex"] == 3
            assert cluster.get_obj(manifest) is None  # a dry run stores nothing
            checked += 1
    assert checked == 5 + 2 + 5
    # and the validation is real: a Job the API server must refuse
    bad = plans()[0][1].jobs[0]
    bad = {**bad, "spec": {**bad["spec"], "backoffLimitPerIndex": 1}}  # only valid on Indexed Jobs
    with pytest.raises(portkit.InvalidError):
        cluster.apply(bad, dry_run=True)


def test_generated_unit_script_migrates_with_the_real_portkit(
    source_cluster: LocalCluster, target_cluster: LocalCluster, tmp_path: Path
) -> None:
    """The container command of a generated Job, run here with the mounts moved to a temp dir."""
    source_cluster.apply([*small_app("fleet-unit-a"), *small_app("fleet-unit-b")])
    plan = plan_fleet(["fleet-unit-a", "fleet-unit-b"], image="unused", source_secret="s", target_secret="t",
                      to_provider="ionos", workspace_pvc="ws", batch_size=2, timeout=120,
                      namespace_map={"fleet-unit-b": "fleet-unit-b-moved"})  # fmt: skip
    container = plan.jobs[0]["spec"]["template"]["spec"]["containers"][0]
    # the pod's metrics endpoint (all addresses, port 9464) moved to loopback and a free port, like the mounts
    args = container["args"]
    args[args.index("--metrics-address") + 1] = "127.0.0.1"
    args[args.index("--metrics-port") + 1] = "0"
    env = {e["name"]: e["value"] for e in container["env"]}
    env["WORKSPACE"] = str(tmp_path) + env["WORKSPACE"]
    env["SOURCE_KUBECONFIG"] = source_cluster.kubeconfig
    env["TARGET_KUBECONFIG"] = target_cluster.kubeconfig
    bin_dir = Path(sys.executable).parent
    assert (bin_dir / "portkit").exists(), "the portkit console script is installed next to python"
    env = {**os.environ, **env, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}
    proc = subprocess.run([*container["command"], *container["args"]], env=env, capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, timeout=300)  # fmt: skip
    workdir = Path(env["WORKSPACE"]) / "batch-000"
    assert proc.returncode == 0, proc.stderr
    assert "portkit-fleet: unit batch-000 migrated" in proc.stderr
    report = json.loads((workdir / "report.json").read_text())
    assert report["ok"] is True and report["namespaces"] == ["fleet-unit-a", "fleet-unit-b"]
    assert (workdir / "exit-code").read_text().strip() in ("0", "3")
    assert json.loads((workdir / "state.json").read_text())["completed"] == list(STEPS)
    # the unit's final metrics are in its workdir, every series labelled with the fleet and the unit
    from prometheus_client.parser import text_string_to_metric_families

    samples = [s for f in text_string_to_metric_families((workdir / "metrics.prom").read_text()) for s in f.samples]
    assert samples and all(s.labels.get("fleet") == "portkit-fleet" and s.labels.get("unit") == "batch-000"
                           for s in samples)  # fmt: skip
    exit_code = next(s.value for s in samples if s.name == "portkit_run_exit_code")
    assert str(int(exit_code)) == (workdir / "exit-code").read_text().strip()
    assert "portkit: serving metrics on http://127.0.0.1:" in proc.stderr
    target = target_cluster.cluster()
    deployments = target.resource_for("apps/v1", "Deployment")
    assert target.get(deployments, "web", "fleet-unit-a")["spec"]["replicas"] == 1
    assert target.get(deployments, "web", "fleet-unit-b-moved")["spec"]["replicas"] == 1


def test_one_migration_handles_many_namespaces(
    source_cluster: LocalCluster, target_cluster: LocalCluster, tmp_path: Path
) -> None:
    names = [f"fleet-scale-{i:03d}" for i in range(SCALE)]
    started = time.monotonic()
    source_cluster.apply([obj for ns in names for obj in small_app(ns, REPLICAS)])
    setup = time.monotonic() - started
    events: list[portkit.MigrationEvent] = []
    m = portkit.Migration(
        source=source_cluster.cluster(),
        target=target_cluster.cluster(),
        namespaces=names,
        target_provider="ionos",
        namespace_map={ns: ns.replace("fleet-scale-", "fleet-moved-") for ns in names},
        workdir=tmp_path / "mig",
        on_event=events.append,
        timeout=max(180, SCALE),
    )
    started = time.monotonic()
    report = m.run()
    seconds = time.monotonic() - started
    assert report.ok, report.to_text()
    assert report.objects_by_kind["Deployment"] == SCALE and report.objects_by_kind["ConfigMap"] >= SCALE
    target = target_cluster.cluster()
    deployments = target.resource_for("apps/v1", "Deployment")
    moved = [d for d in target.list(deployments) if d["metadata"]["namespace"].startswith("fleet-moved-")]
    assert len(moved) == SCALE
    assert all((d.get("status") or {}).get("readyReplicas", 0) == REPLICAS for d in moved)
    total = sum(report.objects_by_kind.values())
    steps = ", ".join(f"{k} {v:.1f}s" for k, v in report.timings.items())
    print(
        f"\nfleet scale: one Migration of {SCALE} namespaces ({total} objects, {REPLICAS * SCALE} pods) "
        f"took {seconds:.1f} s [{steps}] (source set-up {setup:.1f} s)"
    )
    assert [e.step for e in events if e.kind == "step_end"] == list(STEPS)
