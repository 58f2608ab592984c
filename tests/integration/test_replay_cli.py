"""``portkit plan`` and ``portkit apply`` against a real local API server."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from portkit.bundle import Bundle
from portkit.cli import main
from portkit.testing import LocalCluster

pytestmark = pytest.mark.integration


def bundle_objects(namespace: str, storage_class: str = "ionos-enterprise-ssd") -> list[dict[str, Any]]:
    return [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}},
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "settings", "namespace": namespace},
            "data": {"color": "blue"},
        },
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "db", "namespace": namespace},
            "stringData": {"password": "cli-secret-value"},
        },
        {
            "apiVersion": "v1",
            "kind": "PersistentVolumeClaim",
            "metadata": {"name": "data", "namespace": namespace},
            "spec": {
                "accessModes": ["ReadWriteOnce"],
                "storageClassName": storage_class,
                "resources": {"requests": {"storage": "1Gi"}},
            },
        },
    ]


def run_json(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict[str, Any]]:
    code = main(list(argv))
    out = capsys.readouterr().out
    return code, json.loads(out)


def test_cli_plan_apply_reapply(
    target_cluster: LocalCluster, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    directory = tmp_path / "bundle"
    Bundle(bundle_objects("rp-cli")).save(directory)
    k = target_cluster.kubeconfig
    workdir = str(tmp_path / "work")

    code, planned = run_json(
        capsys, "plan", str(directory), "--kubeconfig", k, "--namespace-map", "rp-cli=rp-cli-eu", "-o", "json"
    )
    assert code in (0, 3), planned
    assert planned["counts"]["create"] == 4 and planned["ok"]
    assert {a["ref"]["namespace"] for a in planned["actions"]} == {"", "rp-cli-eu"}

    code, applied = run_json(
        capsys,
        "apply",
        str(directory),
        "--kubeconfig",
        k,
        "--namespace-map",
        "rp-cli=rp-cli-eu",
        "--workdir",
        workdir,
        "-o",
        "json",
    )
    assert code == 0, applied
    assert applied["counts"]["created"] == 4 and applied["writes"] == 4

    code, again = run_json(
        capsys,
        "apply",
        str(directory),
        "--kubeconfig",
        k,
        "--namespace-map",
        "rp-cli=rp-cli-eu",
        "--workdir",
        workdir,
        "-o",
        "json",
    )
    assert code == 0 and again["writes"] == 0 and again["counts"]["unchanged"] == 4

    code = main(
        ["apply", str(directory), "--kubeconfig", k, "--namespace-map", "rp-cli=rp-cli-eu", "--workdir", workdir]
    )
    text = capsys.readouterr().out
    assert code == 0 and "4 unchanged" in text and "cli-secret-value" not in text

    code, undone = run_json(
        capsys, "apply", str(directory), "--kubeconfig", k, "--workdir", workdir, "--rollback", "-o", "json"
    )
    assert code == 0 and len(undone["deleted"]) == 4


def test_cli_plan_blocked_exits_1_and_names_the_blocker(
    target_cluster: LocalCluster, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    directory = tmp_path / "bundle"
    Bundle(bundle_objects("rp-cli-blocked", storage_class="gp3")).save(directory)
    code = main(["plan", str(directory), "--kubeconfig", target_cluster.kubeconfig])
    out = capsys.readouterr().out
    assert code == 1
    assert "BLOCKED" in out and "'gp3'" in out
    code = main(["apply", str(directory), "--kubeconfig", target_cluster.kubeconfig, "--workdir", str(tmp_path / "w")])
    assert code == 1
    assert "'gp3'" in capsys.readouterr().out
    cluster = target_cluster.cluster()
    names = {n["metadata"]["name"] for n in cluster.list(cluster.resource_for("v1", "Namespace"))}
    assert "rp-cli-blocked" not in names


def test_cli_bad_namespace_map_is_a_usage_error(
    target_cluster: LocalCluster, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    directory = tmp_path / "bundle"
    Bundle(bundle_objects("rp-cli-x")).save(directory)
    code = main(["plan", str(directory), "--kubeconfig", target_cluster.kubeconfig, "--namespace-map", "nonsense"])
    assert code == 2
    assert "OLD=NEW" in capsys.readouterr().err
