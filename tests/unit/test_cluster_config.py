"""Cluster.from_kubeconfig: defaults like kubectl, clear errors, no global state, tokens not written back."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from portkit import Cluster, ConfigurationError


def write_kubeconfig(path: Path, contexts: dict[str, str], current: str) -> Path:
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {"name": n, "cluster": {"server": s, "insecure-skip-tls-verify": True}} for n, s in contexts.items()
        ],
        "users": [{"name": "u", "user": {"token": "tok-secret-123"}}],
        "contexts": [{"name": n, "context": {"cluster": n, "user": "u"}} for n in contexts],
        "current-context": current,
    }
    path.write_text(yaml.safe_dump(config))
    return path


def test_current_context_and_explicit_context(tmp_path: Path) -> None:
    kc = write_kubeconfig(tmp_path / "kc", {"a": "https://127.0.0.1:1", "b": "https://127.0.0.1:2"}, "a")
    assert Cluster.from_kubeconfig(kc).server == "https://127.0.0.1:1"
    b = Cluster.from_kubeconfig(kc, context="b")
    assert (b.server, b.name) == ("https://127.0.0.1:2", "b")
    assert "tok-secret-123" not in repr(b)


def test_kubeconfig_env_is_the_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    kc = write_kubeconfig(tmp_path / "kc", {"a": "https://127.0.0.1:3"}, "a")
    monkeypatch.setenv("KUBECONFIG", str(kc))
    assert Cluster.from_kubeconfig().server == "https://127.0.0.1:3"


def test_two_clusters_do_not_share_configuration(tmp_path: Path) -> None:
    from kubernetes import client

    kc = write_kubeconfig(tmp_path / "kc", {"a": "https://127.0.0.1:1", "b": "https://127.0.0.1:2"}, "a")
    before = client.Configuration.get_default_copy().host
    a, b = Cluster.from_kubeconfig(kc, context="a"), Cluster.from_kubeconfig(kc, context="b")
    assert (a.server, b.server) == ("https://127.0.0.1:1", "https://127.0.0.1:2")
    assert client.Configuration.get_default_copy().host == before


def test_kubeconfig_file_is_not_rewritten(tmp_path: Path) -> None:
    kc = write_kubeconfig(tmp_path / "kc", {"a": "https://127.0.0.1:1"}, "a")
    before = kc.read_bytes()
    Cluster.from_kubeconfig(kc)
    assert kc.read_bytes() == before


def test_missing_file_and_unknown_context_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="No kubeconfig at"):
        Cluster.from_kubeconfig(tmp_path / "nope")
    kc = write_kubeconfig(tmp_path / "kc", {"a": "https://127.0.0.1:1"}, "a")
    with pytest.raises(ConfigurationError, match="context 'zzz'") as err:
        Cluster.from_kubeconfig(kc, context="zzz")
    assert "kubectl config get-contexts" in str(err.value)


def test_unreachable_server_is_a_clear_error(tmp_path: Path) -> None:
    from portkit import ClusterUnreachableError
    from portkit._retry import RetryPolicy

    kc = write_kubeconfig(tmp_path / "kc", {"a": "https://127.0.0.1:9"}, "a")
    cluster = Cluster.from_kubeconfig(kc)
    cluster.retry = RetryPolicy(attempts=2, initial=0.01)
    with pytest.raises(ClusterUnreachableError, match=r"cannot reach the API server at https://127\.0\.0\.1:9"):
        cluster.server_version()
    assert cluster.stats.retries == 1
