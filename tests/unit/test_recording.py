"""portkit.recording: a recorded API surface played back by a read-only Cluster (what `demo --offline` plans on)."""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any

import pytest

import portkit
from portkit import profiles
from portkit.demo_data import RECORDED_IONOS, SHOP
from portkit.errors import NotFoundError
from portkit.recording import FORMAT, RecordedCluster, RecordedTargetError, Recording, record_target
from portkit.testing.binaries import KUBERNETES_VERSION


def _aggregated(group: str, version: str, resources: list[tuple[str, str, bool]]) -> dict[str, Any]:
    return {
        "metadata": {"name": group},
        "versions": [
            {
                "version": version,
                "resources": [
                    {
                        "resource": plural,
                        "responseKind": {"group": group, "version": version, "kind": kind},
                        "scope": "Namespaced" if namespaced else "Cluster",
                        "verbs": ["get", "list", "create", "patch"],
                    }
                    for plural, kind, namespaced in resources
                ],
            }
        ],
    }


def _small() -> dict[str, Any]:
    """A tiny recording: core (namespaces, configmaps) and storage.k8s.io (storageclasses), three namespaces."""
    core = {
        "kind": "APIGroupDiscoveryList",
        "apiVersion": "apidiscovery.k8s.io/v2",
        "items": [_aggregated("", "v1", [("namespaces", "Namespace", False), ("configmaps", "ConfigMap", True)])],
    }
    groups = {
        "kind": "APIGroupDiscoveryList",
        "apiVersion": "apidiscovery.k8s.io/v2",
        "items": [_aggregated("storage.k8s.io", "v1", [("storageclasses", "StorageClass", False)])],
    }
    namespaces = [
        {"metadata": {"name": n, "uid": f"uid-{n}"}, "status": {"phase": "Active"}}
        for n in ("default", "kube-system", "team-a")
    ]
    classes = [
        {
            "metadata": {"name": "fast", "annotations": {"storageclass.kubernetes.io/is-default-class": "true"}},
            "provisioner": "example.com/csi",
        }
    ]
    return {
        "format": FORMAT,
        "name": "small",
        "description": "a test recording",
        "recorded_at": "2026-01-01T00:00:00Z",
        "responses": {
            "/version": {"gitVersion": "v1.34.4"},
            "/api": core,
            "/apis": groups,
            "/api/v1/namespaces": {
                "kind": "NamespaceList",
                "apiVersion": "v1",
                "metadata": {"resourceVersion": "42"},
                "items": namespaces,
            },
            "/apis/storage.k8s.io/v1/storageclasses": {
                "kind": "StorageClassList",
                "apiVersion": "storage.k8s.io/v1",
                "metadata": {"resourceVersion": "42"},
                "items": classes,
            },
        },
    }


@pytest.fixture
def small() -> RecordedCluster:
    return RecordedCluster(Recording.from_dict(_small()))


def test_discovery_and_cluster_scoped_reads_come_from_the_recording(small: RecordedCluster) -> None:
    assert small.server_version() == "v1.34.4"
    sc = small.resource_for("storage.k8s.io/v1", "StorageClass")
    assert not sc.namespaced and sc.name == "storageclasses"
    assert [o["metadata"]["name"] for o in small.list(sc)] == ["fast"]
    assert small.get(sc, "fast")["provisioner"] == "example.com/csi"
    with pytest.raises(NotFoundError):  # not in the recorded list: absent, as a live server answers
        small.get(sc, "slow")
    with pytest.raises(NotFoundError):
        small.resource_for("apps/v1", "Deployment")  # not served by the recorded target
    assert small.name == "small (recorded)" and small.server == "recorded:small"


def test_lists_are_paged_like_a_server_pages_them(small: RecordedCluster) -> None:
    namespaces = small.resource_for("v1", "Namespace")
    assert [o["metadata"]["name"] for o in small.list(namespaces, limit=1)] == ["default", "kube-system", "team-a"]
    assert small.resource_version(namespaces) == "42"


def test_a_namespace_the_target_lacks_holds_nothing(small: RecordedCluster) -> None:
    configmaps = small.resource_for("v1", "ConfigMap")
    assert list(small.list(configmaps, "shop")) == []
    with pytest.raises(NotFoundError):
        small.get(configmaps, "settings", "shop")


def test_objects_in_a_namespace_the_target_has_are_not_guessed(small: RecordedCluster) -> None:
    configmaps = small.resource_for("v1", "ConfigMap")
    with pytest.raises(RecordedTargetError, match=r"team-a.*exists in the target"):
        list(small.list(configmaps, "team-a"))


def test_a_recording_cannot_be_written_to_nor_dry_run(small: RecordedCluster) -> None:
    sc = {"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass", "metadata": {"name": "new"}, "provisioner": "x"}
    with pytest.raises(RecordedTargetError, match="cannot be written to"):
        small.apply(sc)
    with pytest.raises(RecordedTargetError, match="cannot run a server-side dry run") as info:
        small.create(sc, dry_run=True)
    assert "dry_run_check=False" in str(info.value)
    with pytest.raises(RecordedTargetError):
        small.delete(small.resource_for("storage.k8s.io/v1", "StorageClass"), "fast")
    with pytest.raises(RecordedTargetError, match="selectors"):
        list(small.list(small.resource_for("v1", "Namespace"), label_selector="a=b"))


def test_no_connection_is_ever_opened(small: RecordedCluster, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("a recorded cluster opened a connection")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    sc = small.resource_for("storage.k8s.io/v1", "StorageClass")
    assert list(small.list(sc))


def test_recording_files_are_checked(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"format": "something/else"}))
    with pytest.raises(RecordedTargetError, match="not a recorded target"):
        Recording.load(bad)
    incomplete = dict(_small(), responses={"/api": {}, "/apis": {}})
    with pytest.raises(RecordedTargetError, match="Namespace list"):
        Recording.from_dict(incomplete)
    with pytest.raises(RecordedTargetError, match="Cannot read"):
        Recording.load(tmp_path / "missing.json")


def test_record_then_play_back_gives_the_same_answers(small: RecordedCluster, tmp_path: Path) -> None:
    again = record_target(small, name="again", description="recorded from a recording")
    path = again.save(tmp_path / "again.json")
    loaded = RecordedCluster.load(path)
    assert loaded.recording.responses["/api"] == small.recording.responses["/api"]
    assert {r.kind for r in loaded.resources()} == {"Namespace", "ConfigMap", "StorageClass"}
    sc = loaded.resource_for("storage.k8s.io/v1", "StorageClass")
    assert loaded.get(sc, "fast")["provisioner"] == "example.com/csi"
    assert path.read_text() == again.save(tmp_path / "twice.json").read_text()  # stable output


# -- the recording shipped for `portkit demo --offline` ---------------------------------------------------------
def test_shipped_recording_is_the_ionos_looking_target_of_the_demo() -> None:
    rec = Recording.load(RECORDED_IONOS)
    target = RecordedCluster(rec)
    # recorded from the Kubernetes version the local clusters run: re-record when it changes
    assert rec.server_version == KUBERNETES_VERSION
    sc = target.resource_for("storage.k8s.io/v1", "StorageClass")
    storage = profiles.load("ionos").storage
    assert storage is not None
    ionos = {c.name for c in storage.classes}
    assert {o["metadata"]["name"] for o in target.list(sc)} == ionos
    ingress = target.resource_for("networking.k8s.io/v1", "IngressClass")
    assert [o["metadata"]["name"] for o in target.list(ingress)] == ["nginx"]  # from target-platform/
    assert "shop" not in rec.namespaces
    assert "127.0.0.1" not in RECORDED_IONOS.read_text()  # no address of the machine it was recorded on
    assert not [path for path in rec.responses if "secret" in path]  # nor any Secret


def _shop_translation(mappings: dict[str, Any] | None = None) -> Any:
    from portkit.cli.commands.demo import DEMO_MAPPINGS

    bundle = portkit.Bundle.from_manifests([SHOP / "app"])
    return portkit.translate(bundle, source="aws", target="ionos", mappings=mappings or DEMO_MAPPINGS)


def test_plan_against_the_recording_finds_what_the_target_lacks() -> None:
    target = RecordedCluster.load(RECORDED_IONOS)
    translated = portkit.plan(_shop_translation().bundle, target, dry_run_check=False)
    assert translated.ok, translated.to_text()
    assert translated.counts()["create"] == len(translated.actions)
    assert not translated.dry_run_checked
    # an object that still names the AWS class (the translator left alone by a mapping to an unknown class)
    untranslated = portkit.plan(
        _shop_translation({"storage_classes": {"gp3": "gp3-on-ionos"}}).bundle, target, dry_run_check=False
    )
    assert [(b.what, b.name) for b in untranslated.blockers] == [("storageclass", "gp3-on-ionos")]
