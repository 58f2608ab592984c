"""The process that *is* a real node of a local cluster: PID 1 of the node's own namespaces.

:class:`portkit.testing.node.RealNode` starts it as
``unshare --pid --fork --kill-child --mount-proc --net --propagation private python -m portkit.testing._nodehost
SPEC``, so it runs in a new PID, mount and network namespace of its own. There it

1. mounts private tmpfs file systems over the host paths the container runtime and the kubelet write to
   outside their configured directories (``/run/netns``, ``/run/containerd``, ``/var/log/containers``,
   ``/var/lib/cni``), so nothing they put there is seen by, or left behind on, the host, and binds the node's
   own kubelet directory at ``/var/lib/kubelet`` (so DaemonSets such as Velero's node agent find pods'
   volumes at the usual path on every node);
2. creates a veth pair: one end in the host's network namespace (``10.240.N.1/30``), the other here
   (``10.240.N.2/30``, the node's InternalIP, where the kubelet serves the API server's logs/exec requests);
   the node's network namespace has no default route, so pods reach nothing outside the node;
3. forwards ``127.0.0.1:PORT`` *inside* the node to the API server at ``127.0.0.1:PORT`` on the host (the
   kubelet reaches the API server that way; the API server listens on the host's loopback only), and
   ``10.96.0.1:443``, the ``kubernetes`` Service's address, an address of the node's loopback interface, to the
   same place: pods' in-cluster configuration (Velero's node agent and its data-path pods) works unchanged;
4. runs containerd, then the kubelet once the parent says so (after it imported the images), and reaps
   orphans (containerd's shims re-parent to PID 1).

When it exits (SIGTERM from the parent: kubelet and containerd are stopped first) the kernel kills every
process left in the PID namespace — shims and containers included — and the mount and network namespaces
disappear with their mounts, veth pair, bridge, pod interfaces and iptables rules. If the Python process
that started it dies, ``--kill-child`` and ``PR_SET_PDEATHSIG`` take it (and so the node) down as well.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

_CLONE_NEWNET = 0x40000000
_libc = ctypes.CDLL("libc.so.6", use_errno=True)
_stop = threading.Event()


def _log(message: str) -> None:
    print(f"{time.strftime('%H:%M:%S')} nodehost: {message}", flush=True)


def _setns(fd: int) -> None:
    if _libc.setns(fd, _CLONE_NEWNET) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"setns: {os.strerror(err)}")


def _run(*argv: str) -> None:
    proc = subprocess.run(list(argv), capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed ({proc.returncode}): {proc.stderr.strip()}")


def _mount_tmpfs(path: str) -> None:
    Path(path).mkdir(parents=True, exist_ok=True)
    _run("mount", "-t", "tmpfs", "-o", "mode=0755,size=64m", "portkit-node", path)


def _bind(source: str, target: str) -> None:
    Path(target).mkdir(parents=True, exist_ok=True)
    _run("mount", "--bind", source, target)
    # shared (inside this node's private namespace): mounts the kubelet makes below it propagate into
    # containers that ask for HostToContainer propagation (Velero's node agent)
    _run("mount", "--make-rshared", target)


def _setup_network(spec: dict[str, Any], host_fd: int) -> None:
    host_if, node_if = spec["host_interface"], spec["node_interface"]
    errors: list[BaseException] = []

    def in_host_namespace() -> None:
        try:
            _setns(host_fd)
            with contextlib.suppress(RuntimeError):  # a leftover of a killed node with the same slot
                _run("ip", "link", "del", host_if)
            # "netns 1": PID 1 of *this* PID namespace, i.e. this process: the peer lands in the node's netns.
            _run("ip", "link", "add", host_if, "type", "veth", "peer", "name", node_if, "netns", "1")
            _run("ip", "addr", "add", spec["host_address"], "dev", host_if)
            _run("ip", "link", "set", host_if, "up")
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=in_host_namespace)
    thread.start()
    thread.join()
    if errors:
        raise errors[0]
    _run("ip", "link", "set", "lo", "up")
    _run("ip", "addr", "add", spec["node_address"], "dev", node_if)
    _run("ip", "link", "set", node_if, "up")
    if spec.get("service_ip"):  # the `kubernetes` Service's address, local to the node (pods route to it)
        _run("ip", "addr", "add", f"{spec['service_ip']}/32", "dev", "lo")


def _pump(src: socket.socket, dst: socket.socket) -> None:
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            dst.sendall(data)
    except OSError:
        pass
    finally:
        with contextlib.suppress(OSError):
            dst.shutdown(socket.SHUT_WR)


def _serve_connection(conn: socket.socket, host_fd: int, port: int) -> None:
    try:
        _setns(host_fd)  # this thread's sockets are made in the host's network namespace
        upstream = socket.create_connection(("127.0.0.1", port), timeout=10)
        upstream.settimeout(None)
    except OSError as exc:
        _log(f"forward to 127.0.0.1:{port} failed: {exc}")
        conn.close()
        return
    back = threading.Thread(target=_pump, args=(upstream, conn), daemon=True)
    back.start()
    _pump(conn, upstream)
    back.join()
    conn.close()
    upstream.close()


def _forward(address: str, listen_port: int, port: int, host_fd: int) -> None:
    """Accept on address:listen_port in the node's namespace; connect to 127.0.0.1:port in the host's."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((address, listen_port))
    listener.listen(64)
    listener.settimeout(0.5)
    while not _stop.is_set():
        try:
            conn, _ = listener.accept()
        except TimeoutError:
            continue
        except OSError:
            break
        conn.settimeout(None)
        threading.Thread(target=_serve_connection, args=(conn, host_fd, port), daemon=True).start()
    listener.close()


def _reap() -> None:
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def _start(argv: list[str], log: str) -> subprocess.Popen[bytes]:
    with open(log, "ab") as fh:
        return subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=fh, stderr=subprocess.STDOUT)


def _stop_child(proc: subprocess.Popen[bytes] | None, timeout: float) -> None:
    if proc is None or proc.poll() is not None:
        return
    proc.terminate()
    deadline = time.monotonic() + timeout
    while proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.1)
    if proc.poll() is None:
        proc.kill()
        proc.wait()


def main(argv: list[str] | None = None) -> int:
    """Run the node described by the JSON spec file named in ``argv[0]`` until SIGTERM."""
    args = sys.argv[1:] if argv is None else argv
    spec: dict[str, Any] = json.loads(Path(args[0]).read_text())
    host_fd = int(spec["host_netns_fd"])
    signal.signal(signal.SIGTERM, lambda *_: _stop.set())
    signal.signal(signal.SIGINT, lambda *_: _stop.set())
    status = Path(spec["status_file"])
    containerd: subprocess.Popen[bytes] | None = None
    kubelet: subprocess.Popen[bytes] | None = None
    try:
        for path in spec["tmpfs"]:
            _mount_tmpfs(path)
        for source, target in spec.get("binds", []):
            _bind(source, target)
        _setup_network(spec, host_fd)
        port = int(spec["forward_port"])
        threading.Thread(target=_forward, args=("127.0.0.1", port, port, host_fd), daemon=True).start()
        if spec.get("service_ip"):
            threading.Thread(target=_forward, args=(spec["service_ip"], 443, port, host_fd), daemon=True).start()
        containerd = _start(spec["containerd"], spec["containerd_log"])
        status.write_text("containerd\n")
        _log("containerd started")
        go = Path(spec["kubelet_go_file"])
        while not _stop.is_set():
            _reap()
            if kubelet is None and go.exists():
                kubelet = _start(spec["kubelet"], spec["kubelet_log"])
                status.write_text("kubelet\n")
                _log("kubelet started")
            for name, proc in (("containerd", containerd), ("kubelet", kubelet)):
                if proc is not None and proc.poll() is not None:
                    _log(f"{name} exited with code {proc.returncode}; stopping the node")
                    _stop.set()
            _stop.wait(0.2)
    except Exception as exc:  # reported through the log and the status file; the parent raises
        _log(f"node failed: {exc}")
        status.write_text(f"failed: {exc}\n")
    finally:
        _stop.set()
        _stop_child(kubelet, 10.0)
        _stop_child(containerd, 10.0)
        _reap()
        _log("stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
