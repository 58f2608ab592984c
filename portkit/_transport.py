"""HTTP transport of one Cluster: connections, TLS, proxies and credentials from a kubeconfig; typed errors.

Built from a ``kubernetes.client.Configuration`` loaded for this Cluster only (never the process-global
one). Requests go over keep-alive :mod:`http.client` connections (:mod:`portkit._http`), or through
urllib3's proxy managers when a proxy applies, chosen exactly as the kubernetes client chooses: the
kubeconfig's ``proxy-url`` or ``HTTPS_PROXY``/``HTTP_PROXY`` from the environment, unless the server
matches ``NO_PROXY``; ``socks5://``/``socks5h://``/``socks4(a)://`` proxies need PySocks
(``pip install 'portkit[socks]'``).

TLS: the certificate is checked against the server name (or the kubeconfig's ``tls-server-name``) in
its subjectAltName only, never its common name; a certificate authority together with
``insecure-skip-tls-verify`` is refused, as kubectl refuses it.

Responses are raw JSON bytes; callers decode what they need with :meth:`Response.json`, which turns a
body that is not JSON into a :class:`ServerResponseError` naming the request.
"""

from __future__ import annotations

import importlib
import json
import ssl
import threading
import warnings
from typing import Any
from urllib.parse import urlsplit

import urllib3

from portkit._http import ConnectionLost, HttpPool, MalformedResponse, check_framing, check_header
from portkit._paths import query_string, safe_path
from portkit._redact import redact_text, redact_url
from portkit.errors import (
    CertificateError,
    ClusterUnreachableError,
    ConfigurationError,
    ServerResponseError,
    api_error_from_status,
)

__all__ = ["Response", "Transport", "tls_context"]


class Response:
    """A finished HTTP response: status, headers and the body bytes, and the request it answers."""

    __slots__ = ("_headers", "_raw_headers", "action", "data", "status")

    def __init__(self, status: int, headers: Any, data: bytes, action: str = "") -> None:
        self.status = status
        self._raw_headers = headers
        self._headers: dict[str, str] | None = None
        self.data = data
        self.action = action

    @property
    def headers(self) -> dict[str, str]:
        """The response headers (repeated ones joined with ``, ``)."""
        if self._headers is None:
            joined: dict[str, str] = {}
            for key, value in self._raw_headers.items():
                joined[key] = f"{joined[key]}, {value}" if key in joined else str(value)
            self._headers = joined
        return self._headers

    def json(self) -> Any:
        """The body decoded as JSON (None for an empty body).

        Raises:
            ServerResponseError: the body is not JSON (an HTML error page, a truncated document...).
        """
        if not self.data:
            return None
        try:
            return json.loads(self.data)
        except (ValueError, RecursionError) as exc:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
            kind = str(self._raw_headers.get("content-type") or "no content type")[:60]
            raise ServerResponseError(
                f"{self.action or 'request'}: the API server answered HTTP {self.status} with a body that is "
                f"not JSON ({kind}, {len(self.data)} bytes; {type(exc).__name__}).",
                status=self.status,
                reason="NotJSON",
            ) from None


def tls_context(configuration: Any) -> ssl.SSLContext:
    """The client TLS context for a kubeconfig's cluster and user.

    Verification on: the kubeconfig's CA (or the system's), hostname checked against subjectAltName only.
    ``insecure-skip-tls-verify``: no verification at all. Both a CA and insecure: refused.

    Raises:
        ConfigurationError: both a CA and insecure-skip-tls-verify, or TLS files that cannot be loaded.
    """
    cfg = configuration
    ca_file = getattr(cfg, "ssl_ca_cert", None) or None
    ca_data = getattr(cfg, "ca_cert_data", None) or None
    if not cfg.verify_ssl and (ca_file or ca_data):
        raise ConfigurationError(
            "The kubeconfig's cluster sets both a certificate authority (certificate-authority or "
            "certificate-authority-data) and insecure-skip-tls-verify: true. kubectl refuses this too "
            '("specifying a root certificates file with the insecure flag is not allowed").',
            hint="Remove insecure-skip-tls-verify so the server is verified with that CA (recommended), or "
            "remove the certificate-authority entry if you really mean to skip verification.",
        )
    try:
        if cfg.verify_ssl:
            context = ssl.create_default_context(cafile=ca_file, cadata=ca_data)
            context.check_hostname = True
            context.hostname_checks_common_name = False  # subjectAltName only, as Go's crypto/tls
        else:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        if cfg.cert_file:
            context.load_cert_chain(cfg.cert_file, cfg.key_file or None)
    except (OSError, ssl.SSLError, ValueError) as exc:
        raise ConfigurationError(
            f"Cannot load the TLS files of the kubeconfig ({type(exc).__name__}: {str(exc)[:200]}).",
            hint="Check the certificate-authority and client certificate/key entries of the kubeconfig.",
        ) from exc
    return context


def _scrub(text: str, configuration: Any) -> str:
    """``text`` with the userinfo of the server and proxy URLs (and their passwords alone) replaced by ``***``."""
    for url in (str(getattr(configuration, "host", "") or ""), str(getattr(configuration, "proxy", "") or "")):
        try:
            parts = urlsplit(url)
            secrets = [parts.netloc.rpartition("@")[0] if "@" in parts.netloc else "", parts.password or ""]
        except ValueError:
            secrets = []
        if redact_url(url) != url:
            text = text.replace(url, redact_url(url))
        for secret in secrets:
            if secret:
                text = text.replace(secret, "***")
    return redact_text(text)


def _uses_proxy(configuration: Any, host: str) -> str | None:
    """The proxy URL the kubernetes client would use for ``host``, or None (NO_PROXY honoured)."""
    proxy = getattr(configuration, "proxy", None)
    if not proxy:
        return None
    rest: Any = importlib.import_module("kubernetes.client.rest")  # the kubernetes client's own NO_PROXY rules
    if rest.should_bypass_proxies(host, getattr(configuration, "no_proxy", None) or ""):
        return None
    return str(proxy)


class Transport:
    """Sends requests to one API server with its credentials.

    Args:
        configuration: a ``kubernetes.client.Configuration`` (host, TLS files, token hook, proxy).
        maxsize: connections kept open (size it to the number of worker threads).
        timeout: read timeout in seconds for one request.

    Raises:
        ConfigurationError: the server URL, TLS settings or proxy cannot be used.
    """

    def __init__(self, configuration: Any, *, maxsize: int = 16, timeout: float = 60.0) -> None:
        self._cfg = configuration
        self._auth_lock = threading.Lock()
        self._auth_seen: dict[str, str] = {}
        raw_host = str(configuration.host).rstrip("/")
        self.host: str = redact_url(raw_host)  # what errors and reprs show
        try:
            url = urlsplit(raw_host)
            port = url.port or (443 if url.scheme == "https" else 80)
        except ValueError:
            url, port = None, 0
        if url is None or url.scheme not in ("http", "https") or not url.hostname:
            raise ConfigurationError(
                f"The API server address {self.host!r} is not an http(s) URL.",
                hint="Fix the cluster's server in the kubeconfig.",
            )
        self._prefix = url.path.rstrip("/")
        if self._prefix:
            try:
                safe_path(self._prefix)
            except ConfigurationError:
                raise ConfigurationError(
                    f"The path of the API server address {self.host!r} holds characters that are not percent-encoded.",
                    hint="Fix the cluster's server in the kubeconfig.",
                ) from None
        tls = tls_context(configuration) if url.scheme == "https" else None
        server_name = getattr(configuration, "tls_server_name", None) or None
        netloc = f"[{url.hostname}]" if ":" in url.hostname else url.hostname
        self._origin = f"{url.scheme}://{netloc}:{port}"  # no userinfo: it is never sent anywhere
        self._fast: HttpPool | None = None
        self._pool: urllib3.PoolManager | None = None
        self.proxy: str | None = None
        proxy = _uses_proxy(configuration, raw_host)
        if proxy:
            self.proxy = redact_url(proxy)
            self._pool = self._proxy_manager(proxy, tls, server_name, maxsize, timeout)
        else:
            self._fast = HttpPool(
                url.hostname, port, tls=tls, server_hostname=server_name, maxsize=maxsize, read_timeout=timeout
            )

    def _proxy_manager(
        self, proxy: str, tls: ssl.SSLContext | None, server_name: str | None, maxsize: int, timeout: float
    ) -> urllib3.PoolManager:
        """urllib3's manager for ``proxy``, set up as the kubernetes client does (TLS from :func:`tls_context`)."""
        rest: Any = importlib.import_module("kubernetes.client.rest")
        cfg = self._cfg
        kwargs: dict[str, Any] = {
            "num_pools": 4,
            "maxsize": maxsize,
            "block": False,
            "retries": False,
            "timeout": urllib3.Timeout(connect=10.0, read=timeout),
        }
        if tls is not None:
            kwargs["ssl_context"] = tls
            kwargs["cert_reqs"] = ssl.CERT_REQUIRED if cfg.verify_ssl else ssl.CERT_NONE
            if server_name:
                kwargs["server_hostname"] = server_name
        shown = redact_url(proxy)
        try:
            if rest.is_socks_proxy_url(proxy):
                try:
                    with warnings.catch_warnings():  # urllib3 warns before it raises ImportError
                        warnings.simplefilter("ignore")
                        from urllib3.contrib.socks import SOCKSProxyManager
                except ImportError:
                    raise ConfigurationError(
                        f"The proxy {shown} is a SOCKS proxy, and SOCKS support needs the PySocks package, "
                        "which is not installed.",
                        hint="Install it with `pip install 'portkit[socks]'` (or `pip install PySocks`), or use "
                        "an HTTP proxy.",
                    ) from None
                manager: urllib3.PoolManager = SOCKSProxyManager(
                    proxy, headers=getattr(cfg, "proxy_headers", None), **kwargs
                )
                return manager
            proxy_ssl = getattr(cfg, "proxy_ssl_context", None)
            if proxy_ssl is not None:
                kwargs["proxy_ssl_context"] = proxy_ssl
            return urllib3.ProxyManager(proxy, proxy_headers=getattr(cfg, "proxy_headers", None), **kwargs)
        except ConfigurationError:
            raise
        except (urllib3.exceptions.HTTPError, ValueError, TypeError) as exc:
            raise ConfigurationError(
                f"The proxy {shown} cannot be used ({type(exc).__name__}).",
                hint="Fix the proxy-url of the kubeconfig's cluster, or HTTPS_PROXY/HTTP_PROXY/NO_PROXY in the "
                "environment (http://, https://, socks5://, socks5h://, socks4:// and socks4a:// are supported).",
            ) from None

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
            if headers != self._auth_seen:
                for key, value in headers.items():
                    try:
                        check_header(str(key), str(value))
                    except ValueError:
                        raise ConfigurationError(
                            "The credentials of the kubeconfig's user cannot be sent: the token (or password) "
                            "holds a line break or another character HTTP headers cannot carry.",
                            hint="Fix the token, token file or exec plugin output of the kubeconfig's user.",
                        ) from None
                self._auth_seen = dict(headers)
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

        ``path`` must be made of percent-encoded segments (build it with ``ApiResource.path()``); query
        values are percent-encoded here.

        Raises:
            InvalidNameError: ``path`` holds characters that are not percent-encoded.
            ClusterUnreachableError: the server could not be reached or the connection broke off.
            CertificateError: the server's certificate did not verify.
            ServerResponseError: the answer was not well-formed HTTP.
            ApiError: the server answered with an error status (the subclass says which).
        """
        what = action or f"{method} {path}"
        target = self._prefix + safe_path(path)
        encoded = query_string(query)
        if encoded:
            target += "?" + encoded
        headers = {"Accept": accept, "User-Agent": "portkit"}
        headers.update(self._auth_headers())
        if content_type:
            headers["Content-Type"] = content_type
        try:
            if self._fast is not None:
                raw = self._fast.request(method, target, headers, body, timeout=timeout)
                status, response_headers, data = raw.status, raw.headers, raw.body
            else:
                status, response_headers, data = self._via_proxy(method, target, headers, body, timeout)
        except MalformedResponse as exc:
            raise ServerResponseError(
                f"{what}: the API server at {self.host} sent a malformed HTTP response ({exc}).",
                reason="MalformedResponse",
            ) from None
        except ssl.SSLCertVerificationError as exc:
            raise self._certificate_error(what, exc) from None
        except urllib3.exceptions.SSLError as exc:
            cause = exc.__cause__ or (exc.args[0] if exc.args else None)
            if isinstance(cause, ssl.SSLCertVerificationError):
                raise self._certificate_error(what, cause) from None
            raise self._unreachable(what, exc) from None
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise self._unreachable(what, exc) from None
        response = Response(status, response_headers, data, what)
        if 200 <= status < 300:
            return response
        raise api_error_from_status(status, data, action=what, headers=response.headers)

    def _via_proxy(
        self, method: str, target: str, headers: dict[str, str], body: bytes | None, timeout: float | None
    ) -> tuple[int, Any, bytes]:
        assert self._pool is not None
        kwargs: dict[str, Any] = {}
        if timeout is not None:
            kwargs["timeout"] = urllib3.Timeout(connect=10.0, read=timeout)
        raw = self._pool.request(
            method,
            self._origin + target,
            body=body,
            headers=headers,
            preload_content=False,
            redirect=False,
            **kwargs,
        )
        try:
            check_framing(raw.status, raw.headers.getlist("content-length"), raw.headers.getlist("transfer-encoding"))
            data = raw.read()
        except BaseException:
            raw.close()
            raise
        raw.release_conn()
        return int(raw.status), raw.headers, bytes(data)

    def _certificate_error(self, what: str, exc: ssl.SSLCertVerificationError) -> CertificateError:
        reason = str(getattr(exc, "verify_message", "") or exc)[:200]
        return CertificateError(
            f"{what}: the TLS certificate of the API server at {self.host} did not verify: {reason}."
        )

    def _unreachable(self, what: str, exc: BaseException) -> ClusterUnreachableError:
        detail = _scrub(f"{type(exc).__name__}: {str(exc)[:200]}", self._cfg)
        via = f" through the proxy {self.proxy}" if self.proxy else ""
        if isinstance(exc, ConnectionLost):
            return ClusterUnreachableError(
                f"{what}: the connection to the API server at {self.host}{via} broke off ({detail})."
            )
        return ClusterUnreachableError(f"{what}: cannot reach the API server at {self.host}{via} ({detail}).")

    def close(self) -> None:
        """Close pooled connections."""
        if self._fast is not None:
            self._fast.close()
        if self._pool is not None:
            self._pool.clear()
