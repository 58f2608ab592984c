"""HTTP transport of one Cluster: urllib3 pool, TLS and credentials from a kubeconfig, typed errors.

Built from a ``kubernetes.client.Configuration`` loaded for this Cluster only (never the process-global
one). Responses are raw JSON bytes; callers decode what they need.
"""

from __future__ import annotations

import json
import ssl
import threading
from typing import Any
from urllib.parse import urlencode

import urllib3

from portkit.errors import ClusterUnreachableError, api_error_from_status

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
        proxy = getattr(configuration, "proxy", None)
        self._pool: urllib3.PoolManager = (
            urllib3.ProxyManager(proxy, **kwargs) if proxy else urllib3.PoolManager(**kwargs)
        )

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
        url = self.host + path
        if query:
            url += "?" + urlencode({k: v for k, v in query.items() if v is not None and v != ""})
        headers = {"Accept": accept, "User-Agent": "portkit"}
        headers.update(self._auth_headers())
        if content_type:
            headers["Content-Type"] = content_type
        kwargs: dict[str, Any] = {}
        if timeout is not None:
            kwargs["timeout"] = urllib3.Timeout(connect=10.0, read=timeout)
        try:
            raw = self._pool.request(method, url, body=body, headers=headers, preload_content=True, **kwargs)
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise ClusterUnreachableError(
                f"{action or method + ' ' + path}: cannot reach the API server at {self.host} "
                f"({type(exc).__name__}: {str(exc)[:200]})."
            ) from exc
        response = Response(raw.status, dict(raw.headers), raw.data)
        if 200 <= raw.status < 300:
            return response
        raise api_error_from_status(
            raw.status, raw.data, action=action or f"{method} {path}", headers=response.headers
        )

    def close(self) -> None:
        """Close pooled connections."""
        self._pool.clear()
