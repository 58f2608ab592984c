"""Real nodes for :class:`portkit.testing.LocalCluster`: a kubelet and containerd that really run pods.

A real node is one process tree in namespaces of its own (see :mod:`portkit.testing._nodehost`): PID 1 of a
new PID, mount and network namespace runs containerd (Debian's ``containerd`` and ``runc``, the CNI
``bridge`` and ``host-local`` plugins from ``containernetworking-plugins``) and the kubelet built from the
same Kubernetes module as the control plane. Pods get addresses on a bridge inside the node; the node's
InternalIP is the inner end of a veth pair whose outer end is in the host's namespace, so the API server can
reach the kubelet for logs and exec; nothing routes further. Each node takes a *slot* (a small number,
registered under ``/run/portkit-nodes``) that gives it unique interface names, addresses and a cgroup parent,
so several clusters with real nodes run side by side.

Everything the node writes is under its directory (``data_dir/nodes/NAME``) or on private tmpfs mounts that
vanish with it; its cgroups (``/sys/fs/cgroup/*/portkit-nN``) are removed by :meth:`RealNode.stop`.
:meth:`RealNode.leftovers` lists anything that is still there (a test checks it is nothing).

Requirements (``scripts/setup.sh`` installs them): root, Linux with cgroups and overlayfs, the Debian
packages ``containerd runc containernetworking-plugins iptables busybox-static``.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from portkit.errors import LocalClusterError
from portkit.testing._process import ManagedProcess, pid_alive, spawn
from portkit.testing.binaries import tail
from portkit.testing.prerequisites import require_local_extra

if TYPE_CHECKING:  # the PKI needs cryptography (the [local] extra), imported when a node starts
    from portkit.testing._pki import Pki

__all__ = ["CNI_DIR", "KUBELET_ROOT", "RealNode", "check_host", "leftover_cgroups", "sweep_stale_nodes"]

CNI_DIR = Path("/usr/lib/cni")
KUBELET_ROOT = "/var/lib/kubelet"
"""The kubelet's root directory as the node's processes see it (a bind mount of the node's own directory)."""
RUN_DIR = Path("/run/portkit-nodes")
CGROUP_ROOT = Path("/sys/fs/cgroup")
MAX_SLOTS = 200
_TMPFS = ["/run/netns", "/run/containerd", "/var/log/containers", "/var/log/pods", "/var/lib/cni"]
_NEEDED = {
    "containerd": "containerd",
    "containerd-shim-runc-v2": "containerd",
    "ctr": "containerd",
    "runc": "runc",
    "unshare": "util-linux",
    "nsenter": "util-linux",
    "ip": "iproute2",
    "iptables": "iptables",
}

Progress = Callable[[str], None]


def check_host() -> None:
    """Raise a :class:`LocalClusterError` naming what is missing for real nodes (root, tools, kernel)."""
    if os.geteuid() != 0:
        raise LocalClusterError(
            "Real nodes need root (they create namespaces, cgroups and mounts).",
            hint="Run as root, or use kwok nodes only (real_nodes=0).",
        )
    missing = sorted({pkg for tool, pkg in _NEEDED.items() if shutil.which(tool) is None})
    if not (CNI_DIR / "bridge").exists() or not (CNI_DIR / "host-local").exists():
        missing.append("containernetworking-plugins")
    if missing:
        raise LocalClusterError(
            f"Real nodes need the Debian packages {', '.join(missing)}, which are not installed.",
            hint=f"apt-get update && apt-get install -y {' '.join(missing)}  (scripts/setup.sh does this).",
        )
    if "overlay" not in Path("/proc/filesystems").read_text():
        raise LocalClusterError("Real nodes need the overlay file system, which this kernel does not offer.")
    if not any(CGROUP_ROOT.iterdir()):
        raise LocalClusterError(f"No cgroup hierarchies under {CGROUP_ROOT}: real nodes cannot run containers.")


# -- slots ------------------------------------------------------------------------------------------------------
def _slot_file(slot: int) -> Path:
    return RUN_DIR / f"slot-{slot}.json"


@contextlib.contextmanager
def _slots_locked() -> Iterator[None]:
    RUN_DIR.mkdir(mode=0o700, parents=True, exist_ok=True)
    with (RUN_DIR / ".lock").open("a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _slot_owner_alive(slot: int) -> bool:
    try:
        owner = json.loads(_slot_file(slot).read_text())
    except (OSError, ValueError):
        return False
    pid = owner.get("pid")
    return isinstance(pid, int) and pid > 1 and pid_alive(pid) and _proc_start(pid) == owner.get("start")


def _proc_start(pid: int) -> str | None:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def _claim_slot(owner: Mapping[str, Any]) -> int:
    with _slots_locked():
        for slot in range(MAX_SLOTS):
            path = _slot_file(slot)
            if path.exists() and _slot_owner_alive(slot):
                continue
            if path.exists():
                _cleanup_slot(slot)  # a node whose process died without stopping it
            path.write_text(json.dumps({**owner, "pid": os.getpid(), "start": _proc_start(os.getpid())}))
            return slot
    raise LocalClusterError(f"All {MAX_SLOTS} real-node slots are in use.", hint="Stop some local clusters.")


def _set_slot_owner(slot: int, pid: int) -> None:
    """The node's own process owns its slot from now on (a detached node outlives the Python process)."""
    with _slots_locked():
        path = _slot_file(slot)
        owner = json.loads(path.read_text())
        path.write_text(json.dumps({**owner, "pid": pid, "start": _proc_start(pid)}))


def _release_slot(slot: int) -> None:
    with _slots_locked():
        _slot_file(slot).unlink(missing_ok=True)


def sweep_stale_nodes() -> list[int]:
    """Clean up after real nodes whose owning process died without stopping them; returns their slots."""
    swept: list[int] = []
    if not RUN_DIR.exists():
        return swept
    with _slots_locked():
        for path in RUN_DIR.glob("slot-*.json"):
            slot = int(path.stem.split("-")[1])
            if not _slot_owner_alive(slot):
                _cleanup_slot(slot)
                path.unlink(missing_ok=True)
                swept.append(slot)
    return swept


def _cgroup_name(slot: int) -> str:
    return f"portkit-n{slot}"


def _hierarchies() -> list[Path]:
    return sorted(p for p in CGROUP_ROOT.iterdir() if p.is_dir() and not p.is_symlink())


def leftover_cgroups(slot: int) -> list[str]:
    """The cgroup directories of a slot that still exist."""
    return [str(h / _cgroup_name(slot)) for h in _hierarchies() if (h / _cgroup_name(slot)).exists()]


def _cleanup_slot(slot: int) -> None:
    """Kill what is left in the slot's cgroups, remove them, and remove the host end of its veth."""
    name = _cgroup_name(slot)
    for hierarchy in _hierarchies():
        top = hierarchy / name
        if not top.exists():
            continue
        for _ in range(50):
            pids = {int(p) for d, _, _ in os.walk(top) for p in _read_lines(Path(d) / "cgroup.procs")}
            if not pids:
                break
            for pid in pids:
                with contextlib.suppress(OSError):
                    os.kill(pid, signal.SIGKILL)
            time.sleep(0.1)
        for directory, _, _ in sorted(os.walk(top), key=lambda entry: -len(entry[0])):
            with contextlib.suppress(OSError):
                os.rmdir(directory)
    subprocess.run(["ip", "link", "del", f"pk{slot}h"], capture_output=True, check=False)
    shutil.rmtree(RUN_DIR / f"n{slot}", ignore_errors=True)


def _read_lines(path: Path) -> list[str]:
    try:
        return [line for line in path.read_text().split() if line]
    except OSError:
        return []


def _make_cgroup_parent(slot: int) -> str:
    name = _cgroup_name(slot)
    for hierarchy in _hierarchies():
        path = hierarchy / name
        path.mkdir(exist_ok=True)
        if hierarchy.name == "cpuset":
            for knob in ("cpuset.cpus", "cpuset.mems"):
                value = (hierarchy / knob).read_text().strip()
                (path / knob).write_text(value)
    return f"/{name}"


# -- the node ---------------------------------------------------------------------------------------------------
class RealNode:
    """One real node of a local cluster (see the module docstring).

    Args:
        name: the node's name (and kubelet hostname).
        cluster_name: the LocalCluster's name (for messages).
        root: the node's directory.
        pki: the cluster's PKI (the node's certificates are signed by its CA).
        apiserver_port: the API server's port on the host's 127.0.0.1.
        kubelet: path of the kubelet binary.
        labels: labels the node carries (the provider look), applied after it registers.
        service_ip: the ``kubernetes`` Service's ClusterIP; pods on the node reach the API server there.
        detach: leave the node running when this process exits (``portkit local up``).
    """

    def __init__(
        self,
        name: str,
        *,
        cluster_name: str,
        root: Path,
        pki: Pki,
        apiserver_port: int,
        kubelet: Path,
        labels: Mapping[str, str],
        service_ip: str = "10.96.0.1",
        detach: bool = False,
    ) -> None:
        self.name = name
        self.cluster_name = cluster_name
        self.root = root
        self.pki = pki
        self.apiserver_port = apiserver_port
        self.kubelet_binary = kubelet
        self.labels = dict(labels)
        self.service_ip = service_ip
        self.detach = detach
        self.slot: int | None = None
        self.process: ManagedProcess | None = None

    # -- addresses and paths ----------------------------------------------------------------------------------
    @property
    def internal_ip(self) -> str:
        """The node's InternalIP (inner end of its veth pair)."""
        return f"10.240.{self._slot()}.2"

    @property
    def pod_cidr(self) -> str:
        """The range pods on this node get addresses from."""
        return f"10.241.{self._slot()}.0/24"

    @property
    def run_dir(self) -> Path:
        """Private (0700) directory of the node's sockets."""
        return RUN_DIR / f"n{self._slot()}"

    @property
    def containerd_socket(self) -> Path:
        """containerd's gRPC socket."""
        return self.run_dir / "containerd.sock"

    @property
    def kubelet_root(self) -> Path:
        """The kubelet's root directory on the host (pods, volumes); ``/var/lib/kubelet`` inside the node."""
        return self.root / "kubelet"

    @property
    def logs(self) -> dict[str, Path]:
        """Log files: node (namespaces, forwarder), containerd, kubelet."""
        return {name: self.root / f"{name}.log" for name in ("node", "containerd", "kubelet")}

    def _slot(self) -> int:
        if self.slot is None:
            raise LocalClusterError(f"Real node {self.name} has not been started.")
        return self.slot

    # -- lifecycle --------------------------------------------------------------------------------------------
    def start(self, images: Sequence[Path], progress: Progress) -> None:
        """Start containerd, import ``images`` (OCI archives), start the kubelet. Does not wait for Ready."""
        check_host()
        self.slot = _claim_slot({"node": self.name, "cluster": self.cluster_name, "root": str(self.root)})
        try:
            self._start(images, progress)
        except BaseException:
            self.stop()
            raise

    def _start(self, images: Sequence[Path], progress: Progress) -> None:
        slot = self._slot()
        self.root.mkdir(parents=True, exist_ok=True)
        self.run_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(self.run_dir, 0o700)
        cgroup_parent = _make_cgroup_parent(slot)
        certs = require_local_extra().issue_node_certs(self.pki, self.name, self.internal_ip, self.root / "pki")
        containerd_config = self._write_containerd_config()
        kubelet_argv = self._write_kubelet_config(cgroup_parent, certs)
        status = self.root / "status"
        status.unlink(missing_ok=True)
        go = self.root / "kubelet.go"
        go.unlink(missing_ok=True)
        host_fd = os.open("/proc/self/ns/net", os.O_RDONLY)
        try:
            spec = {
                "host_netns_fd": host_fd,
                "tmpfs": _TMPFS,
                "binds": [[str(self.kubelet_root), KUBELET_ROOT]],
                "host_interface": f"pk{slot}h",
                "node_interface": f"pk{slot}n",
                "host_address": f"10.240.{slot}.1/30",
                "node_address": f"{self.internal_ip}/30",
                "forward_port": self.apiserver_port,
                "service_ip": self.service_ip,
                "containerd": ["containerd", "--config", str(containerd_config)],
                "containerd_log": str(self.logs["containerd"]),
                "kubelet": kubelet_argv,
                "kubelet_log": str(self.logs["kubelet"]),
                "kubelet_go_file": str(go),
                "status_file": str(status),
            }
            spec_file = self.root / "node.json"
            spec_file.write_text(json.dumps(spec, indent=2))
            argv = [
                "unshare",
                "--pid",
                "--fork",
                "--kill-child=SIGKILL",
                "--mount-proc",
                "--net",
                "--propagation",
                "private",
                sys.executable,
                "-m",
                "portkit.testing._nodehost",
                str(spec_file),
            ]
            self.process = spawn(f"node-{self.name}", argv, self.logs["node"], detach=self.detach, pass_fds=(host_fd,))
        finally:
            os.close(host_fd)
        _set_slot_owner(slot, self.process.pid)
        self._wait(
            lambda: self.containerd_socket.exists() and _read(status).startswith("containerd"),
            "containerd to start",
            30.0,
        )
        started = time.monotonic()
        for archive in images:
            self.import_image(archive)
        progress(f"node {self.name}: {len(images)} images imported in {time.monotonic() - started:.1f} s")
        go.write_text("")
        self._wait(lambda: _read(status).startswith("kubelet"), "the kubelet to start", 30.0)

    def _wait(self, ready: Callable[[], bool], what: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is not None and not self.process.alive():
                raise self._failed(f"stopped while waiting for {what}")
            status = _read(self.root / "status")
            if status.startswith("failed"):
                raise self._failed(status.strip())
            if ready():
                return
            time.sleep(0.1)
        raise self._failed(f"timed out after {timeout:.0f} s waiting for {what}")

    def _failed(self, why: str) -> LocalClusterError:
        tails = "\n".join(f"--- {name} ({path}):\n{tail(path, 12)}" for name, path in self.logs.items())
        return LocalClusterError(
            f"Real node {self.name} of local cluster {self.cluster_name!r} {why}.\n{tails}",
            hint="Check the logs above; real nodes need root, cgroups, overlayfs and the packages "
            "scripts/setup.sh installs.",
        )

    def import_image(self, archive: Path) -> None:
        """Load an image archive (OCI layout or docker save) into this node's containerd."""
        proc = subprocess.run(
            [
                "ctr",
                "--address",
                str(self.containerd_socket),
                "--namespace",
                "k8s.io",
                "images",
                "import",
                "--no-unpack=false",
                str(archive),
            ],
            capture_output=True,
            text=True,
            check=False,
            timeout=600,
        )
        if proc.returncode != 0:
            raise LocalClusterError(
                f"Importing image {archive} into node {self.name} failed: {proc.stderr.strip()[-600:]}"
            )

    def tag_image(self, source: str, target: str) -> None:
        """Give an image in this node's containerd a second name."""
        proc = subprocess.run(
            [
                "ctr",
                "--address",
                str(self.containerd_socket),
                "--namespace",
                "k8s.io",
                "images",
                "tag",
                "--force",
                source,
                target,
            ],
            capture_output=True,
            text=True,
            check=False,
            timeout=60,
        )
        if proc.returncode != 0:
            raise LocalClusterError(f"Tagging {source} as {target} on node {self.name} failed: {proc.stderr}")

    def images(self) -> list[str]:
        """References of the images this node's containerd holds."""
        proc = subprocess.run(
            ["ctr", "--address", str(self.containerd_socket), "--namespace", "k8s.io", "images", "ls", "-q"],
            capture_output=True,
            text=True,
            check=False,
            timeout=60,
        )
        return [line for line in proc.stdout.splitlines() if line and not line.startswith("sha256:")]

    def memory(self) -> dict[str, int]:
        """Resident memory of the node's processes in bytes, by program (kubelet, containerd, shims, the
        containers' processes, the node process itself), summed over the node's whole process tree."""
        from portkit.testing._process import rss_bytes

        totals: dict[str, int] = {}
        if self.process is None or not self.process.alive():
            return totals
        root = self.process.pid
        pending = [(root, 0)]
        seen: set[int] = set()
        while pending:
            pid, depth = pending.pop()
            if pid in seen:
                continue
            seen.add(pid)
            try:
                name = Path(f"/proc/{pid}/comm").read_text().strip()
                for task in Path(f"/proc/{pid}/task").iterdir():
                    pending += [(int(c), depth + 1) for c in (task / "children").read_text().split()]
            except OSError:
                continue
            if depth <= 1:  # unshare and the node process (PID 1 of the node's namespaces)
                key = "node"
            elif name in ("kubelet", "containerd"):
                key = name
            elif name.startswith("containerd-shim"):
                key = "shims"
            else:
                key = "containers"
            totals[key] = totals.get(key, 0) + rss_bytes(pid)
        return totals

    def alive(self) -> bool:
        """True while the node's processes run."""
        return self.process is not None and self.process.alive()

    def stop(self, timeout: float = 25.0) -> None:
        """Stop the kubelet and containerd, kill every container, remove the node's cgroups and sockets."""
        proc = self.process
        if proc is not None and proc.alive():
            holder = _child_pid(proc.pid)
            if holder is not None:
                with contextlib.suppress(OSError):
                    os.kill(holder, signal.SIGTERM)
            deadline = time.monotonic() + timeout
            while proc.alive() and time.monotonic() < deadline:
                time.sleep(0.1)
            proc.stop(timeout=5.0)
        elif proc is not None:
            proc.stop(timeout=1.0)
        if self.slot is not None:
            with _slots_locked():
                _cleanup_slot(self.slot)
            _release_slot(self.slot)

    def leftovers(self, slot: int | None = None) -> dict[str, list[str]]:
        """What of this node is still on the host: processes, mounts, interfaces, cgroups, sockets."""
        slot = self.slot if slot is None else slot
        if slot is None:
            return {}
        root = str(self.root)
        processes = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            if root in cmdline or f"n{slot}/containerd.sock" in cmdline:
                processes.append(f"{entry.name}: {cmdline.strip()[:160]}")
        mounts = [line for line in _read_text("/proc/self/mountinfo").splitlines() if root in line]
        links = subprocess.run(["ip", "-o", "link", "show"], capture_output=True, text=True, check=False).stdout
        interfaces = [
            line.split(":")[1].strip() for line in links.splitlines() if f"pk{slot}h" in line or f"pk{slot}n" in line
        ]
        rules = subprocess.run(["iptables-save"], capture_output=True, text=True, check=False).stdout
        iptables = [line for line in rules.splitlines() if "CNI" in line or "KUBE" in line or f"pk{slot}" in line]
        sockets = [str(p) for p in (RUN_DIR / f"n{slot}").glob("*")] if (RUN_DIR / f"n{slot}").exists() else []
        return {
            "processes": processes,
            "mounts": mounts,
            "interfaces": interfaces,
            "iptables": iptables,
            "cgroups": leftover_cgroups(slot),
            "sockets": sockets,
        }

    # -- configuration ----------------------------------------------------------------------------------------
    def _write_containerd_config(self) -> Path:
        from portkit.testing.images import PAUSE

        base = self.root / "containerd"
        cni_conf = self.root / "cni" / "net.d"
        cni_conf.mkdir(parents=True, exist_ok=True)
        (self.root / "cni" / "ipam").mkdir(parents=True, exist_ok=True)
        conflist = {
            "cniVersion": "1.0.0",
            "name": "portkit",
            "plugins": [
                {
                    "type": "bridge",
                    "bridge": "cni0",
                    "isGateway": True,
                    "isDefaultGateway": True,
                    "ipMasq": False,
                    "hairpinMode": True,
                    "ipam": {
                        "type": "host-local",
                        "ranges": [[{"subnet": self.pod_cidr}]],
                        "dataDir": str(self.root / "cni" / "ipam"),
                    },
                }
            ],
        }
        (cni_conf / "10-portkit.conflist").write_text(json.dumps(conflist, indent=2))
        cri = 'plugins."io.containerd.grpc.v1.cri"'
        lines = [
            "version = 2",
            f'root = "{base / "root"}"',
            f'state = "{base / "state"}"',
            'disabled_plugins = ["io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs",'
            ' "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.aufs",'
            ' "io.containerd.tracing.processor.v1.otlp", "io.containerd.internal.v1.tracing"]',
            "[grpc]",
            f'  address = "{self.containerd_socket}"',
            "[ttrpc]",
            '  address = ""',
            "[debug]",
            '  address = ""',
            '  level = "info"',
            "[metrics]",
            '  address = ""',
            f"[{cri}]",
            f'  sandbox_image = "{PAUSE}"',
            '  stream_server_address = "127.0.0.1"',
            '  stream_server_port = "0"',
            "  enable_selinux = false",
            "  disable_apparmor = true",
            # never below containerd's own score: lowering it needs CAP_SYS_RESOURCE, which sandboxes may lack
            "  restrict_oom_score_adj = true",
            f"[{cri}.containerd]",
            '  snapshotter = "overlayfs"',
            '  default_runtime_name = "runc"',
            f"[{cri}.containerd.runtimes.runc]",
            '  runtime_type = "io.containerd.runc.v2"',
            f"[{cri}.containerd.runtimes.runc.options]",
            "  SystemdCgroup = false",
            f'  Root = "{self.run_dir / "runc"}"',
            f"[{cri}.cni]",
            f'  bin_dir = "{CNI_DIR}"',
            f'  conf_dir = "{cni_conf}"',
            "  max_conf_num = 1",
            '[plugins."io.containerd.internal.v1.opt"]',
            f'  path = "{base / "opt"}"',
        ]
        path = self.root / "containerd.toml"
        path.write_text("\n".join(lines) + "\n")
        return path

    def _write_kubelet_config(self, cgroup_parent: str, certs: tuple[Path, Path, Path, Path]) -> list[str]:
        serving_crt, serving_key, client_crt, client_key = certs
        resolv = self.root / "resolv.conf"
        resolv.write_text("# no DNS on portkit's local real nodes\n")
        self.kubelet_root.mkdir(parents=True, exist_ok=True)
        config = {
            "apiVersion": "kubelet.config.k8s.io/v1beta1",
            "kind": "KubeletConfiguration",
            "address": self.internal_ip,
            "port": 10250,
            "readOnlyPort": 0,
            "healthzBindAddress": "127.0.0.1",
            "healthzPort": 10248,
            "tlsCertFile": str(serving_crt),
            "tlsPrivateKeyFile": str(serving_key),
            "authentication": {
                "anonymous": {"enabled": False},
                "webhook": {"enabled": True},
                "x509": {"clientCAFile": str(self.pki.ca_crt)},
            },
            "authorization": {"mode": "Webhook"},
            "cgroupDriver": "cgroupfs",
            "cgroupRoot": cgroup_parent,
            "cgroupsPerQOS": True,
            "failCgroupV1": False,
            "failSwapOn": False,
            "containerRuntimeEndpoint": f"unix://{self.containerd_socket}",
            "resolvConf": str(resolv),
            "clusterDomain": "cluster.local",
            "podLogsDir": str(self.root / "pod-logs"),
            "volumePluginDir": str(self.root / "volume-plugins"),
            "imageGCHighThresholdPercent": 100,
            "imageGCLowThresholdPercent": 99,
            "evictionHard": {
                "memory.available": "50Mi",
                "nodefs.available": "1%",
                "imagefs.available": "1%",
                "nodefs.inodesFree": "1%",
            },
            "maxPods": 50,
            "serializeImagePulls": False,
            "nodeStatusUpdateFrequency": "5s",
            "syncFrequency": "10s",
            "fileCheckFrequency": "20s",
            "shutdownGracePeriod": "0s",
            "registerNode": True,
            "enableControllerAttachDetach": True,
        }
        config_path = self.root / "kubelet.yaml"
        config_path.write_text(yaml.safe_dump(config, sort_keys=False))
        kubeconfig = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [
                {
                    "name": "local",
                    "cluster": {
                        "server": f"https://127.0.0.1:{self.apiserver_port}",
                        "certificate-authority": str(self.pki.ca_crt),
                    },
                }
            ],
            "users": [
                {"name": self.name, "user": {"client-certificate": str(client_crt), "client-key": str(client_key)}}
            ],
            "contexts": [{"name": "node", "context": {"cluster": "local", "user": self.name}}],
            "current-context": "node",
        }
        kubeconfig_path = self.root / "kubelet.kubeconfig"
        from portkit._private_files import write_private_text  # 0600 also over an existing 0644 file

        write_private_text(kubeconfig_path, yaml.safe_dump(kubeconfig, sort_keys=False))
        return [
            str(self.kubelet_binary),
            f"--config={config_path}",
            f"--kubeconfig={kubeconfig_path}",
            f"--hostname-override={self.name}",
            f"--node-ip={self.internal_ip}",
            f"--root-dir={KUBELET_ROOT}",
            f"--cert-dir={self.root / 'pki'}",
            "--v=1",
        ]


def _child_pid(pid: int) -> int | None:
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return None
    return int(children[0]) if children else None


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except OSError:
        return ""


def _read_text(path: str) -> str:
    try:
        return Path(path).read_text()
    except OSError:
        return ""
