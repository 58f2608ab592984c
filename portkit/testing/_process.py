"""Child processes of local clusters: started from one long-lived thread so they die with this process.

On Linux each child gets ``PR_SET_PDEATHSIG(SIGKILL)``: when the Python process exits, however it exits,
the kernel kills the children. The signal is tied to the *thread* that forked, so every child is forked by
one daemon thread that lives as long as the process. Detached children (for ``portkit local up``) skip it.

A detached child is stopped later by another process (``portkit local down``) from the ``state.json`` the
cluster wrote. A pid alone is not enough for that: the process may have ended and its pid been reused by
an unrelated one, and the file may have been edited. :class:`ProcessIdentity` records a child's pid,
executable and start time (``/proc/PID/exe`` and field 22 of ``/proc/PID/stat``); a process is only ever
signalled when all three still match (through a pidfd, so a pid reused between the check and the signal
is not hit), and only pids greater than 1 are considered at all.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import queue
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import attrs

__all__ = ["ManagedProcess", "ProcessIdentity", "pid_alive", "rss_bytes", "spawn", "valid_pid"]

#: The largest pid Linux hands out (``/proc/sys/kernel/pid_max`` is at most 2**22).
_PID_MAX = 1 << 22

_PR_SET_PDEATHSIG = 1


def _set_pdeathsig() -> None:  # runs in the child between fork and exec
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    except OSError:
        pass


_jobs: queue.Queue[tuple[Callable[[], subprocess.Popen[bytes]], Future[subprocess.Popen[bytes]]]] = queue.Queue()
_spawner: threading.Thread | None = None
_spawner_lock = threading.Lock()


def _spawner_loop() -> None:
    while True:
        fn, fut = _jobs.get()
        try:
            fut.set_result(fn())
        except BaseException as exc:  # handed back to the caller
            fut.set_exception(exc)


def _in_spawner(fn: Callable[[], subprocess.Popen[bytes]]) -> subprocess.Popen[bytes]:
    global _spawner
    with _spawner_lock:
        if _spawner is None or not _spawner.is_alive():
            _spawner = threading.Thread(target=_spawner_loop, name="portkit-spawner", daemon=True)
            _spawner.start()
    fut: Future[subprocess.Popen[bytes]] = Future()
    _jobs.put((fn, fut))
    return fut.result()


class ManagedProcess:
    """One component process with its log file."""

    def __init__(self, name: str, argv: Sequence[str], log: Path, popen: subprocess.Popen[bytes]) -> None:
        self.name = name
        self.argv = list(argv)
        self.log = log
        self.popen = popen

    @property
    def pid(self) -> int:
        """Process id."""
        return self.popen.pid

    def alive(self) -> bool:
        """True while the process runs."""
        return self.popen.poll() is None

    def kill(self) -> None:
        """SIGKILL and reap."""
        if self.alive():
            self.popen.kill()
        self.popen.wait()

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM, then SIGKILL after ``timeout`` seconds."""
        if self.alive():
            self.popen.terminate()
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                self.popen.kill()
        self.popen.wait()


def spawn(
    name: str,
    argv: Sequence[str],
    log: Path,
    *,
    env: dict[str, str] | None = None,
    detach: bool = False,
    pass_fds: Sequence[int] = (),
) -> ManagedProcess:
    """Start ``argv`` with stdout/stderr appended to ``log``."""
    log.parent.mkdir(parents=True, exist_ok=True)

    def start() -> subprocess.Popen[bytes]:
        with log.open("ab") as fh:
            return subprocess.Popen(
                list(argv),
                stdin=subprocess.DEVNULL,
                stdout=fh,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,
                pass_fds=tuple(pass_fds),
                preexec_fn=None if detach or not sys.platform.startswith("linux") else _set_pdeathsig,
            )

    return ManagedProcess(name, argv, log, start() if detach else _in_spawner(start))


def rss_bytes(pid: int) -> int:
    """Resident memory of a process (0 if it is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        return 0
    return 0


def pid_alive(pid: int) -> bool:
    """True if a process with this id runs (a zombie waiting to be reaped does not count); always False
    for pids that are not :func:`valid_pid` (0 and negative numbers name process groups)."""
    if not valid_pid(pid):
        return False
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True
    return state != "Z"


def valid_pid(pid: object) -> bool:
    """True for an ``int`` that can name one ordinary process: greater than 1 (never 0, -1 or init) and
    not above the kernel's limit. ``os.kill`` with 0 or a negative number signals whole process groups."""
    return isinstance(pid, int) and not isinstance(pid, bool) and 1 < pid <= _PID_MAX


def _stat_start(pid: int) -> int | None:
    """The start time (clock ticks after boot) of a live, non-zombie process, or None."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    if len(fields) < 20 or fields[0] in ("Z", "X", "x"):
        return None
    try:
        return int(fields[19])  # field 22 of proc_pid_stat(5); fields[0] is field 3 (state)
    except ValueError:
        return None


@attrs.frozen
class ProcessIdentity:
    """Who a process is: pid, executable (``/proc/PID/exe``) and start time (``/proc/PID/stat`` field 22).

    A pid is reused by the kernel once its process has ended; the executable and the start time tell the
    process that was started from any later one with the same pid.
    """

    pid: int
    exe: str
    start: int

    @classmethod
    def of(cls, pid: int) -> ProcessIdentity | None:
        """The identity of the running process ``pid``; None when there is none (or a zombie), when ``pid``
        is not a valid pid, or when its executable cannot be read (another user's process)."""
        if not valid_pid(pid):
            return None
        start = _stat_start(pid)
        if start is None:
            return None
        try:
            exe = os.readlink(f"/proc/{pid}/exe")
        except OSError:
            return None
        exe = exe.removesuffix(" (deleted)")  # the binary was replaced on disk while it runs
        if _stat_start(pid) != start:  # the pid was reused while we looked
            return None
        return cls(pid, exe, start)

    @classmethod
    def from_dict(cls, data: Any) -> ProcessIdentity:
        """Read :meth:`to_dict` output back; ValueError when it is not a valid identity."""
        if not isinstance(data, dict):
            raise ValueError("a process entry must be a mapping with pid, exe and start")
        pid, exe, start = data.get("pid"), data.get("exe"), data.get("start")
        if not valid_pid(pid):
            raise ValueError(f"pid {pid!r} is not a process id greater than 1")
        if not isinstance(exe, str) or not exe.startswith("/"):
            raise ValueError(f"exe {exe!r} of pid {pid} is not an absolute path")
        if isinstance(start, bool) or not isinstance(start, int) or start < 0:
            raise ValueError(f"start {start!r} of pid {pid} is not a start time")
        assert isinstance(pid, int)
        return cls(pid, exe, start)

    def to_dict(self) -> dict[str, Any]:
        """Plain dict form (for ``state.json``)."""
        return {"pid": self.pid, "exe": self.exe, "start": self.start}

    def running(self) -> bool:
        """True while the process that was recorded runs (same pid, executable and start time)."""
        return ProcessIdentity.of(self.pid) == self

    def signal(self, sig: int) -> bool:
        """Send ``sig`` to this process if it is still the one recorded; True when it was sent.

        The process is pinned with a pidfd before it is checked, so a pid reused between the check and
        the signal cannot receive it (without pidfd support the window is the few microseconds between).
        """
        if not valid_pid(self.pid):
            return False
        fd: int | None = None
        try:
            fd = os.pidfd_open(self.pid)
        except ProcessLookupError:
            return False
        except (AttributeError, OSError):
            fd = None
        try:
            if not self.running():
                return False
            if fd is not None:
                signal.pidfd_send_signal(fd, sig)
            else:
                os.kill(self.pid, sig)
            return True
        except ProcessLookupError:
            return False
        finally:
            if fd is not None:
                with contextlib.suppress(OSError):
                    os.close(fd)
