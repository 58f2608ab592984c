"""Golden in-place translation of a realistic GitOps repository (``golden/gitops/shop-repo``: a kustomize
base and two overlays, a plain directory with a ``kind: List``, an Argo CD Application, a Helm chart,
comments everywhere) from AWS to IONOS.

The whole diff is compared with the reviewed ``golden/gitops/shop-repo--ionos.diff``; regenerate it with
``PORTKIT_UPDATE_GOLDEN=1`` after a deliberate change and review the difference. Independently of that
file: every file the translation does not change stays byte for byte, the overlays still build, and what
they build is the translation of what they built before (with kustomize itself when a kubectl is at
hand, always with portkit's renderer).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from portkit._yaml import load_yaml_documents
from portkit.gitops import translate_tree
from portkit.gitops._diff import diff, same
from portkit.gitops._files import Repo, object_key
from portkit.gitops.kustomize import Renderer, find_kustomizations
from portkit.translate import translate

GOLDEN = Path(__file__).parent / "golden" / "gitops"
REPO = GOLDEN / "shop-repo"
EXPECTED_DIFF = GOLDEN / "shop-repo--ionos.diff"
MAPPINGS = {
    "images": {
        "123456789012.dkr.ecr.eu-central-1.amazonaws.com/": "registry.example.eu/shop-images/",
        "210987654321.dkr.ecr.eu-central-1.amazonaws.com/": "registry.example.eu/shop-prod/",
    }
}
OVERLAYS = ["apps/shop/overlays/staging", "apps/shop/overlays/production"]
CHANGED = {
    "apps/shop/base/deployment-web.yaml",
    "apps/shop/base/ingress.yaml",
    "apps/shop/base/kustomization.yaml",
    "apps/shop/base/service-web.yaml",
    "apps/shop/base/serviceaccount.yaml",
    "apps/shop/base/storage.yaml",
    "apps/shop/base/targetgroupbinding.yaml",
    "apps/shop/overlays/production/kustomization.yaml",
    "apps/shop/overlays/production/namespace.yaml",
    "apps/shop/overlays/production/patch-ingress.yaml",
    "apps/shop/overlays/production/patch-storage.yaml",
    "apps/shop/overlays/production/patch-web.yaml",
    "apps/shop/overlays/staging/kustomization.yaml",
    "platform/cluster-objects.yaml",
}


def _files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def translated(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Any]:
    root = tmp_path_factory.mktemp("gitops") / "shop-repo"
    shutil.copytree(REPO, root)
    result = translate_tree(root, "aws", "ionos", mappings=MAPPINGS, in_place=True, helm=False)
    return root, result


def test_the_diff_is_the_reviewed_one(translated: tuple[Path, Any]) -> None:
    _, result = translated
    text = result.diff()
    if os.environ.get("PORTKIT_UPDATE_GOLDEN"):
        EXPECTED_DIFF.write_text(text, encoding="utf-8")
    assert text == EXPECTED_DIFF.read_text(encoding="utf-8")


def test_only_the_files_with_provider_specific_values_change(translated: tuple[Path, Any]) -> None:
    root, result = translated
    assert {f.path for f in result.changed_files} == CHANGED
    before, after = _files(REPO), _files(root)
    assert set(before) == set(after)  # no file added (nothing was added by the translation), none removed
    for rel, data in before.items():
        if rel not in CHANGED:
            assert after[rel] == data, rel
        else:
            assert after[rel] != data, rel
    assert all(f.methods == ("spliced",) for f in result.changed_files)


def test_the_written_files_are_what_the_result_says(translated: tuple[Path, Any]) -> None:
    root, result = translated
    for f in result.changed_files:
        assert (root / f.path).read_text(encoding="utf-8") == f.new


def test_comments_stay_except_those_of_removed_lines(translated: tuple[Path, Any]) -> None:
    """Every comment of the repository is still there, unless the diff removes its line (a removed
    key's own comment) — and each portkit comment says why something went."""
    root, result = translated
    removed = {line[1:].strip() for line in result.diff().splitlines() if line.startswith("-") and "#" in line}
    for rel, data in _files(REPO).items():
        if not rel.endswith(".yaml") or rel.startswith("charts/"):
            continue
        new = (root / rel).read_text(encoding="utf-8")
        for line in data.decode().splitlines():
            if "#" in line and line.strip() not in removed:
                assert line.split("#", 1)[1] in new, (rel, line)
    added = [line for line in result.diff().splitlines() if line.startswith("+") and "# portkit:" in line]
    assert len(added) == 6
    assert all("not used on ionos" in line for line in added)


def test_the_report_tells_helm_charts_apart_and_lists_every_change(translated: tuple[Path, Any]) -> None:
    _, result = translated
    assert [c.path for c in result.charts] == ["charts/redis"]
    assert "helm template redis charts/redis | portkit translate -" in result.charts[0].command
    md = result.to_markdown()
    assert "### Helm charts" in md and "rendered output" in md
    for f in result.changed_files:
        assert f"`{f.path}`" in md
    assert "- [ ] `apps/shop/overlays/staging/kustomization.yaml` — Service shop-staging/web: SECURITY" in md
    assert result.needs_attention


def _objects(yaml_text: str) -> dict[Any, dict[str, Any]]:
    return {object_key(d): d for d in load_yaml_documents(yaml_text, where="kustomize") if isinstance(d, dict)}


def _translated_render(objects: list[dict[str, Any]]) -> dict[Any, dict[str, Any]]:
    t = translate(objects, source="aws", target="ionos", mappings=MAPPINGS)
    return {object_key(o): o for o in t.bundle.objects}


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_overlays_render_the_translation_of_what_they_rendered(translated: tuple[Path, Any], overlay: str) -> None:
    """portkit's renderer: kustomize build of the translated overlay == translate(kustomize build of the
    original overlay)."""
    root, _ = translated
    results = []
    for tree in (REPO, root):
        repo = Repo.read(tree)
        results.append(Renderer(repo, find_kustomizations(repo)).render(overlay))
    expected = _translated_render([r.obj for r in results[0]])
    got = {r.key: r.obj for r in results[1]}
    assert set(got) == set(expected)
    for key, obj in expected.items():
        assert same(got[key], obj), (key, diff(got[key], obj))


def _kubectl() -> str | None:
    from portkit.testing.binaries import cache_dir

    found = sorted(cache_dir().glob("bin/kube-*/kubectl"))
    return str(found[-1]) if found else shutil.which("kubectl")


@pytest.mark.skipif(_kubectl() is None, reason="needs kubectl (built by the integration setup) for kustomize")
@pytest.mark.parametrize("overlay", OVERLAYS)
def test_kustomize_builds_the_translation_of_what_it_built(translated: tuple[Path, Any], overlay: str) -> None:
    """kubectl kustomize (the real kustomize) on the original and the translated repository."""
    root, _ = translated
    kubectl = _kubectl()
    assert kubectl is not None
    built = []
    for tree in (REPO, root):
        proc = subprocess.run(
            [kubectl, "kustomize", str(tree / overlay)], capture_output=True, text=True, timeout=120, check=False
        )
        assert proc.returncode == 0, proc.stderr
        built.append(_objects(proc.stdout))
    expected = _translated_render(list(built[0].values()))
    assert set(built[1]) == set(expected)
    for key, obj in expected.items():
        assert same(built[1][key], obj), (key, diff(built[1][key], obj))


def test_kept_objects_stay_with_a_comment(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    shutil.copytree(REPO, root)
    result = translate_tree(root, "aws", "ionos", mappings=MAPPINGS, in_place=True, keep_dropped=True, helm=False)
    tgb = (root / "apps/shop/base/targetgroupbinding.yaml").read_text()
    assert "# portkit: TargetGroupBinding.elbv2.k8s.aws legacy-tg is not used on ionos" in tgb
    assert "targetGroupARN: arn:aws:elasticloadbalancing" in tgb
    assert (root / "apps/shop/base/kustomization.yaml").read_bytes() == (
        REPO / "apps/shop/base/kustomization.yaml"
    ).read_bytes()
    listed = load_yaml_documents((root / "platform/cluster-objects.yaml").read_text(), where="x")[0]
    assert [i["kind"] for i in listed["items"]] == ["StorageClass", "PriorityClass"]
    assert (
        "# portkit: StorageClass.storage.k8s.io gp3 is not used on ionos"
        in (root / "platform/cluster-objects.yaml").read_text()
    )
    assert result.changed_files


def test_a_second_run_changes_nothing(translated: tuple[Path, Any], tmp_path: Path) -> None:
    root, _ = translated
    again = tmp_path / "again"
    shutil.copytree(root, again)
    result = translate_tree(again, "aws", "ionos", mappings=MAPPINGS, in_place=True, helm=False)
    assert result.changed_files == []
    assert _files(again) == _files(root)
