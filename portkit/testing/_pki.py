"""Certificates and keys for a local control plane: a CA, the serving cert, client certs, SA keys."""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from portkit._private_files import write_private_bytes

__all__ = ["Pki", "issue_node_certs", "make_pki"]


class Pki:
    """File paths of one cluster's PKI (all under one directory; private keys 0600)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.ca_crt = root / "ca.crt"
        self.ca_key = root / "ca.key"
        self.serving_crt = root / "apiserver.crt"
        self.serving_key = root / "apiserver.key"
        self.admin_crt = root / "admin.crt"
        self.admin_key = root / "admin.key"
        self.sa_key = root / "sa.key"
        self.sa_pub = root / "sa.pub"

    def exists(self) -> bool:
        """True when every file is present (a restarted cluster reuses its PKI)."""
        return all(p.exists() for p in vars(self).values() if isinstance(p, Path) and p != self.root)


def _write(path: Path, data: bytes, private: bool) -> None:
    if private:  # keys: 0600 also when an existing 0644 file is replaced
        write_private_bytes(path, data)
        return
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)


def _key_pem(key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _cert(
    subject: x509.Name,
    public_key: ec.EllipticCurvePublicKey,
    issuer: x509.Name,
    issuer_key: ec.EllipticCurvePrivateKey,
    *,
    ca: bool = False,
    sans: list[x509.GeneralName] | None = None,
    usage: list[x509.ObjectIdentifier] | None = None,
) -> x509.Certificate:
    now = dt.datetime.now(dt.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if ca:
        builder = builder.add_extension(
            x509.KeyUsage(True, False, False, False, False, True, True, False, False), critical=True
        )
    else:
        builder = builder.add_extension(
            x509.KeyUsage(True, False, True, False, False, False, False, False, False), critical=True
        )
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    if usage:
        builder = builder.add_extension(x509.ExtendedKeyUsage(usage), critical=False)
    return builder.sign(issuer_key, hashes.SHA256())


def make_pki(root: Path, name: str) -> Pki:
    """Create (or reuse) the PKI of cluster ``name`` under ``root``."""
    pki = Pki(root)
    if pki.exists():
        return pki
    root.mkdir(parents=True, exist_ok=True)
    pem = serialization.Encoding.PEM
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"portkit-local-{name}-ca")])
    ca = _cert(ca_name, ca_key.public_key(), ca_name, ca_key, ca=True)
    _write(pki.ca_key, _key_pem(ca_key), True)
    _write(pki.ca_crt, ca.public_bytes(pem), False)

    serving_key = ec.generate_private_key(ec.SECP256R1())
    sans: list[x509.GeneralName] = [
        x509.DNSName("localhost"),
        x509.DNSName("kubernetes"),
        x509.DNSName("kubernetes.default"),
        x509.DNSName("kubernetes.default.svc"),
        x509.DNSName("kubernetes.default.svc.cluster.local"),
        x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
        x509.IPAddress(ipaddress.ip_address("10.96.0.1")),
    ]
    serving = _cert(
        x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kube-apiserver")]),
        serving_key.public_key(),
        ca_name,
        ca_key,
        sans=sans,
        usage=[ExtendedKeyUsageOID.SERVER_AUTH],
    )
    _write(pki.serving_key, _key_pem(serving_key), True)
    _write(pki.serving_crt, serving.public_bytes(pem), False)

    admin_key = ec.generate_private_key(ec.SECP256R1())
    admin = _cert(
        x509.Name(
            [
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, "system:masters"),
                x509.NameAttribute(NameOID.COMMON_NAME, "portkit-admin"),
            ]
        ),
        admin_key.public_key(),
        ca_name,
        ca_key,
        usage=[ExtendedKeyUsageOID.CLIENT_AUTH],
    )
    _write(pki.admin_key, _key_pem(admin_key), True)
    _write(pki.admin_crt, admin.public_bytes(pem), False)

    sa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    _write(pki.sa_key, _key_pem(sa_key), True)
    _write(
        pki.sa_pub,
        sa_key.public_key().public_bytes(pem, serialization.PublicFormat.SubjectPublicKeyInfo),
        False,
    )
    return pki


def issue_node_certs(pki: Pki, node: str, node_ip: str, dest: Path) -> tuple[Path, Path, Path, Path]:
    """Certificates of a real node signed by the cluster CA: the kubelet's serving certificate (IP SAN
    ``node_ip``) and its client certificate (``system:node:<node>`` in ``system:nodes``, what the API
    server's Node authorizer expects). Returns (serving crt, serving key, client crt, client key)."""
    dest.mkdir(parents=True, exist_ok=True)
    pem = serialization.Encoding.PEM
    ca_key = serialization.load_pem_private_key(pki.ca_key.read_bytes(), password=None)
    if not isinstance(ca_key, ec.EllipticCurvePrivateKey):
        raise TypeError(f"{pki.ca_key} is not the EC key portkit makes")
    ca_name = x509.load_pem_x509_certificate(pki.ca_crt.read_bytes()).subject
    serving_key = ec.generate_private_key(ec.SECP256R1())
    serving = _cert(
        x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, node)]),
        serving_key.public_key(),
        ca_name,
        ca_key,
        sans=[x509.DNSName(node), x509.IPAddress(ipaddress.ip_address(node_ip))],
        usage=[ExtendedKeyUsageOID.SERVER_AUTH],
    )
    client_key = ec.generate_private_key(ec.SECP256R1())
    client = _cert(
        x509.Name(
            [
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, "system:nodes"),
                x509.NameAttribute(NameOID.COMMON_NAME, f"system:node:{node}"),
            ]
        ),
        client_key.public_key(),
        ca_name,
        ca_key,
        usage=[ExtendedKeyUsageOID.CLIENT_AUTH],
    )
    paths = (dest / "kubelet.crt", dest / "kubelet.key", dest / "client.crt", dest / "client.key")
    _write(paths[0], serving.public_bytes(pem), False)
    _write(paths[1], _key_pem(serving_key), True)
    _write(paths[2], client.public_bytes(pem), False)
    _write(paths[3], _key_pem(client_key), True)
    return paths
