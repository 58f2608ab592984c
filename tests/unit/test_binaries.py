"""Building binaries: missing Go and failed builds are clear errors; the cache is keyed by version."""

from __future__ import annotations

from pathlib import Path

import pytest

from portkit import LocalClusterError
from portkit.testing import binaries


def test_missing_go_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PORTKIT_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("PATH", str(tmp_path))  # no go here
    with pytest.raises(LocalClusterError, match="Go is not installed") as err:
        binaries.ensure_binaries(progress=lambda _msg: None)
    assert "Install Go" in str(err.value)


def test_failed_build_quotes_the_log(tmp_path: Path) -> None:
    module = tmp_path / "mod"
    module.mkdir()
    (module / "go.mod").write_text("module example.local/broken\n\ngo 1.22\n")
    (module / "main.go").write_text("package main\n\nfunc main() { undefinedThing() }\n")
    log = tmp_path / "build.log"
    with pytest.raises(LocalClusterError) as err:
        binaries._run_go(["build", "./..."], cwd=module, log=log, what="the broken example")
    assert "Building the broken example failed" in str(err.value)
    assert "undefined: undefinedThing" in str(err.value)


def test_cache_dir_override(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PORTKIT_CACHE_DIR", str(tmp_path))
    assert binaries.cache_dir() == tmp_path
    monkeypatch.delenv("PORTKIT_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert binaries.cache_dir() == tmp_path / "xdg" / "portkit"


def test_wrapper_module_pins_versions() -> None:
    gomod = (Path(binaries.__file__).parent / "gomod" / "kube" / "go.mod").read_text()
    assert f"k8s.io/kubernetes {binaries.KUBERNETES_VERSION}" in gomod
    assert "k8s.io/client-go => k8s.io/client-go v0.34.4" in gomod
    assert f"go.etcd.io/etcd/server/v3 {binaries.ETCD_VERSION}" in gomod
