"""The example translator plugin (examples/custom_translator): installed from its pyproject.toml into a
temporary directory, found through the ``portkit.translators`` entry point by ``portkit translate``.

No cluster is needed, but the test builds and installs a package, so it is an integration test.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from portkit.bundle import Bundle

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
PLUGIN = ROOT / "examples" / "custom_translator"
SHOP = ROOT / "examples" / "shop-eks" / "app"


def _install(dest: Path, work: Path) -> str:
    """Install the plugin into ``dest`` with pip (no network, no build isolation); returns how.

    A setuptools older than 70.1 cannot build wheels without the ``wheel`` package; then the same
    pyproject.toml is turned into installed metadata with setuptools' own ``egg_info`` (which is what
    ``importlib.metadata`` reads entry points from) and the package is copied next to it.
    """
    src = work / "custom_translator"
    shutil.copytree(PLUGIN, src, ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"))
    pip = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--no-deps",
            "--no-build-isolation",
            "--no-index",
            "--disable-pip-version-check",
            "--target",
            str(dest),
            str(src),
        ],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=300,
    )
    if pip.returncode == 0:
        return "pip"
    assert "bdist_wheel" in pip.stdout + pip.stderr, pip.stdout + pip.stderr
    egg = subprocess.run(
        [sys.executable, "-c", "from setuptools import setup; setup()", "-q", "egg_info", "--egg-base", str(dest)],
        cwd=src,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=300,
    )
    assert egg.returncode == 0, egg.stderr
    shutil.copytree(src / "src" / "portkit_example_translator", dest / "portkit_example_translator")
    return "egg_info"


@pytest.fixture(scope="module")
def plugin_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    dest = tmp_path_factory.mktemp("plugin-site")
    _install(dest, tmp_path_factory.mktemp("plugin-build"))
    entry_points = list(dest.glob("*/entry_points.txt"))
    assert entry_points, f"no installed metadata in {dest}: {sorted(p.name for p in dest.iterdir())}"
    assert "portkit_example_translator:TeamLabels" in entry_points[0].read_text()
    return dest


@pytest.fixture()
def inputs(tmp_path: Path) -> list[str]:
    """The shop app plus a ConfigMap in a namespace the team table does not list."""
    other = tmp_path / "other.yaml"
    other.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": "settings", "namespace": "unlisted"},
                "data": {"a": "b"},
            }
        )
    )
    return [str(SHOP), str(other)]


def _translate(
    inputs: list[str], out: Path, plugin: Path | None, teams: Path | None
) -> tuple[int, dict[str, Any], str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PORTKIT_TEAMS_FILE")}
    if plugin is not None:
        env["PYTHONPATH"] = os.pathsep.join([str(plugin), *filter(None, [os.environ.get("PYTHONPATH")])])
    if teams is not None:
        env["PORTKIT_TEAMS_FILE"] = str(teams)
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "portkit.cli",
            "translate",
            *inputs,
            "--from",
            "aws",
            "--to",
            "ionos",
            "-d",
            str(out),
            "-o",
            "json",
        ],
        capture_output=True,
        text=True,
        env=env,
        stdin=subprocess.DEVNULL,
        timeout=120,
    )
    data = json.loads(proc.stdout) if proc.stdout.strip().startswith("{") else {}
    return proc.returncode, data, proc.stderr


def _labels(bundle: Bundle, kind: str, name: str, namespace: str | None, *path: str) -> dict[str, str]:
    obj = bundle.get(kind, name, namespace)
    assert obj is not None, f"{kind} {namespace}/{name} missing from the translated bundle"
    cur: Any = obj
    for step in (*path, "labels") if path else ("metadata", "labels"):
        cur = (cur or {}).get(step)
    return dict(cur or {})


def test_installed_plugin_labels_objects_and_records_changes(
    plugin_dir: Path, inputs: list[str], tmp_path: Path
) -> None:
    teams = tmp_path / "teams.yaml"
    teams.write_text("namespaces:\n  shop: {team: checkout-squad, cost_center: CC-0815}\n")
    code, data, stderr = _translate(inputs, tmp_path / "out", plugin_dir, teams)
    assert code == 3, stderr  # the shop has manual actions (IRSA, certificates)
    assert "team-labels" in data["translators"]
    ours = [c for c in data["changes"] if c["translator"] == "team-labels"]
    paths = {(c["object"], c["path"]): c["new"] for c in ours}
    assert paths[("Namespace shop", "/metadata/labels/team")] == "checkout-squad"
    assert paths[("Namespace shop", "/metadata/annotations/example.com~1cost-center")] == "CC-0815"
    assert paths[("Deployment.apps shop/web", "/spec/template/metadata/labels/team")] == "checkout-squad"
    assert (
        paths[("CronJob.batch shop/nightly-report", "/spec/jobTemplate/spec/template/metadata/labels/team")]
        == "checkout-squad"
    )
    team_changes = [c for c in ours if c["path"].endswith("/team")]
    assert all(
        c["reason"] == "namespace shop belongs to checkout-squad"
        for c in team_changes
        if not c["object"].startswith("Secret ")
    )
    # a Secret whose value is "shop" (its username): every occurrence of the value is redacted in messages
    # about that Secret, even where it is also the namespace's name — portkit cannot tell the two apart
    assert all(
        c["reason"] == "namespace <redacted> belongs to checkout-squad"
        for c in team_changes
        if c["object"] == "Secret shop/db-credentials"
    )
    # the namespace the table does not list: untouched, one warning
    assert not [c for c in ours if "unlisted" in c["object"]]
    assert [w["message"] for w in data["warnings"] if w["translator"] == "team-labels"] == [
        "namespace unlisted has no team in the team table: its objects get no team label "
        "(add it to $PORTKIT_TEAMS_FILE)"
    ]
    # and in the translated bundle written to disk
    out = Bundle.load(tmp_path / "out")
    assert _labels(out, "Deployment", "web", "shop")["team"] == "checkout-squad"
    assert _labels(out, "Deployment", "web", "shop", "spec", "template", "metadata")["team"] == "checkout-squad"
    assert _labels(out, "Secret", "db-credentials", "shop")["team"] == "checkout-squad"
    ns = out.get("Namespace", "shop")
    assert ns is not None and ns["metadata"]["annotations"]["example.com/cost-center"] == "CC-0815"
    assert "team" not in _labels(out, "ConfigMap", "settings", "unlisted")
    # Secret values never reach the report
    assert "demo-only-not-a-real-password" not in json.dumps(data)


def test_without_the_plugin_nothing_is_labelled(inputs: list[str], tmp_path: Path) -> None:
    code, data, stderr = _translate(inputs, tmp_path / "out", None, None)
    assert code == 3, stderr
    assert "team-labels" not in data["translators"]
    assert not [c for c in data["changes"] if c["translator"] == "team-labels"]
    out = Bundle.load(tmp_path / "out")
    assert "team" not in _labels(out, "Deployment", "web", "shop")
    ns = out.get("Namespace", "shop")
    assert ns is not None and "example.com/cost-center" not in (ns["metadata"].get("annotations") or {})


def test_default_table_and_bad_table(plugin_dir: Path, inputs: list[str], tmp_path: Path) -> None:
    code, data, stderr = _translate(inputs, tmp_path / "out", plugin_dir, None)
    assert code == 3, stderr
    labels = {c["new"] for c in data["changes"] if c["translator"] == "team-labels" and c["path"].endswith("/team")}
    assert labels == {"web-shop"}  # the built-in table
    bad = tmp_path / "bad.yaml"
    bad.write_text("namespaces:\n  shop: {team: only-a-team}\n")
    code, data, stderr = _translate(inputs, tmp_path / "out2", plugin_dir, bad)
    assert code == 2, stderr  # a configuration error: one paragraph, no traceback
    assert "needs 'team' and 'cost_center'" in stderr and "Traceback" not in stderr
