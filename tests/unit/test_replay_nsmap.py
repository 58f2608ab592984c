"""Namespace mapping rewrites every reference."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from portkit.errors import ConfigurationError
from portkit.replay.nsmap import map_namespaces, parse_namespace_map

MAP = {"shop": "shop-eu", "db": "db-eu"}


def by_kind(objs: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    return next(o for o in objs if o["kind"] == kind)


def sample() -> list[dict[str, Any]]:
    pod_spec = {
        "containers": [
            {
                "name": "web",
                "image": "x",
                "env": [
                    {"name": "DB", "value": "postgres://pg.db.svc.cluster.local:5432/shop"},
                    {"name": "CACHE", "value": "redis.shop.svc:6379"},
                    {"name": "POD", "value": "db-0.pg.db.svc.cluster.local"},
                    {"name": "OTHER", "value": "api.elsewhere.svc.cluster.local"},
                    {"name": "TEXT", "value": "shop"},
                ],
            }
        ],
        "affinity": {
            "podAffinity": {
                "requiredDuringSchedulingIgnoredDuringExecution": [
                    {
                        "topologyKey": "zone",
                        "namespaces": ["db", "elsewhere"],
                        "labelSelector": {"matchLabels": {"app": "pg"}},
                    }
                ]
            }
        },
    }
    return [
        {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {"name": "shop", "labels": {"kubernetes.io/metadata.name": "shop", "team": "a"}},
        },
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "shop"},
            "spec": {"template": {"spec": pod_spec}},
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "RoleBinding",
            "metadata": {"name": "rb", "namespace": "shop"},
            "subjects": [
                {"kind": "ServiceAccount", "name": "web", "namespace": "shop"},
                {"kind": "User", "name": "alice"},
            ],
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRoleBinding",
            "metadata": {"name": "crb"},
            "subjects": [{"kind": "ServiceAccount", "name": "backup", "namespace": "db"}],
        },
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": {"name": "np", "namespace": "db"},
            "spec": {
                "ingress": [
                    {
                        "from": [
                            {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "shop"}}},
                            {
                                "namespaceSelector": {
                                    "matchExpressions": [
                                        {
                                            "key": "kubernetes.io/metadata.name",
                                            "operator": "In",
                                            "values": ["shop", "monitoring"],
                                        }
                                    ]
                                }
                            },
                            {"namespaceSelector": {"matchLabels": {"team": "shop"}}},
                        ]
                    }
                ],
                "egress": [{"to": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "db"}}}]}],
            },
        },
        {
            "apiVersion": "v1",
            "kind": "PersistentVolume",
            "metadata": {"name": "pv-1"},
            "spec": {"claimRef": {"kind": "PersistentVolumeClaim", "name": "data", "namespace": "db"}},
        },
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "cfg", "namespace": "shop"},
            "data": {"app.yaml": "db: pg.db.svc\ncache: redis.shop.svc.cluster.local\n"},
        },
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "legacy", "namespace": "unmapped"},
            "spec": {"type": "ExternalName", "externalName": "pg.db.svc.cluster.local"},
        },
    ]


def test_every_reference_is_rewritten_and_input_untouched() -> None:
    source = sample()
    before = copy.deepcopy(source)
    result = map_namespaces(source, MAP)
    assert source == before
    objs = result.objects
    ns = by_kind(objs, "Namespace")
    assert ns["metadata"]["name"] == "shop-eu"
    assert ns["metadata"]["labels"] == {"kubernetes.io/metadata.name": "shop-eu", "team": "a"}
    assert by_kind(objs, "Deployment")["metadata"]["namespace"] == "shop-eu"
    rb = by_kind(objs, "RoleBinding")
    assert rb["subjects"] == [
        {"kind": "ServiceAccount", "name": "web", "namespace": "shop-eu"},
        {"kind": "User", "name": "alice"},
    ]
    assert by_kind(objs, "ClusterRoleBinding")["subjects"][0]["namespace"] == "db-eu"
    peers = by_kind(objs, "NetworkPolicy")["spec"]["ingress"][0]["from"]
    assert peers[0]["namespaceSelector"]["matchLabels"] == {"kubernetes.io/metadata.name": "shop-eu"}
    assert peers[1]["namespaceSelector"]["matchExpressions"][0]["values"] == ["shop-eu", "monitoring"]
    assert peers[2]["namespaceSelector"]["matchLabels"] == {"team": "shop"}  # not a namespace name label
    egress = by_kind(objs, "NetworkPolicy")["spec"]["egress"][0]["to"][0]
    assert egress["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"] == "db-eu"
    assert by_kind(objs, "NetworkPolicy")["metadata"]["namespace"] == "db-eu"
    assert by_kind(objs, "PersistentVolume")["spec"]["claimRef"]["namespace"] == "db-eu"
    term = by_kind(objs, "Deployment")["spec"]["template"]["spec"]["affinity"]["podAffinity"][
        "requiredDuringSchedulingIgnoredDuringExecution"
    ][0]
    assert term["namespaces"] == ["db-eu", "elsewhere"]
    assert by_kind(objs, "Service")["metadata"]["namespace"] == "unmapped"


def test_dns_names_are_only_reported_by_default() -> None:
    result = map_namespaces(sample(), MAP)
    env = by_kind(result.objects, "Deployment")["spec"]["template"]["spec"]["containers"][0]["env"]
    assert env[0]["value"] == "postgres://pg.db.svc.cluster.local:5432/shop"
    found = {(c.old, c.new) for c in result.dns_not_rewritten}
    assert ("pg.db.svc.cluster.local", "pg.db-eu.svc.cluster.local") in found
    assert ("redis.shop.svc", "redis.shop-eu.svc") in found
    assert ("db-0.pg.db.svc.cluster.local", "db-0.pg.db-eu.svc.cluster.local") in found
    assert not any("elsewhere" in c.old for c in result.changes)
    assert "rewrite_dns=False" in result.to_text()


def test_dns_names_are_rewritten_when_asked() -> None:
    result = map_namespaces(sample(), MAP, rewrite_dns=True)
    env = by_kind(result.objects, "Deployment")["spec"]["template"]["spec"]["containers"][0]["env"]
    assert [e["value"] for e in env] == [
        "postgres://pg.db-eu.svc.cluster.local:5432/shop",
        "redis.shop-eu.svc:6379",
        "db-0.pg.db-eu.svc.cluster.local",
        "api.elsewhere.svc.cluster.local",
        "shop",  # a bare word is not a DNS name
    ]
    assert by_kind(result.objects, "ConfigMap")["data"]["app.yaml"] == (
        "db: pg.db-eu.svc\ncache: redis.shop-eu.svc.cluster.local\n"
    )
    assert by_kind(result.objects, "Service")["spec"]["externalName"] == "pg.db-eu.svc.cluster.local"
    dns = [c for c in result.changes if c.what == "dns"]
    assert dns and all(c.applied for c in dns)
    assert result.dns_not_rewritten == []


def test_no_map_is_a_plain_copy() -> None:
    source = sample()
    result = map_namespaces(source, None)
    assert result.objects == source and result.changes == []
    assert result.objects[0] is not source[0]


@pytest.mark.parametrize(
    "items",
    [["shop"], ["shop=Shop"], ["a=c", "b=c"], ["a=b", "a=c"], ["=x"]],
)
def test_bad_namespace_maps_are_refused(items: list[str]) -> None:
    with pytest.raises(ConfigurationError):
        parse_namespace_map(items)


def test_parse_namespace_map() -> None:
    assert parse_namespace_map(["shop=shop-eu", " db = db-eu "]) == {"shop": "shop-eu", "db": "db-eu"}
    assert parse_namespace_map({"a": "b"}) == {"a": "b"}
    assert parse_namespace_map(None) == {}
