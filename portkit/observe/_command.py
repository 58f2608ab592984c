"""One observed run of a portkit command: its root span, its metrics file and endpoint, its exit code."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from pathlib import Path

from portkit._version import __version__
from portkit.errors import ConfigurationError, InputError
from portkit.observe._metrics import Metrics, MetricsServer
from portkit.observe._observer import Observer, current
from portkit.observe._tracing import global_tracer, otel_trace, parent_context_from_env, tracer_provider_from_env

__all__ = ["run_command"]

log = logging.getLogger(__name__)


def _check_writable(path: Path) -> None:
    if not path.parent.is_dir():
        raise ConfigurationError(
            f"Cannot write the metrics file {path}: the directory {path.parent} does not exist.",
            hint="Create it, or name a file in an existing directory with --metrics-file.",
        )
    if path.is_dir():
        raise ConfigurationError(f"The metrics file {path} is a directory.", hint="Name a file, e.g. portkit.prom.")


def run_command(
    command: str,
    run: Callable[[], int],
    *,
    metrics_file: str | Path | None = None,
    metrics_port: int | None = None,
    metrics_address: str = "127.0.0.1",
    labels: Mapping[str, str] | None = None,
    announce: Callable[[str], None] | None = None,
) -> int:
    """Run ``run()`` (a command returning its exit code) observed.

    Traces go where the ``OTEL_*`` variables say (see :func:`~portkit.observe.tracer_provider_from_env`), or
    to the application's global tracer provider when one is set (``opentelemetry-instrument``); a
    ``TRACEPARENT`` variable makes the run part of the caller's trace. Metrics are written to
    ``metrics_file`` (at the start, after every step and at the end) and served on ``metrics_port``
    while the command runs. With none of that, ``run()`` is simply called.

    Raises:
        ConfigurationError: the metrics need ``prometheus_client`` and it is missing, the file cannot be
            written, the port cannot be bound, or the ``OTEL_*`` variables name an exporter not installed
            (all before ``run()`` starts).
    """
    metrics = Metrics(labels) if metrics_file is not None or metrics_port is not None else None
    provider = None if global_tracer() is not None else tracer_provider_from_env()
    if metrics is None and provider is None and current().tracer() is None:
        return run()
    say = announce or (lambda message: log.info("%s", message))
    path = Path(metrics_file) if metrics_file is not None else None
    if path is not None:
        _check_writable(path)
    # no OTEL_* export of its own: spans go where the observer active around the call sends them (a script
    # calling portkit.cli.main inside an Observer), else to the global tracer provider
    observer = Observer(tracer_provider=provider or current().tracer_provider, metrics=metrics, metrics_file=path)
    observer.info("run_info", {"command": command, "version": __version__})
    observer.set("run_start", time.time())
    observer.set("run_exit_code", -1)  # until the run ends: a scrape during the run never reads "0, ok"
    server: MetricsServer | None = None
    started = time.monotonic()
    code = 1
    try:
        if path is not None:
            try:  # the file exists from the start: the textfile collector sees the run running
                observer.flush()
            except OSError as exc:
                raise ConfigurationError(
                    f"Cannot write the metrics file {path}: {exc.strerror or exc}.",
                    hint="Name a file in a directory you can write to.",
                ) from None
        if metrics is not None and metrics_port is not None:
            server = metrics.serve(metrics_port, metrics_address)
            say(f"serving metrics on {server.url}")
        with observer, observer.span(f"portkit {command}", parent=parent_context_from_env(), command=command) as span:
            try:
                code = run()
            except KeyboardInterrupt:
                code = 1
                raise
            except InputError:
                code = 2
                raise
            finally:
                span.set(exit_code=code)
            if code in (1, 2) and span.span is not None:
                trace = otel_trace()
                span.span.set_status(trace.Status(trace.StatusCode.ERROR, f"exit code {code}"))
        return code
    finally:
        observer.set("run_duration", time.monotonic() - started)
        observer.set("run_exit_code", code)
        try:
            observer.flush()
        except OSError as exc:
            if announce is not None:
                announce(f"warning: could not write the metrics file {path}: {exc.strerror or exc}")
            else:
                log.warning("could not write the metrics file %s: %s", path, exc.strerror or exc)
        if server is not None:
            server.close()
        if provider is not None:
            provider.shutdown()  # exports the spans still queued
