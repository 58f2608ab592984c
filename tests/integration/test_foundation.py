"""Smoke tests of the foundation against real local clusters: rollout, CRDs, apply, binding, paging, 429."""

from __future__ import annotations

import os
import stat
import threading
import time
from typing import Any

import pytest

from portkit import Cluster, ConflictError, InvalidError, NotFoundError
from portkit.testing import LocalCluster, wait_for

pytestmark = pytest.mark.integration


def ns(lc: LocalCluster, name: str) -> str:
    lc.apply([{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}])
    return name


def deployment(name: str, namespace: str, replicas: int = 2, **pod_spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "app", "image": "registry.example/app:1"}], **pod_spec},
            },
        },
    }


def test_provider_look_and_kubeconfig(source_cluster: LocalCluster, target_cluster: LocalCluster) -> None:
    for lc in (source_cluster, target_cluster):
        assert stat.S_IMODE(os.stat(lc.kubeconfig).st_mode) == 0o600
        assert lc.server.startswith("https://127.0.0.1:")
        assert str(lc.data_dir) in lc.kubeconfig
    assert source_cluster.server != target_cluster.server
    src = source_cluster.cluster()
    nodes = list(src.list(src.resource_for("v1", "Node")))
    zones = {n["metadata"]["labels"].get("topology.kubernetes.io/zone") for n in nodes}
    assert all(z and z.startswith("eu-") for z in zones), zones
    classes = {c["metadata"]["name"]: c for c in src.list(src.resource_for("storage.k8s.io/v1", "StorageClass"))}
    assert any(c["provisioner"] == "ebs.csi.aws.com" for c in classes.values())
    dst = target_cluster.cluster()
    dst_classes = list(dst.list(dst.resource_for("storage.k8s.io/v1", "StorageClass")))
    assert dst_classes and all(c["provisioner"] == "cloud.ionos.com" for c in dst_classes)


def test_deployment_pods_become_ready(source_cluster: LocalCluster) -> None:
    namespace = ns(source_cluster, "smoke-rollout")
    source_cluster.apply([deployment("web", namespace, replicas=3)])
    cluster = source_cluster.cluster()
    dep = cluster.resource_for("apps/v1", "Deployment")
    wait_for(
        lambda: cluster.get(dep, "web", namespace).get("status", {}).get("readyReplicas") == 3, what="3 ready replicas"
    )
    pods = list(cluster.list(cluster.resource_for("v1", "Pod"), namespace, label_selector="app=web"))
    assert len(pods) == 3
    assert all(p["status"]["phase"] == "Running" for p in pods)
    assert all(p["spec"]["nodeName"] for p in pods)


def test_crd_and_custom_resource(source_cluster: LocalCluster) -> None:
    namespace = ns(source_cluster, "smoke-crd")
    crd = {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "widgets.smoke.portkit.dev"},
        "spec": {
            "group": "smoke.portkit.dev",
            "scope": "Namespaced",
            "names": {"kind": "Widget", "plural": "widgets", "singular": "widget"},
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
    }
    widget = {
        "apiVersion": "smoke.portkit.dev/v1",
        "kind": "Widget",
        "metadata": {"name": "w1", "namespace": namespace},
        "spec": {"size": 3},
    }
    source_cluster.apply([crd, widget])
    cluster = source_cluster.cluster()
    live = cluster.get_obj(widget)
    assert live is not None and live["spec"] == {"size": 3}
    # the schema is enforced by the real API server (which answers 500 for this apply; not retried)
    before = cluster.stats.retries
    with pytest.raises(InvalidError) as err:
        cluster.apply({**widget, "spec": {"size": "big"}}, field_manager="portkit")
    assert ".spec.size" in str(err.value)
    assert cluster.stats.retries == before


def test_server_side_apply_dry_run_and_conflicts(source_cluster: LocalCluster) -> None:
    namespace = ns(source_cluster, "smoke-ssa")
    cluster = source_cluster.cluster()
    cm = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "cfg", "namespace": namespace},
        "data": {"a": "1"},
    }
    dry = cluster.apply(cm, dry_run=True)
    assert dry["data"] == {"a": "1"}
    assert cluster.get_obj(cm) is None, "a dry run must not persist"
    live = cluster.apply(cm)
    assert [m["manager"] for m in live["metadata"]["managedFields"]] == ["portkit"]
    # another manager owning the same field conflicts unless forced
    with pytest.raises(ConflictError):
        cluster.apply({**cm, "data": {"a": "2"}}, field_manager="someone-else")
    forced = cluster.apply({**cm, "data": {"a": "2"}}, field_manager="someone-else", force=True)
    assert forced["data"]["a"] == "2"
    # immutable field changes are rejected by the server (Invalid), not silently accepted
    svc = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "s", "namespace": namespace},
        "spec": {"ports": [{"port": 80}], "clusterIP": "10.96.0.77"},
    }
    cluster.apply(svc)
    with pytest.raises(InvalidError):
        cluster.apply({**svc, "spec": {"ports": [{"port": 80}], "clusterIP": "10.96.0.78"}}, force=True)
    cluster.delete(cluster.resource_of(cm), "cfg", namespace)
    wait_for(lambda: cluster.get_obj(cm) is None, what="deletion")
    with pytest.raises(NotFoundError):
        cluster.get(cluster.resource_of(cm), "cfg", namespace)


def test_pvc_binds_to_precreated_pv(source_cluster: LocalCluster) -> None:
    namespace = ns(source_cluster, "smoke-pv")
    pv = {
        "apiVersion": "v1",
        "kind": "PersistentVolume",
        "metadata": {"name": "smoke-manual-pv"},
        "spec": {
            "capacity": {"storage": "1Gi"},
            "accessModes": ["ReadWriteOnce"],
            "storageClassName": "manual",
            "hostPath": {"path": str(source_cluster.data_dir / "manual-pv")},
        },
    }
    pvc = {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": "data", "namespace": namespace},
        "spec": {
            "accessModes": ["ReadWriteOnce"],
            "storageClassName": "manual",
            "resources": {"requests": {"storage": "1Gi"}},
        },
    }
    source_cluster.apply([pv, pvc])
    cluster = source_cluster.cluster()
    bound = wait_for(lambda: (cluster.get_obj(pvc) or {}).get("status", {}).get("phase") == "Bound", what="PVC bound")
    assert bound
    assert cluster.get_obj(pvc)["spec"]["volumeName"] == "smoke-manual-pv"  # type: ignore[index]


def test_provider_storage_class_binds_on_first_consumer(source_cluster: LocalCluster) -> None:
    namespace = ns(source_cluster, "smoke-wffc")
    cluster = source_cluster.cluster()
    sc_res = cluster.resource_for("storage.k8s.io/v1", "StorageClass")
    wffc = [c for c in cluster.list(sc_res) if c.get("volumeBindingMode") == "WaitForFirstConsumer"]
    assert wffc, "the aws profile's classes bind on first consumer"
    pvc = {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": "db", "namespace": namespace},
        "spec": {
            "accessModes": ["ReadWriteOnce"],
            "storageClassName": wffc[0]["metadata"]["name"],
            "resources": {"requests": {"storage": "2Gi"}},
        },
    }
    source_cluster.apply([pvc])
    time.sleep(2)
    assert cluster.get_obj(pvc)["status"]["phase"] == "Pending"  # type: ignore[index]
    source_cluster.apply(
        [
            deployment(
                "db", namespace, replicas=1, volumes=[{"name": "data", "persistentVolumeClaim": {"claimName": "db"}}]
            )
        ]
    )
    wait_for(lambda: (cluster.get_obj(pvc) or {}).get("status", {}).get("phase") == "Bound", what="PVC bound")
    volume = cluster.get(cluster.resource_for("v1", "PersistentVolume"), cluster.get_obj(pvc)["spec"]["volumeName"])  # type: ignore[index]
    assert volume["spec"]["capacity"]["storage"] == "2Gi"
    assert volume["spec"]["nodeAffinity"]["required"]["nodeSelectorTerms"]
    assert volume["metadata"]["annotations"]["pv.kubernetes.io/provisioned-by"] == wffc[0]["provisioner"]


def test_paging_through_2000_configmaps(source_cluster: LocalCluster) -> None:
    namespace = ns(source_cluster, "smoke-paging")
    cluster = source_cluster.cluster()
    resource = cluster.resource_for("v1", "ConfigMap")
    from concurrent.futures import ThreadPoolExecutor

    def make(i: int) -> None:
        cluster.create(
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": f"cm-{i:04d}", "namespace": namespace},
                "data": {"i": str(i)},
            }
        )

    with ThreadPoolExecutor(16) as pool:
        list(pool.map(make, range(2000)))
    before = cluster.stats.requests
    names = [o["metadata"]["name"] for o in cluster.list(resource, namespace, limit=150)]
    pages = cluster.stats.requests - before
    expected = {f"cm-{i:04d}" for i in range(2000)} | {"kube-root-ca.crt"}
    assert len(names) == len(set(names)) == 2001
    assert set(names) == expected
    assert pages == -(-2001 // 150), "one request per page"
    assert all(
        o["kind"] == "ConfigMap" and o["apiVersion"] == "v1" for o in cluster.list(resource, namespace, limit=500)
    )


def test_429_are_retried_until_the_work_is_done() -> None:
    """A tiny in-flight limit makes the real API server answer 429; the retry policy rides it out.

    system:masters requests are exempt from the limit, so the test talks as a ServiceAccount.
    """
    args = ["--enable-priority-and-fairness=false", "--max-requests-inflight=1", "--max-mutating-requests-inflight=1"]
    with LocalCluster(name="throttled", provider=None, apiserver_args=args, nodes=1) as lc:
        path = lc.service_account_kubeconfig("loader", "load", cluster_role="cluster-admin", cluster_wide=True)
        cluster = Cluster.from_kubeconfig(path)
        resource = cluster.resource_for("v1", "ConfigMap")
        errors: list[BaseException] = []

        def worker(w: int) -> None:
            try:
                for i in range(40):
                    cluster.create(
                        {
                            "apiVersion": "v1",
                            "kind": "ConfigMap",
                            "metadata": {"name": f"w{w}-{i}", "namespace": "load"},
                            "data": {"x": "y" * 2000},
                        }
                    )
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=worker, args=(w,)) for w in range(12)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not errors, errors[:3]
        assert cluster.stats.throttled > 0, "the server never throttled: the test did not exercise 429"
        assert cluster.stats.retries >= cluster.stats.throttled
        names = {o["metadata"]["name"] for o in cluster.list(resource, "load") if o["metadata"]["name"].startswith("w")}
        assert len(names) == 12 * 40
