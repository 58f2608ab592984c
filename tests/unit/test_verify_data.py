"""Data verification without a cluster: the checker's manifest format, the comparison, the result objects,
the checker pod's security properties, and the quiesce record. (Real checker pods on real nodes run in
tests/integration/test_data_migration.py and test_real_nodes.py.)"""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path

import pytest

from portkit.errors import VolumeMoveError
from portkit.volumes.quiesce import QuiesceState, ScaledWorkload, holder_pod
from portkit.volumes.velero import log_errors
from portkit.volumes.verify import (
    _SCRIPT,
    DEFAULT_IMAGE,
    ClaimCheck,
    DataVerifyError,
    DataVerifyResult,
    TreeManifest,
    checker_pod,
    compare_trees,
    parse_manifest,
)

BUSYBOX = Path("/bin/busybox")


def run_checker_script(root: Path) -> str:
    """Run the checker's real script with the real busybox against a directory (as the pod does on /data)."""
    script = _SCRIPT.replace("cd /data", f"cd {root}").replace("/tmp/errors", str(root.parent / "errors"))
    env = {"PATH": str(root.parent / "bin")}
    bindir = root.parent / "bin"
    bindir.mkdir(exist_ok=True)
    for applet in ("sh", "find", "od", "stat", "sha256sum", "readlink", "cat", "echo"):
        link = bindir / applet
        if not link.exists():
            link.symlink_to(BUSYBOX)
    proc = subprocess.run([str(bindir / "sh"), "-c", script], capture_output=True, text=True, env=env, check=True)
    return proc.stdout


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "data"
    (root / "a" / "b").mkdir(parents=True)
    (root / "a" / "f1").write_bytes(b"one")
    (root / "a" / "b" / "big").write_bytes(bytes(range(256)) * 400)
    (root / "empty").write_bytes(b"")
    (root / "we ird\nname").write_bytes(b"newline in the name")
    (root / "link").symlink_to("a/f1")
    (root / "lost+found").mkdir()
    (root / "lost+found" / "junk").write_bytes(b"x")
    (root / "a" / "f1").chmod(0o600)
    return root


def test_the_real_script_with_real_busybox_round_trips_every_name_and_attribute(tree: Path) -> None:
    manifest = parse_manifest(run_checker_script(tree))
    entries = manifest.entries
    assert set(entries) == {"a", "a/b", "a/f1", "a/b/big", "empty", "we ird\nname", "link"}  # lost+found ignored
    assert entries["a/f1"].digest == hashlib.sha256(b"one").hexdigest() and entries["a/f1"].mode == 0o600
    assert entries["a/b/big"].size == 102400
    assert entries["we ird\nname"].digest == hashlib.sha256(b"newline in the name").hexdigest()
    assert entries["link"].kind == "symlink" and entries["link"].target == "a/f1"
    assert entries["a"].kind == "dir"
    assert manifest.files == 4 and manifest.bytes == 3 + 102400 + 0 + 19
    assert manifest.errors == ()


def test_one_changed_byte_mode_or_link_is_found_and_named(tree: Path, tmp_path: Path) -> None:
    before = parse_manifest(run_checker_script(tree))
    big = tree / "a" / "b" / "big"
    data = bytearray(big.read_bytes())
    data[5000] ^= 1
    big.write_bytes(bytes(data))
    (tree / "empty").chmod(0o640)
    (tree / "link").unlink()
    (tree / "link").symlink_to("a/b")
    (tree / "new").write_bytes(b"extra")
    (tree / "we ird\nname").unlink()
    after = parse_manifest(run_checker_script(tree))
    missing, extra, different = compare_trees(before, after)
    assert missing == ["we ird\nname"] and extra == ["new"]
    assert dict(different) == {
        "a/b/big": "content",
        "empty": "mode 0644 → 0640",
        "link": "link target 'a/f1' → 'a/b'",
    }
    assert before.digest != after.digest


def manifest_text(
    paths: list[bytes], stats: list[str], hashes: list[str], links: list[bytes] = (), end: bool = True
) -> str:
    hexed = " ".join(f"{b:02x}" for b in b"\0".join(paths) + b"\0")
    lines = ["@portkit-verify v1", "@paths", hexed, "@stat", *stats, "@hash", *[f"{h}  -" for h in hashes], "@links"]
    for target in links:
        lines += [" ".join(f"{b:02x}" for b in target + b"\n"), "@@"]
    lines += ["@errors"]
    if end:
        lines.append("@end")
    return "\n".join(lines) + "\n"


def test_a_cut_log_or_a_tree_that_changed_while_read_is_an_error_not_a_result() -> None:
    text = manifest_text([b"./f"], ["81a4 3 0 0"], ["ab" * 32], end=False)
    with pytest.raises(DataVerifyError, match="incomplete"):
        parse_manifest(text)
    with pytest.raises(DataVerifyError, match="changed while it was read"):
        parse_manifest(manifest_text([b"./f", b"./g"], ["81a4 3 0 0"], ["ab" * 32]))
    with pytest.raises(DataVerifyError, match="fewer digests"):
        parse_manifest(manifest_text([b"./f", b"./g"], ["81a4 3 0 0", "81a4 3 0 0"], ["ab" * 32]))
    with pytest.raises(DataVerifyError, match="could not read the volume"):
        parse_manifest("@fatal cannot enter the volume\n")
    with pytest.raises(DataVerifyError):
        parse_manifest("no manifest at all")


def test_owner_and_type_changes_are_differences() -> None:
    a = parse_manifest(manifest_text([b"./f", b"./d"], ["81a4 3 1000 1000", "41ed 4096 0 0"], ["ab" * 32]))
    b = parse_manifest(manifest_text([b"./f", b"./d"], ["81a4 3 0 0", "81a4 0 0 0"], ["ab" * 32, "cd" * 32]))
    _, _, different = compare_trees(a, b)
    assert dict(different) == {"f": "owner 1000:1000 → 0:0", "d": "type dir → file"}


def test_results_render_for_people_and_machines() -> None:
    tree = parse_manifest(manifest_text([b"./f"], ["81a4 3 0 0"], ["ab" * 32]))
    equal = ClaimCheck("shop/data", "shop-eu/data", "equal", source_tree=tree, target_tree=tree)
    diff = ClaimCheck(
        "shop/logs",
        "shop-eu/logs",
        "different",
        source_tree=tree,
        target_tree=tree,
        different=(("x/y", "content"),),
        missing=("gone",),
    )
    result = DataVerifyResult((equal, diff), DEFAULT_IMAGE, 1.5)
    assert not result.ok and result.files == 2 and result.bytes == 6
    text = result.to_text()
    assert "different: x/y (content)" in text and "missing on target: gone" in text and "NOT all equal" in text
    assert "DIFFERENT" in repr(result)
    data = json.loads(json.dumps(result.to_dict()))
    assert data["claims"][1]["different"] == [{"path": "x/y", "what": "content"}]
    assert data["claims"][0]["source_tree"]["digest"] == tree.digest
    html = result._repr_html_()
    assert "x/y" in html and "<table>" in html
    assert DataVerifyResult((equal,), DEFAULT_IMAGE).ok
    assert not DataVerifyResult((), DEFAULT_IMAGE).ok  # nothing verified is not "all equal"
    escaped = DataVerifyResult(
        (ClaimCheck("a", "b", "different", different=(("<script>", "content"),)),), DEFAULT_IMAGE
    )._repr_html_()
    assert "<script>" not in escaped


def test_the_checker_pod_is_read_only_unprivileged_and_labelled() -> None:
    pod = checker_pod("data", "shop", node="n1")
    spec = pod["spec"]
    container = spec["containers"][0]
    assert spec["automountServiceAccountToken"] is False and spec["restartPolicy"] == "Never"
    assert spec["nodeName"] == "n1"
    assert pod["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "portkit"
    sc = container["securityContext"]
    assert sc["privileged"] is False and sc["allowPrivilegeEscalation"] is False and sc["readOnlyRootFilesystem"]
    assert sc["capabilities"] == {"drop": ["ALL"], "add": ["DAC_OVERRIDE"]}  # allowed by PSA "baseline"
    restricted = checker_pod("data", "shop", restricted=True)["spec"]
    assert restricted["securityContext"]["runAsNonRoot"] is True
    assert restricted["containers"][0]["securityContext"]["capabilities"] == {"drop": ["ALL"]}
    assert container["resources"]["limits"] == {"cpu": "1", "memory": "128Mi"}
    data_mount = next(m for m in container["volumeMounts"] if m["name"] == "data")
    assert data_mount["readOnly"] is True
    assert spec["volumes"][0]["persistentVolumeClaim"] == {"claimName": "data", "readOnly": True}
    assert container["image"] == DEFAULT_IMAGE == "docker.io/library/busybox:1.36.1"
    assert container["imagePullPolicy"] == "IfNotPresent"


def test_the_quiesce_record_round_trips_and_refuses_garbage(tmp_path: Path) -> None:
    state = QuiesceState((ScaledWorkload("shop", "StatefulSet", "db", 3),), ("shop/portkit-hold-x",), 12.5)
    path = tmp_path / "q.json"
    state.save(path)
    assert QuiesceState.load(path) == state
    assert state.replicas() == {("shop", "StatefulSet", "db"): 3}
    assert QuiesceState.load(tmp_path / "none.json") is None
    path.write_text("{not json")
    with pytest.raises(VolumeMoveError, match="Cannot read the quiesce record"):
        QuiesceState.load(path)
    path.write_text(json.dumps({"workloads": [{"namespace": "shop"}]}))
    with pytest.raises(VolumeMoveError, match="malformed"):
        QuiesceState.load(path)


def test_holder_pods_only_mount_and_sleep() -> None:
    pod = holder_pod("shop", "data-db-0", image=DEFAULT_IMAGE)
    spec = pod["spec"]
    assert spec["automountServiceAccountToken"] is False
    assert spec["containers"][0]["command"] == ["sleep", "2147483647"]
    assert spec["volumes"] == [{"name": "data", "persistentVolumeClaim": {"claimName": "data-db-0"}}]
    assert pod["metadata"]["labels"]["portkit.dev/role"] == "volume-holder"
    assert len(pod["metadata"]["name"]) <= 63
    long = holder_pod("shop", "x" * 200, image=DEFAULT_IMAGE)["metadata"]["name"]
    assert len(long) <= 63 and long != holder_pod("shop", "x" * 199, image=DEFAULT_IMAGE)["metadata"]["name"]


def test_velero_log_errors_name_the_item_and_the_reason() -> None:
    log = (
        'time="2026-12-07T08:40:40Z" level=info msg="Backing up item" backup=velero/fs-shop name=db-1\n'
        'time="2026-12-07T08:40:40Z" level=error msg="Error backing up item" backup=velero/fs-shop '
        'error="daemonset pod not found in running state in node ip-10-0-2-17" '
        'logSource="pkg/backup/backup.go:100" name=db-678ffcd9c4-dtgt7 resource=pods\n'
        'time="2026-12-07T08:40:41Z" level=error msg="Error backing up item" backup=velero/fs-shop '
        'error="daemonset pod not found in running state in node ip-10-0-2-17" '
        'logSource="pkg/backup/backup.go:100" name=db-678ffcd9c4-dtgt7 resource=pods\n'
    )
    assert log_errors(log) == (
        "Error backing up item: daemonset pod not found in running state in node ip-10-0-2-17 "
        "[resource pods] [name db-678ffcd9c4-dtgt7]",
    )
    assert log_errors("") == ()


def test_tree_digest_depends_on_every_compared_attribute() -> None:
    base = manifest_text([b"./f"], ["81a4 3 0 0"], ["ab" * 32])
    digests = {
        parse_manifest(base).digest,
        parse_manifest(manifest_text([b"./g"], ["81a4 3 0 0"], ["ab" * 32])).digest,
        parse_manifest(manifest_text([b"./f"], ["81ed 3 0 0"], ["ab" * 32])).digest,
        parse_manifest(manifest_text([b"./f"], ["81a4 3 1 0"], ["ab" * 32])).digest,
        parse_manifest(manifest_text([b"./f"], ["81a4 4 0 0"], ["ab" * 32])).digest,
        parse_manifest(manifest_text([b"./f"], ["81a4 3 0 0"], ["cd" * 32])).digest,
    }
    assert len(digests) == 6
    assert isinstance(parse_manifest(base), TreeManifest)
