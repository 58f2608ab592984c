"""Kubeconfigs that should not be trusted blindly: failing exec plugins, passwords in URLs, proxies, TLS flags."""

from __future__ import annotations

import base64
import logging
import socket
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from portkit import Cluster
from portkit._retry import RetryPolicy
from portkit.cluster import redact_url
from portkit.errors import ClusterUnreachableError, ConfigurationError

from ._http_servers import Certs, RawServer, Socks5Server, free_port, reply

VERSION = reply(b'{"gitVersion":"v1.34.4"}')


@pytest.fixture(autouse=True)
def no_proxy_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)


@pytest.fixture
def api() -> Iterator[RawServer]:
    """A plain-HTTP API server answering /version; records what it received."""

    def handler(request: bytes, client: socket.socket) -> bool:
        client.sendall(VERSION)
        return True

    server = RawServer(handler)
    yield server
    server.close()


def write_kubeconfig(path: Path, server: str, user: dict[str, Any] | None = None, **cluster: Any) -> Path:
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "c", "cluster": {"server": server, **cluster}}],
        "users": [{"name": "u", "user": user or {"token": "static-token"}}],
        "contexts": [{"name": "ctx", "context": {"cluster": "c", "user": "u"}}],
        "current-context": "ctx",
    }
    path.write_text(yaml.safe_dump(config))
    return path


def plugin(tmp_path: Path, code: str, *args: str, **extra: Any) -> dict[str, Any]:
    """A users[].user.exec section running ``code`` with this Python."""
    script = tmp_path / "plugin.py"
    script.write_text(code)
    return {
        "exec": {
            "apiVersion": "client.authentication.k8s.io/v1beta1",
            "command": sys.executable,
            "args": [str(script), *args],
            **extra,
        }
    }


CREDENTIAL = (
    "import json, sys\n"
    'print(json.dumps({"apiVersion": "client.authentication.k8s.io/v1beta1", "kind": "ExecCredential",\n'
    '                  "status": %s}))\n'
)


# -- exec credential plugins ----------------------------------------------------------------------------------


def test_a_failing_exec_plugin_says_so_and_nothing_is_sent(tmp_path: Path, api: RawServer) -> None:
    code = (
        "import sys\n"
        "sys.stderr.write('error: the SSO session has expired.\\nRun aws sso login --profile prod and retry.\\n')\n"
        "sys.exit(3)\n"
    )
    user = plugin(tmp_path, code, "--client-secret=hunter2", env=[{"name": "PLUGIN_PASSWORD", "value": "s3cr3t"}])
    kubeconfig = write_kubeconfig(tmp_path / "kc", api.url, user)
    with pytest.raises(ConfigurationError) as raised:
        Cluster.from_kubeconfig(kubeconfig)
    message = str(raised.value)
    assert "exec credential plugin" in message and sys.executable in message
    assert "exit code 3" in message and "Run aws sso login --profile prod and retry." in message
    assert "hunter2" not in message and "s3cr3t" not in message, "arguments and environment may hold secrets"
    assert "cannot reach" not in message
    assert api.requests == []


def test_a_missing_exec_plugin_shows_its_install_hint(tmp_path: Path, api: RawServer) -> None:
    user = {
        "exec": {
            "apiVersion": "client.authentication.k8s.io/v1beta1",
            "command": "/nonexistent/kube-login",
            "installHint": "Install kube-login from your platform team's portal.",
        }
    }
    with pytest.raises(ConfigurationError, match="not found") as raised:
        Cluster.from_kubeconfig(write_kubeconfig(tmp_path / "kc", api.url, user))
    assert "platform team's portal" in str(raised.value)
    assert api.requests == []


@pytest.mark.parametrize(
    ("output", "match"),
    [
        ('print("this is not JSON")', "decode"),
        (CREDENTIAL % '{"nothing": 1}', "neither a token nor a certificate"),
        (CREDENTIAL % '"a string"', "malformed|no status"),
        (CREDENTIAL % '{"token": "abc\\r\\nImpersonate-User: system:admin"}', "token"),
        (CREDENTIAL % '{"token": ""}', "token"),
        (CREDENTIAL % '{"token": 5}', "token"),
        (CREDENTIAL % '{"clientCertificateData": "x"}', "without its key"),
        (CREDENTIAL % '{"token": "t", "expirationTimestamp": "yesterday"}', "expirationTimestamp"),
    ],
)
def test_bad_exec_plugin_output_is_a_configuration_error(
    tmp_path: Path, api: RawServer, output: str, match: str
) -> None:
    kubeconfig = write_kubeconfig(tmp_path / "kc", api.url, plugin(tmp_path, output))
    with pytest.raises(ConfigurationError, match=match):
        Cluster.from_kubeconfig(kubeconfig)
    assert api.requests == []


def test_a_working_exec_plugin_authenticates_the_requests(tmp_path: Path, api: RawServer) -> None:
    kubeconfig = write_kubeconfig(tmp_path / "kc", api.url, plugin(tmp_path, CREDENTIAL % '{"token": "tok-123"}'))
    cluster = Cluster.from_kubeconfig(kubeconfig)
    assert cluster.server_version() == "v1.34.4"
    assert b"authorization: Bearer tok-123\r\n" in api.requests[0]
    cluster.close()


def test_an_expired_credential_whose_refresh_fails_stops_the_requests(tmp_path: Path, api: RawServer) -> None:
    marker = tmp_path / "ran-once"
    code = (
        "import json, pathlib, sys\n"
        f"marker = pathlib.Path({str(marker)!r})\n"
        "if marker.exists():\n"
        "    sys.stderr.write('refresh token revoked')\n"
        "    sys.exit(1)\n"
        "marker.write_text('1')\n"
        'print(json.dumps({"apiVersion": "client.authentication.k8s.io/v1beta1", "kind": "ExecCredential",\n'
        '                  "status": {"token": "short-lived", "expirationTimestamp": "2000-01-01T00:00:00Z"}}))\n'
    )
    cluster = Cluster.from_kubeconfig(write_kubeconfig(tmp_path / "kc", api.url, plugin(tmp_path, code)))
    with pytest.raises(ConfigurationError, match="refresh token revoked"):
        cluster.server_version()
    assert api.requests == [], "no request went out with the expired token or without any"
    cluster.close()


# -- passwords in the server URL ------------------------------------------------------------------------------


def test_a_password_in_the_server_url_is_never_shown(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    port = free_port()
    kubeconfig = write_kubeconfig(tmp_path / "kc", f"http://admin:hunter2@127.0.0.1:{port}")
    cluster = Cluster.from_kubeconfig(kubeconfig)
    cluster.retry = RetryPolicy(attempts=2, initial=0.01)
    assert cluster.server == f"http://***@127.0.0.1:{port}"
    assert "hunter2" not in repr(cluster) and "admin" not in repr(cluster)
    with caplog.at_level(logging.DEBUG), pytest.raises(ClusterUnreachableError) as raised:
        cluster.server_version()
    assert "hunter2" not in str(raised.value) and f"127.0.0.1:{port}" in str(raised.value)
    assert "hunter2" not in caplog.text
    assert cluster.stats.retries == 1, "the retry was logged (above) without the password"
    cluster.close()


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://u:p@h:6443/x", "https://***@h:6443/x"),
        ("https://token@h", "https://***@h"),
        ("https://u:pa/ss@h:1", "https://***@h:1"),
        ("https://h:6443/k8s/clusters/c-1", "https://h:6443/k8s/clusters/c-1"),
        ("https://h/p?q=a@b", "https://h/p?q=a@b"),
        ("not a url at all", "not a url at all"),
    ],
)
def test_redact_url(url: str, shown: str) -> None:
    assert redact_url(url) == shown


# -- TLS flags ------------------------------------------------------------------------------------------------


def test_a_ca_with_insecure_skip_tls_verify_is_refused_like_kubectl(tmp_path: Path) -> None:
    certs = Certs(tmp_path / "pki")
    kubeconfig = write_kubeconfig(
        tmp_path / "kc",
        "https://127.0.0.1:6443",
        **{"certificate-authority-data": base64.b64encode(certs.ca_pem).decode(), "insecure-skip-tls-verify": True},
    )
    with pytest.raises(ConfigurationError, match="insecure-skip-tls-verify") as raised:
        Cluster.from_kubeconfig(kubeconfig)
    assert "Remove insecure-skip-tls-verify" in str(raised.value)


# -- proxies --------------------------------------------------------------------------------------------------


@pytest.fixture
def proxy() -> Iterator[RawServer]:
    """An HTTP forward proxy stand-in that answers every request itself (and records it)."""

    def handler(request: bytes, client: socket.socket) -> bool:
        client.sendall(reply(b'{"gitVersion":"via-proxy"}'))
        return True

    server = RawServer(handler)
    yield server
    server.close()


@pytest.mark.parametrize(
    ("no_proxy", "direct"),
    [
        (None, False),
        ("127.0.0.1", True),
        ("localhost,127.0.0.0/8", True),
        ("example.com, .internal", False),
        ("*", True),
    ],
)
def test_http_proxy_from_the_environment_and_no_proxy(
    tmp_path: Path,
    api: RawServer,
    proxy: RawServer,
    monkeypatch: pytest.MonkeyPatch,
    no_proxy: str | None,
    direct: bool,
) -> None:
    monkeypatch.setenv("HTTP_PROXY", proxy.url)
    if no_proxy is not None:
        monkeypatch.setenv("NO_PROXY", no_proxy)
    cluster = Cluster.from_kubeconfig(write_kubeconfig(tmp_path / "kc", api.url))
    assert cluster.server_version() == ("v1.34.4" if direct else "via-proxy")
    assert bool(api.requests) == direct and bool(proxy.requests) != direct
    if not direct:
        assert proxy.requests[0].startswith(f"GET {api.url}/version HTTP/1.1".encode())
    cluster.close()


def test_the_kubeconfig_proxy_url_is_used(tmp_path: Path, api: RawServer, proxy: RawServer) -> None:
    cluster = Cluster.from_kubeconfig(write_kubeconfig(tmp_path / "kc", api.url, **{"proxy-url": proxy.url}))
    assert cluster.server_version() == "via-proxy" and api.requests == []
    cluster.close()


def test_the_proxy_choice_is_the_kubernetes_clients(monkeypatch: pytest.MonkeyPatch) -> None:
    """Same host, same proxy, same NO_PROXY: portkit goes through the proxy exactly when the kubernetes client does."""
    from kubernetes.client import Configuration
    from kubernetes.client.rest import RESTClientObject

    from portkit._transport import Transport

    hosts = [
        "http://127.0.0.1:6443",
        "http://api.corp.example:443",
        "http://10.1.2.3",
        "http://[::1]:6443",
        "http://api.corp.example:8443",
    ]
    rules = [
        "",
        "127.0.0.1",
        "corp.example",
        ".corp.example",
        "api.corp.example:8443",
        "10.0.0.0/8",
        "::1",
        "*",
        " 127.0.0.1 , other",
        "example",
    ]
    for host in hosts:
        for rule in rules:
            config = Configuration(host=host, proxy="http://127.0.0.1:3128", no_proxy=rule)
            kubernetes_uses_proxy = type(RESTClientObject(config).pool_manager).__name__ == "ProxyManager"
            transport = Transport(config)
            assert (transport.proxy is not None) == kubernetes_uses_proxy, (host, rule)
            transport.close()


def test_a_socks5_proxy_is_supported(tmp_path: Path, api: RawServer) -> None:
    socks = Socks5Server()
    try:
        kubeconfig = write_kubeconfig(tmp_path / "kc", api.url, **{"proxy-url": f"socks5://127.0.0.1:{socks.port}"})
        cluster = Cluster.from_kubeconfig(kubeconfig)
        assert cluster.server_version() == "v1.34.4"
        assert socks.targets == [("127.0.0.1", api.port)]
        cluster.close()
    finally:
        socks.close()


def test_socks_without_pysocks_is_a_clear_configuration_error(
    tmp_path: Path, api: RawServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "socks", None)  # as if PySocks were not installed
    monkeypatch.delitem(sys.modules, "urllib3.contrib.socks", raising=False)
    kubeconfig = write_kubeconfig(tmp_path / "kc", api.url, **{"proxy-url": "socks5h://127.0.0.1:1080"})
    with pytest.raises(ConfigurationError, match=r"PySocks.*portkit\[socks\]"):
        Cluster.from_kubeconfig(kubeconfig)


@pytest.mark.parametrize("proxy_url", ["ftp://127.0.0.1:21", "http://[::1", "http://127.0.0.1:notaport"])
def test_an_unusable_proxy_url_is_a_configuration_error(tmp_path: Path, api: RawServer, proxy_url: str) -> None:
    with pytest.raises(ConfigurationError, match="proxy"):
        Cluster.from_kubeconfig(write_kubeconfig(tmp_path / "kc", api.url, **{"proxy-url": proxy_url}))


def test_a_password_in_the_proxy_url_is_never_shown(tmp_path: Path, api: RawServer) -> None:
    port = free_port()
    kubeconfig = write_kubeconfig(tmp_path / "kc", api.url, **{"proxy-url": f"http://joe:pr0xyPass@127.0.0.1:{port}"})
    cluster = Cluster.from_kubeconfig(kubeconfig)
    cluster.retry = RetryPolicy(attempts=1)
    with pytest.raises(ClusterUnreachableError, match="through the proxy") as raised:
        cluster.server_version()
    assert "pr0xyPass" not in str(raised.value)
    cluster.close()


def test_redact_text_hides_userinfo_of_urls_inside_messages() -> None:
    from portkit._redact import redact_text

    text = "cannot reach https://admin:hunter2@h:6443/api via socks5h://joe:pr0xy@p:1080; user u@ctx is fine"
    assert redact_text(text) == "cannot reach https://***@h:6443/api via socks5h://***@p:1080; user u@ctx is fine"
