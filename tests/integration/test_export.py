"""Export of a realistic application out of a real local cluster (LocalCluster that looks like AWS EKS)."""

from __future__ import annotations

import contextlib
import json
import shutil
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from portkit.bundle import Bundle
from portkit.cli import main
from portkit.cluster import Cluster
from portkit.errors import BundleError, PortkitError
from portkit.export import ExportReport, export
from portkit.testing import LocalCluster, wait_for

pytestmark = pytest.mark.integration

APP = Path(__file__).parent / "apps" / "shop"
NS = "export-shop"
TEAM = "export-team"
API_KEYS = """\
apiVersion: v1
kind: Secret
metadata:
  name: api-keys
  namespace: export-shop
stringData:
  payment: pk_live_do_not_leak
"""


def live(cluster: Cluster, api_version: str, kind: str, namespace: str | None = NS) -> list[dict[str, Any]]:
    return list(cluster.list(cluster.resource_for(api_version, kind), namespace))


@pytest.fixture(scope="module")
def shop(source_cluster: LocalCluster) -> Iterator[LocalCluster]:
    """The shop application, running: pods scheduled, claims bound, token filled in."""
    lc = source_cluster
    lc.apply(str(APP))
    lc.kubectl("apply", "-f", "-", input=API_KEYS)  # client-side apply: leaves a last-applied annotation
    cluster = lc.cluster()

    def settled() -> bool:
        claims = live(cluster, "v1", "PersistentVolumeClaim")
        bound = {c["metadata"]["name"] for c in claims if (c.get("status") or {}).get("phase") == "Bound"}
        pods = {p["metadata"]["name"] for p in live(cluster, "v1", "Pod")}
        token = cluster.get(cluster.resource_for("v1", "Secret"), "web-ci-token", NS)
        return (
            {"uploads", "data-db-0", "data-db-1"} <= bound
            and any(p.startswith("web-") for p in pods)
            and any(p.startswith("migrate-schema-") for p in pods)
            and bool(live(cluster, "apps/v1", "ReplicaSet"))
            and bool((token.get("data") or {}).get("token"))
        )

    wait_for(settled, what="the shop application to settle")
    yield lc
    ns_res = cluster.resource_for("v1", "Namespace")
    for name in (NS, TEAM):
        with contextlib.suppress(PortkitError):  # best-effort cleanup of a shared cluster
            cluster.delete(ns_res, name)


@pytest.fixture(scope="module")
def exported(shop: LocalCluster, tmp_path_factory: pytest.TempPathFactory) -> Bundle:
    return export(shop.cluster(), [NS], tmp_path_factory.mktemp("export") / "shop")


def refs(bundle: Bundle) -> set[str]:
    return {f"{r.kind}/{r.namespace}/{r.name}" if r.namespace else f"{r.kind}/{r.name}" for r in bundle.refs}


def test_bundle_holds_exactly_the_application(shop: LocalCluster, exported: Bundle) -> None:
    cluster = shop.cluster()
    volumes = {c["metadata"]["name"]: c["spec"]["volumeName"] for c in live(cluster, "v1", "PersistentVolumeClaim")}
    expected = (
        {
            f"{kind}/{NS}/{name}"
            for kind, name in [
                ("ServiceAccount", "web"),
                ("ConfigMap", "web-config"),
                ("ConfigMap", "feature-flags"),
                ("Secret", "db-credentials"),
                ("Secret", "api-keys"),
                ("Secret", "web-ci-token"),
                ("Role", "web-config-reader"),
                ("RoleBinding", "web-config-reader"),
                ("RoleBinding", "web-reader"),
                ("RoleBinding", "web-view"),
                ("Deployment", "web"),
                ("Deployment", "worker"),
                ("StatefulSet", "db"),
                ("PersistentVolumeClaim", "uploads"),
                ("PersistentVolumeClaim", "data-db-0"),
                ("PersistentVolumeClaim", "data-db-1"),
                ("Service", "db"),
                ("Service", "web"),
                ("Service", "web-public"),
                ("Ingress", "web"),
                ("NetworkPolicy", "db-from-app"),
                ("HorizontalPodAutoscaler", "web"),
                ("PodDisruptionBudget", "web"),
                ("CronJob", "nightly-report"),
                ("Job", "migrate-schema"),
                ("Pod", "debug"),
                ("Widget", "storefront"),
                ("Widget", "checkout"),
            ]
        }
        | {
            f"Namespace/{NS}",
            "CustomResourceDefinition/widgets.exporttest.example.com",
            "IngressClass/export-alb",
            "PriorityClass/export-shop-high",
            "ClusterRole/export-shop-reader",
            "ClusterRole/export-shop-node-reader",
            "ClusterRoleBinding/export-shop-web-nodes",
            "StorageClass/gp3",
            "StorageClass/efs-sc",
        }
        | {f"PersistentVolume/{pv}" for pv in volumes.values()}
    )
    assert refs(exported) == expected
    assert len(volumes) == 3
    assert exported.meta["source"]["provider"] == "aws"
    assert exported.meta["source"]["server_version"].startswith("v1.34")
    assert exported.meta["namespaces"] == [NS]
    assert exported.meta["failures"] == []


def test_derived_objects_are_absent(shop: LocalCluster, exported: Bundle) -> None:
    cluster = shop.cluster()
    # they exist in the source ...
    assert live(cluster, "apps/v1", "ReplicaSet")
    assert live(cluster, "apps/v1", "ControllerRevision")
    assert any(p["metadata"]["name"].startswith("web-") for p in live(cluster, "v1", "Pod"))
    assert live(cluster, "discovery.k8s.io/v1", "EndpointSlice")
    assert any(s["metadata"]["name"] == "default" for s in live(cluster, "v1", "ServiceAccount"))
    assert any(c["metadata"]["name"] == "kube-root-ca.crt" for c in live(cluster, "v1", "ConfigMap"))
    # ... and not in the bundle
    kinds = {r.kind for r in exported.refs}
    assert not kinds & {"ReplicaSet", "ControllerRevision", "Endpoints", "EndpointSlice", "Event", "Lease"}
    assert {r.name for r in exported.refs if r.kind == "Pod"} == {"debug"}
    assert exported.get("ServiceAccount", "default") is None
    assert exported.get("ConfigMap", "kube-root-ca.crt") is None
    assert exported.get("ClusterRole", "view") is None  # bootstrap RBAC, referenced by web-view
    assert exported.get("CustomResourceDefinition", "gadgets.exporttest.example.com") is None
    report = ExportReport.from_bundle(exported)
    assert report.skipped["ReplicaSet.apps"]
    assert "Event" in report.kinds_not_listed


def test_server_owned_fields_are_stripped(exported: Bundle) -> None:
    for obj in exported:
        meta = obj["metadata"]
        for field in ("uid", "resourceVersion", "creationTimestamp", "managedFields", "ownerReferences", "generation"):
            assert field not in meta, (obj["kind"], meta["name"], field)
        assert "status" not in obj, (obj["kind"], meta["name"])
        assert "kubectl.kubernetes.io/last-applied-configuration" not in (meta.get("annotations") or {})


def test_objects_as_written(exported: Bundle) -> None:
    app = {(d["kind"], d["metadata"]["name"]): d for d in yaml.safe_load_all((APP / "10-app.yaml").read_text())}
    # objects the API server does not default are exported exactly as applied
    for kind, name in [
        ("ConfigMap", "web-config"),
        ("ConfigMap", "feature-flags"),
        ("Secret", "db-credentials"),
        ("Role", "web-config-reader"),
        ("RoleBinding", "web-reader"),
        ("ServiceAccount", "web"),
        ("Widget", "storefront"),
    ]:
        assert exported.get(kind, name, NS) == app[(kind, name)], (kind, name)

    api_keys = exported.get("Secret", "api-keys", NS)
    assert api_keys is not None
    assert api_keys["metadata"] == {"name": "api-keys", "namespace": NS}
    assert api_keys["data"] == {"payment": "cGtfbGl2ZV9kb19ub3RfbGVhaw=="}

    token = exported.get("Secret", "web-ci-token", NS)
    assert token is not None and "data" not in token
    assert token["metadata"]["annotations"] == {"kubernetes.io/service-account.name": "web"}

    lb = exported.get("Service", "web-public", NS)
    assert lb is not None
    assert "clusterIP" not in lb["spec"] and "clusterIPs" not in lb["spec"]
    assert "healthCheckNodePort" not in lb["spec"]
    assert {p["name"]: p.get("nodePort") for p in lb["spec"]["ports"]} == {"http": 30080, "https": None}
    assert lb["metadata"]["annotations"] == app[("Service", "web-public")]["metadata"]["annotations"]
    assert lb["spec"]["externalTrafficPolicy"] == "Local"
    headless = exported.get("Service", "db", NS)
    assert headless is not None and headless["spec"]["clusterIP"] == "None"

    claim = exported.get("PersistentVolumeClaim", "uploads", NS)
    assert claim is not None
    assert "volumeName" not in claim["spec"] and claim["spec"]["storageClassName"] == "efs-sc"
    assert not any(k.startswith(("pv.kubernetes.io/", "volume.")) for k in claim["metadata"].get("annotations") or {})

    volumes = [o for o in exported.cluster_objects if o["kind"] == "PersistentVolume"]
    claims = {(v["spec"]["claimRef"]["namespace"], v["spec"]["claimRef"]["name"]) for v in volumes}
    assert claims == {(NS, "uploads"), (NS, "data-db-0"), (NS, "data-db-1")}
    assert all("uid" not in v["spec"]["claimRef"] for v in volumes)

    sts = exported.get("StatefulSet", "db", NS)
    assert sts is not None
    assert sts["spec"]["volumeClaimTemplates"][0]["metadata"] == {"name": "data"}
    assert "status" not in sts["spec"]["volumeClaimTemplates"][0]

    job = exported.get("Job", "migrate-schema", NS)
    assert job is not None and "selector" not in job["spec"]
    labels = job["spec"]["template"]["metadata"].get("labels") or {}
    assert "controller-uid" not in labels and "batch.kubernetes.io/controller-uid" not in labels

    pod = exported.get("Pod", "debug", NS)
    assert pod is not None and "nodeName" not in pod["spec"]
    assert not any(v["name"].startswith("kube-api-access-") for v in pod["spec"].get("volumes") or ())

    web = exported.get("Deployment", "web", NS)
    assert web is not None
    assert "deployment.kubernetes.io/revision" not in (web["metadata"].get("annotations") or {})
    assert web["spec"]["template"]["spec"]["priorityClassName"] == "export-shop-high"

    namespace = exported.get("Namespace", NS)
    assert namespace is not None
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "baseline"
    assert namespace["metadata"]["annotations"] == {"owner": "shop-team@example.com"}
    crd = exported.get("CustomResourceDefinition", "widgets.exporttest.example.com")
    assert crd is not None and crd["spec"]["names"]["kind"] == "Widget" and "status" not in crd


def test_bundle_on_disk(exported: Bundle) -> None:
    assert exported.path is not None
    root = exported.path
    assert (root / "_cluster/core/Namespace/export-shop.yaml").is_file()
    assert (root / f"{NS}/apps/Deployment/web.yaml").is_file()
    assert (root / f"{NS}/exporttest.example.com/Widget/storefront.yaml").is_file()
    for secret in (root / f"{NS}/core/Secret").iterdir():
        assert stat.S_IMODE(secret.stat().st_mode) == 0o600, secret
    assert "pk_live_do_not_leak" not in (root / "manifest.yaml").read_text()
    loaded = Bundle.load(root)
    assert loaded.objects == exported.objects
    text = repr(loaded) + loaded.to_text() + json.dumps(loaded.to_dict()) + ExportReport.from_bundle(loaded).to_text()
    assert "czNjcjN0LXBhc3N3b3Jk" not in text and "cGtfbGl2ZV9kb19ub3RfbGVhaw==" not in text


def _object_files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*.yaml") if p.name != "manifest.yaml"}


def test_two_exports_are_byte_identical(shop: LocalCluster, exported: Bundle, tmp_path: Path) -> None:
    assert exported.path is not None
    again = export(shop.cluster(), [NS], tmp_path / "again", workers=3)
    assert _object_files(exported.path) == _object_files(tmp_path / "again")
    first = yaml.safe_load((exported.path / "manifest.yaml").read_text())["objects"]
    second = yaml.safe_load((tmp_path / "again" / "manifest.yaml").read_text())["objects"]
    assert first == second and len(again) == len(exported)


def test_tampering_is_detected(exported: Bundle, tmp_path: Path) -> None:
    assert exported.path is not None
    copy = tmp_path / "copy"
    shutil.copytree(exported.path, copy)
    edited = copy / f"{NS}/apps/Deployment/web.yaml"
    edited.write_text(edited.read_text().replace("replicas: 2", "replicas: 20"))
    with pytest.raises(BundleError) as info:
        Bundle.load(copy)
    assert str(edited) in str(info.value)
    shutil.rmtree(copy)
    shutil.copytree(exported.path, copy)
    removed = copy / f"{NS}/core/ConfigMap/web-config.yaml"
    removed.unlink()
    with pytest.raises(BundleError) as info:
        Bundle.load(copy)
    assert str(removed) in str(info.value)


def test_selector(shop: LocalCluster, tmp_path: Path) -> None:
    bundle = export(shop.cluster(), [NS], tmp_path / "web", selector="app=web")
    assert {f"{r.kind}/{r.name}" for r in bundle.refs if r.namespace} == {"ConfigMap/web-config", "Deployment/web"}
    assert bundle.get("Namespace", NS) is not None


def test_restricted_rbac_export(shop: LocalCluster, tmp_path: Path) -> None:
    shop.apply(
        [
            {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": TEAM}},
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": "settings", "namespace": TEAM},
                "data": {"a": "1"},
            },
            {
                "apiVersion": "v1",
                "kind": "Secret",
                "metadata": {"name": "hidden", "namespace": TEAM},
                "data": {"k": "dg=="},
            },
        ]
    )
    kubeconfig = shop.service_account_kubeconfig(
        "exporter",
        TEAM,
        rules=[
            {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "list"]},
            {"apiGroups": ["apps"], "resources": ["deployments"], "verbs": ["get", "list"]},
        ],
    )
    restricted = Cluster.from_kubeconfig(kubeconfig)
    try:
        bundle = export(restricted, [TEAM], tmp_path / "team")
    finally:
        restricted.close()
    assert refs(bundle) == {f"ConfigMap/{TEAM}/settings"}
    failures = {(f["kind"], f["namespace"]) for f in bundle.meta["failures"]}
    assert {("Secret", TEAM), ("Pod", TEAM), ("Namespace", ""), ("ClusterRoleBinding", "")} <= failures
    assert all(f["status"] == 403 for f in bundle.meta["failures"])
    assert ("ConfigMap", TEAM) not in failures and ("Deployment", TEAM) not in failures
    assert len(Bundle.load(tmp_path / "team")) == 1


def test_cli(shop: LocalCluster, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["export", "--kubeconfig", shop.kubeconfig, "-n", NS, "-d", str(tmp_path / "cli"), "-o", "json"])
    out = json.loads(capsys.readouterr().out)
    assert code == 0
    assert out["objects"] == len(Bundle.load(tmp_path / "cli")) and out["failures"] == []
    assert out["provider"] == "aws"


def test_kubectl_reads_bundle_files_as_portkit_does(shop: LocalCluster, tmp_path: Path) -> None:
    """Strings a YAML 1.1 reader could take for other types are quoted: kubectl (go-yaml) agrees with portkit."""
    from portkit.bundle import dump_yaml

    tricky = [
        "y",
        "n",
        "on",
        "Off",
        "yes",
        "~",
        "null",
        "1:20",
        "0x1F",
        "0o17",
        "1e3",
        "2024-01-01",
        "8080",
        "-1",
        "a: b",
        "#x",
        "a #b",
        "*a",
        "&a",
        "!x",
        "%x",
        "@x",
        "x:",
        "{a}",
        "[a]",
        "<<",
        "=",
        "a\nb\n",
        "a\nb",
        "  lead\nx",
        "trail \nx",
        "é\nü",
        "tab\tin",
        "\u2028sep",
        'quote"s',
        "back\\slash",
        "",
    ]
    data = {f"k{i}": v for i, v in enumerate(tricky)}
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "tricky", "namespace": NS}, "data": data}
    path = tmp_path / "tricky.yaml"
    path.write_bytes(dump_yaml(cm))
    out = json.loads(shop.kubectl("create", "--dry-run=server", "-f", str(path), "-o", "json"))
    assert out["data"] == data
