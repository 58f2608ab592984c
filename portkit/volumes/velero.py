"""Drive Velero through its CLI (a subprocess, never a shell) to move PersistentVolumeClaims between clusters.

:class:`VeleroCLI` owns the CLI's quirks: argument lists only; kubeconfig, context and Velero namespace always
passed explicitly; a timeout on every call; stderr kept for errors; ``get -o json`` prints a List except when
exactly one object matches (then the bare object); ``create -o json`` would print the object *without
submitting it*, so portkit never passes ``-o`` to ``create``; ``--wait`` always exits 0, so portkit never
uses it and polls ``status.phase`` instead.

:class:`VeleroMover` is the :class:`~portkit.volumes.base.VolumeMover`: back up in the source (namespaces,
selector, a data path), wait until the target's Velero server has synced the backup from the shared object
store, restore with ``--namespace-mappings``, the change-storage-class ConfigMap (written from the storage
mapping, removed afterwards) and a resource-modifier ConfigMap (per-claim class and size changes of a
translation, removed afterwards), then report every claim: source class/size → target class/size, phase.

The velero process gets portkit's environment without any ``PORTKIT_*`` variable (so never the bundle key
``PORTKIT_BUNDLE_KEY``) and without ``VELERO_NAMESPACE`` (see :mod:`portkit._childenv`).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs

from portkit import observe
from portkit._childenv import child_environment
from portkit._names import why_not_dns_label, why_not_dns_subdomain
from portkit.cluster import Cluster
from portkit.errors import ConfigurationError, NotFoundError, PortkitError, VolumeMoveError
from portkit.volumes.base import (
    DATA_PATHS,
    ClaimChange,
    DataPath,
    ProgressCallback,
    StorageMapping,
    VolumeProgress,
    ambiguous_classes,
    claim_changes,
    storage_class_mapping,
)
from portkit.volumes.configmaps import (
    CHANGE_STORAGE_CLASS_LABELS,
    MANAGED_BY_LABEL,
    change_storage_class_configmap,
    resource_modifier_configmap,
)
from portkit.volumes.result import VolumeMoveResult, VolumeRow

__all__ = [
    "MIN_VERSION",
    "VeleroCLI",
    "VeleroMover",
    "VeleroOperationError",
    "VeleroRun",
    "backup_args",
    "check_namespaces",
    "log_errors",
    "parse_objects",
    "parse_version",
    "restore_args",
    "volume_bytes",
    "volume_item_failures",
]

log = logging.getLogger(__name__)

MIN_VERSION = (1, 14, 0)
"""Oldest Velero portkit drives: resource modifiers, ``--snapshot-move-data`` and built-in CSI support."""

BACKUP_DONE = {"Completed"}
BACKUP_FAILED = {"Failed", "PartiallyFailed", "FailedValidation"}
RESTORE_DONE = {"Completed"}
_TERMINAL = BACKUP_DONE | BACKUP_FAILED | {"Deleting"}
_VERSION = re.compile(r"Version:\s*v?(\d+)\.(\d+)\.(\d+)(\S*)")
_NAME_OK = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_CLI_HINT = "Check that the velero binary is the Velero CLI and matches the server version."
_LOG_FIELD = re.compile(r'(\w+)=("(?:[^"\\]|\\.)*"|\S+)')


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] == '"':
        try:
            return str(json.loads(value))
        except ValueError:
            return value[1:-1]
    return value


def log_errors(text: str, *, limit: int = 12) -> tuple[str, ...]:
    """The distinct error lines of a Velero log (logfmt): message, error and the item's fields."""
    found: list[str] = []
    for line in text.splitlines():
        if "level=error" not in line:
            continue
        fields = dict(_LOG_FIELD.findall(line))
        message = _unquote(fields.get("msg", ""))
        if fields.get("error"):
            message += f": {_unquote(fields['error'])}"
        for key in ("resource", "namespace", "name", "pod", "volume", "persistentVolumeClaim"):
            if fields.get(key):
                message += f" [{key} {_unquote(fields[key])}]"
        if message and message not in found:
            found.append(message)
    return tuple(found[:limit])


_VOLUME_ITEMS = {
    "backup": (("velero.io/v1", "PodVolumeBackup"), ("velero.io/v2alpha1", "DataUpload")),
    "restore": (("velero.io/v1", "PodVolumeRestore"), ("velero.io/v2alpha1", "DataDownload")),
}


def volume_item_failures(cluster: Cluster, namespace: str, kind: str, name: str) -> list[str]:
    """The per-volume items of a backup or restore that did not complete, with Velero's message for each:
    PodVolumeBackups/Restores (file-system backup) and DataUploads/Downloads (data mover)."""
    found: list[str] = []
    for api_version, item_kind in _VOLUME_ITEMS[kind]:
        try:
            resource = cluster.resource_for(api_version, item_kind)
            items = list(cluster.list(resource, namespace, label_selector=f"velero.io/{kind}-name={name}"))
        except PortkitError:
            continue  # Velero without that kind, or not readable: the error lines still tell
        for item in items:
            status = item.get("status") or {}
            phase = str(status.get("phase") or "New")
            if phase == "Completed":
                continue
            spec = item.get("spec") or {}
            pod = spec.get("pod") or {}
            what = (
                f"pod {pod.get('namespace')}/{pod.get('name')}, volume {spec.get('volume')}"
                if pod
                else f"claim {spec.get('sourceNamespace')}/{spec.get('sourcePVC') or spec.get('targetVolume')}"
            )
            found.append(
                f"{item_kind} {item['metadata']['name']} ({what}): {phase}"
                + (f": {status['message']}" if status.get("message") else "")
            )
    return found


class VeleroOperationError(VolumeMoveError):
    """A Velero backup or restore ended in a failed phase or did not finish in time.

    Attributes: ``operation`` (backup/restore), ``name``, ``phase`` (the last one seen; ``None`` when the
    object never appeared), ``failure_reason``, ``validation_errors``, ``errors`` and ``warnings`` (Velero's
    counts), ``timed_out``, ``failures`` (the failing items and Velero's messages about them: per-volume
    PodVolumeBackup/Restore and DataUpload/Download objects that did not complete, and the error lines of
    ``velero backup|restore logs``).
    """

    def __init__(
        self,
        message: str,
        *,
        hint: str | None = None,
        operation: str = "",
        name: str = "",
        phase: str | None = None,
        failure_reason: str = "",
        validation_errors: Sequence[str] = (),
        errors: int = 0,
        warnings: int = 0,
        timed_out: bool = False,
        failures: Sequence[str] = (),
    ) -> None:
        self.failures = tuple(failures)
        self.operation = operation
        self.name = name
        self.phase = phase
        self.failure_reason = failure_reason
        self.validation_errors = tuple(validation_errors)
        self.errors = errors
        self.warnings = warnings
        self.timed_out = timed_out
        super().__init__(message, hint=hint)


@attrs.frozen
class VeleroRun:
    """One finished ``velero`` invocation."""

    argv: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str
    seconds: float

    def __repr__(self) -> str:
        return f"<VeleroRun {' '.join(self.argv[1:4])}… exit {self.returncode} in {self.seconds:.1f}s>"


def parse_objects(text: str, *, what: str = "velero output") -> list[dict[str, Any]]:
    """The objects of ``velero ... get -o json`` output: a ``*List`` (items) or one bare object.

    Text before the first ``{`` (a notice some versions print) is skipped; anything that is not a JSON
    object raises :class:`VolumeMoveError` quoting the start of the output.
    """
    start = text.find("{")
    if start < 0:
        if not text.strip():
            return []
        raise VolumeMoveError(f"{what} is not JSON: {text.strip()[:200]!r}", hint=_CLI_HINT)
    try:
        data, _end = json.JSONDecoder().raw_decode(text[start:])
    except ValueError as exc:
        raise VolumeMoveError(f"{what} is not valid JSON ({exc}): {text.strip()[:200]!r}", hint=_CLI_HINT) from exc
    if not isinstance(data, dict):
        raise VolumeMoveError(f"{what} is JSON but not an object: {text.strip()[:200]!r}")
    if isinstance(data.get("items"), list) and str(data.get("kind", "List")).endswith("List"):
        return [item for item in data["items"] if isinstance(item, dict)]
    if "kind" not in data and "metadata" not in data:
        raise VolumeMoveError(f"{what} is not a Velero object: {text.strip()[:200]!r}")
    return [data]


_DURATION = re.compile(r"([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_RESOURCE_POLICIES = ("none", "update")


def _bad_value(why: str) -> ConfigurationError:
    return ConfigurationError(
        f"{why}; nothing was passed to velero.",
        hint="Velero takes Kubernetes names only: no '*', ',', ':', spaces or leading '-'.",
    )


def _check_label(value: object, what: str) -> str:
    why = why_not_dns_label(value, what)
    if why:
        raise _bad_value(why)
    return str(value)


def _check_subdomain(value: object, what: str) -> str:
    why = why_not_dns_subdomain(value, what)
    if why:
        raise _bad_value(why)
    return str(value)


def check_namespaces(namespaces: Sequence[str], namespace_map: Mapping[str, str] | None = None) -> None:
    """Refuse namespaces and namespace-map entries that are not Kubernetes namespace names (``*``,
    ``a,b``, ``--flag``, ``a:b``, ...) before any of them reaches a ``velero`` argument list.

    Raises:
        ConfigurationError: naming the bad value.
    """
    if isinstance(namespaces, str):
        raise _bad_value(f"namespaces must be a list of names, not the string {namespaces!r}")
    for ns in namespaces:
        _check_label(ns, "Namespace")
    for src, dst in (namespace_map or {}).items():
        _check_label(src, "Namespace-map source")
        _check_label(dst, "Namespace-map target")


def parse_version(text: str) -> tuple[int, int, int] | None:
    """``(major, minor, patch)`` from ``velero version --client-only`` output, or None."""
    match = _VERSION.search(text)
    return (int(match.group(1)), int(match.group(2)), int(match.group(3))) if match else None


def backup_args(
    name: str,
    *,
    namespaces: Sequence[str],
    selector: str | None = None,
    data_path: DataPath = "fs-backup",
    storage_location: str | None = None,
    snapshot_locations: Sequence[str] = (),
    ttl: str | None = None,
) -> list[str]:
    """The arguments of ``velero backup create`` for a data path (never ``--wait``, never ``-o``)."""
    if data_path not in DATA_PATHS:
        raise ConfigurationError(
            f"Unknown volume data path {data_path!r}.", hint=f"Use one of {', '.join(DATA_PATHS)}."
        )
    if not namespaces:
        raise ConfigurationError("A Velero backup needs at least one namespace.")
    _check_subdomain(name, "Backup name")
    check_namespaces(namespaces)
    if storage_location:
        _check_subdomain(storage_location, "Backup storage location")
    for location in snapshot_locations:
        _check_subdomain(location, "Volume snapshot location")
    if ttl and not _DURATION.fullmatch(ttl):
        raise _bad_value(f"Backup TTL {ttl!r} is not a duration such as 720h")
    if selector is not None and (not isinstance(selector, str) or _CONTROL.search(selector)):
        raise _bad_value(f"Label selector {selector!r} holds control characters")
    args = ["backup", "create", name, f"--include-namespaces={','.join(namespaces)}"]
    if selector:
        args.append(f"--selector={selector}")
    if data_path == "data-mover":
        args += ["--snapshot-volumes=true", "--snapshot-move-data=true"]
    elif data_path == "fs-backup":
        args += ["--default-volumes-to-fs-backup=true", "--snapshot-volumes=false"]
    elif data_path == "native":
        args += ["--snapshot-volumes=true", "--snapshot-move-data=false"]
    else:
        args += ["--snapshot-volumes=false", "--default-volumes-to-fs-backup=false"]
    if storage_location:
        args.append(f"--storage-location={storage_location}")
    if snapshot_locations:
        args.append(f"--volume-snapshot-locations={','.join(snapshot_locations)}")
    if ttl:
        args.append(f"--ttl={ttl}")
    return args


def restore_args(
    name: str,
    *,
    backup: str,
    namespaces: Sequence[str] = (),
    namespace_map: Mapping[str, str] | None = None,
    resource_modifier_configmap: str | None = None,
    include_resources: Sequence[str] = (),
    existing_resource_policy: str | None = None,
    restore_volumes: bool = True,
) -> list[str]:
    """The arguments of ``velero restore create`` (identity namespace mappings left out).

    Every name is checked first (:class:`ConfigurationError` naming the bad one): no value can widen
    the restore (``*``, ``a,b``) or be read as a flag.
    """
    _check_subdomain(name, "Restore name")
    _check_subdomain(backup, "Backup name")
    check_namespaces(namespaces, namespace_map)
    if resource_modifier_configmap:
        _check_subdomain(resource_modifier_configmap, "Resource-modifier ConfigMap name")
    for resource in include_resources:
        _check_subdomain(resource, "Resource")
    if existing_resource_policy and existing_resource_policy not in _RESOURCE_POLICIES:
        raise _bad_value(f"Existing-resource policy {existing_resource_policy!r} is not one of none, update")
    args = [
        "restore",
        "create",
        name,
        f"--from-backup={backup}",
        f"--restore-volumes={'true' if restore_volumes else 'false'}",
    ]
    if namespaces:
        args.append(f"--include-namespaces={','.join(namespaces)}")
    mapping = {src: dst for src, dst in (namespace_map or {}).items() if src != dst}
    if mapping:
        args.append("--namespace-mappings=" + ",".join(f"{s}:{d}" for s, d in sorted(mapping.items())))
    if resource_modifier_configmap:
        args.append(f"--resource-modifier-configmap={resource_modifier_configmap}")
    if include_resources:
        args.append(f"--include-resources={','.join(include_resources)}")
    if existing_resource_policy:
        args.append(f"--existing-resource-policy={existing_resource_policy}")
    return args


def _status(obj: Mapping[str, Any]) -> dict[str, Any]:
    status = obj.get("status")
    return dict(status) if isinstance(status, Mapping) else {}


def _int(value: Any) -> int:
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        return 0


def _dns_name(*parts: str) -> str:
    text = "-".join(p for p in parts if p).lower()
    text = re.sub(r"[^a-z0-9-]+", "-", text).strip("-")
    return text[:63].rstrip("-") or "portkit"


#: Velero's per-volume objects of a backup / restore, whose ``status.progress.bytesDone`` count the data moved:
#: file-system backup (PodVolumeBackup / PodVolumeRestore) and the CSI data mover (DataUpload / DataDownload).
_DATA_OBJECTS: dict[str, tuple[tuple[str, str], ...]] = {
    "backup": (("velero.io/v1", "PodVolumeBackup"), ("velero.io/v2alpha1", "DataUpload")),
    "restore": (("velero.io/v1", "PodVolumeRestore"), ("velero.io/v2alpha1", "DataDownload")),
}


def progress_bytes(objects: Sequence[Mapping[str, Any]]) -> int:
    """The bytes done of Velero per-volume objects (``status.progress.bytesDone``, summed)."""
    total = 0
    for obj in objects:
        progress = _status(obj).get("progress")
        if isinstance(progress, Mapping):
            total += _int(progress.get("bytesDone"))
    return total


def volume_bytes(cluster: Cluster, namespace: str, operation: str, name: str) -> int:
    """Bytes of volume data Velero moved for backup (or restore) ``name``: the ``bytesDone`` of its
    PodVolumeBackups and DataUploads (PodVolumeRestores and DataDownloads), found by Velero's
    ``velero.io/backup-name`` (``restore-name``) label in Velero's namespace. 0 when none moved data or the
    kinds are not served (data path ``none`` or ``native``, or a Velero without node agent)."""
    selector = f"velero.io/{operation}-name={name}"
    objects: list[Mapping[str, Any]] = []
    for api_version, kind in _DATA_OBJECTS[operation]:
        try:
            objects += cluster.list(cluster.resource_for(api_version, kind), namespace, label_selector=selector)
        except PortkitError as exc:  # kind not served, or not readable: no bytes to count from it
            log.debug("Cannot list %s in %s for %s %s: %s", kind, namespace, operation, name, exc)
    return progress_bytes(objects)


@contextlib.contextmanager
def _operation(operation: str, **attributes: Any) -> Iterator[observe.SpanHandle]:
    """The span ``portkit.velero.<operation>`` and the operation's count (ok or failed)."""
    obs = observe.current()
    ok = False
    try:
        with obs.span(f"portkit.velero.{operation}", operation=operation, **attributes) as span:
            try:
                yield span
            except VeleroOperationError as exc:  # Velero's own verdict on the span: phase, counts, reason
                span.set(
                    phase=exc.phase,
                    errors=exc.errors,
                    warnings=exc.warnings,
                    timed_out=exc.timed_out,
                    failure_reason=exc.failure_reason or None,
                    error_messages=list(exc.validation_errors) or None,
                )
                raise
            ok = True
    finally:
        obs.add("volume_operations", operation=operation, result="ok" if ok else "failed")


def _record_done(span: observe.SpanHandle, operation: str, obj: Mapping[str, Any], data_bytes: int) -> None:
    """Phase, items, errors, warnings and bytes of a finished backup or restore on its span and metrics."""
    status = _status(obj)
    raw = status.get("progress")
    progress: Mapping[str, Any] = raw if isinstance(raw, Mapping) else {}
    items = _int(progress.get("itemsBackedUp" if operation == "backup" else "itemsRestored"))
    span.set(
        phase=str(status.get("phase") or ""),
        items=items,
        total_items=_int(progress.get("totalItems")),
        errors=_int(status.get("errors")),
        warnings=_int(status.get("warnings")),
        bytes=data_bytes,
    )
    obs = observe.current()
    obs.add("volume_items", items, operation=operation)
    obs.add("volume_bytes", data_bytes, operation=operation)


def _local_cluster_velero(kubeconfig: str | os.PathLike[str] | None) -> str | None:
    """The Velero CLI of a :class:`portkit.testing.LocalCluster` whose admin kubeconfig this is (its
    ``state.json`` beside the kubeconfig names the binary that matches the cluster's Velero server)."""
    if not kubeconfig:
        return None
    state = Path(kubeconfig).expanduser().parent / "state.json"
    try:
        data = json.loads(state.read_text())
    except (OSError, ValueError):
        return None
    found = data.get("velero_binary") if isinstance(data, dict) else None
    same = isinstance(data, dict) and str(data.get("kubeconfig")) == str(Path(kubeconfig).expanduser())
    return str(found) if found and same else None


class VeleroCLI:
    """The ``velero`` command for one cluster and one Velero namespace.

    Args:
        binary: path of the ``velero`` executable; default ``$PORTKIT_VELERO``, ``velero`` on ``PATH``, or —
            for a cluster started by :class:`portkit.testing.LocalCluster` with ``velero=True`` — the CLI
            built for it.
        kubeconfig: passed as ``--kubeconfig`` (never taken from the environment silently).
        context: passed as ``--kubecontext``.
        namespace: Velero's namespace, passed as ``--namespace``.
        timeout: seconds one invocation may take.
        check_version: refuse Velero older than :data:`MIN_VERSION` (on first use).
    """

    def __init__(
        self,
        *,
        binary: str | os.PathLike[str] | None = None,
        kubeconfig: str | os.PathLike[str] | None = None,
        context: str | None = None,
        namespace: str = "velero",
        timeout: float = 120.0,
        check_version: bool = True,
    ) -> None:
        self.binary = self._resolve(binary, kubeconfig)
        self.kubeconfig = str(kubeconfig) if kubeconfig else None
        self.context = context or None
        self.namespace = _check_label(namespace, "Velero namespace")
        self.timeout = timeout
        self._check_version = check_version
        self._version: str | None = None

    @classmethod
    def for_cluster(
        cls,
        cluster: Cluster,
        *,
        namespace: str = "velero",
        binary: str | os.PathLike[str] | None = None,
        timeout: float = 120.0,
    ) -> VeleroCLI:
        """The CLI pointed at a :class:`portkit.Cluster` (its kubeconfig file and context)."""
        return cls(
            binary=binary,
            kubeconfig=cluster.kubeconfig,
            context=cluster.name or None,
            namespace=namespace,
            timeout=timeout,
        )

    @staticmethod
    def _resolve(binary: str | os.PathLike[str] | None, kubeconfig: str | os.PathLike[str] | None = None) -> str:
        candidate = (
            str(binary)
            if binary
            else os.environ.get("PORTKIT_VELERO") or shutil.which("velero") or _local_cluster_velero(kubeconfig)
        )
        if not candidate:
            raise ConfigurationError(
                "No velero binary: none given, $PORTKIT_VELERO is unset and `velero` is not on PATH.",
                hint="Install the Velero CLI (same version as the servers) or pass binary=/path/to/velero.",
            )
        path = Path(candidate)
        if not path.is_file() or not os.access(path, os.X_OK):
            raise ConfigurationError(
                f"The velero binary {candidate} does not exist or is not executable.",
                hint="Pass the path of the Velero CLI as binary= (or --velero).",
            )
        return str(path)

    def __repr__(self) -> str:
        return f"<VeleroCLI {self.binary} context={self.context} namespace={self.namespace}>"

    # -- running -------------------------------------------------------------------------------------
    def global_args(self) -> list[str]:
        """The flags every call gets: kubeconfig, context, namespace."""
        args = []
        if self.kubeconfig:
            args.append(f"--kubeconfig={self.kubeconfig}")
        if self.context:
            args.append(f"--kubecontext={self.context}")
        args.append(f"--namespace={self.namespace}")
        return args

    def run(
        self, args: Sequence[str], *, timeout: float | None = None, check: bool = True, global_flags: bool = True
    ) -> VeleroRun:
        """Run ``velero ARGS`` (list, no shell); raise :class:`VolumeMoveError` on timeout or (``check``) failure."""
        argv = [self.binary, *args, *(self.global_args() if global_flags else [])]
        limit = self.timeout if timeout is None else timeout
        # no PORTKIT_* variable (the bundle key) for the child; the namespace is always passed explicitly
        env = child_environment(drop=("VELERO_NAMESPACE",))
        started = time.monotonic()
        shown = " ".join(args[:3])
        try:
            proc = subprocess.run(
                argv, capture_output=True, text=True, timeout=limit, env=env, stdin=subprocess.DEVNULL, check=False
            )
        except subprocess.TimeoutExpired as exc:
            raise VolumeMoveError(
                f"`velero {shown}` did not finish within {limit:.0f} s.",
                hint="Check that the cluster's API server is reachable; raise the timeout for slow clusters.",
            ) from exc
        except OSError as exc:
            raise ConfigurationError(f"Cannot run the velero binary {self.binary}: {exc}") from exc
        run = VeleroRun(tuple(argv), proc.returncode, proc.stdout, proc.stderr, time.monotonic() - started)
        if check and run.returncode != 0:
            raise VolumeMoveError(
                f"`velero {shown}` failed (exit {run.returncode}): {self._error_text(run)}",
                hint="Check the Velero server in that cluster (`velero backup-location get`) and the arguments.",
            )
        return run

    @staticmethod
    def _error_text(run: VeleroRun) -> str:
        text = (run.stderr.strip() or run.stdout.strip() or "(no output)").splitlines()
        return " | ".join(text[-6:])[-600:]

    # -- version -------------------------------------------------------------------------------------
    def version(self) -> str:
        """The client version (``velero version --client-only``), checked against :data:`MIN_VERSION`."""
        if self._version is None:
            run = self.run(["version", "--client-only"], global_flags=False, timeout=min(self.timeout, 30.0))
            match = _VERSION.search(run.stdout)
            found = parse_version(run.stdout)
            if not match or found is None:
                raise ConfigurationError(
                    f"{self.binary} did not print a Velero version: {run.stdout.strip()[:200]!r}",
                    hint="Pass the Velero CLI as binary=.",
                )
            version = "v" + ".".join(map(str, found)) + match.group(4)
            if self._check_version and found < MIN_VERSION:
                raise ConfigurationError(
                    f"Velero {version} at {self.binary} is too old; portkit needs "
                    f"v{'.'.join(map(str, MIN_VERSION))} or newer.",
                    hint="Install a newer Velero CLI (and servers).",
                )
            self._version = version
        return self._version

    # -- reading -------------------------------------------------------------------------------------
    def get(self, kind: str, name: str) -> dict[str, Any] | None:
        """``velero KIND get NAME -o json`` as a dict, or None when it does not exist."""
        _check_subdomain(name, f"Velero {kind} name")
        self.version()
        run = self.run([kind, "get", name, "-o", "json"], check=False)
        if run.returncode != 0:
            if "not found" in (run.stderr + run.stdout).lower():
                return None
            raise VolumeMoveError(
                f"`velero {kind} get {name}` failed (exit {run.returncode}): {self._error_text(run)}",
                hint=f"Check that Velero is installed in namespace {self.namespace!r} of that cluster.",
            )
        objects = parse_objects(run.stdout, what=f"`velero {kind} get {name} -o json` output")
        for obj in objects:
            if (obj.get("metadata") or {}).get("name") == name:
                return obj
        return None

    def list(self, kind: str) -> list[dict[str, Any]]:
        """``velero KIND get -o json`` as a list (one object and List output both handled)."""
        self.version()
        run = self.run([kind, "get", "-o", "json"])
        return parse_objects(run.stdout, what=f"`velero {kind} get -o json` output")

    def storage_location(self, name: str | None = None) -> dict[str, Any]:
        """The named (or default) BackupStorageLocation; raises when there is none or it is not Available."""
        locations = self.list("backup-location")
        chosen = [
            loc
            for loc in locations
            if ((loc.get("metadata") or {}).get("name") == name if name else (loc.get("spec") or {}).get("default"))
        ]
        if not chosen:
            want = f"backup storage location {name!r}" if name else "a default backup storage location"
            raise VolumeMoveError(
                f"Velero in namespace {self.namespace!r} ({self.context or self.kubeconfig}) has no {want}.",
                hint="Create one (`velero backup-location create ... --default`) pointing at the shared bucket.",
            )
        loc = chosen[0]
        phase = _status(loc).get("phase")
        if phase != "Available":
            reason = _status(loc).get("message") or "no message"
            raise VolumeMoveError(
                f"Backup storage location {(loc.get('metadata') or {}).get('name')!r} in "
                f"{self.context or self.kubeconfig} is {phase or 'not validated yet'} ({reason}).",
                hint="Check the object-store credentials and bucket; `velero backup-location get` shows the phase.",
            )
        return loc

    # -- creating ------------------------------------------------------------------------------------
    def create_backup(
        self,
        name: str,
        *,
        namespaces: Sequence[str],
        selector: str | None = None,
        data_path: DataPath = "fs-backup",
        storage_location: str | None = None,
        snapshot_locations: Sequence[str] = (),
        ttl: str | None = None,
        extra_args: Sequence[str] = (),
    ) -> None:
        """Submit a backup (no ``--wait``, no ``-o``: see the module docstring)."""
        args = backup_args(
            name,
            namespaces=namespaces,
            selector=selector,
            data_path=data_path,
            storage_location=storage_location,
            snapshot_locations=snapshot_locations,
            ttl=ttl,
        )
        self.version()
        self.run([*args, *extra_args])

    def create_restore(
        self,
        name: str,
        *,
        backup: str,
        namespaces: Sequence[str] = (),
        namespace_map: Mapping[str, str] | None = None,
        resource_modifier_configmap: str | None = None,
        include_resources: Sequence[str] = (),
        existing_resource_policy: str | None = None,
        restore_volumes: bool = True,
        extra_args: Sequence[str] = (),
    ) -> None:
        """Submit a restore from ``backup`` (no ``--wait``, no ``-o``)."""
        args = restore_args(
            name,
            backup=backup,
            namespaces=namespaces,
            namespace_map=namespace_map,
            resource_modifier_configmap=resource_modifier_configmap,
            include_resources=include_resources,
            existing_resource_policy=existing_resource_policy,
            restore_volumes=restore_volumes,
        )
        self.version()
        self.run([*args, *extra_args])

    # -- waiting -------------------------------------------------------------------------------------
    def wait(
        self,
        kind: str,
        name: str,
        *,
        timeout: float = 1800.0,
        poll: float = 2.0,
        progress: ProgressCallback | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> dict[str, Any]:
        """Poll ``status.phase`` of a backup or restore until it completes; return the object.

        Raises :class:`VeleroOperationError` for ``Failed``, ``PartiallyFailed``, ``FailedValidation`` (with
        Velero's failure reason, validation errors, error and warning counts) and when ``timeout`` passes
        (with the last phase and progress seen).
        """
        done_key = "itemsBackedUp" if kind == "backup" else "itemsRestored"
        deadline = time.monotonic() + timeout
        last: tuple[str, int, int] | None = None
        obj: dict[str, Any] | None = None
        while True:
            obj = self.get(kind, name)
            status = _status(obj or {})
            phase = str(status.get("phase") or ("New" if obj is not None else ""))
            raw = status.get("progress")
            prog: Mapping[str, Any] = raw if isinstance(raw, Mapping) else {}
            done, total = _int(prog.get(done_key)), _int(prog.get("totalItems"))
            if progress is not None and obj is not None and (phase, done, total) != last:
                progress(VolumeProgress(kind, name, phase, done, total))
            last = (phase, done, total)
            if phase in RESTORE_DONE | BACKUP_DONE and obj is not None:
                return obj
            if phase in _TERMINAL:
                raise self._failed(kind, name, phase, status)
            if time.monotonic() >= deadline:
                seen = f"last phase {phase}" if obj is not None else "it never appeared"
                raise VeleroOperationError(
                    f"Velero {kind} {name} did not finish within {timeout:.0f} s ({seen}, {done}/{total or '?'} "
                    f"items, {_int(status.get('errors'))} errors, {_int(status.get('warnings'))} warnings).",
                    hint=f"Check `velero {kind} describe {name} -n {self.namespace}`: a volume may wait for a "
                    "snapshot or a node-agent pod that never comes; raise the timeout for large volumes.",
                    operation=kind,
                    name=name,
                    phase=phase or None,
                    errors=_int(status.get("errors")),
                    warnings=_int(status.get("warnings")),
                    timed_out=True,
                )
            sleep(poll)

    def error_lines(self, kind: str, name: str, *, limit: int = 12) -> tuple[str, ...]:
        """The error lines of ``velero backup|restore logs NAME`` (message and error), or one line saying why the
        logs could not be read."""
        run = self.run([kind, "logs", name], check=False, timeout=min(self.timeout, 60.0))
        if run.returncode != 0:
            return (f"(Velero's {kind} logs could not be read: {self._error_text(run)})",)
        return log_errors(run.stdout, limit=limit)

    def _failed(self, kind: str, name: str, phase: str, status: Mapping[str, Any]) -> VeleroOperationError:
        reason = str(status.get("failureReason") or "")
        validation = [str(v) for v in status.get("validationErrors") or []]
        errors, warnings = _int(status.get("errors")), _int(status.get("warnings"))
        details = "; ".join(filter(None, [reason, *validation])) or "Velero gave no reason"
        return VeleroOperationError(
            f"Velero {kind} {name} ended {phase}: {details} ({errors} errors, {warnings} warnings).",
            hint=f"See `velero {kind} describe {name} --details -n {self.namespace}` and `velero {kind} logs "
            f"{name} -n {self.namespace}` for the failing items.",
            operation=kind,
            name=name,
            phase=phase,
            failure_reason=reason,
            validation_errors=validation,
            errors=errors,
            warnings=warnings,
        )


class VeleroMover:
    """Move the PVCs (and, per data path, their data) of namespaces from one cluster to another with Velero.

    Both clusters run a Velero server whose backup storage locations point at the same bucket.

    Args:
        source, target: the clusters (their kubeconfig and context are given to the CLI).
        binary: the ``velero`` CLI (see :class:`VeleroCLI`).
        namespace: Velero's namespace in the source; ``target_namespace`` in the target (default the same).
        data_path: ``data-mover`` (``--snapshot-move-data``), ``fs-backup`` (``--default-volumes-to-fs-backup``),
            ``native`` (provider snapshots, same provider only) or ``none`` (objects only).
        source_provider, target_provider: profile names; ``native`` across different providers is
            reported in :attr:`VolumeMoveResult.messages` and logged as a warning.
        storage_location: the backup storage location (default: the default one).
        timeout: seconds a backup, and then a restore, may take; ``sync_timeout`` for the target to see
            the backup; ``poll``: seconds between phase checks; ``cli_timeout``: one CLI call.
        include_resources: restrict the restore to these resources (e.g. ``["persistentvolumeclaims",
            "persistentvolumes"]`` when portkit applies the workloads itself; file-system backup needs the
            pods restored by Velero).
        existing_resource_policy: ``none`` or ``update`` for objects that already exist in the target.
    """

    name = "velero"

    def __init__(
        self,
        source: Cluster,
        target: Cluster,
        *,
        binary: str | os.PathLike[str] | None = None,
        namespace: str = "velero",
        target_namespace: str | None = None,
        data_path: DataPath = "fs-backup",
        source_provider: str | None = None,
        target_provider: str | None = None,
        storage_location: str | None = None,
        timeout: float = 1800.0,
        sync_timeout: float = 180.0,
        poll: float = 2.0,
        cli_timeout: float = 120.0,
        include_resources: Sequence[str] = (),
        existing_resource_policy: str | None = None,
    ) -> None:
        if data_path not in DATA_PATHS:
            raise ConfigurationError(
                f"Unknown volume data path {data_path!r}.", hint=f"Use one of {', '.join(DATA_PATHS)}."
            )
        self.source = source
        self.target = target
        self.source_cli = VeleroCLI.for_cluster(source, namespace=namespace, binary=binary, timeout=cli_timeout)
        self.target_cli = VeleroCLI.for_cluster(
            target, namespace=target_namespace or namespace, binary=binary, timeout=cli_timeout
        )
        self.data_path = data_path
        self.source_provider = source_provider
        self.target_provider = target_provider
        self.storage_location = storage_location
        self.timeout = timeout
        self.sync_timeout = sync_timeout
        self.poll = poll
        self.include_resources = tuple(include_resources)
        self.existing_resource_policy = existing_resource_policy

    def __repr__(self) -> str:
        return f"<VeleroMover {self.source.name} → {self.target.name} data_path={self.data_path}>"

    def notes(self) -> list[str]:
        """What the user should know about this move before it runs (e.g. native snapshots across providers)."""
        notes = []
        if (
            self.data_path == "native"
            and self.source_provider
            and self.target_provider
            and self.source_provider != self.target_provider
        ):
            notes.append(
                f"Native volume snapshots of {self.source_provider} cannot be restored on "
                f"{self.target_provider}: the claims will be re-provisioned empty. Use data_path='data-mover' "
                "or 'fs-backup' to carry the data across providers."
            )
        if self.data_path == "none":
            notes.append("Data path 'none': only the claim objects move; the target provisions empty volumes.")
        return notes

    # -- the whole move ------------------------------------------------------------------------------
    def move(
        self,
        namespaces: Sequence[str],
        *,
        namespace_map: Mapping[str, str] | None = None,
        storage: StorageMapping | None = None,
        selector: str | None = None,
        progress: ProgressCallback | None = None,
        name: str | None = None,
    ) -> VolumeMoveResult:
        """Back up ``namespaces`` in the source and restore them into the target; see :meth:`backup`/:meth:`restore`."""
        started = time.monotonic()
        backup = self.backup(namespaces, selector=selector, progress=progress, name=name)
        result = self.restore(
            backup,
            namespaces=namespaces,
            namespace_map=namespace_map,
            storage=storage,
            selector=selector,
            progress=progress,
        )
        return attrs.evolve(result, seconds=time.monotonic() - started)

    def backup(
        self,
        namespaces: Sequence[str],
        *,
        selector: str | None = None,
        progress: ProgressCallback | None = None,
        name: str | None = None,
    ) -> str:
        """Create a backup in the source and wait until it is Completed; returns its name."""
        check_namespaces(namespaces)
        for note in self.notes():
            log.warning("%s", note)
        self.source_cli.storage_location(self.storage_location)
        backup = name or _dns_name("portkit", *namespaces[:2], time.strftime("%Y%m%d%H%M%S"))
        if not _NAME_OK.match(backup):
            raise ConfigurationError(
                f"{backup!r} is not a valid Velero backup name.", hint="Use lower-case letters, digits and '-'."
            )
        with _operation("backup", backup=backup, namespaces=list(namespaces), data_path=self.data_path) as span:
            if self.source_cli.get("backup", backup) is None:
                self.source_cli.create_backup(
                    backup,
                    namespaces=list(namespaces),
                    selector=selector,
                    data_path=self.data_path,
                    storage_location=self.storage_location,
                )
            try:
                obj = self.source_cli.wait("backup", backup, timeout=self.timeout, poll=self.poll, progress=progress)
            except VeleroOperationError as exc:
                raise self._explained(exc, self.source, self.source_cli) from exc
            _record_done(span, "backup", obj, volume_bytes(self.source, self.source_cli.namespace, "backup", backup))
        return backup

    def wait_synced(self, backup: str, progress: ProgressCallback | None = None) -> dict[str, Any]:
        """Wait until the target's Velero server has synced ``backup`` from the shared object store.

        Velero syncs a storage location about once a minute (not on demand), so this may take a minute.
        """
        with _operation("sync", backup=backup):
            return self._wait_synced(backup, progress)

    def _wait_synced(self, backup: str, progress: ProgressCallback | None) -> dict[str, Any]:
        deadline = time.monotonic() + self.sync_timeout
        reported = False
        while True:
            obj = self.target_cli.get("backup", backup)
            if obj is not None and _status(obj).get("phase") in BACKUP_DONE:
                return obj
            if progress is not None and not reported:
                progress(VolumeProgress("sync", backup, "WaitingForSync", 0, 0))
                reported = True
            if time.monotonic() >= deadline:
                raise VolumeMoveError(
                    f"The Velero server of {self.target.name} has not seen backup {backup} after "
                    f"{self.sync_timeout:.0f} s.",
                    hint="Both clusters' backup storage locations must point at the same bucket and prefix; "
                    "check `velero backup-location get` in the target.",
                )
            time.sleep(self.poll)

    def restore(
        self,
        backup: str,
        *,
        namespaces: Sequence[str],
        namespace_map: Mapping[str, str] | None = None,
        storage: StorageMapping | None = None,
        selector: str | None = None,
        progress: ProgressCallback | None = None,
        name: str | None = None,
    ) -> VolumeMoveResult:
        """Restore ``backup`` into the target with namespace and storage mapping; report every claim.

        The change-storage-class and resource-modifier ConfigMaps portkit writes for this restore are
        removed afterwards, whether the restore succeeded or not.
        """
        check_namespaces(namespaces, namespace_map)  # before anything is read or written
        _check_subdomain(backup, "Backup name")
        if name is not None:
            _check_subdomain(name, "Restore name")
        nsmap = {ns: (namespace_map or {}).get(ns, ns) for ns in namespaces}
        classes = storage_class_mapping(storage)
        claims = claim_changes(storage)
        messages = self.notes()
        ambiguous = ambiguous_classes(storage)
        if ambiguous:
            messages.append(
                f"Storage classes mapped to several targets (set per claim instead): {', '.join(ambiguous)}."
            )
        restore = name or _dns_name(backup, "restore")
        if classes:
            self._check_storage_class_configmap(restore)
        source_rows = self._source_claims(namespaces, selector)
        self.target_cli.storage_location(None)
        backup_obj = self.wait_synced(backup, progress)
        created: list[tuple[str, str]] = []
        with _operation(
            "restore", restore=restore, backup=backup, namespaces=list(namespaces), data_path=self.data_path
        ) as span:
            try:
                modifier = self._write_configmaps(restore, classes, claims, created)
                if self.target_cli.get("restore", restore) is None:
                    self.target_cli.create_restore(
                        restore,
                        backup=backup,
                        namespaces=list(namespaces),
                        namespace_map=nsmap,
                        resource_modifier_configmap=modifier,
                        include_resources=self.include_resources,
                        existing_resource_policy=self.existing_resource_policy,
                        restore_volumes=self.data_path != "none",
                    )
                try:
                    restore_obj = self.target_cli.wait(
                        "restore", restore, timeout=self.timeout, poll=self.poll, progress=progress
                    )
                except VeleroOperationError as exc:
                    raise self._explained(exc, self.target, self.target_cli) from exc
            finally:
                self._remove_configmaps(created)
            restored_bytes = volume_bytes(self.target, self.target_cli.namespace, "restore", restore)
            _record_done(span, "restore", restore_obj, restored_bytes)
        rows = tuple(self._target_row(row, nsmap) for row in source_rows)
        bstatus, rstatus = _status(backup_obj), _status(restore_obj)
        return VolumeMoveResult(
            backup=backup,
            restore=restore,
            backup_phase=str(bstatus.get("phase")),
            restore_phase=str(rstatus.get("phase")),
            data_path=self.data_path,
            namespace_map=nsmap,
            storage_classes=classes,
            volumes=rows,
            backup_warnings=_int(bstatus.get("warnings")),
            restore_warnings=_int(rstatus.get("warnings")),
            items_backed_up=_int((bstatus.get("progress") or {}).get("itemsBackedUp")),
            items_restored=_int((rstatus.get("progress") or {}).get("itemsRestored")),
            messages=tuple(messages),
            bytes_backed_up=volume_bytes(self.source, self.source_cli.namespace, "backup", backup),
            bytes_restored=restored_bytes,
        )

    def refresh(self, result: VolumeMoveResult) -> VolumeMoveResult:
        """``result`` with each claim's class, size and phase re-read from the target (e.g. after the
        workloads were applied and a WaitForFirstConsumer claim got bound)."""
        return refresh_volumes(result, self.target)

    # -- helpers -------------------------------------------------------------------------------------
    def _explained(self, exc: VeleroOperationError, cluster: Cluster, cli: VeleroCLI) -> VeleroOperationError:
        """``exc`` with the failing items and Velero's messages about them (read from the cluster and from
        ``velero ... logs``), so the user does not have to run ``describe``/``logs`` to learn what failed."""
        kind = exc.operation or "backup"
        failures = volume_item_failures(cluster, cli.namespace, kind, exc.name)
        if not exc.timed_out or not failures:
            failures += [f"velero {kind} logs: {line}" for line in cli.error_lines(kind, exc.name)]
        if not failures:
            return exc
        shown = "\n".join(f"  - {f}" for f in failures[:15])
        more = f"\n  ... and {len(failures) - 15} more" if len(failures) > 15 else ""
        return VeleroOperationError(
            f"{exc.message}\nWhat failed:\n{shown}{more}",
            hint=exc.hint,
            operation=exc.operation,
            name=exc.name,
            phase=exc.phase,
            failure_reason=exc.failure_reason,
            validation_errors=exc.validation_errors,
            errors=exc.errors,
            warnings=exc.warnings,
            timed_out=exc.timed_out,
            failures=failures,
        )

    def _check_storage_class_configmap(self, restore: str) -> str:
        """The name of portkit's change-storage-class ConfigMap; raises when another one exists."""
        namespace = self.target_cli.namespace
        cm = self.target.resource_for("v1", "ConfigMap")
        selector = ",".join(f"{k}={v}" for k, v in CHANGE_STORAGE_CLASS_LABELS.items())
        mine = _dns_name("portkit-sc", restore)
        foreign = [
            c["metadata"]["name"]
            for c in self.target.list(cm, namespace, label_selector=selector)
            if c["metadata"]["name"] != mine
        ]
        if foreign:
            raise VolumeMoveError(
                f"Velero namespace {namespace!r} of {self.target.name} already has a change-storage-class "
                f"ConfigMap ({', '.join(foreign)}); Velero refuses a second one.",
                hint="Merge portkit's mapping into it or delete it, then retry the restore.",
            )
        return mine

    def _write_configmaps(
        self, restore: str, classes: Mapping[str, str], claims: Sequence[ClaimChange], created: list[tuple[str, str]]
    ) -> str | None:
        namespace = self.target_cli.namespace
        if classes:
            mine = self._check_storage_class_configmap(restore)
            self.target.apply(change_storage_class_configmap(mine, namespace, classes), force=True)
            created.append((mine, namespace))
        modifier = resource_modifier_configmap(_dns_name("portkit-rm", restore), namespace, claims)
        if modifier is None:
            return None
        self.target.apply(modifier, force=True)
        created.append((modifier["metadata"]["name"], namespace))
        return str(modifier["metadata"]["name"])

    def _remove_configmaps(self, created: Sequence[tuple[str, str]]) -> None:
        if not created:
            return
        cm = self.target.resource_for("v1", "ConfigMap")
        for cm_name, namespace in created:
            try:
                live = self.target.get(cm, cm_name, namespace)
                if ((live.get("metadata") or {}).get("labels") or {}).get(MANAGED_BY_LABEL) == "portkit":
                    self.target.delete(cm, cm_name, namespace)
            except NotFoundError:
                pass
            except PortkitError as exc:
                log.warning("Could not remove ConfigMap %s/%s from %s: %s", namespace, cm_name, self.target.name, exc)

    def _source_claims(self, namespaces: Sequence[str], selector: str | None) -> list[VolumeRow]:
        pvc = self.source.resource_for("v1", "PersistentVolumeClaim")
        rows = []
        for ns in namespaces:
            for claim in self.source.list(pvc, ns, label_selector=selector):
                spec = claim.get("spec") or {}
                rows.append(
                    VolumeRow(
                        source_namespace=ns,
                        name=str(claim["metadata"]["name"]),
                        source_class=spec.get("storageClassName"),
                        source_size=((spec.get("resources") or {}).get("requests") or {}).get("storage"),
                        target_namespace=ns,
                    )
                )
        return rows

    def _target_row(self, row: VolumeRow, nsmap: Mapping[str, str]) -> VolumeRow:
        return _read_target_row(self.target, row, nsmap)


def _read_target_row(target: Cluster, row: VolumeRow, nsmap: Mapping[str, str]) -> VolumeRow:
    target_ns = nsmap.get(row.source_namespace, row.source_namespace)
    pvc = target.resource_for("v1", "PersistentVolumeClaim")
    try:
        live = target.get(pvc, row.name, target_ns)
    except NotFoundError:
        return attrs.evolve(row, target_namespace=target_ns, phase="Missing")
    spec = live.get("spec") or {}
    return attrs.evolve(
        row,
        target_namespace=target_ns,
        target_class=spec.get("storageClassName"),
        target_size=((spec.get("resources") or {}).get("requests") or {}).get("storage"),
        phase=str(_status(live).get("phase") or "Pending"),
        volume=spec.get("volumeName"),
    )


def refresh_volumes(result: VolumeMoveResult, target: Cluster) -> VolumeMoveResult:
    """``result`` with each claim's class, size and phase re-read from ``target`` (e.g. after the workloads
    were applied and a WaitForFirstConsumer claim got bound)."""
    rows = tuple(_read_target_row(target, r, result.namespace_map) for r in result.volumes)
    return attrs.evolve(result, volumes=rows)
