"""Unit tests: Bundle in memory and on disk (format, checksums, determinism, Secrets, from_manifests)."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from portkit.bundle import (
    CLUSTER_DIR,
    FORMAT_VERSION,
    KEY_ENV,
    MANIFEST,
    Bundle,
    BundleWriter,
    dump_yaml,
    generate_key,
    load_yaml_documents,
    object_path,
)
from portkit.errors import BundleError, ConfigurationError
from portkit.model import ObjectRef

Obj = dict[str, Any]
PASSWORD_B64 = "aHVudGVyMg=="  # base64("hunter2")


def cm(name: str, ns: str = "shop", **data: str) -> Obj:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": ns}, "data": data}


def secret(name: str = "db", ns: str = "shop") -> Obj:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": name, "namespace": ns},
        "type": "Opaque",
        "data": {"password": PASSWORD_B64},
        "stringData": {"user": "admin-user-value"},
    }


def sample() -> list[Obj]:
    return [
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "shop", "labels": {"app": "web"}},
            "spec": {"replicas": 2, "template": {"spec": {"containers": [{"name": "c", "image": "nginx:1"}]}}},
        },
        cm("settings", script="#!/bin/sh\necho hi\n", flag="yes", date="2024-01-01"),
        secret(),
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop", "labels": {"team": "a"}}},
        {"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass", "metadata": {"name": "gp3"}, "provisioner": "ebs"},
        cm("other", ns="admin"),
    ]


def files_of(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


# ------------------------------------------------------------------------------------------------- YAML


def test_dump_yaml_puts_identity_first_and_uses_blocks() -> None:
    text = dump_yaml({"data": {"x": "a\nb\n"}, "metadata": {"name": "web"}, "kind": "ConfigMap", "apiVersion": "v1"})
    assert text.decode() == "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web\ndata:\n  x: |\n    a\n    b\n"


def test_dump_yaml_quotes_yaml11_lookalikes() -> None:
    words = ["yes", "on", "y", "N", "1.0", "2024-01-01", "1:20", "0x1F", "~", "null", "8080", "a: b", "#c"]
    obj = {"apiVersion": "v1", "kind": "ConfigMap", "data": {f"k{i}": w for i, w in enumerate(words)}}
    text = dump_yaml(obj).decode()
    assert yaml.safe_load(text) == obj
    for i, word in enumerate(words):  # go-yaml v2 (kubectl) reads y/n/on as booleans: they must be quoted
        assert f"k{i}: {word}\n" not in text


def test_dump_yaml_falls_back_for_other_types() -> None:
    import datetime

    obj = {"apiVersion": "v1", "kind": "X", "metadata": {"name": "a"}, "spec": {"when": datetime.date(2024, 1, 2)}}
    assert "when: 2024-01-02" in dump_yaml(obj).decode()


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**53), 2**53)
    | st.floats(allow_nan=False)
    | st.text()
    | st.sampled_from(["y", "On", "1:20", "0o17", "a:", "- a", "a #b", "a\n\n", " a\nb", "\u2028x\ny", "a\r\nb"]),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(), children, max_size=4),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(value=json_values)
def test_dump_yaml_round_trips_any_json_value(value: Any) -> None:
    obj = {"apiVersion": "v1", "kind": "X", "metadata": {"name": "n"}, "spec": value}
    assert load_yaml_documents(dump_yaml(obj), where="t") == [obj]


# ------------------------------------------------------------------------------------------------ paths


def test_object_paths() -> None:
    assert object_path(ObjectRef("apps", "v1", "Deployment", "shop", "web")) == "shop/apps/Deployment/web.yaml"
    assert object_path(ObjectRef("", "v1", "ConfigMap", "shop", "a.b")) == "shop/core/ConfigMap/a.b.yaml"
    assert object_path(ObjectRef("", "v1", "Namespace", "", "shop")) == f"{CLUSTER_DIR}/core/Namespace/shop.yaml"
    colon = object_path(ObjectRef("rbac.authorization.k8s.io", "v1", "ClusterRole", "", "system:view"))
    assert colon == f"{CLUSTER_DIR}/rbac.authorization.k8s.io/ClusterRole/system%3Aview.yaml"


def test_object_paths_never_collide_on_case_or_length() -> None:
    upper = object_path(ObjectRef("", "v1", "ConfigMap", "a", "Web"))
    lower = object_path(ObjectRef("", "v1", "ConfigMap", "a", "web"))
    assert upper.lower() != lower.lower()
    long_a = object_path(ObjectRef("", "v1", "ConfigMap", "a", "x" * 200 + "a"))
    long_b = object_path(ObjectRef("", "v1", "ConfigMap", "a", "x" * 200 + "b"))
    assert long_a != long_b
    assert all(len(part) < 200 for part in long_a.split("/"))


# ---------------------------------------------------------------------------------------------- in memory


def test_objects_are_sorted_cluster_first() -> None:
    bundle = Bundle(sample())
    keys = [(r.namespace, r.kind, r.name) for r in bundle.refs]
    assert keys == [
        ("", "Namespace", "shop"),
        ("", "StorageClass", "gp3"),
        ("admin", "ConfigMap", "other"),
        ("shop", "ConfigMap", "settings"),
        ("shop", "Secret", "db"),
        ("shop", "Deployment", "web"),
    ]
    assert [o["metadata"]["name"] for o in bundle.cluster_objects] == ["shop", "gp3"]
    assert len(bundle.namespaced_objects) == 4
    assert bundle.meta["namespaces"] == ["admin", "shop"]
    assert bundle.meta["format"] == FORMAT_VERSION


def test_get() -> None:
    bundle = Bundle(sample())
    assert bundle.get("Deployment", "web")["spec"]["replicas"] == 2  # type: ignore[index]
    assert bundle.get("ConfigMap", "other", namespace="admin") is not None
    assert bundle.get("ConfigMap", "other", namespace="shop") is None
    assert bundle.get("StorageClass", "gp3", group="storage.k8s.io") is not None
    assert bundle.get("StorageClass", "gp3", group="") is None
    assert bundle.get("Nope", "x") is None


def test_get_ambiguous_asks_for_namespace() -> None:
    bundle = Bundle([cm("x", ns="a"), cm("x", ns="b")])
    with pytest.raises(BundleError, match="ambiguous"):
        bundle.get("ConfigMap", "x")
    assert bundle.get("ConfigMap", "x", namespace="b")["metadata"]["namespace"] == "b"  # type: ignore[index]


def test_duplicates_and_invalid_objects_are_rejected() -> None:
    with pytest.raises(BundleError, match="both"):
        Bundle([cm("x"), cm("x")])
    with pytest.raises(BundleError, match="no apiVersion"):
        Bundle([{"kind": "ConfigMap", "metadata": {"name": "x"}}])
    with pytest.raises(BundleError, match=r"no metadata\.name"):
        Bundle([{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"generateName": "x-"}}])


def test_evolve_keeps_meta_and_applies_updates() -> None:
    bundle = Bundle(sample(), meta={"source": {"provider": "aws", "server_version": "v1.34.4"}, "custom": 1})
    new = bundle.evolve([cm("only")], custom=2, target="ionos")
    assert len(new) == 1 and len(bundle) == 6
    assert new.meta["source"]["provider"] == "aws"
    assert new.meta["custom"] == 2 and new.meta["target"] == "ionos"
    assert bundle.meta["custom"] == 1
    same = bundle.evolve()
    assert [r.key for r in same.refs] == [r.key for r in bundle.refs]


def test_repr_and_dict_hold_no_secret_values() -> None:
    bundle = Bundle(sample(), meta={"source": {"provider": "aws", "server_version": "v1.34.4"}})
    rendered = repr(bundle) + bundle._repr_html_() + json.dumps(bundle.to_dict()) + bundle.to_text()
    assert "aws" in repr(bundle) and "6 objects" in repr(bundle)
    assert PASSWORD_B64 not in rendered and "admin-user-value" not in rendered
    assert bundle.to_dict()["kinds"]["Secret"] == 1


# ------------------------------------------------------------------------------------------------ on disk


def test_save_and_load_round_trip(tmp_path: Path) -> None:
    bundle = Bundle(sample(), meta={"source": {"provider": "aws", "server_version": "v1.34.4"}, "custom": {"k": 1}})
    saved = bundle.save(tmp_path / "b")
    assert saved.path == tmp_path / "b"
    loaded = Bundle.load(tmp_path / "b")
    assert loaded.objects == bundle.objects
    assert loaded.meta["custom"] == {"k": 1}
    assert loaded.meta["source"]["provider"] == "aws"
    manifest = yaml.safe_load((tmp_path / "b" / MANIFEST).read_text())
    assert manifest["format"] == FORMAT_VERSION
    entry = manifest["objects"][0]
    assert entry["ref"] == {"apiVersion": "v1", "kind": "Namespace", "name": "shop"}
    assert entry["file"] == "_cluster/core/Namespace/shop.yaml"
    assert len(entry["sha256"]) == 64
    assert (tmp_path / "b" / "shop/apps/Deployment/web.yaml").is_file()


def test_save_is_byte_identical(tmp_path: Path) -> None:
    Bundle(sample()).save(tmp_path / "one")
    Bundle(list(reversed(sample()))).save(tmp_path / "two")
    assert files_of(tmp_path / "one") == files_of(tmp_path / "two")


def test_secret_files_are_private(tmp_path: Path) -> None:
    Bundle(sample()).save(tmp_path / "b")
    secret_mode = stat.S_IMODE((tmp_path / "b/shop/core/Secret/db.yaml").stat().st_mode)
    cm_mode = stat.S_IMODE((tmp_path / "b/shop/core/ConfigMap/settings.yaml").stat().st_mode)
    assert secret_mode == 0o600
    assert cm_mode & 0o044  # readable like any other file


@pytest.mark.parametrize(
    "damage",
    ["edit", "delete", "truncate"],
)
def test_damaged_file_is_named(tmp_path: Path, damage: str) -> None:
    Bundle(sample()).save(tmp_path / "b")
    target = tmp_path / "b/shop/core/ConfigMap/settings.yaml"
    if damage == "edit":
        target.write_text(target.read_text().replace("hi", "ho"))
    elif damage == "delete":
        target.unlink()
    else:
        target.write_bytes(target.read_bytes()[:10])
    with pytest.raises(BundleError) as info:
        Bundle.load(tmp_path / "b")
    assert str(target) in str(info.value)


def test_unlisted_yaml_file_is_an_error(tmp_path: Path) -> None:
    Bundle(sample()).save(tmp_path / "b")
    extra = tmp_path / "b/shop/core/ConfigMap/sneaky.yaml"
    extra.write_text(yaml.safe_dump(cm("sneaky")))
    with pytest.raises(BundleError, match=r"sneaky\.yaml"):
        Bundle.load(tmp_path / "b")


def test_hidden_and_other_files_are_ignored(tmp_path: Path) -> None:
    Bundle(sample()).save(tmp_path / "b")
    (tmp_path / "b/.git").mkdir()
    (tmp_path / "b/.git/config.yaml").write_text("x: 1")
    (tmp_path / "b/README.md").write_text("notes")
    assert len(Bundle.load(tmp_path / "b")) == 6


def test_format_version_is_checked(tmp_path: Path) -> None:
    Bundle(sample()).save(tmp_path / "b")
    manifest_path = tmp_path / "b" / MANIFEST
    manifest = yaml.safe_load(manifest_path.read_text())
    manifest["format"] = FORMAT_VERSION + 1
    manifest_path.write_text(yaml.safe_dump(manifest))
    with pytest.raises(BundleError, match=r"format 2.*Upgrade portkit") as info:
        Bundle.load(tmp_path / "b")
    assert str(manifest_path) in str(info.value)


def test_missing_or_foreign_manifest(tmp_path: Path) -> None:
    with pytest.raises(BundleError, match="does not exist"):
        Bundle.load(tmp_path / "nothing")
    (tmp_path / "plain").mkdir()
    with pytest.raises(BundleError, match=r"manifest\.yaml is missing"):
        Bundle.load(tmp_path / "plain")
    (tmp_path / "plain" / MANIFEST).write_text("kind: Something\n")
    with pytest.raises(BundleError, match="not a portkit bundle manifest"):
        Bundle.load(tmp_path / "plain")


def test_manifest_entry_pointing_at_another_object(tmp_path: Path) -> None:
    Bundle([cm("a"), cm("b")]).save(tmp_path / "b")
    manifest_path = tmp_path / "b" / MANIFEST
    manifest = yaml.safe_load(manifest_path.read_text())
    manifest["objects"][0]["file"], manifest["objects"][1]["file"] = (
        manifest["objects"][1]["file"],
        manifest["objects"][0]["file"],
    )
    manifest["objects"][0]["sha256"], manifest["objects"][1]["sha256"] = (
        manifest["objects"][1]["sha256"],
        manifest["objects"][0]["sha256"],
    )
    manifest_path.write_text(yaml.safe_dump(manifest))
    with pytest.raises(BundleError, match="lists"):
        Bundle.load(tmp_path / "b")


def test_save_over_an_earlier_bundle_removes_stale_files_only(tmp_path: Path) -> None:
    root = tmp_path / "b"
    Bundle(sample()).save(root)
    (root / ".git").mkdir()
    (root / "README.md").write_text("notes")
    Bundle([cm("settings")]).save(root)
    assert not (root / "shop/apps").exists()
    assert not (root / "admin").exists()
    assert (root / ".git").is_dir() and (root / "README.md").read_text() == "notes"
    assert [r.name for r in Bundle.load(root).refs] == ["settings"]


def test_save_refuses_a_foreign_directory(tmp_path: Path) -> None:
    (tmp_path / "code").mkdir()
    (tmp_path / "code" / "main.py").write_text("print()")
    with pytest.raises(BundleError, match="not empty"):
        Bundle(sample()).save(tmp_path / "code")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["code"]  # no staging directory left behind


def test_writer_abort_leaves_target_untouched(tmp_path: Path) -> None:
    Bundle([cm("keep")]).save(tmp_path / "b")
    before = files_of(tmp_path / "b")
    with pytest.raises(RuntimeError), BundleWriter(tmp_path / "b") as writer:
        writer.add(cm("new"))
        raise RuntimeError("boom")
    assert files_of(tmp_path / "b") == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b"]


def test_writer_bundle_is_verified_on_first_access(tmp_path: Path) -> None:
    with BundleWriter(tmp_path / "b") as writer:
        writer.add(cm("a"))
        writer.add(cm("a", x="replaced"))  # the same object again replaces it
        bundle = writer.commit({"namespaces": ["shop"]})
    assert len(bundle) == 1
    assert bundle.objects[0]["data"] == {"x": "replaced"}
    with BundleWriter(tmp_path / "c") as writer:
        writer.add(cm("a"))
        lazy = writer.commit({})
    (tmp_path / "c/shop/core/ConfigMap/a.yaml").write_text("tampered: true\n")
    with pytest.raises(BundleError, match="checksum"):
        _ = lazy.objects


# ------------------------------------------------------------------------------------------- encryption


def test_encrypted_secrets(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(KEY_ENV, raising=False)
    key = generate_key()
    Bundle(sample()).save(tmp_path / "b", key=key)
    text = (tmp_path / "b/shop/core/Secret/db.yaml").read_text()
    assert PASSWORD_B64 not in text and "admin-user-value" not in text
    assert "password:" in text  # key names stay readable
    manifest = yaml.safe_load((tmp_path / "b" / MANIFEST).read_text())
    assert manifest["encryption"]["scheme"] == "aes-256-gcm"
    assert Bundle.load(tmp_path / "b", key=key).get("Secret", "db")["data"]["password"] == PASSWORD_B64  # type: ignore[index]
    with pytest.raises(BundleError, match="no key"):
        Bundle.load(tmp_path / "b")
    with pytest.raises(BundleError, match="not the one this bundle was encrypted with"):
        Bundle.load(tmp_path / "b", key=generate_key())
    monkeypatch.setenv(KEY_ENV, key)
    assert Bundle.load(tmp_path / "b").get("Secret", "db")["stringData"]["user"] == "admin-user-value"  # type: ignore[index]


def test_loaded_encrypted_bundle_stays_encrypted_when_saved(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(KEY_ENV, raising=False)
    key = generate_key()
    Bundle(sample()).save(tmp_path / "a", key=key)
    Bundle.load(tmp_path / "a", key=key).evolve().save(tmp_path / "b")
    assert PASSWORD_B64 not in (tmp_path / "b/shop/core/Secret/db.yaml").read_text()


def test_bad_key_is_a_configuration_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="Fernet"):
        Bundle(sample()).save(tmp_path / "b", key="not-a-key")


# ---------------------------------------------------------------------------------------- from_manifests


def test_from_manifests_files_dirs_lists_and_dicts(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    (repo / "apps").mkdir(parents=True)
    (repo / ".hidden").mkdir()
    (repo / ".hidden" / "x.yaml").write_text("not: a manifest\n")
    (repo / "apps" / "all.yaml").write_text(
        "# Source: chart/templates/cm.yaml\n---\n"
        + yaml.safe_dump(cm("a"))
        + "---\n\n---\n"
        + yaml.safe_dump({"apiVersion": "v1", "kind": "List", "items": [cm("b"), cm("c")]})
    )
    (repo / "apps" / "kustomization.yaml").write_text(
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: [all.yaml]\n"
    )
    (repo / "ns.json").write_text(json.dumps({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}}))
    (repo / "notes.txt").write_text("ignored")
    source = cm("d")
    bundle = Bundle.from_manifests([repo, source])
    assert sorted(r.name for r in bundle.refs) == ["a", "b", "c", "d", "shop"]
    bundle.get("ConfigMap", "d")["data"]["x"] = "changed"  # type: ignore[index]
    assert source["data"] == {}  # dicts are copied
    assert bundle.meta["namespaces"] == ["shop"]


def test_from_manifests_single_sources(tmp_path: Path) -> None:
    path = tmp_path / "one.yml"
    path.write_text(yaml.safe_dump(cm("a")))
    assert len(Bundle.from_manifests(path)) == 1
    assert len(Bundle.from_manifests(str(path))) == 1
    assert len(Bundle.from_manifests(cm("b"))) == 1


def test_from_manifests_names_the_bad_document(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(
        yaml.safe_dump(cm("a")) + "---\n" + yaml.safe_dump({"kind": "ConfigMap", "metadata": {"name": "b"}})
    )
    with pytest.raises(BundleError) as info:
        Bundle.from_manifests(path)
    assert f"{path} (document 2)" in str(info.value) and "apiVersion" in str(info.value)


def test_from_manifests_yaml_syntax_error_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("apiVersion: v1\nkind: [unclosed\n")
    with pytest.raises(BundleError, match=r"broken\.yaml.*line"):
        Bundle.from_manifests(path)


def test_from_manifests_missing_file() -> None:
    with pytest.raises(BundleError, match="does not exist"):
        Bundle.from_manifests("/no/such/file.yaml")


def test_from_manifests_namespaces(tmp_path: Path) -> None:
    deploy = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"}}
    with pytest.raises(BundleError, match=r"no metadata\.namespace"):
        Bundle.from_manifests(deploy)
    bundle = Bundle.from_manifests(
        [
            deploy,
            {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": "r"}},
            {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "x", "namespace": "bogus"}},
            {
                "apiVersion": "apiextensions.k8s.io/v1",
                "kind": "CustomResourceDefinition",
                "metadata": {"name": "widgets.example.com"},
                "spec": {"group": "example.com", "scope": "Cluster", "names": {"kind": "Widget"}},
            },
            {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}},
            {"apiVersion": "cert-manager.io/v1", "kind": "ClusterIssuer", "metadata": {"name": "le"}},
        ],
        namespace="shop",
    )
    scopes = {r.name: r.namespace for r in bundle.refs}
    assert scopes == {"web": "shop", "r": "", "x": "", "widgets.example.com": "", "w": "", "le": ""}


def test_from_manifests_duplicates_name_both_places(tmp_path: Path) -> None:
    one, two = tmp_path / "one.yaml", tmp_path / "two.yaml"
    one.write_text(yaml.safe_dump(cm("a")))
    two.write_text(yaml.safe_dump(cm("a")))
    with pytest.raises(BundleError) as info:
        Bundle.from_manifests([one, two])
    assert str(one) in str(info.value) and str(two) in str(info.value)


def test_from_manifests_reads_a_bundle_directory(tmp_path: Path) -> None:
    Bundle(sample()).save(tmp_path / "b")
    extra = tmp_path / "extra.yaml"
    extra.write_text(yaml.safe_dump(cm("extra")))
    assert len(Bundle.from_manifests([tmp_path / "b", extra])) == 7


def test_from_manifests_keeps_timestamps_as_strings(tmp_path: Path) -> None:
    path = tmp_path / "t.yaml"
    path.write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, namespace: s}\ndata: {day: 2024-01-01}\n")
    assert Bundle.from_manifests(path).objects[0]["data"]["day"] == "2024-01-01"


def test_file_modes_do_not_depend_on_umask_for_secrets(tmp_path: Path) -> None:
    old = os.umask(0)
    try:
        Bundle([secret()]).save(tmp_path / "b")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "b/shop/core/Secret/db.yaml").stat().st_mode) == 0o600


def test_odd_names_round_trip(tmp_path: Path) -> None:
    objs = [
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": "system:view"}},
        {"apiVersion": "example.com/v1", "kind": "Thing", "metadata": {"name": "Upper.Case", "namespace": "a"}},
        {"apiVersion": "example.com/v1", "kind": "Thing", "metadata": {"name": "upper.case", "namespace": "a"}},
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "y", "namespace": "on"}},
    ]
    Bundle(objs).save(tmp_path / "b")
    loaded = Bundle.load(tmp_path / "b")
    assert sorted(r.name for r in loaded.refs) == ["Upper.Case", "system:view", "upper.case", "y"]
    assert loaded.get("ConfigMap", "y", namespace="on") == objs[3]
