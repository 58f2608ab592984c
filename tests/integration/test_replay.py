"""Replay (plan / apply / wait / verify / rollback) against a real local API server (LocalCluster "ionos")."""

from __future__ import annotations

import copy
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from portkit import Cluster, ClusterUnreachableError
from portkit.model import get_path
from portkit.replay import ApplyInterrupted, Journal, apply, plan, rollback, verify
from portkit.testing import LocalCluster

pytestmark = pytest.mark.integration


# ------------------------------------------------------------------------------------------ helpers
def ns(name: str, **labels: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": name, **({"labels": labels} if labels else {})},
    }


def deployment(name: str, namespace: str, replicas: int = 2, **pod_spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": namespace, "labels": {"app": name}},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {
                    "containers": [
                        {
                            "name": "app",
                            "image": "registry.example/shop/web:1.4",
                            "ports": [{"name": "http", "containerPort": 8080}],
                            "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}},
                            "env": [{"name": "DB_HOST", "value": f"db.{namespace}.svc.cluster.local"}],
                        }
                    ],
                    **pod_spec,
                },
            },
        },
    }


def realistic(namespace: str) -> list[dict[str, Any]]:
    """A small shop: every wave represented, a CRD and its custom resource included."""
    group = f"{namespace}.example.com"
    return [
        ns(namespace, team="shop"),
        {
            "apiVersion": "apiextensions.k8s.io/v1",
            "kind": "CustomResourceDefinition",
            "metadata": {"name": f"carts.{group}"},
            "spec": {
                "group": group,
                "scope": "Namespaced",
                "names": {"kind": "Cart", "plural": "carts", "singular": "cart", "listKind": "CartList"},
                "versions": [
                    {
                        "name": "v1",
                        "served": True,
                        "storage": True,
                        "schema": {
                            "openAPIV3Schema": {
                                "type": "object",
                                "properties": {"spec": {"type": "object", "properties": {"size": {"type": "integer"}}}},
                            }
                        },
                    }
                ],
            },
        },
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "web", "namespace": namespace}},
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "Role",
            "metadata": {"name": "reader", "namespace": namespace},
            "rules": [{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "list"]}],
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "RoleBinding",
            "metadata": {"name": "web-reader", "namespace": namespace},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "reader"},
            "subjects": [{"kind": "ServiceAccount", "name": "web", "namespace": namespace}],
        },
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "settings", "namespace": namespace},
            "data": {"color": "blue", "upstream": f"http://api.{namespace}.svc:8080"},
        },
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "db", "namespace": namespace},
            "type": "Opaque",
            "stringData": {"password": "not-a-real-password"},
        },
        {
            "apiVersion": "v1",
            "kind": "PersistentVolumeClaim",
            "metadata": {"name": "uploads", "namespace": namespace},
            "spec": {
                "accessModes": ["ReadWriteOnce"],
                "storageClassName": "ionos-enterprise-ssd",
                "resources": {"requests": {"storage": "1Gi"}},
            },
        },
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "web", "namespace": namespace},
            "spec": {"selector": {"app": "web"}, "ports": [{"name": "http", "port": 80, "targetPort": "http"}]},
        },
        deployment("web", namespace, volumes=[{"name": "uploads", "persistentVolumeClaim": {"claimName": "uploads"}}]),
        {
            "apiVersion": "apps/v1",
            "kind": "StatefulSet",
            "metadata": {"name": "db", "namespace": namespace},
            "spec": {
                "serviceName": "db",
                "replicas": 1,
                "selector": {"matchLabels": {"app": "db"}},
                "template": {
                    "metadata": {"labels": {"app": "db"}},
                    "spec": {"containers": [{"name": "db", "image": "registry.example/postgres:16"}]},
                },
                "volumeClaimTemplates": [
                    {
                        "metadata": {"name": "data"},
                        "spec": {
                            "accessModes": ["ReadWriteOnce"],
                            "storageClassName": "ionos-enterprise-ssd",
                            "resources": {"requests": {"storage": "2Gi"}},
                        },
                    }
                ],
            },
        },
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "Ingress",
            "metadata": {"name": "web", "namespace": namespace},
            "spec": {
                "rules": [
                    {
                        "host": "shop.example.com",
                        "http": {
                            "paths": [
                                {
                                    "path": "/",
                                    "pathType": "Prefix",
                                    "backend": {"service": {"name": "web", "port": {"name": "http"}}},
                                }
                            ]
                        },
                    }
                ]
            },
        },
        {
            "apiVersion": "autoscaling/v2",
            "kind": "HorizontalPodAutoscaler",
            "metadata": {"name": "web", "namespace": namespace},
            "spec": {
                "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
                "minReplicas": 2,
                "maxReplicas": 4,
                "metrics": [
                    {
                        "type": "Resource",
                        "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 80}},
                    }
                ],
            },
        },
        {
            "apiVersion": "policy/v1",
            "kind": "PodDisruptionBudget",
            "metadata": {"name": "web", "namespace": namespace},
            "spec": {"minAvailable": 1, "selector": {"matchLabels": {"app": "web"}}},
        },
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": {"name": "from-self", "namespace": namespace},
            "spec": {
                "podSelector": {},
                "ingress": [
                    {"from": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": namespace}}}]}
                ],
            },
        },
        {
            "apiVersion": f"{group}/v1",
            "kind": "Cart",
            "metadata": {"name": "main", "namespace": namespace},
            "spec": {"size": 3},
        },
    ]


def count_in(cluster: Cluster, api_version: str, kind: str, namespace: str) -> int:
    """Objects of a kind in a namespace, without the ones controllers create (kube-root-ca.crt)."""
    items = cluster.list(cluster.resource_for(api_version, kind), namespace)
    return len([i for i in items if i["metadata"]["name"] != "kube-root-ca.crt"])


class FlakyCluster:
    """Wraps a real Cluster; after ``limit`` writes (creates and applies) every further one fails as if the
    server were gone."""

    def __init__(self, inner: Cluster, limit: int) -> None:
        self._inner = inner
        self.limit = limit
        self.applies = 0
        self._lock = threading.Lock()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def _gate(self, dry_run: bool) -> None:
        if not dry_run:
            with self._lock:
                self.applies += 1
                refuse = self.applies > self.limit
            if refuse:
                raise ClusterUnreachableError("connection refused (simulated)")

    def apply(self, obj: Mapping[str, Any], **kw: Any) -> dict[str, Any]:
        self._gate(kw.get("dry_run", False))
        return self._inner.apply(obj, **kw)

    def create(self, obj: Mapping[str, Any], **kw: Any) -> dict[str, Any]:
        self._gate(kw.get("dry_run", False))
        return self._inner.create(obj, **kw)


# ------------------------------------------------------------------------------------------- tests
def test_realistic_bundle_applies_in_order_then_reapply_writes_nothing(
    target_cluster: LocalCluster, tmp_path: Path
) -> None:
    cluster = target_cluster.cluster()
    bundle = realistic("rp-shop")
    p = plan(bundle, cluster)
    assert p.blockers == [], p.to_text()
    assert p.counts()["create"] == len(bundle)
    cart = p.action("Cart", "main")
    assert cart is not None and cart.deferred

    result = apply(p, wait=True, timeout=90, workdir=tmp_path / "journal")
    assert result.ok, result.to_text()
    assert result.counts()["created"] == len(bundle)
    assert result.writes == len(bundle)
    assert result.waited is not None and result.waited.ready_all, result.waited.to_text()
    # the PVC (WaitForFirstConsumer) and the Deployment are tracked and ready
    assert {r.kind for r in result.waited.ready} == {"Deployment", "StatefulSet", "PersistentVolumeClaim"}
    assert verify(bundle, cluster).ok

    live_secret = cluster.get(cluster.resource_for("v1", "Secret"), "db", "rp-shop")
    assert get_path(live_secret, "metadata", "managedFields", 0, "manager") == "portkit"

    writes_before = cluster.stats.writes
    fresh = plan(bundle, cluster)
    assert fresh.counts()["unchanged"] == len(bundle), fresh.diff()
    again = apply(fresh, workdir=tmp_path / "journal")
    assert again.writes == 0
    assert cluster.stats.writes == writes_before, "a no-op re-apply must not send any write (or dry run)"


def test_resume_after_a_partial_run(target_cluster: LocalCluster, tmp_path: Path) -> None:
    cluster = target_cluster.cluster()
    bundle = [ns("rp-resume")] + [
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": f"c{i:03d}", "namespace": "rp-resume"},
            "data": {"i": str(i)},
        }
        for i in range(120)
    ]
    flaky = FlakyCluster(cluster, limit=50)
    p = plan(bundle, flaky)  # type: ignore[arg-type]
    with pytest.raises(ApplyInterrupted) as info:
        apply(p, workdir=tmp_path)
    assert info.value.result.counts()["created"] == 50
    applied = [e for e in Journal(tmp_path).entries if e.event == "applied"]
    assert len(applied) == 50
    assert count_in(cluster, "v1", "ConfigMap", "rp-resume") == 49  # the namespace was the 50th write

    flaky.limit = 10_000
    resumed = apply(p, workdir=tmp_path)
    assert resumed.ok, resumed.to_text()
    assert resumed.writes == len(bundle) - 50
    assert count_in(cluster, "v1", "ConfigMap", "rp-resume") == 120
    assert verify(bundle, cluster).ok

    # a fresh plan of the same bundle after the resume: nothing left to write
    assert plan(bundle, cluster).counts()["unchanged"] == len(bundle)


def test_rejected_object_reported_with_the_api_message_and_others_applied(target_cluster: LocalCluster) -> None:
    cluster = target_cluster.cluster()
    target_cluster.apply([ns("rp-bad")])
    bad = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "bad", "namespace": "rp-bad"},
        "spec": {"ports": [{"port": 70000}]},
    }
    good = [
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": f"ok{i}", "namespace": "rp-bad"},
            "data": {"i": str(i)},
        }
        for i in range(5)
    ]
    p = plan([*good, bad], cluster)
    rejected = p.action("Service", "bad")
    assert rejected is not None and "65535" in rejected.error, rejected
    assert [a.ref.name for a in p.errors] == ["bad"]
    assert all(a.validated for a in p.actions if a.ref.name != "bad")

    result = apply(p)
    assert [f.ref.name for f in result.failed] == ["bad"]
    assert "65535" in result.failed[0].message
    assert result.counts()["created"] == 5
    assert len(result.objects) == 6  # nothing unreported
    assert count_in(cluster, "v1", "ConfigMap", "rp-bad") == 5


def test_conflicting_field_manager_reported_then_forced(target_cluster: LocalCluster) -> None:
    cluster = target_cluster.cluster()
    target_cluster.apply([ns("rp-conflict")])
    theirs = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "cfg", "namespace": "rp-conflict"},
        "data": {"mode": "theirs", "other": "kept"},
    }
    cluster.apply(theirs, field_manager="helm")
    ours = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "cfg", "namespace": "rp-conflict"},
        "data": {"mode": "ours"},
    }
    p = plan([ours], cluster)
    action = p.action("ConfigMap", "cfg")
    assert action is not None and action.op == "conflict", p.to_text()
    assert "helm" in action.message and ".data.mode" in action.message
    assert any(d.path == "data.mode" and d.old == "theirs" and d.new == "ours" for d in action.diff)

    refused = apply(p)
    assert [f.ref.name for f in refused.failed] == ["cfg"]
    assert "force" in refused.failed[0].message
    live = cluster.get(cluster.resource_for("v1", "ConfigMap"), "cfg", "rp-conflict")
    assert live["data"]["mode"] == "theirs"

    forced = apply(plan([ours], cluster), force=True)
    assert forced.ok, forced.to_text()
    live = cluster.get(cluster.resource_for("v1", "ConfigMap"), "cfg", "rp-conflict")
    assert live["data"] == {"mode": "ours", "other": "kept"}


def test_objects_portkit_created_update_like_server_side_apply(target_cluster: LocalCluster) -> None:
    """New objects are created with POST; later applies still change values and drop removed fields."""
    cluster = target_cluster.cluster()

    def cfg(**data: str) -> dict[str, Any]:
        return {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "cfg", "namespace": "rp-own", "labels": {"keep": "1", "drop": "1"}},
            "data": data,
        }

    first = apply(plan([ns("rp-own"), cfg(a="1", b="2")], cluster))
    assert first.ok and first.counts()["created"] == 2, first.to_text()
    resource = cluster.resource_for("v1", "ConfigMap")
    live = cluster.get(resource, "cfg", "rp-own")
    assert [(m["manager"], m["operation"]) for m in live["metadata"]["managedFields"]] == [("portkit", "Update")]

    changed = cfg(a="changed")
    del changed["metadata"]["labels"]["drop"]
    p = plan([ns("rp-own"), changed], cluster)
    action = p.action("ConfigMap", "cfg", "rp-own")
    assert action is not None and action.op == "update" and action.validated, p.to_text()
    result = apply(p)
    assert result.ok, result.to_text()
    live = cluster.get(resource, "cfg", "rp-own")
    assert live["data"] == {"a": "changed"}
    assert live["metadata"]["labels"] == {"keep": "1"}
    assert [(m["manager"], m["operation"]) for m in live["metadata"]["managedFields"]] == [("portkit", "Apply")]

    # a field another manager took since is still a conflict
    cluster.apply(cfg(a="theirs"), field_manager="helm", force=True)
    contested = plan([ns("rp-own"), cfg(a="ours")], cluster).action("ConfigMap", "cfg", "rp-own")
    assert contested is not None and contested.op == "conflict" and "helm" in contested.message


def test_namespace_mapping_rewrites_references(target_cluster: LocalCluster) -> None:
    cluster = target_cluster.cluster()
    bundle = [b for b in realistic("rp-src") if b["kind"] not in ("CustomResourceDefinition", "Cart")]
    mapping = {"rp-src": "rp-dst"}
    p = plan(bundle, cluster, namespace_map=mapping, rewrite_dns=True)
    assert p.blockers == [], p.to_text()
    assert {a.ref.namespace for a in p.actions} == {"", "rp-dst"}
    result = apply(p)
    assert result.ok, result.to_text()
    get = cluster.get
    rb = get(cluster.resource_for("rbac.authorization.k8s.io/v1", "RoleBinding"), "web-reader", "rp-dst")
    assert rb["subjects"][0]["namespace"] == "rp-dst"
    netpol = get(cluster.resource_for("networking.k8s.io/v1", "NetworkPolicy"), "from-self", "rp-dst")
    selector = netpol["spec"]["ingress"][0]["from"][0]["namespaceSelector"]["matchLabels"]
    assert selector == {"kubernetes.io/metadata.name": "rp-dst"}
    web = get(cluster.resource_for("apps/v1", "Deployment"), "web", "rp-dst")
    env = web["spec"]["template"]["spec"]["containers"][0]["env"]
    assert env == [{"name": "DB_HOST", "value": "db.rp-dst.svc.cluster.local"}]
    settings = get(cluster.resource_for("v1", "ConfigMap"), "settings", "rp-dst")
    assert settings["data"]["upstream"] == "http://api.rp-dst.svc:8080"
    dns = [c for c in p.mapping.changes if c.what == "dns"]
    assert len(dns) == 2 and all(c.applied for c in dns)
    with pytest.raises(Exception, match="not found"):
        get(cluster.resource_for("v1", "ConfigMap"), "settings", "rp-src")
    assert verify(bundle, cluster, namespace_map=mapping, rewrite_dns=True).ok


def test_wait_readiness_and_timeout_names_what_is_not_ready(target_cluster: LocalCluster) -> None:
    cluster = target_cluster.cluster()
    bundle = [
        ns("rp-wait"),
        deployment("ready", "rp-wait", replicas=2),
        deployment("stuck", "rp-wait", replicas=1, nodeSelector={"no-such-node": "true"}),
    ]
    result = apply(plan(bundle, cluster), wait=True, timeout=12)
    assert not result.ok
    waited = result.waited
    assert waited is not None
    assert [r.name for r in waited.ready] == ["ready"]
    assert [n.ref.name for n in waited.not_ready] == ["stuck"]
    stuck = waited.not_ready[0]
    assert "0/1" in stuck.reason
    why = " ".join(stuck.conditions + stuck.events)
    assert "Unschedulable" in why or "FailedScheduling" in why, why
    assert "stuck" in result.to_text()


def test_rollback_deletes_only_what_the_run_created(target_cluster: LocalCluster, tmp_path: Path) -> None:
    cluster = target_cluster.cluster()
    target_cluster.apply([ns("rp-rollback")])
    existing = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "before", "namespace": "rp-rollback"},
        "data": {"a": "1"},
    }
    cluster.apply(existing, field_manager="kubectl")
    bundle = [
        ns("rp-rollback"),
        copy.deepcopy(existing),
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "new", "namespace": "rp-rollback"},
            "data": {"b": "2"},
        },
        deployment("web", "rp-rollback", replicas=1),
    ]
    result = apply(plan(bundle, cluster), workdir=tmp_path)
    assert result.ok, result.to_text()
    assert result.result("ConfigMap", "before").outcome == "updated"  # type: ignore[union-attr]
    rb = rollback(tmp_path, cluster)
    assert rb.ok, rb.to_text()
    assert sorted((r.kind, r.name) for r in rb.deleted) == [("ConfigMap", "new"), ("Deployment", "web")]
    assert rb.deleted[0].kind == "Deployment"  # reverse wave order
    cms = {c["metadata"]["name"] for c in cluster.list(cluster.resource_for("v1", "ConfigMap"), "rp-rollback")}
    assert "before" in cms and "new" not in cms
    assert cluster.get(cluster.resource_for("v1", "Namespace"), "rp-rollback")  # existed before: kept


# ------------------------------------------------------------------------------------- fault tests
def many(namespaces: list[str], per_namespace: int) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = [ns(n) for n in namespaces]
    for n in namespaces:
        out += [
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": f"cm-{i:04d}", "namespace": n},
                "data": {"index": str(i), "payload": "x" * 200},
            }
            for i in range(per_namespace)
        ]
    return out


def test_apiserver_killed_during_a_large_apply(tmp_path: Path) -> None:
    lc = LocalCluster(name="fault-kill", provider=None)
    lc.start()
    try:
        cluster = lc.cluster()
        namespaces = ["fk-a", "fk-b", "fk-c"]
        bundle = many(namespaces, 520)  # 1,563 objects
        p = plan(bundle, cluster, dry_run_check=False)
        killed = threading.Event()

        def killer() -> None:
            while cluster.stats.writes < 300 and not killed.is_set():
                time.sleep(0.01)
            lc.kill_apiserver()
            killed.set()
            time.sleep(2)
            lc.start_apiserver()

        thread = threading.Thread(target=killer)
        thread.start()
        interrupted = False
        try:
            first = apply(p, workdir=tmp_path, workers=8)
            outcome = "rode it out" if first.ok else "finished with failures"
        except ApplyInterrupted as exc:
            interrupted = True
            outcome = f"stopped: {exc.result.counts()}"
        finally:
            killed.set()
            thread.join()
        print("first apply:", outcome, cluster.stats)
        assert interrupted or cluster.stats.retries > 0, "the API server was not killed during the apply"
        second = apply(plan(bundle, cluster, dry_run_check=False), workdir=tmp_path)
        assert second.ok, second.to_text()
        for n in namespaces:
            names = [c["metadata"]["name"] for c in cluster.list(cluster.resource_for("v1", "ConfigMap"), n)]
            names = [x for x in names if x != "kube-root-ca.crt"]
            assert len(names) == len(set(names)) == 520
        check = verify(bundle, cluster)
        assert check.ok, check.to_text()
        assert plan(bundle, cluster).counts()["unchanged"] == len(bundle)
    finally:
        lc.stop()


def test_tiny_max_requests_inflight_completes_through_retries() -> None:
    lc = LocalCluster(
        name="fault-inflight",
        provider=None,
        # without priority-and-fairness the limits are hard: excess requests get 429 + Retry-After at once
        apiserver_args=[
            "--max-requests-inflight=1",
            "--max-mutating-requests-inflight=1",
            "--enable-priority-and-fairness=false",
        ],
    )
    lc.start()
    try:
        # system:masters (the admin kubeconfig) is exempt from in-flight limits: use a ServiceAccount
        kubeconfig = lc.service_account_kubeconfig(
            "deployer", "kube-system", cluster_role="cluster-admin", cluster_wide=True
        )
        cluster = Cluster.from_kubeconfig(kubeconfig)
        bundle = many(["fi-a", "fi-b"], 200)
        result = apply(plan(bundle, cluster), workers=16)
        assert result.ok, result.to_text()
        print("retries:", cluster.stats.retries, "throttled:", cluster.stats.throttled)
        assert cluster.stats.throttled > 0, "the server never pushed back: the test did not test retries"
        assert verify(bundle, cluster).ok
    finally:
        lc.stop()
