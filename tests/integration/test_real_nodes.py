"""Real nodes in LocalCluster: a real kubelet and containerd run real containers (Debian's busybox), mount real
volumes, answer ``kubectl logs`` and ``exec``; two clusters run side by side and ``stop()`` leaves nothing behind.

Needs root and the packages ``scripts/setup.sh`` installs (containerd, runc, CNI plugins, busybox-static).
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from portkit.errors import LocalClusterError
from portkit.testing import LocalCluster, start_all, wait_for
from portkit.testing.images import BUSYBOX, ImageFile, oci_archive
from portkit.testing.localcluster import REAL_NODE_LABEL
from portkit.testing.node import RUN_DIR, leftover_cgroups
from portkit.volumes.verify import DEFAULT_IMAGE

pytestmark = pytest.mark.integration


def pod(
    name: str,
    namespace: str,
    script: str,
    *,
    claim: str | None = None,
    image: str = BUSYBOX,
    ready_file: str = "/tmp/ready",
    node_selector: dict[str, str] | None = None,
) -> dict[str, Any]:
    container: dict[str, Any] = {
        "name": "main",
        "image": image,
        "imagePullPolicy": "IfNotPresent",
        "command": ["sh", "-c", script],
        "readinessProbe": {"exec": {"command": ["sh", "-c", f"test -f {ready_file}"]}, "periodSeconds": 1},
    }
    spec: dict[str, Any] = {"terminationGracePeriodSeconds": 0, "containers": [container]}
    if node_selector:
        spec["nodeSelector"] = node_selector
    if claim:
        container["volumeMounts"] = [{"name": "data", "mountPath": "/data"}]
        spec["volumes"] = [{"name": "data", "persistentVolumeClaim": {"claimName": claim}}]
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": namespace}, "spec": spec}


def claim(name: str, namespace: str, storage_class: str | None = None) -> dict[str, Any]:
    spec: dict[str, Any] = {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}
    if storage_class:
        spec["storageClassName"] = storage_class
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": name, "namespace": namespace},
        "spec": spec,
    }


def ready(lc: LocalCluster, namespace: str, name: str, timeout: float = 120) -> dict[str, Any]:
    cluster = lc.cluster()
    pods = cluster.resource_for("v1", "Pod")

    def check() -> dict[str, Any] | None:
        obj = cluster.get(pods, name, namespace)
        statuses = (obj.get("status") or {}).get("containerStatuses") or []
        return obj if statuses and all(s.get("ready") for s in statuses) else None

    try:
        return wait_for(check, timeout, f"pod {namespace}/{name} to be ready")  # type: ignore[no-any-return]
    except AssertionError:
        raise AssertionError(lc.kubectl("describe", "pod", "-n", namespace, name, check=False)) from None


@pytest.fixture(scope="module")
def lc() -> Iterator[LocalCluster]:
    with LocalCluster("rn", provider="aws", nodes=1, real_nodes=1) as cluster:
        cluster.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "work"}})
        yield cluster


def test_real_node_has_the_provider_look_and_a_real_kubelet(lc: LocalCluster) -> None:
    nodes = {n["metadata"]["name"]: n for n in json.loads(lc.kubectl("get", "nodes", "-o", "json"))["items"]}
    real = nodes["rn-real-0"]
    kwok = next(n for name, n in nodes.items() if name != "rn-real-0")
    info = real["status"]["nodeInfo"]
    assert info["kubeletVersion"] == "v1.34.4" and info["containerRuntimeVersion"].startswith("containerd://")
    assert kwok["status"]["nodeInfo"]["kubeletVersion"] == "fake"  # kwok keeps its own, leaves the real one alone
    labels = real["metadata"]["labels"]
    assert labels[REAL_NODE_LABEL] == "true" and labels["kubernetes.io/hostname"] == "rn-real-0"
    for key in (
        "topology.kubernetes.io/zone",
        "topology.kubernetes.io/region",
        "node.kubernetes.io/instance-type",
        "eks.amazonaws.com/nodegroup",
    ):
        assert labels[key] == kwok["metadata"]["labels"][key], key
    assert "kwok.x-k8s.io/node" not in (real["metadata"].get("annotations") or {})
    addresses = {a["type"]: a["address"] for a in real["status"]["addresses"]}
    assert addresses["InternalIP"].startswith("10.240.")
    images = lc.real_nodes[0].images()
    assert BUSYBOX in images and DEFAULT_IMAGE in images


def test_a_pod_really_runs_with_logs_exec_and_probes(lc: LocalCluster) -> None:
    script = "echo started; echo -n portkit | sha256sum; touch /tmp/ready; exec sleep 3600"
    lc.apply(pod("hello", "work", script, node_selector={REAL_NODE_LABEL: "true"}))
    obj = ready(lc, "work", "hello")
    assert obj["spec"]["nodeName"] == "rn-real-0"
    assert obj["status"]["podIP"].startswith("10.241.")
    logs = lc.kubectl("logs", "-n", "work", "hello")
    assert "started" in logs
    assert hashlib.sha256(b"portkit").hexdigest() in logs  # computed by the real busybox in the container
    assert lc.kubectl("exec", "-n", "work", "hello", "--", "cat", "/proc/1/comm").strip() == "sleep"
    assert lc.kubectl("exec", "-n", "work", "hello", "--", "id", "-u").strip() == "0"


def test_volume_data_is_on_disk_and_survives_a_pod_restart(lc: LocalCluster) -> None:
    lc.apply(
        [
            claim("data", "work"),
            pod(
                "writer",
                "work",
                "head -c 4096 /dev/urandom > /data/blob && sha256sum /data/blob > /data/sum "
                "&& touch /tmp/ready && exec sleep 3600",
                claim="data",
                node_selector={REAL_NODE_LABEL: "true"},
            ),
        ]
    )
    ready(lc, "work", "writer")
    cluster = lc.cluster()
    pvc = cluster.get(cluster.resource_for("v1", "PersistentVolumeClaim"), "data", "work")
    pv = cluster.get(cluster.resource_for("v1", "PersistentVolume"), pvc["spec"]["volumeName"])
    path = Path(pv["spec"]["local"]["path"])  # a `local` volume on the real node, not a hostPath
    terms = pv["spec"]["nodeAffinity"]["required"]["nodeSelectorTerms"]
    assert terms[0]["matchExpressions"][0]["values"] == ["rn-real-0"]
    written = (path / "blob").read_bytes()  # the bytes the container wrote are on the host's disk
    assert len(written) == 4096
    assert hashlib.sha256(written).hexdigest() in (path / "sum").read_text()
    lc.kubectl("delete", "pod", "-n", "work", "writer", "--wait=true")
    lc.apply(
        pod("reader", "work", "sha256sum -c /data/sum > /tmp/check && touch /tmp/ready; exec sleep 3600", claim="data")
    )
    ready(lc, "work", "reader")
    assert "OK" in lc.kubectl("exec", "-n", "work", "reader", "--", "cat", "/tmp/check")


def test_load_image_runs_a_user_image(lc: LocalCluster, tmp_path: Path) -> None:
    archive = oci_archive(
        "localhost/test/greeter:1",
        [
            ImageFile("bin/busybox", source=Path("/bin/busybox"), mode=0o755),
            ImageFile("bin/sh", link="busybox"),
            ImageFile(
                "greet.sh", data=b"echo hello from a user image; touch /tmp/ready; exec sleep 3600\n", mode=0o755
            ),
            ImageFile("tmp", directory=True, mode=0o1777),
        ],
        tmp_path / "greeter.tar",
        entrypoint=["/bin/sh", "/greet.sh"],
    )
    ref = lc.load_image(archive)
    assert ref == "localhost/test/greeter:1"
    manifest = pod("greeter", "work", "", image=ref, node_selector={REAL_NODE_LABEL: "true"})
    del manifest["spec"]["containers"][0]["command"]
    lc.apply(manifest)
    ready(lc, "work", "greeter")
    assert "hello from a user image" in lc.kubectl("logs", "-n", "work", "greeter")
    with pytest.raises(LocalClusterError, match="No image archive"):
        lc.load_image(tmp_path / "missing.tar")


def _leftovers(node_root: str, slot: int) -> dict[str, list[str]]:
    """What of a stopped real node is still on the host, checked independently of RealNode.leftovers."""
    procs = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmd = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            if node_root in cmd or f"/run/portkit-nodes/n{slot}/" in cmd:
                procs.append(cmd[:120])
    mounts = [line for line in Path("/proc/self/mountinfo").read_text().splitlines() if node_root in line]
    links = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True, check=True).stdout
    rules = subprocess.run(["iptables-save"], capture_output=True, text=True, check=True).stdout
    return {
        "processes": procs,
        "mounts": mounts,
        "interfaces": [line for line in links.splitlines() if f"pk{slot}h" in line],
        "iptables": [line for line in rules.splitlines() if "CNI" in line or "KUBE-" in line],
        "cgroups": leftover_cgroups(slot),
        "run_dir": [str(p) for p in (RUN_DIR / f"n{slot}").glob("*")] if (RUN_DIR / f"n{slot}").exists() else [],
    }


def test_two_clusters_with_real_nodes_side_by_side_and_stop_leaves_nothing(tmp_path: Path) -> None:
    a = LocalCluster("side-a", nodes=0, real_nodes=1)
    b = LocalCluster("side-b", nodes=0, real_nodes=1)
    start_all([a, b])
    try:
        for cluster in (a, b):
            cluster.apply(
                [
                    {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "w"}},
                    claim("d", "w"),
                    pod("p", "w", "echo $HOSTNAME > /data/who; touch /tmp/ready; exec sleep 3600", claim="d"),
                ]
            )
        for cluster in (a, b):
            ready(cluster, "w", "p")
        slots = [a.real_nodes[0].slot, b.real_nodes[0].slot]
        roots = [str(a.real_nodes[0].root), str(b.real_nodes[0].root)]
        assert slots[0] != slots[1]
        # each node is its own: separate kubelet roots, containerd sockets, cgroup parents, pod ranges
        assert a.real_nodes[0].containerd_socket != b.real_nodes[0].containerd_socket
        assert a.real_nodes[0].pod_cidr != b.real_nodes[0].pod_cidr
        for slot, root in zip(slots, roots, strict=True):
            found = _leftovers(root, slot)  # while running, the checks do see the node: they can fail
            assert found["processes"] and found["interfaces"] and found["cgroups"] and found["run_dir"]
        sock = a.real_nodes[0].containerd_socket
        assert oct(sock.parent.stat().st_mode & 0o777) == "0o700"
    finally:
        a.stop()
        b.stop()
    for slot, root in zip(slots, roots, strict=True):
        assert _leftovers(root, slot) == {
            k: [] for k in ("processes", "mounts", "interfaces", "iptables", "cgroups", "run_dir")
        }
    assert not any(Path("/run/netns").glob("cni-*")), "pod network namespaces leaked onto the host"


def test_real_nodes_die_with_the_python_process(tmp_path: Path) -> None:
    """SIGKILL of the process that started the cluster takes the node's containers down; the next start cleans
    the cgroups the dead node left."""
    script = textwrap.dedent(f"""
        import json, sys, time
        from portkit.testing import LocalCluster
        lc = LocalCluster("orphan", nodes=0, real_nodes=1, data_dir={str(tmp_path / "orphan")!r}, keep=True)
        lc.start()
        print(json.dumps({{"slot": lc.real_nodes[0].slot, "root": str(lc.real_nodes[0].root)}}), flush=True)
        time.sleep(600)
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline() if proc.stdout else ""
        info = json.loads(line)
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        if proc.stdout:
            proc.stdout.close()
    slot, root = int(info["slot"]), str(info["root"])
    wait_for(lambda: not _leftovers(root, slot)["processes"], 30, "the orphaned node's processes to die")
    from portkit.testing.node import sweep_stale_nodes

    assert slot in sweep_stale_nodes()
    assert _leftovers(root, slot)["cgroups"] == [] and not (RUN_DIR / f"slot-{slot}.json").exists()
