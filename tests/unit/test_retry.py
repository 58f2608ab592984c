"""The retry policy: what is retried, Retry-After honoured, bounded attempts."""

from __future__ import annotations

import time

import pytest

from portkit._retry import RetryPolicy, is_retryable
from portkit.errors import ClusterUnreachableError, ConflictError, InvalidError, ServerError, ThrottledError


def flaky(failures: list[Exception]) -> tuple[list[int], object]:
    calls: list[int] = []

    def fn() -> str:
        calls.append(1)
        if failures:
            raise failures.pop(0)
        return "ok"

    return calls, fn


def test_retries_throttling_server_errors_and_connection_failures() -> None:
    errors: list[Exception] = [
        ThrottledError("slow down", status=429),
        ServerError("boom", status=503),
        ClusterUnreachableError("refused"),
    ]
    calls, fn = flaky(errors)
    seen: list[BaseException | None] = []
    assert RetryPolicy(initial=0.001).call(fn, on_retry=seen.append) == "ok"  # type: ignore[arg-type]
    assert len(calls) == 4
    assert len(seen) == 3


@pytest.mark.parametrize(
    "exc",
    [
        ConflictError("c", status=409),
        InvalidError("i", status=422),
        ServerError("not implemented", status=501),
        InvalidError("schema error answered as 500", status=500),
    ],
)
def test_does_not_retry_client_errors(exc: Exception) -> None:
    assert not is_retryable(exc)
    calls, fn = flaky([exc])
    with pytest.raises(type(exc)):
        RetryPolicy(initial=0.001).call(fn)  # type: ignore[arg-type]
    assert len(calls) == 1


def test_honours_retry_after() -> None:
    _calls, fn = flaky([ThrottledError("slow down", status=429, retry_after=0.3)])
    start = time.monotonic()
    RetryPolicy(initial=0.001).call(fn)  # type: ignore[arg-type]
    assert time.monotonic() - start >= 0.3


def test_bounded_by_attempts_and_reraises_last_error() -> None:
    calls, fn = flaky([ServerError(f"boom {i}", status=500) for i in range(10)])
    with pytest.raises(ServerError, match="boom 2"):
        RetryPolicy(attempts=3, initial=0.001).call(fn)  # type: ignore[arg-type]
    assert len(calls) == 3


def test_bounded_by_time() -> None:
    _calls, fn = flaky([ThrottledError("slow", status=429, retry_after=0.2) for _ in range(50)])
    start = time.monotonic()
    with pytest.raises(ThrottledError):
        RetryPolicy(attempts=100, max_delay=0.5).call(fn)  # type: ignore[arg-type]
    assert time.monotonic() - start < 2.0


def test_throttling_has_a_budget_that_survives_a_long_streak_of_429() -> None:
    """On a loaded machine one worker may be told "429, come back in 1 s" many times in a row; 8 tries were
    not enough (a flake of the integration test under load). The default policy rides out 25 in a row."""
    calls, fn = flaky([ThrottledError("slow down", status=429, retry_after=0.0) for _ in range(25)])
    assert RetryPolicy(initial=0.001).call(fn) == "ok"  # type: ignore[arg-type]
    assert len(calls) == 26


def test_server_errors_keep_the_small_budget() -> None:
    calls, fn = flaky([ServerError(f"boom {i}", status=503) for i in range(20)])
    with pytest.raises(ServerError):
        RetryPolicy(initial=0.001, max_wait=0.002).call(fn)  # type: ignore[arg-type]
    assert len(calls) == 8


def test_retry_after_is_honoured_and_spread() -> None:
    policy = RetryPolicy()
    waits = [policy._delay(1, ThrottledError("t", status=429, retry_after=1.0)) for _ in range(200)]
    assert all(1.0 <= w <= 1.5 for w in waits), "never earlier than asked, at most half as long again"
    assert max(waits) - min(waits) > 0.3, "workers told the same Retry-After come back at different times"
    assert policy._delay(1, ThrottledError("t", status=429, retry_after=float("nan"))) <= policy.max_wait
    assert policy._delay(1, ThrottledError("t", status=429, retry_after=1e9)) <= policy.max_wait * 1.5


def test_certificate_errors_are_not_retried() -> None:
    from portkit.errors import CertificateError

    assert not is_retryable(CertificateError("bad cert"))
