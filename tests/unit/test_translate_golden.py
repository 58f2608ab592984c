"""Golden tests: realistic applications translated between providers.

Each pair's full output (objects, changes, warnings, manual actions) is compared with a reviewed file in
``tests/unit/golden/expected/``. After a deliberate change, regenerate with ``PORTKIT_UPDATE_GOLDEN=1`` and
review the diff. Independently of the files, no residue of the source provider may remain, the
translation must be idempotent and the input must stay untouched.
"""

from __future__ import annotations

import copy
import importlib
import os
from pathlib import Path
from typing import Any

import pytest
import yaml

from portkit import profiles
from portkit.bundle import Bundle

# the module, not the function `portkit.translate` that the package exports
T = importlib.import_module("portkit.translate")

GOLDEN = Path(__file__).parent / "golden"
ECR = "123456789012.dkr.ecr.eu-central-1.amazonaws.com/"
OCIR = "fra.ocir.io/frabc1defg2h/"

PAIRS: dict[str, tuple[str, str, str, dict[str, Any]]] = {
    "aws-ionos": (
        "aws-shop",
        "aws",
        "ionos",
        {"images": {ECR: "shop.cr.de-fra.ionos.com/"}, "zones": {"eu-central-1a": "ZONE_1", "eu-central-1b": "ZONE_2"}},
    ),
    "aws-hetzner": ("aws-shop", "aws", "hetzner", {"images": {ECR: "registry.shop.example.eu/"}}),
    "aws-scaleway": (
        "aws-shop",
        "aws",
        "scaleway",
        {
            "images": {ECR: "rg.fr-par.scw.cloud/shop/"},
            "zones": {"eu-central-1a": "fr-par-1", "eu-central-1b": "fr-par-2"},
            "image_pull_secrets": ["scw-registry"],
        },
    ),
    "aws-rook-ceph+metallb": ("aws-shop", "aws", "rook-ceph+metallb", {"images": {ECR: "harbor.dc1.example.eu/shop/"}}),
    "gke-ovh": (
        "gke-shop",
        "gke",
        "ovh",
        {
            "images": {
                "europe-west3-docker.pkg.dev/acme-prod/shop/": "abc123.c1.gra9.container-registry.ovh.net/shop/",
                "gcr.io/cloud-sql-connectors/": "abc123.c1.gra9.container-registry.ovh.net/mirror/",
            }
        },
    ),
    "aks-openstack": (
        "aks-shop",
        "aks",
        "openstack",
        {
            "images": {"acmeshop.azurecr.io/": "registry.prod.plusserver.example/"},
            "storage_classes": {"azurefile-csi": "nfs-client"},
        },
    ),
    "ibm-ionos": (
        "ibm-shop",
        "ibm",
        "ionos",
        {
            "images": {
                "de.icr.io/acme-shop/": "shop.cr.de-fra.ionos.com/",
                "icr.io/ext/": "shop.cr.de-fra.ionos.com/mirror/",
            },
            "zones": {"eu-de-1": "ZONE_1", "eu-de-2": "ZONE_2"},
        },
    ),
    "ibm-oci": (
        "ibm-shop",
        "ibm",
        "oci",
        {
            "images": {"de.icr.io/acme-shop/": f"{OCIR}shop/", "icr.io/ext/": f"{OCIR}mirror/"},
            "zones": {"eu-de-1": "EU-FRANKFURT-1-AD-1", "eu-de-2": "EU-FRANKFURT-1-AD-2"},
        },
    ),
    "oci-scaleway": (
        "oci-shop",
        "oci",
        "scaleway",
        {
            "images": {f"{OCIR}shop/": "rg.fr-par.scw.cloud/shop/"},
            "zones": {"eu-frankfurt-1": "fr-par", "EU-FRANKFURT-1-AD-1": "fr-par-1", "EU-FRANKFURT-1-AD-2": "fr-par-2"},
            "image_pull_secrets": ["scw-registry"],
        },
    ),
    "oci-ibm": (
        "oci-shop",
        "oci",
        "ibm",
        {
            "images": {f"{OCIR}shop/": "de.icr.io/acme-shop/"},
            "zones": {"EU-FRANKFURT-1-AD-1": "eu-de-1", "EU-FRANKFURT-1-AD-2": "eu-de-2"},
            "image_pull_secrets": ["all-icr-io"],
        },
    ),
    "aws-oci": (
        "aws-shop",
        "aws",
        "oci",
        {
            "images": {ECR: f"{OCIR}shop/"},
            "zones": {"eu-central-1a": "EU-FRANKFURT-1-AD-1", "eu-central-1b": "EU-FRANKFURT-1-AD-2"},
        },
    ),
    "openshift-ionos": (
        "openshift-shop",
        "openshift",
        "ionos",
        {"images": {"image-registry.openshift-image-registry.svc:5000/shop/": "shop.cr.de-fra.ionos.com/shop/"}},
    ),
}


class _NoAliases(yaml.SafeDumper):
    def ignore_aliases(self, data: Any) -> bool:
        return True


def _report(t: T.Translation) -> dict[str, Any]:
    return {
        "source": t.source,
        "target": t.target,
        "objects": t.bundle.objects,
        "changes": [
            {
                "object": str(c.ref),
                "path": c.path,
                "op": c.op,
                "old": c.old,
                "new": c.new,
                "translator": c.translator,
                "reason": c.reason,
            }
            for c in t.changes
        ],
        "warnings": [str(w) for w in t.warnings],
        "manual_actions": [str(a) for a in t.manual_actions],
    }


def _run(pair: str) -> tuple[Bundle, T.Translation, dict[str, Any]]:
    app, source, target, mappings = PAIRS[pair]
    bundle = Bundle.from_manifests(GOLDEN / "apps" / f"{app}.yaml")
    return bundle, T.translate(bundle, source=source, target=target, mappings=mappings), mappings


@pytest.mark.parametrize("pair", sorted(PAIRS))
def test_golden(pair: str) -> None:
    _, t, _ = _run(pair)
    got = yaml.dump(_report(t), Dumper=_NoAliases, sort_keys=True, width=200, allow_unicode=True)
    path = GOLDEN / "expected" / f"{pair}.yaml"
    if os.environ.get("PORTKIT_UPDATE_GOLDEN"):
        path.write_text(got)
    assert path.exists(), f"{path} missing: run with PORTKIT_UPDATE_GOLDEN=1 and review it"
    assert got == path.read_text(), f"{pair} differs from {path.name}"


@pytest.mark.parametrize("pair", sorted(PAIRS))
def test_no_source_residue_remains(pair: str) -> None:
    bundle, t, mappings = _run(pair)
    _, source, target, _ = PAIRS[pair]
    before = profiles.load(source)
    assert T.find_residue(bundle.objects, before), "the fixture must hold residue to begin with"
    allowed = [*mappings.get("images", {}).values(), *mappings.get("storage_classes", {}).values()]
    residue = T.find_residue(t.bundle.objects, before, exclude=profiles.load(target), allowed_values=allowed)
    assert residue == []


@pytest.mark.parametrize("pair", sorted(PAIRS))
def test_idempotent_and_input_untouched(pair: str) -> None:
    app, source, target, mappings = PAIRS[pair]
    bundle = Bundle.from_manifests(GOLDEN / "apps" / f"{app}.yaml")
    snapshot = copy.deepcopy(bundle.objects)
    t = T.translate(bundle, source=source, target=target, mappings=mappings)
    assert bundle.objects == snapshot
    again = T.translate(t.bundle, source=source, target=target, mappings=mappings)
    assert again.changes == ()
    assert again.bundle.objects == t.bundle.objects


def test_every_pair_needs_attention_and_reports_manual_actions() -> None:
    for pair in PAIRS:
        _, t, _ = _run(pair)
        assert t.needs_attention, pair
        assert t.manual_actions, pair
