"""Keep-alive HTTP/1.1 connections to one API server, on the standard library's :mod:`http.client`.

Request building, header validation, response parsing (status line, headers, chunked bodies) and TLS
(the :mod:`ssl` module, hostname checks included) are the standard library's. This module adds only
what sits above the parser:

- a thread-safe pool of idle connections, with a liveness check before a connection is reused and one
  more try on a fresh connection when a reused one turns out to be closed (never for a POST);
- framing rules http.client is lenient about and a client of an API server has no reason to accept:
  a ``Content-Length`` that is not a plain number (or several that disagree), a ``Transfer-Encoding``
  other than exactly ``chunked``, both together, a ``Transfer-Encoding`` on a 204 or 304 (http.client
  would read a body there), a final status outside 200-599 (1xx too);
- bodies read in bounded pieces (a hostile length or chunk size cannot make it allocate gigabytes) with
  an overall size limit;
- request headers checked strictly (no control characters at all, not even folded line breaks).

Errors: :class:`MalformedResponse` for answers that break those rules or the library's, OSError
(:class:`ConnectionLost`, timeouts, refused connections, TLS errors) when the exchange fails.
"""

from __future__ import annotations

import contextlib
import http.client
import re
import select
import ssl
import threading
import weakref
from collections.abc import Mapping

__all__ = ["MAX_BODY", "ConnectionLost", "HttpPool", "MalformedResponse", "RawResponse", "check_header"]

#: The largest response body accepted (bytes). API server pages are far smaller (objects are at most ~1.5 MB).
MAX_BODY = 1 << 30
_PIECE = 16 << 20  # bodies are read at most this much at a time (a body of known length up to it at once)

_DIGITS = re.compile(r"[0-9]+")
_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")  # RFC 9110 token (header names)
_BAD_VALUE = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")  # any control character but TAB


class ConnectionLost(OSError):
    """The connection failed or closed before a whole response arrived."""


class MalformedResponse(Exception):
    """The server's answer is not a well-formed HTTP/1.1 response portkit can use."""


def check_header(name: str, value: str) -> None:
    """Raise ValueError when ``name: value`` is not a safe request header (control characters, bad name)."""
    if not _TOKEN.fullmatch(name):
        raise ValueError(f"invalid header name {name!r}")
    if _BAD_VALUE.search(value):
        raise ValueError(f"the value of header {name} holds a line break or another control character")
    try:
        value.encode("latin-1")
    except UnicodeEncodeError:
        raise ValueError(f"the value of header {name} holds characters HTTP headers cannot carry") from None


class RawResponse:
    """A finished response: status, the parsed header block and the body bytes."""

    __slots__ = ("body", "headers", "status")

    def __init__(self, status: int, headers: http.client.HTTPMessage, body: bytes) -> None:
        self.status = status
        self.headers = headers
        self.body = body


def check_framing(status: int, lengths: list[str], encodings: list[str]) -> None:
    """Raise :class:`MalformedResponse` for a status or message framing a client should not guess about.

    ``lengths`` and ``encodings`` are every ``Content-Length`` / ``Transfer-Encoding`` header value.
    """
    if not 200 <= status <= 599:
        raise MalformedResponse(f"the final status {status} is not a valid HTTP status for a response")
    if encodings:
        if status in (204, 304):
            raise MalformedResponse(f"a {status} response has no body, yet it has a Transfer-Encoding")
        codings = [c.strip().lower() for value in encodings for c in value.split(",")]
        if codings != ["chunked"]:
            raise MalformedResponse(
                f"unsupported Transfer-Encoding {', '.join(encodings)[:80]!r} (only 'chunked' is accepted)"
            )
        if lengths:
            raise MalformedResponse("the response has both Transfer-Encoding and Content-Length")
    if lengths:
        numbers = {n.strip() for value in lengths for n in value.split(",")}
        number = next(iter(numbers))
        if len(numbers) != 1 or not _DIGITS.fullmatch(number):
            raise MalformedResponse(f"invalid Content-Length {', '.join(lengths)[:80]!r}")
        if len(number) > 18 or int(number) > MAX_BODY:
            raise MalformedResponse(f"the response body would be larger than {MAX_BODY} bytes")


def read_body(response: http.client.HTTPResponse) -> bytes:
    """The whole body of ``response``: truncation detected, size-limited, bounded allocations.

    A body whose length is known and sane is read in one call; otherwise (chunked, as the API server sends
    lists, or large) in pieces of at most ``_PIECE`` bytes, so a hostile chunk size or length cannot make
    it allocate more than that ahead of the data actually received. A body of one piece is not copied.
    """
    length = response.length
    if length is not None and length <= _PIECE:
        return response.read()  # http.client raises IncompleteRead when it ends early
    pieces: list[bytes] = []
    total = 0
    while True:
        piece = response.read(_PIECE)
        if not piece:
            break
        total += len(piece)
        if total > MAX_BODY:
            raise MalformedResponse(f"the response body is larger than {MAX_BODY} bytes")
        pieces.append(piece)
    if length is not None and total < length:
        raise http.client.IncompleteRead(b"", length - total)
    return pieces[0] if len(pieces) == 1 else b"".join(pieces)


class _Connection(http.client.HTTPConnection):
    """An http.client connection with TCP_NODELAY and, for https, TLS to an explicit server name.

    :meth:`send_request` hands the header block and the body to the socket in one write (http.client
    writes them separately: one more system call, and one more TLS record, per request).
    """

    def __init__(self, host: str, port: int, timeout: float, tls: ssl.SSLContext | None, server_hostname: str) -> None:
        super().__init__(host, port, timeout=timeout)
        self._tls = tls
        self._server_hostname = server_hostname
        self._held: list[bytes] | None = None

    def send(self, data: bytes) -> None:  # type: ignore[override]
        """Send ``data``, or keep it for one write while :meth:`send_request` builds a request."""
        if self._held is not None:
            self._held.append(data if isinstance(data, bytes) else bytes(data))
            return
        super().send(data)

    def send_request(self, method: str, target: str, body: bytes | None, headers: dict[str, str]) -> None:
        """http.client's ``request()`` (it builds and validates the request), written with one ``sendall``."""
        self._held = []
        try:
            self.request(method, target, body=body, headers=headers)
            data = b"".join(self._held)
        finally:
            self._held = None
        super().send(data)

    def connect(self) -> None:
        """Open the TCP connection (http.client sets TCP_NODELAY) and wrap it in TLS when configured."""
        super().connect()
        if self._tls is not None:
            self.sock = self._tls.wrap_socket(self.sock, server_hostname=self._server_hostname)

    def dropped(self) -> bool:
        """True when the idle socket became readable: the server closed it (or sent something unasked)."""
        sock = self.sock
        if sock is None:
            return True
        try:
            if hasattr(select, "poll"):  # no FD_SETSIZE limit, unlike select()
                poller = select.poll()
                poller.register(sock, select.POLLIN)
                return bool(poller.poll(0))
            readable, _, _ = select.select([sock], [], [], 0)
        except (OSError, ValueError):
            return True
        return bool(readable)


class HttpPool:
    """Keep-alive connections to one ``scheme://host:port``; thread-safe.

    Args:
        host: host name or address (IPv6 without brackets).
        port: TCP port.
        tls: an SSL context for https (its hostname rules apply), None for plain http.
        server_hostname: name to verify the server certificate against and send as SNI (default ``host``).
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

    def _checkout(self) -> tuple[_Connection, bool]:
        while True:
            with self._lock:
                conn = self._idle.pop() if self._idle else None
            if conn is None:
                conn = _Connection(self.host, self.port, self._connect_timeout, self._tls, self._server_hostname)
                try:
                    conn.connect()
                except BaseException:
                    _discard(conn, None)
                    raise
                return conn, False
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
    ) -> RawResponse:
        """Send ``method target`` (an origin-form target, already percent-encoded) and return the response.

        The caller validates ``headers`` with :func:`check_header`. When a reused connection turns out to be
        closed before any response, the request is sent once more on a fresh connection, except a POST (a
        create that may have landed is the retry policy's business: see :meth:`portkit.Cluster.create`).

        Raises:
            MalformedResponse: the answer breaks HTTP/1.1 or the framing rules above.
            OSError: the exchange failed (``ConnectionLost``, timeouts, refused connections, TLS errors).
        """
        for attempt in (1, 2):
            conn, reused = self._checkout()
            retry = reused and attempt == 1 and method != "POST"
            response: http.client.HTTPResponse | None = None
            try:
                assert conn.sock is not None
                conn.sock.settimeout(timeout if timeout is not None else self._read_timeout)
                conn.send_request(method, target, body, dict(headers))
                response = conn.getresponse()
                check_framing(
                    response.status,
                    response.headers.get_all("content-length") or [],
                    response.headers.get_all("transfer-encoding") or [],
                )
                data = read_body(response)
            except http.client.RemoteDisconnected as exc:  # closed before any response (also a BadStatusLine)
                _discard(conn, response)
                if retry:
                    continue  # the server had closed the idle connection: once more on a fresh one
                raise ConnectionLost("the server closed the connection without answering") from exc
            except (ConnectionResetError, BrokenPipeError, ssl.SSLEOFError) as exc:
                _discard(conn, response)
                if retry and response is None:
                    continue
                raise ConnectionLost(f"the connection was reset ({type(exc).__name__})") from exc
            except http.client.IncompleteRead as exc:
                _discard(conn, response)
                raise ConnectionLost(
                    f"the response ended early or its chunked body was malformed "
                    f"({len(exc.partial)} bytes read, more expected)"
                ) from None
            except (http.client.InvalidURL, http.client.CannotSendRequest, http.client.CannotSendHeader):
                _discard(conn, response)
                raise  # a request the caller should never have built
            except OSError:
                _discard(conn, response)
                raise
            except (http.client.HTTPException, ValueError, OverflowError) as exc:
                _discard(conn, response)
                raise MalformedResponse(f"{type(exc).__name__}: {str(exc)[:160]}") from None
            except BaseException:
                _discard(conn, response)
                raise
            if conn.sock is not None and not response.will_close:
                self._checkin(conn)
            else:
                _discard(conn, response)
            return RawResponse(response.status, response.headers, data)
        raise ConnectionLost("unreachable")  # pragma: no cover - the loop always returns or raises

    def close(self) -> None:
        """Close the idle connections."""
        with self._lock:
            idle = list(self._idle)
            self._idle.clear()
        _close_all(idle)


def _discard(conn: _Connection, response: http.client.HTTPResponse | None) -> None:
    """Close a connection that will not be reused, and the response that may still hold its socket."""
    with contextlib.suppress(OSError):
        if response is not None:
            response.close()
        conn.close()


def _close_all(connections: list[_Connection]) -> None:
    for conn in connections:
        with contextlib.suppress(OSError):
            conn.close()
