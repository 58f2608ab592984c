"""``portkit translate``, ``portkit lint`` and ``portkit providers``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from portkit.bundle import Bundle
from portkit.cli import main

APPS = Path(__file__).parent / "golden" / "apps"
CLEAN = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: hello, namespace: demo}
spec:
  selector: {matchLabels: {app: hello}}
  template:
    metadata: {labels: {app: hello}}
    spec:
      containers: [{name: hello, image: nginx:1.27}]
"""


def test_translate_writes_a_bundle_and_exits_3_when_attention_is_needed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    rc = main(
        [
            "translate",
            str(APPS / "aws-shop.yaml"),
            "--from",
            "aws",
            "--to",
            "ionos",
            "--map",
            "storageclass:gp3=ionos-enterprise-hdd",
            "--map",
            "ingressclass:traefik",
            "-o",
            str(out),
            "--report",
            str(tmp_path / "r.json"),
        ]
    )
    assert rc == 3
    text = capsys.readouterr().out
    assert "MANUAL ACTIONS" in text and f"to {out}" in text
    saved = Bundle.load(out)
    db = saved.get("StatefulSet", "db", "shop")
    assert (
        db is not None and db["spec"]["volumeClaimTemplates"][0]["spec"]["storageClassName"] == "ionos-enterprise-hdd"
    )
    ing = saved.get("Ingress", "web", "shop", group="networking.k8s.io")
    assert ing is not None and ing["spec"]["ingressClassName"] == "traefik"
    assert saved.meta["translated"]["source"] == "aws"
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["summary"]["manual_actions"] >= 1
    assert "s3cr3t-value-never-logged" not in (tmp_path / "r.json").read_text() + text


def test_translate_json_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc = main(
        [
            "translate",
            str(APPS / "gke-shop.yaml"),
            "--from",
            "gke",
            "--to",
            "ovh",
            "-o",
            str(tmp_path / "o"),
            "--format",
            "json",
        ]
    )
    assert rc == 3
    data = json.loads(capsys.readouterr().out)
    assert data["source"] == "gke" and data["target"] == "ovh" and data["output"] == str(tmp_path / "o")


def test_translate_a_clean_app_exits_0(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "app.yaml"
    src.write_text(CLEAN)
    assert main(["translate", str(src), "--from", "aws", "--to", "hetzner", "-o", str(tmp_path / "o")]) == 0
    assert Bundle.load(tmp_path / "o").get("Deployment", "hello", "demo", group="apps") is not None


def test_translate_errors_are_one_paragraph(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "app.yaml"
    src.write_text(CLEAN)
    assert main(["translate", str(src), "--to", "hetzner", "-o", str(tmp_path / "o")]) == 1
    assert "--from" in capsys.readouterr().err
    assert main(["translate", str(src), "--from", "aws", "--to", "mars", "-o", str(tmp_path / "o")]) == 2  # bad input
    assert "unknown provider 'mars'" in capsys.readouterr().err
    assert (
        main(
            ["translate", str(src), "--from", "aws", "--to", "ionos", "--map", "colour:x=y", "-o", str(tmp_path / "o")]
        )
        == 2
    )
    assert "--map 'colour:x=y'" in capsys.readouterr().err
    assert (
        main(["translate", str(tmp_path / "missing.yaml"), "--from", "aws", "--to", "ionos", "-o", str(tmp_path / "o")])
        == 2
    )
    assert main(["translate", str(src), "--from", "aws"]) == 2  # argparse: --to and -o are required
    bad_rules = tmp_path / "rules.yaml"
    bad_rules.write_text("resourceModifierRules: [{conditions: {}, patches: []}]\n")
    assert (
        main(
            [
                "translate",
                str(src),
                "--from",
                "aws",
                "--to",
                "ionos",
                "--rules",
                str(bad_rules),
                "-o",
                str(tmp_path / "o"),
            ]
        )
        == 1
    )
    assert "rule 1: conditions.groupResource" in capsys.readouterr().err


def test_lint_detects_the_source_and_reports_residue(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc = main(["lint", str(APPS / "aks-shop.yaml"), "--to", "openstack", "-o", "json"])
    assert rc == 3
    data = json.loads(capsys.readouterr().out)
    assert data["source"] == "aks"
    assert any("acmeshop.azurecr.io" in r for r in data["residue"])
    rc = main(
        [
            "lint",
            str(APPS / "aks-shop.yaml"),
            "--to",
            "openstack",
            "--map",
            "images:acmeshop.azurecr.io/=registry.example.eu/",
        ]
    )
    assert rc == 3
    text = capsys.readouterr().out
    assert "STILL AKS-SPECIFIC" not in text and "MANUAL ACTIONS" in text
    assert not list(tmp_path.iterdir())  # lint writes nothing


def test_lint_of_clean_manifests(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "app.yaml"
    src.write_text(CLEAN)
    assert main(["lint", str(src), "--to", "ionos"]) == 2  # nothing tells the source apart
    assert "--from" in capsys.readouterr().err
    assert main(["lint", str(src), "--from", "aws", "--to", "ionos"]) == 0


def test_providers(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["providers"]) == 0
    text = capsys.readouterr().out
    assert "ionos" in text and "rook-ceph" in text
    assert main(["providers", "-o", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert {p["name"] for p in data["providers"]} >= {"aws", "gke", "aks", "openshift", "ionos", "metallb"}
    assert main(["providers", "hetzner", "-o", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["storage_classes"][0]["min_size"] == "10Gi"


def test_translate_a_bundle_directory_uses_its_recorded_source(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bundle = Bundle.from_manifests(APPS / "aws-shop.yaml").evolve(
        source={"provider": "aws", "server_version": "v1.30.2"}
    )
    bundle.save(tmp_path / "in")
    assert main(["translate", str(tmp_path / "in"), "--to", "hetzner", "-o", str(tmp_path / "out")]) == 3
    out = Bundle.load(tmp_path / "out")
    assert out.meta["source"]["provider"] == "aws" and out.meta["translated"]["target"] == "hetzner"
    assert out.get("StorageClass", "gp3", group="storage.k8s.io") is None
    capsys.readouterr()
    # translating the result again changes nothing (exit 3 only for what still needs a person)
    assert main(["lint", str(tmp_path / "out"), "--to", "hetzner", "-o", "json"]) == 3
    assert json.loads(capsys.readouterr().out)["summary"]["changes"] == 0
