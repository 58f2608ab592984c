"""Encryption of Secret values at rest in bundles (Fernet; needs ``pip install 'portkit[crypto]'``)."""

from __future__ import annotations

from typing import Any

from portkit.errors import BundleError, ConfigurationError

__all__ = ["ENCRYPTED_PREFIX", "Cipher", "generate_key"]

#: Prefix of an encrypted Secret value in an object file.
ENCRYPTED_PREFIX = "portkit-fernet:"

Manifest = dict[str, Any]


def generate_key() -> str:
    """A new random Fernet key (url-safe base64 text) for :meth:`Bundle.save` / ``export(encryption_key=)``."""
    key: bytes = _fernet_module().Fernet.generate_key()
    return key.decode("ascii")


def _fernet_module() -> Any:
    try:
        from cryptography import fernet
    except ImportError as exc:  # pragma: no cover - depends on the installation
        raise ConfigurationError(
            "Encrypting Secrets needs the 'cryptography' package.",
            hint="Install it with: pip install 'portkit[crypto]'.",
        ) from exc
    return fernet


class Cipher:
    """Fernet encryption of Secret values (``data`` and ``stringData``)."""

    def __init__(self, key: str | bytes) -> None:
        module = _fernet_module()
        self._invalid = module.InvalidToken
        try:
            self._fernet = module.Fernet(key.encode("ascii") if isinstance(key, str) else key)
        except (ValueError, TypeError, UnicodeEncodeError):
            raise ConfigurationError(
                "The bundle encryption key is not a Fernet key (32 url-safe base64-encoded bytes).",
                hint="Make one with portkit.bundle.generate_key() and keep it safe.",
            ) from None

    def encrypt(self, obj: Manifest) -> Manifest:
        out = dict(obj)
        for field in ("data", "stringData"):
            values = obj.get(field)
            if isinstance(values, dict):
                out[field] = {
                    k: ENCRYPTED_PREFIX + self._fernet.encrypt(str(v).encode("utf-8")).decode("ascii")
                    for k, v in values.items()
                }
        return out

    def decrypt(self, obj: Manifest, *, where: str) -> Manifest:
        for field in ("data", "stringData"):
            values = obj.get(field)
            if not isinstance(values, dict):
                continue
            for k, v in values.items():
                if isinstance(v, str) and v.startswith(ENCRYPTED_PREFIX):
                    try:
                        values[k] = self._fernet.decrypt(v[len(ENCRYPTED_PREFIX) :].encode("ascii")).decode()
                    except (self._invalid, ValueError):
                        raise BundleError(
                            f"{where}: the encryption key does not decrypt this Secret.",
                            hint="Use the key the bundle was written with.",
                        ) from None
        return obj
