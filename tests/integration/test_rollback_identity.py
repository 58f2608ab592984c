"""Rollback against real clusters: a journal of cluster A pointed at cluster B deletes nothing in B."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from portkit.bundle import Bundle
from portkit.cli import main
from portkit.errors import NotFoundError
from portkit.testing import LocalCluster

pytestmark = pytest.mark.integration

NAMESPACE = "tj-identity"


def objects() -> list[dict[str, Any]]:
    return [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}},
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "settings", "namespace": NAMESPACE},
            "data": {"color": "blue"},
        },
    ]


def test_rollback_with_the_journal_of_another_cluster_deletes_nothing_and_exits_2(
    source_cluster: LocalCluster, target_cluster: LocalCluster, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bundle = tmp_path / "bundle"
    Bundle(objects()).save(bundle)
    workdir = str(tmp_path / "work")
    a, b = source_cluster.cluster(), target_cluster.cluster()
    namespaces, configmaps = a.resource_for("v1", "Namespace"), a.resource_for("v1", "ConfigMap")

    # apply into A (journal in workdir), and give B objects of the same names
    assert main(["apply", str(bundle), "--kubeconfig", source_cluster.kubeconfig, "--workdir", workdir,
                 "-o", "json"]) == 0  # fmt: skip
    capsys.readouterr()
    target_cluster.apply(objects())
    b_uids = {
        "namespace": b.get(namespaces, NAMESPACE)["metadata"]["uid"],
        "configmap": b.get(configmaps, "settings", NAMESPACE)["metadata"]["uid"],
    }
    a_uid = a.get(namespaces, "kube-system")["metadata"]["uid"]
    run = next(json.loads(line) for line in (Path(workdir) / "journal.jsonl").read_text().splitlines()
               if json.loads(line)["event"] == "run")  # fmt: skip
    assert run["server"] == source_cluster.server and run["cluster_uid"] == a_uid

    # rollback with A's journal, pointed at B: refused, nothing deleted in B
    code = main(["apply", str(bundle), "--kubeconfig", target_cluster.kubeconfig, "--workdir", workdir, "--rollback"])
    err = capsys.readouterr().err
    assert code == 2, err
    assert source_cluster.server in err and a_uid in err and "nothing was deleted" in err
    assert "Traceback" not in err
    live_ns = b.get(namespaces, NAMESPACE)
    live_cm = b.get(configmaps, "settings", NAMESPACE)
    assert live_ns["metadata"]["uid"] == b_uids["namespace"] and "deletionTimestamp" not in live_ns["metadata"]
    assert live_cm["metadata"]["uid"] == b_uids["configmap"]

    # the same journal still rolls back in A
    code = main(["apply", str(bundle), "--kubeconfig", source_cluster.kubeconfig, "--workdir", workdir, "--rollback"])
    assert code == 0, capsys.readouterr().err
    with pytest.raises(NotFoundError):
        a.get(configmaps, "settings", NAMESPACE)
    target_cluster.kubectl("delete", "namespace", NAMESPACE, "--wait=false")
