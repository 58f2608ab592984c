"""User rules: Velero resource-modifier format, JSON patches (with test), merge and strategic patches."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import pytest

from portkit.errors import TranslationError
from portkit.translate.rules import apply_json_patch, load_rules, merge_patch, resource_name, strategic_merge

# the module, not the function `portkit.translate` that the package exports
T = importlib.import_module("portkit.translate")

VELERO_FILE = """\
version: v1
resourceModifierRules:
- conditions:
    groupResource: persistentvolumeclaims
    resourceNameRegex: "^mysql.*$"
    namespaces:
    - bar
    - foo
    labelSelector:
      matchLabels:
        foo: bar
  patches:
  - operation: test
    path: "/spec/storageClassName"
    value: "premium"
  - operation: replace
    path: "/spec/storageClassName"
    value: "premium-eu"
- conditions:
    groupResource: deployments.apps
    matches:
    - path: /spec/replicas
      value: "3"
  mergePatches:
  - patchData: |
      {"metadata": {"annotations": {"moved": "true"}}}
- conditions:
    groupResource: "*.apps"
    resourceNameRegex: "^web$"
  strategicPatches:
  - patchData: |
      spec:
        template:
          spec:
            containers:
            - name: web
              resources: {limits: {memory: 1Gi}}
"""


def claim(name: str, ns: str, cls: str, labels: dict[str, str] | None = None) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": name, "namespace": ns, "labels": labels or {"foo": "bar"}},
        "spec": {
            "storageClassName": cls,
            "accessModes": ["ReadWriteOnce"],
            "resources": {"requests": {"storage": "1Gi"}},
        },
    }


def web(replicas: int = 3) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "foo"},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "web", "image": "nginx"}, {"name": "side", "image": "busybox"}]},
            },
        },
    }


def test_velero_file_is_accepted_as_it_is(tmp_path: Path) -> None:
    path = tmp_path / "modifiers.yaml"
    path.write_text(VELERO_FILE)
    objs = [
        claim("mysql-0", "foo", "premium"),
        claim("mysql-1", "foo", "standard"),
        claim("mysql-2", "other", "premium"),
        claim("pg", "foo", "premium"),
        claim("mysql-3", "bar", "premium", {"foo": "baz"}),
        web(),
    ]
    t = T.translate(objs, source="ionos", target="ionos", rules=str(path))
    got = {o["metadata"]["name"]: o for o in t.bundle.objects}
    assert got["mysql-0"]["spec"]["storageClassName"] == "premium-eu"
    assert got["mysql-1"]["spec"]["storageClassName"] == "standard"  # test op failed: rule skipped
    assert got["mysql-2"]["spec"]["storageClassName"] == "premium"  # namespace not selected
    assert got["pg"]["spec"]["storageClassName"] == "premium"  # name regex
    assert got["mysql-3"]["spec"]["storageClassName"] == "premium"  # label selector
    assert got["web"]["metadata"]["annotations"] == {"moved": "true"}
    containers = got["web"]["spec"]["template"]["spec"]["containers"]
    assert containers[0] == {"name": "web", "image": "nginx", "resources": {"limits": {"memory": "1Gi"}}}
    assert containers[1] == {"name": "side", "image": "busybox"}
    rule_changes = [c for c in t.changes if c.translator == "rules"]
    assert {c.ref.name for c in rule_changes} == {"mysql-0", "web"}
    assert any(
        c.path == "/spec/storageClassName" and c.old == "premium" and c.new == "premium-eu" for c in rule_changes
    )


def test_velero_configmap_is_accepted() -> None:
    cm = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "m", "namespace": "velero"},
        "data": {"rules.yaml": VELERO_FILE},
    }
    assert len(load_rules(cm)) == 3
    with pytest.raises(TranslationError, match="exactly one data key"):
        load_rules({"kind": "ConfigMap", "data": {"a": VELERO_FILE, "b": VELERO_FILE}})


def test_matches_condition_does_not_apply_when_value_differs() -> None:
    t = T.translate([web(replicas=2)], source="ionos", target="ionos", rules=VELERO_FILE)
    assert "annotations" not in t.bundle.objects[0]["metadata"]


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ({"patches": [{"operation": "replace", "path": "/a", "value": 1}]}, r"rule 1: conditions: is required"),
        (
            {"name": "fix-sc", "conditions": {}, "patches": [{"operation": "replace", "path": "/a", "value": 1}]},
            r"rule 1 \(fix-sc\): conditions.groupResource",
        ),
        (
            {"conditions": {"groupResource": "pods"}, "patches": [{"operation": "frobnicate", "path": "/a"}]},
            r"patches\[0\].operation",
        ),
        (
            {"conditions": {"groupResource": "pods"}, "patches": [{"operation": "replace", "path": "a", "value": 1}]},
            r"patches\[0\].path",
        ),
        (
            {"conditions": {"groupResource": "pods"}, "patches": [{"operation": "replace", "path": "/a"}]},
            r"patches\[0\].value",
        ),
        (
            {"conditions": {"groupResource": "pods"}, "patches": [{"operation": "move", "path": "/a"}]},
            r"patches\[0\].from",
        ),
        (
            {
                "conditions": {"groupResource": "pods", "resourceNameRegex": "(["},
                "patches": [{"operation": "remove", "path": "/a"}],
            },
            "resourceNameRegex",
        ),
        (
            {"conditions": {"groupResource": "pods", "colour": 1}, "patches": [{"operation": "remove", "path": "/a"}]},
            "conditions.colour",
        ),
        ({"conditions": {"groupResource": "pods"}}, "needs patches"),
        (
            {"conditions": {"groupResource": "pods"}, "mergePatches": [{"patchData": "{a: [}"}]},
            r"mergePatches\[0\].patchData",
        ),
        (
            {
                "conditions": {
                    "groupResource": "pods",
                    "labelSelector": {"matchExpressions": [{"key": "a", "operator": "Near"}]},
                },
                "patches": [{"operation": "remove", "path": "/a"}],
            },
            "matchExpressions",
        ),
    ],
)
def test_invalid_rules_name_the_rule_and_field(rule: dict[str, Any], message: str) -> None:
    with pytest.raises(TranslationError, match=message):
        load_rules({"version": "v1", "resourceModifierRules": [rule]})


def test_rule_file_errors() -> None:
    with pytest.raises(TranslationError, match="cannot read the rule file"):
        load_rules("/nonexistent/rules.yaml")
    with pytest.raises(TranslationError, match="version 'v2'"):
        load_rules({"version": "v2", "resourceModifierRules": []})


def test_json_patch_operations() -> None:
    doc = {"a": {"b": [1, 2]}, "c": "x"}
    out = apply_json_patch(doc, [
        {"op": "add", "path": "/a/b/-", "value": 3},
        {"op": "add", "path": "/a/b/0", "value": 0},
        {"op": "copy", "from": "/c", "path": "/d"},
        {"op": "move", "from": "/c", "path": "/e~1f"},
        {"op": "remove", "path": "/a/b/1"},
        {"op": "test", "path": "/d", "value": "x"},
    ])  # fmt: skip
    assert out == {"a": {"b": [0, 2, 3]}, "d": "x", "e/f": "x"}
    with pytest.raises(KeyError):
        apply_json_patch({"a": 1}, [{"op": "replace", "path": "/missing", "value": 1}])


def test_merge_and_strategic_patches() -> None:
    assert merge_patch({"a": 1, "b": {"c": 2, "d": 3}}, {"a": None, "b": {"c": 5}}) == {"b": {"c": 5, "d": 3}}
    assert merge_patch({"l": [1, 2]}, {"l": [3]}) == {"l": [3]}
    target = {"cs": [{"name": "a", "x": 1}, {"name": "b"}]}
    assert strategic_merge(
        target, {"cs": [{"name": "a", "y": 2}, {"name": "c"}, {"name": "b", "$patch": "delete"}]}
    ) == {"cs": [{"name": "a", "x": 1, "y": 2}, {"name": "c"}]}


def test_velero_value_reading() -> None:
    patches = [
        {"operation": "replace", "path": "/spec/replicas", "value": "5"},
        {"operation": "add", "path": "/metadata/labels", "value": '{"a": "b"}'},
        {"operation": "add", "path": "/spec/paused", "value": "true"},
        {"operation": "add", "path": "/metadata/annotations", "value": "{}"},
    ]
    rule = {"conditions": {"groupResource": "deployments.apps"}, "patches": patches}
    rules = load_rules({"version": "v1", "resourceModifierRules": [rule]})
    t = T.translate([web()], source="ionos", target="ionos", rules=rules)
    d = t.bundle.objects[0]
    assert d["spec"]["replicas"] == 5 and d["spec"]["paused"] is True and d["metadata"]["labels"] == {"a": "b"}


def test_resource_names() -> None:
    kinds = ["Deployment", "Ingress", "NetworkPolicy", "Endpoints", "StorageClass", "Policy", "Gateway"]
    assert [resource_name(k) for k in kinds] == [
        "deployments", "ingresses", "networkpolicies", "endpoints", "storageclasses", "policies", "gateways",
    ]  # fmt: skip


def test_rules_run_after_the_translators_so_they_win() -> None:
    rules = {
        "resourceModifierRules": [
            {
                "conditions": {"groupResource": "persistentvolumeclaims"},
                "patches": [{"operation": "replace", "path": "/spec/storageClassName", "value": "my-own"}],
            }
        ]
    }
    t = T.translate([claim("d", "shop", "gp3")], source="aws", target="ionos", rules=rules)
    assert t.bundle.objects[0]["spec"]["storageClassName"] == "my-own"
    assert [c.translator for c in t.changes] == ["storage", "rules"]


def test_a_rule_whose_path_is_missing_warns() -> None:
    rules = {
        "resourceModifierRules": [
            {
                "name": "bad",
                "conditions": {"groupResource": "persistentvolumeclaims"},
                "patches": [{"operation": "replace", "path": "/spec/nothere/x", "value": 1}],
            }
        ]
    }
    t = T.translate([claim("d", "shop", "x")], source="ionos", target="ionos", rules=rules)
    assert any("rule 'bad' did not apply" in w.message for w in t.warnings)
    assert t.bundle.objects[0] == claim("d", "shop", "x")
