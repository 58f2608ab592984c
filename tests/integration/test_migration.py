"""Migration end to end on real local clusters: the sample shop, resume after a blocked run, the CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import portkit
from portkit.migration import STEPS, MigrationBlocked, MigrationEvent
from portkit.testing import LocalCluster

pytestmark = pytest.mark.integration


def test_sample_shop_migrates_with_namespace_mapping(
    shop: LocalCluster, target_cluster: LocalCluster, shop_mappings: dict[str, Any], tmp_path: Path
) -> None:
    events: list[MigrationEvent] = []
    m = portkit.Migration(
        source=shop.cluster(),
        target=target_cluster.cluster(),
        namespaces=["shop"],
        target_provider="ionos",
        namespace_map={"shop": "shop-eu"},
        mappings=shop_mappings,
        workdir=tmp_path / "mig",
        on_event=events.append,
        timeout=120,
    )
    report = m.run()
    assert report.ok, report.to_text()
    assert report.completed == list(STEPS)
    assert report.source_provider == "aws"  # detected by the export
    assert [e.step for e in events if e.kind == "step_end"] == list(STEPS)
    # what arrived in the target, in the mapped namespace, translated
    target = target_cluster.cluster()
    web = target.get(target.resource_for("apps/v1", "Deployment"), "web", "shop-eu")
    assert web["spec"]["template"]["spec"]["containers"][0]["image"] == "registry.example.eu/shop/web:2.4.1"
    assert "nodeSelector" not in web["spec"]["template"]["spec"]
    pvc = target.get(target.resource_for("v1", "PersistentVolumeClaim"), "uploads", "shop-eu")
    assert pvc["spec"]["storageClassName"].startswith("ionos-")
    assert pvc["status"]["phase"] == "Bound"  # a new volume from the target's class, not the source's PV
    binding = target.get(
        target.resource_for("rbac.authorization.k8s.io/v1", "RoleBinding"), "web-config-reader", "shop-eu"
    )
    assert binding["subjects"][0]["namespace"] == "shop-eu"
    sa = target.get(target.resource_for("v1", "ServiceAccount"), "web", "shop-eu")
    assert not any(k.startswith("eks.amazonaws.com/") for k in sa["metadata"].get("annotations", {}))
    with pytest.raises(portkit.NotFoundError):
        target.resource_for("elbv2.k8s.aws/v1beta1", "TargetGroupBinding")
    # the report in every form
    assert report.objects_by_kind["Deployment"] == 2 and "PersistentVolume" not in report.objects_by_kind
    assert report.translation is not None and report.translation.manual_actions
    assert report.needs_attention
    data = json.loads(json.dumps(report.to_dict(), default=str))
    assert data["ok"] is True and data["completed"] == list(STEPS)
    assert "<table>" in report._repr_html_()
    assert "demo-only-not-a-real-password" not in report.to_text() + json.dumps(data, default=str)
    for name in ("export/manifest.yaml", "translated/manifest.yaml", "translation.json", "plan.json", "state.json"):
        assert (tmp_path / "mig" / name).exists(), name


def test_blocked_run_resumes_from_the_last_completed_step(
    shop: LocalCluster, target_cluster: LocalCluster, shop_mappings: dict[str, Any], tmp_path: Path
) -> None:
    workdir = tmp_path / "mig"
    mappings = {**shop_mappings, "ingress_class": "traefik"}  # the target has no such IngressClass yet

    def migration(events: list[MigrationEvent]) -> portkit.Migration:
        return portkit.Migration(
            source=shop.cluster(),
            target=target_cluster.cluster(),
            namespaces=["shop"],
            target_provider="ionos",
            namespace_map={"shop": "shop-resume"},
            mappings=mappings,
            workdir=workdir,
            on_event=events.append,
            timeout=120,
        )

    first: list[MigrationEvent] = []
    with pytest.raises(MigrationBlocked, match="IngressClass"):
        migration(first).run()
    assert json.loads((workdir / "state.json").read_text())["completed"] == [
        "export",
        "translate",
        "lint",
        "quiesce",
        "volumes",
    ]
    target = target_cluster.cluster()
    assert target.get_obj({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop-resume"}}) is None

    target_cluster.apply(
        [
            {
                "apiVersion": "networking.k8s.io/v1",
                "kind": "IngressClass",
                "metadata": {"name": "traefik"},
                "spec": {"controller": "traefik.io/ingress-controller"},
            }
        ]
    )
    second: list[MigrationEvent] = []
    report = migration(second).run()
    assert report.ok, report.to_text()
    assert [e.step for e in second if e.kind == "step_skipped"] == ["export", "translate", "lint", "quiesce", "volumes"]
    assert [e.step for e in second if e.kind == "step_end"] == ["plan", "apply", "wait", "verify", "verify_data"]
    ingress = target.get(target.resource_for("networking.k8s.io/v1", "Ingress"), "web", "shop-resume")
    assert ingress["spec"]["ingressClassName"] == "traefik"


def test_cli_migrate_json_and_exit_code(shop: LocalCluster, target_cluster: LocalCluster, tmp_path: Path) -> None:
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "portkit.cli",
            "migrate",
            "--from-kubeconfig",
            shop.kubeconfig,
            "--to-kubeconfig",
            target_cluster.kubeconfig,
            "-n",
            "shop",
            "--to",
            "ionos",
            "--namespace-map",
            "shop=shop-cli",
            "--map",
            "images:123456789012.dkr.ecr.eu-central-1.amazonaws.com/=registry.example.eu/",
            "--map",
            "images:public.ecr.aws/docker/library/=docker.io/library/",
            "--workdir",
            str(tmp_path / "mig"),
            "--timeout",
            "120",
            "-o",
            "json",
        ],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=600,
    )
    assert proc.returncode == 3, proc.stderr  # finished, with manual actions that need attention
    data = json.loads(proc.stdout)
    assert data["ok"] is True and data["needs_attention"] is True
    assert data["verify"]["ok"] is True
    assert "Traceback" not in proc.stderr
    assert "export" not in proc.stderr, "no progress output when stderr is not a terminal"


def test_cli_migrate_bad_input_is_one_paragraph(tmp_path: Path) -> None:
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "portkit.cli",
            "migrate",
            "--from-kubeconfig",
            str(tmp_path / "missing"),
            "--to-kubeconfig",
            str(tmp_path / "missing"),
            "-n",
            "shop",
            "--to",
            "ionos",
        ],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=60,
    )
    assert proc.returncode == 2
    assert proc.stderr.startswith("portkit: error: No kubeconfig at")
    assert "Traceback" not in proc.stderr
