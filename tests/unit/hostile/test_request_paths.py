"""Names and namespaces from bundles, journals and answers go into request paths percent-encoded, or not at all."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import pytest
from kubernetes.client import Configuration

from portkit import Cluster
from portkit._paths import check_name, check_namespace, query_string, safe_path
from portkit.discovery import ApiResource
from portkit.errors import InvalidNameError

from ._http_servers import RawServer, reply

CONFIGMAPS = ApiResource("", "v1", "ConfigMap", "configmaps", True)
ROLES = ApiResource("rbac.authorization.k8s.io", "v1", "ClusterRole", "clusterroles", False)


@pytest.fixture(autouse=True)
def no_proxy_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)


@pytest.mark.parametrize(
    ("name", "segment"),
    [
        ("web", "web"),
        ("a?b", "a%3Fb"),
        ("a#b", "a%23b"),
        ("a b", "a%20b"),
        ("system:controller:x", "system%3Acontroller%3Ax"),
        ("x&watch=true", "x%26watch%3Dtrue"),
        ("ünï", "%C3%BCn%C3%AF"),
    ],
)
def test_names_are_percent_encoded_as_one_segment(name: str, segment: str) -> None:
    assert ROLES.path(None, name) == f"/apis/rbac.authorization.k8s.io/v1/clusterroles/{segment}"
    assert CONFIGMAPS.path("shop", name) == f"/api/v1/namespaces/shop/configmaps/{segment}"


@pytest.mark.parametrize(
    "name",
    [
        "",
        ".",
        "..",
        "a/b",
        "../secrets",
        "a%2Fb",
        "%",
        "a\r\nb",
        "a\nImpersonate-User: x",
        "a\x00",
        "\x1b[2J",
        "a\x7f",
        "a\x85b",
        "\ud800",
        5,
    ],
)
def test_names_no_object_can_have_are_refused(name: Any) -> None:
    with pytest.raises(InvalidNameError, match="no request was sent"):
        ROLES.path(None, name)
    with pytest.raises(InvalidNameError):
        check_name(name)


@pytest.mark.parametrize("namespace", ["Shop", "a_b", "a.b", "-a", "a-", "a" * 64, "a b", "a/b", "a%2F", "a\r\n"])
def test_namespaces_must_be_dns_labels(namespace: str) -> None:
    with pytest.raises(InvalidNameError, match="namespace"):
        CONFIGMAPS.path(namespace)
    with pytest.raises(InvalidNameError):
        check_namespace(namespace)


def test_an_empty_name_never_addresses_the_collection() -> None:
    assert CONFIGMAPS.path("shop") == "/api/v1/namespaces/shop/configmaps"
    with pytest.raises(InvalidNameError, match="is empty"):
        CONFIGMAPS.path("shop", "")
    with pytest.raises(InvalidNameError, match="namespaced"):
        CONFIGMAPS.path(None, "web")  # an object of a namespaced kind without its namespace
    with pytest.raises(InvalidNameError, match="namespaced"):
        CONFIGMAPS.path("", "web")


def test_discovered_segments_are_encoded_too() -> None:
    hostile = ApiResource("evil.io/../..", "v1?x", "Thing", "things/../../secrets", True)
    assert hostile.path("shop", "a") == "/apis/evil.io%2F..%2F../v1%3Fx/namespaces/shop/things%2F..%2F..%2Fsecrets/a"


def test_query_values_are_encoded() -> None:
    encoded = query_string({"labelSelector": "app in (a,b)&x=y", "continue": "abc/def=", "limit": 5, "e": ""})
    assert encoded == "labelSelector=app+in+%28a%2Cb%29%26x%3Dy&continue=abc%2Fdef%3D&limit=5"


@pytest.mark.parametrize("path", ["/api/v1/x y", "/api/v1/x?a=b", "/api/v1/x#f", "/x\r\n", "relative", "/é"])
def test_raw_paths_must_be_encoded(path: str) -> None:
    with pytest.raises(InvalidNameError):
        safe_path(path)


@pytest.fixture
def recording_server() -> Iterator[RawServer]:
    def handler(request: bytes, client: socket.socket) -> bool:
        client.sendall(reply(b'{"kind":"Status","status":"Success"}'))
        return True

    server = RawServer(handler)
    yield server
    server.close()


def test_delete_and_get_with_an_empty_or_bad_name_send_nothing(recording_server: RawServer) -> None:
    cluster = Cluster(Configuration(host=recording_server.url))
    for name in ("", "a/b", "..", "x\r\nX-Evil: 1"):
        with pytest.raises(InvalidNameError):
            cluster.delete(CONFIGMAPS, name, "shop")
        with pytest.raises(InvalidNameError):
            cluster.get(CONFIGMAPS, name, "shop")
        with pytest.raises(InvalidNameError):
            cluster.delete(ROLES, name)
    with pytest.raises(InvalidNameError):
        cluster.delete(CONFIGMAPS, "web", "Bad Namespace")
    assert recording_server.requests == []
    cluster.close()


def test_the_request_line_carries_the_encoded_name(recording_server: RawServer) -> None:
    cluster = Cluster(Configuration(host=recording_server.url))
    cluster.delete(ROLES, "a?b c#d")
    list(cluster.list(CONFIGMAPS, "shop", label_selector="app=web,tier in (a b)"))
    lines = [r.split(b"\r\n", 1)[0] for r in recording_server.requests]
    assert lines[0] == b"DELETE /apis/rbac.authorization.k8s.io/v1/clusterroles/a%3Fb%20c%23d HTTP/1.1"
    assert lines[1] == (
        b"GET /api/v1/namespaces/shop/configmaps?limit=500&labelSelector=app%3Dweb%2Ctier+in+%28a+b%29 HTTP/1.1"
    )
    cluster.close()


def test_create_checks_the_name_before_sending(recording_server: RawServer) -> None:
    cluster = Cluster(Configuration(host=recording_server.url))
    cluster._discovery = _discovery_of(CONFIGMAPS)
    bad = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a/b", "namespace": "shop"}}
    with pytest.raises(InvalidNameError):
        cluster.create(bad)
    with pytest.raises(InvalidNameError):
        cluster.apply(bad)
    assert recording_server.requests == []
    generated = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"generateName": "x-", "namespace": "shop"}}
    cluster.create(generated)
    assert recording_server.requests[0].startswith(b"POST /api/v1/namespaces/shop/configmaps HTTP/1.1")
    cluster.close()


def _discovery_of(*resources: ApiResource) -> Any:
    from portkit.discovery import Discovery

    return Discovery(list(resources))


def test_field_selector_values_are_escaped() -> None:
    from portkit._paths import selector_value

    assert selector_value("web") == "web"
    assert selector_value("a,involvedObject.kind=Secret") == "a\\,involvedObject.kind\\=Secret"
    assert selector_value("back\\slash") == "back\\\\slash"
