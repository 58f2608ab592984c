"""The retry policy for API calls: 429, 5xx and connection errors, honouring Retry-After, bounded."""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from typing import Any, TypeVar

import attrs
import tenacity

from portkit.errors import ClusterUnreachableError, ServerError, ThrottledError

__all__ = ["RetryNotice", "RetryPolicy", "is_retryable"]

log = logging.getLogger("portkit.retry")
T = TypeVar("T")


def is_retryable(exc: BaseException) -> bool:
    """True for errors worth another try: throttling, server errors (not 501), connection failures."""
    if isinstance(exc, ThrottledError | ClusterUnreachableError):
        return True
    return isinstance(exc, ServerError) and exc.status != 501


@attrs.frozen
class RetryNotice:
    """Told to a :class:`~portkit.cluster.Cluster`'s ``on_retry`` listener before a request is tried again.

    Attributes:
        action: what the request does (``list pods``, ``GET /version``).
        attempt: the number of the attempt about to be made (2 for the first retry).
        attempts: the most attempts the retry policy makes.
        error: why the last attempt failed.
    """

    action: str
    attempt: int
    attempts: int
    error: BaseException | None = None

    @property
    def reason(self) -> str:
        """The error as a short sentence (its message without the hint)."""
        if self.error is None:
            return "no answer"
        return str(getattr(self.error, "message", None) or self.error or type(self.error).__name__)


@attrs.frozen
class RetryPolicy:
    """How API calls are retried.

    Attributes:
        attempts: total tries (first call included).
        max_delay: stop retrying once this many seconds have passed since the first try.
        initial: first backoff in seconds (doubles each time, with jitter).
        max_wait: cap of one backoff, and of a server's Retry-After.
    """

    attempts: int = 8
    max_delay: float = 120.0
    initial: float = 0.2
    max_wait: float = 10.0

    def _delay(self, attempt: int, exc: BaseException | None) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based)."""
        retry_after = getattr(exc, "retry_after", None)
        if retry_after is not None:
            return float(min(max(retry_after, 0.0), self.max_wait)) + random.uniform(0.0, 0.1)
        backoff = min(self.max_wait, self.initial * 2.0 ** (attempt - 1))
        return float(backoff * random.uniform(0.5, 1.0))

    def call(
        self,
        fn: Callable[..., T],
        *args: Any,
        on_retry: Callable[[BaseException | None], None] | None = None,
        **kwargs: Any,
    ) -> T:
        """Call ``fn`` under this policy; the last error is re-raised when retries run out.

        ``on_retry`` is called with the error before each new attempt (for counters and progress).
        The first attempt is a plain call (most calls succeed, and thousands of writes should not pay
        for the retry machinery); only after a retryable failure does tenacity take over.
        """
        started = time.monotonic()
        try:
            return fn(*args, **kwargs)
        except Exception as exc:
            if self.attempts <= 1 or not is_retryable(exc):
                raise
            first = exc

        def before_sleep(state: tenacity.RetryCallState) -> None:
            exc = state.outcome.exception() if state.outcome else None
            log.info("retrying after attempt %d: %s", state.attempt_number + 1, exc)
            if on_retry is not None:
                on_retry(exc)

        def wait(state: tenacity.RetryCallState) -> float:
            return self._delay(state.attempt_number + 1, state.outcome.exception() if state.outcome else None)

        log.info("retrying after attempt 1: %s", first)
        if on_retry is not None:
            on_retry(first)
        time.sleep(self._delay(1, first))
        remaining = self.max_delay - (time.monotonic() - started)
        if remaining <= 0:
            raise first
        retrying = tenacity.Retrying(
            stop=tenacity.stop_after_attempt(self.attempts - 1) | tenacity.stop_after_delay(remaining),
            wait=wait,
            retry=tenacity.retry_if_exception(is_retryable),
            reraise=True,
            before_sleep=before_sleep,
        )
        return retrying(fn, *args, **kwargs)
