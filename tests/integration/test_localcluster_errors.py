"""LocalCluster failures are PortkitErrors that name the component and quote its log; nothing is left behind."""

from __future__ import annotations

import os
import socket

import pytest

from portkit import LocalClusterError, PortkitError
from portkit.testing import LocalCluster

pytestmark = pytest.mark.integration


def _children() -> set[int]:
    me = os.getpid()
    found = set()
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as fh:
                    if int(fh.read().rsplit(")", 1)[1].split()[1]) == me:
                        found.add(int(entry))
            except (OSError, IndexError, ValueError):
                pass
    return found


def test_component_exiting_early_names_it_and_quotes_its_log() -> None:
    before = _children()
    lc = LocalCluster(name="badflag", provider=None, apiserver_args=["--no-such-flag=1"])
    with pytest.raises(LocalClusterError) as err:
        lc.start()
    message = str(err.value)
    assert "apiserver of local cluster 'badflag' exited early" in message
    assert "unknown flag: --no-such-flag" in message
    assert isinstance(err.value, PortkitError)
    assert _children() <= before, "etcd must be stopped when the apiserver fails"


def test_port_clash_is_reported() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(1)
        port = sock.getsockname()[1]
        lc = LocalCluster(name="clash", provider=None, ports={"apiserver": port})
        with pytest.raises(LocalClusterError) as err:
            lc.start()
    assert "apiserver of local cluster 'clash'" in str(err.value)
    assert "address already in use" in str(err.value)


def test_stop_leaves_no_process_behind() -> None:
    before = _children()
    with LocalCluster(name="tidy", provider=None, nodes=1) as lc:
        running = _children() - before
        assert len(running) >= 5, running  # etcd, apiserver, controller-manager, scheduler, kwok
        data_dir = lc.data_dir
        assert (data_dir / "logs" / "apiserver.log").exists()
    assert _children() <= before
    assert not data_dir.exists(), "a temporary data_dir is removed on stop"


def test_unknown_provider_is_a_clear_error() -> None:
    with pytest.raises(LocalClusterError, match="no-such-cloud"):
        LocalCluster(name="unknown", provider="no-such-cloud").start()
