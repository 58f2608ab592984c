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
