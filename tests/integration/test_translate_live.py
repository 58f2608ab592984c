"""Translation against real API servers: the source looks like EKS, the target like IONOS.

The translated objects must be accepted by the target's API server (server-side dry run), reference only
storage classes the target serves, and the clusters built from the profiles must be recognized as the
providers they imitate.
"""

from __future__ import annotations

import contextlib
import copy
import importlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from portkit import profiles
from portkit.bundle import Bundle
from portkit.cluster import Cluster
from portkit.errors import PortkitError
from portkit.testing import LocalCluster

# the module, not the function `portkit.translate` that the package exports
T = importlib.import_module("portkit.translate")

pytestmark = pytest.mark.integration

APP = Path(__file__).parents[1] / "unit" / "golden" / "apps" / "aws-shop.yaml"
NS = "translate-shop"
ECR = "123456789012.dkr.ecr.eu-central-1.amazonaws.com/"


@pytest.fixture(scope="module", autouse=True)
def _remove_namespace(target_cluster: LocalCluster) -> Iterator[None]:
    yield
    dst = target_cluster.cluster()
    with contextlib.suppress(PortkitError):
        dst.delete(dst.resource_for("v1", "Namespace"), NS)


def _facts(cluster: Cluster) -> tuple[list[dict[str, str]], set[str], set[str]]:
    nodes = list(cluster.list(cluster.resource_for("v1", "Node")))
    classes = list(cluster.list(cluster.resource_for("storage.k8s.io/v1", "StorageClass")))
    groups = {r.group for r in cluster.resources() if r.group}
    return [n["metadata"].get("labels") or {} for n in nodes], {c["provisioner"] for c in classes}, groups


def test_local_clusters_are_recognized_as_the_providers_they_imitate(
    source_cluster: LocalCluster, target_cluster: LocalCluster
) -> None:
    assert profiles.detect_provider(*_facts(source_cluster.cluster())) == "aws"
    assert profiles.detect_provider(*_facts(target_cluster.cluster())) == "ionos"


def _shop_in(namespace: str) -> list[dict[str, Any]]:
    objs = []
    for obj in Bundle.from_manifests(APP).objects:
        obj = copy.deepcopy(obj)
        if obj["kind"] == "Namespace":
            obj["metadata"]["name"] = namespace
        elif obj["metadata"].get("namespace"):
            obj["metadata"]["namespace"] = namespace
        for subject in obj.get("subjects") or []:
            subject["name"] = subject["name"].replace(
                "system:serviceaccounts:shop", f"system:serviceaccounts:{namespace}"
            )
        objs.append(obj)
    return objs


def test_translated_shop_is_accepted_by_the_target_api_server(target_cluster: LocalCluster) -> None:
    t = T.translate(_shop_in(NS), source="aws", target="ionos", mappings={"images": {ECR: "shop.cr.de-fra.ionos.com/"}})
    dst = target_cluster.cluster()
    served = {(r.group, r.kind) for r in dst.resources()}
    for obj in t.bundle.objects:
        group = obj["apiVersion"].partition("/")[0] if "/" in obj["apiVersion"] else ""
        assert (group, obj["kind"]) in served, f"{obj['kind']} ({obj['apiVersion']}) is not served by the target"
    namespace = next(o for o in t.bundle.objects if o["kind"] == "Namespace")
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
    dst.apply(namespace)  # namespaced dry runs need the namespace to exist
    rejected = {}
    for obj in t.bundle.objects:
        if obj["kind"] == "Namespace":
            continue
        try:
            dst.apply(obj, dry_run=True)
        except Exception as exc:  # collect them all, fail once with every message
            rejected[f"{obj['kind']} {obj['metadata']['name']}"] = str(exc)
    assert rejected == {}


def test_translated_claims_use_classes_the_target_serves(target_cluster: LocalCluster) -> None:
    dst = target_cluster.cluster()
    live_classes = {c["metadata"]["name"] for c in dst.list(dst.resource_for("storage.k8s.io/v1", "StorageClass"))}
    assert "ionos-enterprise-hdd" in live_classes
    t = T.translate(_shop_in(NS), source="aws", target="ionos")
    bundle_classes = {o["metadata"]["name"] for o in t.bundle.objects if o["kind"] == "StorageClass"}
    claims = [o["spec"] for o in t.bundle.objects if o["kind"] == "PersistentVolumeClaim"]
    claims += [
        v["spec"] for o in t.bundle.objects if o["kind"] == "StatefulSet" for v in o["spec"]["volumeClaimTemplates"]
    ]
    assert claims
    for spec in claims:
        cls = spec.get("storageClassName")
        assert cls is None or cls in live_classes | bundle_classes, cls
