"""Volume moves against two real local clusters, each with a real Velero server, sharing one object store.

"vsrc" looks like AWS, "vdst" like IONOS. There is no kubelet: no volume bytes move (fs-backup and the CSI
data mover need node-agent pods). What is real: the Velero servers, the backup and restore flows through
the shared store, namespace mapping, the change-storage-class ConfigMap, the resource modifiers, the
simulated provisioner binding restored claims, and Velero's own PartiallyFailed / FailedValidation phases.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from portkit.bundle import Bundle
from portkit.errors import NotFoundError, VolumeMoveError
from portkit.testing import LocalCluster, start_all, wait_for
from portkit.testing.velero import ensure_velero
from portkit.translate import translate
from portkit.volumes import VeleroCLI, VeleroMover, VeleroOperationError, VolumeProgress, migrate_volumes

pytestmark = pytest.mark.integration

PVC = {
    "apiVersion": "v1",
    "kind": "PersistentVolumeClaim",
    "metadata": {"name": "data", "namespace": "shop", "labels": {"app": "db"}},
    "spec": {
        "storageClassName": "gp3",
        "accessModes": ["ReadWriteOnce"],
        "resources": {"requests": {"storage": "1500Mi"}},
    },
}
DEPLOYMENT = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {"name": "db", "namespace": "shop"},
    "spec": {
        "replicas": 1,
        "selector": {"matchLabels": {"app": "db"}},
        "template": {
            "metadata": {"labels": {"app": "db"}},
            "spec": {
                "containers": [
                    {
                        "name": "db",
                        "image": "postgres:16",
                        "volumeMounts": [{"name": "d", "mountPath": "/var/lib/postgresql"}],
                    }
                ],
                "volumes": [{"name": "d", "persistentVolumeClaim": {"claimName": "data"}}],
            },
        },
    },
}


def pvc_of(lc: LocalCluster, namespace: str, name: str = "data") -> dict[str, Any] | None:
    cluster = lc.cluster()
    try:
        return cluster.get(cluster.resource_for("v1", "PersistentVolumeClaim"), name, namespace)
    except NotFoundError:
        return None


@pytest.fixture(scope="module")
def velero_pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, LocalCluster]]:
    store = tmp_path_factory.mktemp("velero-store")
    pair = {
        "src": LocalCluster(name="vsrc", provider="aws", velero=True, velero_store=store),
        "dst": LocalCluster(name="vdst", provider="ionos", velero=True, velero_store=store),
    }
    start_all(pair.values())
    try:
        src = pair["src"]
        src.apply([{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}}, PVC, DEPLOYMENT])
        wait_for(
            lambda: ((pvc_of(src, "shop") or {}).get("status") or {}).get("phase") == "Bound",
            what="the source claim to be bound",
        )
        yield pair
    finally:
        for lc in pair.values():
            lc.stop()


@pytest.fixture(scope="module")
def vsrc(velero_pair: dict[str, LocalCluster]) -> LocalCluster:
    return velero_pair["src"]


@pytest.fixture(scope="module")
def vdst(velero_pair: dict[str, LocalCluster]) -> LocalCluster:
    return velero_pair["dst"]


@pytest.fixture(scope="module")
def velero_bin() -> Path:
    return ensure_velero().velero


@pytest.fixture(scope="module")
def shop_backup(vsrc: LocalCluster, vdst: LocalCluster, velero_bin: Path) -> str:
    """A Completed backup of namespace shop in the source (the restores below reuse it)."""
    return mover(vsrc, vdst, velero_bin).backup(["shop"], name="move-shop")


def mover(vsrc: LocalCluster, vdst: LocalCluster, velero_bin: Path, **kwargs: Any) -> VeleroMover:
    options: dict[str, Any] = {
        "data_path": "none",
        "source_provider": "aws",
        "target_provider": "ionos",
        "poll": 0.5,
        "timeout": 180,
        "sync_timeout": 60,
    }
    options.update(kwargs)
    return VeleroMover(vsrc.cluster(), vdst.cluster(), binary=velero_bin, **options)


def _listening_ports(pid: int) -> set[tuple[str, int]]:
    """(address, port) of the TCP sockets process ``pid`` listens on (from /proc)."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] == "0A" and fields[9] in inodes:  # 0A = LISTEN
                address, port = fields[1].split(":")
                if len(address) == 8:
                    ip = ".".join(str(int(address[i : i + 2], 16)) for i in (6, 4, 2, 0))
                else:
                    ip = "::" if set(address) == {"0"} else address
                found.add((ip, int(port, 16)))
    return found


def test_velero_servers_listen_only_on_their_own_loopback_ports(vsrc: LocalCluster, vdst: LocalCluster) -> None:
    seen = {}
    for lc in (vsrc, vdst):
        pid = lc._procs["velero"].pid
        ports = _listening_ports(pid)
        assert ports == {("127.0.0.1", lc.ports["velero-metrics"]), ("127.0.0.1", lc.ports["velero-profiler"])}
        seen[lc.name] = ports
    assert not seen["vsrc"] & seen["vdst"]


def test_move_restores_claim_with_mapped_class_size_and_namespace(
    vsrc: LocalCluster, vdst: LocalCluster, velero_bin: Path, shop_backup: str
) -> None:
    translation = translate(Bundle([PVC]), source="aws", target="ionos")
    class_change = next(c for c in translation.changes if c.path == "/spec/storageClassName")
    size_change = next(c for c in translation.changes if c.path == "/spec/resources/requests/storage")
    events: list[VolumeProgress] = []

    result = mover(vsrc, vdst, velero_bin).move(
        ["shop"], namespace_map={"shop": "shop-eu"}, storage=translation, progress=events.append, name=shop_backup
    )

    assert (result.backup_phase, result.restore_phase) == ("Completed", "Completed")
    assert result.items_backed_up > 0
    assert any(e.operation == "backup" and e.phase == "Completed" and e.done == e.total > 0 for e in events)
    assert any(e.operation == "restore" and e.phase == "Completed" for e in events)
    live = pvc_of(vdst, "shop-eu")
    assert live is not None, "the claim was not restored into the mapped namespace"
    assert live["spec"]["storageClassName"] == class_change.new == "ionos-enterprise-ssd"
    assert live["spec"]["resources"]["requests"]["storage"] == size_change.new  # from the resource modifier
    assert pvc_of(vdst, "shop") is None  # nothing landed in the unmapped namespace
    (row,) = result.volumes
    assert (row.source_namespace, row.source_class, row.source_size) == ("shop", "gp3", "1500Mi")
    assert (row.target_namespace, row.target_class, row.target_size) == ("shop-eu", class_change.new, size_change.new)
    assert row.phase in ("Pending", "Bound")
    # the restored claim is re-provisioned by the target's (simulated) provisioner once its pod is scheduled
    wait_for(
        lambda: ((pvc_of(vdst, "shop-eu") or {}).get("status") or {}).get("phase") == "Bound",
        what="the restored claim to be bound in the target",
    )
    refreshed = mover(vsrc, vdst, velero_bin).refresh(result)
    assert refreshed.volumes[0].phase == "Bound" and refreshed.volumes[0].volume
    # portkit's ConfigMaps are gone from Velero's namespace; the backup is in the shared store
    cms = vdst.cluster()
    names = [c["metadata"]["name"] for c in cms.list(cms.resource_for("v1", "ConfigMap"), "velero")]
    assert not [n for n in names if n.startswith("portkit-")]
    assert (Path(str(vsrc.velero_store)) / "portkit" / "backups" / "move-shop" / "velero-backup.json").is_file()
    assert "move-shop" in repr(result) and "shop-eu/data" in result.to_text()


def test_plain_dict_mapping_without_namespace_map(
    vsrc: LocalCluster, vdst: LocalCluster, velero_bin: Path, shop_backup: str
) -> None:
    result = mover(vsrc, vdst, velero_bin).restore(
        shop_backup, namespaces=["shop"], storage={"gp3": "ionos-enterprise-hdd"}, name="restore-plain"
    )
    live = pvc_of(vdst, "shop")
    assert live is not None
    assert live["spec"]["storageClassName"] == "ionos-enterprise-hdd"
    assert live["spec"]["resources"]["requests"]["storage"] == "1500Mi"  # no size change without a translation
    assert result.storage_classes == {"gp3": "ionos-enterprise-hdd"}
    assert result.volumes[0].target_class == "ionos-enterprise-hdd"


def test_fs_backup_without_node_agent_is_partially_failed(
    vsrc: LocalCluster, vdst: LocalCluster, velero_bin: Path
) -> None:
    """A real PartiallyFailed: file-system backup of a mounted volume with no node-agent pod on the node."""
    wait_for(
        lambda: "Running" in vsrc.kubectl("get", "pods", "-n", "shop", "-o", "jsonpath={.items[*].status.phase}"),
        what="the source pod to run",
    )
    with pytest.raises(VeleroOperationError) as info:
        mover(vsrc, vdst, velero_bin, data_path="fs-backup").backup(["shop"], name="fs-shop")
    err = info.value
    assert (err.operation, err.name, err.phase) == ("backup", "fs-shop", "PartiallyFailed")
    assert err.errors >= 1 and f"{err.errors} errors" in str(err)
    assert isinstance(err, VolumeMoveError)
    # portkit read Velero's own account of what failed (its backup logs, through the store's signed URLs)
    # and names the failing pod and Velero's reason: no node agent runs on the (kwok) node
    text = "\n".join(err.failures)
    assert "daemonset pod not found in running state in node" in text, err.failures
    assert "What failed:" in str(err) and "[name db-" in text  # the failing pod of the shop Deployment


def test_backup_to_unknown_location_fails_validation(vsrc: LocalCluster, velero_bin: Path) -> None:
    """A real FailedValidation, with Velero's validation error in the message.

    The CLI refuses an unknown storage location itself, so the Backup object is created through the API
    (as a GitOps tool or a script would) and the server validates it.
    """
    cli = VeleroCLI(binary=velero_bin, kubeconfig=vsrc.kubeconfig, namespace="velero")
    with pytest.raises(VolumeMoveError, match="nowhere"):
        cli.create_backup("bad-location", namespaces=["shop"], data_path="none", storage_location="nowhere")
    vsrc.cluster().create(
        {
            "apiVersion": "velero.io/v1",
            "kind": "Backup",
            "metadata": {"name": "bad-location", "namespace": "velero"},
            "spec": {"includedNamespaces": ["shop"], "storageLocation": "nowhere"},
        }
    )
    with pytest.raises(VeleroOperationError) as info:
        cli.wait("backup", "bad-location", timeout=60, poll=0.5)
    assert info.value.phase == "FailedValidation"
    assert any("nowhere" in v for v in info.value.validation_errors)
    assert "nowhere" in str(info.value)


def test_foreign_change_storage_class_configmap_is_refused(
    vsrc: LocalCluster, vdst: LocalCluster, velero_bin: Path
) -> None:
    foreign = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": "theirs",
            "namespace": "velero",
            "labels": {"velero.io/plugin-config": "", "velero.io/change-storage-class": "RestoreItemAction"},
        },
        "data": {"gp2": "standard"},
    }
    vdst.apply([foreign])
    cluster = vdst.cluster()
    try:
        with pytest.raises(VolumeMoveError, match="already has a change-storage-class ConfigMap"):
            mover(vsrc, vdst, velero_bin).restore(
                "move-shop",
                namespaces=["shop"],
                namespace_map={"shop": "shop-x"},
                storage={"gp3": "ionos-enterprise-ssd"},
                name="refused",
            )
        assert VeleroCLI.for_cluster(cluster, binary=velero_bin).get("restore", "refused") is None
        assert pvc_of(vdst, "shop-x") is None
    finally:
        cluster.delete(cluster.resource_for("v1", "ConfigMap"), "theirs", "velero")


def test_migrate_volumes_restores_only_claims_and_resumes(
    vsrc: LocalCluster, vdst: LocalCluster, velero_bin: Path, shop_backup: str, tmp_path: Path
) -> None:
    """The Migration's volume step: claims only (workloads come from portkit's apply), resumable by name."""
    state = tmp_path / "velero.json"
    state.write_text(json.dumps({"backup": shop_backup, "restore": "mig-restore"}))  # as a first run left it
    translation = translate(Bundle([PVC]), source="aws", target="ionos")
    kwargs: dict[str, Any] = dict(
        source=vsrc.cluster(),
        target=vdst.cluster(),
        namespaces=["shop"],
        namespace_map={"shop": "shop-mig"},
        translation=translation,
        source_provider="aws",
        target_provider="ionos",
        workdir=tmp_path,
        data_path="none",
        binary=velero_bin,
        poll=0.5,
        timeout=180,
        sync_timeout=90,
    )
    first = migrate_volumes(**kwargs)
    assert (first.backup, first.restore, first.restore_phase) == (shop_backup, "mig-restore", "Completed")
    live = pvc_of(vdst, "shop-mig")
    assert live is not None and live["spec"]["storageClassName"] == "ionos-enterprise-ssd"
    deployments = vdst.cluster().list(vdst.cluster().resource_for("apps/v1", "Deployment"), "shop-mig")
    assert list(deployments) == []  # only claims and volumes were restored
    again = migrate_volumes(**kwargs)  # resumes: the same Velero objects, nothing new created
    assert (again.backup, again.restore) == (first.backup, first.restore)
    restores = VeleroCLI(binary=velero_bin, kubeconfig=vdst.kubeconfig).list("restore")
    assert sum(1 for r in restores if r["metadata"]["name"] == "mig-restore") == 1
    assert json.loads(state.read_text()) == {"backup": shop_backup, "restore": "mig-restore"}


def test_volume_operations_are_spans_and_metrics(
    vsrc: LocalCluster, vdst: LocalCluster, velero_bin: Path, shop_backup: str
) -> None:
    """Backup, sync and restore through real Velero servers, observed with the OpenTelemetry SDK and read back
    with prometheus_client's parser; a real PartiallyFailed backup is an error span and a failed operation."""
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
    from opentelemetry.trace import StatusCode
    from prometheus_client.parser import text_string_to_metric_families

    from portkit.observe import Metrics, Observer

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    metrics = Metrics()
    wait_for(
        lambda: "Running" in vsrc.kubectl("get", "pods", "-n", "shop", "-o", "jsonpath={.items[*].status.phase}"),
        what="the source pod to run",
    )
    with Observer(tracer_provider=provider, metrics=metrics):
        m = mover(vsrc, vdst, velero_bin)
        m.backup(["shop"], name=shop_backup)  # Completed already: portkit waits for it once
        result = m.restore(shop_backup, namespaces=["shop"], namespace_map={"shop": "shop-observed"},
                           name="restore-observed")  # fmt: skip
        with pytest.raises(VeleroOperationError):
            mover(vsrc, vdst, velero_bin, data_path="fs-backup").backup(["shop"], name="fs-observed")
    provider.shutdown()
    spans = exporter.get_finished_spans()
    assert [s.name for s in spans] == ["portkit.velero.backup", "portkit.velero.sync", "portkit.velero.restore",
                                       "portkit.velero.backup"]  # fmt: skip
    backup, sync, restore, failed = (dict(s.attributes or {}) for s in spans)
    assert backup["portkit.backup"] == shop_backup and backup["portkit.phase"] == "Completed"
    assert backup["portkit.items"] == result.items_backed_up > 0 and backup["portkit.bytes"] == 0  # data path none
    assert sync["portkit.backup"] == shop_backup
    assert restore["portkit.restore"] == "restore-observed" and restore["portkit.phase"] == "Completed"
    assert restore["portkit.items"] == result.items_restored > 0
    assert spans[3].status.status_code is StatusCode.ERROR
    assert failed["error.type"] == "VeleroOperationError" and failed["portkit.phase"] == "PartiallyFailed"
    assert failed["portkit.errors"] >= 1
    assert result.bytes_backed_up == result.bytes_restored == 0
    found = {(s.name, tuple(sorted(s.labels.items()))): s.value
             for f in text_string_to_metric_families(metrics.text()) for s in f.samples}  # fmt: skip
    ops = {labels: v for (n, labels), v in found.items() if n == "portkit_volume_operations_total"}
    assert ops == {
        (("operation", "backup"), ("result", "ok")): 1,
        (("operation", "backup"), ("result", "failed")): 1,
        (("operation", "sync"), ("result", "ok")): 1,
        (("operation", "restore"), ("result", "ok")): 1,
    }
    assert found[("portkit_volume_items_total", (("operation", "restore"),))] == result.items_restored
    assert found[("portkit_volume_bytes_total", (("operation", "backup"),))] == 0
