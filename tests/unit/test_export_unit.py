"""Unit tests of export logic on an in-memory stand-in for a cluster.

The real behaviour (a real API server's discovery, paging, RBAC) is proven by
``tests/integration/test_export.py`` on LocalCluster; these tests pin the decisions export makes.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from portkit.bundle import Bundle, generate_key
from portkit.cli import main
from portkit.discovery import ApiResource
from portkit.errors import ConfigurationError, ForbiddenError, NotFoundError, ServerError
from portkit.export import ExportReport, dependencies, export
from portkit.model import ObjectRef

Obj = dict[str, Any]
LIST = frozenset({"list", "get", "create"})


def res(group: str, version: str, kind: str, name: str, namespaced: bool = True) -> ApiResource:
    return ApiResource(group=group, version=version, kind=kind, name=name, namespaced=namespaced, verbs=LIST)


RESOURCES = [
    res("", "v1", "ConfigMap", "configmaps"),
    res("", "v1", "Secret", "secrets"),
    res("", "v1", "Pod", "pods"),
    res("", "v1", "Service", "services"),
    res("", "v1", "ServiceAccount", "serviceaccounts"),
    res("", "v1", "PersistentVolumeClaim", "persistentvolumeclaims"),
    res("", "v1", "Event", "events"),
    res("", "v1", "Endpoints", "endpoints"),
    res("events.k8s.io", "v1", "Event", "events"),
    res("discovery.k8s.io", "v1", "EndpointSlice", "endpointslices"),
    res("coordination.k8s.io", "v1", "Lease", "leases"),
    res("apps", "v1", "Deployment", "deployments"),
    res("apps", "v1", "ReplicaSet", "replicasets"),
    res("networking.k8s.io", "v1", "Ingress", "ingresses"),
    res("rbac.authorization.k8s.io", "v1", "RoleBinding", "rolebindings"),
    res("example.com", "v1", "Widget", "widgets"),
    res("example.com", "v1", "Gadget", "gadgets"),
    res("", "v1", "Namespace", "namespaces", False),
    res("", "v1", "Node", "nodes", False),
    res("", "v1", "PersistentVolume", "persistentvolumes", False),
    res("storage.k8s.io", "v1", "StorageClass", "storageclasses", False),
    res("networking.k8s.io", "v1", "IngressClass", "ingressclasses", False),
    res("scheduling.k8s.io", "v1", "PriorityClass", "priorityclasses", False),
    res("rbac.authorization.k8s.io", "v1", "ClusterRole", "clusterroles", False),
    res("rbac.authorization.k8s.io", "v1", "ClusterRoleBinding", "clusterrolebindings", False),
    res("apiextensions.k8s.io", "v1", "CustomResourceDefinition", "customresourcedefinitions", False),
]


class FakeDiscoveryCluster:
    """Stands in for :class:`portkit.Cluster` in unit tests only: discovery, list, get over dicts.

    Objects are stored as the API server would send them (uid, resourceVersion, status, ...). ``forbidden``
    makes listing a (resource name, namespace) pair raise Forbidden; ``broken`` fails it after one item.
    """

    def __init__(self, objects: list[Obj]) -> None:
        self.name = "fake"
        self.server = "https://fake.invalid"
        self.objects = objects
        self.forbidden: set[tuple[str, str | None]] = set()
        self.broken: set[tuple[str, str | None]] = set()
        self.listed: list[tuple[str, str, str | None, str | None]] = []
        self.list_versions: list[str | None] = []  # not_older_than of each list

    def server_version(self) -> str:
        return "v1.34.4"

    def resources(self, *, namespaced: bool | None = None, verb: str | None = None) -> list[ApiResource]:
        return [
            r
            for r in RESOURCES
            if (namespaced is None or r.namespaced == namespaced) and (verb is None or verb in r.verbs)
        ]

    def _match(self, r: ApiResource, obj: Obj) -> bool:
        ref = ObjectRef.from_obj(obj)
        return ref.group == r.group and ref.kind == r.kind

    def list(
        self,
        resource: ApiResource,
        namespace: str | None = None,
        *,
        label_selector: str | None = None,
        field_selector: str | None = None,
        limit: int = 500,
        not_older_than: str | None = None,
    ) -> Iterator[Obj]:
        self.listed.append((resource.group, resource.name, namespace, label_selector))
        self.list_versions.append(not_older_than)
        if (resource.name, namespace) in self.forbidden:
            raise ForbiddenError(f"list {resource.name} failed: HTTP 403 Forbidden.", status=403, reason="Forbidden")
        wanted = dict(kv.split("=", 1) for kv in label_selector.split(",")) if label_selector else {}
        count = 0
        for obj in self.objects:
            if not self._match(resource, obj):
                continue
            meta = obj["metadata"]
            if resource.namespaced and namespace and meta.get("namespace") != namespace:
                continue
            labels = meta.get("labels") or {}
            if any(labels.get(k) != v for k, v in wanted.items()):
                continue
            if count and (resource.name, namespace) in self.broken:
                raise ServerError("list failed: HTTP 500.", status=500)
            count += 1
            yield copy.deepcopy(obj)

    def resource_version(self, resource: ApiResource, namespace: str | None = None) -> str:
        if (resource.name, namespace) in self.forbidden:
            raise ForbiddenError(f"list {resource.name} failed: HTTP 403 Forbidden.", status=403, reason="Forbidden")
        return "42"

    def get(self, resource: ApiResource, name: str, namespace: str | None = None) -> Obj:
        for obj in self.objects:
            if self._match(resource, obj) and obj["metadata"]["name"] == name:
                return copy.deepcopy(obj)
        raise NotFoundError(f"get {resource.kind} {name} failed: HTTP 404.", status=404)


_uid = iter(range(1, 10**6))


def mk(api_version: str, kind: str, name: str, ns: str | None = "shop", **fields: Any) -> Obj:
    meta: Obj = {
        "name": name,
        "uid": f"uid-{next(_uid)}",
        "resourceVersion": "7",
        "creationTimestamp": "2025-01-01T00:00:00Z",
    }
    if ns:
        meta["namespace"] = ns
    meta.update(fields.pop("meta", {}))
    return {"apiVersion": api_version, "kind": kind, "metadata": meta, **fields}


def owned(obj: Obj, owner: Obj) -> Obj:
    obj["metadata"]["ownerReferences"] = [
        {
            "apiVersion": owner["apiVersion"],
            "kind": owner["kind"],
            "name": owner["metadata"]["name"],
            "uid": owner["metadata"]["uid"],
            "controller": True,
        }
    ]
    return obj


def world() -> list[Obj]:
    deploy = mk(
        "apps/v1",
        "Deployment",
        "web",
        meta={"labels": {"app": "web"}},
        spec={"template": {"spec": {"priorityClassName": "high"}}},
        status={"replicas": 1},
    )
    rs = owned(mk("apps/v1", "ReplicaSet", "web-5d9", meta={"labels": {"app": "web"}}), deploy)
    pod = owned(mk("v1", "Pod", "web-5d9-abc", meta={"labels": {"app": "web"}}, spec={"nodeName": "n1"}), rs)
    ghost_owner = {"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": {"name": "gone", "uid": "uid-gone"}}
    orphan = owned(mk("v1", "Pod", "orphan", spec={"nodeName": "n1"}), ghost_owner)
    return [
        mk(
            "v1",
            "Namespace",
            "shop",
            None,
            meta={"labels": {"pod-security.kubernetes.io/enforce": "baseline"}},
            status={"phase": "Active"},
        ),
        mk("v1", "Namespace", "admin", None),
        mk("v1", "Node", "n1", None, meta={"labels": {"eks.amazonaws.com/nodegroup": "ng-1"}}),
        deploy,
        rs,
        pod,
        orphan,
        mk("v1", "Pod", "bare", meta={"labels": {"app": "debug"}}, spec={"nodeName": "n1", "containers": []}),
        mk("v1", "ConfigMap", "settings", meta={"labels": {"app": "web"}}, data={"a": "b"}),
        mk("v1", "ConfigMap", "kube-root-ca.crt", data={"ca.crt": "x"}),
        mk("v1", "ConfigMap", "other", "admin"),
        mk("v1", "Secret", "db", type="Opaque", data={"password": "aHVudGVyMg=="}),
        mk("v1", "ServiceAccount", "default"),
        mk("v1", "ServiceAccount", "web"),
        mk("v1", "Event", "web.123", reason="Scheduled"),
        mk("v1", "Endpoints", "web"),
        mk("v1", "Service", "web", spec={"clusterIP": "10.0.0.5", "clusterIPs": ["10.0.0.5"], "ports": [{"port": 80}]}),
        mk("v1", "PersistentVolumeClaim", "data", spec={"storageClassName": "gp3", "volumeName": "pv-1"}),
        mk(
            "v1", "PersistentVolume", "pv-1", None, spec={"claimRef": {"namespace": "shop", "name": "data", "uid": "x"}}
        ),
        mk("v1", "PersistentVolume", "pv-unrelated", None),
        mk("storage.k8s.io/v1", "StorageClass", "gp3", None, provisioner="ebs.csi.aws.com"),
        mk("storage.k8s.io/v1", "StorageClass", "unused", None, provisioner="ebs.csi.aws.com"),
        mk("networking.k8s.io/v1", "Ingress", "web", spec={"ingressClassName": "alb"}),
        mk(
            "networking.k8s.io/v1",
            "IngressClass",
            "alb",
            None,
            spec={
                "controller": "ingress.k8s.aws/alb",
                "parameters": {"apiGroup": "elbv2.k8s.aws", "kind": "IngressClassParams", "name": "alb-params"},
            },
        ),
        mk("scheduling.k8s.io/v1", "PriorityClass", "high", None, value=1000),
        mk(
            "rbac.authorization.k8s.io/v1",
            "RoleBinding",
            "web-view",
            roleRef={"kind": "ClusterRole", "name": "web-reader"},
        ),
        mk("rbac.authorization.k8s.io/v1", "RoleBinding", "view", roleRef={"kind": "ClusterRole", "name": "view"}),
        mk("rbac.authorization.k8s.io/v1", "ClusterRole", "web-reader", None, rules=[]),
        mk(
            "rbac.authorization.k8s.io/v1",
            "ClusterRole",
            "view",
            None,
            meta={"labels": {"kubernetes.io/bootstrapping": "rbac-defaults"}},
        ),
        mk("rbac.authorization.k8s.io/v1", "ClusterRole", "node-reader", None, rules=[]),
        mk(
            "rbac.authorization.k8s.io/v1",
            "ClusterRoleBinding",
            "web-nodes",
            None,
            roleRef={"kind": "ClusterRole", "name": "node-reader"},
            subjects=[{"kind": "ServiceAccount", "name": "web", "namespace": "shop"}],
        ),
        mk(
            "rbac.authorization.k8s.io/v1",
            "ClusterRoleBinding",
            "elsewhere",
            None,
            roleRef={"kind": "ClusterRole", "name": "x"},
            subjects=[{"kind": "ServiceAccount", "name": "a", "namespace": "other"}],
        ),
        mk("example.com/v1", "Widget", "w1", spec={"size": 3}),
        mk(
            "apiextensions.k8s.io/v1",
            "CustomResourceDefinition",
            "widgets.example.com",
            None,
            spec={"group": "example.com"},
            status={"storedVersions": ["v1"]},
        ),
        mk(
            "apiextensions.k8s.io/v1",
            "CustomResourceDefinition",
            "gadgets.example.com",
            None,
            spec={"group": "example.com"},
        ),
    ]


def names(bundle: Bundle) -> set[str]:
    return {f"{r.kind}/{r.namespace}/{r.name}" if r.namespace else f"{r.kind}/{r.name}" for r in bundle.refs}


@pytest.fixture
def fake() -> FakeDiscoveryCluster:
    return FakeDiscoveryCluster(world())


def test_export_content(fake: FakeDiscoveryCluster, tmp_path: Path) -> None:
    bundle = export(fake, ["shop"], tmp_path / "b")  # type: ignore[arg-type]
    assert names(bundle) == {
        "Namespace/shop",
        "Deployment/shop/web",
        "Pod/shop/bare",
        "Pod/shop/orphan",
        "ConfigMap/shop/settings",
        "Secret/shop/db",
        "ServiceAccount/shop/web",
        "Service/shop/web",
        "PersistentVolumeClaim/shop/data",
        "PersistentVolume/pv-1",
        "StorageClass/gp3",
        "Ingress/shop/web",
        "IngressClass/alb",
        "PriorityClass/high",
        "RoleBinding/shop/web-view",
        "RoleBinding/shop/view",
        "ClusterRole/web-reader",
        "ClusterRole/node-reader",
        "ClusterRoleBinding/web-nodes",
        "Widget/shop/w1",
        "CustomResourceDefinition/widgets.example.com",
    }
    loaded = Bundle.load(tmp_path / "b")
    assert loaded.objects == bundle.objects
    orphan = loaded.get("Pod", "orphan")
    assert orphan is not None and "ownerReferences" not in orphan["metadata"] and "nodeName" not in orphan["spec"]
    crd = loaded.get("CustomResourceDefinition", "widgets.example.com")
    assert crd is not None and "status" not in crd
    assert loaded.get("Namespace", "shop")["metadata"] == {  # type: ignore[index]
        "name": "shop",
        "labels": {"pod-security.kubernetes.io/enforce": "baseline"},
    }
    assert loaded.get("Service", "web")["spec"] == {"ports": [{"port": 80}]}  # type: ignore[index]


def test_runtime_kinds_are_never_listed(fake: FakeDiscoveryCluster, tmp_path: Path) -> None:
    export(fake, ["shop"], tmp_path / "b")  # type: ignore[arg-type]
    listed = {(g, n) for g, n, ns, _ in fake.listed if ns == "shop"}
    assert ("", "events") not in listed and ("events.k8s.io", "events") not in listed
    assert ("", "endpoints") not in listed and ("coordination.k8s.io", "leases") not in listed
    assert ("", "configmaps") in listed and ("example.com", "gadgets") in listed


def test_namespaced_lists_read_as_of_one_snapshot_version(fake: FakeDiscoveryCluster, tmp_path: Path) -> None:
    export(fake, ["shop"], tmp_path / "b")  # type: ignore[arg-type]
    namespaced = [v for (_g, _n, ns, _s), v in zip(fake.listed, fake.list_versions, strict=True) if ns == "shop"]
    assert namespaced and set(namespaced) == {"42"}


def test_without_a_snapshot_version_lists_fall_back_to_quorum_reads(fake: FakeDiscoveryCluster, tmp_path: Path) -> None:
    def refuse(resource: ApiResource, namespace: str | None = None) -> str:
        raise ForbiddenError("list failed: HTTP 403 Forbidden.", status=403, reason="Forbidden")

    fake.resource_version = refuse  # type: ignore[method-assign]
    bundle = export(fake, ["shop"], tmp_path / "b")  # type: ignore[arg-type]
    assert fake.list_versions and set(fake.list_versions) == {None}
    assert bundle.get("ConfigMap", "settings", "shop") is not None


def test_report_counts_skips(fake: FakeDiscoveryCluster, tmp_path: Path) -> None:
    bundle = export(fake, ["shop"], tmp_path / "b")  # type: ignore[arg-type]
    report = ExportReport.from_bundle(bundle)
    assert report.skipped["ReplicaSet.apps"] == {
        "owned by a controller that is exported; the target's controller recreates it": 1
    }
    assert sum(report.skipped["Pod"].values()) == 1
    assert "ConfigMap" in report.skipped and "ServiceAccount" in report.skipped
    assert report.skipped["ClusterRole.rbac.authorization.k8s.io"] == {"bootstrap RBAC present in every cluster": 1}
    in_shop = [o for o in world() if o["metadata"].get("namespace") == "shop"]
    assert report.listed == len(in_shop) - 2  # every object in shop but the Event and the Endpoints
    assert "Event" in report.kinds_not_listed and "Lease.coordination.k8s.io" in report.kinds_not_listed
    assert "IngressClassParams.elbv2.k8s.aws alb-params (kind not served)" in report.missing
    assert report.failures == []
    text = report.to_text() + repr(report) + report._repr_html_() + json.dumps(report.to_dict())
    assert "aHVudGVyMg==" not in text
    assert report.to_dict()["objects"] == len(bundle)


def test_forbidden_kind_is_recorded_and_export_continues(fake: FakeDiscoveryCluster, tmp_path: Path) -> None:
    fake.forbidden.add(("secrets", "shop"))
    fake.broken.add(("pods", "shop"))
    bundle = export(fake, ["shop"], tmp_path / "b")  # type: ignore[arg-type]
    failures = {(f["kind"], f["namespace"]): f for f in bundle.meta["failures"]}
    assert failures[("Secret", "shop")]["status"] == 403
    assert failures[("Secret", "shop")]["reason"] == "Forbidden"
    assert failures[("Pod", "shop")]["partial"] is True
    assert bundle.get("Secret", "db") is None
    assert bundle.get("ConfigMap", "settings") is not None
    assert Bundle.load(tmp_path / "b").meta["failures"] == bundle.meta["failures"]


def test_missing_namespace_is_an_error_and_writes_nothing(fake: FakeDiscoveryCluster, tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="'shopp' does not exist"):
        export(fake, ["shopp"], tmp_path / "b")  # type: ignore[arg-type]
    assert list(tmp_path.iterdir()) == []


def test_no_namespace_is_an_error(fake: FakeDiscoveryCluster, tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError):
        export(fake, [], tmp_path / "b")  # type: ignore[arg-type]


def test_several_namespaces_and_selector(fake: FakeDiscoveryCluster, tmp_path: Path) -> None:
    bundle = export(fake, ["shop", "admin"], tmp_path / "b", selector="app=web")  # type: ignore[arg-type]
    assert {n for n in names(bundle) if "/shop/" in n or "/admin/" in n} == {
        "Deployment/shop/web",
        "ConfigMap/shop/settings",
    }
    assert {"Namespace/shop", "Namespace/admin"} <= names(bundle)
    assert {sel for *_, sel in fake.listed if _[2] in ("shop", "admin")} == {"app=web"}
    assert bundle.meta["namespaces"] == ["admin", "shop"] and bundle.meta["selector"] == "app=web"


def test_exports_are_byte_identical(fake: FakeDiscoveryCluster, tmp_path: Path) -> None:
    export(fake, ["shop"], tmp_path / "one", workers=1)  # type: ignore[arg-type]
    export(fake, ["shop"], tmp_path / "two", workers=8)  # type: ignore[arg-type]

    def objects(root: Path) -> dict[str, bytes]:
        return {
            p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*.yaml") if p.name != "manifest.yaml"
        }

    assert objects(tmp_path / "one") == objects(tmp_path / "two")
    assert Bundle.load(tmp_path / "one").refs == Bundle.load(tmp_path / "two").refs


def test_provider_detection_gets_nodes_provisioners_groups(
    fake: FakeDiscoveryCluster, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: dict[str, Any] = {}

    def detect(node_labels: Any, provisioners: Any, api_groups: Any) -> str:
        seen.update(labels=list(node_labels), provisioners=set(provisioners), groups=set(api_groups))
        return "detected"

    monkeypatch.setattr("portkit.profiles.detect_provider", detect)
    bundle = export(fake, ["shop"], tmp_path / "b")  # type: ignore[arg-type]
    assert bundle.meta["source"] == {"server_version": "v1.34.4", "provider": "detected", "cluster": "fake"}
    assert seen["labels"] == [{"eks.amazonaws.com/nodegroup": "ng-1"}]
    assert seen["provisioners"] == {"ebs.csi.aws.com"}
    assert "example.com" in seen["groups"]


def test_encrypted_export(fake: FakeDiscoveryCluster, tmp_path: Path) -> None:
    key = generate_key()
    export(fake, ["shop"], tmp_path / "b", encryption_key=key)  # type: ignore[arg-type]
    assert "aHVudGVyMg==" not in (tmp_path / "b/shop/core/Secret/db.yaml").read_text()
    assert Bundle.load(tmp_path / "b", key=key).get("Secret", "db")["data"] == {"password": "aHVudGVyMg=="}  # type: ignore[index]


def test_progress_bar(fake: FakeDiscoveryCluster, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    export(fake, ["shop"], tmp_path / "b", progress=True)  # type: ignore[arg-type]
    assert "export" in capsys.readouterr().err


def test_dependencies_of_objects() -> None:
    sts = mk(
        "apps/v1",
        "StatefulSet",
        "db",
        spec={
            "volumeClaimTemplates": [{"spec": {"storageClassName": "fast"}}],
            "template": {"spec": {"priorityClassName": "system-node-critical"}},
        },
    )
    assert dependencies(sts) == {("storage.k8s.io", "StorageClass", "fast")}
    ing = mk("networking.k8s.io/v1", "Ingress", "i", meta={"annotations": {"kubernetes.io/ingress.class": "nginx"}})
    assert dependencies(ing) == {("networking.k8s.io", "IngressClass", "nginx")}
    rb = mk("rbac.authorization.k8s.io/v1", "RoleBinding", "r", roleRef={"kind": "Role", "name": "x"})
    assert dependencies(rb) == set()
    cron = mk(
        "batch/v1",
        "CronJob",
        "c",
        spec={"jobTemplate": {"spec": {"template": {"spec": {"priorityClassName": "batch"}}}}},
    )
    assert dependencies(cron) == {("scheduling.k8s.io", "PriorityClass", "batch")}


def test_cli_export(
    fake: FakeDiscoveryCluster, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(
        "portkit.cluster.Cluster.from_kubeconfig", classmethod(lambda cls, path=None, context=None: fake)
    )
    fake.close = lambda: None  # type: ignore[attr-defined]
    code = main(["export", "--kubeconfig", "k", "-n", "shop", "-d", str(tmp_path / "b"), "-o", "json"])
    out = json.loads(capsys.readouterr().out)
    assert code == 0
    assert out["objects"] == len(Bundle.load(tmp_path / "b"))
    fake.forbidden.add(("secrets", "shop"))
    code = main(["export", "-n", "shop", "-d", str(tmp_path / "b")])
    text = capsys.readouterr().out
    assert code == 3
    assert "Could not be read" in text and "Secret" in text


def test_cli_usage_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["export", "-d", str(tmp_path / "b")]) == 2  # no namespace
    assert main(["export", "-n", "x", "-d", str(tmp_path / "b"), "--kubeconfig", str(tmp_path / "nope")]) == 2
    assert "No kubeconfig" in capsys.readouterr().err


def test_objects_whose_controller_kind_cannot_be_listed_are_skipped(fake: FakeDiscoveryCluster, tmp_path: Path) -> None:
    fake.forbidden.add(("replicasets", "shop"))
    bundle = export(fake, ["shop"], tmp_path / "b")  # type: ignore[arg-type]
    # pods owned by ReplicaSets are not turned into bare pods when the ReplicaSets could not be read
    assert {r.name for r in bundle.refs if r.kind == "Pod"} == {"bare"}
    report = ExportReport.from_bundle(bundle)
    assert report.skipped["Pod"] == {"owned by a controller whose kind could not be listed": 2}
