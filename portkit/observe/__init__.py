"""Observable migrations: OpenTelemetry spans and Prometheus metrics of what portkit does.

Every step (export, translate, lint, quiesce, volumes, plan, apply, wait, verify, verify_data) is a span
``portkit.<step>`` with its object counts and errors as attributes; every apply wave is a span
``portkit.apply.wave``; every Velero operation a span ``portkit.velero.<backup|sync|restore>``. The same
work is counted in Prometheus metrics (see :data:`METRICS` and ``docs/observability.md``).

Both are optional extras and cost nothing when absent:

* traces need ``opentelemetry-api`` — ``pip install 'portkit[otel]'`` brings the API, the SDK and the OTLP
  exporter. A script that has configured a global tracer provider gets portkit's spans in it; the CLI sets
  the SDK up from the standard ``OTEL_*`` variables (:func:`tracer_provider_from_env`). Without either,
  no span is started.
* metrics need ``prometheus_client`` (a dependency; if it is missing the flags say what to install). Each
  :class:`Metrics` has a registry of its own. The CLI's ``--metrics-file`` / ``--metrics-port`` use it.

```python
from portkit.observe import Metrics, Observer

with Observer(metrics=Metrics(labels={"unit": "shop"}), metrics_file="shop.prom") as obs:
    portkit.Migration(...).run()          # spans go to the global tracer provider, if one is set
```
"""

from portkit.observe._command import run_command
from portkit.observe._metrics import API_COUNTERS, METRICS, Metrics, MetricSpec, MetricsServer, metric_names
from portkit.observe._observer import Observer, SpanHandle, current, step
from portkit.observe._tracing import parent_context_from_env, tracer_provider_from_env

__all__ = [
    "API_COUNTERS",
    "METRICS",
    "MetricSpec",
    "Metrics",
    "MetricsServer",
    "Observer",
    "SpanHandle",
    "current",
    "metric_names",
    "parent_context_from_env",
    "run_command",
    "step",
    "tracer_provider_from_env",
]
