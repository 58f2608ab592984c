"""Progress of long commands on a terminal, and notices about slow or unreachable API servers.

:class:`Status` draws one line on stderr (what runs, counts, requests sent, elapsed time), redrawn a few
times a second, only when stderr is a terminal: piped or redirected, nothing is drawn. :func:`write_err`
prints a line above it (log records, retry notices), so the two never tangle. :func:`watch_cluster` says
within a second when an API server does not answer, and reports every retry (``retrying ... (2/8)``),
throttled to a line a second, through the ``portkit.cli`` logger.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TextIO

from portkit._retry import RetryNotice
from portkit.display import escape_control

__all__ = ["Status", "status", "watch_cluster", "write_err"]

log = logging.getLogger("portkit.cli")

_lock = threading.RLock()
_active: Status | None = None


def _stderr() -> TextIO:
    return sys.stderr


def write_err(text: str, stream: TextIO | None = None) -> None:
    """Print ``text`` and a newline on stderr, above the status line when one is drawn."""
    out = stream if stream is not None else _stderr()
    with _lock:
        active = _active
        if active is not None and active.drawn and out is active.stream:
            active.clear()
        out.write(text + "\n")
        out.flush()
        if active is not None and active.drawn and out is active.stream:
            active.draw()


def _isatty(stream: TextIO) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


def _elapsed(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.0f}s"
    minutes, secs = divmod(int(seconds), 60)
    return f"{minutes}m{secs:02d}s" if minutes < 60 else f"{minutes // 60}h{minutes % 60:02d}m"


class Status:
    """One status line on stderr while a long command runs (nothing when stderr is not a terminal).

    Args:
        label: what runs (``export``, ``apply``, ...).
        total: how many ``unit`` there are to do, when known.
        unit: what is counted (``lists``, ``objects``).
        clusters: clusters whose request counts are shown.
        stream: where to draw (default stderr).
        enabled: force drawing on or off (default: when ``stream`` is a terminal).

    Use it as a context manager; :meth:`update` and :meth:`advance` may be called from any thread.
    """

    def __init__(
        self,
        label: str,
        *,
        total: int | None = None,
        unit: str = "",
        clusters: Sequence[Any] = (),
        stream: TextIO | None = None,
        enabled: bool | None = None,
        interval: float = 0.25,
    ) -> None:
        self.stream = stream if stream is not None else _stderr()
        self.enabled = _isatty(self.stream) if enabled is None else enabled
        self.label = label
        self.total = total
        self.unit = unit
        self.done = 0
        self.note = ""
        self.clusters = list(clusters)
        self.drawn = False
        self._interval = interval
        self._started = time.monotonic()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._previous: Status | None = None

    # -- updates (any thread) ---------------------------------------------------------------------
    def update(
        self, done: int | None = None, *, total: int | None = None, note: str | None = None, label: str | None = None
    ) -> None:
        """Set the count, the total, a short note (``37 objects``) or the label."""
        with _lock:
            if done is not None:
                self.done = done
            if total is not None:
                self.total = total
            if note is not None:
                self.note = note
            if label is not None:
                self.label = label

    def advance(self, n: int = 1) -> None:
        """Count ``n`` more done."""
        with _lock:
            self.done += n

    def watch(self, cluster: Any) -> None:
        """Also show the requests sent to ``cluster``."""
        with _lock:
            self.clusters.append(cluster)

    # -- drawing ----------------------------------------------------------------------------------
    def text(self) -> str:
        """The line as drawn (without the terminal controls)."""
        parts = [self.label]
        if self.total:
            parts.append(f"{self.done}/{self.total} {self.unit}".rstrip())
        elif self.done:
            parts.append(f"{self.done} {self.unit}".rstrip())
        if self.note:
            parts.append(self.note)
        requests = sum(int(getattr(getattr(c, "stats", None), "requests", 0)) for c in self.clusters)
        if requests:
            parts.append(f"{requests} requests")
        parts.append(_elapsed(time.monotonic() - self._started))
        return " · ".join(escape_control(p) for p in parts)

    def draw(self) -> None:
        """Draw the line now (fitted to the terminal's width)."""
        if not self.enabled:
            return
        import shutil

        width = max(20, shutil.get_terminal_size().columns - 1)
        line = self.text()
        if len(line) > width:
            line = line[: width - 1] + "…"
        with _lock:
            self.stream.write("\r\x1b[K" + line)
            self.stream.flush()
            self.drawn = True

    def clear(self) -> None:
        """Remove the line from the terminal."""
        if not self.enabled or not self.drawn:
            return
        with _lock:
            self.stream.write("\r\x1b[K")
            self.stream.flush()
            self.drawn = False

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            self.draw()

    # -- lifetime ---------------------------------------------------------------------------------
    def start(self) -> Status:
        """Start drawing (a background thread redraws the line)."""
        global _active
        with _lock:
            self._previous, _active = _active, self
        if self.enabled and self._thread is None:
            self._thread = threading.Thread(target=self._run, name="portkit-status", daemon=True)
            self._thread.start()
        return self

    def close(self) -> None:
        """Stop drawing and remove the line."""
        global _active
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2)
            self._thread = None
        with _lock:
            self.clear()
            if _active is self:
                _active = self._previous

    def __enter__(self) -> Status:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()


def status() -> Status | None:
    """The status line being drawn, if any (commands add their clusters or notes to it)."""
    return _active


class _RetryReporter:
    """Reports retries of one cluster's requests, at most one line a second (the rest counted)."""

    def __init__(self, cluster: Any, every: float = 1.0) -> None:
        self.cluster = cluster
        self.every = every
        self.last = 0.0
        self.held = 0
        self.lock = threading.Lock()

    def __call__(self, notice: RetryNotice) -> None:
        now = time.monotonic()
        with self.lock:
            if now - self.last < self.every:
                self.held += 1
                return
            held, self.held, self.last = self.held, 0, now
        more = f" (and {held} more retries)" if held else ""
        reason = notice.reason.removeprefix(f"{notice.action}: ")
        log.info("retrying %s (%d/%d): %s%s", notice.action, notice.attempt, notice.attempts, reason, more)


@contextmanager
def watch_cluster(cluster: Any, *, first_notice: float = 1.0, every: float = 10.0) -> Iterator[None]:
    """While the block runs: report retries of ``cluster``'s requests, and say so when it has not answered
    ``first_notice`` seconds after the first request was sent (then every ``every`` seconds)."""
    previous = getattr(cluster, "on_retry", None)
    reporter = _RetryReporter(cluster)
    cluster.on_retry = reporter
    done = threading.Event()

    def watch() -> None:
        first_sent: float | None = None
        next_at = first_notice
        while not done.wait(0.1):
            if getattr(cluster, "answered", True) or reporter.last:
                return  # answered, or retries are being reported (they say why there is no answer)
            if first_sent is None:
                if int(getattr(getattr(cluster, "stats", None), "requests", 0)) > 0:
                    first_sent = time.monotonic()
                continue
            waited = time.monotonic() - first_sent
            if waited >= next_at:
                log.info(
                    "no answer yet from the API server at %s after %.0f s; still trying",
                    getattr(cluster, "server", "?"),
                    waited,
                )
                next_at += every

    thread = threading.Thread(target=watch, name="portkit-watch", daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join(timeout=2)
        cluster.on_retry = previous
