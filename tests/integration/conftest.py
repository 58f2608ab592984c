"""Fixtures for integration tests: real local clusters (portkit.testing.LocalCluster).

``source_cluster`` looks like AWS EKS, ``target_cluster`` like IONOS. Both are started once per test
session, in parallel, on first use. When a test fails, the last lines of every component log of the
clusters it used are attached to the report.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from portkit.testing import LocalCluster, start_all

SHOP_EKS = Path(__file__).resolve().parents[2] / "examples" / "shop-eks"

_clusters: dict[str, LocalCluster] = {}
_lock = threading.Lock()


def _start_pair() -> None:
    with _lock:
        if not _clusters:
            source = LocalCluster(name="src", provider="aws")
            target = LocalCluster(name="dst", provider="ionos")
            start_all([source, target])
            _clusters.update(source=source, target=target)


@pytest.fixture(scope="session")
def source_cluster() -> Iterator[LocalCluster]:
    """A running LocalCluster that looks like AWS EKS."""
    _start_pair()
    yield _clusters["source"]


@pytest.fixture(scope="session")
def target_cluster() -> Iterator[LocalCluster]:
    """A running LocalCluster that looks like IONOS."""
    _start_pair()
    yield _clusters["target"]


@pytest.fixture(scope="module")
def shop(source_cluster: LocalCluster, target_cluster: LocalCluster) -> LocalCluster:
    """The source cluster with the sample shop (examples/shop-eks) applied, and the target with its platform
    (applied again in each module that uses it, so a module finds the shop as the example defines it)."""
    source_cluster.apply(SHOP_EKS / "source-platform")
    source_cluster.apply(SHOP_EKS / "app")
    target_cluster.apply(SHOP_EKS / "target-platform")
    return source_cluster


@pytest.fixture
def shop_mappings() -> dict[str, Any]:
    """Mappings that move the shop's ECR images to registries the target reaches."""
    return {
        "images": {
            "123456789012.dkr.ecr.eu-central-1.amazonaws.com/": "registry.example.eu/",
            "public.ecr.aws/docker/library/": "docker.io/library/",
        }
    }


@pytest.fixture(scope="session", autouse=True)
def _stop_clusters() -> Iterator[None]:
    yield
    for lc in _clusters.values():
        lc.stop()
    _clusters.clear()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    if report.failed:
        used = [v for k, v in getattr(item, "funcargs", {}).items() if isinstance(v, LocalCluster)]
        for lc in used:
            for component, text in lc.log_tails(25).items():
                report.sections.append((f"{lc.name} {component} log (last lines)", text))
