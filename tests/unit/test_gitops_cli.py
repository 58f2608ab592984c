"""``portkit translate`` on a GitOps repository: --in-place, -d, --diff, --report-format markdown,
--keep-dropped, ``-`` (helm template output), and the Helm chart path."""

from __future__ import annotations

import io
import json
import os
import shutil
import stat
from pathlib import Path

import pytest

from portkit.bundle import Bundle
from portkit.cli import main
from portkit.gitops import translate_tree

GOLDEN = Path(__file__).parent / "golden"
REPO = GOLDEN / "gitops" / "shop-repo"
MAPS = [
    "--map",
    "images:123456789012.dkr.ecr.eu-central-1.amazonaws.com/=registry.example.eu/shop-images/",
    "--map",
    "images:210987654321.dkr.ecr.eu-central-1.amazonaws.com/=registry.example.eu/shop-prod/",
]


def files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    shutil.copytree(REPO, root)
    (root / ".git").mkdir()
    (root / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    return root


def test_in_place(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc = main(["translate", str(repo), "--in-place", "--from", "aws", "--to", "ionos", *MAPS])
    assert rc == 3  # warnings and manual actions
    out = capsys.readouterr().out
    assert "14 files to change" in out and f"Wrote 14 files to {repo}" in out
    assert (
        "storageClassName: ionos-enterprise-ssd   # faster than gp2"
        in (repo / "apps/shop/overlays/production/patch-storage.yaml").read_text()
    )


def test_diff_alone_writes_nothing(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    before = files(repo)
    rc = main(["translate", str(repo), "--diff", "--from", "aws", "--to", "ionos", *MAPS])
    out = capsys.readouterr().out
    assert rc == 3
    assert out.startswith("--- a/apps/shop/base/deployment-web.yaml\n+++ b/apps/shop/base/deployment-web.yaml\n")
    assert "-  storageClassName: gp2\n+  storageClassName: ionos-enterprise-ssd\n" in out
    assert "Nothing written yet" in out
    assert files(repo) == before


def test_diff_comes_before_the_writing(
    repo: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import portkit.gitops as gitops

    seen: list[str] = []
    real = gitops.write_tree

    def spy(result: object, output_dir: object) -> object:
        seen.append(capsys.readouterr().out)
        return real(result, output_dir)  # type: ignore[arg-type]

    monkeypatch.setattr(gitops, "write_tree", spy)
    assert main(["translate", str(repo), "--in-place", "--diff", "--from", "aws", "--to", "ionos", *MAPS]) == 3
    assert seen and seen[0].startswith("--- a/")


def test_output_dir_is_a_translated_copy_with_the_same_layout(
    repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = files(repo)
    out = tmp_path / "out"
    rc = main(["translate", str(repo), "-d", str(out), "--from", "aws", "--to", "ionos", *MAPS, "-o", "json"])
    assert rc == 3
    data = json.loads(capsys.readouterr().out)
    assert data["summary"]["files_changed"] == 14 and data["written_to"] == str(out.resolve())
    assert files(repo) == before  # the source is untouched
    copied = files(out)
    assert set(copied) == {p for p in before if not p.startswith(".git/")}
    assert copied["README.md"] == before["README.md"]
    assert copied["charts/redis/templates/statefulset.yaml"] == before["charts/redis/templates/statefulset.yaml"]
    assert copied["apps/shop/base/storage.yaml"] != before["apps/shop/base/storage.yaml"]
    rc = main(["translate", str(repo), "-d", str(out), "--from", "aws", "--to", "ionos"])
    assert rc == 2
    assert "exists and is not empty" in capsys.readouterr().err


def test_markdown_report(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc = main(
        [
            "translate",
            str(repo),
            "--in-place",
            "--from",
            "aws",
            "--to",
            "ionos",
            *MAPS,
            "--report-format",
            "markdown",
            "--report",
            str(repo.parent / "r.json"),
        ]
    )
    assert rc == 3
    md = capsys.readouterr().out
    assert md.startswith("## portkit: aws → ionos\n")
    assert "### Manual actions" in md and "### Changes by file" in md and "#### `apps/shop/base/storage.yaml`" in md
    assert "| PersistentVolumeClaim cache | `/spec/storageClassName` | `gp2` → `ionos-enterprise-ssd` |" in md
    assert stat.S_IMODE(os.stat(repo.parent / "r.json").st_mode) == 0o600
    assert json.loads((repo.parent / "r.json").read_text())["summary"]["files_changed"] == 14


def test_keep_dropped(repo: Path) -> None:
    rc = main(["translate", str(repo), "--in-place", "--keep-dropped", "--from", "aws", "--to", "ionos"])
    assert rc == 3
    assert "kind: TargetGroupBinding" in (repo / "apps/shop/base/targetgroupbinding.yaml").read_text()


def test_usage_errors(repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bundle_dir = tmp_path / "bundle"
    Bundle.from_manifests(GOLDEN / "apps" / "aws-shop.yaml").save(bundle_dir)
    assert main(["translate", str(bundle_dir), "--in-place", "--from", "aws", "--to", "ionos"]) == 2
    assert "work on one directory (or file) of plain manifests, not on a bundle" in capsys.readouterr().err
    assert main(["translate", str(bundle_dir), "--diff", "--from", "aws", "--to", "ionos"]) == 2
    assert (
        main(["translate", str(repo), "--in-place", "-d", str(tmp_path / "x"), "--from", "aws", "--to", "ionos"]) == 2
    )
    assert "exclude each other" in capsys.readouterr().err


def test_the_source_is_detected_when_not_given(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["translate", str(repo), "--diff", "--to", "ionos"]) == 3
    assert "source provider detected from the manifests: aws" in capsys.readouterr().out


def test_a_bundle_translation_without_output_only_reports(capsys: pytest.CaptureFixture[str]) -> None:
    rc = main(["translate", str(GOLDEN / "apps" / "aws-shop.yaml"), "--from", "aws", "--to", "ionos"])
    assert rc == 3
    assert "Nothing written (give -d DIR for the translated bundle)." in capsys.readouterr().out


HELM_OUTPUT = """\
---
# Source: redis/templates/statefulset.yaml
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: redis
spec:
  serviceName: redis
  selector: {matchLabels: {app: redis}}
  template:
    metadata: {labels: {app: redis}}
    spec:
      containers: [{name: redis, image: redis:7.2}]
  volumeClaimTemplates:
    - metadata: {name: data}
      spec:
        accessModes: [ReadWriteOnce]
        storageClassName: gp3
        resources: {requests: {storage: 2Gi}}
"""


def test_standard_input_for_helm_template_output(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(HELM_OUTPUT))
    rc = main(["translate", "-", "-n", "cache", "--from", "aws", "--to", "ionos", "--report-format", "markdown"])
    assert rc == 3  # the ionos class is "community" in the profile: a warning
    md = capsys.readouterr().out
    assert md.startswith("## portkit: aws → ionos\n")
    assert "| StatefulSet.apps cache/redis | `/spec/volumeClaimTemplates/0/spec/storageClassName` | `gp3` → " in md


def test_charts_are_rendered_with_helm_and_reported(repo: Path, tmp_path: Path) -> None:
    fake = tmp_path / "helm"
    fake.write_text(f"#!/bin/sh\n[ \"$1\" = template ] || exit 9\ncat <<'EOF'\n{HELM_OUTPUT}EOF\n")
    fake.chmod(0o755)
    result = translate_tree(repo, "aws", "ionos", helm=str(fake))
    [chart] = result.charts
    assert chart.path == "charts/redis" and chart.error == ""
    assert chart.translation is not None
    assert [c.new for c in chart.translation.changes if c.path.endswith("storageClassName")] == ["ionos-enterprise-ssd"]
    md = result.to_markdown()
    assert "Rendered with `helm template redis charts/redis" in md
    assert "`gp3` → `ionos-enterprise-ssd`" in md
    assert (repo / "charts/redis/values.yaml").read_bytes() == (REPO / "charts/redis/values.yaml").read_bytes()
    failing = tmp_path / "helm-fails"
    failing.write_text("#!/bin/sh\necho 'Error: chart requires kubeVersion' >&2\nexit 1\n")
    failing.chmod(0o755)
    [chart] = translate_tree(repo, "aws", "ionos", helm=str(failing)).charts
    assert chart.translation is None and chart.error == "helm template failed: Error: chart requires kubeVersion"
    [chart] = translate_tree(repo, "aws", "ionos", helm=False).charts
    assert chart.translation is None and chart.error == ""


def test_secret_values_never_reach_the_diff_or_the_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "app.yaml").write_text("""\
apiVersion: v1
kind: Secret
metadata:
  name: db
  namespace: shop
  annotations:
    eks.amazonaws.com/origin: s3cr3t-annotation
stringData:
  password: s3cr3t-password-1
  region: eu-central-1
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: data, namespace: shop}
spec:
  storageClassName: gp3
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 10Gi}}
""")
    rules = tmp_path.parent / f"{tmp_path.name}-rules.yaml"
    rules.write_text("""\
version: v1
resourceModifierRules:
- conditions: {groupResource: secrets}
  patches: [{operation: replace, path: /stringData/password, value: s3cr3t-password-2}]
""")
    rc = main(
        [
            "translate",
            str(tmp_path),
            "--in-place",
            "--diff",
            "--from",
            "aws",
            "--to",
            "ionos",
            "--rules",
            str(rules),
            "--report-format",
            "markdown",
        ]
    )
    out = capsys.readouterr().out
    assert rc in (0, 3)
    assert "s3cr3t-password-2" in (tmp_path / "app.yaml").read_text()  # written, never shown
    for secret in ("s3cr3t-password-1", "s3cr3t-password-2", "s3cr3t-annotation"):
        assert secret not in out
    assert "-  password: <redacted>\n+  password: <redacted>\n" in out
    assert "storageClassName: ionos-enterprise-ssd" in out
