"""Prometheus metrics of one portkit run: the metric table, a registry of its own, the text file, the endpoint.

Built on ``prometheus_client`` (a dependency of portkit), with a
:class:`~prometheus_client.CollectorRegistry` per :class:`Metrics` object — never the library's global
registry, so two runs in one process (tests, notebooks) never share or double-count series.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any, Literal

import attrs

from portkit._kv import parse_key_values
from portkit.errors import ConfigurationError

__all__ = [
    "METRICS",
    "MetricSpec",
    "Metrics",
    "MetricsServer",
    "metric_names",
    "parse_labels",
    "require_prometheus_client",
]

_LABEL_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")


@attrs.frozen
class MetricSpec:
    """One metric: its key in portkit's code, its exposed name, type, help text and label names.

    Counters are exposed with the ``_total`` suffix, info metrics with ``_info`` (the names here are the
    full exposed names).
    """

    key: str
    name: str
    kind: Literal["counter", "gauge", "info"]
    help: str
    labels: tuple[str, ...] = ()


#: Every metric portkit exposes (the API counters come from the clusters' own request counters).
METRICS: tuple[MetricSpec, ...] = (
    MetricSpec(
        "run_info",
        "portkit_run_info",
        "info",
        "The portkit command of this run and its version.",
        ("command", "version"),
    ),
    MetricSpec("run_start", "portkit_run_start_time_seconds", "gauge", "When this run started (Unix time)."),
    MetricSpec("run_duration", "portkit_run_duration_seconds", "gauge", "How long the run took (set at its end)."),
    MetricSpec(
        "run_exit_code",
        "portkit_run_exit_code",
        "gauge",
        "The run's exit code: 0 ok, 1 failed, 2 usage or bad input, 3 needs attention; -1 while it runs.",
    ),
    MetricSpec(
        "migration_info",
        "portkit_migration_info",
        "info",
        "The migration this run carries out.",
        ("namespaces", "source_provider", "target_provider"),
    ),
    MetricSpec(
        "downtime",
        "portkit_migration_downtime_seconds",
        "gauge",
        "Seconds from scaling the source down to the target's workloads being ready.",
    ),
    MetricSpec("step_running", "portkit_step_running", "gauge", "1 while the step runs, else 0.", ("step",)),
    MetricSpec(
        "step_duration", "portkit_step_duration_seconds", "gauge", "How long the step took in this run.", ("step",)
    ),
    MetricSpec("step_failures", "portkit_step_failures_total", "counter", "Steps that ended with an error.", ("step",)),
    MetricSpec(
        "objects_exported", "portkit_objects_exported_total", "counter", "Objects the export wrote to the bundle."
    ),
    MetricSpec(
        "export_kinds_failed",
        "portkit_export_kinds_failed_total",
        "counter",
        "Kinds the export could not list (see the export report).",
    ),
    MetricSpec(
        "translation_changes", "portkit_translation_changes_total", "counter", "Field changes the translation made."
    ),
    MetricSpec("translation_warnings", "portkit_translation_warnings_total", "counter", "Warnings of the translation."),
    MetricSpec(
        "manual_actions",
        "portkit_translation_manual_actions_total",
        "counter",
        "Manual actions the translation left for a person.",
    ),
    MetricSpec(
        "lint_findings",
        "portkit_lint_findings",
        "gauge",
        "Source-provider leftovers the lint found in the translated objects.",
    ),
    MetricSpec(
        "policy_violations",
        "portkit_policy_violations",
        "gauge",
        "Policy violations of the translated objects, by action (deny, warn).",
        ("action",),
    ),
    MetricSpec("plan_actions", "portkit_plan_actions", "gauge", "Objects of the plan by operation.", ("op",)),
    MetricSpec("plan_blockers", "portkit_plan_blockers", "gauge", "Blockers of the plan."),
    MetricSpec(
        "objects_applied",
        "portkit_objects_applied_total",
        "counter",
        "Objects the apply handled without failure, by outcome (created, updated, unchanged, skipped, dry-run).",
        ("outcome",),
    ),
    MetricSpec(
        "objects_failed",
        "portkit_objects_failed_total",
        "counter",
        "Objects that failed: rejected by the target's API (step apply) or different from the bundle "
        "after the apply (step verify).",
        ("step",),
    ),
    MetricSpec("apply_writes", "portkit_apply_writes_total", "counter", "Write requests the apply sent."),
    MetricSpec(
        "wave_duration", "portkit_apply_wave_duration_seconds", "gauge", "How long each apply wave took.", ("wave",)
    ),
    MetricSpec(
        "wait_objects",
        "portkit_wait_objects",
        "gauge",
        "Objects waited for after the apply, by state (ready, not_ready).",
        ("state",),
    ),
    MetricSpec(
        "verify_objects",
        "portkit_verify_objects",
        "gauge",
        "Objects verified in the target, by result (ok, mismatch).",
        ("result",),
    ),
    MetricSpec("quiesced_workloads", "portkit_quiesced_workloads", "gauge", "Workloads scaled to zero in the source."),
    MetricSpec(
        "volume_operations",
        "portkit_volume_operations_total",
        "counter",
        "Velero operations, by operation (backup, sync, restore) and result (ok, failed).",
        ("operation", "result"),
    ),
    MetricSpec(
        "volume_items",
        "portkit_volume_items_total",
        "counter",
        "Items Velero backed up or restored, by operation.",
        ("operation",),
    ),
    MetricSpec(
        "volume_bytes",
        "portkit_volume_bytes_total",
        "counter",
        "Bytes of volume data Velero moved (file-system backup and data mover), by operation.",
        ("operation",),
    ),
    MetricSpec(
        "volume_claims",
        "portkit_volume_claims",
        "gauge",
        "Claims of the volume move by their phase in the target.",
        ("phase",),
    ),
    MetricSpec(
        "data_bytes",
        "portkit_verify_data_bytes_total",
        "counter",
        "Bytes of volume data compared between source and target.",
    ),
    MetricSpec("data_files", "portkit_verify_data_files_total", "counter", "Files compared between source and target."),
    MetricSpec(
        "data_claims",
        "portkit_verify_data_claims_total",
        "counter",
        "Claims compared between source and target, by status (equal, different, missing, not-checkable).",
        ("status",),
    ),
)
_BY_KEY = {spec.key: spec for spec in METRICS}

#: The request counters of the clusters a run used (from :class:`portkit.cluster.ClusterStats`).
API_COUNTERS: tuple[tuple[str, str, str], ...] = (
    ("requests", "portkit_api_requests_total", "HTTP requests to the cluster's API server, retries included."),
    ("retries", "portkit_api_retries_total", "Requests retried (429, 5xx, connection errors)."),
    ("throttled", "portkit_api_throttled_total", "Requests the API server throttled (429)."),
    ("writes", "portkit_api_writes_total", "Write requests to the cluster's API server."),
)


def metric_names() -> list[str]:
    """Every metric name portkit can expose (for dashboards and their tests)."""
    return [spec.name for spec in METRICS] + [name for _, name, _ in API_COUNTERS]


def require_prometheus_client() -> Any:
    """The ``prometheus_client`` module; a :class:`ConfigurationError` saying what to install if it is missing."""
    try:
        import prometheus_client
    except ImportError:
        raise ConfigurationError(
            "Metrics need the prometheus_client package, which is not installed.",
            hint="Install portkit with the prometheus extra: pip install 'portkit[prometheus]'.",
        ) from None
    return prometheus_client


class _ApiCollector:
    """Reads the tracked clusters' request counters at every collection (live while the run goes on)."""

    def __init__(self, const: Mapping[str, str]) -> None:
        self._const = dict(const)
        self._lock = threading.Lock()
        self._stats: dict[int, tuple[str, Any]] = {}

    def track(self, name: str, stats: Any) -> None:
        with self._lock:
            self._stats[id(stats)] = (name, stats)

    def collect(self) -> Iterator[Any]:
        from prometheus_client.core import CounterMetricFamily

        with self._lock:
            tracked = list(self._stats.values())
        for field, name, help_text in API_COUNTERS:
            family = CounterMetricFamily(name, help_text, labels=[*self._const, "cluster"])
            totals: dict[str, int] = {}
            for cluster, stats in tracked:
                totals[cluster] = totals.get(cluster, 0) + int(getattr(stats, field, 0))
            for cluster, value in sorted(totals.items()):
                family.add_metric([*self._const.values(), cluster], value)
            yield family

    def describe(self) -> list[Any]:
        return []  # collected lazily: no fixed sample set to describe


class Metrics:
    """The metrics of one run, in a registry of their own.

    Args:
        labels: constant labels put on every series (e.g. ``{"fleet": "eu", "unit": "shop"}``) so that runs
            sharing one textfile directory or Pushgateway group stay apart.

    Raises:
        ConfigurationError: ``prometheus_client`` is not installed, or a label name is invalid.
    """

    def __init__(self, labels: Mapping[str, str] | None = None) -> None:
        client = require_prometheus_client()
        self.labels = dict(labels or {})
        reserved = {label for spec in METRICS for label in spec.labels} | {"cluster"}
        for key in self.labels:
            if not _LABEL_NAME.match(key) or key.startswith("__") or key in reserved:
                raise ConfigurationError(
                    f"{key!r} cannot be a metrics label name.",
                    hint="Use letters, digits and '_' (not starting with a digit or '__'), and none of "
                    f"{', '.join(sorted(reserved))}.",
                )
        self.registry = client.CollectorRegistry()
        self._lock = threading.Lock()
        const = list(self.labels)
        self._metrics: dict[str, Any] = {}
        for spec in METRICS:
            cls = {"counter": client.Counter, "gauge": client.Gauge, "info": client.Info}[spec.kind]
            name = spec.name.removesuffix("_total") if spec.kind == "counter" else spec.name
            name = name.removesuffix("_info") if spec.kind == "info" else name
            labelnames = const if spec.kind == "info" else [*const, *spec.labels]  # info: labels from .info()
            self._metrics[spec.key] = cls(name, spec.help, labelnames, registry=self.registry)
        self._api = _ApiCollector(self.labels)
        self.registry.register(self._api)

    def __repr__(self) -> str:
        return f"<Metrics {len(METRICS)} metrics, labels={self.labels}>"

    def _child(self, key: str, labels: Mapping[str, str]) -> Any:
        spec = _BY_KEY[key]
        metric = self._metrics[key]
        own = () if spec.kind == "info" else spec.labels
        if not own and not self.labels:
            return metric
        values = {**self.labels, **{k: str(labels.get(k, "")) for k in own}}
        return metric.labels(**values)

    def add(self, key: str, value: float = 1, **labels: str) -> None:
        """Increase counter ``key`` (see :data:`METRICS`) by ``value`` (0 makes the series appear at 0)."""
        self._child(key, labels).inc(value)

    def set(self, key: str, value: float, **labels: str) -> None:
        """Set gauge ``key`` to ``value``."""
        self._child(key, labels).set(value)

    def info(self, key: str, values: Mapping[str, str]) -> None:
        """Set info metric ``key`` (its labels are ``values``)."""
        spec = _BY_KEY[key]
        self._child(key, {}).info({k: str(values.get(k, "")) for k in spec.labels})

    def track_cluster(self, name: str, stats: Any) -> None:
        """Expose the request counters ``stats`` (a :class:`~portkit.cluster.ClusterStats`) as cluster ``name``."""
        self._api.track(name, stats)

    def text(self) -> str:
        """The metrics in the Prometheus text exposition format."""
        from prometheus_client import generate_latest

        return generate_latest(self.registry).decode("utf-8")

    def write(self, path: str | Path) -> Path:
        """Write the metrics to ``path`` atomically (a temporary file in the same directory, renamed over it):
        node-exporter's textfile collector never reads half a file. Name it ``*.prom`` for that collector."""
        from prometheus_client import write_to_textfile

        target = Path(path)
        with self._lock:
            write_to_textfile(str(target), self.registry)
        return target

    def serve(self, port: int, address: str = "127.0.0.1") -> MetricsServer:
        """Serve the metrics on ``http://address:port/metrics`` from a background thread until
        :meth:`MetricsServer.close`. Port 0 picks a free port (see :attr:`MetricsServer.port`)."""
        from prometheus_client import start_http_server

        try:
            server, thread = start_http_server(port, addr=address, registry=self.registry)
        except OSError as exc:
            raise ConfigurationError(
                f"Cannot serve metrics on {address}:{port}: {exc.strerror or exc}.",
                hint="Choose another --metrics-port (or --metrics-address), or leave the flag out.",
            ) from None
        return MetricsServer(server, thread)


class MetricsServer:
    """A running metrics endpoint (see :meth:`Metrics.serve`)."""

    def __init__(self, server: Any, thread: threading.Thread) -> None:
        self._server = server
        self._thread = thread
        self.address, self.port = server.server_address[:2]

    @property
    def url(self) -> str:
        """``http://address:port/metrics``."""
        host = f"[{self.address}]" if ":" in str(self.address) else self.address
        return f"http://{host}:{self.port}/metrics"

    def __repr__(self) -> str:
        return f"<MetricsServer {self.url}>"

    def close(self) -> None:
        """Stop serving and release the port."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


def parse_labels(items: Iterable[str]) -> dict[str, str]:
    """``KEY=VALUE`` strings (``--metrics-label``) as a dict, split by the one parser (:mod:`portkit._kv`).

    Raises:
        ConfigurationError: an item is not ``KEY=VALUE``, or one key is given twice with different values.
    """
    return parse_key_values(items, flag="--metrics-label", example="unit=shop", strip=True)
