"""The policy gate with the real ``opa`` binary: conftest-style Rego (v1 and v0), Gatekeeper templates and
constraints, what policies see, how the binary is found, and ``portkit lint --policy``.

The binary comes from :func:`portkit.policy.ensure_opa` (the cached build, built from its Go module on first
use): when it cannot be built the ``opa`` fixture fails with the reason; nothing is skipped.
"""

from __future__ import annotations

import json
import os
import stat
import textwrap
from pathlib import Path
from typing import Any

import pytest

from portkit.cli import main
from portkit.policy import (
    OpaUnavailableError,
    PolicyInputError,
    PolicyResult,
    check_policies,
    ensure_opa,
    find_opa,
    load_policies,
)
from portkit.policy import engine as engine_module
from portkit.policy.gatekeeper import inventory, matches, review
from portkit.policy.sources import Constraint, policy_digest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples" / "policies"
SHOP = ROOT / "examples" / "shop-eks" / "app"


@pytest.fixture(scope="session")
def opa() -> Path:
    """The cached OPA build (built on first use); a failure to build fails the test with the reason."""
    try:
        return ensure_opa(progress=lambda message: None)
    except OpaUnavailableError as exc:
        pytest.fail(f"the opa binary could not be built: {exc}")


def write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip())
    return path


def service(name: str, namespace: str = "shop", **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"type": "ClusterIP", **spec},
    }


def pod(name: str, image: str, namespace: str = "shop", labels: dict[str, str] | None = None) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": namespace, "labels": labels or {}},
        "spec": {"containers": [{"name": "main", "image": image}]},
    }


LB_V1 = """
    package main

    deny contains msg if {
        input.kind == "Service"
        input.spec.type == "LoadBalancer"
        not input.spec.loadBalancerSourceRanges
        msg := sprintf("%s is an open LoadBalancer", [input.metadata.name])
    }

    warn_nodeport contains msg if {
        input.kind == "Service"
        input.spec.type == "NodePort"
        msg := "NodePort"
    }

    violation contains {"msg": "no owner", "owner": "missing"} if {
        not input.metadata.labels.owner
        input.kind == "Service"
    }

    helper := 1
"""

OLD_V0 = """
    package k8s.legacy

    deny[msg] {
        input.kind == "Pod"
        image := input.spec.containers[_].image
        not startswith(image, "registry.example.eu/")
        msg := sprintf("image %v is not from the EU registry", [image])
    }
"""


# -- conftest-style Rego ------------------------------------------------------------------------------
def test_v1_rules_deny_violation_warn_and_suffixes_are_reported_per_object(opa: Path, tmp_path: Path) -> None:
    write(tmp_path, "lb.rego", LB_V1)
    objs = [
        service("open", type="LoadBalancer"),
        service("np", type="NodePort"),
        {
            **service("fine", type="LoadBalancer", loadBalancerSourceRanges=["10.0.0.0/8"]),
            "metadata": {"name": "fine", "namespace": "shop", "labels": {"owner": "me"}},
        },
    ]
    result = check_policies(objs, tmp_path, opa=opa)
    found = {(v.ref.name, v.policy, v.action, v.message) for v in result.violations}
    assert found == {
        ("open", "data.main.deny", "deny", "open is an open LoadBalancer"),
        ("open", "data.main.violation", "deny", "no owner"),
        ("np", "data.main.violation", "deny", "no owner"),
        ("np", "data.main.warn_nodeport", "warn", "NodePort"),
    }
    details = [v.details for v in result.violations if v.policy == "data.main.violation"]
    assert details == [{"owner": "missing"}, {"owner": "missing"}]  # the rule's other keys are kept
    assert result.blocked and not result.ok and result.objects == 3 and result.policies == ("main",)
    assert [str(v.ref) for v in result.violations][:2] == ["Service shop/open", "Service shop/open"]  # by object
    text = result.to_text()
    assert "VIOLATIONS (3, on 2 objects)" in text and "Service shop/np" in text and "[data.main.warn_nodeport]" in text
    data = json.loads(json.dumps(result.to_dict()))
    assert len(data["violations"]) == 3 and len(data["warnings"]) == 1
    assert data["violations"][0]["object"] == "Service shop/open"
    assert data["violations"][0]["source"].endswith("lb.rego")
    assert PolicyResult.from_dict(data).to_dict() == data  # read back by a resumed migration


def test_v0_policies_are_read_like_opa_v0_compatible_next_to_v1_files(opa: Path, tmp_path: Path) -> None:
    write(tmp_path, "lb.rego", LB_V1)
    write(tmp_path, "legacy/images.rego", OLD_V0)
    # v1 keywords through `import future.keywords` and a built-in OPA 1.0 removed (re_match): parses as v1,
    # but only compiles as v0 — detected per file by compiling, not by guessing from the text
    write(
        tmp_path,
        "legacy/names.rego",
        """
        package k8s.names

        import future.keywords.contains
        import future.keywords.if

        deny contains msg if {
            re_match("^tmp-", input.metadata.name)
            msg := "temporary name"
        }
    """,
    )
    objs = [pod("tmp-web", "docker.io/nginx"), pod("api", "registry.example.eu/api:1")]
    result = check_policies(objs, tmp_path, opa=opa)
    assert {(v.ref.name, v.policy, v.message) for v in result.violations} == {
        ("tmp-web", "data.k8s.legacy.deny", "image docker.io/nginx is not from the EU registry"),
        ("tmp-web", "data.k8s.names.deny", "temporary name"),
    }
    assert set(result.policies) == {"main", "k8s.legacy", "k8s.names"}


def test_rego_that_is_neither_v1_nor_v0_is_an_input_error_naming_the_file_and_line(opa: Path, tmp_path: Path) -> None:
    write(tmp_path, "ok.rego", LB_V1)
    broken = write(
        tmp_path,
        "broken.rego",
        """
        package broken

        deny contains msg if {
            msg := input.metadata.name +
        }
    """,
    )
    with pytest.raises(PolicyInputError) as info:
        check_policies([service("a")], tmp_path, opa=opa)
    message = str(info.value)
    assert f"{broken}:" in message and "neither as Rego v1" in message and "rego_parse_error" in message
    assert "opa check" in message  # says what to do next


def test_unsafe_rego_is_reported_with_opa_compile_error(opa: Path, tmp_path: Path) -> None:
    bad = write(
        tmp_path,
        "unsafe.rego",
        """
        package unsafe

        deny contains msg if {
            msg := sprintf("%v", [undefined_var])
        }
    """,
    )
    with pytest.raises(PolicyInputError) as info:
        check_policies([service("a")], tmp_path, opa=opa)
    assert f"{bad}:" in str(info.value) and "unsafe" in str(info.value)


def test_namespace_selection_like_conftest(opa: Path, tmp_path: Path) -> None:
    write(tmp_path, "lb.rego", LB_V1)
    write(tmp_path, "legacy.rego", OLD_V0)
    objs = [service("open", type="LoadBalancer"), pod("p", "docker.io/nginx")]
    only_main = check_policies(objs, tmp_path, namespaces=["main"], opa=opa)
    assert {v.policy.rpartition(".")[0] for v in only_main.violations} == {"data.main"}
    only_legacy = check_policies(objs, tmp_path, namespaces=["data.k8s.legacy"], opa=opa)
    assert {v.policy for v in only_legacy.violations} == {"data.k8s.legacy.deny"}
    with pytest.raises(PolicyInputError, match="No Rego package nope"):
        check_policies(objs, tmp_path, namespaces=["nope"], opa=opa)


def test_conftest_exceptions_and_rule_values(opa: Path, tmp_path: Path) -> None:
    write(
        tmp_path,
        "p.rego",
        """
        package main

        deny_latest contains "latest tag" if endswith(input.spec.containers[_].image, ":latest")
        deny_flag if input.metadata.labels.bad == "yes"
        deny_complete := "complete rule" if input.metadata.labels.complete == "yes"
        deny_false := false
        exception contains rules if {
            input.metadata.name == "legacy"
            rules := ["latest"]
        }
    """,
    )
    objs = [pod("web", "nginx:latest", labels={"bad": "yes", "complete": "yes"}), pod("legacy", "nginx:latest")]
    found = sorted((v.ref.name, v.policy, v.message) for v in check_policies(objs, tmp_path, opa=opa).violations)
    assert found == [
        ("web", "data.main.deny_complete", "complete rule"),
        ("web", "data.main.deny_flag", "deny_flag is true"),
        ("web", "data.main.deny_latest", "latest tag"),
    ]  # "legacy" is excepted from deny_latest the way conftest's exception rules work


def test_secret_values_never_reach_the_policies(opa: Path, tmp_path: Path) -> None:
    write(
        tmp_path,
        "leak.rego",
        """
        package main

        deny contains msg if {
            input.kind == "Secret"
            msg := sprintf("secret content: %v %v", [input.data, input.stringData])
        }
    """,
    )
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "db", "namespace": "shop"},
        "data": {"password": "c3VwZXItc2VjcmV0LXZhbHVl"},
        "stringData": {"token": "plain-secret-token"},
    }
    result = check_policies([secret], tmp_path, opa=opa)
    assert len(result.violations) == 1
    out = result.to_text() + json.dumps(result.to_dict())
    assert "c3VwZXItc2VjcmV0LXZhbHVl" not in out and "plain-secret-token" not in out
    assert "password" in out and "<redacted>" in out  # keys stay readable
    assert secret["stringData"] == {"token": "plain-secret-token"}  # the caller's object is untouched


def test_whole_bundle_is_one_opa_eval(opa: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path, "lb.rego", LB_V1)
    write(tmp_path, "legacy.rego", OLD_V0)
    for name in ("template.yaml", "samples/repo-must-be-openpolicyagent/constraint.yaml"):
        target = tmp_path / "gk" / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text((GK / "allowedrepos" / name).read_text())
    calls: list[str] = []
    real = engine_module._run

    def spy(binary: Path, args: Any, cwd: Path) -> Any:
        calls.append(args[0])
        return real(binary, args, cwd)

    monkeypatch.setattr(engine_module, "_run", spy)
    objs = [pod(f"p{i}", "docker.io/nginx", namespace="default") for i in range(400)]
    objs += [service(f"s{i}", type="LoadBalancer") for i in range(100)]
    result = check_policies(objs, tmp_path, opa=opa)
    assert calls == ["check", "check", "inspect", "eval"]  # check (files as v1, then v0 ones), inspect, one eval
    assert len([v for v in result.violations if v.policy == "data.k8s.legacy.deny"]) == 400
    assert len([v for v in result.violations if v.engine == "gatekeeper"]) == 400
    assert len([v for v in result.violations if v.policy == "data.main.deny"]) == 100


def test_no_policies_and_unknown_kinds(opa: Path, tmp_path: Path) -> None:
    (tmp_path / "README.md").write_text("nothing here")
    write(tmp_path, "cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: data}\n")
    with pytest.raises(PolicyInputError, match="No policies in"):
        check_policies([service("a")], tmp_path, opa=opa)
    with pytest.raises(PolicyInputError, match="does not exist"):
        check_policies([service("a")], tmp_path / "missing", opa=opa)
    write(
        tmp_path,
        "kyverno.yaml",
        """
        apiVersion: kyverno.io/v1
        kind: ClusterPolicy
        metadata:
          name: require-labels
        spec: {}
    """,
    )
    result = check_policies([service("a")], tmp_path, opa=opa)
    assert result.ok and result.needs_attention  # nothing checked is never silent
    assert "Kyverno ClusterPolicy require-labels" in result.not_evaluated[0]
    assert result.ignored == (f"{tmp_path / 'cm.yaml'}: ConfigMap data",)  # the README is no policy: not listed


# -- Gatekeeper -----------------------------------------------------------------------------------------
GK = ROOT / "tests" / "fixtures" / "gatekeeper-library" / "library" / "general"


def constraint(match: dict[str, Any]) -> Constraint:
    return Constraint(kind="K", name="c", origin="test", match=match)


def test_gatekeeper_match_semantics() -> None:
    ns_labels = {"prod": {"env": "prod"}, "dev": {"env": "dev"}}
    web = pod("web", "x", namespace="prod", labels={"app": "web"})
    ns = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "prod", "labels": {"env": "prod"}}}
    crole = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": "r"}}
    deploy = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d", "namespace": "dev"}}
    assert matches(constraint({}), web, ns_labels)
    assert matches(constraint({"kinds": [{"apiGroups": [""], "kinds": ["Pod"]}]}), web, ns_labels)
    assert not matches(constraint({"kinds": [{"apiGroups": [""], "kinds": ["Pod"]}]}), deploy, ns_labels)
    assert matches(constraint({"kinds": [{"apiGroups": ["*"], "kinds": ["Deployment"]}]}), deploy, ns_labels)
    assert not matches(
        constraint({"kinds": [{"apiGroups": ["extensions"], "kinds": ["Deployment"]}]}), deploy, ns_labels
    )
    assert matches(constraint({"namespaces": ["pr*"]}), web, ns_labels)
    assert matches(constraint({"namespaces": ["*od"]}), web, ns_labels)
    assert not matches(constraint({"namespaces": ["dev"]}), web, ns_labels)
    assert matches(constraint({"namespaces": ["prod"]}), ns, ns_labels)  # a Namespace by its own name
    assert matches(constraint({"namespaces": ["dev"]}), crole, ns_labels)  # cluster-scoped: not disqualified
    assert not matches(constraint({"excludedNamespaces": ["prod"]}), web, ns_labels)
    assert not matches(constraint({"scope": "Cluster"}), web, ns_labels)
    assert matches(constraint({"scope": "Cluster"}), ns, ns_labels)
    assert not matches(constraint({"scope": "Namespaced"}), crole, ns_labels)
    assert matches(constraint({"labelSelector": {"matchLabels": {"app": "web"}}}), web, ns_labels)
    assert not matches(
        constraint({"labelSelector": {"matchExpressions": [{"key": "app", "operator": "NotIn", "values": ["web"]}]}}),
        web,
        ns_labels,
    )
    assert matches(
        constraint({"labelSelector": {"matchExpressions": [{"key": "tier", "operator": "DoesNotExist"}]}}),
        web,
        ns_labels,
    )
    assert matches(constraint({"namespaceSelector": {"matchLabels": {"env": "prod"}}}), web, ns_labels)
    assert not matches(constraint({"namespaceSelector": {"matchLabels": {"env": "prod"}}}), deploy, ns_labels)
    assert matches(constraint({"namespaceSelector": {"matchLabels": {"env": "prod"}}}), crole, ns_labels)
    assert matches(constraint({"name": "we*"}), web, ns_labels) and not matches(constraint({"name": "d"}), web, {})
    with pytest.raises(PolicyInputError, match="operator"):
        matches(constraint({"labelSelector": {"matchExpressions": [{"key": "a", "operator": "Gt"}]}}), web, {})


def test_gatekeeper_review_and_inventory_shapes() -> None:
    deploy = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d", "namespace": "dev"}}
    ns = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "dev"}}
    r = review(deploy)
    assert r["kind"] == {"group": "apps", "version": "v1", "kind": "Deployment"}
    assert r["object"] is deploy and r["namespace"] == "dev" and r["name"] == "d" and r["operation"] == "CREATE"
    assert "namespace" not in review(ns)
    inv = inventory([deploy, ns])
    assert inv["namespace"]["dev"]["apps/v1"]["Deployment"]["d"] is deploy
    assert inv["cluster"]["v1"]["Namespace"]["dev"] is ns


def test_enforcement_actions_and_match_in_a_real_evaluation(opa: Path, tmp_path: Path) -> None:
    template = (GK / "requiredlabels" / "template.yaml").read_text()
    (tmp_path / "template.yaml").write_text(template)
    write(
        tmp_path,
        "constraints.yaml",
        """
        apiVersion: constraints.gatekeeper.sh/v1beta1
        kind: K8sRequiredLabels
        metadata:
          name: owner-in-prod
        spec:
          match:
            kinds: [{apiGroups: [""], kinds: ["Pod"]}]
            namespaceSelector: {matchLabels: {env: prod}}
          parameters:
            labels: [{key: owner}]
        ---
        apiVersion: constraints.gatekeeper.sh/v1beta1
        kind: K8sRequiredLabels
        metadata:
          name: team-everywhere
        spec:
          enforcementAction: warn
          match:
            kinds: [{apiGroups: [""], kinds: ["Pod"]}]
            excludedNamespaces: ["kube-*"]
          parameters:
            labels: [{key: team}]
        ---
        apiVersion: constraints.gatekeeper.sh/v1beta1
        kind: K8sRequiredLabels
        metadata:
          name: cost-center-audit
        spec:
          enforcementAction: dryrun
          parameters:
            labels: [{key: cost-center}]
    """,
    )
    objs = [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "prod", "labels": {"env": "prod"}}},
        pod("a", "x", namespace="prod"),
        pod("b", "x", namespace="dev", labels={"team": "t", "cost-center": "1"}),
        pod("c", "x", namespace="kube-system", labels={"cost-center": "1"}),
    ]
    result = check_policies(objs, tmp_path, opa=opa)
    found = sorted((v.ref.name, v.policy, v.action) for v in result.violations)
    assert found == [
        ("a", "K8sRequiredLabels/cost-center-audit", "dryrun"),
        ("a", "K8sRequiredLabels/owner-in-prod", "deny"),
        ("a", "K8sRequiredLabels/team-everywhere", "warn"),
        ("prod", "K8sRequiredLabels/cost-center-audit", "dryrun"),
    ]
    deny = next(v for v in result.violations if v.action == "deny")
    assert deny.engine == "gatekeeper" and "owner" in deny.message and deny.details == {"missing_labels": ["owner"]}
    assert [v.ref.name for v in result.denied] == ["a"] and len(result.warned) == 1
    assert "Dry-run findings (not enforced)" in result.to_text()


def test_gatekeeper_policy_errors(opa: Path, tmp_path: Path) -> None:
    write(
        tmp_path,
        "c.yaml",
        """
        apiVersion: constraints.gatekeeper.sh/v1beta1
        kind: K8sMissing
        metadata: {name: nope}
        spec: {}
    """,
    )
    with pytest.raises(PolicyInputError, match="no ConstraintTemplate defining the kind K8sMissing"):
        load_policies(tmp_path)
    (tmp_path / "c.yaml").unlink()
    write(
        tmp_path,
        "cel.yaml",
        """
        apiVersion: templates.gatekeeper.sh/v1
        kind: ConstraintTemplate
        metadata: {name: celonly}
        spec:
          crd: {spec: {names: {kind: CelOnly}}}
          targets:
          - target: admission.k8s.gatekeeper.sh
            code:
            - engine: K8sNativeValidation
              source: {validations: [{expression: "true"}]}
        ---
        apiVersion: constraints.gatekeeper.sh/v1beta1
        kind: CelOnly
        metadata: {name: cel-constraint}
        spec: {}
    """,
    )
    result = check_policies([pod("a", "x")], tmp_path, opa=opa)
    assert result.not_evaluated and "CelOnly/cel-constraint are not checked" in result.not_evaluated[0]
    assert result.needs_attention


# -- where opa comes from -------------------------------------------------------------------------------
def fake_opa(path: Path, version: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"#!/bin/sh\necho 'Version: {version}'\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


def test_find_opa_order(opa: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    old = fake_opa(tmp_path / "old" / "opa", "0.70.0")
    new = fake_opa(tmp_path / "new" / "opa", "1.5.0")
    monkeypatch.delenv("PORTKIT_OPA", raising=False)
    monkeypatch.setenv("PATH", f"{old.parent}{os.pathsep}{os.environ['PATH']}")
    assert find_opa(build=False) == opa  # an OPA 0.x on PATH is passed over for the cached 1.x build
    monkeypatch.setenv("PATH", f"{new.parent}{os.pathsep}{os.environ['PATH']}")
    assert find_opa(build=False) == new  # an OPA 1.x on PATH is used
    monkeypatch.setenv("PORTKIT_OPA", str(old))
    with pytest.raises(OpaUnavailableError, match=r"needs OPA 1\.0 or newer"):
        find_opa(build=False)  # an explicit choice is never passed over silently
    monkeypatch.setenv("PORTKIT_OPA", str(tmp_path / "missing"))
    with pytest.raises(OpaUnavailableError, match="Install OPA"):
        find_opa(build=False)
    monkeypatch.setenv("PORTKIT_OPA", str(opa))
    assert find_opa(build=False) == opa


def test_missing_opa_says_what_to_install(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PORTKIT_OPA", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))  # no opa and no go
    monkeypatch.setenv("PORTKIT_CACHE_DIR", str(tmp_path / "cache"))
    with pytest.raises(OpaUnavailableError) as info:
        find_opa(build=True)
    assert "no Go to build one" in str(info.value) and "go install github.com/open-policy-agent/opa@" in str(info.value)


def test_policy_digest_follows_the_files(tmp_path: Path) -> None:
    write(tmp_path, "a.rego", LB_V1)
    first = policy_digest(tmp_path)
    assert first == policy_digest(tmp_path) and policy_digest(None) is None
    assert policy_digest(tmp_path, ["main"]) != first
    write(tmp_path, "a.rego", LB_V1 + "\n# changed\n")
    assert policy_digest(tmp_path) != first


# -- the shipped examples and the CLI -----------------------------------------------------------------
def test_example_policies_on_the_translated_sample_shop(opa: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from portkit.bundle import Bundle
    from portkit.translate import translate

    monkeypatch.setenv("PORTKIT_OPA", str(opa))
    t = translate(
        Bundle.from_manifests(SHOP),
        source="aws",
        target="ionos",
        mappings={"images": {"123456789012.dkr.ecr.eu-central-1.amazonaws.com/": "registry.example.eu/"}},
    )
    result = check_policies(t.bundle, EXAMPLES)
    found = {(str(v.ref), v.policy) for v in result.violations}
    assert ("Namespace shop", "data.psa.deny") in found  # baseline, not restricted
    assert ("StatefulSet.apps shop/db", "PortkitAllowedRegistries/images-from-eu-registry") in found  # public.ecr
    assert ("Deployment.apps shop/web", "PortkitAllowedRegistries/images-from-eu-registry") not in found  # mapped
    assert ("Service shop/web", "data.main.warn_wide_source_range") in found
    assert set(result.policies) == {"main", "psa", "PortkitAllowedRegistries/images-from-eu-registry"}


def test_cli_lint_policy_violations_exit_1_with_json(
    opa: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PORTKIT_OPA", str(opa))
    code = main(["lint", str(SHOP), "--from", "aws", "--to", "ionos", "--policy", str(EXAMPLES), "-o", "json"])
    data = json.loads(capsys.readouterr().out)
    assert code == 1
    assert data["policy"]["blocked"] is True and "changes" in data  # the translation report is still all there
    objects = {v["object"] for v in data["policy"]["violations"]}
    assert {"Namespace shop", "Deployment.apps shop/web", "StatefulSet.apps shop/db"} <= objects
    assert all(v["message"] for v in data["policy"]["violations"])
    # text output lists them per object
    psa = str(EXAMPLES / "rego" / "psa-restricted.rego")
    code = main(["lint", str(SHOP), "--from", "aws", "--to", "ionos", "--policy", psa])
    text = capsys.readouterr().out
    assert code == 1 and "VIOLATIONS (1, on 1 object):" in text and "Namespace shop enforces Pod Security" in text


def test_cli_lint_policy_warnings_only_exit_3_and_no_policy_is_null(
    opa: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    monkeypatch.setenv("PORTKIT_OPA", str(opa))
    write(
        tmp_path,
        "w.rego",
        """
        package main

        warn contains "a ConfigMap" if input.kind == "ConfigMap"
    """,
    )
    app = tmp_path / "app.yaml"
    app.write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: n}\ndata: {a: b}\n")
    policy = str(tmp_path / "w.rego")
    code = main(["lint", str(app), "--from", "aws", "--to", "ionos", "--policy", policy, "-o", "json"])
    data = json.loads(capsys.readouterr().out)
    assert code == 3 and data["policy"]["ok"] is True and len(data["policy"]["warnings"]) == 1
    code = main(["lint", str(app), "--from", "aws", "--to", "ionos", "-o", "json"])
    assert code == 0 and json.loads(capsys.readouterr().out)["policy"] is None


def test_cli_lint_bad_policy_is_a_usage_error(
    opa: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    monkeypatch.setenv("PORTKIT_OPA", str(opa))
    write(tmp_path, "bad.rego", "package x\n\ndeny contains msg if {\n")
    code = main(["lint", str(SHOP), "--from", "aws", "--to", "ionos", "--policy", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 2 and "bad.rego" in err and "Traceback" not in err


def test_public_entry_points_take_policies() -> None:
    import inspect

    import portkit

    for fn, names in (
        (portkit.plan, ("policies", "policy_namespaces", "allow_policy_violations")),
        (portkit.Migration, ("policies", "policy_namespaces", "allow_policy_violations")),
    ):
        params = inspect.signature(fn).parameters
        for name in names:
            assert params[name].default in (None, False), (fn, name)


def test_plan_gate_lists_violations_as_blockers_and_summarises_past_fifty(
    opa: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from portkit.replay.plan import _check_policies

    monkeypatch.setenv("PORTKIT_OPA", str(opa))
    write(tmp_path, "lb.rego", LB_V1)
    objs = [service(f"s{i:02d}", type="LoadBalancer") for i in range(60)]
    blockers: list[Any] = []
    warnings: list[str] = []
    result = _check_policies(objs, tmp_path, ["main"], False, blockers=blockers, warnings=warnings)
    assert result is not None and len(result.denied) == 120  # deny and violation for each
    assert len(blockers) == 51 and all(b.what == "policy" for b in blockers)
    assert blockers[0].message == "Policy violation: Service shop/s00: [data.main.deny] s00 is an open LoadBalancer"
    assert blockers[-1].name == "70 more" and len(blockers[-1].refs) == 20
    blockers.clear()
    result = _check_policies(objs, tmp_path, None, True, blockers=blockers, warnings=warnings)
    assert not blockers and result is not None and result.overridden and not result.blocked
    assert len(warnings) == 51 and warnings[-1].endswith("overridden.")
