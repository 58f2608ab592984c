"""The real-world corpus: every file of ``tests/corpus`` against every target, through translate and lint.

A run fails on a crash, an invalid object, or a provider-bound item (found by ``tests/corpus/scanner.py``,
which does not use portkit's profiles) that reaches the output with no Change, warning, manual action or
lint finding quoting it. Sources of the files: ``tests/corpus/SOURCES.md``.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

_RUNNER = Path(__file__).resolve().parents[1] / "corpus" / "runner.py"
_spec = importlib.util.spec_from_file_location("corpus_runner", _RUNNER)
assert _spec is not None and _spec.loader is not None
runner = importlib.util.module_from_spec(_spec)
sys.modules.setdefault("corpus_runner", runner)
_spec.loader.exec_module(runner)

FILES = runner.corpus_files()


def test_the_corpus_is_big_enough_and_cited() -> None:
    sources = (_RUNNER.parent / "SOURCES.md").read_text()
    assert len(FILES) >= 30
    for provider in ("eks", "gke", "aks", "openshift", "iks", "oke"):
        assert any(f.parent.name == provider for f in FILES), provider
    for f in FILES:
        assert f"`{f.relative_to(_RUNNER.parent)}`" in sources, f"{f.name} is not cited in SOURCES.md"


PAIRS = runner.pairs()


@pytest.mark.parametrize(("path", "target"), PAIRS, ids=[f"{p.relative_to(_RUNNER.parent)}-{t}" for p, t in PAIRS])
def test_corpus_file(path: Path, target: str) -> None:
    result = runner.run(path, target)
    assert result["crash"] is None, result["crash"]
    assert result["invalid"] == [], result["invalid"]
    assert result["unreported"] == [], result["unreported"]


GOLDEN = Path(__file__).parent / "golden" / "corpus"
GOLDEN_PAIRS = [
    ("eks/ingress-nginx-nlb-tls-termination.yaml", "ionos"),
    ("eks/workshop-automode-ebs-storageclass.yaml", "openstack"),
    ("gke/samples-weaviate-internal-lb.yaml", "hetzner"),
    ("aks/azuredisk-statefulset-nozone.yaml", "ionos"),
    ("aks/appgw-health-probe-wildcard-path.yaml", "ovh"),
    ("openshift/origin-oc-get-project-export.yaml", "ionos"),
    ("iks/kube-samples-nlb2-ipvs-local-endpoints.yaml", "openstack"),
    ("iks/vpc-block-csi-static-pv.yaml", "oci"),
    ("oke/native-ingress-ssl-termination.yaml", "scaleway"),
    ("oke/ccm-csi-storage-classes.yaml", "ibm"),
    ("eks/ingress-nginx-nlb-tls-termination.yaml", "oci"),
]


@pytest.mark.parametrize(("rel", "target"), GOLDEN_PAIRS, ids=[f"{r}-{t}" for r, t in GOLDEN_PAIRS])
def test_corpus_golden(rel: str, target: str) -> None:
    """Full reviewed output for a handful of corpus files (regenerate with PORTKIT_UPDATE_GOLDEN=1, review the diff)."""
    import os

    import yaml

    from portkit.bundle import Bundle
    from portkit.translate import translate

    path = _RUNNER.parent / rel
    t = translate(Bundle.from_manifests(path, namespace="corpus"), source=runner.source_of(path), target=target)
    report = {
        "file": rel,
        "source": t.source,
        "target": t.target,
        "objects": t.bundle.objects,
        "changes": [c.to_dict() | {"ref": None} for c in t.changes],
        "warnings": [str(w) for w in t.warnings],
        "manual_actions": [str(a) for a in t.manual_actions],
    }

    class NoAliases(yaml.SafeDumper):
        def ignore_aliases(self, data: object) -> bool:
            return True

    got = yaml.dump(report, Dumper=NoAliases, sort_keys=True, width=200, allow_unicode=True)
    expected = GOLDEN / f"{rel.replace('/', '__')}--{target}.yaml"
    if os.environ.get("PORTKIT_UPDATE_GOLDEN"):
        expected.parent.mkdir(parents=True, exist_ok=True)
        expected.write_text(got)
    assert expected.exists(), f"{expected} missing: run with PORTKIT_UPDATE_GOLDEN=1 and review it"
    assert got == expected.read_text(), f"{rel} → {target} differs from {expected.name}"
