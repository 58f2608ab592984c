"""The in-place translation means what the bundle translation means: the objects in the rewritten files
(plus the added file, minus what was removed) are the objects of ``portkit.translate`` on
``Bundle.from_manifests`` of the same input — for every corpus file and golden app, to two targets. And
every value written is backed by a recorded change."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from portkit._yaml import load_yaml_documents
from portkit.bundle import Bundle
from portkit.gitops import translate_tree
from portkit.gitops._diff import diff, same
from portkit.gitops._files import is_manifest, object_key
from portkit.model import CLUSTER_SCOPED_KINDS
from portkit.translate import translate

TESTS = Path(__file__).resolve().parent.parent
PROVIDERS = {"eks": "aws", "gke": "gke", "aks": "aks", "openshift": "openshift", "iks": "ibm", "oke": "oci"}
CASES = [(PROVIDERS[p.parent.name], p) for p in sorted((TESTS / "corpus").glob("*/*.yaml"))] + [
    (provider, TESTS / "unit" / "golden" / "apps" / f"{provider}-shop.yaml")
    for provider in ("aws", "gke", "aks", "openshift")
]
NS = "corpus"


def _objects(text: str) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for doc in load_yaml_documents(text, where="result"):
        if isinstance(doc, dict) and str(doc.get("kind") or "").endswith("List") and isinstance(doc.get("items"), list):
            out += [i for i in doc["items"] if is_manifest(i)]
        elif is_manifest(doc):
            out.append(doc)
    return out


def _normal(obj: dict[str, Any]) -> dict[str, Any]:
    """As Bundle.from_manifests has it: the default namespace filled in, none on cluster-scoped kinds."""
    group = object_key(obj)[0]
    meta = dict(obj["metadata"])
    if (group, obj["kind"]) in CLUSTER_SCOPED_KINDS:
        meta.pop("namespace", None)
    elif not meta.get("namespace"):
        meta["namespace"] = NS
    return {**obj, "metadata": meta}


@pytest.mark.parametrize("target", ["ionos", "hetzner"])
@pytest.mark.parametrize(("source", "path"), CASES, ids=[f"{p.parent.name}/{p.name}" for _, p in CASES])
def test_in_place_equals_the_bundle_translation(tmp_path: Path, source: str, path: Path, target: str) -> None:
    shutil.copy(path, tmp_path / path.name)
    result = translate_tree(tmp_path, source, target, namespace=NS, in_place=True)
    got = _objects((tmp_path / path.name).read_text(encoding="utf-8"))
    if result.added_file:
        got += _objects((tmp_path / result.added_file).read_text(encoding="utf-8"))
    expected = translate(Bundle.from_manifests(path, namespace=NS), source=source, target=target).bundle.objects
    got_by_key = {object_key(_normal(o)): _normal(o) for o in got}
    expected_by_key = {object_key(o): o for o in expected}
    assert set(got_by_key) == set(expected_by_key)
    for key, obj in expected_by_key.items():
        assert same(got_by_key[key], obj), (key, diff(got_by_key[key], obj))
    unrecorded = [w.message for w in result.all_warnings if "without a recorded change" in w.message]
    assert unrecorded == []
    assert all(f.methods in ((), ("spliced",)) for f in result.files), [f.methods for f in result.files]


def test_objects_the_translation_adds_go_into_a_new_file(tmp_path: Path) -> None:
    """An OpenShift Route with an inline certificate becomes an Ingress and a TLS Secret: the Secret goes
    into portkit-added.yaml (mode 0600: it holds a key), the Route's document becomes the Ingress."""
    route = """\
# the storefront route
apiVersion: route.openshift.io/v1
kind: Route
metadata:
  name: shop
  namespace: shop
spec:
  host: shop.example.com
  to: {kind: Service, name: web}
  port: {targetPort: http}
  tls:
    termination: edge
    certificate: "-----BEGIN CERTIFICATE-----\\nMIIB\\n-----END CERTIFICATE-----"
    key: "-----BEGIN PRIVATE KEY-----\\nMIIE\\n-----END PRIVATE KEY-----"
"""
    (tmp_path / "route.yaml").write_text(route)
    result = translate_tree(tmp_path, "openshift", "ionos", in_place=True)
    assert result.added_file == "portkit-added.yaml"
    added = tmp_path / "portkit-added.yaml"
    assert added.stat().st_mode & 0o777 == 0o600
    text = added.read_text()
    assert text.startswith("# Objects portkit added while translating this repository from openshift to ionos.")
    assert "# added by openshift: the inline certificate of Route shop/shop" in text
    [secret] = _objects(text)
    assert secret["kind"] == "Secret" and secret["metadata"]["name"] == "shop-route-tls"
    [ingress] = _objects((tmp_path / "route.yaml").read_text())
    assert ingress["kind"] == "Ingress"
    assert (tmp_path / "route.yaml").read_text().startswith("# the storefront route\n")
    assert "MIIE" not in result.diff() and "MIIE" not in result.to_markdown()


def test_an_added_file_of_someone_else_is_not_overwritten(tmp_path: Path) -> None:
    from portkit.errors import ConfigurationError

    shutil.copy(TESTS / "unit" / "golden" / "apps" / "openshift-shop.yaml", tmp_path / "shop.yaml")
    (tmp_path / "portkit-added.yaml").write_text("# mine\n")
    with pytest.raises(ConfigurationError, match="exists and was not written by portkit"):
        translate_tree(tmp_path, "openshift", "ionos")
    result = translate_tree(tmp_path, "openshift", "ionos", added_file="extra/added.yaml", in_place=True)
    assert result.added_file == "extra/added.yaml" and (tmp_path / "extra/added.yaml").is_file()
    assert (tmp_path / "portkit-added.yaml").read_text() == "# mine\n"
