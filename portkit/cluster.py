"""``Cluster``: one Kubernetes API server, reached with one kubeconfig context.

Everything export and replay need, fast: cached thread-safe discovery (misses cached too), raw-JSON paged
listing, get, server-side apply (field manager, force, dry-run), create, delete, all under one retry
policy for 429/5xx/connection errors that honours Retry-After.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any, Self

import attrs

from portkit import observe
from portkit._redact import redact_text, redact_url
from portkit._retry import RetryNotice, RetryPolicy
from portkit._transport import Response, Transport
from portkit.discovery import ApiResource, Discovery
from portkit.errors import (
    ApiError,
    ConfigurationError,
    ConflictError,
    GoneError,
    NotFoundError,
    PortkitError,
    ServerResponseError,
)
from portkit.model import ObjectRef, get_path, split_api_version

__all__ = ["ApiResource", "Cluster", "ClusterStats", "redact_url", "snapshot_version"]

log = logging.getLogger(__name__)


@attrs.define
class ClusterStats:
    """Counters of the requests one Cluster made (thread-safe increments through ``Cluster``)."""

    requests: int = 0
    retries: int = 0
    writes: int = 0
    throttled: int = 0

    def to_dict(self) -> dict[str, int]:
        """Plain dict form."""
        return attrs.asdict(self)


DEFAULT_TIMEOUT = 60.0
DEFAULT_POOL_SIZE = 32


def _default_kubeconfig() -> str:
    env = os.environ.get("KUBECONFIG")
    if env:
        return env
    return str(Path("~/.kube/config").expanduser())


class Cluster:
    """A Kubernetes cluster reached through one kubeconfig context (or a pod's service account).

    Build it with :meth:`from_kubeconfig`, :meth:`from_dict`, :meth:`in_cluster` or :meth:`auto`. One
    Cluster owns one HTTP connection pool and one discovery cache; it never touches the process-global
    kubernetes client configuration and never writes tokens back to the kubeconfig. Safe to share between
    threads. Use it as a context manager (``with Cluster.from_kubeconfig() as c:``) or call :meth:`close`
    to release its connections.

    Args:
        configuration: a ``kubernetes.client.Configuration`` of this cluster alone.
        name: the context name (shown in reprs, errors and logs).
        kubeconfig: the kubeconfig file it came from, if any.
        retry: how failed requests are retried (default :class:`RetryPolicy()`).
        pool_size: connections kept open to the API server.
        timeout: seconds to wait for one answer of the API server.
    """

    name: str
    kubeconfig: str | None
    server: str
    retry: RetryPolicy
    timeout: float
    pool_size: int
    stats: ClusterStats

    def __init__(
        self,
        configuration: Any,
        *,
        name: str = "",
        kubeconfig: str | None = None,
        retry: RetryPolicy | None = None,
        pool_size: int = DEFAULT_POOL_SIZE,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        self.name = name
        self.kubeconfig = kubeconfig
        # the server URL as shown, logged and recorded (journals, work dirs): without user:password@
        self.server: str = redact_url(str(configuration.host).rstrip("/"))
        self.retry = retry or RetryPolicy()
        self.timeout = timeout
        self.pool_size = pool_size
        self.stats = ClusterStats()
        #: Called (from the thread making the request) before a failed request is tried again, with a
        #: :class:`~portkit._retry.RetryNotice`; the CLI prints ``retrying ... (2/8)`` from it.
        self.on_retry: Callable[[RetryNotice], None] | None = None
        #: True once the API server has answered any request (with data or with an error status).
        self.answered = False
        self._transport = Transport(configuration, maxsize=pool_size, timeout=timeout)
        self._lock = threading.Lock()
        self._discovery: Discovery | None = None
        self._version: str | None = None
        observe.current().track_cluster(self)  # its request counters in the run's metrics, if any

    # -- construction -------------------------------------------------------------------------------
    @classmethod
    def from_kubeconfig(
        cls,
        path: str | os.PathLike[str] | None = None,
        context: str | None = None,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        retry: RetryPolicy | None = None,
        pool_size: int = DEFAULT_POOL_SIZE,
    ) -> Cluster:
        """Connect like kubectl: ``path`` or ``$KUBECONFIG`` or ``~/.kube/config``; ``context`` or the current one.

        Args:
            path: the kubeconfig file (``$KUBECONFIG`` may list several, joined with ``:``).
            context: the context to use; default the kubeconfig's current context.
            timeout: seconds to wait for one answer of the API server.
            retry: how failed requests are retried (default :class:`RetryPolicy()`).
            pool_size: connections kept open to the API server (size it to the worker threads).

        Raises:
            ConfigurationError: the kubeconfig is missing, unreadable or has no such context.
        """
        from portkit._kubeconfig import load_configuration

        config_file = str(path) if path is not None else _default_kubeconfig()
        first = config_file.split(os.pathsep)[0]
        if not Path(first).expanduser().is_file():
            raise ConfigurationError(
                f"No kubeconfig at {first}.",
                hint="Pass --kubeconfig / path=, set $KUBECONFIG, or create ~/.kube/config.",
            )
        try:
            configuration, name = load_configuration(config_file, context)
        except PortkitError:
            raise
        except Exception as exc:  # the loader raises ConfigException, ValueError, KeyError, YAML errors
            raise ConfigurationError(
                f"Cannot use kubeconfig {config_file}"
                + (f" context {context!r}" if context else "")
                + f": {redact_text(str(exc)[:300])}",
                hint="Check the file with `kubectl config view` and the context name with "
                "`kubectl config get-contexts`.",
            ) from exc
        log.debug("kubeconfig %s, context %s", config_file, name or "(none)")
        return cls(configuration, name=name, kubeconfig=config_file, timeout=timeout, retry=retry, pool_size=pool_size)

    @classmethod
    def from_dict(
        cls,
        config: Mapping[str, Any],
        context: str | None = None,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        retry: RetryPolicy | None = None,
        pool_size: int = DEFAULT_POOL_SIZE,
    ) -> Cluster:
        """Connect with a kubeconfig given as a dict (``yaml.safe_load`` of one, or built in code).

        File paths in it (``certificate-authority``, ``client-certificate``, ...) are relative to the
        current directory; ``*-data`` entries need no files. The dict is not changed and not kept.

        Args:
            config: the kubeconfig (``clusters``, ``users``, ``contexts``, ``current-context``).
            context: the context to use; default its ``current-context``.
            timeout, retry, pool_size: as for :meth:`from_kubeconfig`.

        Raises:
            ConfigurationError: not a kubeconfig, or no such context.
        """
        if not isinstance(config, Mapping) or not isinstance(config.get("contexts", []), list):
            raise ConfigurationError(
                f"Cluster.from_dict needs a kubeconfig as a dict, not a {type(config).__name__}.",
                hint="Pass the parsed kubeconfig (clusters, users, contexts, current-context).",
            )
        from portkit._kubeconfig import load_configuration_dict

        try:
            configuration, name = load_configuration_dict(config, context)
        except PortkitError:
            raise
        except Exception as exc:  # the loader raises ConfigException, ValueError, KeyError, TypeError
            raise ConfigurationError(
                "Cannot use the kubeconfig dict"
                + (f" context {context!r}" if context else "")
                + f": {redact_text(str(exc)[:300])}",
                hint="Check its clusters, users and contexts (the same form as `kubectl config view --raw`).",
            ) from exc
        log.debug("kubeconfig from a dict, context %s", name or "(none)")
        return cls(configuration, name=name, timeout=timeout, retry=retry, pool_size=pool_size)

    @classmethod
    def in_cluster(
        cls,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        retry: RetryPolicy | None = None,
        pool_size: int = DEFAULT_POOL_SIZE,
    ) -> Cluster:
        """Connect to the cluster this process runs in, as its pod's service account (like client-go's
        ``rest.InClusterConfig``).

        The server is ``https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT``, verified with the
        mounted ``ca.crt``; the token is the mounted service-account token, read again whenever the kubelet
        rotates it (a Cluster can live longer than one token).

        Raises:
            ConfigurationError: not in a pod (no service environment variables or no token).
        """
        from portkit import _incluster

        configuration = _incluster.load_in_cluster()
        log.debug("in-cluster configuration: %s", configuration.host)
        return cls(configuration, name="in-cluster", timeout=timeout, retry=retry, pool_size=pool_size)

    @classmethod
    def auto(
        cls,
        path: str | os.PathLike[str] | None = None,
        context: str | None = None,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        retry: RetryPolicy | None = None,
        pool_size: int = DEFAULT_POOL_SIZE,
    ) -> Cluster:
        """The cluster a program means when it names none: the in-cluster configuration in a pod, else the
        kubeconfig.

        The order is that of client-go based tools (controller-runtime's ``GetConfig``): ``path`` or
        ``context`` given, or ``$KUBECONFIG`` set: that kubeconfig; else in a pod (service environment and a
        mounted token): :meth:`in_cluster`; else ``~/.kube/config``.

        Raises:
            ConfigurationError: the configuration chosen cannot be used (no ``~/.kube/config`` outside a pod).
        """
        if cls.in_a_pod(path, context):
            log.info("running in a pod: using its service account (in-cluster configuration)")
            return cls.in_cluster(timeout=timeout, retry=retry, pool_size=pool_size)
        return cls.from_kubeconfig(path, context, timeout=timeout, retry=retry, pool_size=pool_size)

    @staticmethod
    def in_a_pod(path: str | os.PathLike[str] | None = None, context: str | None = None) -> bool:
        """True when :meth:`auto` would use the in-cluster configuration: no ``path``, ``context`` or
        ``$KUBECONFIG``, the service environment variables set and a service-account token mounted."""
        from portkit import _incluster

        explicit = path is not None or context is not None or bool(os.environ.get("KUBECONFIG"))
        return not explicit and _incluster.in_cluster_possible()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<Cluster {self.name or '?'} {self.server}>"

    def close(self) -> None:
        """Release pooled connections."""
        self._transport.close()

    # -- raw requests --------------------------------------------------------------------------------
    def _count(self, field: str) -> None:
        with self._lock:
            setattr(self.stats, field, getattr(self.stats, field) + 1)

    def _send(self, method: str, path: str, **kwargs: Any) -> Response:
        log.debug("%s %s %s", self.name or self.server, method, path)  # the path only: never a query or body

        def once() -> Response:
            self._count("requests")
            if method not in ("GET", "HEAD"):
                self._count("writes")
            return self._answer(lambda: self._transport.request(method, path, **kwargs))

        return self.retry.call(once, on_retry=self._retry_hook(kwargs.get("action") or f"{method} {path}"))

    def _answer(self, call: Callable[[], Response]) -> Response:
        """``call()``, noting that the server answered (a response, or an error status it sent)."""
        try:
            response = call()
        except ApiError:
            self.answered = True
            raise
        self.answered = True
        return response

    def _retry_hook(self, action: str) -> Callable[[BaseException | None], None]:
        """The ``on_retry`` of one request: counts, and tells :attr:`on_retry` which attempt comes next."""
        attempt = 1

        def hook(exc: BaseException | None) -> None:
            nonlocal attempt
            attempt += 1
            self._on_retry(exc)
            listener = self.on_retry
            if listener is not None:
                listener(RetryNotice(action, attempt, self.retry.attempts, exc))

        return hook

    def _on_retry(self, exc: BaseException | None) -> None:
        self._count("retries")
        if getattr(exc, "status", None) == 429:
            self._count("throttled")

    def request(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        query: Mapping[str, Any] | None = None,
        content_type: str | None = None,
        accept: str = "application/json",
        action: str | None = None,
    ) -> Any:
        """One API call with retries; ``body`` (dict/list/str/bytes) is sent as JSON; returns decoded JSON."""
        data: bytes | None
        if body is None:
            data = None
        elif isinstance(body, bytes):
            data = body
        elif isinstance(body, str):
            data = body.encode()
        else:
            data = json.dumps(body, separators=(",", ":")).encode()
        if data is not None and content_type is None:
            content_type = "application/json"
        response = self._send(
            method,
            path,
            query=dict(query or {}),
            body=data,
            content_type=content_type,
            accept=accept,
            action=action or f"{method} {path}",
        )
        return response.json()

    def _request_object(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        """:meth:`request` whose answer must be a JSON object (a Kubernetes object, list or Status)."""
        answer = self.request(method, path, **kwargs)
        if not isinstance(answer, dict):
            raise _wrong_shape(kwargs.get("action") or f"{method} {path}", "is not a JSON object")
        return answer

    # -- discovery -----------------------------------------------------------------------------------
    def _get_discovery(self) -> Discovery:
        with self._lock:
            current = self._discovery
        if current is not None:
            return current
        fresh = Discovery.fetch(lambda path, accept: self.request("GET", path, accept=accept or "application/json"))
        with self._lock:
            if self._discovery is None:
                self._discovery = fresh
            return self._discovery

    def invalidate_discovery(self) -> None:
        """Forget the cached discovery (call after creating CRDs or API services)."""
        with self._lock:
            self._discovery = None

    def server_version(self) -> str:
        """The server's ``gitVersion``, e.g. ``v1.34.4`` (cached)."""
        if self._version is None:
            self._version = str(self._request_object("GET", "/version").get("gitVersion", ""))
        return self._version

    def resources(self, *, namespaced: bool | None = None, verb: str | None = None) -> list[ApiResource]:
        """The preferred version of every served resource (cached per Cluster, thread-safe)."""
        return self._get_discovery().select(namespaced=namespaced, verb=verb)

    def api_groups(self) -> set[str]:
        """Every API group the server serves (``""`` is the core group)."""
        return self._get_discovery().groups()

    def resource_for(self, api_version: str, kind: str, *, refresh: bool = False) -> ApiResource:
        """The resource serving ``kind`` in ``api_version``.

        Misses are answered from the cache (no rediscovery per miss); pass ``refresh=True`` after creating
        a CRD. Raises:
            NotFoundError: the server does not serve that kind in that version.
        """
        if refresh:
            self.invalidate_discovery()
        group, version = split_api_version(api_version)
        found = self._get_discovery().lookup(group, version, kind)
        if found is None:
            raise NotFoundError(
                f"The cluster {self.name or self.server} does not serve {kind} in {api_version}.",
                status=404,
                reason="NotFound",
                hint="Install the CRD or API that provides it, or translate the object to a served version.",
            )
        return found

    def resource_of(self, obj: Mapping[str, Any]) -> ApiResource:
        """The resource serving a manifest's apiVersion and kind."""
        return self.resource_for(str(obj.get("apiVersion", "")), str(obj.get("kind", "")))

    # -- reads ---------------------------------------------------------------------------------------
    def list(
        self,
        resource: ApiResource,
        namespace: str | None = None,
        *,
        label_selector: str | None = None,
        field_selector: str | None = None,
        limit: int = 500,
        not_older_than: str | None = None,
    ) -> Iterator[dict[str, Any]]:
        """Every object of a resource (in one namespace, or all), as raw dicts with apiVersion/kind set.

        Pages with ``limit``/``continue``. If a continue token expires (410) the list restarts and objects
        already yielded are not yielded again.

        ``not_older_than`` (a resourceVersion from :meth:`resource_version`) lets the API server answer
        from its cache with a list that includes every write up to that version, instead of a quorum read
        that first waits for its cache to catch up with etcd: much faster when many lists follow one
        snapshot, and still consistent with it.
        """
        path = resource.path(namespace)
        seen: set[tuple[str, str]] = set()
        token = ""
        restarts = 0
        while True:
            query = {
                "limit": limit,
                "continue": token,
                "labelSelector": label_selector,
                "fieldSelector": field_selector,
            }
            if not_older_than and not token:
                query["resourceVersion"] = not_older_than
                query["resourceVersionMatch"] = "NotOlderThan"
            action = f"list {resource.group_resource}"
            try:
                page = self._request_object("GET", path, query=query, action=action)
            except GoneError:
                restarts += 1
                if restarts > 3:
                    raise
                token = ""
                continue
            items = page.get("items")
            if items is not None and not isinstance(items, list):
                raise _wrong_shape(action, "has 'items' that are not a list")
            for item in items or ():
                meta = item.get("metadata") if isinstance(item, dict) else None
                if not isinstance(meta, dict) or not isinstance(meta.get("name"), str):
                    raise _wrong_shape(action, "has an item that is not an object with metadata.name")
                key = (str(meta.get("namespace") or ""), meta["name"])
                if key in seen:
                    continue
                seen.add(key)
                item["apiVersion"] = resource.api_version
                item["kind"] = resource.kind
                yield item
            list_meta = page.get("metadata")
            found = list_meta.get("continue") if isinstance(list_meta, dict) else None
            if found is not None and not isinstance(found, str):
                raise _wrong_shape(action, "has a continue token that is not a string")
            token = found or ""
            if not token:
                return

    def resource_version(self, resource: ApiResource, namespace: str | None = None) -> str:
        """The current resourceVersion of the cluster, read with a consistent one-item list of ``resource``.

        Pass it as ``not_older_than`` to :meth:`list` / :meth:`get` to read many objects as of (at least)
        this moment cheaply.
        """
        page = self._request_object(
            "GET", resource.path(namespace), query={"limit": 1}, action=f"list {resource.group_resource}"
        )
        return str(get_path(page, "metadata", "resourceVersion") or "")

    def get(
        self, resource: ApiResource, name: str, namespace: str | None = None, *, not_older_than: str | None = None
    ) -> dict[str, Any]:
        """One object. Raises :class:`NotFoundError` if it does not exist.

        ``not_older_than``: as for :meth:`list` (the object as of that resourceVersion or later).
        """
        return self._request_object(
            "GET",
            resource.path(namespace, name),
            query={"resourceVersion": not_older_than or None},
            action=f"get {resource.kind} {_where(namespace, name)}",
        )

    def get_obj(self, obj: Mapping[str, Any]) -> dict[str, Any] | None:
        """The live version of a manifest, or None when absent."""
        ref = ObjectRef.from_obj(obj)
        try:
            return self.get(self.resource_of(obj), ref.name, ref.namespace or None)
        except NotFoundError:
            return None

    # -- writes --------------------------------------------------------------------------------------
    def apply(
        self,
        obj: Mapping[str, Any],
        *,
        field_manager: str = "portkit",
        force: bool = False,
        dry_run: bool = False,
    ) -> dict[str, Any]:
        """Server-side apply of a manifest; returns the object the server holds afterwards."""
        resource = self.resource_of(obj)
        ref = ObjectRef.from_obj(obj)
        query: dict[str, Any] = {"fieldManager": field_manager}
        if force:
            query["force"] = "true"
        if dry_run:
            query["dryRun"] = "All"
        return self._request_object(
            "PATCH",
            resource.path(ref.namespace or None, ref.name),
            body=obj,
            query=query,
            content_type="application/apply-patch+yaml",
            action=f"apply {ref}",
        )

    def create(
        self, obj: Mapping[str, Any], *, dry_run: bool = False, field_manager: str | None = None
    ) -> dict[str, Any]:
        """Create an object (POST). A retry that finds the object already created counts as success.

        ``field_manager`` names the owner of the fields in ``metadata.managedFields`` (an ``Update`` entry).
        """
        resource = self.resource_of(obj)
        ref = ObjectRef.from_obj(obj)
        path = resource.path(ref.namespace or None)
        if ref.name or not get_path(obj, "metadata", "generateName"):
            resource.path(ref.namespace or None, ref.name)  # the name is checked before anything is sent
        attempts = 0
        body = json.dumps(obj, separators=(",", ":")).encode()
        query: dict[str, Any] = {}
        if dry_run:
            query["dryRun"] = "All"
        if field_manager:
            query["fieldManager"] = field_manager

        def once() -> Response:
            nonlocal attempts
            attempts += 1
            self._count("requests")
            self._count("writes")
            return self._answer(lambda: self._transport.request(
                "POST", path, body=body, content_type="application/json", query=query or None,
                action=f"create {ref}",
            ))  # fmt: skip

        log.debug("%s POST %s (create %s)", self.name or self.server, resource.path(ref.namespace or None), ref)
        try:
            response = self.retry.call(once, on_retry=self._retry_hook(f"create {ref}"))
        except ConflictError as exc:
            if attempts > 1 and exc.reason == "AlreadyExists" and not dry_run:
                return self.get(resource, ref.name, ref.namespace or None)
            raise
        created = response.json()
        if not isinstance(created, dict):
            raise _wrong_shape(f"create {ref}", "is not a JSON object")
        return created

    def pod_log(
        self, namespace: str, name: str, *, container: str | None = None, limit_bytes: int | None = None
    ) -> str:
        """The log of a pod's container (text; undecodable bytes replaced)."""
        query: dict[str, Any] = {}
        if container:
            query["container"] = container
        if limit_bytes:
            query["limitBytes"] = int(limit_bytes)
        pods = self.resource_for("v1", "Pod")
        response = self._send(
            "GET",
            pods.path(namespace, name) + "/log",
            query=query,
            body=None,
            content_type=None,
            accept="*/*",
            action=f"read the log of pod {_where(namespace, name)}",
        )
        return response.data.decode("utf-8", "replace")

    def delete(
        self,
        resource: ApiResource,
        name: str,
        namespace: str | None = None,
        *,
        propagation: str = "Background",
        missing_ok: bool = True,
    ) -> None:
        """Delete an object; a missing object is fine unless ``missing_ok=False``."""
        try:
            self.request(
                "DELETE",
                resource.path(namespace, name),
                body={"kind": "DeleteOptions", "apiVersion": "v1", "propagationPolicy": propagation},
                action=f"delete {resource.kind} {_where(namespace, name)}",
            )
        except NotFoundError:
            if not missing_ok:
                raise


def _where(namespace: str | None, name: str) -> str:
    return f"{namespace}/{name}" if namespace else name


def _wrong_shape(action: str, what: str) -> ServerResponseError:
    return ServerResponseError(f"{action}: the API server's answer {what}.", status=200, reason="UnexpectedShape")


def snapshot_version(
    cluster: Cluster, candidates: Iterable[tuple[ApiResource, str | None]], *, tries: int = 3
) -> str | None:
    """The cluster's current resourceVersion, read through the first of ``candidates`` (resource,
    namespace) that may be listed (:meth:`Cluster.resource_version`); None when none of the first
    ``tries`` can be. Callers then read with ``not_older_than`` it, or fall back to quorum reads on None.
    """
    for resource, namespace in list(candidates)[:tries]:
        try:
            return cluster.resource_version(resource, namespace) or None
        except ApiError:  # forbidden, or a kind that fails: try the next one
            continue
    return None
