"""translate_tree over what a repository holds besides plain YAML manifests: JSON, single files, files
that are not manifests or not YAML, symbolic links, hidden directories, several documents of one identity."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from portkit.errors import ConfigurationError
from portkit.gitops import translate_tree

PVC = """\
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: data, namespace: shop}
spec:
  storageClassName: gp3   # fast
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 10Gi}}
"""


def test_json_manifests_are_written_as_json_with_their_indentation(tmp_path: Path) -> None:
    obj = json.loads(
        json.dumps(
            {
                "apiVersion": "v1",
                "kind": "PersistentVolumeClaim",
                "metadata": {"name": "d", "namespace": "s"},
                "spec": {"storageClassName": "gp2", "resources": {"requests": {"storage": "2Gi"}}},
            }
        )
    )
    (tmp_path / "pvc.json").write_text(json.dumps(obj, indent=4) + "\n")
    result = translate_tree(tmp_path, "aws", "ionos", in_place=True)
    text = (tmp_path / "pvc.json").read_text()
    assert json.loads(text)["spec"]["storageClassName"] == "ionos-enterprise-ssd"
    assert text.startswith('{\n    "apiVersion": "v1",') and text.endswith("}\n")
    assert result.file("pvc.json") is not None


def test_a_single_file_in_place_and_into_a_directory(tmp_path: Path) -> None:
    src = tmp_path / "pvc.yaml"
    src.write_text(PVC)
    out = tmp_path / "out"
    result = translate_tree(src, "aws", "ionos", output_dir=out)
    assert src.read_text() == PVC
    assert (out / "pvc.yaml").read_text() == PVC.replace("gp3   # fast", "ionos-enterprise-ssd   # fast")
    assert result.written_to == out.resolve()
    translate_tree(src, "aws", "ionos", in_place=True)
    assert src.read_text() == (out / "pvc.yaml").read_text()
    other = tmp_path / "plain.yaml"
    other.write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: s}\n")
    translate_tree(other, "aws", "ionos", output_dir=tmp_path / "out2")
    assert (tmp_path / "out2" / "plain.yaml").read_text() == other.read_text()


def test_what_is_left_alone_is_said(tmp_path: Path) -> None:
    (tmp_path / "pvc.yaml").write_text(PVC)
    (tmp_path / "values.yaml").write_text("replicas: 3\nimage: {tag: v1}\n")
    (tmp_path / "broken.yaml").write_text("a: [b\n")
    (tmp_path / "mixed.yaml").write_bytes(b"a: 1\r\nb: 2\n")
    (tmp_path / "latin1.yaml").write_bytes(b"a: \xe9\n")
    (tmp_path / "link.yaml").symlink_to(tmp_path / "pvc.yaml")
    (tmp_path / ".github").mkdir()
    (tmp_path / ".github" / "ci.yaml").write_text(PVC)
    result = translate_tree(tmp_path, "aws", "ionos")
    notes = "\n".join(result.notes)
    assert "left as they are (no Kubernetes objects in them): values.yaml" in notes
    assert "broken.yaml: not read (cannot parse YAML at line 2" in notes
    assert "mixed.yaml: not read (mixes line endings" in notes
    assert "latin1.yaml: not read (not UTF-8 text)" in notes
    assert "link.yaml: not read (a symbolic link (not followed))" in notes
    assert ".github" not in notes
    assert [f.path for f in result.changed_files] == ["pvc.yaml"]


def test_several_objects_of_one_identity_are_each_translated(tmp_path: Path) -> None:
    """Two overlays' own copies of one object (no namespace: the overlays set it) are not one object."""
    for env in ("staging", "prod"):
        (tmp_path / env).mkdir()
        (tmp_path / env / "pvc.yaml").write_text(PVC.replace("namespace: shop", "namespace: ''"))
    result = translate_tree(tmp_path, "aws", "ionos", in_place=True)
    assert len(result.changed_files) == 2
    for env in ("staging", "prod"):
        assert "storageClassName: ionos-enterprise-ssd" in (tmp_path / env / "pvc.yaml").read_text()


def test_arguments(tmp_path: Path) -> None:
    (tmp_path / "pvc.yaml").write_text(PVC)
    with pytest.raises(ConfigurationError, match="exclude each other"):
        translate_tree(tmp_path, "aws", "ionos", in_place=True, output_dir=tmp_path / "o")
    with pytest.raises(ConfigurationError, match="no target provider"):
        translate_tree(tmp_path, "aws", None)
    with pytest.raises(ConfigurationError, match="does not exist"):
        translate_tree(tmp_path / "nope", "aws", "ionos")
    with pytest.raises(ConfigurationError, match="is inside"):
        translate_tree(tmp_path, "aws", "ionos", output_dir=tmp_path / "inside")
    (tmp_path / "cm.yaml").unlink(missing_ok=True)
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "cm.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: s}\n")
    with pytest.raises(ConfigurationError, match="cannot tell which provider"):
        translate_tree(empty, None, "ionos")
