"""IBM Cloud Kubernetes Service and Oracle OKE look-alike clusters: recognized as the providers they imitate,
and a shop translated to each is accepted by its API server (server-side dry run) with claims on classes it
serves and claims bound by its (simulated) provisioner."""

from __future__ import annotations

import importlib
import time
from pathlib import Path
from typing import Any

import pytest

from portkit import profiles
from portkit.bundle import Bundle
from portkit.cluster import Cluster
from portkit.testing import LocalCluster

# the module, not the function `portkit.translate` that the package exports
T = importlib.import_module("portkit.translate")

pytestmark = pytest.mark.integration

APPS = Path(__file__).parents[1] / "unit" / "golden" / "apps"
OCIR = "fra.ocir.io/frabc1defg2h/"
CASES = {
    # provider of the live cluster: (app, its source provider, mappings)
    "ibm": ("oci-shop", "oci", {"images": {f"{OCIR}shop/": "de.icr.io/acme-shop/"}}),
    "oci": (
        "ibm-shop",
        "ibm",
        {"images": {"de.icr.io/acme-shop/": f"{OCIR}shop/", "icr.io/ext/": f"{OCIR}mirror/"}},
    ),
}


def _facts(cluster: Cluster) -> tuple[list[dict[str, str]], set[str], set[str]]:
    nodes = list(cluster.list(cluster.resource_for("v1", "Node")))
    classes = list(cluster.list(cluster.resource_for("storage.k8s.io/v1", "StorageClass")))
    groups = {r.group for r in cluster.resources() if r.group}
    return [n["metadata"].get("labels") or {} for n in nodes], {c["provisioner"] for c in classes}, groups


def _claims(objects: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = [o["spec"] for o in objects if o["kind"] == "PersistentVolumeClaim"]
    return out + [v["spec"] for o in objects if o["kind"] == "StatefulSet" for v in o["spec"]["volumeClaimTemplates"]]


@pytest.mark.parametrize("provider", sorted(CASES))
def test_translated_shop_on_a_provider_lookalike(provider: str) -> None:
    app, source, mappings = CASES[provider]
    with LocalCluster(name=f"live-{provider}", provider=provider) as lc:
        dst = lc.cluster()
        assert profiles.detect_provider(*_facts(dst)) == provider
        t = T.translate(Bundle.from_manifests(APPS / f"{app}.yaml"), source=source, target=provider, mappings=mappings)
        served = {(r.group, r.kind) for r in dst.resources()}
        for obj in t.bundle.objects:
            group = obj["apiVersion"].partition("/")[0] if "/" in obj["apiVersion"] else ""
            assert (group, obj["kind"]) in served, f"{obj['kind']} ({obj['apiVersion']}) is not served by {provider}"
        dst.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}})
        rejected = {}
        for obj in t.bundle.objects:
            try:
                dst.apply(obj, dry_run=True)
            except Exception as exc:  # collect them all, fail once with every message
                rejected[f"{obj['kind']} {obj['metadata']['name']}"] = str(exc)
        assert rejected == {}
        live = {c["metadata"]["name"]: c for c in dst.list(dst.resource_for("storage.k8s.io/v1", "StorageClass"))}
        in_bundle = {o["metadata"]["name"] for o in t.bundle.objects if o["kind"] == "StorageClass"}
        claims = _claims(t.bundle.objects)
        assert claims
        for spec in claims:
            cls = spec.get("storageClassName")
            assert cls is None or cls in set(live) | in_bundle, cls
        # a claim on the provider's default class is bound by the cluster's provisioner at the translated size
        default = next(n for n, c in live.items() if c["metadata"].get("annotations"))
        claim = next(
            o for o in t.bundle.objects if o["kind"] == "PersistentVolumeClaim" and o["spec"].get("storageClassName")
        )
        probe = {
            "apiVersion": "v1",
            "kind": "PersistentVolumeClaim",
            "metadata": {"name": "probe", "namespace": "shop"},
            "spec": {**claim["spec"], "storageClassName": default},
        }
        probe["spec"].pop("volumeName", None)
        dst.apply(probe)
        if live[default]["volumeBindingMode"] == "WaitForFirstConsumer":
            dst.apply(
                {
                    "apiVersion": "v1",
                    "kind": "Pod",
                    "metadata": {"name": "probe", "namespace": "shop"},
                    "spec": {
                        "containers": [{"name": "c", "image": "busybox"}],
                        "volumes": [{"name": "d", "persistentVolumeClaim": {"claimName": "probe"}}],
                    },
                }
            )
        pvc_res = dst.resource_for("v1", "PersistentVolumeClaim")
        deadline = time.monotonic() + 60
        phase = None
        while time.monotonic() < deadline:
            phase = (dst.get(pvc_res, "probe", namespace="shop").get("status") or {}).get("phase")
            if phase == "Bound":
                break
            time.sleep(0.5)
        assert phase == "Bound", f"the {default} claim was not bound on the {provider} look-alike"
