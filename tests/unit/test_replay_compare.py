"""Comparisons behind plan and verify: hashes, subset diffs, quantities, redaction."""

from __future__ import annotations

from portkit.replay._compare import (
    REDACTED,
    content_sha256,
    effective_desired,
    object_diff,
    quantity_equal,
    subset_diff,
)


def test_hash_is_canonical() -> None:
    assert content_sha256({"a": 1, "b": [1, 2]}) == content_sha256({"b": [1, 2], "a": 1})
    assert content_sha256({"a": 1}) != content_sha256({"a": 2})


def test_quantities_compare_by_amount() -> None:
    assert quantity_equal("1000m", "1")
    assert quantity_equal("1024Mi", "1Gi")
    assert quantity_equal("0.5", "500m")
    assert quantity_equal(2, "2")
    assert not quantity_equal("1Gi", "1G")
    assert not quantity_equal("abc", "abc")


def test_subset_diff_ignores_server_additions_and_matches_named_lists() -> None:
    desired = {
        "spec": {
            "containers": [
                {"name": "b", "image": "x:2"},
                {"name": "a", "image": "x:1", "resources": {"limits": {"cpu": "1000m"}}},
            ],
            "empty": {},
        }
    }
    live = {
        "spec": {
            "containers": [
                {"name": "a", "image": "x:1", "imagePullPolicy": "IfNotPresent", "resources": {"limits": {"cpu": "1"}}},
                {"name": "b", "image": "x:2"},
            ],
            "dnsPolicy": "ClusterFirst",
        }
    }
    assert subset_diff(desired, live) == []
    live["spec"]["containers"][1]["image"] = "x:3"
    diff = subset_diff(desired, live)
    assert [(d.path, d.old, d.new) for d in diff] == [("spec.containers[b].image", "x:3", "x:2")]
    assert str(diff[0]) == '~ spec.containers[b].image: "x:3" -> "x:2"'


def test_quantity_only_in_quantity_context() -> None:
    assert subset_diff({"data": {"size": "1000m"}}, {"data": {"size": "1"}}) != []


def test_secret_values_are_redacted() -> None:
    desired = effective_desired({"apiVersion": "v1", "kind": "Secret", "stringData": {"p": "new"}})
    assert desired["data"] == {"p": "bmV3"} and "stringData" not in desired
    live = {"apiVersion": "v1", "kind": "Secret", "data": {"p": "b2xk"}}
    diff = subset_diff(desired, live, secret=True)
    assert [(d.path, d.old, d.new) for d in diff] == [("data.p", REDACTED, REDACTED)]
    full = object_diff({"data": {"p": "b2xk"}}, {"data": {"p": "bmV3", "q": "eA=="}}, secret=True)
    assert {(d.path, d.old, d.new) for d in full} == {("data.p", REDACTED, REDACTED), ("data.q", None, REDACTED)}


def test_object_diff_ignores_status_and_server_metadata() -> None:
    old = {
        "metadata": {"name": "a", "resourceVersion": "1", "managedFields": [1], "labels": {"x": "1"}},
        "status": {"phase": "A"},
        "spec": {"ports": [{"name": "http", "port": 80}]},
    }
    new = {
        "metadata": {"name": "a", "resourceVersion": "2", "managedFields": [2], "labels": {"x": "2"}},
        "status": {"phase": "B"},
        "spec": {"ports": [{"name": "http", "port": 8080}]},
    }
    assert [(d.path, d.old, d.new) for d in object_diff(old, new)] == [
        ("metadata.labels.x", "1", "2"),
        ("spec.ports[http].port", 80, 8080),
    ]
    assert object_diff(old, old) == []
