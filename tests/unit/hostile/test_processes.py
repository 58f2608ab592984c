"""``portkit local down`` / ``LocalCluster.stop_detached`` signal only the processes the cluster started:
pids greater than 1 whose executable and start time still match what ``state.json`` recorded.

The "unrelated process" is a real ``sleep`` child of the test; it must survive every state.json that
names it without its identity. Tests that name pids -1, 0 and 1 replace ``os.kill`` and
``signal.pidfd_send_signal`` with recorders, so that nothing can reach real processes even if the
check were missing.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from portkit.cli import main
from portkit.errors import LocalClusterError
from portkit.testing import LocalCluster
from portkit.testing._process import ProcessIdentity, pid_alive, valid_pid

SLEEP = shutil.which("sleep") or "/bin/sleep"


@pytest.fixture
def sleeper() -> Iterator[subprocess.Popen[bytes]]:
    """An unrelated process (its own session, so no group signal of the test can reach it)."""
    proc = subprocess.Popen([SLEEP, "300"], start_new_session=True)
    try:
        yield proc
    finally:
        proc.kill()
        proc.wait()


def write_state(directory: Path, **state: Any) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "state.json").write_text(json.dumps({"name": "x", "provider": None, **state}))
    return directory


def still_running(proc: subprocess.Popen[bytes]) -> bool:
    time.sleep(0.2)  # a signal sent would have been delivered by now
    return proc.poll() is None


@pytest.fixture
def no_signals(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, int, int]]:
    """Record every signal instead of sending it."""
    sent: list[tuple[str, int, int]] = []

    def kill(pid: int, sig: int) -> None:
        sent.append(("kill", pid, sig))

    def pidfd_send_signal(fd: int, sig: int, *args: Any) -> None:
        sent.append(("pidfd", fd, sig))

    monkeypatch.setattr(os, "kill", kill)
    monkeypatch.setattr(signal, "pidfd_send_signal", pidfd_send_signal)
    return sent


# ----------------------------------------------------------------------------------------- identities
def test_identity_of_a_live_process_and_of_no_process() -> None:
    me = ProcessIdentity.of(os.getpid())
    assert me is not None and me.pid == os.getpid() and me.exe == os.path.realpath(sys.executable)
    assert me.running() and ProcessIdentity.from_dict(me.to_dict()) == me
    for pid in (-1, 0, 1, 2**40):
        assert not valid_pid(pid) and ProcessIdentity.of(pid) is None
    assert not valid_pid(True) and not valid_pid("123")  # type: ignore[arg-type]


def test_a_finished_process_is_no_longer_running(sleeper: subprocess.Popen[bytes]) -> None:
    identity = ProcessIdentity.of(sleeper.pid)
    assert identity is not None and identity.running()
    sleeper.kill()
    sleeper.wait()
    assert not identity.running() and not identity.signal(signal.SIGTERM)


@pytest.mark.parametrize("pid", [-1, 0, 1])
def test_pid_alive_never_probes_process_groups(pid: int, no_signals: list[tuple[str, int, int]]) -> None:
    assert not pid_alive(pid)
    assert no_signals == []


# ------------------------------------------------------------------------------------- stop_detached
def test_an_unrelated_process_named_only_by_pid_survives(tmp_path: Path, sleeper: subprocess.Popen[bytes]) -> None:
    directory = write_state(tmp_path / "c", pids={"apiserver": sleeper.pid})  # a state without identities
    with pytest.raises(LocalClusterError, match=str(sleeper.pid)) as info:
        LocalCluster.stop_detached(directory)
    assert "nothing was signalled" in str(info.value)
    assert still_running(sleeper)
    assert (directory / "state.json").exists(), "nothing removed while processes may still run"


@pytest.mark.parametrize("wrong", ["start", "exe"])
def test_a_reused_pid_is_not_signalled(tmp_path: Path, sleeper: subprocess.Popen[bytes], wrong: str) -> None:
    real = ProcessIdentity.of(sleeper.pid)
    assert real is not None
    recorded = real.to_dict()
    if wrong == "start":  # the pid now belongs to a process started later than the recorded one
        recorded["start"] = real.start - 100
    else:
        recorded["exe"] = "/usr/local/bin/kube-apiserver"
    directory = write_state(tmp_path / "c", pids={"apiserver": sleeper.pid}, processes={"apiserver": recorded})
    LocalCluster.stop_detached(directory)
    assert still_running(sleeper)


def test_the_recorded_process_itself_is_stopped(tmp_path: Path, sleeper: subprocess.Popen[bytes]) -> None:
    real = ProcessIdentity.of(sleeper.pid)
    assert real is not None
    directory = write_state(tmp_path / "c", pids={"etcd": sleeper.pid}, processes={"etcd": real.to_dict()})
    LocalCluster.stop_detached(directory)
    assert sleeper.wait(timeout=10) == -signal.SIGTERM
    assert not directory.exists()


@pytest.mark.parametrize("pid", [-1, 0, 1, "1", 1.5, True, None])
@pytest.mark.parametrize("where", ["pids", "processes"])
def test_pids_minus_one_zero_one_and_non_integers_are_refused(
    tmp_path: Path, no_signals: list[tuple[str, int, int]], pid: Any, where: str
) -> None:
    if where == "pids":
        directory = write_state(tmp_path / "c", pids={"apiserver": pid})
    else:
        entry = {"pid": pid, "exe": "/bin/sleep", "start": 1}
        directory = write_state(tmp_path / "c", pids={}, processes={"apiserver": entry})
    with pytest.raises(LocalClusterError, match="invalid"):
        LocalCluster.stop_detached(directory)
    assert no_signals == []
    assert (directory / "state.json").exists()


@pytest.mark.parametrize(
    "state",
    [
        "[]",
        '{"pids": [1234]}',
        '{"pids": {"a": 1234}, "processes": {"a": {"pid": 1234, "exe": "sleep", "start": 5}}}',
        '{"pids": {}, "processes": {"a": {"pid": 1234, "exe": "/bin/sleep", "start": -5}}}',
        '{"pids": {}, "processes": ["a"]}',
        "[" * 100_000,
    ],
)
def test_a_state_file_that_portkit_did_not_write_is_a_clear_error(
    tmp_path: Path, no_signals: list[tuple[str, int, int]], state: str
) -> None:
    directory = tmp_path / "c"
    directory.mkdir()
    (directory / "state.json").write_text(state)
    with pytest.raises(LocalClusterError):
        LocalCluster.stop_detached(directory)
    assert no_signals == []


def test_write_state_records_pid_executable_and_start_time(tmp_path: Path, sleeper: subprocess.Popen[bytes]) -> None:
    class Proc:
        pid = sleeper.pid

    lc = LocalCluster(name="t", data_dir=tmp_path / "c", ports={"apiserver": 1})
    lc.data_dir.mkdir()
    lc._procs = {"apiserver": Proc()}  # type: ignore[dict-item]
    lc._write_state()
    state = LocalCluster.read_state(lc.data_dir)
    assert state["processes"]["apiserver"] == ProcessIdentity.of(sleeper.pid).to_dict()  # type: ignore[union-attr]
    assert state["processes"]["apiserver"]["exe"] == os.path.realpath(SLEEP)
    LocalCluster.stop_detached(lc.data_dir)  # and stop_detached stops exactly that process
    assert sleeper.wait(timeout=10) == -signal.SIGTERM


# ---------------------------------------------------------------------------------------------- CLI
def test_local_down_leaves_an_unrelated_process_alone(
    tmp_path: Path, sleeper: subprocess.Popen[bytes], capsys: pytest.CaptureFixture[str]
) -> None:
    write_state(tmp_path / "source", pids={"apiserver": sleeper.pid, "etcd": sleeper.pid})
    assert main(["local", "down", "--dir", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert str(sleeper.pid) in err and "Traceback" not in err
    assert still_running(sleeper)


def test_local_status_with_an_invalid_state_is_an_error_not_a_traceback(
    tmp_path: Path, no_signals: list[tuple[str, int, int]], capsys: pytest.CaptureFixture[str]
) -> None:
    write_state(tmp_path / "source", pids={"apiserver": -1})
    assert main(["local", "status", "--dir", str(tmp_path)]) == 1
    assert "invalid" in capsys.readouterr().err
    assert no_signals == []
