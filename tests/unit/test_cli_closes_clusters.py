"""Every CLI command that connects to clusters closes them, also when the command fails half-way."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import pytest
import yaml

from portkit.cli import main
from portkit.cluster import Cluster
from portkit.errors import PortkitError


def kubeconfig(path: Path, port: int) -> str:
    path.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config",
        "clusters": [{"name": "c",
                      "cluster": {"server": f"https://127.0.0.1:{port}", "insecure-skip-tls-verify": True}}],
        "users": [{"name": "u", "user": {"token": "t"}}],
        "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u"}}],
        "current-context": "c",
    }))  # fmt: skip
    return str(path)


@pytest.fixture
def closed(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The servers of the clusters closed while the test runs."""
    seen: list[str] = []
    original = Cluster.close

    def close(self: Cluster) -> None:
        seen.append(self.server)
        original(self)

    monkeypatch.setattr(Cluster, "close", close)
    return seen


def fail(*args: object, **kwargs: object) -> None:
    raise PortkitError("stopped by the test")


def test_migrate_closes_both_clusters(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, closed: list[str]) -> None:
    monkeypatch.setattr("portkit.migration.Migration.run", fail)
    src, dst = kubeconfig(tmp_path / "src", 1), kubeconfig(tmp_path / "dst", 2)
    code = main(["migrate", "--from-kubeconfig", src, "--to-kubeconfig", dst, "-n", "shop", "--from", "aws",
                 "--to", "ionos", "--workdir", str(tmp_path / "w")])  # fmt: skip
    assert code == 1
    assert sorted(closed) == ["https://127.0.0.1:1", "https://127.0.0.1:2"]


def test_verify_data_closes_both_clusters(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, closed: list[str]) -> None:
    monkeypatch.setattr("portkit.volumes.verify.verify_data", fail)
    src, dst = kubeconfig(tmp_path / "src", 1), kubeconfig(tmp_path / "dst", 2)
    assert main(["verify-data", "--from-kubeconfig", src, "--to-kubeconfig", dst, "-n", "shop"]) == 1
    assert sorted(closed) == ["https://127.0.0.1:1", "https://127.0.0.1:2"]


def test_export_plan_and_apply_close_their_cluster(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, closed: list[str]
) -> None:
    monkeypatch.setattr(sys.modules["portkit.export"], "export", fail)  # `portkit.export` is also the function
    monkeypatch.setattr(importlib.import_module("portkit.replay"), "plan", fail)
    kc = kubeconfig(tmp_path / "kc", 3)
    manifest = tmp_path / "cm.yaml"
    manifest.write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: shop}\n")
    assert main(["export", "--kubeconfig", kc, "-n", "shop", "-d", str(tmp_path / "out")]) == 1
    assert main(["plan", str(manifest), "--kubeconfig", kc]) == 1
    assert main(["apply", str(manifest), "--kubeconfig", kc, "--workdir", str(tmp_path / "a")]) == 1
    assert closed == ["https://127.0.0.1:3"] * 3
