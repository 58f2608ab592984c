"""OpenTelemetry, when it is installed: the API for spans, the SDK set up from the standard ``OTEL_*`` variables.

Nothing here imports OpenTelemetry at module import time. Without ``opentelemetry-api`` every function
returns None and portkit makes no spans; with the API but no SDK configured (no tracer provider set by the
application, no ``OTEL_*`` exporter variables) spans are not even started.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Mapping
from importlib.metadata import entry_points
from typing import Any

from portkit._version import __version__
from portkit.errors import ConfigurationError

__all__ = ["TRACER_NAME", "global_tracer", "otel_trace", "parent_context_from_env", "tracer_provider_from_env"]

TRACER_NAME = "portkit"
log = logging.getLogger(__name__)

_UNSET: Any = object()
_trace_module: Any = _UNSET
_OTLP_PROTOCOLS = {"http/protobuf": "otlp_proto_http", "grpc": "otlp_proto_grpc"}


def otel_trace() -> Any:
    """``opentelemetry.trace`` when ``opentelemetry-api`` is installed, else None (looked up once)."""
    global _trace_module
    if _trace_module is _UNSET:
        try:
            import opentelemetry.trace as found
        except ImportError:
            found = None  # type: ignore[assignment]
        _trace_module = found
    return _trace_module


def global_tracer() -> Any:
    """portkit's tracer from the application's global tracer provider; None when there is none.

    A library never configures OpenTelemetry itself: when a script or ``opentelemetry-instrument`` has set a
    tracer provider, portkit's spans go there; when nothing has, this is None and no span is started.
    """
    trace = otel_trace()
    if trace is None:
        return None
    provider = trace.get_tracer_provider()
    if isinstance(provider, trace.ProxyTracerProvider):  # nothing configured: skip spans entirely
        return None
    return provider.get_tracer(TRACER_NAME, __version__)


def _exporter_names(env: Mapping[str, str]) -> list[str]:
    """The trace exporters the environment asks for (``OTEL_TRACES_EXPORTER``; default ``otlp`` when an OTLP
    endpoint is set, none otherwise)."""
    value = env.get("OTEL_TRACES_EXPORTER")
    if value is None:
        endpoint = env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") or env.get("OTEL_EXPORTER_OTLP_ENDPOINT")
        return ["otlp"] if endpoint else []
    names = [n.strip().lower() for n in value.split(",") if n.strip()]
    return [] if "none" in names else names


def _exporter(name: str, env: Mapping[str, str]) -> Any:
    if name == "console":  # stderr: stdout carries -o json
        from opentelemetry.sdk.trace.export import ConsoleSpanExporter

        return ConsoleSpanExporter(out=sys.stderr)
    if name == "otlp":
        protocol = (
            env.get("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL") or env.get("OTEL_EXPORTER_OTLP_PROTOCOL") or "http/protobuf"
        ).strip()
        if protocol not in _OTLP_PROTOCOLS:
            raise ConfigurationError(
                f"OTEL_EXPORTER_OTLP_PROTOCOL={protocol!r} is not supported.",
                hint="Use http/protobuf (the default) or grpc.",
            )
        name = _OTLP_PROTOCOLS[protocol]
    found = list(entry_points(group="opentelemetry_traces_exporter", name=name))
    if not found:
        package = {
            "otlp_proto_http": "opentelemetry-exporter-otlp-proto-http",
            "otlp_proto_grpc": "opentelemetry-exporter-otlp-proto-grpc",
        }.get(name, "the exporter's package")
        raise ConfigurationError(
            f"OTEL_TRACES_EXPORTER asks for the trace exporter {name!r}, which is not installed.",
            hint=f"Install {package} (OTLP over HTTP comes with pip install 'portkit[otel]'), or set "
            "OTEL_TRACES_EXPORTER=none.",
        )
    return found[0].load()()


def tracer_provider_from_env(env: Mapping[str, str] | None = None) -> Any:
    """An SDK tracer provider exporting as the standard ``OTEL_*`` variables say; None when they ask for no
    export, when ``OTEL_SDK_DISABLED=true``, or when the SDK (``portkit[otel]``) is not installed.

    ``OTEL_TRACES_EXPORTER`` (``otlp``, ``console`` — on stderr —, ``none``, or any installed exporter; default
    ``otlp`` when ``OTEL_EXPORTER_OTLP_[TRACES_]ENDPOINT`` is set), ``OTEL_EXPORTER_OTLP_PROTOCOL``
    (``http/protobuf``, the default, or ``grpc``), ``OTEL_EXPORTER_OTLP_*`` (read by the exporter),
    ``OTEL_SERVICE_NAME`` / ``OTEL_RESOURCE_ATTRIBUTES`` (default service name ``portkit``),
    ``OTEL_TRACES_SAMPLER[_ARG]`` and ``OTEL_BSP_*`` (read by the SDK). Shut the provider down at the end
    of the run: that flushes the spans still queued.

    Raises:
        ConfigurationError: an exporter is asked for that is not installed, or an unknown OTLP protocol.
    """
    env = os.environ if env is None else env
    if env.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return None
    names = _exporter_names(env)
    if not names:
        return None
    try:
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor
    except ImportError:
        log.debug("OTEL_* variables ask for trace export, but opentelemetry-sdk is not installed: no spans.")
        return None
    resource = Resource.create({"service.version": __version__})
    if str(resource.attributes.get("service.name", "")).startswith("unknown_service"):
        resource = resource.merge(Resource({"service.name": "portkit"}))
    exporters = [_exporter(name, env) for name in names]
    provider = TracerProvider(resource=resource)
    for exporter in exporters:
        provider.add_span_processor(BatchSpanProcessor(exporter))
    return provider


def parent_context_from_env(env: Mapping[str, str] | None = None) -> Any:
    """The trace context in ``TRACEPARENT`` / ``TRACESTATE`` (W3C trace context, as CI systems and workflow
    engines pass it to child processes), or None. A run started with it joins the caller's trace."""
    env = os.environ if env is None else env
    traceparent = env.get("TRACEPARENT")
    if not traceparent or otel_trace() is None:
        return None
    from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

    carrier = {"traceparent": traceparent}
    if env.get("TRACESTATE"):
        carrier["tracestate"] = env["TRACESTATE"]
    return TraceContextTextMapPropagator().extract(carrier)
