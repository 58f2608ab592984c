"""The policy gate against real local clusters: a policy violation in a translated bundle blocks the apply —
through the API (plan/apply), the CLI (exit code and JSON) and a Migration — and nothing reaches the target
until the violation is fixed or explicitly overridden. Uses the real opa binary (the cached build)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import portkit
from portkit.bundle import Bundle
from portkit.cli import main
from portkit.migration import MigrationBlocked
from portkit.policy import OpaUnavailableError, ensure_opa
from portkit.testing import LocalCluster

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
POLICIES = ROOT / "examples" / "policies"
SHOP = ROOT / "examples" / "shop-eks"
IMAGES = {
    "images": {
        "123456789012.dkr.ecr.eu-central-1.amazonaws.com/": "registry.example.eu/",
        "public.ecr.aws/docker/library/": "harbor.example.eu/library/",
    }
}


@pytest.fixture(scope="module", autouse=True)
def opa(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The cached OPA build, named in $PORTKIT_OPA for the CLI and the Migration (fails with the reason)."""
    try:
        binary = ensure_opa(progress=lambda message: None)
    except OpaUnavailableError as exc:
        pytest.fail(f"the opa binary could not be built: {exc}")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PORTKIT_OPA", str(binary))
        yield binary


def eks_objects(namespace: str) -> list[dict[str, Any]]:
    """A namespace as it runs on EKS: PSA baseline, an internet-facing NLB open to everyone."""
    return [
        {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {"name": namespace, "labels": {"pod-security.kubernetes.io/enforce": "baseline"}},
        },
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {
                "name": "web",
                "namespace": namespace,
                "annotations": {
                    "service.beta.kubernetes.io/aws-load-balancer-type": "external",
                    "service.beta.kubernetes.io/aws-load-balancer-scheme": "internet-facing",
                },
            },
            "spec": {"type": "LoadBalancer", "selector": {"app": "web"}, "ports": [{"port": 80, "targetPort": 8080}]},
        },
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "settings", "namespace": namespace},
            "data": {"color": "blue"},
        },
    ]


def translated(namespace: str) -> Bundle:
    return portkit.translate(Bundle.from_manifests(eks_objects(namespace)), source="aws", target="ionos").bundle


def namespace_exists(cluster: LocalCluster, name: str) -> bool:
    c = cluster.cluster()
    return c.get_obj({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}) is not None


def test_policy_violation_blocks_the_apply(target_cluster: LocalCluster) -> None:
    bundle = translated("pg-api")
    cluster = target_cluster.cluster()
    plan = portkit.plan(bundle, cluster, policies=POLICIES / "rego")
    policy_blockers = [b for b in plan.blockers if b.what == "policy"]
    assert {(str(b.refs[0]), b.name) for b in policy_blockers} == {
        ("Namespace pg-api", "data.psa.deny"),
        ("Service pg-api/web", "data.main.deny_open_loadbalancer"),
    }
    assert not plan.ok and plan.policy is not None and plan.policy.blocked
    assert "Namespace pg-api enforces Pod Security" in plan.to_text()
    assert plan.to_dict()["policy"]["violations"]
    with pytest.raises(portkit.ApplyError, match="Policy violation"):
        portkit.apply(plan)
    assert not namespace_exists(target_cluster, "pg-api")  # nothing was written

    # explicitly overridden: the violations become warnings and the apply goes ahead
    plan = portkit.plan(bundle, cluster, policies=POLICIES / "rego", allow_policy_violations=True)
    assert not [b for b in plan.blockers if b.what == "policy"] and plan.policy is not None
    assert any(w.startswith("policy violation (overridden): Namespace pg-api") for w in plan.warnings)
    result = portkit.apply(plan)
    assert result.ok
    assert namespace_exists(target_cluster, "pg-api")


def test_cli_apply_blocked_by_policy_exit_1_and_json(
    target_cluster: LocalCluster, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    directory = tmp_path / "bundle"
    translated("pg-cli").save(directory)
    k = target_cluster.kubeconfig
    args = [
        "apply",
        str(directory),
        "--kubeconfig",
        k,
        "--workdir",
        str(tmp_path / "w"),
        "-o",
        "json",
        "--policy",
        str(POLICIES / "rego" / "loadbalancer-source-ranges.rego"),
    ]
    code = main(args)
    data = json.loads(capsys.readouterr().out)
    assert code == 1
    assert [(b["what"], b["objects"]) for b in data["blockers"]] == [("policy", ["Service pg-cli/web"])]
    violation = data["policy"]["violations"][0]
    assert violation["object"] == "Service pg-cli/web" and violation["policy"] == "data.main.deny_open_loadbalancer"
    assert "open to everyone" in violation["message"]
    assert not namespace_exists(target_cluster, "pg-cli")

    code = main(["plan", str(directory), "--kubeconfig", k, "--policy", str(POLICIES / "rego")])
    text = capsys.readouterr().out
    assert code == 1 and "BLOCKED (2)" in text and "Policy violation: Namespace pg-cli" in text

    code = main([*args, "--allow-policy-violations"])
    data = json.loads(capsys.readouterr().out)
    assert code == 0, data
    assert namespace_exists(target_cluster, "pg-cli")


def test_migration_stops_at_policy_violations_then_goes_on_when_overridden(
    source_cluster: LocalCluster, target_cluster: LocalCluster, tmp_path: Path
) -> None:
    source_cluster.apply(SHOP / "source-platform")
    source_cluster.apply(SHOP / "app")
    target_cluster.apply(SHOP / "target-platform")
    workdir = tmp_path / "mig"

    def migration(**kwargs: Any) -> portkit.Migration:
        return portkit.Migration(
            source=source_cluster.cluster(),
            target=target_cluster.cluster(),
            namespaces=["shop"],
            target_provider="ionos",
            namespace_map={"shop": "shop-policy"},
            mappings=IMAGES,
            workdir=workdir,
            timeout=120,
            wait=False,
            **kwargs,
        )

    with pytest.raises(MigrationBlocked) as info:
        migration(policies=POLICIES).run()
    assert "policy violations" in str(info.value) and "Namespace shop-policy" in str(info.value)
    assert "allow_policy_violations=True" in str(info.value)
    state = json.loads((workdir / "state.json").read_text())
    assert state["completed"] == ["export", "translate"]
    lint = json.loads((workdir / "lint.json").read_text())
    assert {v["object"] for v in lint["policy"]["violations"]} == {"Namespace shop-policy"}  # mapped namespace
    assert not namespace_exists(target_cluster, "shop-policy")

    report = migration(policies=POLICIES, allow_policy_violations=True).run()
    assert report.ok, report.to_text()
    assert report.policy is not None and report.policy.overridden and report.needs_attention
    assert report.to_dict()["policy"]["violations"][0]["object"] == "Namespace shop-policy"
    assert "Violations (overridden)" in report.to_text()
    assert namespace_exists(target_cluster, "shop-policy")

    # resumed with other policies: the lint step checks again before anything else happens
    with pytest.raises(MigrationBlocked, match="policy violations"):
        migration(policies=POLICIES / "rego" / "psa-restricted.rego").run()
