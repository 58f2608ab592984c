"""`portkit local up|status|down`: two detached clusters that outlive the command, then nothing left behind."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from portkit import Cluster
from portkit.testing._process import pid_alive

pytestmark = pytest.mark.integration


def portkit(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "portkit.cli", *args],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=300,
        check=False,
    )


def test_local_up_status_down(tmp_path: Path) -> None:
    root = tmp_path / "local"
    up = portkit("local", "up", "--dir", str(root), "-o", "json")
    try:
        assert up.returncode == 0, up.stderr
        clusters = json.loads(up.stdout)["clusters"]
        assert set(clusters) == {"source", "target"}
        # the clusters outlive the command that started them
        for role, provider in (("source", "aws"), ("target", "ionos")):
            cluster = Cluster.from_kubeconfig(clusters[role]["kubeconfig"])
            assert cluster.server_version().startswith("v1.34.")
            nodes = list(cluster.list(cluster.resource_for("v1", "Node")))
            assert nodes and clusters[role]["provider"] == provider
        status = portkit("local", "status", "--dir", str(root), "-o", "json")
        assert status.returncode == 0
        assert all(c["running"] for c in json.loads(status.stdout)["clusters"].values())
        again = portkit("local", "up", "--dir", str(root))
        assert again.returncode == 2 and "portkit local down" in again.stderr
        pids = [
            int(p)
            for role in ("source", "target")
            for p in json.loads((root / role / "state.json").read_text())["pids"].values()
        ]
        assert len(pids) >= 10
    finally:
        down = portkit("local", "down", "--dir", str(root))
    assert down.returncode == 0, down.stderr
    assert not any(pid_alive(p) for p in pids)
    assert not (root / "source").exists() and not (root / "target").exists()
