"""`portkit demo`, the README's main job, end to end: real pods on real nodes, the volumes moved by Velero's
file-system backup with the source quiesced, and the data verified file by file."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration


def test_demo_migrates_the_sample_shop(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "portkit.cli", "demo", "--workdir", str(tmp_path), "-o", "json"],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=600,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads(proc.stdout)
    assert report["ok"] is True
    assert report["source_provider"] == "aws" and report["target_provider"] == "ionos"
    assert report["objects_by_kind"]["Deployment"] == 2
    assert report["verify"]["ok"] is True
    data = report["verify_data"]
    assert data["ok"] is True and {c["source"] for c in data["claims"]} == {"shop/data-db-0", "shop/uploads"}
    assert data["files"] >= 100 and data["bytes"] > 20 * 2**20  # real bytes written by real pods, moved, compared
    assert all(c["source_tree"]["digest"] == c["target_tree"]["digest"] for c in data["claims"])
    assert report["downtime_seconds"] > 0 and report["quiesce"]["workloads"]
    assert (tmp_path / "migration" / "translated" / "manifest.yaml").exists()
    assert "Traceback" not in proc.stderr
    # the clusters were stopped: their state is gone with their processes
    for role in ("source", "target"):
        state = tmp_path / "clusters" / role / "state.json"
        pids = json.loads(state.read_text())["pids"].values() if state.exists() else []
        from portkit.testing._process import pid_alive

        assert not any(pid_alive(int(p)) for p in pids)
