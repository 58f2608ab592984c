"""The API server of the cluster portkit runs in, reached with the pod's service account (in-cluster config).

Like client-go's ``rest.InClusterConfig``: the server is ``https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT``,
the credentials are the service-account token the kubelet mounts at
``/var/run/secrets/kubernetes.io/serviceaccount/token`` and the server is verified with the ``ca.crt`` next
to it. Projected service-account tokens expire and the kubelet replaces the file before they do, so the
token is read again whenever the file changes (and at least once a minute), never cached for the life of
the process.
"""

from __future__ import annotations

import importlib
import logging
import os
import threading
import time
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from portkit.errors import ConfigurationError

__all__ = ["SERVICE_ACCOUNT_DIR", "TokenFile", "in_cluster_possible", "load_in_cluster"]

log = logging.getLogger(__name__)

#: Where the kubelet mounts a pod's service-account credentials.
SERVICE_ACCOUNT_DIR = Path("/var/run/secrets/kubernetes.io/serviceaccount")
HOST_ENV = "KUBERNETES_SERVICE_HOST"
PORT_ENV = "KUBERNETES_SERVICE_PORT"
_MAX_AGE = 60.0  # seconds a token read is trusted without looking at the file again (client-go: 1 minute)


def in_cluster_possible(environ: Mapping[str, str] | None = None, directory: Path | None = None) -> bool:
    """True when this process looks like it runs in a pod: the service host and port are in the
    environment and a service-account token is mounted (client-go's ``inClusterClientConfig.Possible``)."""
    env = os.environ if environ is None else environ
    token = (directory or SERVICE_ACCOUNT_DIR) / "token"
    return bool(env.get(HOST_ENV)) and bool(env.get(PORT_ENV)) and token.is_file()


class TokenFile:
    """A bearer token read from a file, read again when the file changes.

    :meth:`current` is called before every request (from any thread): it costs one ``stat`` and re-reads
    the file only when its identity (inode, size, modification time) changed or the last read is a minute
    old. A rotation by the kubelet (an atomic swap of the ``..data`` symlink) changes the inode. When the
    file cannot be read later on, the last token is kept (and a warning logged once): the old token may
    still be valid, and the next request tries the file again.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._stamp: tuple[int, int, int] | None = None
        self._read_at = 0.0
        self._failing = False
        self._token = self._read()  # a first read that fails is a configuration error

    def _read(self) -> str:
        try:
            stat = self.path.stat()
            text = self.path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigurationError(
                f"Cannot read the service-account token {self.path} ({type(exc).__name__}).",
                hint="Run in a pod whose service account token is mounted (automountServiceAccountToken), or "
                "use a kubeconfig (Cluster.from_kubeconfig).",
            ) from None
        token = text.strip()
        if not token or any(c.isspace() or not c.isprintable() for c in token):
            raise ConfigurationError(
                f"The service-account token {self.path} is empty or not one word of text.",
                hint="Check the pod's service-account token volume.",
            )
        self._stamp = (stat.st_ino, stat.st_size, stat.st_mtime_ns)
        self._read_at = time.monotonic()
        return token

    def current(self) -> str:
        """The token: the one read last, or the file's new content if it changed."""
        with self._lock:
            try:
                stat = self.path.stat()
                stamp: tuple[int, int, int] | None = (stat.st_ino, stat.st_size, stat.st_mtime_ns)
            except OSError:
                stamp = None
            if stamp is not None and stamp == self._stamp and time.monotonic() - self._read_at < _MAX_AGE:
                return self._token
            try:
                token = self._read()
            except ConfigurationError as exc:
                if not self._failing:
                    log.warning("%s Going on with the token read before.", exc.message)
                    self._failing = True
                return self._token
            if token != self._token:
                log.debug("service-account token %s changed: using the new one", self.path)
            self._token, self._failing = token, False
            return self._token


def _join_host_port(host: str, port: str) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def load_in_cluster(environ: Mapping[str, str] | None = None, directory: Path | None = None) -> Any:
    """A ``kubernetes.client.Configuration`` for the cluster this pod runs in.

    Raises:
        ConfigurationError: not in a pod (no service host/port in the environment), or no readable token.
    """
    env = os.environ if environ is None else environ
    where = directory or SERVICE_ACCOUNT_DIR
    host, port = env.get(HOST_ENV, ""), env.get(PORT_ENV, "")
    if not host or not port:
        raise ConfigurationError(
            f"Not running in a Kubernetes pod: {HOST_ENV} and {PORT_ENV} are not set.",
            hint="Use Cluster.from_kubeconfig() outside a cluster, or Cluster.auto() to choose by itself.",
        )
    tokens = TokenFile(where / "token")
    with warnings.catch_warnings():  # imported lazily (slow); its optional SOCKS import warns
        warnings.simplefilter("ignore")
        client: Any = importlib.import_module("kubernetes.client")
    configuration = client.Configuration()
    configuration.host = f"https://{_join_host_port(host, port)}"
    ca = where / "ca.crt"
    if ca.is_file():
        configuration.ssl_ca_cert = str(ca)
    else:  # as client-go: say so, and verify with the system's certificate authorities
        log.warning("No service-account CA at %s: the API server is verified with the system's CAs.", ca)
    configuration.api_key = {"authorization": tokens.current()}
    configuration.api_key_prefix = {"authorization": "Bearer"}

    def refresh(cfg: Any) -> None:
        cfg.api_key["authorization"] = tokens.current()

    configuration.refresh_api_key_hook = refresh
    return configuration
