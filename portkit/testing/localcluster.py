"""``LocalCluster``: a real Kubernetes control plane as local processes.

etcd, kube-apiserver, kube-controller-manager and kube-scheduler built from Go modules (see
:mod:`portkit.testing.binaries`), kwok simulating the kubelets of fake nodes (so Deployments, StatefulSets
and Jobs really roll out), optionally real nodes that really run pods (:mod:`portkit.testing.node`), and a
volume provisioner that binds the claims of the provider's StorageClasses (``local`` volumes on real nodes).
``provider=`` makes the cluster look like that provider: nodes labelled as the provider labels them and its
default StorageClasses installed (data from :mod:`portkit.profiles`).

Everything listens on 127.0.0.1 on ports picked per cluster; everything lives under ``data_dir``
(component logs in ``data_dir/logs``). Processes die with the Python process even when it is killed.
"""

from __future__ import annotations

import atexit
import base64
import contextlib
import http.client
import json
import logging
import os
import shutil
import signal
import socket
import ssl
import sys
import tempfile
import threading
import time
import weakref
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import urllib3
import yaml

from portkit.cluster import Cluster
from portkit.errors import LocalClusterError, PortkitError
from portkit.model import ObjectRef
from portkit.testing._process import ManagedProcess, pid_alive, rss_bytes, spawn
from portkit.testing.binaries import Binaries, ensure_binaries, tail
from portkit.testing.node import RealNode
from portkit.testing.prerequisites import require_local_extra

if TYPE_CHECKING:  # the PKI needs cryptography (the [local] extra), imported when a cluster starts
    from portkit.testing._pki import Pki

__all__ = ["LocalCluster", "load_manifests", "start_all", "wait_for"]

log = logging.getLogger(__name__)

SERVICE_CIDR = "10.96.0.0/16"
FIELD_MANAGER = "portkit-local"
_KWOK_ANNOTATION = "kwok.x-k8s.io/node"

_reserved_ports: set[int] = set()
_ports_lock = threading.Lock()
_live: weakref.WeakSet[LocalCluster] = weakref.WeakSet()


def _free_port() -> int:
    with _ports_lock:
        for _ in range(50):
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
                sock.bind(("127.0.0.1", 0))
                port = int(sock.getsockname()[1])
            if port not in _reserved_ports:
                _reserved_ports.add(port)
                return port
    raise LocalClusterError("Could not find a free TCP port on 127.0.0.1.")


def _advertise_address() -> str:
    """A non-loopback local address for --advertise-address (only written into the kubernetes Endpoints)."""
    with contextlib.suppress(OSError), socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.connect(("192.0.2.1", 9))  # no packet is sent: this only selects the outgoing interface
        address = str(sock.getsockname()[0])
        if not address.startswith("127."):
            return address
    return "10.255.255.1"


#: What :meth:`LocalCluster.apply` takes: a manifest, a YAML file or directory, or a list of those.
ManifestSource = Mapping[str, Any] | str | os.PathLike[str] | Iterable["ManifestSource"]


def load_manifests(source: ManifestSource) -> list[dict[str, Any]]:
    """Manifests from a dict, a list of dicts, or YAML files/directories (``List`` kinds are flattened)."""
    if isinstance(source, Mapping):
        items: list[Any] = [dict(source)]
    elif isinstance(source, str | os.PathLike):
        path = Path(source)
        files = sorted(p for p in path.rglob("*") if p.suffix in (".yaml", ".yml")) if path.is_dir() else [path]
        items = []
        for f in files:
            try:
                items.extend(d for d in yaml.load_all(f.read_text(), Loader=yaml.CSafeLoader) if d)
            except (OSError, yaml.YAMLError) as exc:
                raise LocalClusterError(f"Cannot read manifests from {f}: {exc}") from exc
    else:
        items = []
        for one in source:
            items.extend(load_manifests(one) if not isinstance(one, Mapping) else [dict(one)])
    flat: list[dict[str, Any]] = []
    for item in items:
        if item.get("kind", "").endswith("List") and isinstance(item.get("items"), list):
            flat.extend(item["items"])
        else:
            flat.append(item)
    return flat


class LocalCluster:
    """A real local Kubernetes cluster (control plane processes + kwok nodes).

    Args:
        name: cluster name (kubeconfig context name; used in paths).
        provider: make the cluster look like this provider (profile name such as ``"aws"``), or None.
        data_dir: where everything lives; default a new temporary directory (removed on stop unless
            ``keep=True`` or ``$PORTKIT_KEEP_CLUSTERS`` is set).
        apiserver_args: extra kube-apiserver flags (e.g. ``["--max-requests-inflight=1"]``).
        nodes: number of fake (kwok) nodes when the provider profile does not say.
        real_nodes: number of real nodes besides them: a kubelet and containerd that really run pods, with
            the same provider look (see :mod:`portkit.testing.node`; needs root and the packages
            ``scripts/setup.sh`` installs). ``nodes=0, real_nodes=1`` is a cluster whose only node is real.
        velero: also run a Velero server against this cluster (CRDs, namespace ``velero``, a
            BackupStorageLocation on a file object store); see :mod:`portkit.testing.velero`.
        velero_store: the object-store directory; give two clusters the same one to back up in one and
            restore in the other. Default ``data_dir/velero-store``.
        ports: fixed ports by component (``etcd``, ``etcd-peer``, ``apiserver``, ``controller-manager``,
            ``scheduler``, ``velero-metrics``, ``velero-profiler``, ``velero-store``); the others are picked free
            on 127.0.0.1.
        keep: keep ``data_dir`` after stop.
        detach: leave the processes running when this Python process exits (``portkit local up``).
        progress: callable receiving progress messages (builds, start-up steps, "ready in 4.2 s"); default:
            INFO records of the ``portkit.testing.localcluster`` logger.

    Use as a context manager, or call :meth:`start` and :meth:`stop`.
    """

    def __init__(
        self,
        name: str = "local",
        provider: str | None = None,
        *,
        data_dir: str | os.PathLike[str] | None = None,
        velero: bool = False,
        velero_store: str | os.PathLike[str] | None = None,
        apiserver_args: Sequence[str] = (),
        nodes: int | None = None,
        real_nodes: int = 0,
        ports: Mapping[str, int] | None = None,
        keep: bool = False,
        detach: bool = False,
        progress: Callable[[str], None] | None = None,
    ) -> None:
        self.name = name
        self.provider = provider
        self.velero = velero
        self.apiserver_args = list(apiserver_args)
        self.node_count = nodes
        self.real_node_count = real_nodes
        self.real_nodes: list[RealNode] = []
        self.detach = detach
        self._owns_dir = data_dir is None
        self.keep = keep or bool(os.environ.get("PORTKIT_KEEP_CLUSTERS")) or detach
        self.data_dir = Path(data_dir) if data_dir else Path(tempfile.mkdtemp(prefix=f"portkit-{name}-"))
        self._progress = progress or (lambda msg: log.info("%s: %s", name, msg))
        self._procs: dict[str, ManagedProcess] = {}
        self._cluster: Cluster | None = None
        self._binaries: Binaries | None = None
        self._pki: Pki | None = None
        self.ports: dict[str, int] = dict(ports or {})
        self.timings: dict[str, float] = {}
        self._started = False
        self.velero_store = Path(velero_store).resolve() if velero_store else None

    # -- public surface ------------------------------------------------------------------------------
    @property
    def kubeconfig(self) -> str:
        """Path of an admin kubeconfig for this cluster (file mode 0600: it holds a client key)."""
        return str(self.data_dir / "kubeconfig")

    @property
    def server(self) -> str:
        """The API server URL."""
        return f"https://127.0.0.1:{self.ports['apiserver']}"

    @property
    def binaries(self) -> Binaries:
        """The binaries this cluster runs (built on first use)."""
        if self._binaries is None:
            self._binaries = ensure_binaries(self._progress)
        return self._binaries

    @property
    def logs_dir(self) -> Path:
        """Directory of the component logs."""
        return self.data_dir / "logs"

    def cluster(self) -> Cluster:
        """A :class:`portkit.Cluster` for this cluster (one per LocalCluster)."""
        if self._cluster is None:
            self._cluster = Cluster.from_kubeconfig(self.kubeconfig)
        return self._cluster

    def __repr__(self) -> str:
        state = "running" if self._started else "stopped"
        where = f" {self.server}" if "apiserver" in self.ports else ""
        return f"<LocalCluster {self.name} provider={self.provider} {state}{where}>"

    def __enter__(self) -> LocalCluster:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- lifecycle -----------------------------------------------------------------------------------
    def start(self) -> LocalCluster:
        """Build binaries if needed, start every component and wait until nodes are Ready."""
        if self._started:
            return self
        require_local_extra()  # before a long first build, not after it
        t0 = time.monotonic()
        binaries = self.binaries
        self.timings["binaries"] = time.monotonic() - t0
        spec = self._provider_spec()
        try:
            self.data_dir.mkdir(parents=True, exist_ok=True)
            self._pki = require_local_extra().make_pki(self.data_dir / "pki", self.name)
            for component in ("etcd", "etcd-peer", "apiserver", "controller-manager", "scheduler"):
                self.ports.setdefault(component, _free_port())
            self._write_kubeconfig()
            _live.add(self)
            self._started = True
            t = time.monotonic()
            self._start_etcd(binaries)
            self.timings["etcd"] = time.monotonic() - t
            t = time.monotonic()
            self.start_apiserver()
            self.timings["apiserver"] = time.monotonic() - t
            t = time.monotonic()
            self._start_controllers(binaries, spec)
            self._create_nodes(spec)
            self._install_storage(spec)
            if self.real_node_count:
                self._start_real_nodes(spec)
            self._wait_nodes_ready()
            self._wait_default_service_account()
            self.timings["controllers_nodes"] = time.monotonic() - t
            if self.velero:
                t = time.monotonic()
                self._start_velero()
                self.timings["velero"] = time.monotonic() - t
        except BaseException:
            self.stop()
            raise
        self.timings["total"] = time.monotonic() - t0
        self._write_state()
        self._progress(f"ready in {self.timings['total']:.1f} s at {self.server} (kubeconfig {self.kubeconfig})")
        return self

    def stop(self) -> None:
        """Stop every process (SIGTERM, then SIGKILL) and real node (kubelet, containerd, containers,
        mounts, interfaces, cgroups); remove ``data_dir`` unless kept."""
        for name in ("velero", "velero-store", "provisioner", "kwok", "scheduler", "controller-manager"):
            proc = self._procs.pop(name, None)
            if proc is not None:
                proc.stop(timeout=5.0)
        for node in self.real_nodes:
            node.stop()
        for name in ("apiserver", "etcd"):
            proc = self._procs.pop(name, None)
            if proc is not None:
                proc.stop(timeout=5.0)
        for proc in self._procs.values():
            proc.stop(timeout=5.0)
        self._procs.clear()
        if self._cluster is not None:
            self._cluster.close()
            self._cluster = None
        self._started = False
        with _ports_lock:
            for port in self.ports.values():
                _reserved_ports.discard(port)
        if self._owns_dir and not self.keep:
            shutil.rmtree(self.data_dir, ignore_errors=True)

    def _write_state(self) -> None:
        from portkit.testing._process import ProcessIdentity

        processes = {}
        running = dict(self._procs)
        running.update({f"node-{n.name}": n.process for n in self.real_nodes if n.process is not None})
        for name, proc in running.items():
            identity = ProcessIdentity.of(proc.pid)
            if identity is not None:  # a process that already ended is not recorded (nor ever signalled)
                processes[name] = identity.to_dict()
        state = {
            "name": self.name,
            "provider": self.provider,
            "server": self.server,
            "kubeconfig": self.kubeconfig,
            "ports": self.ports,
            "pids": {name: p.pid for name, p in self._procs.items()},
            "real_nodes": [{"name": n.name, "slot": n.slot} for n in self.real_nodes],
            # what stop_detached checks before it signals anything: pid, executable and start time
            "processes": processes,
        }
        if self.velero:
            state["velero_binary"] = self.velero_binary
        path = self.data_dir / "state.json"
        tmp = path.with_name(f".state.json.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(state, indent=2) + "\n")
        os.replace(tmp, path)

    @staticmethod
    def read_state(data_dir: str | os.PathLike[str]) -> dict[str, Any]:
        """The state a started cluster wrote to ``data_dir/state.json`` (name, server, kubeconfig, ports, pids,
        and ``processes``: per component its pid, executable and start time), validated.

        Raises:
            LocalClusterError: there is no such file, or it is not a state portkit wrote.
        """
        from portkit.testing._process import ProcessIdentity, valid_pid

        path = Path(data_dir) / "state.json"
        try:
            state: Any = json.loads(path.read_text())
        except (OSError, ValueError, RecursionError) as exc:
            raise LocalClusterError(f"No local cluster state at {path}.") from exc

        def invalid(why: str) -> LocalClusterError:
            return LocalClusterError(
                f"The local cluster state {path} is invalid: {why}. Nothing was signalled.",
                hint="It was edited or not written by portkit: stop the cluster's processes by hand, then remove "
                f"{Path(data_dir)}.",
            )

        if not isinstance(state, dict):
            raise invalid("it is not a JSON object")
        pids = state.get("pids", {})
        if not isinstance(pids, dict) or not all(isinstance(k, str) and valid_pid(v) for k, v in pids.items()):
            raise invalid("'pids' must map component names to process ids greater than 1")
        processes = state.get("processes", {})
        if not isinstance(processes, dict):
            raise invalid("'processes' must map component names to pid, exe and start")
        for name, entry in processes.items():
            try:
                ProcessIdentity.from_dict(entry)
            except ValueError as exc:
                raise invalid(f"process {name!r}: {exc}") from exc
        return dict(state)

    @classmethod
    def stop_detached(cls, data_dir: str | os.PathLike[str], *, remove: bool = True) -> dict[str, Any]:
        """Stop a cluster started with ``detach=True`` (by another process) from its ``data_dir``.

        Only the processes ``state.json`` records with pid, executable and start time are signalled, and each
        only while all three still match (a process that ended and whose pid was reused, pids 0, -1 or 1,
        anything else is never signalled). A state of an older portkit without that record stops nothing and
        raises while its pids still run.

        Raises:
            LocalClusterError: the state is missing or invalid, or names running pids without identities.
        """
        from portkit.testing._process import ProcessIdentity

        state = cls.read_state(data_dir)
        recorded = [ProcessIdentity.from_dict(entry) for entry in state.get("processes", {}).values()]
        unverified = sorted({int(pid) for pid in state.get("pids", {}).values()} - {p.pid for p in recorded})
        running_unverified = [pid for pid in unverified if pid_alive(pid)]
        if running_unverified and not recorded:
            raise LocalClusterError(
                f"The local cluster state in {data_dir} does not record which processes it started (written by an "
                f"older portkit); pids {', '.join(map(str, running_unverified))} run, but nothing was signalled.",
                hint="Check with `ps -p PID -o pid,args` that they are the cluster's, stop them with `kill PID`, "
                f"then remove {data_dir}.",
            )
        for proc in recorded:
            proc.signal(signal.SIGTERM)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and any(p.running() for p in recorded):
            time.sleep(0.1)
        for proc in recorded:
            proc.signal(signal.SIGKILL)
        if state.get("real_nodes"):
            from portkit.testing.node import sweep_stale_nodes

            sweep_stale_nodes()  # the nodes' cgroups and slots (their processes died with the node process)
        if remove:
            shutil.rmtree(data_dir, ignore_errors=True)
        return state

    def kill_apiserver(self) -> None:
        """SIGKILL kube-apiserver (for fault tests); etcd keeps the data."""
        proc = self._procs.pop("apiserver", None)
        if proc is None:
            raise LocalClusterError(f"The API server of {self.name} is not running.")
        proc.kill()

    def start_apiserver(self) -> None:
        """Start kube-apiserver (again) on the same port and data, and wait until it is ready."""
        if "apiserver" in self._procs and self._procs["apiserver"].alive():
            return
        binaries = self.binaries
        pki = self._require_pki()
        port = self.ports["apiserver"]
        argv = [
            str(binaries.kube_apiserver),
            f"--etcd-servers=http://127.0.0.1:{self.ports['etcd']}",
            "--bind-address=127.0.0.1",
            f"--secure-port={port}",
            f"--advertise-address={_advertise_address()}",
            f"--tls-cert-file={pki.serving_crt}",
            f"--tls-private-key-file={pki.serving_key}",
            f"--client-ca-file={pki.ca_crt}",
            f"--service-cluster-ip-range={SERVICE_CIDR}",
            f"--service-account-issuer=https://127.0.0.1:{port}",
            f"--service-account-key-file={pki.sa_pub}",
            f"--service-account-signing-key-file={pki.sa_key}",
            "--authorization-mode=Node,RBAC",
            f"--kubelet-client-certificate={pki.admin_crt}",
            f"--kubelet-client-key={pki.admin_key}",
            f"--kubelet-certificate-authority={pki.ca_crt}",
            "--kubelet-preferred-address-types=InternalIP,Hostname",
            "--allow-privileged=true",
            "--profiling=false",
            "--enable-garbage-collector=true",
            *self.apiserver_args,
        ]
        self._procs["apiserver"] = self._spawn("apiserver", argv)
        self._wait("apiserver", lambda: self._https_ok(port, "/readyz", client_cert=True), timeout=90.0)
        if (self.data_dir / "state.json").exists():
            self._write_state()

    def memory(self) -> dict[str, int]:
        """Resident memory of each running component, in bytes; a real node counts as one component per
        program of its process tree (``node-NAME/kubelet``, ``.../containerd``, ``.../shims``,
        ``.../containers``, ``.../node``)."""
        found = {name: rss_bytes(p.pid) for name, p in self._procs.items() if p.alive()}
        for node in self.real_nodes:
            found.update({f"node-{node.name}/{part}": rss for part, rss in node.memory().items()})
        return found

    def log_tails(self, lines: int = 30) -> dict[str, str]:
        """The last lines of every component's log."""
        return {f.stem: tail(f, lines) for f in sorted(self.logs_dir.glob("*.log"))}

    def kubectl(self, *args: str, input: str | None = None, check: bool = True) -> str:
        """Run the bundled kubectl against this cluster; returns stdout."""
        import subprocess

        proc = subprocess.run(
            [str(self.binaries.kubectl), f"--kubeconfig={self.kubeconfig}", *args],
            input=input,
            capture_output=True,
            text=True,
            check=False,
        )
        if check and proc.returncode != 0:
            raise LocalClusterError(f"kubectl {' '.join(args)} failed: {proc.stderr.strip()[-800:]}")
        return proc.stdout

    def apply(self, manifests: ManifestSource, *, timeout: float = 60.0) -> list[dict[str, Any]]:
        """Create or update objects (server-side apply, forced); CRDs are waited for until Established.

        Args:
            manifests: a dict, a list of dicts, or a YAML file or directory.
            timeout: seconds to wait for each CustomResourceDefinition to be Established.
        Returns:
            the objects as the server holds them.
        """
        objs = load_manifests(manifests)
        cluster = self.cluster()
        first = [o for o in objs if o.get("kind") in ("Namespace", "CustomResourceDefinition")]
        rest = [o for o in objs if o.get("kind") not in ("Namespace", "CustomResourceDefinition")]
        applied = [cluster.apply(o, field_manager=FIELD_MANAGER, force=True) for o in first]
        crds = [o for o in first if o.get("kind") == "CustomResourceDefinition"]
        if crds:
            self._wait_crds(crds, timeout)
            cluster.invalidate_discovery()
        for obj in rest:
            ref = ObjectRef.from_obj(obj)
            resource = cluster.resource_of(obj)
            if resource.namespaced and not ref.namespace:
                obj = {**obj, "metadata": {**obj.get("metadata", {}), "namespace": "default"}}
            applied.append(cluster.apply(obj, field_manager=FIELD_MANAGER, force=True))
        return applied

    def service_account_kubeconfig(
        self,
        name: str,
        namespace: str = "default",
        *,
        cluster_role: str | None = None,
        rules: Sequence[Mapping[str, Any]] | None = None,
        cluster_wide: bool = False,
    ) -> str:
        """A kubeconfig for a ServiceAccount with the given rights (not ``system:masters``).

        Creates the namespace and ServiceAccount if needed, grants ``cluster_role`` (an existing ClusterRole)
        or a Role made of ``rules``, bound in ``namespace`` or cluster-wide, and mints a token for it with
        the TokenRequest API. Use it to test restricted RBAC, or throttling (``system:masters`` requests are
        exempt from the API server's in-flight limits). Returns the kubeconfig path (mode 0600).
        """
        role_name = f"{name}-role"
        objs: list[dict[str, Any]] = [
            {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}},
            {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": name, "namespace": namespace}},
        ]
        if rules is not None:
            kind = "ClusterRole" if cluster_wide else "Role"
            meta = {"name": role_name} if cluster_wide else {"name": role_name, "namespace": namespace}
            objs.append(
                {
                    "apiVersion": "rbac.authorization.k8s.io/v1",
                    "kind": kind,
                    "metadata": meta,
                    "rules": [dict(r) for r in rules],
                }
            )
            role_ref = {"apiGroup": "rbac.authorization.k8s.io", "kind": kind, "name": role_name}
        elif cluster_role:
            role_ref = {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": cluster_role}
        else:
            raise LocalClusterError("service_account_kubeconfig needs cluster_role= or rules=.")
        binding_kind = "ClusterRoleBinding" if cluster_wide else "RoleBinding"
        binding_meta = {"name": f"{name}-binding"}
        if not cluster_wide:
            binding_meta["namespace"] = namespace
        objs.append(
            {
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": binding_kind,
                "metadata": binding_meta,
                "roleRef": role_ref,
                "subjects": [{"kind": "ServiceAccount", "name": name, "namespace": namespace}],
            }
        )
        self.apply(objs)
        cluster = self.cluster()
        token = cluster.request(
            "POST",
            cluster.resource_for("v1", "ServiceAccount").path(namespace, name) + "/token",
            body={
                "apiVersion": "authentication.k8s.io/v1",
                "kind": "TokenRequest",
                "spec": {"expirationSeconds": 86400},
            },
        )["status"]["token"]
        pki = self._require_pki()
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [
                {
                    "name": self.name,
                    "cluster": {
                        "server": self.server,
                        "certificate-authority-data": base64.b64encode(pki.ca_crt.read_bytes()).decode(),
                    },
                }
            ],
            "users": [{"name": name, "user": {"token": token}}],
            "contexts": [
                {"name": f"{name}@{self.name}", "context": {"cluster": self.name, "user": name, "namespace": namespace}}
            ],
            "current-context": f"{name}@{self.name}",
        }
        path = self.data_dir / f"kubeconfig-{namespace}-{name}"
        _write_private_yaml(path, config)
        return str(path)

    # -- internals -----------------------------------------------------------------------------------
    def _require_pki(self) -> Pki:
        if self._pki is None:
            raise LocalClusterError(f"LocalCluster {self.name} has not been started.")
        return self._pki

    def _spawn(self, name: str, argv: list[str], env: dict[str, str] | None = None) -> ManagedProcess:
        return spawn(name, argv, self.logs_dir / f"{name}.log", env=env, detach=self.detach)

    def _fail(self, component: str, why: str) -> LocalClusterError:
        log = self.logs_dir / f"{component}.log"
        return LocalClusterError(
            f"{component} of local cluster {self.name!r} {why}. Last lines of {log}:\n{tail(log, 15)}",
            hint="Look for a port clash ('address already in use') or a bad flag in the log above.",
        )

    def _wait(self, component: str, ready: Callable[[], bool], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        proc = self._procs.get(component)
        while time.monotonic() < deadline:
            if proc is not None and not proc.alive():
                raise self._fail(component, f"exited early with code {proc.popen.returncode}")
            try:
                if ready():
                    return
            except (PortkitError, urllib3.exceptions.HTTPError, OSError, ValueError):
                pass
            time.sleep(0.2)
        raise self._fail(component, f"was not ready after {timeout:.0f} s")

    def _https_ok(self, port: int, path: str, *, client_cert: bool = False) -> bool:
        """GET a health endpoint; the API server's cert is verified, the controllers' self-signed ones not."""
        pki = self._require_pki()
        if client_cert:
            context = ssl.create_default_context(cafile=str(pki.ca_crt))
            context.load_cert_chain(str(pki.admin_crt), str(pki.admin_key))
        else:
            context = ssl.create_default_context()
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        conn = http.client.HTTPSConnection("127.0.0.1", port, timeout=2.0, context=context)
        try:
            conn.request("GET", path)
            return conn.getresponse().status == 200
        finally:
            conn.close()

    def _start_etcd(self, binaries: Binaries) -> None:
        client = f"http://127.0.0.1:{self.ports['etcd']}"
        peer = f"http://127.0.0.1:{self.ports['etcd-peer']}"
        argv = [
            str(binaries.etcd),
            "--name=default",
            f"--data-dir={self.data_dir / 'etcd'}",
            f"--listen-client-urls={client}",
            f"--advertise-client-urls={client}",
            f"--listen-peer-urls={peer}",
            f"--initial-advertise-peer-urls={peer}",
            f"--initial-cluster=default={peer}",
            "--unsafe-no-fsync=true",
            "--quota-backend-bytes=4294967296",
            "--log-level=warn",
        ]
        self._procs["etcd"] = self._spawn("etcd", argv)

        def healthy() -> bool:
            with urllib3.PoolManager(retries=False, timeout=2.0) as pool:
                return b'"true"' in pool.request("GET", f"{client}/health").data

        self._wait("etcd", healthy, timeout=30.0)

    def _component_kubeconfig(self) -> Path:
        return self.data_dir / "kubeconfig"

    def _start_controllers(self, binaries: Binaries, spec: Mapping[str, Any]) -> None:
        pki = self._require_pki()
        kubeconfig = str(self._component_kubeconfig())
        kcm_port, sched_port = self.ports["controller-manager"], self.ports["scheduler"]
        common = [
            f"--kubeconfig={kubeconfig}",
            "--bind-address=127.0.0.1",
            "--leader-elect=false",
            "--authorization-always-allow-paths=/healthz,/readyz,/livez,/metrics",
        ]
        self._procs["controller-manager"] = self._spawn(
            "controller-manager",
            [
                str(binaries.kube_controller_manager),
                *common,
                f"--secure-port={kcm_port}",
                f"--service-account-private-key-file={pki.sa_key}",
                f"--root-ca-file={pki.ca_crt}",
                f"--cluster-signing-cert-file={pki.ca_crt}",
                f"--cluster-signing-key-file={pki.ca_key}",
                "--use-service-account-credentials=true",
                f"--service-cluster-ip-range={SERVICE_CIDR}",
                "--pvclaimbinder-sync-period=2s",  # bind pre-created volumes quickly (default 15 s)
            ],
        )
        self._procs["scheduler"] = self._spawn(
            "scheduler",
            [
                str(binaries.kube_scheduler),
                *common,
                f"--secure-port={sched_port}",
            ],
        )
        kwok_config = self.data_dir / "kwok.yaml"
        kwok_config.write_text("")
        self._procs["kwok"] = self._spawn(
            "kwok",
            [
                str(binaries.kwok),
                f"--kubeconfig={kubeconfig}",
                f"--config={kwok_config}",
                "--manage-all-nodes=false",
                f"--manage-nodes-with-annotation-selector={_KWOK_ANNOTATION}=fake",
                "--node-lease-duration-seconds=40",
                "--cidr=10.244.0.1/16",
            ],
        )
        provisioners = list(spec.get("provisioners") or [])
        if provisioners:
            volumes = self.data_dir / "volumes"
            volumes.mkdir(exist_ok=True)
            self._procs["provisioner"] = self._spawn(
                "provisioner",
                [
                    sys.executable,
                    "-m",
                    "portkit.testing.provisioner",
                    f"--kubeconfig={kubeconfig}",
                    f"--root={volumes}",
                    *[f"--provisioner={p}" for p in provisioners],
                ],
            )
        self._wait("controller-manager", lambda: self._https_ok(kcm_port, "/healthz"), timeout=60.0)
        self._wait("scheduler", lambda: self._https_ok(sched_port, "/healthz"), timeout=60.0)

    def _start_velero(self) -> None:
        from portkit.testing import velero

        binaries = velero.ensure_velero(self._progress)
        store = self.velero_store or (self.data_dir / "velero-store")
        for component in ("velero-metrics", "velero-profiler", "velero-store"):
            self.ports.setdefault(component, _free_port())
        velero.install(self, binaries, store)
        velero.start_server(
            self,
            binaries,
            metrics_port=self.ports["velero-metrics"],
            profiler_port=self.ports["velero-profiler"],
            store_port=self.ports["velero-store"],
        )

    def _provider_spec(self) -> dict[str, Any]:
        if self.provider is None:
            count = 2 if self.node_count is None else self.node_count
            templates = [{"name": f"{self.name}-node-{i}", "labels": {}} for i in range(max(count, 1))]
            spec: dict[str, Any] = {
                "storage_classes": [],
                "volume_snapshot_classes": [],
                "provisioners": [],
            }
        else:
            from portkit import profiles

            try:
                spec = dict(profiles.local_cluster_spec(self.provider))
            except PortkitError as exc:
                raise LocalClusterError(
                    f"Cannot make local cluster {self.name!r} look like provider {self.provider!r}: {exc}"
                ) from exc
            templates = list(spec.get("nodes") or []) or [{"name": f"{self.name}-node-0", "labels": {}}]
            count = len(templates) if self.node_count is None else self.node_count
        spec["nodes"] = [_node_like(templates[i % len(templates)], i, len(templates)) for i in range(count)]
        spec["real_nodes"] = [
            _node_like(templates[i % len(templates)], i, 0, name=f"{self.name}-real-{i}")
            for i in range(self.real_node_count)
        ]
        if self.real_node_count and self.provider is None:
            spec["provisioners"] = [LOCAL_PROVISIONER]
            spec["storage_classes"] = [local_storage_class()]
        return spec

    # -- real nodes ----------------------------------------------------------------------------------
    def _start_real_nodes(self, spec: Mapping[str, Any]) -> None:
        from portkit.testing import images
        from portkit.testing.node import sweep_stale_nodes

        t = time.monotonic()
        for slot in sweep_stale_nodes():
            self._progress(f"cleaned up real-node slot {slot} left by a process that died without stopping it")
        refs = [images.PAUSE, images.BUSYBOX]
        if self.velero:
            refs.append(images.VELERO)
        archives = [images.ensure_image(ref, self._progress) for ref in refs]
        default_verify = _default_verify_image()
        for template in spec.get("real_nodes") or []:
            node = RealNode(
                str(template["name"]),
                cluster_name=self.name,
                root=self.data_dir / "nodes" / str(template["name"]),
                pki=self._require_pki(),
                apiserver_port=self.ports["apiserver"],
                kubelet=self.binaries.kubelet,
                labels=dict(template.get("labels") or {}),
                detach=self.detach,
            )
            self.real_nodes.append(node)
            node.start(archives, self._progress)
            node.tag_image(images.BUSYBOX, default_verify)
        self._label_real_nodes()
        self.timings["real_nodes"] = time.monotonic() - t

    def _label_real_nodes(self, timeout: float = 90.0) -> None:
        cluster = self.cluster()
        resource = cluster.resource_for("v1", "Node")
        for node in self.real_nodes:

            def registered(node: RealNode = node) -> bool:
                if not node.alive():
                    raise node._failed("stopped before it registered")
                return bool(cluster.get(resource, node.name))

            self._wait("apiserver", registered, timeout)
            labels = {**node.labels, "kubernetes.io/hostname": node.name, "type": "real", REAL_NODE_LABEL: "true"}
            cluster.request(
                "PATCH",
                resource.path(None, node.name),
                body={"metadata": {"labels": labels}},
                content_type="application/merge-patch+json",
            )

    def load_image(self, image: str | os.PathLike[str], *, name: str | None = None) -> str:
        """Load an image into every real node's containerd and return its reference.

        Args:
            image: a reference portkit can make (:func:`portkit.testing.images.builtin_images`, e.g.
                :data:`~portkit.testing.images.BUSYBOX`), or the path of an OCI or docker image archive.
            name: also tag the image with this reference (e.g. the public name a mirror would serve).
        """
        from portkit.testing import images

        if not self.real_nodes:
            raise LocalClusterError(
                f"Local cluster {self.name!r} has no real nodes to load images into.",
                hint="Start it with real_nodes=1 or more.",
            )
        if isinstance(image, str) and image in images.builtin_images():
            archive, ref = images.ensure_image(image, self._progress), image
        else:
            archive = Path(image)
            if not archive.is_file():
                raise LocalClusterError(f"No image archive at {archive} (and {image!s} is not an image portkit makes).")
            ref = images.archive_reference(archive)
        for node in self.real_nodes:
            node.import_image(archive)
            if name:
                node.tag_image(ref, name)
        return name or ref

    @property
    def real_node_names(self) -> list[str]:
        """Names of the real nodes."""
        return [node.name for node in self.real_nodes]

    @property
    def velero_binary(self) -> str:
        """Path of the Velero CLI that matches this cluster's Velero server (built on first use)."""
        from portkit.testing.velero import ensure_velero

        return str(ensure_velero(self._progress).velero)

    def _create_nodes(self, spec: Mapping[str, Any]) -> None:
        cluster = self.cluster()
        for node in spec.get("nodes") or []:
            name = str(node["name"])
            labels = {
                "kubernetes.io/hostname": name,
                "kubernetes.io/os": "linux",
                "kubernetes.io/arch": "amd64",
                "type": "kwok",
                **dict(node.get("labels") or {}),
            }
            manifest = {
                "apiVersion": "v1",
                "kind": "Node",
                "metadata": {"name": name, "labels": labels, "annotations": {_KWOK_ANNOTATION: "fake"}},
                "spec": {},
                "status": {
                    "allocatable": {"cpu": "32", "memory": "256Gi", "pods": "110"},
                    "capacity": {"cpu": "32", "memory": "256Gi", "pods": "110"},
                    "nodeInfo": {
                        "architecture": "amd64",
                        "operatingSystem": "linux",
                        "kubeletVersion": "fake",
                        "kubeProxyVersion": "fake",
                    },
                },
            }
            with contextlib.suppress(PortkitError):  # already there after a restart on the same data
                cluster.create(manifest)

    def _install_storage(self, spec: Mapping[str, Any]) -> None:
        classes = list(spec.get("storage_classes") or [])
        snapshot_classes = list(spec.get("volume_snapshot_classes") or [])
        if snapshot_classes:
            from portkit.testing._crds import snapshot_crds

            self.apply(snapshot_crds())
        if classes or snapshot_classes:
            self.apply(classes + snapshot_classes)

    def _wait_nodes_ready(self, timeout: float = 60.0) -> None:
        cluster = self.cluster()
        nodes = cluster.resource_for("v1", "Node")

        def ready() -> bool:
            items = list(cluster.list(nodes))
            return bool(items) and all(
                any(
                    c.get("type") == "Ready" and c.get("status") == "True"
                    for c in (n.get("status") or {}).get("conditions") or []
                )
                for n in items
            )

        self._wait("kwok", ready, timeout)

    def _wait_default_service_account(self, timeout: float = 60.0) -> None:
        cluster = self.cluster()
        sa = cluster.resource_for("v1", "ServiceAccount")
        self._wait("controller-manager", lambda: bool(cluster.get(sa, "default", "default")), timeout)

    def _wait_crds(self, crds: Iterable[Mapping[str, Any]], timeout: float) -> None:
        cluster = self.cluster()
        resource = cluster.resource_for("apiextensions.k8s.io/v1", "CustomResourceDefinition")
        for crd in crds:
            name = crd["metadata"]["name"]

            def established(name: str = name) -> bool:
                live = cluster.get(resource, name)
                return any(
                    c.get("type") == "Established" and c.get("status") == "True"
                    for c in (live.get("status") or {}).get("conditions") or []
                )

            self._wait("apiserver", established, timeout)

    def _write_kubeconfig(self) -> None:
        pki = self._require_pki()

        def b64(path: Path) -> str:
            return base64.b64encode(path.read_bytes()).decode()

        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [
                {
                    "name": self.name,
                    "cluster": {
                        "server": f"https://127.0.0.1:{self.ports['apiserver']}",
                        "certificate-authority-data": b64(pki.ca_crt),
                    },
                }
            ],
            "users": [
                {
                    "name": f"{self.name}-admin",
                    "user": {"client-certificate-data": b64(pki.admin_crt), "client-key-data": b64(pki.admin_key)},
                }
            ],
            "contexts": [{"name": self.name, "context": {"cluster": self.name, "user": f"{self.name}-admin"}}],
            "current-context": self.name,
        }
        _write_private_yaml(self._component_kubeconfig(), config)


REAL_NODE_LABEL = "portkit.dev/real-node"
"""Label carried by real nodes (``"true"``); DaemonSets that must run for real select on it."""
LOCAL_PROVISIONER = "local.portkit.dev"


def local_storage_class() -> dict[str, Any]:
    """The default StorageClass of a provider-less cluster with real nodes (local volumes, WaitForFirstConsumer)."""
    return {
        "apiVersion": "storage.k8s.io/v1",
        "kind": "StorageClass",
        "metadata": {"name": "local", "annotations": {"storageclass.kubernetes.io/is-default-class": "true"}},
        "provisioner": LOCAL_PROVISIONER,
        "reclaimPolicy": "Delete",
        "volumeBindingMode": "WaitForFirstConsumer",
    }


def _default_verify_image() -> str:
    from portkit.volumes.verify import DEFAULT_IMAGE

    return DEFAULT_IMAGE


def _node_like(template: Mapping[str, Any], index: int, count: int, *, name: str | None = None) -> dict[str, Any]:
    """A node with the provider look of ``template``; a new name when ``count`` templates are reused."""
    node_name = name or str(template["name"])
    if name is None and count and index >= count:
        node_name = f"{template['name']}-{index // count}"
    labels = dict(template.get("labels") or {})
    if "kubernetes.io/hostname" in labels:
        labels["kubernetes.io/hostname"] = node_name
    return {"name": node_name, "labels": labels}


def _write_private_yaml(path: Path, data: object) -> None:
    """A kubeconfig (it holds a client key): mode 0600 also when it replaces an existing 0644 file."""
    from portkit._private_files import write_private_text

    write_private_text(path, yaml.safe_dump(data, sort_keys=False))


def start_all(clusters: Iterable[LocalCluster]) -> list[LocalCluster]:
    """Start several clusters in parallel (binaries are built once, first); on any failure stop them all and
    raise the first error."""
    pending = list(clusters)
    if not pending:
        return pending
    pending[0].binaries  # noqa: B018  (build before the parallel start, not twice at once)
    errors: list[BaseException] = []

    def start(lc: LocalCluster) -> None:
        try:
            lc.start()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=start, args=(lc,), name=f"start-{lc.name}") for lc in pending]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        for lc in pending:
            lc.stop()
        raise errors[0]
    return pending


def wait_for(check: Callable[[], Any], timeout: float = 60.0, what: str = "condition", interval: float = 0.25) -> Any:
    """Poll ``check()`` until it returns something truthy (returned); ``AssertionError`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)


def _stop_all() -> None:
    for lc in list(_live):
        if not lc.detach:
            with contextlib.suppress(Exception):
                lc.stop()


atexit.register(_stop_all)
