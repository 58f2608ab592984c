"""The retry policy for API calls: 429, 5xx and connection errors, honouring Retry-After, bounded.

Throttling (429) has its own, larger budget: the server said "come back later", and on a loaded machine
(or under a tight in-flight limit) many workers may be told so many times in a row while the work still
gets done. It is bounded by ``throttled_attempts`` and by ``max_delay`` seconds since the first try, so a
server that throttles forever still fails. Waits after a 429 honour Retry-After and add up to 50% of it
as jitter, so workers told the same Retry-After do not all come back in the same instant.
"""

from __future__ import annotations

import logging
import math
import random
import time
from collections.abc import Callable
from typing import Any, TypeVar

import attrs
import tenacity

from portkit.errors import CertificateError, ClusterUnreachableError, ServerError, ThrottledError

__all__ = ["RetryNotice", "RetryPolicy", "is_retryable"]

log = logging.getLogger(__name__)
T = TypeVar("T")


def is_retryable(exc: BaseException) -> bool:
    """True for errors worth another try: throttling, server errors (not 501), connection failures.

    A certificate that did not verify is not retried: it will not verify the next time either.
    """
    if isinstance(exc, CertificateError):
        return False
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
        attempts: total tries (first call included) when the failures are server or connection errors.
        max_delay: stop retrying once this many seconds have passed since the first try.
        initial: first backoff in seconds (doubles each time, with jitter).
        max_wait: cap of one backoff, and of a server's Retry-After.
        throttled_attempts: total tries while the server keeps answering 429 (still bounded by
            ``max_delay``).
    """

    attempts: int = 8
    max_delay: float = 120.0
    initial: float = 0.2
    max_wait: float = 10.0
    throttled_attempts: int = 40

    def _delay(self, attempt: int, exc: BaseException | None) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based)."""
        retry_after = getattr(exc, "retry_after", None)
        if isinstance(retry_after, int | float) and math.isfinite(retry_after):
            base = min(max(float(retry_after), 0.0), self.max_wait)
            # at least what the server asked for; spread over up to half as much again (at least 0.1 s)
            return base + random.uniform(0.0, max(0.1, base * 0.5))
        backoff = min(self.max_wait, self.initial * 2.0 ** (attempt - 1))
        return float(backoff * random.uniform(0.5, 1.0))

    def _limit(self, exc: BaseException | None) -> int:
        """Total tries allowed when the latest failure was ``exc``."""
        return self.throttled_attempts if isinstance(exc, ThrottledError) else self.attempts

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
            if self._limit(exc) <= 1 or not is_retryable(exc):
                raise
            first = exc

        def before_sleep(state: tenacity.RetryCallState) -> None:
            exc = state.outcome.exception() if state.outcome else None
            log.debug("retrying after attempt %d: %s", state.attempt_number + 1, exc)
            if on_retry is not None:
                on_retry(exc)

        def wait(state: tenacity.RetryCallState) -> float:
            return self._delay(state.attempt_number + 1, state.outcome.exception() if state.outcome else None)

        log.debug("retrying after attempt 1: %s", first)
        if on_retry is not None:
            on_retry(first)
        time.sleep(self._delay(1, first))
        remaining = self.max_delay - (time.monotonic() - started)
        if remaining <= 0:
            raise first

        def stop(state: tenacity.RetryCallState) -> bool:
            if time.monotonic() - started >= self.max_delay:
                return True
            exc = state.outcome.exception() if state.outcome else None
            return state.attempt_number + 1 >= self._limit(exc)  # +1: the first try above

        retrying = tenacity.Retrying(
            stop=stop,
            wait=wait,
            retry=tenacity.retry_if_exception(is_retryable),
            reraise=True,
            before_sleep=before_sleep,
        )
        return retrying(fn, *args, **kwargs)
