"""Kustomize trees: the renderer, who wrote which field, and translations carried to the right layer."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest

from portkit._yaml import load_yaml_documents
from portkit.gitops import translate_tree
from portkit.gitops._files import Repo
from portkit.gitops.kustomize import (
    DocRef,
    Layer,
    Renderer,
    RObj,
    _json_patch,
    find_kustomizations,
    image_parts,
    owner_of,
    smp_merge,
)


def write(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return root


def render(root: Path, kdir: str) -> list[RObj]:
    repo = Repo.read(root)
    renderer = Renderer(repo, find_kustomizations(repo))
    return renderer.render(kdir)


def manual(result: Any) -> list[str]:
    return [a.message for a in result.all_manual_actions]


# -- the renderer --------------------------------------------------------------------------------------


def test_strategic_merge_by_merge_keys() -> None:
    base = {
        "spec": {
            "containers": [{"name": "a", "image": "x", "ports": [{"containerPort": 80}]}, {"name": "b"}],
            "tolerations": [{"key": "t1"}],
            "volumes": [{"name": "v", "emptyDir": {}}],
        },
        "metadata": {"labels": {"keep": "1", "drop": "2"}},
    }
    patch = {
        "spec": {
            "containers": [{"name": "a", "image": "y", "ports": [{"containerPort": 81}]}, {"name": "c"}],
            "tolerations": [{"key": "t2"}],
            "volumes": [{"name": "v", "$patch": "delete"}],
        },
        "metadata": {"labels": {"drop": None}},
    }
    merged = smp_merge(base, patch)
    assert merged["spec"]["containers"] == [
        {"name": "a", "image": "y", "ports": [{"containerPort": 80}, {"containerPort": 81}]},
        {"name": "b"},
        {"name": "c"},
    ]
    assert merged["spec"]["tolerations"] == [{"key": "t2"}]  # no merge key: replaced
    assert merged["spec"]["volumes"] == []
    assert merged["metadata"]["labels"] == {"keep": "1"}
    assert base["spec"]["containers"][0]["image"] == "x"  # the input is not changed


def test_json_patches() -> None:
    obj = {"a": {"l": [1, 2]}, "b": 1}
    out, resolved = _json_patch(
        obj,
        [
            {"op": "add", "path": "/a/l/-", "value": 3},
            {"op": "replace", "path": "/b", "value": 2},
            {"op": "remove", "path": "/a/l/0"},
            {"op": "add", "path": "/a/m~1n", "value": {"k": 1}},
        ],
    )
    assert out == {"a": {"l": [2, 3], "m/n": {"k": 1}}, "b": 2}
    assert resolved == [("add", ("a", "l", 2)), ("replace", ("b",)), ("remove", ("a", "l", 0)), ("add", ("a", "m/n"))]


def test_image_references() -> None:
    assert image_parts("reg.example:5000/a/b:1.2@sha256:ab") == ("reg.example:5000/a/b", "1.2", "sha256:ab")
    assert image_parts("reg.example:5000/a/b") == ("reg.example:5000/a/b", None, None)
    assert image_parts("nginx") == ("nginx", None, None)


def test_render_with_layers(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "base/kustomization.yaml": "resources: [deploy.yaml]\n",
            "base/deploy.yaml": """
            apiVersion: apps/v1
            kind: Deployment
            metadata: {name: web}
            spec:
              replicas: 1
              template:
                spec:
                  containers: [{name: web, image: ecr.example/web:1}]
            """,
            "ov/kustomization.yaml": """
            namespace: prod
            namePrefix: p-
            resources: [../base]
            images: [{name: ecr.example/web, newTag: "2"}]
            patches:
              - path: patch.yaml
              - target: {kind: Deployment}
                patch: '[{"op": "add", "path": "/metadata/annotations", "value": {"a": "b"}}]'
            """,
            "ov/patch.yaml": """
            apiVersion: apps/v1
            kind: Deployment
            metadata: {name: web}
            spec: {replicas: 3}
            """,
        },
    )
    [r] = render(tmp_path, "ov")
    assert r.obj["metadata"] == {"name": "p-web", "namespace": "prod", "annotations": {"a": "b"}}
    assert r.obj["spec"]["replicas"] == 3
    assert r.obj["spec"]["template"]["spec"]["containers"][0]["image"] == "ecr.example/web:2"
    assert [layer.kind for layer in r.layers] == ["smp", "json6902", "meta", "images"]
    assert owner_of(r, ("spec", "replicas")).kind == "patch"
    assert owner_of(r, ("spec", "replicas")).doc == DocRef("ov/patch.yaml", 0)
    assert owner_of(r, ("metadata", "annotations", "a")).path == (0, "value", "a")
    assert owner_of(r, ("spec", "template", "spec", "containers", 0, "image")).kind == "images"
    assert owner_of(r, ("metadata", "namespace")).kind == "meta"
    assert owner_of(r, ("spec", "template", "spec", "containers", 0, "name")).kind == "base"


def test_owner_of_a_merged_list_item_follows_its_merge_key() -> None:
    r = RObj(
        {"spec": {"containers": [{"name": "a", "image": "1"}, {"name": "b", "image": "2"}]}}, DocRef("d.yaml", 0), "x"
    )
    r.layers.append(
        Layer("smp", "k.yaml", DocRef("p.yaml", 0), "patches", {"spec": {"containers": [{"name": "b", "image": "2"}]}})
    )
    assert owner_of(r, ("spec", "containers", 1, "image")).path == ("spec", "containers", 0, "image")
    assert owner_of(r, ("spec", "containers", 0, "image")).kind == "base"


def test_what_the_renderer_does_not_follow_is_reported(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "k/kustomization.yaml": """
            resources:
              - https://github.com/example/base?ref=v1
              - ../../outside
              - missing.yaml
            configMapGenerator: [{name: c, literals: [a=b]}]
            helmCharts: [{name: redis}]
            """,
        },
    )
    result = translate_tree(tmp_path, "aws", "ionos")
    text = " ".join([*result.notes, *(n for f in result.files for n in f.notes)])
    assert "remote resource https://github.com/example/base?ref=v1 is not translated" in text
    assert "../../outside is outside the repository" in text
    assert "resource missing.yaml not found" in text
    assert "configMapGenerator objects are generated by kustomize and not translated" in text
    assert "helmCharts is rendered by kustomize --enable-helm" in text


# -- translations carried to the layer that wrote the field ----------------------------------------------

BASE = {
    "base/kustomization.yaml": "resources: [deploy.yaml]\n",
    "base/deploy.yaml": """
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: web}
        spec:
          selector: {matchLabels: {app: web}}
          template:
            metadata: {labels: {app: web, tier: base}}
            spec:
              tolerations:
                - {key: eks.amazonaws.com/compute-type, operator: Equal, value: fargate, effect: NoSchedule}
                - {key: dedicated, operator: Equal, value: shop, effect: NoSchedule}
              containers:
                - name: web
                  image: 123456789012.dkr.ecr.eu-central-1.amazonaws.com/shop/web:1.0
        """,
}
ECR = "123456789012.dkr.ecr.eu-central-1.amazonaws.com/"
MAPS = {"images": {ECR: "registry.example.eu/"}}


def test_an_images_entry_follows_the_translated_base_image(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            **BASE,
            "ov/kustomization.yaml": f"""
        resources: [../base]
        images:
          - name: {ECR}shop/web   # the web image
            newTag: "2.0"
        """,
        },
    )
    result = translate_tree(tmp_path, "aws", "ionos", mappings=MAPS, in_place=True)
    k = (tmp_path / "ov/kustomization.yaml").read_text()
    assert '  - name: registry.example.eu/shop/web   # the web image\n    newTag: "2.0"\n' in k
    [r] = render(tmp_path, "ov")
    assert r.obj["spec"]["template"]["spec"]["containers"][0]["image"] == "registry.example.eu/shop/web:2.0"
    assert not manual(result)


def test_an_image_override_is_rewritten_in_images_not_in_the_base(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "base/kustomization.yaml": "resources: [deploy.yaml]\n",
            "base/deploy.yaml": """
            apiVersion: apps/v1
            kind: Deployment
            metadata: {name: web}
            spec:
              template:
                spec:
                  containers: [{name: web, image: web}]
            """,
            "ov/kustomization.yaml": f"""
            resources: [../base]
            images: [{{name: web, newName: {ECR}shop/web, newTag: "3"}}]
            """,
        },
    )
    translate_tree(tmp_path, "aws", "ionos", mappings=MAPS, in_place=True)
    assert "image: web}" in (tmp_path / "base/deploy.yaml").read_text()
    assert (tmp_path / "ov/kustomization.yaml").read_text() == (
        'resources: [../base]\nimages: [{name: web, newName: registry.example.eu/shop/web, newTag: "3"}]\n'
    )


def test_json_patch_paths_follow_the_list_items_they_name(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            **BASE,
            "ov/kustomization.yaml": """
        resources: [../base]
        patches:
          - target: {kind: Deployment, name: web}
            path: tolerations.yaml
        """,
            "ov/tolerations.yaml": """
        # the dedicated nodes of production
        - op: replace
          path: /spec/template/spec/tolerations/1/value
          value: shop-prod
        """,
        },
    )
    result = translate_tree(tmp_path, "aws", "ionos", in_place=True)
    assert (tmp_path / "ov/tolerations.yaml").read_text() == (
        "# the dedicated nodes of production\n- op: replace\n  path: /spec/template/spec/tolerations/0/value\n"
        "  value: shop-prod\n"
    )
    [r] = render(tmp_path, "ov")
    assert r.obj["spec"]["template"]["spec"]["tolerations"] == [
        {"key": "dedicated", "operator": "Equal", "value": "shop-prod", "effect": "NoSchedule"}
    ]
    assert not manual(result)


def test_a_json_patch_of_a_removed_list_item_is_a_manual_action(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            **BASE,
            "ov/kustomization.yaml": """
        resources: [../base]
        patches:
          - target: {kind: Deployment, name: web}
            patch: '[{"op": "replace", "path": "/spec/template/spec/tolerations/0/effect", "value": "NoExecute"}]'
        """,
        },
    )
    result = translate_tree(tmp_path, "aws", "ionos")
    assert any("names a list item the translation removes" in m for m in manual(result))


def test_a_strategic_patch_value_is_translated_in_the_patch(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            **BASE,
            "ov/kustomization.yaml": "resources: [../base]\npatches: [{path: p.yaml}]\n",
            "ov/p.yaml": """
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: web}
        spec:
          replicas: 4   # production size
          template:
            spec:
              nodeSelector:
                eks.amazonaws.com/nodegroup: big   # r6i
        """,
        },
    )
    result = translate_tree(tmp_path, "aws", "ionos", in_place=True)
    assert (tmp_path / "ov/p.yaml").read_text() == (
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n  replicas: 4   # production size\n"
    )
    assert not manual(result)


def test_a_patch_value_the_base_keeps_is_deleted_with_null(tmp_path: Path) -> None:
    """A rule removes the label only where the overlay set it: the base keeps its own value, so the patch
    must delete the label (``null``), not just stop setting it."""
    rules = {
        "version": "v1",
        "resourceModifierRules": [
            {
                "conditions": {
                    "groupResource": "deployments.apps",
                    "matches": [{"path": "/spec/template/metadata/labels/tier", "value": "overlay"}],
                },
                "patches": [{"operation": "remove", "path": "/spec/template/metadata/labels/tier"}],
            }
        ],
    }
    write(
        tmp_path,
        {
            **BASE,
            "ov/kustomization.yaml": "resources: [../base]\npatches: [{path: p.yaml}]\n",
            "ov/p.yaml": """
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: web}
        spec:
          template:
            metadata:
              labels: {tier: overlay}
        """,
        },
    )
    result = translate_tree(tmp_path, "aws", "ionos", rules=rules, in_place=True)
    assert "labels: {tier: null}" in (tmp_path / "ov/p.yaml").read_text()
    [r] = render(tmp_path, "ov")
    assert r.obj["spec"]["template"]["metadata"]["labels"] == {"app": "web"}
    assert not manual(result)


def test_a_field_the_overlay_translates_otherwise_than_the_base_is_a_manual_action(tmp_path: Path) -> None:
    rules = {
        "version": "v1",
        "resourceModifierRules": [
            {
                "conditions": {"groupResource": "deployments.apps", "namespaces": ["prod"]},
                "patches": [{"operation": "add", "path": "/spec/replicas", "value": 5}],
            }
        ],
    }
    write(
        tmp_path,
        {
            **BASE,
            "ov/kustomization.yaml": "namespace: prod\nresources: [../base]\npatches: [{path: p.yaml}]\n",
            "ov/p.yaml": """
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: web}
        spec: {minReadySeconds: 5}
        """,
        },
    )
    result = translate_tree(tmp_path, "aws", "ionos", rules=rules)
    assert any(
        "/spec/replicas is 5 in the translation of ov but absent in the translation of base/deploy.yaml" in m
        for m in manual(result)
    )


def test_patches_of_objects_the_base_loses_are_removed(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "base/kustomization.yaml": "resources: [tgb.yaml, cm.yaml]\n",
            "base/tgb.yaml": """
            apiVersion: elbv2.k8s.aws/v1beta1
            kind: TargetGroupBinding
            metadata: {name: legacy}
            spec: {targetGroupARN: "arn:aws:elasticloadbalancing:eu-central-1:1:targetgroup/x/1"}
            """,
            "base/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {a: b}\n",
            "ov/kustomization.yaml": """
            resources: [../base]
            patchesStrategicMerge:
              - tgb-patch.yaml   # production target group
            """,
            "ov/tgb-patch.yaml": """
            apiVersion: elbv2.k8s.aws/v1beta1
            kind: TargetGroupBinding
            metadata: {name: legacy}
            spec: {targetGroupARN: "arn:aws:elasticloadbalancing:eu-central-1:1:targetgroup/prod/2"}
            """,
        },
    )
    result = translate_tree(tmp_path, "aws", "ionos", in_place=True)
    k = (tmp_path / "ov/kustomization.yaml").read_text()
    assert "tgb-patch.yaml" not in k.replace("# portkit", "")
    assert "# portkit: removed this patch of TargetGroupBinding legacy, which is not used on ionos" in k
    assert (tmp_path / "base/kustomization.yaml").read_text().startswith("resources: [cm.yaml]")
    assert [r.key[1] for r in render(tmp_path, "ov")] == ["ConfigMap"]
    assert not manual(result)


def test_inline_patches_are_edited_in_their_string(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            **BASE,
            "ov/kustomization.yaml": """
        resources: [../base]
        patches:
          - patch: |-
              apiVersion: apps/v1
              kind: Deployment
              metadata: {name: web}
              spec:
                template:
                  spec:
                    nodeSelector:
                      eks.amazonaws.com/nodegroup: big
                      disk: ssd   # local NVMe
        """,
        },
    )
    translate_tree(tmp_path, "aws", "ionos", in_place=True)
    k = (tmp_path / "ov/kustomization.yaml").read_text()
    assert "  - patch: |-\n" in k and "eks.amazonaws.com" not in k and "disk: ssd   # local NVMe" in k
    patch = load_yaml_documents(load_yaml_documents(k, where="k")[0]["patches"][0]["patch"], where="p")[0]
    assert patch["spec"]["template"]["spec"]["nodeSelector"] == {"disk": "ssd"}


def test_components_are_rendered_and_their_patches_translated(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            **BASE,
            "comp/kustomization.yaml": """
        apiVersion: kustomize.config.k8s.io/v1alpha1
        kind: Component
        patches: [{path: p.yaml}]
        """,
            "comp/p.yaml": """
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: web}
        spec:
          template:
            spec:
              nodeSelector: {karpenter.sh/capacity-type: spot, disk: ssd}
        """,
            "ov/kustomization.yaml": "resources: [../base]\ncomponents: [../comp]\n",
        },
    )
    result = translate_tree(tmp_path, "aws", "ionos", in_place=True)
    assert "nodeSelector: {disk: ssd}" in (tmp_path / "comp/p.yaml").read_text()
    assert not manual(result)


@pytest.mark.parametrize("keep", [False, True])
def test_overlay_records_repeat_only_what_is_new(tmp_path: Path, keep: bool) -> None:
    write(
        tmp_path,
        {
            **BASE,
            "ov/kustomization.yaml": "namespace: prod\nresources: [../base]\npatches: [{path: p.yaml}]\n",
            "ov/p.yaml": """
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: web}
        spec: {replicas: 2}
        """,
        },
    )
    result = translate_tree(tmp_path, "aws", "ionos", keep_dropped=keep)
    by_file = {f.path: [w.message for w in f.warnings] for f in result.files}
    assert by_file.get("base/deploy.yaml")
    assert not by_file.get("ov/kustomization.yaml")
