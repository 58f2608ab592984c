"""``export()``: namespaces out of a live cluster into a clean, complete, reproducible bundle.

How it works:

1. Discovery gives every namespaced kind the cluster serves with the ``list`` verb (preferred versions,
   custom resources included); kinds that are runtime state are left out (:mod:`portkit.sanitize`).
2. Every kind is listed in every namespace, as raw JSON, paged, by a bounded pool of threads. Each object
   is checked against the skip rules, stripped of server-owned fields, and written to disk at once
   (:class:`portkit.bundle.BundleWriter`); nothing is held in memory but a small index.
3. Objects with a controller owner wait (spooled to a temporary file) until every list is done: if the
   owner was listed too, the target's controllers will recreate them and they are skipped.
4. The cluster-scoped objects the namespaces depend on are fetched: the Namespaces themselves, CRDs of
   exported custom resources, StorageClasses and PersistentVolumes of exported claims, ClusterRoles of
   exported bindings, ClusterRoleBindings whose subjects live in the namespaces, IngressClasses and
   PriorityClasses referenced.
5. Kinds that cannot be listed (Forbidden, errors) are recorded in ``bundle.meta["failures"]``; the export
   goes on. The source provider is detected and recorded.
"""

from __future__ import annotations

import json
import logging
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor, as_completed
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import attrs

from portkit import observe
from portkit._paths import check_namespace
from portkit.bundle import Bundle, BundleWriter
from portkit.cluster import snapshot_version
from portkit.display import html_table, text_table
from portkit.errors import ApiError, ConfigurationError, InvalidNameError, NotFoundError, PortkitError
from portkit.model import get_path, split_api_version
from portkit.sanitize import controller_owner, pod_spec, sanitize, skip_kind_reason, skip_reason

if TYPE_CHECKING:
    from portkit.cluster import ApiResource, Cluster

__all__ = ["ExportReport", "dependencies", "export"]

log = logging.getLogger(__name__)

Manifest = dict[str, Any]
#: A cluster-scoped object an exported object needs: (group, kind, name).
Dependency = tuple[str, str, str]

_RBAC = "rbac.authorization.k8s.io"
_BOOTSTRAP_LABEL = "kubernetes.io/bootstrapping"
_OWNED = "owned by a controller that is exported; the target's controller recreates it"
_OWNER_UNREADABLE = "owned by a controller whose kind could not be listed"
_BOOTSTRAP = "bootstrap RBAC present in every cluster"

#: API groups Kubernetes itself serves (their kinds are never CRDs).
_BUILTIN_GROUPS = frozenset(
    {
        "",
        "admissionregistration.k8s.io",
        "apiextensions.k8s.io",
        "apiregistration.k8s.io",
        "apps",
        "authentication.k8s.io",
        "authorization.k8s.io",
        "autoscaling",
        "batch",
        "certificates.k8s.io",
        "coordination.k8s.io",
        "discovery.k8s.io",
        "events.k8s.io",
        "extensions",
        "flowcontrol.apiserver.k8s.io",
        "internal.apiserver.k8s.io",
        "metrics.k8s.io",
        "networking.k8s.io",
        "node.k8s.io",
        "policy",
        "rbac.authorization.k8s.io",
        "resource.k8s.io",
        "scheduling.k8s.io",
        "storage.k8s.io",
        "storagemigration.k8s.io",
    }
)


# ------------------------------------------------------------------------------------------- dependencies


def dependencies(obj: Mapping[str, Any]) -> set[Dependency]:
    """The cluster-scoped objects one (unsanitized) namespaced object refers to.

    StorageClass and PersistentVolume of a PVC, StorageClasses of StatefulSet claim templates, the
    ClusterRole of a RoleBinding, the IngressClass of an Ingress (field or legacy annotation) and the
    PriorityClass of a pod spec (``system-*`` classes exist everywhere and are left out).
    """
    kind = obj.get("kind")
    group = split_api_version(str(obj.get("apiVersion") or ""))[0]
    found: set[Dependency] = set()
    if kind == "PersistentVolumeClaim" and group == "":
        if get_path(obj, "spec", "storageClassName"):
            found.add(("storage.k8s.io", "StorageClass", str(obj["spec"]["storageClassName"])))
        if get_path(obj, "spec", "volumeName"):
            found.add(("", "PersistentVolume", str(obj["spec"]["volumeName"])))
    elif kind == "StatefulSet" and group == "apps":
        for template in get_path(obj, "spec", "volumeClaimTemplates", default=()) or ():
            sc = get_path(template, "spec", "storageClassName")
            if sc:
                found.add(("storage.k8s.io", "StorageClass", str(sc)))
    elif kind == "RoleBinding" and group == _RBAC:
        if get_path(obj, "roleRef", "kind") == "ClusterRole" and get_path(obj, "roleRef", "name"):
            found.add((_RBAC, "ClusterRole", str(obj["roleRef"]["name"])))
    elif kind == "Ingress" and group in ("networking.k8s.io", "extensions"):
        name = get_path(obj, "spec", "ingressClassName") or get_path(
            obj, "metadata", "annotations", "kubernetes.io/ingress.class"
        )
        if name:
            found.add(("networking.k8s.io", "IngressClass", str(name)))
    spec = pod_spec(dict(obj))
    if spec and spec.get("priorityClassName") and not str(spec["priorityClassName"]).startswith("system-"):
        found.add(("scheduling.k8s.io", "PriorityClass", str(spec["priorityClassName"])))
    return found


def _cluster_dependencies(obj: Mapping[str, Any]) -> set[Dependency]:
    """Cluster-scoped objects a cluster-scoped dependency itself needs (second round)."""
    kind = obj.get("kind")
    found: set[Dependency] = set()
    if kind == "ClusterRoleBinding" and get_path(obj, "roleRef", "kind") == "ClusterRole":
        found.add((_RBAC, "ClusterRole", str(get_path(obj, "roleRef", "name"))))
    elif kind == "IngressClass":
        params = get_path(obj, "spec", "parameters")
        if (
            isinstance(params, dict)
            and params.get("kind")
            and params.get("name")
            and params.get("scope", "Cluster") == "Cluster"
            and not params.get("namespace")
        ):
            found.add((str(params.get("apiGroup") or ""), str(params["kind"]), str(params["name"])))
    return found


# ------------------------------------------------------------------------------------------------ report


@attrs.define
class ExportReport:
    """What an export did: counts, skipped objects by reason, failures, timing.

    Available after the fact from any exported bundle: ``ExportReport.from_bundle(bundle)``
    (``bundle.meta["export"]`` holds the same figures).
    """

    path: str | None
    namespaces: list[str]
    objects: int
    cluster_objects: int
    listed: int
    duration_seconds: float
    kinds: dict[str, int] = attrs.field(factory=dict)
    skipped: dict[str, dict[str, int]] = attrs.field(factory=dict)
    failures: list[dict[str, Any]] = attrs.field(factory=list)
    #: what was removed from exported objects for safety, per kind: ``{"Secret": {"annotation
    #: openshift.io/token-secret.value": 3}}`` (names and counts only, never values)
    stripped: dict[str, dict[str, int]] = attrs.field(factory=dict)
    missing: list[str] = attrs.field(factory=list)
    kinds_not_listed: list[str] = attrs.field(factory=list)
    provider: str | None = None
    server_version: str | None = None

    @property
    def objects_per_second(self) -> float:
        """Objects listed and processed per second of the whole export."""
        return self.listed / self.duration_seconds if self.duration_seconds > 0 else 0.0

    @property
    def skipped_total(self) -> int:
        """Number of objects listed but not exported."""
        return sum(sum(reasons.values()) for reasons in self.skipped.values())

    @classmethod
    def from_bundle(cls, bundle: Bundle) -> ExportReport:
        """The report of an exported bundle (from its metadata)."""
        stats = dict(bundle.meta.get("export") or {})
        source = bundle.meta.get("source") or {}
        return cls(
            path=str(bundle.path) if bundle.path else None,
            namespaces=list(bundle.meta.get("namespaces") or []),
            objects=len(bundle),
            cluster_objects=sum(1 for r in bundle.refs if not r.namespace),
            listed=int(stats.get("listed", 0)),
            duration_seconds=float(stats.get("duration_seconds", 0.0)),
            kinds=bundle.kind_counts(),
            skipped={k: dict(v) for k, v in (stats.get("skipped") or {}).items()},
            stripped={k: dict(v) for k, v in (stats.get("stripped") or {}).items()},
            failures=list(bundle.meta.get("failures") or []),
            missing=list(stats.get("missing") or []),
            kinds_not_listed=list(stats.get("kinds_not_listed") or []),
            provider=source.get("provider"),
            server_version=source.get("server_version"),
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form (no object content)."""
        out = attrs.asdict(self)
        out["objects_per_second"] = round(self.objects_per_second, 1)
        out["skipped_total"] = self.skipped_total
        return out

    def __repr__(self) -> str:
        extra = f" failures={len(self.failures)}" if self.failures else ""
        return (
            f"<ExportReport {self.objects} objects ({self.cluster_objects} cluster-scoped) from "
            f"{','.join(self.namespaces)}; {self.skipped_total} skipped{extra}; {self.duration_seconds:.1f}s>"
        )

    def _skip_rows(self) -> list[tuple[str, str, int]]:
        return sorted((k, r, n) for k, reasons in self.skipped.items() for r, n in reasons.items())

    def _strip_rows(self) -> list[tuple[str, str, int]]:
        return sorted((k, what, n) for k, found in self.stripped.items() for what, n in found.items())

    def _failure_rows(self) -> list[tuple[str, str, str]]:
        return [
            (f.get("kind") or "?", f.get("namespace") or "(cluster)", str(f.get("message") or ""))
            for f in self.failures
        ]

    def to_text(self) -> str:
        """Terminal rendering."""
        lines = [
            f"Exported {self.objects} objects ({self.cluster_objects} cluster-scoped) from namespaces "
            f"{', '.join(self.namespaces)} to {self.path}",
            f"source: provider={self.provider or 'unknown'} server={self.server_version or '?'}; "
            f"listed {self.listed} objects in {self.duration_seconds:.1f}s ({self.objects_per_second:.0f}/s)",
            text_table(["kind", "objects"], sorted(self.kinds.items()), max_rows=100),
        ]
        if self.skipped:
            lines += ["Skipped:", text_table(["kind", "reason", "objects"], self._skip_rows(), max_rows=50)]
        if self.stripped:
            lines += [
                "Removed (credentials; values not shown):",
                text_table(["kind", "removed", "objects"], self._strip_rows(), max_rows=50),
            ]
        if self.missing:
            lines.append("Referenced but not found in the source: " + ", ".join(self.missing))
        if self.failures:
            lines += ["Could not be read:", text_table(["kind", "namespace", "error"], self._failure_rows())]
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        html = html_table(["kind", "objects"], sorted(self.kinds.items()), title=repr(self))
        if self.skipped:
            html += html_table(["kind", "reason", "objects"], self._skip_rows(), title="Skipped")
        if self.stripped:
            html += html_table(["kind", "removed", "objects"], self._strip_rows(), title="Removed (credentials)")
        if self.failures:
            html += html_table(["kind", "namespace", "error"], self._failure_rows(), title="Could not be read")
        return html


# ------------------------------------------------------------------------------------------------ export


def _failure(
    resource: ApiResource | None, namespace: str | None, exc: PortkitError, *, what: str = "", partial: bool = False
) -> dict[str, Any]:
    record: dict[str, Any] = {
        "group": resource.group if resource else "",
        "version": resource.version if resource else "",
        "kind": resource.kind if resource else what,
        "resource": resource.name if resource else "",
        "namespace": namespace or "",
        "status": getattr(exc, "status", 0),
        "reason": getattr(exc, "reason", "") or type(exc).__name__,
        "message": exc.message,
    }
    if what and resource:
        record["name"] = what
    if partial:
        record["partial"] = True
    return record


@attrs.define
class _Pending:
    """An object with a controller owner, spooled until every list is done."""

    owner: str
    owner_kind: tuple[str, str, str]  # group, kind, namespace of the owner
    offset: int
    length: int
    group_kind: str
    deps: tuple[Dependency, ...]
    stripped: tuple[str, ...] = ()


class _Run:
    """State of one export run, shared by the worker threads."""

    def __init__(self, cluster: Cluster, writer: BundleWriter, selector: str | None, page_size: int) -> None:
        self.cluster = cluster
        self.writer = writer
        self.selector = selector
        self.page_size = page_size
        #: resourceVersion every list reads at or after (see _snapshot_version); None: quorum reads
        self.snapshot: str | None = None
        self.present: set[str] = set()
        self.pending: list[_Pending] = []
        self.failures: list[dict[str, Any]] = []
        self.skipped: Counter[tuple[str, str]] = Counter()
        self.stripped: Counter[tuple[str, str]] = Counter()  # (group_kind, what) of exported objects
        self.deps: set[Dependency] = set()
        self.exported_resources: set[tuple[str, str]] = set()
        self.listed = 0
        self._lock = threading.Lock()
        self._spool: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115 - closed in close()

    def close(self) -> None:
        self._spool.close()

    # -- namespaced listing (worker threads) ------------------------------------------------------------

    def list_task(self, resource: ApiResource, namespace: str) -> int:
        listed = 0
        skipped: Counter[tuple[str, str]] = Counter()
        stripped: Counter[tuple[str, str]] = Counter()
        deps: set[Dependency] = set()
        exported = False
        group_kind = f"{resource.kind}.{resource.group}" if resource.group else resource.kind
        try:
            for item in self.cluster.list(
                resource, namespace, label_selector=self.selector, limit=self.page_size, not_older_than=self.snapshot
            ):
                listed += 1
                uid = (item.get("metadata") or {}).get("uid")
                if uid:
                    self.present.add(str(uid))
                reason = skip_reason(item)
                if reason:
                    skipped[(group_kind, reason)] += 1
                    continue
                owner = controller_owner(item)
                item_deps = dependencies(item)
                removed: list[str] = []
                sanitize(item, stripped=removed)
                if owner:
                    owner_kind = (
                        split_api_version(str(owner.get("apiVersion") or ""))[0],
                        str(owner.get("kind")),
                        namespace,
                    )
                    self._spool_pending(str(owner["uid"]), owner_kind, item, group_kind, item_deps, removed)
                    continue
                self.writer.add(item, where=f"{group_kind} {namespace}")
                stripped.update((group_kind, what) for what in removed)
                deps |= item_deps
                exported = True
        except ApiError as exc:
            with self._lock:
                self.failures.append(_failure(resource, namespace, exc, partial=listed > 0))
        with self._lock:
            self.listed += listed
            self.skipped.update(skipped)
            self.stripped.update(stripped)
            self.deps |= deps
            if exported:
                self.exported_resources.add((resource.group, resource.name))
        return listed

    def _spool_pending(
        self,
        owner: str,
        owner_kind: tuple[str, str, str],
        obj: Manifest,
        group_kind: str,
        deps: set[Dependency],
        stripped: list[str],
    ) -> None:
        data = json.dumps(obj, separators=(",", ":")).encode()
        with self._lock:
            offset = self._spool.seek(0, 2)
            self._spool.write(data)
            self.pending.append(
                _Pending(owner, owner_kind, offset, len(data), group_kind, tuple(sorted(deps)), tuple(stripped))
            )

    def resolve_pending(self, resources_by_kind: Mapping[str, ApiResource]) -> None:
        """Skip objects whose controller owner was listed; export the others (their owner is not here)."""
        self._spool.flush()
        unreadable = {(f["group"], f["kind"], f["namespace"]) for f in self.failures}
        for item in self.pending:
            if item.owner in self.present:
                self.skipped[(item.group_kind, _OWNED)] += 1
                continue
            if item.owner_kind in unreadable:
                self.skipped[(item.group_kind, _OWNER_UNREADABLE)] += 1
                continue
            self._spool.seek(item.offset)
            obj = json.loads(self._spool.read(item.length))
            self.writer.add(obj, where=item.group_kind)
            self.stripped.update((item.group_kind, what) for what in item.stripped)
            self.deps.update(item.deps)
            res = resources_by_kind.get(item.group_kind)
            if res is not None:
                self.exported_resources.add((res.group, res.name))
        self.pending.clear()

    # -- cluster-scoped dependencies ------------------------------------------------------------------------

    def fetch(self, resource: ApiResource | None, dep: Dependency, missing: list[str]) -> Manifest | None:
        group, kind, name = dep
        label = f"{kind}.{group}" if group else kind
        if resource is None:
            missing.append(f"{label} {name} (kind not served)")
            return None
        try:
            return self.cluster.get(resource, name)
        except NotFoundError:
            missing.append(f"{label} {name}")
        except InvalidNameError:  # an object refers to a name no object can have (empty, '/', controls...)
            missing.append(f"{label} {name!a} (not a valid name)")
        except ApiError as exc:
            with self._lock:
                self.failures.append(_failure(resource, None, exc, what=name))
        return None

    def add_cluster_object(self, obj: Manifest) -> bool:
        group_kind = _group_kind(obj)
        labels = (obj.get("metadata") or {}).get("labels") or {}
        if obj.get("kind") in ("ClusterRole", "ClusterRoleBinding") and labels.get(_BOOTSTRAP_LABEL) == "rbac-defaults":
            self.skipped[(group_kind, _BOOTSTRAP)] += 1
            return False
        reason = skip_reason(obj)
        if reason:
            self.skipped[(group_kind, reason)] += 1
            return False
        removed: list[str] = []
        sanitize(obj, stripped=removed)
        self.writer.add(obj, where=group_kind)
        self.stripped.update((group_kind, what) for what in removed)
        return True


def _group_kind(obj: Mapping[str, Any]) -> str:
    group = split_api_version(str(obj.get("apiVersion") or ""))[0]
    return f"{obj.get('kind')}.{group}" if group else str(obj.get("kind"))


def _find_resource(resources: Iterable[ApiResource], group: str, kind: str) -> ApiResource | None:
    for res in resources:
        if res.group == group and res.kind == kind:
            return res
    return None


def _normalize_namespaces(namespaces: str | Iterable[str]) -> list[str]:
    names = [namespaces] if isinstance(namespaces, str) else list(namespaces)
    result = sorted({str(n).strip() for n in names if str(n).strip()})
    if not result:
        raise ConfigurationError("No namespace to export.", hint="Name at least one namespace (-n NAMESPACE).")
    return result


class _CallbackBar:
    """The part of a tqdm bar export uses, reporting to a ``progress(done, total)`` callable."""

    def __init__(self, callback: Callable[[int, int], None], total: int) -> None:
        self.callback = callback
        self.total = total
        self.n = 0
        callback(0, total)

    def update(self, n: int = 1) -> None:
        self.n += n
        self.callback(self.n, self.total)

    def set_postfix(self, **_: Any) -> None:
        pass

    def close(self) -> None:
        pass


def _progress_bar(enabled: bool | Callable[[int, int], None], total: int) -> Any:
    if callable(enabled):
        return _CallbackBar(enabled, total)
    if not enabled:
        return None
    try:
        from tqdm.auto import tqdm
    except ImportError as exc:  # pragma: no cover - depends on the installation
        raise ConfigurationError(
            "progress=True needs the 'tqdm' package.", hint="pip install 'portkit[notebook]'"
        ) from exc
    return tqdm(total=total, desc="export", unit="list")


def _detect_provider(cluster: Cluster, resources: list[ApiResource]) -> str | None:
    try:
        from portkit.profiles import detect_provider
    except ImportError:  # pragma: no cover - profiles are part of portkit; guarded for partial installs
        return None
    node_labels: list[dict[str, str]] = []
    provisioners: set[str] = set()
    nodes = _find_resource(resources, "", "Node")
    classes = _find_resource(resources, "storage.k8s.io", "StorageClass")
    try:
        if nodes is not None:
            node_labels = [dict((n.get("metadata") or {}).get("labels") or {}) for n in cluster.list(nodes)]
    except PortkitError:
        pass
    try:
        if classes is not None:
            provisioners = {str(sc.get("provisioner") or "") for sc in cluster.list(classes)}
    except PortkitError:
        pass
    groups = {r.group for r in resources}
    try:
        return detect_provider(node_labels, provisioners, groups)
    except PortkitError:
        return None


@observe.step("export")
def export(
    cluster: Cluster,
    namespaces: str | Iterable[str],
    path: str | Path,
    *,
    selector: str | None = None,
    progress: bool | Callable[[int, int], None] = False,
    workers: int = 8,
    page_size: int = 500,
    encryption_key: str | bytes | None = None,
) -> Bundle:
    """Export namespaces of a live cluster into a bundle directory and return the bundle.

    Args:
        cluster: the source cluster.
        namespaces: one namespace or several.
        path: the bundle directory (new, empty, or holding an earlier bundle, which is replaced).
        selector: a label selector limiting the namespaced objects exported (``app=web``).
        progress: show a progress bar (tqdm) while listing; or a callable, called with (lists done, lists in
            all) after each list (from the calling thread).
        workers: how many lists run at once (a bounded thread pool across kinds and namespaces).
        page_size: objects per list page.
        encryption_key: Fernet key to encrypt Secret values at rest (default ``$PORTKIT_BUNDLE_KEY``).

    Returns:
        the bundle on disk; objects are read (and verified) when first accessed.
        ``ExportReport.from_bundle(bundle)`` tells what was exported, skipped and could not be read.

    Raises:
        ConfigurationError: no namespace given, or a namespace does not exist.
        ClusterUnreachableError: the cluster cannot be reached.
        BundleError: ``path`` is not usable for a bundle.
    """
    names = [check_namespace(n) for n in _normalize_namespaces(namespaces)]  # before any request or file
    if workers < 1:
        raise ConfigurationError("workers must be at least 1.")
    started = time.monotonic()
    server_version = cluster.server_version()
    every = cluster.resources()
    listable = [r for r in cluster.resources(namespaced=True, verb="list")]
    to_list = [r for r in listable if skip_kind_reason(r.group, r.kind) is None]
    not_listed = sorted({f"{r.kind}.{r.group}" if r.group else r.kind for r in listable if r not in to_list})
    cluster_list = [r for r in every if not r.namespaced]
    ns_resource = _find_resource(cluster_list, "", "Namespace")
    log.info(
        "exporting namespace(s) %s from %s (Kubernetes %s): %d kinds to list%s",
        ", ".join(names),
        cluster.name or cluster.server,
        server_version,
        len(to_list),
        f", selector {selector}" if selector else "",
    )
    if not_listed:
        log.debug("kinds not listed (derived or runtime objects): %s", ", ".join(not_listed))

    with BundleWriter(path, key=encryption_key) as writer:
        run = _Run(cluster, writer, selector, page_size)
        missing: list[str] = []
        try:
            # The Namespace objects first: a namespace that does not exist is an error, not an empty export.
            for ns in names:
                if ns_resource is not None:
                    _export_namespace(run, ns_resource, ns)

            # every list reads "not older than" one version read now: the API server answers from its cache
            # instead of making each list wait until its cache has caught up with etcd (a quorum read)
            configmaps_first = sorted(to_list, key=lambda r: (r.group, r.kind) != ("", "ConfigMap"))
            run.snapshot = snapshot_version(cluster, [(r, names[0]) for r in configmaps_first])
            tasks = [(res, ns) for ns in names for res in to_list]
            bar = _progress_bar(progress, len(tasks))
            with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="portkit-export") as pool:
                futures = [pool.submit(run.list_task, res, ns) for res, ns in tasks]
                for future in as_completed(futures):
                    future.result()
                    if bar is not None:
                        bar.update(1)
                        bar.set_postfix(objects=len(writer), refresh=False)
            if bar is not None:
                bar.close()

            log.info("listed %d kinds in %d namespace(s): %d objects", len(to_list), len(names), len(writer))
            by_kind = {(f"{r.kind}.{r.group}" if r.group else r.kind): r for r in to_list}
            run.resolve_pending(by_kind)
            _collect_cluster_objects(run, names, cluster_list, workers, missing)
            provider = _detect_provider(cluster, every)
            log.debug("source provider detected from the cluster: %s", provider or "none")
        finally:
            run.close()

        duration = time.monotonic() - started
        skipped: dict[str, dict[str, int]] = {}
        for (group_kind, reason), count in sorted(run.skipped.items()):
            skipped.setdefault(group_kind, {})[reason] = count
        stripped: dict[str, dict[str, int]] = {}
        for (group_kind, what), count in sorted(run.stripped.items()):
            stripped.setdefault(group_kind, {})[what] = count
        failures = sorted(run.failures, key=lambda f: (f["namespace"], f["group"], f["kind"], f.get("name", "")))
        meta = {
            "created": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "source": {"server_version": server_version, "provider": provider, "cluster": cluster.name},
            "namespaces": names,
            "selector": selector,
            "failures": failures,
            "export": {
                "listed": run.listed,
                "skipped": skipped,
                "stripped": stripped,
                "missing": sorted(set(missing)),
                "kinds_not_listed": not_listed,
                "duration_seconds": round(duration, 3),
            },
        }
        bundle = writer.commit(meta)
    log.info("exported %d objects to %s in %.1f s", len(bundle), path, duration)
    if failures:
        first = failures[0]
        log.warning(
            "%d list(s) or object(s) could not be read and are not in the bundle (e.g. %s %s: %s); see the "
            "export report's failures",
            len(failures),
            first.get("kind"),
            first.get("namespace") or "(cluster)",
            str(first.get("reason") or first.get("message") or "")[:200],
        )
    return bundle


def _export_namespace(run: _Run, resource: ApiResource, name: str) -> None:
    """Add one Namespace object; a namespace that does not exist is an error, not an empty export."""
    try:
        obj = run.cluster.get(resource, name)
    except NotFoundError:
        raise ConfigurationError(
            f"Namespace {name!r} does not exist in cluster {run.cluster.name or run.cluster.server}.",
            hint="Check the name and the kubeconfig context.",
        ) from None
    except ApiError as exc:  # e.g. Forbidden for a user with namespace-only rights: go on without it
        run.failures.append(_failure(resource, None, exc, what=name))
        return
    run.add_cluster_object(obj)


def _collect_cluster_objects(
    run: _Run, namespaces: list[str], cluster_list: list[ApiResource], workers: int, missing: list[str]
) -> None:
    """Fetch the cluster-scoped objects the exported namespaces depend on (two rounds)."""
    wanted: set[Dependency] = set(run.deps)
    crd = _find_resource(cluster_list, "apiextensions.k8s.io", "CustomResourceDefinition")
    crd_names = sorted(f"{name}.{group}" for group, name in run.exported_resources if group not in _BUILTIN_GROUPS)
    crb = _find_resource(cluster_list, _RBAC, "ClusterRoleBinding")
    extra: list[Manifest] = []
    if crb is not None:
        try:
            for binding in run.cluster.list(crb):
                subjects = binding.get("subjects") or ()
                if any(isinstance(s, dict) and s.get("namespace") in namespaces for s in subjects):
                    extra.append(binding)
        except ApiError as exc:
            run.failures.append(_failure(crb, None, exc))
    seen: set[Dependency] = set()
    crd_missing: list[str] = []
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="portkit-deps") as pool:
        if crd is not None and crd_names:
            found = pool.map(
                lambda n: run.fetch(crd, ("apiextensions.k8s.io", "CustomResourceDefinition", n), crd_missing),
                crd_names,
            )
            extra.extend(o for o in found if o is not None)
        for obj in extra:
            wanted |= _cluster_dependencies(obj)
            run.add_cluster_object(obj)
        while wanted - seen:
            batch = sorted(wanted - seen)
            seen |= set(batch)
            found_objs = pool.map(lambda d: run.fetch(_find_resource(cluster_list, d[0], d[1]), d, missing), batch)
            for dep_obj in found_objs:
                if dep_obj is not None and run.add_cluster_object(dep_obj):
                    wanted |= _cluster_dependencies(dep_obj)
    # A missing CRD means the group is served by an aggregated API server, not a CRD: nothing to record.
