"""Cluster's constructors: from_kubeconfig options, from_dict, in_cluster (token rotation), auto, `with`."""

from __future__ import annotations

import json
import os
import ssl
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml

from portkit import Cluster, ClusterUnreachableError, ConfigurationError, RetryPolicy, _incluster

TOKEN = "tok-secret-123"


def kubeconfig_dict(servers: dict[str, str], current: str) -> dict[str, object]:
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {"name": n, "cluster": {"server": s, "insecure-skip-tls-verify": True}} for n, s in servers.items()
        ],
        "users": [{"name": "u", "user": {"token": TOKEN}}],
        "contexts": [{"name": n, "context": {"cluster": n, "user": "u"}} for n in servers],
        "current-context": current,
    }


def write_kubeconfig(path: Path, servers: dict[str, str], current: str) -> Path:
    path.write_text(yaml.safe_dump(kubeconfig_dict(servers, current)))
    return path


# -- a loopback HTTPS server that records the Authorization header of each request -----------------------
class _Recorder(BaseHTTPRequestHandler):
    seen: list[str]

    def do_GET(self) -> None:
        self.server.seen.append(self.headers.get("Authorization", ""))  # type: ignore[attr-defined]
        body = json.dumps({"gitVersion": "v1.34.0"}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> object:
    from portkit.testing._pki import make_pki

    return make_pki(tmp_path_factory.mktemp("pki"), "incluster")


@pytest.fixture
def https_server(pki: object) -> Iterator[ThreadingHTTPServer]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    server.seen = []  # type: ignore[attr-defined]
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(pki.serving_crt, pki.serving_key)  # type: ignore[attr-defined]
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def pod(tmp_path: Path, pki: object, https_server: ThreadingHTTPServer, monkeypatch: pytest.MonkeyPatch) -> Path:
    """This process as a pod: service environment, a mounted token and CA like the kubelet's (symlinked)."""
    sa = tmp_path / "serviceaccount"
    data = tmp_path / "serviceaccount-data-1"
    data.mkdir()
    (data / "token").write_text("token-one\n")
    (data / "ca.crt").write_bytes(Path(pki.ca_crt).read_bytes())  # type: ignore[attr-defined]
    sa.mkdir()
    (sa / "..data").symlink_to(data)
    (sa / "token").symlink_to("..data/token")
    (sa / "ca.crt").symlink_to("..data/ca.crt")
    monkeypatch.setattr(_incluster, "SERVICE_ACCOUNT_DIR", sa)
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "127.0.0.1")
    monkeypatch.setenv("KUBERNETES_SERVICE_PORT", str(https_server.server_address[1]))
    monkeypatch.delenv("KUBECONFIG", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    return sa


def rotate(sa: Path, token: str, generation: int) -> None:
    """Replace the token as the kubelet does: a new data directory, then an atomic swap of ``..data``."""
    data = sa.parent / f"serviceaccount-data-{generation}"
    data.mkdir()
    (data / "token").write_text(token + "\n")
    (data / "ca.crt").write_bytes((sa.parent / "serviceaccount-data-1" / "ca.crt").read_bytes())
    tmp = sa / "..data_tmp"
    tmp.symlink_to(data)
    os.replace(tmp, sa / "..data")


# -- from_kubeconfig: timeout, retry and pool size are passed through ------------------------------------
def test_from_kubeconfig_passes_timeout_retry_and_pool_size(tmp_path: Path) -> None:
    import socket

    listener = socket.create_server(("127.0.0.1", 0))  # accepts, never answers
    try:
        port = listener.getsockname()[1]
        kc = write_kubeconfig(tmp_path / "kc", {"a": f"http://127.0.0.1:{port}"}, "a")
        retry = RetryPolicy(attempts=1)
        cluster = Cluster.from_kubeconfig(kc, "a", timeout=0.5, retry=retry, pool_size=3)
        assert (cluster.retry, cluster.timeout, cluster.pool_size) == (retry, 0.5, 3)
        started = time.monotonic()
        with pytest.raises(ClusterUnreachableError):
            cluster.server_version()
        assert time.monotonic() - started < 5  # the 60 s default would still be waiting
        cluster.close()
    finally:
        listener.close()


def test_with_closes_the_connections(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    kc = write_kubeconfig(tmp_path / "kc", {"a": "https://127.0.0.1:1"}, "a")
    closed: list[str] = []
    with Cluster.from_kubeconfig(kc) as cluster:
        monkeypatch.setattr(cluster._transport, "close", lambda: closed.append(cluster.name))
        assert isinstance(cluster, Cluster)
    assert closed == ["a"]
    with pytest.raises(RuntimeError), Cluster.from_kubeconfig(kc, "a") as cluster:
        monkeypatch.setattr(cluster._transport, "close", lambda: closed.append("after error"))
        raise RuntimeError("boom")
    assert closed == ["a", "after error"]


# -- from_dict -------------------------------------------------------------------------------------------
def test_from_dict_uses_the_current_or_named_context_and_leaves_the_dict_alone() -> None:
    config = kubeconfig_dict({"a": "https://127.0.0.1:1", "b": "https://127.0.0.1:2"}, "a")
    before = json.dumps(config, sort_keys=True)
    a = Cluster.from_dict(config)
    b = Cluster.from_dict(config, "b", timeout=5.0, pool_size=2)
    assert (a.name, a.server) == ("a", "https://127.0.0.1:1")
    assert (b.name, b.server, b.timeout, b.pool_size) == ("b", "https://127.0.0.1:2", 5.0, 2)
    assert b.kubeconfig is None
    assert json.dumps(config, sort_keys=True) == before
    assert TOKEN not in repr(a)


def test_from_dict_errors_are_clear_and_hold_no_token() -> None:
    with pytest.raises(ConfigurationError, match="context 'zzz'") as err:
        Cluster.from_dict(kubeconfig_dict({"a": "https://127.0.0.1:1"}, "a"), "zzz")
    assert TOKEN not in str(err.value)
    with pytest.raises(ConfigurationError, match="needs a kubeconfig as a dict, not a str"):
        Cluster.from_dict("apiVersion: v1")  # type: ignore[arg-type]


# -- in_cluster ------------------------------------------------------------------------------------------
def test_in_cluster_uses_the_service_account_and_rereads_a_rotated_token(
    pod: Path, https_server: ThreadingHTTPServer
) -> None:
    with Cluster.in_cluster(retry=RetryPolicy(attempts=1)) as cluster:
        assert cluster.server == f"https://127.0.0.1:{https_server.server_address[1]}"
        assert cluster.name == "in-cluster"
        cluster.request("GET", "/version")  # the server's certificate verified with the mounted ca.crt
        rotate(pod, "token-two", 2)
        cluster.request("GET", "/version")
        rotate(pod, "token-three", 3)
        cluster.request("GET", "/version")
    assert https_server.seen == ["Bearer token-one", "Bearer token-two", "Bearer token-three"]  # type: ignore[attr-defined]


def test_in_cluster_keeps_the_last_token_while_the_file_is_briefly_unreadable(
    pod: Path, https_server: ThreadingHTTPServer, caplog: pytest.LogCaptureFixture
) -> None:
    with Cluster.in_cluster(retry=RetryPolicy(attempts=1)) as cluster:
        (pod / "..data").unlink()
        cluster.request("GET", "/version")
        rotate(pod, "token-two", 2)
        cluster.request("GET", "/version")
    assert https_server.seen == ["Bearer token-one", "Bearer token-two"]  # type: ignore[attr-defined]
    assert "Cannot read the service-account token" in caplog.text
    assert "token-one" not in caplog.text and "token-two" not in caplog.text


def test_in_cluster_outside_a_pod_is_a_clear_error(pod: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST")
    with pytest.raises(ConfigurationError, match="Not running in a Kubernetes pod") as err:
        Cluster.in_cluster()
    assert "from_kubeconfig" in str(err.value)
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "10.96.0.1")
    (pod / "..data").unlink()
    with pytest.raises(ConfigurationError, match="Cannot read the service-account token"):
        Cluster.in_cluster()


def test_in_cluster_ipv6_service_host(pod: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "fd00::1")
    monkeypatch.setenv("KUBERNETES_SERVICE_PORT", "443")
    with Cluster.in_cluster() as cluster:
        assert cluster.server == "https://[fd00::1]:443"


# -- auto ------------------------------------------------------------------------------------------------
def test_auto_in_a_pod_uses_the_service_account(pod: Path, https_server: ThreadingHTTPServer) -> None:
    home_config = Path(os.environ["HOME"]) / ".kube" / "config"
    home_config.parent.mkdir(parents=True)
    write_kubeconfig(home_config, {"home": "https://127.0.0.1:1"}, "home")
    with Cluster.auto() as cluster:
        assert cluster.name == "in-cluster"


def test_auto_prefers_an_explicit_kubeconfig_to_the_pod(
    pod: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    kc = write_kubeconfig(tmp_path / "kc", {"env": "https://127.0.0.1:7"}, "env")
    monkeypatch.setenv("KUBECONFIG", str(kc))
    assert Cluster.auto().name == "env"
    monkeypatch.delenv("KUBECONFIG")
    other = write_kubeconfig(tmp_path / "other", {"x": "https://127.0.0.1:8", "y": "https://127.0.0.1:9"}, "x")
    assert Cluster.auto(other, "y").server == "https://127.0.0.1:9"


def test_auto_outside_a_pod_uses_the_home_kubeconfig(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    monkeypatch.delenv("KUBECONFIG", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert not Cluster.in_a_pod()
    with pytest.raises(ConfigurationError, match=r"No kubeconfig at .*/\.kube/config"):
        Cluster.auto()
    (tmp_path / ".kube").mkdir()
    write_kubeconfig(tmp_path / ".kube" / "config", {"home": "https://127.0.0.1:1"}, "home")
    assert Cluster.auto(timeout=3.0).name == "home"


def test_requests_are_logged_at_debug_without_the_token(
    pod: Path, https_server: ThreadingHTTPServer, caplog: pytest.LogCaptureFixture
) -> None:
    import logging

    caplog.set_level(logging.DEBUG, logger="portkit")
    with Cluster.in_cluster(retry=RetryPolicy(attempts=1)) as cluster:
        cluster.request("GET", "/version", query={"labelSelector": "app=secret-ish"})
    requests = [r for r in caplog.records if r.name == "portkit.cluster" and "GET /version" in r.getMessage()]
    assert requests and requests[0].levelno == logging.DEBUG
    assert "token-one" not in caplog.text and "secret-ish" not in caplog.text  # no credentials, no query


def test_from_dict_fails_loudly_when_the_exec_plugin_fails() -> None:
    import sys

    config = kubeconfig_dict({"a": "https://127.0.0.1:1"}, "a")
    config["users"] = [{"name": "u", "user": {"exec": {
        "apiVersion": "client.authentication.k8s.io/v1beta1", "command": sys.executable,
        "args": ["-c", "import sys; sys.stderr.write('login expired'); sys.exit(3)"],
    }}}]  # fmt: skip
    with pytest.raises(ConfigurationError, match="exec credential plugin") as err:
        Cluster.from_dict(config)
    assert "exit code 3" in str(err.value) and "login expired" in str(err.value)


def test_the_cli_in_a_pod_uses_the_service_account(pod: Path, https_server: ThreadingHTTPServer) -> None:
    import argparse

    from portkit.cli._common import connect

    with connect(argparse.Namespace(kubeconfig=None, context=None)) as cluster:
        assert cluster.name == "in-cluster"
        cluster.request("GET", "/version")
    assert https_server.seen == ["Bearer token-one"]  # type: ignore[attr-defined]
