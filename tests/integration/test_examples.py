"""examples/migrate.py, run as a user would: a subprocess against two real local clusters."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from portkit.migration import STEPS
from portkit.testing import LocalCluster

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
SHOP = ROOT / "examples" / "shop-eks"
SCRIPT = ROOT / "examples" / "migrate.py"


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args], capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=600
    )


def test_migrate_script_moves_the_shop(
    source_cluster: LocalCluster, target_cluster: LocalCluster, tmp_path: Path
) -> None:
    source_cluster.apply(SHOP / "source-platform")
    source_cluster.apply(SHOP / "app")
    target_cluster.apply(SHOP / "target-platform")
    mappings = tmp_path / "mappings.yaml"
    mappings.write_text("images:\n  public.ecr.aws/docker/library/: docker.io/library/\n")
    report = tmp_path / "report.json"
    proc = _run(
        "--from-kubeconfig", source_cluster.kubeconfig, "--to-kubeconfig", target_cluster.kubeconfig,
        "-n", "shop", "--to", "ionos", "--namespace-map", "shop=shop-example",
        "--map", "images:123456789012.dkr.ecr.eu-central-1.amazonaws.com/=registry.example.eu/",
        "--mappings", str(mappings), "--workdir", str(tmp_path / "mig"), "--timeout", "120",
        "--report", str(report),
    )  # fmt: skip
    # migrated, with manual actions (IRSA roles, the ACM certificate) that need attention
    assert proc.returncode == 3, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    # plain progress lines (stderr is not a terminal), one per step start and end
    for step in STEPS:
        assert f"[{step}] {step} started" in proc.stderr
        assert f"[{step}] {step} done in" in proc.stderr
    assert proc.stdout.startswith("Migration of shop: aws → ionos")
    data = json.loads(report.read_text())
    assert data["ok"] is True and data["needs_attention"] is True and data["completed"] == list(STEPS)
    assert data["objects_by_kind"]["Deployment"] == 2
    # and the shop is in the target, in the mapped namespace, translated with both mappings
    target = target_cluster.cluster()
    deployments = target.resource_for("apps/v1", "Deployment")
    web = target.get(deployments, "web", "shop-example")
    assert web["spec"]["template"]["spec"]["containers"][0]["image"] == "registry.example.eu/shop/web:2.4.1"
    db = target.get(target.resource_for("apps/v1", "StatefulSet"), "db", "shop-example")
    assert db["spec"]["template"]["spec"]["containers"][0]["image"].startswith("docker.io/library/")
    pvc = target.get(target.resource_for("v1", "PersistentVolumeClaim"), "uploads", "shop-example")
    assert pvc["spec"]["storageClassName"].startswith("ionos-") and pvc["status"]["phase"] == "Bound"


def test_migrate_script_usage_errors(tmp_path: Path) -> None:
    proc = _run("--to-kubeconfig", "x", "-n", "shop", "--to", "ionos", "--namespace-map", "shop")
    assert proc.returncode == 2
    assert proc.stderr.startswith("migrate.py: error: --namespace-map 'shop' is not of the form OLD=NEW")
    missing = tmp_path / "missing-kubeconfig"
    proc = _run("--from-kubeconfig", str(missing), "--to-kubeconfig", str(missing), "-n", "shop", "--to", "ionos",
                "--workdir", str(tmp_path / "mig"))  # fmt: skip
    assert proc.returncode == 2, proc.stderr
    assert str(missing) in proc.stderr and "Traceback" not in proc.stderr
