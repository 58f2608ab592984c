"""Unit tests: every skip and strip rule of portkit.sanitize, one by one."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from portkit import sanitize as s

Obj = dict[str, Any]


def svc(**spec: Any) -> Obj:
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web", "namespace": "shop"}, "spec": spec}


# ------------------------------------------------------------------------------------------- kind rules


@pytest.mark.parametrize(
    ("group", "kind"),
    [
        ("", "Event"),
        ("events.k8s.io", "Event"),
        ("", "Endpoints"),
        ("discovery.k8s.io", "EndpointSlice"),
        ("coordination.k8s.io", "Lease"),
        ("metrics.k8s.io", "PodMetrics"),
    ],
)
def test_runtime_kinds_are_not_listed(group: str, kind: str) -> None:
    assert s.skip_kind_reason(group, kind)


@pytest.mark.parametrize(
    ("group", "kind"),
    [("", "Pod"), ("apps", "ReplicaSet"), ("", "ConfigMap"), ("example.com", "Event"), ("batch", "Job")],
)
def test_other_kinds_are_listed(group: str, kind: str) -> None:
    assert s.skip_kind_reason(group, kind) is None


def test_skip_runtime_kind_on_objects() -> None:
    assert s.skip_runtime_kind({"apiVersion": "events.k8s.io/v1", "kind": "Event", "metadata": {"name": "x"}})
    assert s.skip_runtime_kind({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "x"}}) is None


# ------------------------------------------------------------------------------------------ object rules


def test_default_service_account_is_skipped_others_kept() -> None:
    default = {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "default", "namespace": "a"}}
    other = {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "web", "namespace": "a"}}
    assert s.skip_default_service_account(default)
    assert s.skip_default_service_account(other) is None


def _token_secret(name: str, sa: str | None) -> Obj:
    meta: Obj = {"name": name, "namespace": "a"}
    if sa:
        meta["annotations"] = {"kubernetes.io/service-account.name": sa}
    return {"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/service-account-token", "metadata": meta}


def test_generated_token_secret_is_skipped() -> None:
    assert s.skip_auto_token_secret(_token_secret("builder-token-x7k2p", "builder"))
    assert s.skip_auto_token_secret(_token_secret("default-token-4tz9m", None))


def test_hand_made_token_secret_is_kept() -> None:
    assert s.skip_auto_token_secret(_token_secret("ci-token", "builder")) is None
    # the name pattern matches but names another ServiceAccount: made by hand
    assert s.skip_auto_token_secret(_token_secret("builder-token-x7k2p", "deployer")) is None


def test_opaque_secret_named_like_a_token_is_kept() -> None:
    obj = _token_secret("builder-token-x7k2p", "builder")
    obj["type"] = "Opaque"
    assert s.skip_auto_token_secret(obj) is None


def test_root_ca_configmap_is_skipped() -> None:
    ca = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "kube-root-ca.crt", "namespace": "a"}}
    other = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "settings", "namespace": "a"}}
    assert s.skip_root_ca_configmap(ca)
    assert s.skip_root_ca_configmap(other) is None


def test_kubernetes_service_in_default_is_skipped_only_there() -> None:
    obj = svc()
    obj["metadata"] = {"name": "kubernetes", "namespace": "default"}
    assert s.skip_kubernetes_service(obj)
    obj["metadata"]["namespace"] = "shop"
    assert s.skip_kubernetes_service(obj) is None


def test_objects_being_deleted_are_skipped() -> None:
    obj = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "x", "deletionTimestamp": "2025-01-01T00:00:00Z"},
    }
    assert s.skip_being_deleted(obj)
    del obj["metadata"]["deletionTimestamp"]
    assert s.skip_being_deleted(obj) is None


def test_skip_reason_runs_every_rule() -> None:
    ok = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "settings", "namespace": "a"}}
    assert s.skip_reason(ok) is None
    assert s.skip_reason({**ok, "metadata": {"name": "kube-root-ca.crt", "namespace": "a"}})


def test_controller_owner_uid() -> None:
    pod: Obj = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": "p",
            "ownerReferences": [
                {"kind": "Thing", "name": "t", "uid": "u-1"},
                {"kind": "ReplicaSet", "name": "rs", "uid": "u-2", "controller": True},
            ],
        },
    }
    assert s.controller_owner_uid(pod) == "u-2"
    pod["metadata"]["ownerReferences"] = [{"kind": "Thing", "name": "t", "uid": "u-1"}]
    assert s.controller_owner_uid(pod) is None
    assert s.controller_owner_uid({"metadata": {}}) is None


# ------------------------------------------------------------------------------------------- strip rules


def test_strip_status() -> None:
    obj = {"kind": "X", "status": {"phase": "Running"}, "spec": {}}
    s.strip_status(obj)
    assert obj == {"kind": "X", "spec": {}}


def test_strip_service_cluster_ip() -> None:
    obj = svc(clusterIP="10.0.0.12", clusterIPs=["10.0.0.12"], type="ClusterIP")
    s.strip_service_cluster_ip(obj)
    assert obj["spec"] == {"type": "ClusterIP"}


def test_headless_service_keeps_cluster_ip_none() -> None:
    obj = svc(clusterIP="None", clusterIPs=["None"])
    s.strip_service_cluster_ip(obj)
    assert obj["spec"] == {"clusterIP": "None", "clusterIPs": ["None"]}


def test_cluster_ip_rule_ignores_other_kinds() -> None:
    obj = {
        "apiVersion": "example.com/v1",
        "kind": "Service",
        "metadata": {"name": "x"},
        "spec": {"clusterIP": "1.2.3.4"},
    }
    s.strip_service_cluster_ip(obj)
    assert obj["spec"] == {"clusterIP": "1.2.3.4"}


def _managed_node_port(port: int, *, health: bool = False) -> list[Obj]:
    spec: Obj = {"f:ports": {f'k:{{"port":{port},"protocol":"TCP"}}': {".": {}, "f:nodePort": {}, "f:port": {}}}}
    if health:
        spec["f:healthCheckNodePort"] = {}
    return [{"manager": "kubectl", "operation": "Apply", "fieldsV1": {"f:spec": spec}}]


def test_allocated_node_ports_are_stripped_explicit_ones_kept() -> None:
    obj = svc(
        type="LoadBalancer",
        ports=[
            {"port": 80, "protocol": "TCP", "nodePort": 30080},
            {"port": 443, "protocol": "TCP", "nodePort": 31443},
        ],
        healthCheckNodePort=32000,
    )
    obj["metadata"]["managedFields"] = _managed_node_port(80)
    s.strip_service_node_ports(obj)
    assert obj["spec"]["ports"] == [
        {"port": 80, "protocol": "TCP", "nodePort": 30080},
        {"port": 443, "protocol": "TCP"},
    ]
    assert "healthCheckNodePort" not in obj["spec"]


def test_explicit_health_check_node_port_is_kept() -> None:
    obj = svc(
        type="LoadBalancer", ports=[{"port": 80, "protocol": "TCP", "nodePort": 30080}], healthCheckNodePort=32000
    )
    obj["metadata"]["managedFields"] = _managed_node_port(80, health=True)
    s.strip_service_node_ports(obj)
    assert obj["spec"]["healthCheckNodePort"] == 32000
    assert obj["spec"]["ports"][0]["nodePort"] == 30080


def test_node_ports_without_managed_fields_count_as_allocated() -> None:
    obj = svc(type="NodePort", ports=[{"port": 80, "nodePort": 30080}])
    s.strip_service_node_ports(obj)
    assert obj["spec"]["ports"] == [{"port": 80}]


def test_strip_server_metadata() -> None:
    obj = {
        "kind": "X",
        "metadata": {
            "name": "x",
            "namespace": "a",
            "uid": "u",
            "resourceVersion": "12",
            "generation": 3,
            "creationTimestamp": "2025-01-01T00:00:00Z",
            "managedFields": [{}],
            "selfLink": "/api/x",
            "labels": {"a": "b"},
            "finalizers": ["example.com/keep"],
        },
    }
    s.strip_server_metadata(obj)
    assert obj["metadata"] == {"name": "x", "namespace": "a", "labels": {"a": "b"}, "finalizers": ["example.com/keep"]}


def test_strip_owner_references() -> None:
    obj = {"kind": "X", "metadata": {"name": "x", "ownerReferences": [{"uid": "u"}]}}
    s.strip_owner_references(obj)
    assert obj["metadata"] == {"name": "x"}


def test_strip_last_applied() -> None:
    obj = {"kind": "X", "metadata": {"annotations": {s.LAST_APPLIED: "{...}", "team": "shop"}}}
    s.strip_last_applied(obj)
    assert obj["metadata"]["annotations"] == {"team": "shop"}


def test_strip_controller_annotations() -> None:
    obj = {
        "kind": "Deployment",
        "metadata": {
            "annotations": {
                "deployment.kubernetes.io/revision": "4",
                "deprecated.daemonset.template.generation": "1",
                "autoscaling.alpha.kubernetes.io/conditions": "[]",
                "kubernetes.io/change-cause": "user wrote this",
            }
        },
    }
    s.strip_controller_annotations(obj)
    assert obj["metadata"]["annotations"] == {"kubernetes.io/change-cause": "user wrote this"}


def test_strip_pvc_binding() -> None:
    obj = {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {
            "name": "data",
            "annotations": {
                "pv.kubernetes.io/bind-completed": "yes",
                "pv.kubernetes.io/bound-by-controller": "yes",
                "volume.kubernetes.io/storage-provisioner": "ebs.csi.aws.com",
                "volume.beta.kubernetes.io/storage-provisioner": "ebs.csi.aws.com",
                "volume.kubernetes.io/selected-node": "node-1",
                "backup": "daily",
            },
        },
        "spec": {"volumeName": "pvc-123", "storageClassName": "gp3", "resources": {"requests": {"storage": "1Gi"}}},
    }
    s.strip_pvc_binding(obj)
    assert obj["metadata"]["annotations"] == {"backup": "daily"}
    assert obj["spec"] == {"storageClassName": "gp3", "resources": {"requests": {"storage": "1Gi"}}}


def _job(manual: bool = False) -> Obj:
    labels = {"controller-uid": "u", "batch.kubernetes.io/controller-uid": "u", "job-name": "j", "app": "x"}
    spec: Obj = {
        "selector": {"matchLabels": {"batch.kubernetes.io/controller-uid": "u"}},
        "template": {"metadata": {"labels": dict(labels)}, "spec": {}},
    }
    if manual:
        spec["manualSelector"] = True
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "j", "labels": dict(labels)}, "spec": spec}


def test_strip_job_selector() -> None:
    obj = _job()
    s.strip_job_selector(obj)
    assert "selector" not in obj["spec"]
    assert obj["spec"]["template"]["metadata"]["labels"] == {"job-name": "j", "app": "x"}
    assert obj["metadata"]["labels"] == {"job-name": "j", "app": "x"}


def test_job_with_manual_selector_is_untouched() -> None:
    obj = _job(manual=True)
    before = copy.deepcopy(obj)
    s.strip_job_selector(obj)
    assert obj == before


def test_strip_pod_node_name() -> None:
    obj = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {"nodeName": "n1", "containers": []}}
    s.strip_pod_node_name(obj)
    assert obj["spec"] == {"containers": []}


def test_strip_injected_token_volume() -> None:
    obj = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "p"},
        "spec": {
            "volumes": [{"name": "kube-api-access-abcde", "projected": {}}, {"name": "data", "emptyDir": {}}],
            "containers": [
                {
                    "name": "c",
                    "volumeMounts": [
                        {"name": "kube-api-access-abcde", "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount"},
                        {"name": "data", "mountPath": "/data"},
                    ],
                },
                {"name": "d", "volumeMounts": [{"name": "kube-api-access-abcde", "mountPath": "/x"}]},
            ],
        },
    }
    s.strip_injected_token_volume(obj)
    assert obj["spec"]["volumes"] == [{"name": "data", "emptyDir": {}}]
    assert obj["spec"]["containers"] == [
        {"name": "c", "volumeMounts": [{"name": "data", "mountPath": "/data"}]},
        {"name": "d"},
    ]


def test_strip_token_secret_data() -> None:
    obj = _token_secret("ci-token", "builder")
    obj["data"] = {"token": "c2VjcmV0", "ca.crt": "Y2E=", "namespace": "YQ=="}
    s.strip_token_secret_data(obj)
    assert "data" not in obj
    opaque = {"apiVersion": "v1", "kind": "Secret", "type": "Opaque", "metadata": {"name": "x"}, "data": {"a": "Yg=="}}
    s.strip_token_secret_data(opaque)
    assert opaque["data"] == {"a": "Yg=="}


def test_strip_service_account_token_refs() -> None:
    obj = {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": {"name": "builder"},
        "secrets": [{"name": "builder-token-x7k2p"}, {"name": "registry-creds"}],
    }
    s.strip_service_account_token_refs(obj)
    assert obj["secrets"] == [{"name": "registry-creds"}]
    obj["secrets"] = [{"name": "builder-token-x7k2p"}]
    s.strip_service_account_token_refs(obj)
    assert "secrets" not in obj


def test_strip_aggregated_cluster_role_rules() -> None:
    agg = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRole",
        "metadata": {"name": "monitoring"},
        "aggregationRule": {"clusterRoleSelectors": [{"matchLabels": {"x": "y"}}]},
        "rules": [{"verbs": ["get"]}],
    }
    plain = {**copy.deepcopy(agg), "aggregationRule": None}
    s.strip_aggregated_cluster_role_rules(agg)
    s.strip_aggregated_cluster_role_rules(plain)
    assert "rules" not in agg
    assert plain["rules"] == [{"verbs": ["get"]}]


def test_strip_pv_claim_ref_ids() -> None:
    obj = {
        "apiVersion": "v1",
        "kind": "PersistentVolume",
        "metadata": {"name": "pv"},
        "spec": {
            "claimRef": {
                "kind": "PersistentVolumeClaim",
                "namespace": "a",
                "name": "data",
                "uid": "u",
                "resourceVersion": "9",
            }
        },
    }
    s.strip_pv_claim_ref_ids(obj)
    assert obj["spec"]["claimRef"] == {"kind": "PersistentVolumeClaim", "namespace": "a", "name": "data"}


def test_strip_template_leftovers() -> None:
    obj = {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": {"name": "db"},
        "spec": {
            "template": {"metadata": {"creationTimestamp": None, "labels": {"a": "b"}}},
            "volumeClaimTemplates": [
                {"metadata": {"name": "data", "creationTimestamp": None}, "spec": {}, "status": {"phase": "Pending"}}
            ],
        },
    }
    s.strip_template_leftovers(obj)
    assert obj["spec"] == {
        "template": {"metadata": {"labels": {"a": "b"}}},
        "volumeClaimTemplates": [{"metadata": {"name": "data"}, "spec": {}}],
    }


def test_strip_empty_metadata_maps() -> None:
    obj = {"kind": "X", "metadata": {"name": "x", "labels": {}, "annotations": {}}}
    s.strip_empty_metadata_maps(obj)
    assert obj["metadata"] == {"name": "x"}


def test_sanitize_runs_every_rule_in_order() -> None:
    obj = svc(type="NodePort", clusterIP="10.0.0.1", ports=[{"port": 80, "protocol": "TCP", "nodePort": 30080}])
    obj["metadata"].update(
        uid="u",
        resourceVersion="1",
        managedFields=_managed_node_port(80),
        annotations={s.LAST_APPLIED: "{}"},
    )
    obj["status"] = {"loadBalancer": {}}
    out = s.sanitize(obj)
    assert out is obj
    # the explicit node port survives: its rule read managedFields before they were stripped
    assert obj == {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "web", "namespace": "shop"},
        "spec": {"type": "NodePort", "ports": [{"port": 80, "protocol": "TCP", "nodePort": 30080}]},
    }


def test_pod_spec_finds_templates() -> None:
    deploy = {"apiVersion": "apps/v1", "kind": "Deployment", "spec": {"template": {"spec": {"a": 1}}}}
    cron = {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "spec": {"jobTemplate": {"spec": {"template": {"spec": {"b": 2}}}}},
    }
    pod = {"apiVersion": "v1", "kind": "Pod", "spec": {"c": 3}}
    custom = {"apiVersion": "example.com/v1", "kind": "Deployment", "spec": {"template": {"spec": {}}}}
    assert s.pod_spec(deploy) == {"a": 1}
    assert s.pod_spec(cron) == {"b": 2}
    assert s.pod_spec(pod) == {"c": 3}
    assert s.pod_spec(custom) is None


def test_controller_owner_returns_the_reference() -> None:
    ref = {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "rs", "uid": "u-2", "controller": True}
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "ownerReferences": [ref]}}
    assert s.controller_owner(pod) == ref
    assert s.controller_owner({"metadata": {"ownerReferences": [{**ref, "uid": ""}]}}) is None
