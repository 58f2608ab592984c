"""Small local servers for the hostile transport tests: raw HTTP, TLS with made-up certificates, SOCKS5.

Everything listens on 127.0.0.1 only, serves in daemon threads and is closed by the tests' fixtures.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import select
import socket
import ssl
import threading
from collections.abc import Callable
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

#: (request bytes, client socket) -> keep the connection open?
Handler = Callable[[bytes, socket.socket], bool]


def free_port() -> int:
    """A port nothing listens on (bound, then released)."""
    probe = socket.create_server(("127.0.0.1", 0))
    port = int(probe.getsockname()[1])
    probe.close()
    return port


def read_request(conn: socket.socket, buf: bytes = b"") -> tuple[bytes, bytes] | None:
    """One request (head and Content-Length body) from ``conn``; returns (request, leftover) or None at EOF."""
    while b"\r\n\r\n" not in buf:
        chunk = conn.recv(65536)
        if not chunk:
            return None
        buf += chunk
    head, _, rest = buf.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    while len(rest) < length:
        chunk = conn.recv(65536)
        if not chunk:
            return None
        rest += chunk
    return head + b"\r\n\r\n" + rest[:length], rest[length:]


class RawServer:
    """Plain-TCP HTTP server whose ``handler`` writes whatever bytes a test wants; optionally TLS."""

    def __init__(self, handler: Handler, tls: ssl.SSLContext | None = None) -> None:
        self.handler = handler
        self.tls = tls
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = int(self.sock.getsockname()[1])
        self.connections = 0
        self.requests: list[bytes] = []
        self.tls_failures: list[BaseException] = []
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}"

    def _serve(self) -> None:
        while True:
            try:
                client, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._client, args=(client,), daemon=True).start()

    def _client(self, client: socket.socket) -> None:
        client.settimeout(10)
        if self.tls is not None:
            try:
                client = self.tls.wrap_socket(client, server_side=True)
            except (OSError, ssl.SSLError) as exc:  # the client refused our certificate
                self.tls_failures.append(exc)
                client.close()
                return
        buf = b""
        with client:
            while True:
                try:
                    got = read_request(client, buf)
                except OSError:
                    return
                if got is None:
                    return
                request, buf = got
                self.requests.append(request)
                try:
                    if not self.handler(request, client):
                        return
                except OSError:
                    return

    def close(self) -> None:
        self.sock.close()


def reply(body: bytes, status: str = "200 OK", extra: str = "", content_type: str = "application/json") -> bytes:
    """A well-formed response with Content-Length."""
    head = f"HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {len(body)}\r\n{extra}\r\n"
    return head.encode() + body


def always(data: bytes, keep: bool = True) -> Handler:
    """A handler that answers every request with ``data``."""

    def handler(request: bytes, client: socket.socket) -> bool:
        client.sendall(data)
        return keep

    return handler


# -- certificates -------------------------------------------------------------------------------------------


class Certs:
    """A CA and server certificates signed by it, as files under one directory."""

    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)
        self._ca_key = ec.generate_private_key(ec.SECP256R1())
        self._ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "hostile-test-ca")])
        self.ca_pem = self._sign(self._ca_name, self._ca_key.public_key(), ca=True).public_bytes(
            serialization.Encoding.PEM
        )
        self.ca_file = root / "ca.crt"
        self.ca_file.write_bytes(self.ca_pem)

    def _sign(
        self,
        subject: x509.Name,
        key: ec.EllipticCurvePublicKey,
        *,
        ca: bool = False,
        sans: list[x509.GeneralName] | None = None,
    ) -> x509.Certificate:
        now = dt.datetime.now(dt.UTC)
        builder = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(self._ca_name)
            .public_key(key)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(hours=1))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        )
        if ca:
            builder = builder.add_extension(
                x509.KeyUsage(True, False, False, False, False, True, True, False, False), critical=True
            )
        else:
            builder = builder.add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        if sans:
            builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
        return builder.sign(self._ca_key, hashes.SHA256())

    def server_context(
        self, name: str, *, common_name: str, dns: tuple[str, ...] = (), ips: tuple[str, ...] = ()
    ) -> ssl.SSLContext:
        """A server-side TLS context whose certificate has CN ``common_name`` and the given SANs (maybe none)."""
        key = ec.generate_private_key(ec.SECP256R1())
        sans: list[x509.GeneralName] = [x509.DNSName(d) for d in dns]
        sans += [x509.IPAddress(ipaddress.ip_address(i)) for i in ips]
        cert = self._sign(
            x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)]), key.public_key(), sans=sans or None
        )
        crt, pem_key = self.root / f"{name}.crt", self.root / f"{name}.key"
        crt.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        pem_key.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(crt, pem_key)
        return context


# -- SOCKS5 -------------------------------------------------------------------------------------------------


class Socks5Server:
    """A minimal SOCKS5 proxy (no authentication, CONNECT only) that records where it was asked to go."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = int(self.sock.getsockname()[1])
        self.targets: list[tuple[str, int]] = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                client, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._client, args=(client,), daemon=True).start()

    @staticmethod
    def _exactly(conn: socket.socket, n: int) -> bytes:
        data = b""
        while len(data) < n:
            chunk = conn.recv(n - len(data))
            if not chunk:
                raise ConnectionError("closed")
            data += chunk
        return data

    def _client(self, client: socket.socket) -> None:
        with client:
            try:
                _version, count = self._exactly(client, 2)
                self._exactly(client, count)
                client.sendall(b"\x05\x00")  # no authentication
                _v, _cmd, _rsv, atyp = self._exactly(client, 4)
                if atyp == 1:
                    host = socket.inet_ntoa(self._exactly(client, 4))
                elif atyp == 3:
                    host = self._exactly(client, self._exactly(client, 1)[0]).decode()
                else:
                    return
                port = int.from_bytes(self._exactly(client, 2), "big")
                self.targets.append((host, port))
                upstream = socket.create_connection((host, port), timeout=5)
            except OSError:
                return
            with upstream:
                client.sendall(b"\x05\x00\x00\x01\x00\x00\x00\x00\x00\x00")
                pair = {client: upstream, upstream: client}
                while True:
                    readable, _, _ = select.select(list(pair), [], [], 5)
                    if not readable:
                        return
                    for conn in readable:
                        data = conn.recv(65536)
                        if not data:
                            return
                        pair[conn].sendall(data)

    def close(self) -> None:
        self.sock.close()
