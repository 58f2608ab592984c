"""HTTP transport of one Cluster: urllib3 pool, TLS and credentials from a kubeconfig, typed errors.

Built from a ``kubernetes.client.Configuration`` loaded for this Cluster only (never the process-global
one). Requests go over portkit's lean keep-alive client (:mod:`portkit._http`); through urllib3 when the
kubeconfig names a proxy. Responses are raw JSON bytes; callers decode what they need.
"""

from __future__ import annotations

import json
import ssl
import threading
from typing import Any
from urllib.parse import urlencode, urlsplit

import urllib3

from portkit._http import HttpPool
from portkit.errors import ClusterUnreachableError, ConfigurationError, api_error_from_status

__all__ = ["Response", "Transport"]


class Response:
    """A finished HTTP response: status, headers and the body bytes."""

    __slots__ = ("data", "headers", "status")

    def __init__(self, status: int, headers: dict[str, str], data: bytes) -> None:
        self.status = status
        self.headers = headers
        self.data = data

    def json(self) -> Any:
        """The body decoded as JSON."""
        return json.loads(self.data) if self.data else None


class Transport:
    """Sends requests to one API server with its credentials.

    Args:
        configuration: a ``kubernetes.client.Configuration`` (host, TLS files, token hook).
        maxsize: connections kept open (size it to the number of worker threads).
        timeout: read timeout in seconds for one request.
    """

    def __init__(self, configuration: Any, *, maxsize: int = 16, timeout: float = 60.0) -> None:
        self._cfg = configuration
        self._auth_lock = threading.Lock()
        self.host: str = str(configuration.host).rstrip("/")
        self._timeout = timeout
        proxy = getattr(configuration, "proxy", None)
        self._fast: HttpPool | None = None
        self._pool: urllib3.PoolManager | None = None
        if proxy:
            self._pool = urllib3.ProxyManager(proxy, **self._urllib3_kwargs(maxsize, timeout))
            return
        url = urlsplit(self.host)
        if url.scheme not in ("http", "https") or not url.hostname:
            raise ConfigurationError(
                f"The API server address {self.host!r} is not an http(s) URL.",
                hint="Fix the cluster's server in the kubeconfig.",
            )
        self._prefix = url.path.rstrip("/")
        self._fast = HttpPool(
            url.hostname,
            url.port or (443 if url.scheme == "https" else 80),
            tls=self._tls_context() if url.scheme == "https" else None,
            server_hostname=getattr(configuration, "tls_server_name", None) or None,
            maxsize=maxsize,
            read_timeout=timeout,
        )

    def _tls_context(self) -> ssl.SSLContext:
        cfg = self._cfg
        try:
            if cfg.verify_ssl:
                context = ssl.create_default_context(cafile=cfg.ssl_ca_cert or None)
            else:
                context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
                context.check_hostname = False
                context.verify_mode = ssl.CERT_NONE
            if cfg.cert_file:
                context.load_cert_chain(cfg.cert_file, cfg.key_file or None)
        except (OSError, ssl.SSLError) as exc:
            raise ConfigurationError(
                f"Cannot load the TLS files of the kubeconfig: {exc}.",
                hint="Check the certificate-authority and client certificate/key entries of the kubeconfig.",
            ) from exc
        return context

    def _urllib3_kwargs(self, maxsize: int, timeout: float) -> dict[str, Any]:
        configuration = self._cfg
        kwargs: dict[str, Any] = {
            "num_pools": 4,
            "maxsize": maxsize,
            "block": False,
            "retries": False,
            "timeout": urllib3.Timeout(connect=10.0, read=timeout),
        }
        if self.host.startswith("https"):
            if configuration.verify_ssl:
                kwargs["cert_reqs"] = ssl.CERT_REQUIRED
                if configuration.ssl_ca_cert:
                    kwargs["ca_certs"] = configuration.ssl_ca_cert
            else:
                kwargs["cert_reqs"] = ssl.CERT_NONE
                urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)
            if configuration.cert_file:
                kwargs["cert_file"] = configuration.cert_file
            if configuration.key_file:
                kwargs["key_file"] = configuration.key_file
            server_name = getattr(configuration, "tls_server_name", None)
            if server_name:
                kwargs["server_hostname"] = server_name
        return kwargs

    def _auth_headers(self) -> dict[str, str]:
        with self._auth_lock:  # the kubeconfig token hook (exec plugins) is not thread-safe
            settings = self._cfg.auth_settings()
            headers: dict[str, str] = {}
            for item in settings.values():
                if item.get("in") == "header" and item.get("value"):
                    headers[item["key"]] = item["value"]
            if not headers and getattr(self._cfg, "username", None):
                basic = self._cfg.get_basic_auth_token()
                if basic:
                    headers["authorization"] = basic
            return headers

    def request(
        self,
        method: str,
        path: str,
        *,
        query: dict[str, Any] | None = None,
        body: bytes | None = None,
        content_type: str | None = None,
        accept: str = "application/json",
        action: str | None = None,
        timeout: float | None = None,
    ) -> Response:
        """Send one request; return the response for 2xx, raise a typed ``ApiError`` otherwise.

        Connection failures raise :class:`ClusterUnreachableError`.
        """
        target = path
        encoded = urlencode({k: v for k, v in query.items() if v is not None and v != ""}) if query else ""
        if encoded:
            target += "?" + encoded
        headers = {"Accept": accept, "User-Agent": "portkit"}
        headers.update(self._auth_headers())
        if content_type:
            headers["Content-Type"] = content_type
        try:
            if self._fast is not None:
                status, response_headers, data = self._fast.request(
                    method, self._prefix + target, headers, body, timeout=timeout
                )
            else:
                assert self._pool is not None
                kwargs: dict[str, Any] = {}
                if timeout is not None:
                    kwargs["timeout"] = urllib3.Timeout(connect=10.0, read=timeout)
                raw = self._pool.request(
                    method, self.host + target, body=body, headers=headers, preload_content=True, **kwargs
                )
                status, response_headers, data = raw.status, dict(raw.headers), raw.data
        except (urllib3.exceptions.HTTPError, OSError, ValueError) as exc:
            raise ClusterUnreachableError(
                f"{action or method + ' ' + path}: cannot reach the API server at {self.host} "
                f"({type(exc).__name__}: {str(exc)[:200]})."
            ) from exc
        response = Response(status, response_headers, data)
        if 200 <= status < 300:
            return response
        raise api_error_from_status(status, data, action=action or f"{method} {path}", headers=response_headers)

    def close(self) -> None:
        """Close pooled connections."""
        if self._fast is not None:
            self._fast.close()
        if self._pool is not None:
            self._pool.clear()
