"""The active :class:`Observer`: spans and metrics of the work running in this context.

Library code reports through :func:`current` (a context variable: each thread and task sees the observer
activated in it, or the default one). The default observer has no metrics and makes spans only when the
application has configured an OpenTelemetry tracer provider; so without observability set up every hook
costs one context-variable read and an ``is None`` check.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import logging
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

from portkit._version import __version__
from portkit.observe._metrics import Metrics
from portkit.observe._tracing import TRACER_NAME, global_tracer, otel_trace

__all__ = ["Observer", "SpanHandle", "current", "step"]

log = logging.getLogger(__name__)
P = ParamSpec("P")
R = TypeVar("R")

_CURRENT: contextvars.ContextVar[Observer | None] = contextvars.ContextVar("portkit_observer", default=None)
# the portkit span open in this context: (name, handle) — a step span opened by Migration and the span of
# the function it calls are one span
_OPEN: contextvars.ContextVar[tuple[str, SpanHandle] | None] = contextvars.ContextVar("portkit_span", default=None)
_MAX_LIST = 20  # list attributes (error messages) keep at most this many entries
_MAX_TEXT = 500


def _attribute(value: Any) -> Any:
    """A value OpenTelemetry accepts (str, bool, int, float or a homogeneous list of them); None: leave out."""
    if value is None or isinstance(value, bool | int | float | str):
        return value if not isinstance(value, str) else value[:_MAX_TEXT]
    if isinstance(value, Mapping):
        return None
    if isinstance(value, Iterable):
        items = [str(v)[:_MAX_TEXT] for v in list(value)[:_MAX_LIST]]
        return items
    return str(value)[:_MAX_TEXT]


class SpanHandle:
    """The span of a piece of work: set attributes on it (a no-op when no span is recorded)."""

    def __init__(self, span: Any = None) -> None:
        self.span = span
        self.attributes: dict[str, Any] = {}

    @property
    def recording(self) -> bool:
        """True when a real span records what is set."""
        return self.span is not None

    def set(self, **attributes: Any) -> None:
        """Set attributes (named ``portkit.<name>``; ``error_type`` becomes ``error.type``)."""
        for key, value in attributes.items():
            converted = _attribute(value)
            if converted is None:
                continue
            name = "error.type" if key == "error_type" else f"portkit.{key}"
            self.attributes[name] = converted
            if self.span is not None:
                self.span.set_attribute(name, converted)

    def fail(self, exc: BaseException) -> None:
        """Record ``exc`` on the span: an exception event, status ERROR, ``error.type``."""
        self.set(error_type=type(exc).__name__)
        if self.span is not None:
            trace = otel_trace()
            self.span.record_exception(exc)
            self.span.set_status(trace.Status(trace.StatusCode.ERROR, f"{type(exc).__name__}: {exc}"[:_MAX_TEXT]))


class Observer:
    """Where portkit's spans and metrics go while it is active.

    ```python
    from opentelemetry.sdk.trace import TracerProvider
    from portkit.observe import Metrics, Observer

    with Observer(tracer_provider=TracerProvider(...), metrics=Metrics(), metrics_file="run.prom") as obs:
        portkit.Migration(...).run()
    print(obs.metrics.text())
    ```

    Args:
        tracer_provider: an OpenTelemetry tracer provider; default: the application's global one, if any.
        metrics: a :class:`Metrics` to record into (None: no metrics).
        metrics_file: rewrite the metrics to this file (atomically) at the end of every step and when the
            observer is left.
    """

    def __init__(
        self,
        *,
        tracer_provider: Any = None,
        metrics: Metrics | None = None,
        metrics_file: str | Path | None = None,
    ) -> None:
        self.tracer_provider = tracer_provider
        self.metrics = metrics
        self.metrics_file = Path(metrics_file) if metrics_file is not None else None
        self._tracer = tracer_provider.get_tracer(TRACER_NAME, __version__) if tracer_provider is not None else None
        self._tokens: list[contextvars.Token[Observer | None]] = []

    def __repr__(self) -> str:
        tracing = "tracing" if self._tracer is not None else "global tracer"
        return f"<Observer {tracing}, metrics={'yes' if self.metrics else 'no'}>"

    # -- activation ---------------------------------------------------------------------------------
    def __enter__(self) -> Observer:
        self._tokens.append(_CURRENT.set(self))
        return self

    def __exit__(self, *exc: object) -> None:
        _CURRENT.reset(self._tokens.pop())
        self._flush_quietly()

    def flush(self) -> None:
        """Write the metrics file (when there is one); raises OSError when it cannot be written."""
        if self.metrics is not None and self.metrics_file is not None:
            self.metrics.write(self.metrics_file)

    def _flush_quietly(self) -> None:
        try:
            self.flush()
        except OSError as exc:  # the work goes on (and its own error, if any, is not hidden)
            log.warning("Could not write the metrics file %s: %s", self.metrics_file, exc)

    # -- metrics ------------------------------------------------------------------------------------
    def add(self, key: str, value: float = 1, **labels: str) -> None:
        """Increase a counter (no-op without metrics)."""
        if self.metrics is not None:
            self.metrics.add(key, value, **labels)

    def set(self, key: str, value: float, **labels: str) -> None:
        """Set a gauge (no-op without metrics)."""
        if self.metrics is not None:
            self.metrics.set(key, value, **labels)

    def info(self, key: str, values: Mapping[str, str]) -> None:
        """Set an info metric (no-op without metrics)."""
        if self.metrics is not None:
            self.metrics.info(key, values)

    def track_cluster(self, cluster: Any, role: str | None = None) -> None:
        """Expose the request counters of ``cluster`` (labelled ``role``, else the cluster's context name)."""
        if self.metrics is not None:
            name = role or str(getattr(cluster, "name", "") or getattr(cluster, "server", "") or "cluster")
            self.metrics.track_cluster(name, cluster.stats)

    # -- spans --------------------------------------------------------------------------------------
    def tracer(self) -> Any:
        """The tracer spans go to, or None when none are recorded."""
        return self._tracer if self._tracer is not None else global_tracer()

    @contextlib.contextmanager
    def span(self, name: str, *, parent: Any = None, **attributes: Any) -> Iterator[SpanHandle]:
        """A span around a block; the span of the same name already open is reused (not nested again).

        An exception leaving the block is recorded on the span (and raised on).
        """
        open_span = _OPEN.get()
        if open_span is not None and open_span[0] == name:
            open_span[1].set(**attributes)
            yield open_span[1]
            return
        tracer = self.tracer()
        token = None
        if tracer is None:
            handle = SpanHandle()
            token = _OPEN.set((name, handle))
            try:
                handle.set(**attributes)
                yield handle
            finally:
                _OPEN.reset(token)
            return
        with tracer.start_as_current_span(
            name, context=parent, record_exception=False, set_status_on_exception=False
        ) as span:
            handle = SpanHandle(span)
            token = _OPEN.set((name, handle))
            try:
                handle.set(**attributes)
                yield handle
            except BaseException as exc:
                handle.fail(exc)
                raise
            finally:
                _OPEN.reset(token)

    @contextlib.contextmanager
    def step(self, name: str, **attributes: Any) -> Iterator[SpanHandle]:
        """The span of a step (``portkit.<name>``) and its metrics: running, duration, failures.

        A step already open under the same name (a Migration step calling the function of the step) is one
        span, timed once.
        """
        span_name = f"portkit.{name}"
        open_span = _OPEN.get()
        if open_span is not None and open_span[0] == span_name:
            open_span[1].set(**attributes)
            yield open_span[1]
            return
        started = time.monotonic()
        self.set("step_running", 1, step=name)
        failed = False
        try:
            with self.span(span_name, step=name, **attributes) as handle:
                yield handle
        except BaseException:
            failed = True
            raise
        finally:
            self.set("step_running", 0, step=name)
            self.set("step_duration", time.monotonic() - started, step=name)
            if failed:
                self.add("step_failures", step=name)
            self._flush_quietly()

    def waves(self, waves: Iterable[Sequence[Any]], result_of: Callable[[Any], Any]) -> Iterator[Sequence[Any]]:
        """Yield the apply's waves, each inside a ``portkit.apply.wave`` span with its outcome counts and errors.

        ``result_of(action)`` returns the action's :class:`~portkit.replay.apply.ObjectResult` once it has one.
        The wave span is not made current: it ends when the loop asks for the next wave (or stops).
        """
        tracer = self.tracer()
        for actions in waves:
            if not actions:  # a wave with nothing in it: no span
                yield actions
                continue
            wave = str(getattr(actions[0], "wave_name", ""))
            span = tracer.start_span("portkit.apply.wave") if tracer is not None else None
            handle = SpanHandle(span)
            handle.set(wave=wave, wave_index=getattr(actions[0], "wave", -1), objects=len(actions))
            started = time.monotonic()
            try:
                yield actions
            finally:
                self._end_wave(handle, wave, actions, result_of, time.monotonic() - started)

    def _end_wave(
        self, handle: SpanHandle, wave: str, actions: Sequence[Any], result_of: Callable[[Any], Any], seconds: float
    ) -> None:
        outcomes: dict[str, int] = {}
        errors: list[str] = []
        for action in actions:
            result = result_of(action)
            if result is None:
                continue
            outcomes[result.outcome] = outcomes.get(result.outcome, 0) + 1
            if result.outcome == "failed":
                errors.append(f"{result.ref}: {result.message}")
        for outcome, count in outcomes.items():
            if outcome == "failed":
                self.add("objects_failed", count, step="apply")
            else:
                self.add("objects_applied", count, outcome=outcome)
        handle.set(
            errors=len(errors),
            error_messages=errors or None,
            **{f"outcome.{k.replace('-', '_')}": v for k, v in sorted(outcomes.items())},
        )
        self.set("wave_duration", seconds, wave=wave)
        if handle.span is not None:
            if errors:
                trace = otel_trace()
                handle.span.set_status(trace.Status(trace.StatusCode.ERROR, f"{len(errors)} objects failed"))
            handle.span.end()


_DEFAULT = Observer()


def current() -> Observer:
    """The observer active in this context (the default one: no metrics, global tracer only)."""
    return _CURRENT.get() or _DEFAULT


def step(name: str) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Decorate the function of a step: a ``portkit.<name>`` span, the step's metrics, its result recorded.

    The result (or the partial result an error carries as ``.result``) is turned into metrics and span
    attributes by :func:`portkit.observe._results.record`.
    """

    def decorate(fn: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(fn)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            obs = _CURRENT.get() or _DEFAULT
            if obs is _DEFAULT and obs.tracer() is None:  # nothing observes: no cost but these two checks
                return fn(*args, **kwargs)
            from portkit.observe._results import record

            with obs.step(name) as handle:
                try:
                    result = fn(*args, **kwargs)
                except BaseException as exc:
                    partial = getattr(exc, "result", None)
                    if partial is not None:
                        record(obs, handle, name, partial)
                    raise
                record(obs, handle, name, result)
                return result

        return wrapper

    return decorate
