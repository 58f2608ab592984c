"""Encryption of Secret values at rest in bundles (needs ``pip install 'portkit[crypto]'``).

Bundle format 2 (written now): **AES-256-GCM**, one ciphertext per value of a Secret's ``data``,
``stringData`` and ``metadata.annotations``, each bound to its place: the associated data is the object's
identity (apiVersion, kind, namespace, name) and the field (a JSON pointer such as ``/data/password``). A
ciphertext copied into another Secret, or to another key of the same one, fails authentication. The AES
key and a key id (recorded in the manifest, so that a wrong key is told apart from a tampered value) are
derived with HKDF-SHA256 from the user's key: 32 url-safe base64-encoded random bytes, the same text as
a Fernet key, so keys made for format 1 keep working.

Bundle format 1 (read only): Fernet tokens in ``data`` and ``stringData`` (annotations were not encrypted,
and ciphertexts were not bound to their object). :class:`LegacyFernetCipher` reads them; saving writes
format 2.

Keys are never shown: not in reprs, errors or logs. ``$PORTKIT_BUNDLE_KEY`` is read as the default key;
the CLI moves it out of the process environment while it runs (:func:`key_taken_from_environment`), so no
child process (velero, kubeconfig exec plugins) inherits it.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import os
import secrets
import threading
from collections.abc import Iterator, Mapping
from typing import Any

from portkit.errors import BundleError, ConfigurationError

__all__ = [
    "AEAD_PREFIX",
    "ENCRYPTED_FIELDS",
    "ENCRYPTED_PREFIX",
    "FERNET_PREFIX",
    "KEY_ENV",
    "SCHEME",
    "Cipher",
    "LegacyFernetCipher",
    "environment_key",
    "generate_key",
    "key_taken_from_environment",
    "refuse_ciphertext",
    "resolve_key",
]

Manifest = dict[str, Any]

#: Environment variable holding the default key for Secret encryption.
KEY_ENV = "PORTKIT_BUNDLE_KEY"
#: The scheme format 2 writes (``encryption.scheme`` in the manifest).
SCHEME = "aes-256-gcm"
#: Prefix of a format-2 ciphertext in an object file.
AEAD_PREFIX = "portkit-aead:"
#: Prefix of a format-1 (Fernet) ciphertext in an object file.
FERNET_PREFIX = "portkit-fernet:"
#: Kept for code that imported it: the prefix of the values this portkit writes.
ENCRYPTED_PREFIX = AEAD_PREFIX
#: The fields of a Secret whose values are encrypted (format 2), as paths from the object's root.
ENCRYPTED_FIELDS: tuple[tuple[str, ...], ...] = (("data",), ("stringData",), ("metadata", "annotations"))
_LEGACY_FIELDS: tuple[tuple[str, ...], ...] = (("data",), ("stringData",))

_NONCE_BYTES = 12
_AAD_PREFIX = b"portkit bundle format 2\x00"
_BAD_KEY = (
    "The bundle encryption key is not a valid key: it must be 32 url-safe base64-encoded random bytes "
    "(the format of a Fernet key)."
)
_KEY_HINT = "Make one with portkit.bundle.generate_key() and keep it like a password."

_env_lock = threading.Lock()
_env_key: str | None = None


def generate_key() -> str:
    """A new random key (32 bytes, url-safe base64 text) for :meth:`Bundle.save` / ``export(encryption_key=)``."""
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode("ascii")


# ------------------------------------------------------------------------------------------ the key


def environment_key() -> str | None:
    """The key from ``$PORTKIT_BUNDLE_KEY`` (or the one the CLI took out of the environment), if any."""
    with _env_lock:
        if _env_key is not None:
            return _env_key
    return os.environ.get(KEY_ENV) or None


def resolve_key(key: str | bytes | None) -> str | bytes | None:
    """``key`` if given, else the key from the environment (see :func:`environment_key`)."""
    return key if key else environment_key()


@contextlib.contextmanager
def key_taken_from_environment() -> Iterator[None]:
    """While inside: ``$PORTKIT_BUNDLE_KEY`` is removed from ``os.environ`` and kept in memory only.

    portkit still uses it as the default key, but no child process started meanwhile (the velero CLI,
    kubeconfig exec plugins run by the kubernetes client) can inherit it. The variable is put back on exit.
    """
    global _env_key
    value = os.environ.pop(KEY_ENV, None)
    with _env_lock:
        previous, _env_key = _env_key, (value or _env_key)
    try:
        yield
    finally:
        with _env_lock:
            _env_key = previous
        if value is not None:
            os.environ[KEY_ENV] = value


def _key_bytes(key: str | bytes) -> bytes:
    try:
        text = key.encode("ascii") if isinstance(key, str) else bytes(key)
        raw = base64.urlsafe_b64decode(text.strip())
    except (binascii.Error, ValueError, UnicodeEncodeError, TypeError):
        raise ConfigurationError(_BAD_KEY, hint=_KEY_HINT) from None
    if len(raw) != 32:
        raise ConfigurationError(_BAD_KEY, hint=_KEY_HINT)
    return raw


def _crypto() -> Any:
    try:
        from cryptography import exceptions, fernet
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.ciphers import aead
        from cryptography.hazmat.primitives.kdf import hkdf
    except ImportError as exc:  # pragma: no cover - depends on the installation
        raise ConfigurationError(
            "Encrypting Secrets needs the 'cryptography' package.",
            hint="Install it with: pip install 'portkit[crypto]'.",
        ) from exc

    class _Modules:
        InvalidTag = exceptions.InvalidTag
        InvalidToken = fernet.InvalidToken
        Fernet = fernet.Fernet
        AESGCM = aead.AESGCM
        HKDF = hkdf.HKDF
        SHA256 = hashes.SHA256

    return _Modules


def _derive(raw: bytes, info: bytes, length: int) -> bytes:
    c = _crypto()
    derived: bytes = c.HKDF(algorithm=c.SHA256(), length=length, salt=None, info=info).derive(raw)
    return derived


# ---------------------------------------------------------------------------------------- helpers


def _pointer(path: tuple[str, ...], key: str) -> str:
    return "/" + "/".join(p.replace("~", "~0").replace("/", "~1") for p in (*path, key))


def _maps(obj: Mapping[str, Any], fields: tuple[tuple[str, ...], ...]) -> Iterator[tuple[tuple[str, ...], Any]]:
    for path in fields:
        cur: Any = obj
        for step in path:
            cur = cur.get(step) if isinstance(cur, Mapping) else None
        if cur is not None:
            yield path, cur


def _identity(obj: Mapping[str, Any]) -> dict[str, str]:
    meta = obj.get("metadata") if isinstance(obj.get("metadata"), Mapping) else {}
    assert isinstance(meta, Mapping)
    return {
        "apiVersion": str(obj.get("apiVersion") or ""),
        "kind": str(obj.get("kind") or ""),
        "namespace": str(meta.get("namespace") or ""),
        "name": str(meta.get("name") or ""),
    }


def _aad(identity: Mapping[str, str], field: str) -> bytes:
    return _AAD_PREFIX + json.dumps({**identity, "field": field}, sort_keys=True, separators=(",", ":")).encode()


def _where_field(where: str, path: tuple[str, ...], key: str) -> str:
    return f"{where}: {'.'.join(path)}[{key}]"


def refuse_ciphertext(obj: Mapping[str, Any], *, where: str) -> None:
    """Raise :class:`BundleError` when a Secret read as plain text holds a portkit ciphertext.

    A bundle whose manifest does not mark the object encrypted (flags removed, or a ciphertext pasted into
    a plain bundle) must not hand ciphertext to the cluster as if it were the Secret's value.
    """
    for path, values in _maps(obj, ENCRYPTED_FIELDS):
        if not isinstance(values, Mapping):
            continue
        for key, value in values.items():
            if isinstance(value, str) and value.startswith((AEAD_PREFIX, FERNET_PREFIX)):
                raise BundleError(
                    f"{_where_field(where, path, str(key))} holds an encrypted value, but {where} is not marked "
                    "encrypted in manifest.yaml (the 'encrypted' flag or the manifest's 'encryption' section "
                    "was removed or edited).",
                    hint="Restore the bundle as it was written (or re-export it); never load ciphertext as data.",
                )


# ----------------------------------------------------------------------------------------- ciphers


class Cipher:
    """AES-256-GCM encryption of a Secret's values, each bound to its object and field (bundle format 2).

    Args:
        key: 32 url-safe base64-encoded bytes (:func:`generate_key`).

    Raises:
        ConfigurationError: the key is not such a key, or ``cryptography`` is not installed.
    """

    scheme = SCHEME

    def __init__(self, key: str | bytes) -> None:
        raw = _key_bytes(key)
        c = _crypto()
        self._invalid = c.InvalidTag
        self._aead = c.AESGCM(_derive(raw, b"portkit bundle format 2: aes-256-gcm key", 32))
        self.key_id = _derive(raw, b"portkit bundle format 2: key id", 8).hex()

    def __repr__(self) -> str:
        return f"<Cipher {self.scheme} key_id={self.key_id}>"

    def encrypt(self, obj: Mapping[str, Any]) -> Manifest:
        """A copy of the Secret with every value of data, stringData and annotations encrypted.

        Raises:
            BundleError: one of these fields is not a mapping (such a Secret could not be read back).
        """
        identity = _identity(obj)
        out: Manifest = dict(obj)
        for path, values in _maps(obj, ENCRYPTED_FIELDS):
            if not isinstance(values, Mapping):
                raise BundleError(
                    f"Secret {identity['namespace']}/{identity['name']}: {'.'.join(path)} is not a mapping; "
                    "it cannot be encrypted.",
                    hint="Fix the manifest (kubectl would reject it too).",
                )
            sealed: dict[str, Any] = {}
            for key, value in values.items():
                if value is None:
                    sealed[key] = None
                    continue
                nonce = secrets.token_bytes(_NONCE_BYTES)
                data = self._aead.encrypt(nonce, str(value).encode("utf-8"), _aad(identity, _pointer(path, str(key))))
                sealed[key] = AEAD_PREFIX + base64.urlsafe_b64encode(nonce + data).decode("ascii")
            holder = out
            for step in path[:-1]:
                holder[step] = dict(holder[step])
                holder = holder[step]
            holder[path[-1]] = sealed
        return out

    def decrypt(self, obj: Manifest, *, where: str) -> Manifest:
        """Decrypt a Secret read from ``where`` in place; every value must be a ciphertext made for its place.

        Raises:
            BundleError: a value is not encrypted (refused in an encrypted bundle), or does not authenticate
                for this object and field (copied from elsewhere, edited, or another key).
        """
        identity = _identity(obj)
        for path, values in _maps(obj, ENCRYPTED_FIELDS):
            if not isinstance(values, dict):
                raise BundleError(f"{where}: {'.'.join(path)} of an encrypted Secret is not a mapping.")
            for key, value in values.items():
                if value is None:
                    continue
                place = _where_field(where, path, str(key))
                if not isinstance(value, str) or not value.startswith(AEAD_PREFIX):
                    raise BundleError(
                        f"{place} holds a plain value, but the bundle is encrypted: every value of an encrypted "
                        "Secret must be a ciphertext (a value was added or edited by hand).",
                        hint="Restore the bundle as it was written, or re-export it; to change a Secret, edit a "
                        "copy and build a bundle with Bundle.from_manifests().",
                    )
                try:
                    blob = base64.urlsafe_b64decode(value[len(AEAD_PREFIX) :].encode("ascii"))
                    plain = self._aead.decrypt(
                        blob[:_NONCE_BYTES], blob[_NONCE_BYTES:], _aad(identity, _pointer(path, str(key)))
                    )
                    values[key] = plain.decode("utf-8")
                except (self._invalid, binascii.Error, ValueError, UnicodeError):
                    raise BundleError(
                        f"{place}: the encrypted value does not belong here — it was copied from another Secret "
                        "or field, or edited (the key is the bundle's own).",
                        hint="Restore the bundle as it was written, or re-export it.",
                    ) from None
        return obj


class LegacyFernetCipher:
    """Reads bundle format 1: Fernet tokens in a Secret's ``data`` and ``stringData`` (not bound to the object)."""

    scheme = "fernet"

    def __init__(self, key: str | bytes) -> None:
        _key_bytes(key)
        c = _crypto()
        self._invalid = c.InvalidToken
        text = key.encode("ascii") if isinstance(key, str) else key
        self._fernet = c.Fernet(text.strip())

    def __repr__(self) -> str:
        return f"<LegacyFernetCipher {self.scheme}>"

    def decrypt(self, obj: Manifest, *, where: str) -> Manifest:
        """Decrypt in place; a plain value in ``data``/``stringData`` of an encrypted Secret is refused."""
        for path, values in _maps(obj, _LEGACY_FIELDS):
            if not isinstance(values, dict):
                raise BundleError(f"{where}: {'.'.join(path)} of an encrypted Secret is not a mapping.")
            for key, value in values.items():
                if value is None:
                    continue
                place = _where_field(where, path, str(key))
                if not isinstance(value, str) or not value.startswith(FERNET_PREFIX):
                    raise BundleError(
                        f"{place} holds a plain value, but the bundle is encrypted (a value was added or edited).",
                        hint="Restore the bundle as it was written, or re-export it.",
                    )
                try:
                    values[key] = self._fernet.decrypt(value[len(FERNET_PREFIX) :].encode("ascii")).decode("utf-8")
                except (self._invalid, ValueError, UnicodeError):
                    raise BundleError(
                        f"{place}: the encryption key does not decrypt this Secret.",
                        hint="Use the key the bundle was written with.",
                    ) from None
        return obj
