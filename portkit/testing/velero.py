"""Velero for local clusters: build the ``velero`` binary and a file object-store plugin, run the server.

``velero`` (CLI and server, one binary), ``velero-restore-helper`` and ``velero-plugin-portkit-file`` (an
object-store plugin keeping objects as files in a directory: providers ``velero.io/fs`` and
``portkit.io/file``) are built from the wrapper module in
``gomod/velero`` (pinned ``github.com/vmware-tanzu/velero`` with the kopia ``replace`` line copied from
Velero's own go.mod) and cached like the Kubernetes binaries.

``LocalCluster(velero=True)`` calls :func:`install` and :func:`start_server`: Velero's CRDs, its namespace
and a BackupStorageLocation pointing at a store directory, then ``velero server`` out of cluster against
that cluster, with every listener on 127.0.0.1 on ports picked per cluster. Two clusters given the same
``velero_store`` directory share one "bucket": Velero's documented cluster-migration setup.

With real nodes (``LocalCluster(real_nodes=1, velero=True)``) Velero's node agent runs as a DaemonSet pod on
each real node and file-system backups (Kopia) move real bytes through the shared directory. On kwok nodes
only the objects move: PVC and PV objects, the backup and restore flows, namespace mapping, storage-class
mapping and resource modifiers are real, file-system backups of their pods fail (no node agent there).
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs
import yaml

from portkit.errors import LocalClusterError
from portkit.testing.binaries import Progress, _ensure, _log_progress, _module_digest, _run_go, stderr_progress

if TYPE_CHECKING:
    from portkit.testing._process import ManagedProcess
    from portkit.testing.localcluster import LocalCluster

__all__ = [
    "PLUGIN_NAME",
    "PROVIDER",
    "VELERO_NAMESPACE",
    "VELERO_VERSION",
    "VeleroBinaries",
    "backup_storage_location",
    "ensure_velero",
    "install",
    "node_agent",
    "placeholder_deployment",
    "start_server",
    "velero_crds",
    "wait_node_agents",
]

VELERO_VERSION = "v1.18.3"
VELERO_NAMESPACE = "velero"
PROVIDER = "velero.io/fs"
"""The storage location's provider: portkit's file object store under the name of Velero's "fs" repository
back end, so file-system backups (Kopia) keep their repositories in the same directory."""
PLUGIN_NAME = "velero-plugin-portkit-file"
BUCKET = "portkit"
BSL_NAME = "default"

_GOMOD = Path(__file__).parent / "gomod"
# controller-runtime's manager inside `velero server` would otherwise serve metrics on :8080 on every
# interface (Velero has no flag for it): a second local Velero server could not start.
_LDFLAGS = (
    "-s -w "
    f"-X github.com/vmware-tanzu/velero/pkg/buildinfo.Version={VELERO_VERSION} "
    "-X github.com/vmware-tanzu/velero/pkg/buildinfo.GitTreeState=clean "
    "-X sigs.k8s.io/controller-runtime/pkg/metrics/server.DefaultBindAddress=0"
)


@attrs.frozen
class VeleroBinaries:
    """Paths of the built Velero binary and its plugin directory."""

    velero: Path
    plugin_dir: Path
    restore_helper: Path

    def to_dict(self) -> dict[str, str]:
        """Name → path."""
        return {
            "velero": str(self.velero),
            "plugin_dir": str(self.plugin_dir),
            "restore_helper": str(self.restore_helper),
        }


MIN_GO = (1, 26)  # github.com/vmware-tanzu/velero v1.18's go.mod says "go 1.26.0"


def _check_go() -> None:
    from portkit.testing.binaries import _go

    proc = subprocess.run([_go(), "env", "GOVERSION"], capture_output=True, text=True, timeout=60, check=False)
    text = proc.stdout.strip()  # e.g. "go1.26.8"
    try:
        found = tuple(int(x) for x in text.removeprefix("go").split(".")[:2])
    except ValueError:
        return  # a development build: let the build itself decide
    if found < MIN_GO:
        raise LocalClusterError(
            f"Velero {VELERO_VERSION} needs Go {'.'.join(map(str, MIN_GO))} or newer to build; `go` is {text}.",
            hint="Install a newer Go (portkit builds with GOTOOLCHAIN=local, so Go does not fetch one itself).",
        )


def _build_velero(dest: Path, progress: Progress) -> None:
    _check_go()
    with tempfile.TemporaryDirectory(prefix="build-", dir=dest.parent) as tmp:
        work = Path(tmp) / "velero"
        shutil.copytree(_GOMOD / "velero", work)
        staging = Path(tmp) / "out"
        (staging / "plugins").mkdir(parents=True)
        log = dest.parent / f"{dest.name}.build.log"
        progress(
            f"building Velero {VELERO_VERSION} and its file object-store plugin from Go modules into {dest} "
            f"(first use only; 5-20 minutes on 2 cores; log: {log})"
        )
        started = time.monotonic()
        common = ["build", "-trimpath", "-ldflags", _LDFLAGS]
        _run_go(
            [*common, "-o", str(staging / "velero"), "github.com/vmware-tanzu/velero/cmd/velero"],
            cwd=work,
            log=log,
            what=f"Velero {VELERO_VERSION}",
        )
        _run_go(
            [
                *common,
                "-o",
                str(staging / "velero-restore-helper"),
                "github.com/vmware-tanzu/velero/cmd/velero-restore-helper",
            ],
            cwd=work,
            log=log,
            what=f"velero-restore-helper {VELERO_VERSION}",
        )
        _run_go(
            [*common, "-o", str(staging / "plugins" / PLUGIN_NAME), "."],
            cwd=work,
            log=log,
            what="the portkit file object-store plugin for Velero",
        )
        dest.mkdir(parents=True, exist_ok=True)
        for f in staging.iterdir():
            shutil.move(str(f), dest / f.name)
        progress(f"built Velero in {time.monotonic() - started:.0f} s")


def ensure_velero(progress: Progress | None = None) -> VeleroBinaries:
    """Return the Velero binaries, building (and caching) them when missing. Safe from several processes."""
    report = progress or _log_progress
    dest = _ensure(
        f"velero-{VELERO_VERSION}-{_module_digest('velero')}",
        ["velero", "velero-restore-helper", f"plugins/{PLUGIN_NAME}"],
        _build_velero,
        report,
    )
    return VeleroBinaries(
        velero=dest / "velero", plugin_dir=dest / "plugins", restore_helper=dest / "velero-restore-helper"
    )


def velero_crds(velero: Path) -> list[dict[str, Any]]:
    """Velero's CustomResourceDefinitions, as ``velero install --crds-only --dry-run -o yaml`` prints them."""
    proc = subprocess.run(
        [str(velero), "install", "--crds-only", "--dry-run", "-o", "yaml"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if proc.returncode != 0:
        raise LocalClusterError(
            f"`velero install --crds-only --dry-run` failed (exit {proc.returncode}): {proc.stderr.strip()[-800:]}"
        )
    crds: list[dict[str, Any]] = []
    for doc in yaml.load_all(proc.stdout, Loader=yaml.CSafeLoader):
        if not doc:
            continue
        items = doc.get("items") if str(doc.get("kind", "")).endswith("List") else [doc]
        for item in items or []:
            if item.get("kind") == "CustomResourceDefinition":
                item.get("metadata", {}).pop("creationTimestamp", None)
                item.pop("status", None)
                crds.append(item)
    if not crds:
        raise LocalClusterError("`velero install --crds-only --dry-run -o yaml` printed no CRDs.")
    return crds


def backup_storage_location(
    store: Path, *, name: str = BSL_NAME, namespace: str = VELERO_NAMESPACE, access_mode: str = "ReadWrite"
) -> dict[str, Any]:
    """A BackupStorageLocation for the file object store rooted at ``store`` (an absolute directory)."""
    return {
        "apiVersion": "velero.io/v1",
        "kind": "BackupStorageLocation",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "provider": PROVIDER,
            "objectStorage": {"bucket": BUCKET},
            "config": {"fspath": str(store)},
            "default": True,
            "accessMode": access_mode,
        },
    }


def placeholder_deployment(namespace: str = VELERO_NAMESPACE) -> dict[str, Any]:
    """A ``velero`` Deployment with 0 replicas (nothing runs it).

    The server runs out of cluster, but Velero's pod-volume-restore action reads the image of the
    ``velero`` Deployment in its namespace when it starts, and every restore that includes pods fails
    without one.
    """
    labels = {"component": "velero", "app.kubernetes.io/managed-by": "portkit-local"}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "velero", "namespace": namespace, "labels": labels},
        "spec": {
            "replicas": 0,
            "selector": {"matchLabels": {"component": "velero"}},
            "template": {
                "metadata": {"labels": labels},
                "spec": {"containers": [{"name": "velero", "image": f"velero/velero:{VELERO_VERSION}"}]},
            },
        },
    }


def node_agent(store: Path, *, namespace: str = VELERO_NAMESPACE) -> list[dict[str, Any]]:
    """Velero's node agent as a DaemonSet on the real nodes (``portkit.dev/real-node=true``), with its
    ServiceAccount (bound to cluster-admin, as ``velero install`` does).

    Like ``velero install --use-node-agent``: pods' volumes from ``/var/lib/kubelet/pods`` (HostToContainer
    propagation), privileged. In addition the object-store directory is mounted at its own path, because the
    file-system backups' Kopia repositories live there (BackupStorageLocation provider ``velero.io/fs``).
    The data-path pods the agent starts inherit these volumes.
    """
    from portkit.testing.images import VELERO
    from portkit.testing.localcluster import REAL_NODE_LABEL

    propagation = "HostToContainer"
    labels = {"name": "node-agent", "role": "node-agent", "component": "velero"}
    return [
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "velero", "namespace": namespace}},
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRoleBinding",
            "metadata": {"name": f"velero-{namespace}"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"},
            "subjects": [{"kind": "ServiceAccount", "name": "velero", "namespace": namespace}],
        },
        {
            "apiVersion": "apps/v1",
            "kind": "DaemonSet",
            "metadata": {"name": "node-agent", "namespace": namespace, "labels": {"component": "velero"}},
            "spec": {
                "selector": {"matchLabels": {"name": "node-agent"}},
                "template": {
                    "metadata": {"labels": labels},
                    "spec": {
                        "serviceAccountName": "velero",
                        "nodeSelector": {REAL_NODE_LABEL: "true"},
                        "securityContext": {"runAsUser": 0},
                        "terminationGracePeriodSeconds": 5,
                        "containers": [
                            {
                                "name": "node-agent",
                                "image": VELERO,
                                "imagePullPolicy": "IfNotPresent",
                                "command": ["/velero"],
                                "args": [
                                    "node-agent",
                                    "server",
                                    "--log-level=info",
                                    "--metrics-address=127.0.0.1:8085",
                                ],
                                "securityContext": {"privileged": True},
                                "env": [
                                    {"name": "NODE_NAME", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}},
                                    {
                                        "name": "VELERO_NAMESPACE",
                                        "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}},
                                    },
                                    {"name": "VELERO_SCRATCH_DIR", "value": "/scratch"},
                                    {"name": "HOME", "value": "/scratch"},
                                ],
                                "volumeMounts": [
                                    {"name": "host-pods", "mountPath": "/host_pods", "mountPropagation": propagation},
                                    {
                                        "name": "host-plugins",
                                        "mountPath": "/var/lib/kubelet/plugins",
                                        "mountPropagation": propagation,
                                    },
                                    {"name": "scratch", "mountPath": "/scratch"},
                                    {"name": "store", "mountPath": str(store)},
                                ],
                            }
                        ],
                        "volumes": [
                            {"name": "host-pods", "hostPath": {"path": "/var/lib/kubelet/pods"}},
                            {"name": "host-plugins", "hostPath": {"path": "/var/lib/kubelet/plugins"}},
                            {"name": "scratch", "emptyDir": {}},
                            {"name": "store", "hostPath": {"path": str(store), "type": "Directory"}},
                        ],
                    },
                },
            },
        },
    ]


def install(lc: LocalCluster, velero: VeleroBinaries, store: Path) -> None:
    """Install Velero's CRDs, namespace, a placeholder Deployment and the BackupStorageLocation into ``lc``;
    with real nodes also the node agent."""
    store.mkdir(parents=True, exist_ok=True)
    lc.apply(velero_crds(velero.velero), timeout=90.0)
    lc.apply([{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": VELERO_NAMESPACE}}])
    lc.apply([placeholder_deployment(), backup_storage_location(store.resolve())])
    if lc.real_nodes:
        lc.apply(node_agent(store.resolve()))


def wait_node_agents(lc: LocalCluster, timeout: float = 120.0) -> None:
    """Wait until a node-agent pod runs (Ready) on every real node."""
    cluster = lc.cluster()
    pods = cluster.resource_for("v1", "Pod")
    wanted = set(lc.real_node_names)

    def running() -> bool:
        ready = {
            (p.get("spec") or {}).get("nodeName")
            for p in cluster.list(pods, namespace=VELERO_NAMESPACE, label_selector="role=node-agent")
            if any(
                c.get("type") == "Ready" and c.get("status") == "True"
                for c in (p.get("status") or {}).get("conditions") or []
            )
        }
        return wanted <= ready

    lc._wait("velero", running, timeout)


def _start_store_server(lc: LocalCluster, port: int) -> str:
    """Serve the object store read-only on 127.0.0.1:port for Velero's signed URLs; returns the base URL."""
    import secrets
    import sys

    from portkit._private_files import write_private_bytes

    token = secrets.token_urlsafe(24)
    token_file = lc.data_dir / "velero" / "store-token"
    write_private_bytes(token_file, token.encode())
    store = lc.velero_store or (lc.data_dir / "velero-store")
    argv = [
        sys.executable,
        "-m",
        "portkit.testing._storeserver",
        f"--root={store.resolve()}",
        f"--port={port}",
        f"--token-file={token_file}",
    ]
    lc._procs["velero-store"] = lc._spawn("velero-store", argv)
    return f"http://127.0.0.1:{port}/{token}"


def start_server(
    lc: LocalCluster,
    velero: VeleroBinaries,
    *,
    metrics_port: int,
    profiler_port: int,
    store_port: int | None = None,
    timeout: float = 90.0,
) -> ManagedProcess:
    """Run ``velero server`` out of cluster against ``lc`` and wait until its storage location is Available.

    Listeners: metrics and profiler on the given 127.0.0.1 ports; controller-runtime's own metrics server is
    disabled at build time; plugins talk over unix sockets under a per-cluster ``TMPDIR`` (which also keeps
    Velero's credential files apart); with ``store_port`` a read-only server of the object store on that
    127.0.0.1 port answers Velero's signed URLs (``velero backup logs``, ``describe --details``).
    """
    import os

    tmp = lc.data_dir / "velero" / "tmp"
    tmp.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    env.update({"TMPDIR": str(tmp), "HOME": str(lc.data_dir / "velero")})
    if store_port:
        env["PORTKIT_VELERO_STORE_URL"] = _start_store_server(lc, store_port)
    env.pop("VELERO_NAMESPACE", None)
    argv = [
        str(velero.velero.resolve()),
        "server",
        f"--kubeconfig={lc.kubeconfig}",
        f"--namespace={VELERO_NAMESPACE}",
        f"--plugin-dir={velero.plugin_dir.resolve()}",
        f"--metrics-address=127.0.0.1:{metrics_port}",
        f"--profiler-address=127.0.0.1:{profiler_port}",
        "--backup-sync-period=2s",
        "--store-validation-frequency=5s",
        "--item-operation-sync-frequency=2s",
        "--log-level=info",
        "--log-format=text",
    ]
    proc = lc._spawn("velero", argv, env=env)
    lc._procs["velero"] = proc
    cluster = lc.cluster()

    def available() -> bool:
        resource = cluster.resource_for("velero.io/v1", "BackupStorageLocation")
        bsl = cluster.get(resource, BSL_NAME, VELERO_NAMESPACE)
        return (bsl.get("status") or {}).get("phase") == "Available"

    lc._wait("velero", available, timeout)
    if lc.real_nodes:
        wait_node_agents(lc)
    return proc


def main() -> int:
    """Build Velero and its plugin if missing and print the paths (``python -m portkit.testing.velero``)."""
    from portkit.testing.binaries import build_and_print

    return build_and_print(lambda: ensure_velero(stderr_progress))


if __name__ == "__main__":
    raise SystemExit(main())
