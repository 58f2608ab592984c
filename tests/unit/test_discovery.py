"""Parsing discovery documents (aggregated v2 and legacy) and resource paths."""

from __future__ import annotations

from portkit.discovery import ApiResource, Discovery, parse_aggregated

AGGREGATED_APIS = {
    "kind": "APIGroupDiscoveryList",
    "items": [
        {
            "metadata": {"name": "apps"},
            "versions": [
                {
                    "version": "v1",
                    "resources": [
                        {
                            "resource": "deployments",
                            "responseKind": {"group": "apps", "version": "v1", "kind": "Deployment"},
                            "scope": "Namespaced",
                            "verbs": ["list", "get", "patch"],
                            "shortNames": ["deploy"],
                            "subresources": [{"subresource": "scale"}],
                        },
                    ],
                },
            ],
        },
        {
            "metadata": {"name": "example.com"},
            "versions": [
                {
                    "version": "v2",
                    "resources": [
                        {
                            "resource": "widgets",
                            "responseKind": {"kind": "Widget"},
                            "scope": "Cluster",
                            "verbs": ["get"],
                        }
                    ],
                },
                {
                    "version": "v1",
                    "resources": [
                        {
                            "resource": "widgets",
                            "responseKind": {"kind": "Widget"},
                            "scope": "Cluster",
                            "verbs": ["list"],
                        }
                    ],
                },
            ],
        },
    ],
}
AGGREGATED_CORE = {
    "kind": "APIGroupDiscoveryList",
    "items": [
        {
            "metadata": {},
            "versions": [
                {
                    "version": "v1",
                    "resources": [
                        {
                            "resource": "configmaps",
                            "responseKind": {"kind": "ConfigMap"},
                            "scope": "Namespaced",
                            "verbs": ["list", "create"],
                        },
                        {"resource": "bindings", "responseKind": {}, "scope": "Namespaced", "verbs": ["create"]},
                    ],
                }
            ],
        }
    ],
}


def test_aggregated_parsing_marks_the_first_version_preferred() -> None:
    resources = parse_aggregated(AGGREGATED_APIS)
    widgets = [r for r in resources if r.kind == "Widget"]
    assert [(w.version, w.preferred) for w in widgets] == [("v2", True), ("v1", False)]
    deploy = next(r for r in resources if r.kind == "Deployment")
    assert deploy.namespaced and deploy.short_names == ("deploy",) and "list" in deploy.verbs


def test_fetch_uses_aggregated_documents() -> None:
    calls: list[str] = []

    def fetch(path: str, accept: str | None) -> dict:  # type: ignore[type-arg]
        calls.append(path)
        return AGGREGATED_CORE if path == "/api" else AGGREGATED_APIS

    d = Discovery.fetch(fetch)
    assert calls == ["/api", "/apis"]
    assert {r.kind for r in d.select(verb="list")} == {"ConfigMap", "Deployment"}
    assert d.lookup("example.com", "v1", "Widget") is not None
    assert d.preferred("example.com", "Widget").version == "v2"  # type: ignore[union-attr]
    assert d.lookup("", "v1", "Nope") is None
    assert {r.kind for r in d.select(namespaced=False)} == {"Widget"}


def test_fetch_falls_back_to_legacy_discovery() -> None:
    docs = {
        "/api": {"kind": "APIVersions", "versions": ["v1"]},
        "/apis": {
            "kind": "APIGroupList",
            "groups": [{"name": "apps", "versions": [{"version": "v1"}], "preferredVersion": {"version": "v1"}}],
        },
        "/api/v1": {
            "resources": [
                {"name": "pods", "kind": "Pod", "namespaced": True, "verbs": ["list"]},
                {"name": "pods/log", "kind": "Pod", "namespaced": True, "verbs": ["get"]},
            ]
        },
        "/apis/apps/v1": {
            "resources": [{"name": "deployments", "kind": "Deployment", "namespaced": True, "verbs": ["list"]}]
        },
    }
    d = Discovery.fetch(lambda path, accept: docs[path])
    assert sorted(r.name for r in d.all_resources) == ["deployments", "pods"]


def test_paths() -> None:
    cm = ApiResource(group="", version="v1", kind="ConfigMap", name="configmaps", namespaced=True)
    dep = ApiResource(group="apps", version="v1", kind="Deployment", name="deployments", namespaced=True)
    node = ApiResource(group="", version="v1", kind="Node", name="nodes", namespaced=False)
    assert cm.path("shop", "cfg") == "/api/v1/namespaces/shop/configmaps/cfg"
    assert cm.path() == "/api/v1/configmaps"
    assert dep.path("shop") == "/apis/apps/v1/namespaces/shop/deployments"
    assert node.path("ignored", "n1") == "/api/v1/nodes/n1"
    assert dep.group_resource == "deployments.apps" and dep.api_version == "apps/v1"
