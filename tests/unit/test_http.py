"""portkit's keep-alive HTTP pool (http.client underneath) against a real local plain-HTTP server.

The server speaks raw HTTP/1.1 over a socket so each test controls the exact bytes: Content-Length and
chunked bodies, interim responses, connections closed by the server while idle or mid-response.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator

import pytest
from hostile._http_servers import Handler, RawServer, reply  # the hostile tests' raw HTTP server

from portkit._http import ConnectionLost, HttpPool

Serve = Callable[[Handler], tuple[RawServer, HttpPool]]


@pytest.fixture
def serve() -> Iterator[Serve]:
    servers: list[RawServer] = []
    pools: list[HttpPool] = []

    def start(handler: Handler) -> tuple[RawServer, HttpPool]:
        server = RawServer(handler)
        pool = HttpPool("127.0.0.1", server.port, tls=None, read_timeout=5.0)
        servers.append(server)
        pools.append(pool)
        return server, pool

    yield start
    for pool in pools:
        pool.close()
    for server in servers:
        server.close()


def test_request_line_headers_and_body_are_sent_and_the_connection_is_reused(serve: Serve) -> None:
    def handler(request: bytes, client: socket.socket) -> bool:
        client.sendall(reply(b'{"ok":true}', extra="Retry-After: 3\r\n"))
        return True

    server, pool = serve(handler)
    response = pool.request("POST", "/api/v1/x?a=b", {"Accept": "application/json"}, b'{"k":1}')
    assert (response.status, response.body) == (200, b'{"ok":true}')
    assert response.headers["Retry-After"] == "3" and response.headers["content-type"] == "application/json"
    head, _, sent = server.requests[0].partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    assert lines[0] == "POST /api/v1/x?a=b HTTP/1.1"
    assert f"Host: 127.0.0.1:{server.port}" in lines and "Content-Length: 7" in lines
    assert sent == b'{"k":1}'
    for _ in range(5):
        assert pool.request("GET", "/y", {}).status == 200
    assert server.connections == 1, "one keep-alive connection for all requests"


def test_chunked_body_with_extensions_and_trailers_and_an_interim_response(serve: Serve) -> None:
    payload = b'{"items":[' + b",".join(b'{"n":%d}' % i for i in range(3000)) + b"]}"

    def handler(request: bytes, client: socket.socket) -> bool:
        out = b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        for i in range(0, len(payload), 7000):
            piece = payload[i : i + 7000]
            out += b"%x;ext=1\r\n" % len(piece) + piece + b"\r\n"
        out += b"0\r\nX-Trailer: yes\r\n\r\n"
        for i in range(0, len(out), 999):  # dribble it out in small writes
            client.sendall(out[i : i + 999])
        return True

    _server, pool = serve(handler)
    response = pool.request("GET", "/big", {})
    assert response.status == 200 and response.body == payload
    assert pool.request("GET", "/big", {}).body == payload  # the connection is still in a clean state


def test_errors_statuses_are_returned_with_their_body(serve: Serve) -> None:
    def handler(request: bytes, client: socket.socket) -> bool:
        client.sendall(reply(b'{"kind":"Status","code":404}', status="404 Not Found"))
        return True

    _server, pool = serve(handler)
    response = pool.request("GET", "/nope", {})
    assert (response.status, response.body) == (404, b'{"kind":"Status","code":404}')
    assert dict(response.headers) == {"Content-Type": "application/json", "Content-Length": "28"}


def test_a_connection_the_server_closed_while_idle_is_replaced(serve: Serve) -> None:
    def handler(request: bytes, client: socket.socket) -> bool:
        client.sendall(reply(b"{}"))
        return False  # close after every response, without saying so

    server, pool = serve(handler)
    for _ in range(3):
        assert pool.request("GET", "/a", {}).status == 200
    assert server.connections == 3


def test_connection_close_header_is_honoured(serve: Serve) -> None:
    def handler(request: bytes, client: socket.socket) -> bool:
        client.sendall(reply(b"{}", extra="Connection: close\r\n"))
        return True  # the server would keep it, but it said close: the client must not reuse it

    server, pool = serve(handler)
    pool.request("GET", "/a", {})
    pool.request("GET", "/a", {})
    assert server.connections == 2


def test_a_response_cut_short_raises_connection_lost(serve: Serve) -> None:
    def handler(request: bytes, client: socket.socket) -> bool:
        client.sendall(b'HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{"partial":')
        return False

    _server, pool = serve(handler)
    with pytest.raises(ConnectionLost):
        pool.request("POST", "/a", {}, b"{}")


def test_a_silent_server_times_out(serve: Serve) -> None:
    _server, pool = serve(lambda request, client: True)  # never answers
    with pytest.raises(OSError):
        pool.request("GET", "/slow", {}, timeout=0.3)


def test_nothing_listening_raises_oserror() -> None:
    probe = socket.create_server(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    with pytest.raises(OSError):
        HttpPool("127.0.0.1", port, tls=None).request("GET", "/", {})


def test_concurrent_requests_from_many_threads(serve: Serve) -> None:
    def handler(request: bytes, client: socket.socket) -> bool:
        name = request.split(b" ")[1]
        client.sendall(reply(name))
        return True

    server, pool = serve(handler)
    results: dict[int, bytes] = {}

    def worker(i: int) -> None:
        for j in range(20):
            results[i * 100 + j] = pool.request("GET", f"/{i}/{j}", {}).body

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == {i * 100 + j: f"/{i}/{j}".encode() for i in range(8) for j in range(20)}
    assert server.connections <= 8


def test_transport_keeps_the_servers_path_prefix_and_maps_errors(serve: Serve) -> None:
    from kubernetes.client import Configuration

    from portkit._transport import Transport
    from portkit.errors import ClusterUnreachableError, NotFoundError

    def handler(request: bytes, client: socket.socket) -> bool:
        if b" /k8s/clusters/c1/api/v1/namespaces/x " in request.split(b"\r\n", 1)[0] + b" ":
            client.sendall(reply(b'{"kind":"Namespace"}'))
        else:
            client.sendall(reply(b'{"kind":"Status","reason":"NotFound","message":"nope"}', status="404 Not Found"))
        return True

    server, _pool = serve(handler)
    config = Configuration(host=f"http://127.0.0.1:{server.port}/k8s/clusters/c1")
    config.api_key = {"authorization": "Bearer t0ken"}
    transport = Transport(config)
    assert transport.request("GET", "/api/v1/namespaces/x").json() == {"kind": "Namespace"}
    assert b"authorization: Bearer t0ken" in server.requests[0]
    with pytest.raises(NotFoundError, match="nope"):
        transport.request("GET", "/api/v1/namespaces/y", query={"limit": 1, "continue": ""})
    assert server.requests[1].startswith(b"GET /k8s/clusters/c1/api/v1/namespaces/y?limit=1 HTTP/1.1")
    transport.close()

    probe = socket.create_server(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    with pytest.raises(ClusterUnreachableError, match="cannot reach the API server"):
        Transport(Configuration(host=f"http://127.0.0.1:{port}")).request("GET", "/version")


def test_a_kubeconfig_proxy_sends_requests_through_urllib3(serve: Serve) -> None:
    from kubernetes.client import Configuration

    from portkit._transport import Transport

    def handler(request: bytes, client: socket.socket) -> bool:
        client.sendall(reply(b'{"via":"proxy"}'))
        return True

    proxy, _pool = serve(handler)
    config = Configuration(host="http://api.cluster.invalid:6443")
    config.proxy = f"http://127.0.0.1:{proxy.port}"
    transport = Transport(config)
    assert transport.request("GET", "/version").json() == {"via": "proxy"}
    # a forward proxy gets the absolute URI of the API server
    assert proxy.requests[0].startswith(b"GET http://api.cluster.invalid:6443/version HTTP/1.1")
    transport.close()
