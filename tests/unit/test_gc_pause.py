"""The garbage-collector pause of plan(): reference-counted across threads, never left switched off, optional."""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator

import pytest

from portkit._gc import gc_paused


@pytest.fixture(autouse=True)
def collector_on() -> Iterator[None]:
    was = gc.isenabled()
    gc.enable()
    yield
    if not was:
        gc.disable()


def test_overlapping_pauses_end_when_the_last_one_ends() -> None:
    first, second = gc_paused(), gc_paused()
    first.__enter__()
    second.__enter__()
    assert not gc.isenabled()
    first.__exit__(None, None, None)
    assert not gc.isenabled(), "the second pause still runs"
    second.__exit__(None, None, None)
    assert gc.isenabled()


def test_threads_planning_at_once_leave_the_collector_on() -> None:
    inside = threading.Barrier(4)
    states: list[bool] = []

    def work() -> None:
        with gc_paused():
            inside.wait()
            states.append(gc.isenabled())
            inside.wait()

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=10)
    assert states == [False] * 4
    assert gc.isenabled()


def test_a_collector_switched_off_by_the_application_stays_off() -> None:
    gc.disable()
    with gc_paused():
        assert not gc.isenabled()
    assert not gc.isenabled()


def test_an_error_inside_ends_the_pause() -> None:
    with pytest.raises(RuntimeError), gc_paused():
        raise RuntimeError("boom")
    assert gc.isenabled()


def test_the_environment_can_forbid_the_pause(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PORTKIT_GC_PAUSE", "0")
    with gc_paused():
        assert gc.isenabled()
