"""End to end with real bytes: a StatefulSet on a real node of an "AWS" cluster writes a few hundred files of
random data; ``Migration(volumes="velero", quiesce=True, verify_data=True)`` moves it to an "IONOS" cluster
(namespace map, mapped storage class) through Velero's file-system backup (real node agents, Kopia, a shared
store); the target pod runs on a real node and reads its data; ``verify_data`` proves every file equal, then
names exactly the one file changed in the target; rollback gives the source its replicas back.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import portkit
from portkit.testing import LocalCluster, start_all, wait_for
from portkit.testing.images import BUSYBOX

pytestmark = pytest.mark.integration

# 300 files in nested directories (4 KiB to 80 KiB each), one empty file, one 24 MiB file, a symlink;
# Ready only once everything is written (then it just sleeps: no writes during the move).
WRITER = r"""
set -e
if [ ! -f /data/.complete ]; then
  mkdir -p /data/a/b/c /data/logs
  i=0
  while [ $i -lt 300 ]; do
    d=/data/a
    [ $((i % 3)) -eq 0 ] && d=/data/a/b
    [ $((i % 7)) -eq 0 ] && d=/data/a/b/c
    dd if=/dev/urandom of=$d/f$i bs=4k count=$((i % 20 + 1)) 2>/dev/null
    i=$((i + 1))
  done
  : > /data/logs/empty
  dd if=/dev/urandom of=/data/large.bin bs=1M count=24 2>/dev/null
  ln -s a/f1 /data/link-to-f1
  chmod 0600 /data/a/f2
  sha256sum /data/large.bin > /data/large.sha256
  touch /data/.complete
fi
exec sleep 2147483647
"""


def statefulset(replicas: int = 1) -> list[dict[str, Any]]:
    return [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}},
        {
            "apiVersion": "apps/v1",
            "kind": "StatefulSet",
            "metadata": {"name": "db", "namespace": "shop"},
            "spec": {
                "serviceName": "db",
                "replicas": replicas,
                "selector": {"matchLabels": {"app": "db"}},
                "template": {
                    "metadata": {"labels": {"app": "db"}},
                    "spec": {
                        "terminationGracePeriodSeconds": 1,
                        "containers": [
                            {
                                "name": "db",
                                "image": BUSYBOX,
                                "imagePullPolicy": "IfNotPresent",
                                "command": ["sh", "-c", WRITER],
                                "readinessProbe": {
                                    "exec": {"command": ["sh", "-c", "test -f /data/.complete"]},
                                    "periodSeconds": 1,
                                },
                                "volumeMounts": [{"name": "data", "mountPath": "/data"}],
                            }
                        ],
                    },
                },
                "volumeClaimTemplates": [
                    {
                        "metadata": {"name": "data"},
                        "spec": {
                            "accessModes": ["ReadWriteOnce"],
                            "storageClassName": "gp3",
                            "resources": {"requests": {"storage": "1Gi"}},
                        },
                    }
                ],
            },
        },
    ]


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LocalCluster, LocalCluster]]:
    store = tmp_path_factory.mktemp("velero-store")
    src = LocalCluster("dsrc", provider="aws", nodes=0, real_nodes=1, velero=True, velero_store=store)
    dst = LocalCluster("ddst", provider="ionos", nodes=0, real_nodes=1, velero=True, velero_store=store)
    start_all([src, dst])
    try:
        yield src, dst
    finally:
        src.stop()
        dst.stop()


def sts_ready(lc: LocalCluster, namespace: str) -> bool:
    out = lc.kubectl("get", "sts", "-n", namespace, "db", "-o", "jsonpath={.status.readyReplicas}", check=False)
    return out.strip() == "1"


def test_real_data_moves_and_is_proven_equal(pair: tuple[LocalCluster, LocalCluster], tmp_path: Path) -> None:
    src, dst = pair
    src.apply(statefulset())
    wait_for(lambda: sts_ready(src, "shop"), 240, "the source StatefulSet to write its data")
    source_sum = src.kubectl("exec", "-n", "shop", "db-0", "--", "cat", "/data/large.sha256")

    events: list[str] = []
    migration = portkit.Migration(
        source=src.cluster(),
        target=dst.cluster(),
        namespaces=["shop"],
        source_provider="aws",
        target_provider="ionos",
        volumes="velero",
        namespace_map={"shop": "shop-eu"},
        mappings={"storage_classes": {"gp3": "ionos-enterprise-hdd"}},
        quiesce=True,
        verify_data=True,
        workdir=tmp_path / "work",
        timeout=300,
        on_event=lambda e: events.append(f"{e.kind}:{e.step}"),
    )
    from prometheus_client.parser import text_string_to_metric_families

    from portkit.observe import Metrics, Observer

    metrics = Metrics()
    with Observer(metrics=metrics):  # the bytes Velero moved, from its per-volume objects, in the metrics
        report = migration.run()
    assert report.ok, report.to_text()
    assert "step_end:quiesce" in events and "step_end:verify_data" in events
    counted = {(s.name, tuple(s.labels.values())): s.value
               for f in text_string_to_metric_families(metrics.text()) for s in f.samples}  # fmt: skip
    assert report.volumes.bytes_backed_up > 24 * 2**20 and report.volumes.bytes_restored > 24 * 2**20
    assert counted[("portkit_volume_bytes_total", ("backup",))] == report.volumes.bytes_backed_up
    assert counted[("portkit_volume_bytes_total", ("restore",))] == report.volumes.bytes_restored
    assert counted[("portkit_verify_data_bytes_total", ())] == report.data_verified.bytes

    # the source was quiesced (scaled to 0, replicas recorded) and its holder pods are gone
    quiesced = json.loads((tmp_path / "work" / "quiesce.json").read_text())
    assert quiesced["workloads"] == [{"namespace": "shop", "kind": "StatefulSet", "name": "db", "replicas": 1}]
    assert src.kubectl("get", "sts", "-n", "shop", "db", "-o", "jsonpath={.spec.replicas}").strip() == "0"
    assert "portkit-hold" not in src.kubectl("get", "pods", "-n", "shop", "-o", "name")

    # the target runs the recorded replicas on its real node, with the mapped class, and reads the data
    assert sts_ready(dst, "shop-eu")
    pod = json.loads(dst.kubectl("get", "pod", "-n", "shop-eu", "db-0", "-o", "json"))
    assert pod["spec"]["nodeName"] == "ddst-real-0"
    pvc = json.loads(dst.kubectl("get", "pvc", "-n", "shop-eu", "data-db-0", "-o", "json"))
    assert pvc["spec"]["storageClassName"] == "ionos-enterprise-hdd"
    assert "portkit-hold" not in dst.kubectl("get", "pods", "-n", "shop-eu", "-o", "name")
    check = dst.kubectl("exec", "-n", "shop-eu", "db-0", "--", "sha256sum", "-c", "/data/large.sha256")
    assert "OK" in check
    assert dst.kubectl("exec", "-n", "shop-eu", "db-0", "--", "cat", "/data/large.sha256") == source_sum

    # verify_data saw real files on both sides, all equal
    result = report.data_verified
    assert result is not None and result.ok, result
    (only,) = result.claims
    assert (only.source, only.target) == ("shop/data-db-0", "shop-eu/data-db-0")
    assert only.source_tree is not None and only.target_tree is not None
    assert only.source_tree.files == 304  # 300 + empty + large.bin + large.sha256 + .complete
    assert only.source_tree.bytes > 24 * 2**20
    assert only.source_tree.digest == only.target_tree.digest
    entries = only.source_tree.entries
    assert entries["link-to-f1"].kind == "symlink" and entries["link-to-f1"].target == "a/f1"
    assert entries["a/f2"].mode == 0o600 and entries["logs/empty"].size == 0
    assert report.downtime_seconds is not None and report.downtime_seconds > 0
    assert "Downtime" in report.to_text()

    # a changed file in the target is named exactly
    dst.kubectl("exec", "-n", "shop-eu", "db-0", "--", "sh", "-c", "echo tampered >> /data/a/b/c/f7")
    again = portkit.verify_data(src.cluster(), dst.cluster(), ["shop"], namespace_map={"shop": "shop-eu"})
    assert not again.ok
    (claim,) = again.claims
    assert claim.status == "different"
    assert [path for path, _ in claim.different] == ["a/b/c/f7"]
    assert "size" in claim.different[0][1] and "content" in claim.different[0][1]
    assert claim.missing == () and claim.extra == ()
    assert "a/b/c/f7" in again.to_text()
    cli = subprocess.run(
        [
            sys.executable,
            "-m",
            "portkit.cli",
            "verify-data",
            "--from-kubeconfig",
            src.kubeconfig,
            "--to-kubeconfig",
            dst.kubeconfig,
            "-n",
            "shop",
            "--namespace-map",
            "shop=shop-eu",
            "-o",
            "json",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert cli.returncode == 1, cli.stderr  # a difference is a failure for automation
    data = json.loads(cli.stdout)
    assert data["ok"] is False and [d["path"] for d in data["claims"][0]["different"]] == ["a/b/c/f7"]

    # rollback: the target's objects go, the source gets its replicas back
    done = migration.rollback()
    assert done["source_scaled_back"] == ["StatefulSet shop/db → 1"]
    wait_for(lambda: sts_ready(src, "shop"), 120, "the source StatefulSet to come back")
