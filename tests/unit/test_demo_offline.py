"""`portkit demo --offline` (no Go, no cluster, seconds) and the checks `portkit demo` makes before it starts."""

from __future__ import annotations

import json
import os
import shutil
import socket
import stat
import time
from pathlib import Path
from typing import Any

import pytest

from portkit.cli import main
from portkit.cli.commands import demo
from portkit.demo_data import SHOP

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("portkit demo --offline opened a connection")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


@pytest.mark.usefixtures("no_network")
def test_offline_demo_translates_lints_and_plans_against_the_recording(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    started = time.monotonic()
    assert main(["demo", "--offline", "--workdir", str(tmp_path)]) == 0
    assert time.monotonic() - started < 20  # seconds, not minutes (about 1 s here)
    out = capsys.readouterr().out
    assert "the sample shop from aws to ionos, without a cluster" in out
    # the target is named a recording, with what it is and when it was made, and what that cannot tell
    assert "plan against the RECORDED target 'ionos-local' (Kubernetes v" in out
    assert "Nothing was contacted" in out and "not IONOS's own control plane" in out
    assert "What a plan against a recording cannot tell:" in out and "no server-side dry run" in out
    assert "Plan for 22 objects into ionos-local (recorded): 22 create." in out
    assert "MANUAL ACTIONS" in out  # the translation's (IRSA, the ACM certificate, ...)
    assert (tmp_path / "translated" / "manifest.yaml").exists()
    plan = json.loads((tmp_path / "plan.json").read_text())
    assert plan["ok"] is True and plan["dry_run_checked"] is False
    assert plan["target"] == {"name": "ionos-local (recorded)", "server": "recorded:ionos-local"}
    secrets = list((tmp_path / "translated").glob("shop/*/Secret/*"))
    assert secrets and all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in secrets)


@pytest.mark.usefixtures("no_network")
def test_offline_demo_json_names_the_recorded_target(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--offline", "--workdir", str(tmp_path), "-o", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["demo"] == "offline" and report["ok"] is True
    assert report["target"]["recorded"] is True and report["target"]["server_version"].startswith("v1.")
    assert report["source_provider"] == "aws" and report["target_provider"] == "ionos"
    assert report["plan"]["counts"]["create"] == 22 and report["not_checked"]
    images = [c["new"] for c in report["translation"]["changes"] if str(c["new"]).startswith("registry.example.eu/")]
    assert images  # the demo's registry mapping was used


def test_offline_demo_refuses_options_of_the_live_demo(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--offline", "--keep"]) == 2
    assert "--offline starts none" in capsys.readouterr().err


def test_sample_app_is_package_data_with_one_copy() -> None:
    assert demo.examples_dir() == SHOP and (SHOP / "app" / "20-workloads.yaml").is_file()
    link = ROOT / "examples" / "shop-eks"
    assert link.is_symlink() and link.resolve() == SHOP  # the checkout's examples/ points at the package data


def test_live_demo_says_what_is_missing_before_starting_anything(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PORTKIT_CACHE_DIR", str(tmp_path / "empty-cache"))  # nothing built yet
    which = shutil.which
    monkeypatch.setattr(shutil, "which", lambda name, *a, **k: None if name == "go" else which(name, *a, **k))

    def must_not_start(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("the demo started a cluster on a machine that cannot run it")

    monkeypatch.setattr(demo, "_run_live", must_not_start)
    started = time.monotonic()
    assert main(["demo", "--workdir", str(tmp_path / "w")]) == 1
    assert time.monotonic() - started < 10
    err = capsys.readouterr().err
    assert "no `go` on PATH" in err and "Go 1.26" in err
    assert "portkit demo --offline" in err  # the way forward without Go
    assert "Traceback" not in err


def test_live_demo_without_the_local_extra_names_it(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "cryptography", None)  # as if it were not installed
    monkeypatch.delitem(sys.modules, "portkit.testing._pki", raising=False)
    import portkit.testing

    monkeypatch.delattr(portkit.testing, "_pki", raising=False)  # else `from portkit.testing import _pki` finds it
    monkeypatch.setattr(demo, "_run_live", lambda *a, **k: pytest.fail("started without the [local] extra"))
    assert main(["demo"]) == 1
    err = capsys.readouterr().err
    assert "pip install 'portkit[local]'" in err and "portkit demo --offline" in err


def test_live_demo_on_a_ready_machine_announces_a_first_build(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from portkit.testing import prerequisites

    monkeypatch.setenv("PORTKIT_CACHE_DIR", str(tmp_path / "empty-cache"))
    monkeypatch.setattr(prerequisites, "missing", lambda **kwargs: [])  # Go, root, packages: all there
    monkeypatch.setattr(demo, "_run_live", lambda args, velero: 0)
    assert main(["demo", "--workdir", str(tmp_path / "w")]) == 0
    err = capsys.readouterr().err
    assert "first run: building Kubernetes v" in err and "Velero" in err and "about 20 minutes" in err


def test_prerequisites_know_the_build_names_the_builders_use(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """missing_builds() mirrors the cache names of ensure_binaries/ensure_velero/the pause image: kept in step."""
    from portkit.testing import binaries, images, prerequisites, velero

    monkeypatch.setenv("PORTKIT_CACHE_DIR", str(tmp_path))
    used: list[str] = []

    def fake_ensure(name: str, files: list[str], build: Any, progress: Any) -> Path:
        used.append(name)
        dest = tmp_path / "bin" / name
        dest.mkdir(parents=True, exist_ok=True)
        for f in files:
            (dest / f).parent.mkdir(parents=True, exist_ok=True)
            (dest / f).write_text("")
        (dest / ".complete").write_text("")
        return dest

    for module in (binaries, images, velero):
        monkeypatch.setattr(module, "_ensure", fake_ensure)
    assert len(prerequisites.missing_builds(velero=True, real_nodes=True)) == 4
    binaries.ensure_binaries(lambda msg: None)
    velero.ensure_velero(lambda msg: None)
    images._pause_files()
    assert len(used) == 4
    assert prerequisites.missing_builds(velero=True, real_nodes=True) == []


def test_local_cluster_imports_without_cryptography_and_says_what_to_install(tmp_path: Path) -> None:
    """`from portkit.testing import LocalCluster` works without the [local] extra; starting one names it."""
    import subprocess
    import sys

    script = f"""
import sys
sys.modules["cryptography"] = None  # not installed
from portkit.testing import LocalCluster
from portkit.testing import localcluster
localcluster.ensure_binaries = lambda *a, **k: sys.exit("built binaries before checking the extra")
from portkit.errors import LocalClusterError
try:
    LocalCluster(name="x", data_dir={str(tmp_path)!r}).start()
except LocalClusterError as exc:
    print(exc)
"""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=60, check=False
    )
    assert proc.returncode == 0, proc.stderr
    assert "cryptography" in proc.stdout and "pip install 'portkit[local]'" in proc.stdout
