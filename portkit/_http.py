"""A lean HTTP/1.1 keep-alive client for one API server.

portkit sends thousands of small requests to one host; a general-purpose client spends most of its time
per request on URL parsing, pool lookup, header objects and e-mail-style header parsing (about 400 µs of
CPU per request against a local API server, versus under 100 µs here; ``bench/apply.py`` is CPU-bound on
two cores, so that matters). This module does only what talking to an API server needs: one request
line, a few headers, a body with Content-Length; responses with Content-Length or chunked bodies;
persistent connections with a liveness check before reuse. Anything else (proxies) goes through urllib3
in :mod:`portkit._transport`.
"""

from __future__ import annotations

import contextlib
import select
import socket
import ssl
import threading
import weakref
from collections.abc import Mapping

__all__ = ["ConnectionLost", "HttpPool"]

_RECV = 64 * 1024
_MAX_HEAD = 64 * 1024


class ConnectionLost(OSError):
    """The connection failed or closed before a whole response arrived."""


class _Connection:
    """One socket with its receive buffer."""

    __slots__ = ("buf", "scratch", "sock")

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buf = bytearray()
        self.scratch = memoryview(bytearray(_RECV))  # reused for every read: no allocation per recv

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.close()

    def dropped(self) -> bool:
        """True when the idle socket became readable: the server closed it (or sent garbage)."""
        if self.buf:
            return True
        try:
            if hasattr(select, "poll"):  # no FD_SETSIZE limit, unlike select()
                poller = select.poll()
                poller.register(self.sock, select.POLLIN)
                return bool(poller.poll(0))
            readable, _, _ = select.select([self.sock], [], [], 0)
        except (OSError, ValueError):
            return True
        return bool(readable)

    def _fill(self) -> None:
        n = self.sock.recv_into(self.scratch)
        if not n:
            raise ConnectionLost("the server closed the connection before the response was complete")
        self.buf += self.scratch[:n]

    def _take(self, n: int) -> bytes:
        while len(self.buf) < n:
            self._fill()
        data = bytes(self.buf[:n])
        del self.buf[:n]
        return data

    def _line(self) -> bytes:
        while True:
            end = self.buf.find(b"\r\n")
            if end >= 0:
                line = bytes(self.buf[:end])
                del self.buf[: end + 2]
                return line
            if len(self.buf) > _MAX_HEAD:
                raise ConnectionLost("a response line is too long")
            self._fill()

    def exchange(self, request: bytes, head_only: bool) -> tuple[int, dict[str, str], bytes, bool]:
        """Send one request; return (status, headers, body, keep_alive)."""
        self.sock.sendall(request)
        while True:
            while (end := self.buf.find(b"\r\n\r\n")) < 0:
                if len(self.buf) > _MAX_HEAD:
                    raise ConnectionLost("the response headers are too long")
                self._fill()
            head = bytes(self.buf[:end]).decode("latin-1")
            del self.buf[: end + 4]
            lines = head.split("\r\n")
            parts = lines[0].split(" ", 2)
            if len(parts) < 2 or not parts[0].startswith("HTTP/"):
                raise ConnectionLost(f"not an HTTP response: {lines[0][:80]!r}")
            status = int(parts[1])
            if 100 <= status < 200:
                continue  # an interim response; the real one follows
            break
        headers: dict[str, str] = {}
        for line in lines[1:]:
            name, sep, value = line.partition(":")
            if sep:
                key = name.strip()
                headers[key] = f"{headers[key]}, {value.strip()}" if key in headers else value.strip()
        lower = {k.lower(): v for k, v in headers.items()}
        keep_alive = parts[0] != "HTTP/1.0" and "close" not in lower.get("connection", "").lower()
        if head_only or status in (204, 304):
            return status, headers, b"", keep_alive
        if "chunked" in lower.get("transfer-encoding", "").lower():
            pieces: list[bytes] = []
            while True:
                size = int(self._line().split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    while self._line():  # trailers, up to the empty line
                        pass
                    break
                pieces.append(self._take(size))
                self._take(2)
            return status, headers, b"".join(pieces), keep_alive
        if "content-length" in lower:
            return status, headers, self._take(int(lower["content-length"])), keep_alive
        # no length: the body runs until the server closes the connection
        try:
            while True:
                self._fill()
        except ConnectionLost:
            pass
        body = bytes(self.buf)
        self.buf.clear()
        return status, headers, body, False


class HttpPool:
    """Keep-alive connections to one ``scheme://host:port``; thread-safe.

    Args:
        host: host name or address (IPv6 without brackets).
        port: TCP port.
        tls: an SSL context for https, None for plain http.
        server_hostname: name to verify the server certificate against (defaults to ``host``).
        maxsize: idle connections kept for reuse.
        connect_timeout: seconds to open a connection.
        read_timeout: default seconds to wait for a response.
    """

    def __init__(
        self,
        host: str,
        port: int,
        *,
        tls: ssl.SSLContext | None,
        server_hostname: str | None = None,
        maxsize: int = 16,
        connect_timeout: float = 10.0,
        read_timeout: float = 60.0,
    ) -> None:
        self.host = host
        self.port = port
        self._tls = tls
        self._server_hostname = server_hostname or host
        self._maxsize = maxsize
        self._connect_timeout = connect_timeout
        self._read_timeout = read_timeout
        self._idle: list[_Connection] = []
        self._lock = threading.Lock()
        # a pool dropped without close() still closes its sockets (no ResourceWarning, no leaked fds)
        weakref.finalize(self, _close_all, self._idle)
        netloc = f"[{host}]" if ":" in host else host
        self._host_header = f"{netloc}:{port}"

    def _connect(self) -> _Connection:
        sock = socket.create_connection((self.host, self.port), timeout=self._connect_timeout)
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if self._tls is not None:
                sock = self._tls.wrap_socket(sock, server_hostname=self._server_hostname)
        except BaseException:
            sock.close()
            raise
        return _Connection(sock)

    def _checkout(self) -> tuple[_Connection, bool]:
        while True:
            with self._lock:
                conn = self._idle.pop() if self._idle else None
            if conn is None:
                return self._connect(), False
            if not conn.dropped():
                return conn, True
            conn.close()

    def _checkin(self, conn: _Connection) -> None:
        with self._lock:
            if len(self._idle) < self._maxsize:
                self._idle.append(conn)
                return
        conn.close()

    def request(
        self,
        method: str,
        target: str,
        headers: Mapping[str, str],
        body: bytes | None = None,
        timeout: float | None = None,
    ) -> tuple[int, dict[str, str], bytes]:
        """Send ``method target`` and return (status, headers, body).

        When a reused connection turns out to be closed before the response, the request is sent once
        more on a fresh connection, except a POST (a create that may have landed is the retry policy's
        business: see :meth:`portkit.Cluster.create`). Raises OSError (``ConnectionLost``, timeouts, refused
        connections, TLS errors) when the exchange fails.
        """
        lines = [f"{method} {target} HTTP/1.1", f"Host: {self._host_header}"]
        lines.extend(f"{k}: {v}" for k, v in headers.items())
        if body is not None or method in ("POST", "PUT", "PATCH"):
            lines.append(f"Content-Length: {len(body or b'')}")
        request = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + (body or b"")
        for attempt in (1, 2):
            conn, reused = self._checkout()
            try:
                conn.sock.settimeout(timeout if timeout is not None else self._read_timeout)
                status, response_headers, data, keep_alive = conn.exchange(request, method == "HEAD")
            except (ConnectionLost, ConnectionResetError, BrokenPipeError, ssl.SSLEOFError):
                conn.close()
                if reused and attempt == 1 and method != "POST":
                    continue  # the server had closed the idle connection: once more on a fresh one
                raise
            except BaseException:
                conn.close()
                raise
            if keep_alive:
                self._checkin(conn)
            else:
                conn.close()
            return status, response_headers, data
        raise ConnectionLost("unreachable")  # pragma: no cover - the loop always returns or raises

    def close(self) -> None:
        """Close the idle connections."""
        with self._lock:
            idle = list(self._idle)
            self._idle.clear()
        _close_all(idle)


def _close_all(connections: list[_Connection]) -> None:
    for conn in connections:
        conn.close()
