"""A hostile or broken API server: malformed HTTP, TLS tricks, garbage answers, throttling games.

Every answer must either be understood correctly or end in a ``PortkitError`` that says what happened:
never a truncated body returned as success, never another exception, never a hang (the servers close
their side and the client has short timeouts).
"""

from __future__ import annotations

import contextlib
import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from kubernetes.client import Configuration

from portkit import Cluster
from portkit._retry import RetryPolicy
from portkit._transport import Response, Transport
from portkit.discovery import ApiResource
from portkit.errors import (
    ApiError,
    CertificateError,
    ClusterUnreachableError,
    ConfigurationError,
    PortkitError,
    ServerResponseError,
    ThrottledError,
)

from ._http_servers import Certs, RawServer, always, reply

PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY")


@pytest.fixture(autouse=True)
def no_proxy_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """These tests talk to 127.0.0.1 directly whatever the machine's proxy settings are."""
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)


Serve = Callable[..., RawServer]


@pytest.fixture
def serve() -> Iterator[Serve]:
    servers: list[RawServer] = []

    def start(handler: Any, tls: Any = None) -> RawServer:
        server = RawServer(handler, tls)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.close()


def transport(url: str, timeout: float = 3.0, **settings: Any) -> Transport:
    config = Configuration(host=url)
    for key, value in settings.items():
        setattr(config, key, value)
    return Transport(config, timeout=timeout)


def fetch(server: RawServer, path: str = "/api/v1/namespaces/x") -> Any:
    """One GET through a fresh Transport; the decoded body."""
    t = transport(server.url)
    try:
        return t.request("GET", path, action="get thing").json()
    finally:
        t.close()


# -- framing the old hand-written client got wrong ------------------------------------------------------------

BODY = b'{"kind":"Namespace","metadata":{"name":"x"}}'

MALFORMED: list[tuple[str, bytes, type[PortkitError], str]] = [
    (
        "negative Content-Length",
        b"HTTP/1.1 200 OK\r\nContent-Length: -5\r\n\r\n" + BODY,
        ServerResponseError,
        "Content-Length",
    ),
    (
        "Content-Length with a sign",
        b"HTTP/1.1 200 OK\r\nContent-Length: +5\r\n\r\n" + BODY,
        ServerResponseError,
        "Content-Length",
    ),
    (
        "hexadecimal Content-Length",
        b"HTTP/1.1 200 OK\r\nContent-Length: 0x10\r\n\r\n" + BODY,
        ServerResponseError,
        "Content-Length",
    ),
    (
        "conflicting Content-Lengths",
        b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 44\r\n\r\n" + BODY,
        ServerResponseError,
        "Content-Length",
    ),
    (
        "Transfer-Encoding notchunked",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: notchunked\r\n\r\n2c\r\n" + BODY + b"\r\n0\r\n\r\n",
        ServerResponseError,
        "Transfer-Encoding",
    ),
    (
        "Transfer-Encoding gzip, chunked",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n2c\r\n" + BODY + b"\r\n0\r\n\r\n",
        ServerResponseError,
        "Transfer-Encoding",
    ),
    (
        "Transfer-Encoding and Content-Length",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 44\r\n\r\n2c\r\n" + BODY + b"\r\n0\r\n\r\n",
        ServerResponseError,
        "both",
    ),
    (
        "body ending on an empty chunk-size line",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10\r\n" + BODY[:16] + b"\r\n\r\n",
        ClusterUnreachableError,
        "broke off",
    ),
    (
        "chunk-size line that is not hexadecimal",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n" + BODY + b"\r\n0\r\n\r\n",
        ClusterUnreachableError,
        "broke off",
    ),
    ("status -200", b"HTTP/1.1 -200 OK\r\nContent-Length: 44\r\n\r\n" + BODY, ServerResponseError, "malformed"),
    ("status 600", b"HTTP/1.1 600 Odd\r\nContent-Length: 44\r\n\r\n" + BODY, ServerResponseError, "600"),
    ("status 2000", b"HTTP/1.1 2000 OK\r\nContent-Length: 44\r\n\r\n" + BODY, ServerResponseError, "malformed"),
    (
        "interim status as the final one",
        b"HTTP/1.1 102 Processing\r\nContent-Length: 0\r\n\r\n",
        ServerResponseError,
        "102",
    ),
    ("HTTP/2.0 status line", b"HTTP/2.0 200 OK\r\nContent-Length: 44\r\n\r\n" + BODY, ServerResponseError, "malformed"),
    ("not HTTP at all", b"SSH-2.0-OpenSSH_9.6\r\n", ServerResponseError, "malformed"),
    (
        "a header line of 70,000 bytes",
        b"HTTP/1.1 200 OK\r\nX-Big: " + b"a" * 70_000 + b"\r\n\r\n",
        ServerResponseError,
        "malformed",
    ),
    (
        "200 header lines",
        b"HTTP/1.1 200 OK\r\n" + b"X-A: b\r\n" * 200 + b"Content-Length: 0\r\n\r\n",
        ServerResponseError,
        "malformed",
    ),
    (
        "a body of a terabyte announced",
        b"HTTP/1.1 200 OK\r\nContent-Length: 1099511627776\r\n\r\n{}",
        ServerResponseError,
        "larger than",
    ),
    (
        "a Content-Length of 5,000 digits",
        b"HTTP/1.1 200 OK\r\nContent-Length: " + b"9" * 5000 + b"\r\n\r\n{}",
        ServerResponseError,
        "larger than",
    ),
    (
        "a chunk of 280 terabytes announced",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nFFFFFFFFFFFF\r\n" + BODY,
        ClusterUnreachableError,
        "broke off",
    ),
    (
        "a body cut short",
        b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n" + BODY,
        ClusterUnreachableError,
        "broke off",
    ),
    ("nothing at all", b"", ClusterUnreachableError, "without answering"),
    (
        "a 200 with an HTML page",
        reply(b"<html><body>Sign in</body></html>", content_type="text/html"),
        ServerResponseError,
        "not JSON",
    ),
    ("a 200 with a truncated JSON document", reply(BODY[:20]), ServerResponseError, "not JSON"),
    ("a 200 with JSON nested 50,000 deep", reply(b"[" * 50_000 + b"]" * 50_000), ServerResponseError, "not JSON"),
    ("a 200 whose body is not UTF-8", reply(b'{"a":"\xff\xfe"}'), ServerResponseError, "not JSON"),
]


@pytest.mark.parametrize(("case", "answer", "error", "match"), MALFORMED, ids=[m[0] for m in MALFORMED])
def test_malformed_answers_are_clear_errors(
    serve: Serve, case: str, answer: bytes, error: type[PortkitError], match: str
) -> None:
    server = serve(always(answer, keep=False))
    started = time.monotonic()
    with pytest.raises(error, match=match) as raised:
        fetch(server)
    assert time.monotonic() - started < 3.0, f"{case}: took too long"
    assert "get thing" in str(raised.value), "the error names the request"


def test_well_formed_answers_still_parse(serve: Serve) -> None:
    chunked = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: Chunked\r\n\r\n"
    chunked += b"a;ext=1\r\n" + BODY[:10] + b"\r\n" + b"%x\r\n" % (len(BODY) - 10) + BODY[10:] + b"\r\n"
    chunked += b"0\r\nX-Trailer: yes\r\n\r\n"
    for answer in (
        reply(BODY),
        b"HTTP/1.1 200 OK\r\nContent-Length: 44, 44\r\n\r\n" + BODY,  # a list of equal lengths is allowed
        chunked,
        b"HTTP/1.1 100 Continue\r\n\r\n" + reply(BODY),
        b"HTTP/1.0 200 OK\r\n\r\n" + BODY,  # no length: the body runs until the server closes
    ):
        server = serve(always(answer, keep=False))
        assert fetch(server) == {"kind": "Namespace", "metadata": {"name": "x"}}


def test_a_silent_server_times_out_with_a_clear_error(serve: Serve) -> None:
    server = serve(lambda request, client: (time.sleep(5), False)[1])
    t = transport(server.url, timeout=0.3)
    with pytest.raises(ClusterUnreachableError, match="cannot reach the API server"):
        t.request("GET", "/version")
    t.close()


# -- request lines and headers ------------------------------------------------------------------------------


def test_a_name_with_cr_lf_never_reaches_the_server(serve: Serve) -> None:
    server = serve(always(reply(BODY)))
    cluster = Cluster(Configuration(host=server.url))
    resource = ApiResource("", "v1", "ConfigMap", "configmaps", True)
    for name in ("x\r\nImpersonate-User: system:admin", "x\nImpersonate-User: a", "x\x00y", "x\x1b[31m"):
        with pytest.raises(ConfigurationError, match="no request was sent"):
            cluster.get(resource, name, "default")
        with pytest.raises(ConfigurationError, match="no request was sent"):
            cluster.delete(resource, name, "default")
    assert server.requests == []
    cluster.close()


def test_a_raw_path_with_a_line_break_is_refused(serve: Serve) -> None:
    server = serve(always(reply(BODY)))
    t = transport(server.url)
    for path in ("/api/v1/x\r\nImpersonate-User: admin", "/api/v1/x y", "/api/v1/x?watch=1", "api/v1/x"):
        with pytest.raises(ConfigurationError):
            t.request("GET", path)
    assert server.requests == []
    t.close()


def test_a_token_with_a_line_break_is_refused_before_sending(serve: Serve) -> None:
    server = serve(always(reply(BODY)))
    t = transport(server.url, api_key={"authorization": "Bearer abc\r\nImpersonate-User: system:admin"})
    with pytest.raises(ConfigurationError, match="line break") as raised:
        t.request("GET", "/version")
    assert "abc" not in str(raised.value) and "Impersonate" not in str(raised.value)
    assert server.requests == []
    t.close()


def test_a_folded_header_value_is_refused_too(serve: Serve) -> None:
    """http.client lets "\\r\\n " (obsolete line folding) through; portkit does not."""
    server = serve(always(reply(BODY)))
    t = transport(server.url, api_key={"authorization": "Bearer abc\r\n def"})
    with pytest.raises(ConfigurationError):
        t.request("GET", "/version")
    assert server.requests == []
    t.close()


# -- TLS -----------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Certs:
    return Certs(tmp_path_factory.mktemp("certs"))


def test_a_certificate_with_the_right_subject_alt_name_is_accepted(serve: Serve, certs: Certs) -> None:
    server = serve(always(reply(BODY)), certs.server_context("good", common_name="whatever", ips=("127.0.0.1",)))
    t = transport(server.url, ssl_ca_cert=str(certs.ca_file))
    assert t.request("GET", "/api/v1/namespaces/x").json()["kind"] == "Namespace"
    t.close()


def test_a_certificate_without_san_whose_cn_matches_is_refused(serve: Serve, certs: Certs) -> None:
    """CN=localhost and no subjectAltName, reached as https://localhost: the CN must not count."""
    server = serve(always(reply(BODY)), certs.server_context("cn-localhost", common_name="localhost"))
    t = transport(f"https://localhost:{server.port}", ssl_ca_cert=str(certs.ca_file))
    with pytest.raises(CertificateError, match="did not verify"):
        t.request("GET", "/version")
    assert server.requests == [], "nothing was sent over the unverified connection"
    t.close()


def test_a_certificate_without_san_whose_cn_is_the_ip_is_refused(serve: Serve, certs: Certs) -> None:
    server = serve(always(reply(BODY)), certs.server_context("cn-only", common_name="127.0.0.1"))
    t = transport(server.url, ssl_ca_cert=str(certs.ca_file))
    with pytest.raises(CertificateError, match="did not verify"):
        t.request("GET", "/version")
    assert server.requests == []
    t.close()


def test_a_certificate_for_another_name_or_from_another_ca_is_refused(
    serve: Serve, certs: Certs, tmp_path: Path
) -> None:
    server = serve(always(reply(BODY)), certs.server_context("other", common_name="x", dns=("api.example",)))
    t = transport(server.url, ssl_ca_cert=str(certs.ca_file))
    with pytest.raises(CertificateError):
        t.request("GET", "/version")
    t.close()
    stranger = Certs(tmp_path / "stranger")
    server = serve(always(reply(BODY)), stranger.server_context("s", common_name="x", ips=("127.0.0.1",)))
    t = transport(server.url, ssl_ca_cert=str(certs.ca_file))
    with pytest.raises(CertificateError):
        t.request("GET", "/version")
    t.close()


def test_tls_server_name_is_checked_against_the_subject_alt_name(serve: Serve, certs: Certs) -> None:
    server = serve(always(reply(BODY)), certs.server_context("named", common_name="x", dns=("api.internal",)))
    t = transport(server.url, ssl_ca_cert=str(certs.ca_file), tls_server_name="api.internal")
    assert t.request("GET", "/api/v1/namespaces/x").json()["kind"] == "Namespace"
    t.close()
    server = serve(always(reply(BODY)), certs.server_context("cn-named", common_name="api.internal"))
    t = transport(server.url, ssl_ca_cert=str(certs.ca_file), tls_server_name="api.internal")
    with pytest.raises(CertificateError):
        t.request("GET", "/version")
    t.close()


def test_certificate_errors_are_not_retried(serve: Serve, certs: Certs) -> None:
    server = serve(always(reply(BODY)), certs.server_context("cn-only-2", common_name="127.0.0.1"))
    cluster = Cluster(Configuration(host=server.url, ssl_ca_cert=str(certs.ca_file)))
    with pytest.raises(CertificateError):
        cluster.server_version()
    assert cluster.stats.retries == 0 and server.connections == 1
    cluster.close()


def test_insecure_skip_tls_verify_talks_to_any_certificate(serve: Serve, certs: Certs) -> None:
    server = serve(always(reply(BODY)), certs.server_context("cn-only-3", common_name="nothing"))
    t = transport(server.url, verify_ssl=False)
    assert t.request("GET", "/api/v1/namespaces/x").json()["kind"] == "Namespace"
    t.close()


def test_a_ca_together_with_insecure_skip_tls_verify_is_refused(certs: Certs) -> None:
    with pytest.raises(ConfigurationError, match="insecure-skip-tls-verify") as raised:
        transport("https://127.0.0.1:6443", verify_ssl=False, ssl_ca_cert=str(certs.ca_file))
    assert "root certificates file with the insecure flag is not allowed" in str(raised.value)


# -- answers of the wrong shape -----------------------------------------------------------------------------


def cluster_answering(serve: Serve, answers: dict[str, bytes]) -> tuple[Cluster, RawServer]:
    """A Cluster whose server answers each path (without query) from ``answers`` (404 otherwise)."""

    def handler(request: bytes, client: socket.socket) -> bool:
        target = request.split(b" ", 2)[1].decode()
        path = target.partition("?")[0]
        client.sendall(answers.get(path, reply(b'{"kind":"Status","code":404}', status="404 Not Found")))
        return True

    server = serve(handler)
    cluster = Cluster(Configuration(host=server.url), retry=RetryPolicy(attempts=2, initial=0.01))
    return cluster, server


AGGREGATED_CORE = (
    b'{"kind":"APIGroupDiscoveryList","items":[{"metadata":{},"versions":[{"version":"v1","resources":['
    b'{"resource":"configmaps","responseKind":{"kind":"ConfigMap"},"scope":"Namespaced","verbs":["list"]}]}]}]}'
)
AGGREGATED_GROUPS = b'{"kind":"APIGroupDiscoveryList","items":[]}'


@pytest.mark.parametrize(
    ("core", "groups"),
    [
        (b'{"versions":["v1"]}', b'{"groups":[{"versions":[{"version":"v1"}]}]}'),  # a group without a name
        (b'{"apiVersion":"v1"}', b'{"apiVersion":"v1"}'),  # no kind, nothing recognisable
        (b"[1,2,3]", AGGREGATED_GROUPS),
        (b"null", AGGREGATED_GROUPS),
        (b'{"kind":"APIGroupDiscoveryList","items":{"a":1}}', AGGREGATED_GROUPS),
        (
            b'{"kind":"APIGroupDiscoveryList","items":[{"versions":[{"version":"v1","resources":[{"resource":7,'
            b'"responseKind":{"kind":"X"}}]}]}]}',
            AGGREGATED_GROUPS,
        ),
        (
            b'{"kind":"APIGroupDiscoveryList","items":[{"versions":[{"version":"v1","resources":[{"resource":"x",'
            b'"responseKind":"X"}]}]}]}',
            AGGREGATED_GROUPS,
        ),
        (
            b'{"kind":"APIGroupDiscoveryList","items":[{"versions":[{"version":"v1","resources":[{"resource":"x",'
            b'"responseKind":{"kind":"X"},"verbs":"list"}]}]}]}',
            AGGREGATED_GROUPS,
        ),
        (AGGREGATED_CORE, b'{"kind":"APIGroupDiscoveryList","items":[{"metadata":{"name":"apps"},"versions":7}]}'),
    ],
)
def test_garbage_discovery_is_a_clear_error(serve: Serve, core: bytes, groups: bytes) -> None:
    cluster, _server = cluster_answering(serve, {"/api": reply(core), "/apis": reply(groups)})
    with pytest.raises(ServerResponseError, match=r"GET /api"):
        cluster.resource_for("v1", "ConfigMap")
    cluster.close()


def test_legacy_discovery_with_garbage_in_a_group_version_is_a_clear_error(serve: Serve) -> None:
    cluster, _server = cluster_answering(
        serve,
        {
            "/api": reply(b'{"kind":"APIVersions","versions":["v1"]}'),
            "/apis": reply(b'{"kind":"APIGroupList","groups":[]}'),
            "/api/v1": reply(b'{"kind":"APIResourceList","resources":[{"name":"configmaps"}]}'),  # no kind
        },
    )
    with pytest.raises(ServerResponseError, match="/api/v1"):
        cluster.resource_for("v1", "ConfigMap")
    cluster.close()


LIST_ANSWERS = [
    b"[]",
    b'"a string"',
    b'{"items":{"a":1}}',
    b'{"items":[1,2]}',
    b'{"items":[{"metadata":"x"}]}',
    b'{"items":[{"metadata":{"name":5}}]}',
    b'{"items":[],"metadata":{"continue":7}}',
]


@pytest.mark.parametrize("answer", LIST_ANSWERS)
def test_lists_of_the_wrong_shape_are_clear_errors(serve: Serve, answer: bytes) -> None:
    cluster, _server = cluster_answering(
        serve,
        {
            "/api": reply(AGGREGATED_CORE),
            "/apis": reply(AGGREGATED_GROUPS),
            "/api/v1/namespaces/shop/configmaps": reply(answer),
        },
    )
    resource = cluster.resource_for("v1", "ConfigMap")
    with pytest.raises(ServerResponseError, match="list configmaps"):
        list(cluster.list(resource, "shop"))
    cluster.close()


def test_an_object_answer_that_is_not_an_object_is_a_clear_error(serve: Serve) -> None:
    cluster, _server = cluster_answering(
        serve,
        {
            "/api": reply(AGGREGATED_CORE),
            "/apis": reply(AGGREGATED_GROUPS),
            "/api/v1/namespaces/shop/configmaps/a": reply(b"[1]"),
            "/version": reply(b'"v1.30"'),
        },
    )
    with pytest.raises(ServerResponseError, match="get ConfigMap shop/a"):
        cluster.get(cluster.resource_for("v1", "ConfigMap"), "a", "shop")
    with pytest.raises(ServerResponseError, match="/version"):
        cluster.server_version()
    cluster.close()


# -- Retry-After and throttling ------------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "-3", "1e308", "99999999999999999999", "soon", "", "0x10"])
def test_odd_retry_after_values_neither_crash_nor_stall(serve: Serve, value: str) -> None:
    answers = iter(
        [
            reply(b'{"kind":"Status","code":429}', status="429 Too Many Requests", extra=f"Retry-After: {value}\r\n"),
            reply(BODY),
        ]
    )
    server = serve(lambda request, client: (client.sendall(next(answers)), True)[1])
    cluster = Cluster(Configuration(host=server.url), retry=RetryPolicy(initial=0.01, max_wait=0.5))
    started = time.monotonic()
    assert cluster.request("GET", "/api/v1/namespaces/x")["kind"] == "Namespace"
    assert time.monotonic() - started < 2.0
    assert cluster.stats.throttled == 1
    cluster.close()


@pytest.mark.parametrize("value", ["nan", "Infinity", "-1", "[1]", '{"a":1}', "true", '"3"'])
def test_odd_retry_after_seconds_in_a_status_are_ignored(serve: Serve, value: str) -> None:
    status = b'{"kind":"Status","code":429,"details":{"retryAfterSeconds":%s,"causes":5}}' % value.encode()
    server = serve(always(reply(status, status="429 Too Many Requests")))
    t = transport(server.url)
    with pytest.raises(ThrottledError) as raised:
        t.request("GET", "/version")
    retry_after = raised.value.retry_after
    assert retry_after is None or 0 <= retry_after <= 3600
    t.close()


def test_a_server_that_always_throttles_still_fails_in_bounded_time(serve: Serve) -> None:
    server = serve(always(reply(b"{}", status="429 Too Many Requests", extra="Retry-After: 0\r\n")))
    cluster = Cluster(Configuration(host=server.url), retry=RetryPolicy(initial=0.001, throttled_attempts=12))
    with pytest.raises(ThrottledError):
        cluster.server_version()
    assert cluster.stats.requests == 12
    cluster.close()


# -- hypothesis: generated responses -----------------------------------------------------------------------

TOKEN = st.text(alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-", min_size=1, max_size=12)
FRAMING_NAMES = {"content-length", "transfer-encoding", "connection", "retry-after"}
HEADER = st.tuples(
    TOKEN.filter(lambda n: n.lower() not in FRAMING_NAMES),
    st.text(alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E), max_size=30),
)


@st.composite
def responses(draw: st.DrawFn) -> tuple[bytes, int, bytes]:
    """A well-formed response: (bytes on the wire, status, body the client must return).

    The status is 0 for the one ill-formed combination the generator makes: a chunked 204 or 304 (those
    never have a body), which must be refused.
    """
    status = draw(
        st.sampled_from([200, 201, 202, 204, 206, 226, 301, 400, 404, 409, 422, 500, 503, 599]) | st.integers(200, 599)
    )
    reason = draw(st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=20))
    headers = draw(st.lists(HEADER, max_size=6))
    body = draw(st.binary(max_size=3000))
    framing = draw(st.sampled_from(["length", "chunked", "close"]))
    head = f"HTTP/1.1 {status} {reason}\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers)
    if framing == "length":
        wire = head.encode() + f"Content-Length: {len(body)}\r\n\r\n".encode() + body
    elif framing == "chunked":
        wire = head.encode() + b"Transfer-Encoding: chunked\r\n\r\n"
        rest = body
        while rest:
            size = draw(st.integers(1, max(1, len(rest))))
            ext = draw(st.sampled_from([b"", b";a=b", b";x"]))
            wire += b"%x%s\r\n" % (size, ext) + rest[:size] + b"\r\n"
            rest = rest[size:]
        wire += b"0\r\n" + draw(st.sampled_from([b"", b"X-Trailer: 1\r\n"])) + b"\r\n"
    else:
        wire = head.encode() + b"Connection: close\r\n\r\n" + body
    if status in (204, 304) and framing == "chunked":
        return wire, 0, b""
    expected = b"" if status in (204, 304) else body
    return wire, status, expected


@pytest.fixture(scope="module")
def shared_server() -> Iterator[RawServer]:
    server = RawServer(always(b"", keep=False))
    yield server
    server.close()


def answer_once(server: RawServer, wire: bytes) -> Response:
    server.handler = always(wire, keep=False)
    t = transport(server.url, timeout=2.0)
    try:
        return t.request("GET", "/api/v1/namespaces/x", action="get x")
    finally:
        t.close()


HYPOTHESIS = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)


@HYPOTHESIS
@given(responses())
def test_generated_well_formed_responses_parse_exactly(
    shared_server: RawServer, case: tuple[bytes, int, bytes]
) -> None:
    wire, status, body = case
    if status == 0:
        with pytest.raises(ServerResponseError, match="Transfer-Encoding"):
            answer_once(shared_server, wire)
    elif 200 <= status < 300:
        response = answer_once(shared_server, wire)
        assert (response.status, response.data) == (status, body)
    else:
        with pytest.raises(ApiError) as raised:
            answer_once(shared_server, wire)
        assert raised.value.status == status


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    """A well-formed response with bytes replaced, inserted or removed (or plain random bytes)."""
    if draw(st.integers(0, 4)) == 0:
        return draw(st.binary(max_size=400))
    wire = bytearray(draw(responses())[0])
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(wire)))
        action = draw(st.sampled_from(["replace", "insert", "delete"]))
        piece = draw(
            st.sampled_from(
                [
                    b"\r\n",
                    b"\n",
                    b"\r",
                    b" ",
                    b"-",
                    b"0",
                    b"9",
                    b":",
                    b"\x00",
                    b"chunked",
                    b"Content-Length: 7\r\n",
                    b"Transfer-Encoding: chunked\r\n",
                    b"\xff",
                ]
            )
            | st.binary(min_size=1, max_size=4)
        )
        if action == "insert":
            wire[at:at] = piece
        elif action == "replace":
            wire[at : at + len(piece)] = piece
        else:
            del wire[at : at + draw(st.integers(1, 8))]
    return bytes(wire)


@HYPOTHESIS
@given(mutated())
def test_generated_broken_responses_parse_or_raise_a_portkit_error(shared_server: RawServer, wire: bytes) -> None:
    started = time.monotonic()
    try:
        response = answer_once(shared_server, wire)
    except PortkitError:
        pass
    else:
        assert 200 <= response.status < 300
        assert isinstance(response.data, bytes)
        with contextlib.suppress(ServerResponseError):
            response.json()
    assert time.monotonic() - started < 8.0
