"""Hostile bundle and manifest files: what portkit reads and writes when the input is out to hurt it.

Every case asserts the exact error class and that nothing outside the output directory was written or
deleted (:func:`snapshot` of the whole sandbox before and after). Reading never writes anything; writing
never writes through, or deletes behind, an entry portkit did not write. Crashes during a save are
simulated at every step of the commit (in-process, and with a real SIGKILL in a child process).
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import signal
import stat
import subprocess
import sys
import tempfile
import textwrap
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from portkit import _commit
from portkit._safe_yaml import _Fallback, _fast, _guarded
from portkit.bundle import FORMAT_VERSION, MANIFEST, Bundle, BundleWriter, load_yaml_documents, object_path
from portkit.cli import main
from portkit.cli._common import EXIT_FAILED, EXIT_USAGE, exit_code_for
from portkit.errors import (
    ApplyError,
    BundleError,
    BundleWriteError,
    ConfigurationError,
    DocumentTooComplexError,
    DuplicateKeyError,
    FileTooLargeError,
    InputError,
    PortkitError,
    TranslationError,
    UnsafeFileError,
)
from portkit.limits import DEFAULT_LIMITS, ReadLimits
from portkit.model import ObjectRef

Obj = dict[str, Any]
ROOT = Path(__file__).resolve().parents[3]


def cm(name: str, ns: str = "shop", **data: str) -> Obj:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": ns}, "data": data}


def objs_old() -> list[Obj]:
    return [cm("a", x="1"), cm("b", x="2"), cm("gone", ns="legacy")]


def objs_new() -> list[Obj]:
    return [cm("a", x="10"), cm("c", x="3")]


# ------------------------------------------------------------------------------------------- sandbox


def snapshot(root: Path) -> dict[str, tuple[Any, ...]]:
    """Every entry below ``root`` (hidden ones too, links not followed): kind, mode and content."""
    out: dict[str, tuple[Any, ...]] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = Path(dirpath) / name
            rel = path.relative_to(root).as_posix()
            st_ = os.lstat(path)
            mode = stat.S_IMODE(st_.st_mode)
            if stat.S_ISLNK(st_.st_mode):
                out[rel] = ("link", os.readlink(path))
            elif stat.S_ISDIR(st_.st_mode):
                out[rel] = ("dir", mode)
            elif stat.S_ISREG(st_.st_mode):
                content = path.read_bytes() if st_.st_size < 2**20 else ("size", st_.st_size)
                out[rel] = ("file", mode, content)
            else:
                out[rel] = ("special", stat.S_IFMT(st_.st_mode), mode)
    return out


@pytest.fixture
def sandbox(tmp_path: Path) -> Path:
    """A directory with things that must survive: a victim tree outside any bundle."""
    outside = tmp_path / "outside"
    (outside / "core" / "ConfigMap").mkdir(parents=True)
    (outside / "secret.txt").write_text("do not touch\n")
    (outside / "core" / "ConfigMap" / "a.yaml").write_text("victim: true\n")
    (outside / "core" / "ConfigMap" / "gone.yaml").write_text("victim: true\n")
    return tmp_path


def untouched_outside(tmp_path: Path, before: dict[str, tuple[Any, ...]], out: str = "out") -> None:
    """Nothing outside ``tmp_path/out`` changed, and no staging directory was left next to it."""
    after = snapshot(tmp_path)
    strip = {k: v for k, v in before.items() if k != out and not k.startswith(f"{out}/")}
    now = {k: v for k, v in after.items() if k != out and not k.startswith(f"{out}/")}
    assert now == strip


def rewrite_manifest(root: Path, change: Callable[[dict[str, Any]], None]) -> None:
    data = yaml.safe_load((root / MANIFEST).read_text())
    change(data)
    (root / MANIFEST).write_text(yaml.safe_dump(data, sort_keys=False))


def entry_of(data: dict[str, Any], name: str) -> dict[str, Any]:
    return next(e for e in data["objects"] if e["ref"]["name"] == name)


def set_file(root: Path, rel: str, content: bytes) -> None:
    """Write an object file and make the manifest's checksum match (what an attacker can always do)."""
    (root / rel).write_bytes(content)

    def fix(data: dict[str, Any]) -> None:
        for e in data["objects"]:
            if e["file"] == rel:
                e["sha256"] = hashlib.sha256(content).hexdigest()

    rewrite_manifest(root, fix)


def _bomb() -> str:
    """A ConfigMap whose 17 levels of 16 aliases each expand to about 10**19 strings ("billion laughs")."""
    levels = "abcdefghijklmnopq"
    lines = ["apiVersion: v1", "kind: ConfigMap", "metadata:", "  name: lol", "  namespace: shop", "x-anchors:"]
    lines.append('  a: &a ["lolololololololololololololololololololol", "lol"]')
    for prev, cur in itertools.pairwise(levels):
        lines.append(f"  {cur}: &{cur} [{', '.join(f'*{prev}' for _ in range(16))}]")
    lines += ["data:", "  a: *q", "  b: *q"]
    return "\n".join(lines) + "\n"


BOMB = _bomb()


def test_the_alias_bomb_is_small() -> None:
    assert 1200 <= len(BOMB.encode()) <= 1500  # the issue's 1.4 kB


# ====================================================================================== reading files


def saved(path: Path, objs: list[Obj] | None = None) -> Path:
    Bundle(objs if objs is not None else objs_old()).save(path)
    return path


@pytest.mark.timeout(30)
def test_fifo_as_object_file_is_refused_without_hanging(sandbox: Path) -> None:
    root = saved(sandbox / "b")
    rel = "shop/core/ConfigMap/a.yaml"
    (root / rel).unlink()
    os.mkfifo(root / rel)
    before = snapshot(sandbox)
    with pytest.raises(UnsafeFileError, match=r"a\.yaml is a FIFO"):
        Bundle.load(root)
    assert snapshot(sandbox) == before


@pytest.mark.timeout(30)
def test_fifo_as_manifest_is_refused_without_hanging(sandbox: Path) -> None:
    root = saved(sandbox / "b")
    (root / MANIFEST).unlink()
    os.mkfifo(root / MANIFEST)
    before = snapshot(sandbox)
    with pytest.raises(UnsafeFileError, match=r"manifest\.yaml is a FIFO"):
        Bundle.load(root)
    assert snapshot(sandbox) == before


@pytest.mark.timeout(30)
def test_unlisted_fifo_in_a_bundle_is_not_opened(sandbox: Path) -> None:
    root = saved(sandbox / "b")
    os.mkfifo(root / "shop" / "core" / "ConfigMap" / "zzz.yaml")
    with pytest.raises(BundleError, match="not listed") as info:
        Bundle.load(root)
    assert type(info.value) is BundleError


@pytest.mark.timeout(30)
def test_fifo_in_a_manifest_directory_or_named_is_refused_without_hanging(sandbox: Path) -> None:
    src = sandbox / "src"
    src.mkdir()
    (src / "ok.yaml").write_text(yaml.safe_dump(cm("ok")))
    os.mkfifo(src / "pipe.yaml")
    before = snapshot(sandbox)
    with pytest.raises(UnsafeFileError, match=r"pipe\.yaml is a FIFO"):
        Bundle.from_manifests(src)
    with pytest.raises(UnsafeFileError, match=r"pipe\.yaml is a FIFO"):
        Bundle.from_manifests(src / "pipe.yaml")
    assert snapshot(sandbox) == before


@pytest.mark.timeout(30)
def test_fifo_as_a_rule_file_or_namespaces_file_is_refused_without_hanging(sandbox: Path) -> None:
    from portkit.fleet import read_namespaces_file
    from portkit.translate.rules import load_rules

    os.mkfifo(sandbox / "rules.yaml")
    with pytest.raises(UnsafeFileError, match=r"rules\.yaml is a FIFO"):
        load_rules(sandbox / "rules.yaml")
    with pytest.raises(UnsafeFileError, match=r"rules\.yaml is a FIFO"):
        read_namespaces_file(sandbox / "rules.yaml")
    (sandbox / "bomb-rules.yaml").write_text(BOMB)
    with pytest.raises(DocumentTooComplexError, match=r"rule file .*bomb-rules\.yaml: YAML aliases"):
        load_rules(sandbox / "bomb-rules.yaml")
    (sandbox / "dup-rules.yaml").write_text("version: v1\nversion: v1\nresourceModifierRules: []\n")
    with pytest.raises(DuplicateKeyError, match="'version' appears twice"):
        load_rules(sandbox / "dup-rules.yaml")


def test_object_file_that_is_a_symlink_out_of_the_bundle_is_refused(sandbox: Path) -> None:
    root = saved(sandbox / "b")
    rel = "shop/core/ConfigMap/a.yaml"
    content = (root / rel).read_bytes()
    (sandbox / "outside" / "copy.yaml").write_bytes(content)  # same bytes: the checksum matches
    (root / rel).unlink()
    (root / rel).symlink_to(sandbox / "outside" / "copy.yaml")
    before = snapshot(sandbox)
    with pytest.raises(UnsafeFileError, match=r"a\.yaml is a symbolic link"):
        Bundle.load(root)
    assert snapshot(sandbox) == before


def test_namespace_directory_that_is_a_symlink_is_refused(sandbox: Path) -> None:
    root = saved(sandbox / "b")
    (sandbox / "outside" / "shop").mkdir()
    os.rename(root / "shop", sandbox / "outside" / "shop2")
    (root / "shop").symlink_to(sandbox / "outside" / "shop2")
    before = snapshot(sandbox)
    with pytest.raises(UnsafeFileError, match=r"b/shop is a symbolic link"):
        Bundle.load(root)
    assert snapshot(sandbox) == before


def test_manifest_that_is_a_symlink_is_refused(sandbox: Path) -> None:
    root = saved(sandbox / "b")
    os.rename(root / MANIFEST, sandbox / "outside" / MANIFEST)
    (root / MANIFEST).symlink_to(sandbox / "outside" / MANIFEST)
    with pytest.raises(UnsafeFileError, match=r"manifest\.yaml is a symbolic link"):
        Bundle.load(root)


def test_bundle_root_given_as_a_symlink_is_fine(sandbox: Path) -> None:
    root = saved(sandbox / "b")
    (sandbox / "link").symlink_to(root)
    assert len(Bundle.load(sandbox / "link")) == 3


@pytest.mark.timeout(30)
def test_symlink_to_dev_zero_is_refused_never_read(sandbox: Path) -> None:
    root = saved(sandbox / "b")
    rel = "shop/core/ConfigMap/a.yaml"
    (root / rel).unlink()
    (root / rel).symlink_to("/dev/zero")
    with pytest.raises(UnsafeFileError, match="symbolic link"):
        Bundle.load(root)
    src = sandbox / "src"
    src.mkdir()
    (src / "zero.yaml").symlink_to("/dev/zero")
    with pytest.raises(UnsafeFileError, match="outside"):
        Bundle.from_manifests(src)
    with pytest.raises(UnsafeFileError, match="character device"):
        Bundle.from_manifests(src / "zero.yaml")  # named by the user: followed, then refused as a device


def test_symlink_inside_a_manifest_directory_is_followed(sandbox: Path) -> None:
    src = sandbox / "src"
    (src / "base").mkdir(parents=True)
    (src / "base" / "cm.txt").write_text(yaml.safe_dump(cm("linked")))  # not .yaml: read only through the link
    (src / "linked.yaml").symlink_to("base/cm.txt")
    assert [o["metadata"]["name"] for o in Bundle.from_manifests(src)] == ["linked"]


def test_sparse_3_gib_object_file_is_a_size_error_not_a_memory_error(sandbox: Path) -> None:
    root = saved(sandbox / "b")
    rel = "shop/core/ConfigMap/a.yaml"
    with open(root / rel, "r+b") as handle:
        handle.truncate(3 * 2**30)
    started = time.monotonic()
    with pytest.raises(FileTooLargeError, match=r"a\.yaml is 3072\.0 MiB, over the limit of 64\.0 MiB per file"):
        Bundle.load(root)
    src = sandbox / "src"
    src.mkdir()
    with open(src / "big.yaml", "wb") as handle:
        handle.truncate(3 * 2**30)
    with pytest.raises(FileTooLargeError, match=r"big\.yaml is 3072\.0 MiB"):
        Bundle.from_manifests(src)
    assert time.monotonic() - started < 5


def test_size_limits_per_file_and_per_bundle_can_be_set(sandbox: Path) -> None:
    root = saved(sandbox / "b", [cm(f"c{i}", x="y" * 100) for i in range(20)])
    assert len(Bundle.load(root, limits=ReadLimits(max_file_bytes=10_000))) == 20
    with pytest.raises(FileTooLargeError, match="per file"):
        Bundle.load(root, limits=ReadLimits(max_file_bytes=100))
    with pytest.raises(FileTooLargeError, match="in all"):
        Bundle.load(root, limits=ReadLimits(max_total_bytes=2_000))
    with pytest.raises(FileTooLargeError, match="the manifests is over the limit"):
        Bundle.from_manifests([root / "shop"], limits=ReadLimits(max_total_bytes=1_000))


def test_lazy_bundles_keep_their_limits(sandbox: Path) -> None:
    root = saved(sandbox / "b", [cm(f"c{i}", x="y" * 100) for i in range(20)])
    with BundleWriter(sandbox / "w") as writer:
        for o in Bundle.load(root):
            writer.add(o)
        lazy = writer.commit({})
    lazy._limits = ReadLimits(max_total_bytes=500)
    with pytest.raises(FileTooLargeError):
        lazy.objects  # noqa: B018


def test_read_limits_must_be_positive() -> None:
    with pytest.raises(ValueError, match="max_depth"):
        ReadLimits(max_depth=0)
    with pytest.raises(ValueError, match="max_file_bytes"):
        ReadLimits(max_file_bytes=True)


# ---------------------------------------------------------------------------------------------- YAML


def test_alias_bomb_is_refused_quickly_in_plain_files_manifests_and_object_files(sandbox: Path) -> None:
    (sandbox / "bomb.yaml").write_text(BOMB)
    tracemalloc.start()
    started = time.monotonic()
    try:
        with pytest.raises(DocumentTooComplexError, match=r"bomb\.yaml: YAML aliases would expand"):
            Bundle.from_manifests(sandbox / "bomb.yaml")
        root = saved(sandbox / "b")
        set_file(root, "shop/core/ConfigMap/a.yaml", BOMB.replace("name: lol", "name: a").encode())
        with pytest.raises(DocumentTooComplexError, match=r"a\.yaml: YAML aliases"):
            Bundle.load(root)
        bomb_manifest = BOMB.replace("apiVersion: v1\n", "format: 1\nobjects: []\n", 1)
        (root / MANIFEST).write_text(bomb_manifest)
        with pytest.raises(DocumentTooComplexError, match=r"manifest\.yaml: YAML aliases"):
            Bundle.load(root)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert time.monotonic() - started < 5
    assert peak < 20 * 2**20


def test_moderate_aliases_and_merge_keys_still_load(tmp_path: Path) -> None:
    text = textwrap.dedent(
        """\
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: web, namespace: shop, labels: &labels {app: web}}
        spec:
          selector: {matchLabels: *labels}
          template:
            metadata: {labels: *labels}
            spec:
              containers:
              - &c {name: web, image: "nginx:1", env: [{name: A, value: "1"}]}
              - <<: *c
                name: sidecar
        """
    )
    (tmp_path / "d.yaml").write_text(text)
    obj = Bundle.from_manifests(tmp_path / "d.yaml").objects[0]
    containers = obj["spec"]["template"]["spec"]["containers"]
    assert containers[1] == {"name": "sidecar", "image": "nginx:1", "env": [{"name": "A", "value": "1"}]}
    with pytest.raises(DocumentTooComplexError, match="aliases would expand the document by"):
        load_yaml_documents(text, where="d.yaml", limits=ReadLimits(max_alias_nodes=3))


def test_recursive_alias_is_refused(tmp_path: Path) -> None:
    with pytest.raises(DocumentTooComplexError, match="refers to the node that holds it"):
        load_yaml_documents("a: &a [1, *a]\n", where="r.yaml")


def test_900_deep_yaml_is_a_clear_error_not_a_recursion_error(tmp_path: Path) -> None:
    head = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: deep, namespace: shop}\ndata: "
    (tmp_path / "flow.yaml").write_text(head + "[" * 900 + "]" * 900 + "\n")
    block = head + "\n" + "".join(f"{' ' * (i + 1)}k:\n" for i in range(900)) + " " * 901 + "k: 1\n"
    (tmp_path / "block.yaml").write_text(block)
    for name in ("flow.yaml", "block.yaml"):
        with pytest.raises(DocumentTooComplexError, match=rf"{name}: line \d+: nested deeper than 128 levels"):
            Bundle.from_manifests(tmp_path / name)
    (tmp_path / "libyaml.yaml").write_text("a: " + "[" * 50_000 + "]" * 50_000)  # over libyaml's own limit
    with pytest.raises(DocumentTooComplexError, match="nested deeper"):
        Bundle.from_manifests(tmp_path / "libyaml.yaml")


def test_deep_yaml_with_aliases_is_refused_by_the_guarded_path() -> None:
    deep = "[" * 200 + "]" * 200
    with pytest.raises(DocumentTooComplexError, match="nested deeper than 128"):
        load_yaml_documents(f"a: &x {deep}\nb: *x\n", where="d.yaml")


def test_50000_deep_json_is_a_clear_error_not_a_recursion_error(tmp_path: Path) -> None:
    (tmp_path / "deep.json").write_text("[" * 50_000 + "]" * 50_000)
    with pytest.raises(DocumentTooComplexError, match=r"deep\.json: nested deeper than 128 levels"):
        Bundle.from_manifests(tmp_path / "deep.json")
    obj = cm("j")
    obj["data"] = {"x": json.loads("[" * 300 + "]" * 300)}
    (tmp_path / "medium.json").write_text(json.dumps(obj))  # parses, then the depth check refuses it
    with pytest.raises(DocumentTooComplexError, match=r"medium\.json: nested deeper"):
        Bundle.from_manifests(tmp_path / "medium.json")


def test_objects_at_the_depth_limit_go_through_load_translate_and_save(tmp_path: Path) -> None:
    from portkit.translate import translate

    value: Any = "leaf"
    for i in range(DEFAULT_LIMITS.max_depth - 2):
        value = {"k": value} if i % 2 else [value]
    obj = {"apiVersion": "example.com/v1", "kind": "Thing", "metadata": {"name": "deep", "namespace": "shop"}}
    obj["spec"] = value
    Bundle([obj]).save(tmp_path / "b")
    loaded = Bundle.load(tmp_path / "b")
    assert loaded.objects == [obj]
    translate(loaded, source="aws", target="ionos").bundle.save(tmp_path / "t")
    (tmp_path / "obj.json").write_text(json.dumps(obj))
    assert Bundle.from_manifests(tmp_path / "obj.json").objects == [obj]


def test_duplicate_yaml_key_is_an_error_naming_file_and_key(sandbox: Path) -> None:
    text = textwrap.dedent(
        """\
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: web, namespace: shop}
        spec:
          template:
            spec:
              containers:
              - name: web
                image: good
                image: evil
        """
    )
    (sandbox / "dup.yaml").write_text(text)
    with pytest.raises(DuplicateKeyError, match=r"dup\.yaml: line 10: the key 'image' appears twice"):
        Bundle.from_manifests(sandbox / "dup.yaml")
    root = saved(sandbox / "b")
    set_file(root, "shop/core/ConfigMap/a.yaml", (root / "shop/core/ConfigMap/a.yaml").read_bytes() + b"data: {}\n")
    with pytest.raises(DuplicateKeyError, match=r"a\.yaml: line \d+: the key 'data' appears twice"):
        Bundle.load(root)


def test_duplicate_keys_next_to_merge_keys_and_in_json(tmp_path: Path) -> None:
    with pytest.raises(DuplicateKeyError, match="'y' appears twice"):
        load_yaml_documents("b: &b {x: 1}\nm:\n  <<: *b\n  y: 1\n  y: 2\n", where="m.yaml")
    assert load_yaml_documents("b: &b {x: 1}\nm:\n  <<: *b\n  x: 2\n", where="m.yaml") == [
        {"b": {"x": 1}, "m": {"x": 2}}
    ]
    (tmp_path / "dup.json").write_text('{"apiVersion": "v1", "kind": "ConfigMap", "kind": "Secret"}')
    with pytest.raises(DuplicateKeyError, match=r"dup\.json: the key 'kind' appears twice"):
        Bundle.from_manifests(tmp_path / "dup.json")


def test_values_python_cannot_build_are_bundle_errors(tmp_path: Path) -> None:
    bad = ("a: " + "1" * 5000, "a: !!int x", "a: !!float x", "a: !!binary aGk=", "a: !!set {x}", "a: !foo x")
    for text in (*bad, "a: !!python/object:os.system x", "? [a]\n: b", "a: ="):
        with pytest.raises(BundleError) as info:
            load_yaml_documents(text, where="v.yaml")
        assert type(info.value) is BundleError
        assert str(info.value).startswith("v.yaml")
    (tmp_path / "big.json").write_text('{"a": ' + "1" * 5000 + "}")
    with pytest.raises(BundleError, match=r"big\.json: cannot parse JSON"):
        Bundle.from_manifests(tmp_path / "big.json")


# ---------------------------------------------------------------------------- names, entries and NULs


def test_nul_and_control_characters_in_manifest_entries(sandbox: Path) -> None:
    root = saved(sandbox / "b")
    before = snapshot(sandbox)

    def nul_file(data: dict[str, Any]) -> None:
        entry_of(data, "a")["file"] = "shop/core/ConfigMap/a\0.yaml"

    def nul_name(data: dict[str, Any]) -> None:
        entry_of(data, "a")["ref"]["name"] = "a\0b"

    def escape_name(data: dict[str, Any]) -> None:
        entry_of(data, "a")["ref"]["name"] = "a\x1b[31m"

    def wrong_type(data: dict[str, Any]) -> None:
        entry_of(data, "a")["ref"]["name"] = ["a"]

    for change, message in (
        (nul_file, r"lists the file 'shop/core/ConfigMap/a\\x00\.yaml'"),
        (nul_name, r"invalid metadata\.name 'a\\x00b'"),
        (escape_name, r"invalid metadata\.name 'a\\x1b\[31m'"),
        (wrong_type, "malformed"),
    ):
        manifest = (root / MANIFEST).read_bytes()
        rewrite_manifest(root, change)
        with pytest.raises(BundleError, match=message) as info:
            Bundle.load(root)
        assert type(info.value) is BundleError
        (root / MANIFEST).write_bytes(manifest)
    assert snapshot(sandbox) == before
    (sandbox / "raw.yaml").write_bytes(b"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a\x00b}\n")
    with pytest.raises(BundleError, match=r"raw\.yaml: cannot read YAML at character \d+: control characters"):
        Bundle.from_manifests(sandbox / "raw.yaml")
    (sandbox / "esc.yaml").write_text('apiVersion: v1\nkind: ConfigMap\nmetadata: {name: "a\\0b", namespace: x}\n')
    with pytest.raises(BundleError, match=r"esc\.yaml: ConfigMap a\\x00b has an invalid metadata\.name"):
        Bundle.from_manifests(sandbox / "esc.yaml")


@pytest.mark.parametrize(
    ("where", "value", "message"),
    [
        ("namespace", "n" * 5000, "invalid metadata.namespace"),
        ("name", "n" * 5000, "metadata.name of 5000 characters"),
        ("namespace", "_cluster", "invalid metadata.namespace '_cluster'"),
        ("namespace", "Shop", "invalid metadata.namespace"),
        ("apiVersion", "g" * 300 + ".io/v1", "invalid API group"),
        ("apiVersion", "example.com/v1/x", "invalid API version"),
        ("kind", "Config Map", "invalid kind"),
    ],
)
def test_overlong_or_invalid_identities_fail_before_any_path_is_built(
    sandbox: Path, where: str, value: str, message: str
) -> None:
    obj = cm("a")
    if where in ("namespace", "name"):
        obj["metadata"][where] = value
    else:
        obj[where] = value
    before = snapshot(sandbox)
    with pytest.raises(BundleError, match=message) as info:
        Bundle([obj])
    assert type(info.value) is BundleError
    (sandbox / "in.yaml").write_text(yaml.safe_dump(obj))
    with pytest.raises(BundleError, match=message):
        Bundle.from_manifests(sandbox / "in.yaml")
    (sandbox / "in.yaml").unlink()
    with BundleWriter(sandbox / "out") as writer, pytest.raises(BundleError, match=message):
        writer.add(obj)
    assert snapshot(sandbox) == before  # no path was built: nothing written, no staging left


def test_overlong_namespace_in_a_manifest_entry_is_a_bundle_error(sandbox: Path) -> None:
    root = saved(sandbox / "b")

    def long_ns(data: dict[str, Any]) -> None:
        entry_of(data, "a")["ref"]["namespace"] = "n" * 5000
        entry_of(data, "a")["file"] = "n" * 5000 + "/core/ConfigMap/a.yaml"

    rewrite_manifest(root, long_ns)
    with pytest.raises(BundleError, match=r"invalid metadata\.namespace") as info:
        Bundle.load(root)
    assert type(info.value) is BundleError


@pytest.mark.parametrize("file", ["../outside/secret.txt", "/etc/passwd", "README.md", ".git/config", ""])
def test_manifest_entries_must_name_their_proper_file(sandbox: Path, file: str) -> None:
    root = saved(sandbox / "b")
    rewrite_manifest(root, lambda d: entry_of(d, "a").__setitem__("file", file))
    with pytest.raises(BundleError, match=r"a bundle keeps that object in 'shop/core/ConfigMap/a\.yaml'"):
        Bundle.load(root)


def test_future_format_and_edited_bundles_are_bundle_errors(sandbox: Path) -> None:
    root = saved(sandbox / "b")
    rewrite_manifest(root, lambda d: d.__setitem__("format", 99))
    with pytest.raises(BundleError, match="format 99"):
        Bundle.load(root)
    rewrite_manifest(root, lambda d: d.__setitem__("format", True))
    with pytest.raises(BundleError, match="unknown format"):
        Bundle.load(root)


# ====================================================================================== writing files


def make_old(tmp: Path, *, list_foreign: bool = True) -> Path:
    """``tmp/out`` holding a bundle and the user's README, .git and notes; with ``list_foreign`` the manifest
    also lists those files (and paths outside the directory), as a hostile manifest would."""
    out = saved(tmp / "out")
    (out / "README.md").write_text("mine\n")
    (out / ".git").mkdir()
    (out / ".git" / "config").write_text("[core]\n")
    (out / "shop" / "notes.txt").write_text("notes\n")
    (out / "empty").mkdir()

    def add_foreign(data: dict[str, Any]) -> None:
        for file in ("README.md", ".git/config", "../outside/secret.txt", "/tmp/x.yaml"):
            data["objects"].append({"ref": {"apiVersion": "v1", "kind": "ConfigMap", "name": "x"}, "file": file})

    if list_foreign:
        rewrite_manifest(out, add_foreign)
    return out


def test_save_deletes_only_object_files_portkit_wrote(sandbox: Path) -> None:
    out = make_old(sandbox)
    before = snapshot(sandbox)
    Bundle(objs_new()).save(out)
    untouched_outside(sandbox, before)
    assert (out / "README.md").read_text() == "mine\n"
    assert (out / ".git" / "config").read_text() == "[core]\n"
    assert (out / "shop" / "notes.txt").read_text() == "notes\n"
    assert (out / "empty").is_dir()
    assert not (out / "legacy").exists()  # the old namespace's directories went with its object
    assert not (out / "shop" / "core" / "ConfigMap" / "b.yaml").exists()
    assert sorted(o["metadata"]["name"] for o in Bundle.load(out)) == ["a", "c"]
    assert [p.name for p in sandbox.iterdir() if p.name.startswith(".out.")] == []


def test_save_keeps_a_file_behind_a_symlinked_namespace(sandbox: Path) -> None:
    out = saved(sandbox / "out")
    # the old manifest lists legacy/core/ConfigMap/gone.yaml; "legacy" now links outside
    os.rename(out / "legacy", sandbox / "legacy-moved")
    (out / "legacy").symlink_to(sandbox / "outside")
    before = snapshot(sandbox)
    Bundle(objs_new()).save(out)
    untouched_outside(sandbox, before)
    assert (sandbox / "outside" / "core" / "ConfigMap" / "gone.yaml").read_text() == "victim: true\n"
    assert os.readlink(out / "legacy") == str(sandbox / "outside")  # the user's link is kept, not followed
    assert sorted(o["metadata"]["name"] for o in Bundle.load(out)) == ["a", "c"]


def test_save_never_writes_through_a_symlinked_namespace_directory(sandbox: Path) -> None:
    out = saved(sandbox / "out")
    os.rename(out / "shop", sandbox / "outside" / "shop")
    (out / "shop").symlink_to(sandbox / "outside" / "shop")
    before = snapshot(sandbox)
    with pytest.raises(UnsafeFileError, match=r"out/shop is a symbolic link that portkit did not write"):
        Bundle(objs_new()).save(out)
    assert snapshot(sandbox) == before  # nothing changed anywhere, no staging directory left


def test_save_refuses_to_keep_an_unlisted_yaml_file_that_would_break_the_bundle(sandbox: Path) -> None:
    out = saved(sandbox / "out")
    rel = "shop/core/ConfigMap/a.yaml"
    (out / rel).unlink()
    (out / rel).symlink_to(sandbox / "outside" / "core" / "ConfigMap" / "a.yaml")
    before = snapshot(sandbox)
    with pytest.raises(UnsafeFileError, match=r"a\.yaml is a symbolic link that portkit did not write"):
        Bundle(objs_new()).save(out)
    assert snapshot(sandbox) == before
    (out / rel).unlink()
    (out / "shop" / "extra.yaml").write_text("x: 1\n")
    with pytest.raises(UnsafeFileError, match=r"extra\.yaml is a file that portkit did not write; kept"):
        Bundle(objs_new()).save(out)


@pytest.mark.parametrize("existing", ["bundle", "empty", "hidden-only"])
def test_save_keeps_the_directory_mode(sandbox: Path, existing: str) -> None:
    out = sandbox / "out"
    if existing == "bundle":
        saved(out)
    else:
        out.mkdir()
        if existing == "hidden-only":
            (out / ".keep").write_text("")
    os.chmod(out, 0o700)
    Bundle(objs_new()).save(out)
    assert stat.S_IMODE(os.stat(out).st_mode) == 0o700
    assert existing != "hidden-only" or (out / ".keep").exists()


def test_save_into_a_symlinked_output_directory_keeps_the_link(sandbox: Path) -> None:
    real = saved(sandbox / "real")
    (sandbox / "out").symlink_to(real)
    saved_bundle = Bundle(objs_new()).save(sandbox / "out")
    assert (sandbox / "out").is_symlink()
    assert saved_bundle.path == sandbox / "out"
    assert sorted(o["metadata"]["name"] for o in Bundle.load(real)) == ["a", "c"]


def test_stale_staging_directories_are_cleaned_up_on_the_next_save(sandbox: Path) -> None:
    out = saved(sandbox / "out")
    stale = sandbox / ".out.portkit-aaaaaaaaaaaa"  # a killed writer: marker present, nobody holds its lock
    (stale / "shop").mkdir(parents=True)
    (stale / _commit.MARKER).write_text("{}")
    (stale / "shop" / "x.yaml").write_text("x")
    legacy = sandbox / ".out.portkit-bbbbbbbbbbbb"  # an earlier portkit's staging directory
    legacy.mkdir()
    (legacy / "y.yaml").write_text("y")
    other = sandbox / ".other.portkit-cccccccccccc"  # another bundle's: not ours to touch
    other.mkdir()
    with BundleWriter(out) as live:  # a writer still at work: its staging directory must stay
        live.add(cm("live"))
        Bundle(objs_new()).save(out)
        assert not stale.exists()
        assert not legacy.exists()
        assert other.exists()
        assert live._staging.path.exists()
    assert not live._staging.path.exists()
    assert [p.name for p in sandbox.iterdir() if p.name.startswith(".out.")] == []


def test_concurrent_saves_into_one_directory_leave_one_whole_bundle(sandbox: Path) -> None:
    import threading

    out = make_old(sandbox, list_foreign=False)
    bundles = [[cm(f"t{i}-{j}", x=str(j)) for j in range(30)] for i in range(4)]
    errors: list[BaseException] = []

    def save(objs: list[Obj]) -> None:
        try:
            Bundle(objs).save(out)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=save, args=(b,)) for b in bundles]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    names = sorted(o["metadata"]["name"] for o in Bundle.load(out))
    assert names in [sorted(o["metadata"]["name"] for o in b) for b in bundles]
    assert (out / "README.md").read_text() == "mine\n"
    assert [p.name for p in sandbox.iterdir() if p.name.startswith(".out.")] == []


def test_writer_abort_leaves_nothing_behind(sandbox: Path) -> None:
    out = saved(sandbox / "out")
    before = snapshot(sandbox)
    with BundleWriter(out) as writer:
        writer.add(cm("z"))
    assert snapshot(sandbox) == before


def test_save_over_something_that_is_not_a_bundle_is_refused(sandbox: Path) -> None:
    (sandbox / "out").mkdir()
    (sandbox / "out" / "mine.txt").write_text("x")
    os.mkfifo(sandbox / "out" / MANIFEST)
    before = snapshot(sandbox)
    with pytest.raises(BundleError, match="holds no portkit bundle") as info:
        Bundle(objs_new()).save(sandbox / "out")
    assert type(info.value) is BundleError
    assert snapshot(sandbox) == before


def test_write_failures_are_bundle_write_errors(sandbox: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (sandbox / "file").write_text("x")
    with pytest.raises(BundleError, match="not a usable path") as info:
        Bundle(objs_new()).save(sandbox / "file" / "out")  # bad input: the parent is a file
    assert type(info.value) is BundleError
    out = saved(sandbox / "out")
    before = snapshot(sandbox)
    real_open = os.open

    def disk_full(path: Any, flags: int, mode: int = 0o777, **kw: Any) -> int:
        if str(path).endswith(".yaml") and ".out.portkit-" in str(path):
            raise OSError(28, "No space left on device", str(path))
        return real_open(path, flags, mode, **kw)

    monkeypatch.setattr(os, "open", disk_full)
    with pytest.raises(BundleWriteError, match="No space left on device"):
        Bundle(objs_new()).save(out)
    monkeypatch.setattr(os, "open", real_open)
    assert snapshot(sandbox) == before  # the old bundle is intact, the staging directory is gone


# ------------------------------------------------------------------------------------ crash simulation


class _Crash(BaseException):
    """A simulated kill: no cleanup code of portkit's runs after it (see the fixture below)."""


@pytest.fixture
def no_cleanup(monkeypatch: pytest.MonkeyPatch) -> None:
    """After a simulated crash nothing is cleaned up, as after a kill: only the lock goes (the process is gone)."""
    monkeypatch.setattr(_commit.Staging, "discard", _commit.Staging.release)


def _steps(tmp: Path, old: bool) -> list[str]:
    """The commit steps of one save over ``tmp/out`` (an old bundle with user files, or nothing)."""
    seen: list[str] = []
    if old:
        make_old(tmp, list_foreign=False)
    original = _commit._reached
    _commit._reached = seen.append
    try:
        Bundle(objs_new()).save(tmp / "out")
    finally:
        _commit._reached = original
    return seen


def _check_after_crash(tmp: Path, old: bool, step: str) -> None:
    """The output directory loads (old or new bundle), or is missing only if it never existed (or, where the
    file system cannot swap directories, between the two renames); nothing of the user's is lost; the next
    save finishes the job and leaves nothing behind."""
    out = tmp / "out"
    if old and step == "moved old away":  # two renames, no atomic swap: the one window without a directory
        with pytest.raises(BundleError, match="a save into it was interrupted and left the previous bundle in"):
            Bundle.load(out)
    elif out.exists() or old:
        names = sorted(o["metadata"]["name"] for o in Bundle.load(out))
        assert names in (["a", "b", "gone"], ["a", "c"])
    if old:  # the user's files are in out, or in the displaced old directory until the next save
        found = [p for p in tmp.rglob("README.md") if p.read_text() == "mine\n"]
        assert found, "README.md was lost"
    assert (tmp / "outside" / "secret.txt").read_text() == "do not touch\n"
    Bundle(objs_new()).save(out)
    assert sorted(o["metadata"]["name"] for o in Bundle.load(out)) == ["a", "c"]
    if old:
        assert (out / "README.md").read_text() == "mine\n"
        assert (out / ".git" / "config").read_text() == "[core]\n"
        assert (out / "shop" / "notes.txt").read_text() == "notes\n"
    assert [p.name for p in tmp.iterdir() if p.name.startswith(".out.")] == []
    assert not (out / _commit.MARKER).exists()


@pytest.mark.parametrize("swap", ["exchange", "two-renames"])
@pytest.mark.parametrize("old", [True, False], ids=["over-a-bundle", "new-directory"])
def test_a_crash_at_any_step_of_a_save_leaves_a_bundle_that_loads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, no_cleanup: None, swap: str, old: bool
) -> None:
    if swap == "two-renames":
        monkeypatch.setattr(_commit, "_SWAP", None)
    steps = _steps(tmp_path / "probe", old)
    assert steps[0] == ("rename staging" if old else "rename new")
    if old:
        assert "swap" in steps and "keep README.md" in steps and "delete manifest.yaml" in steps
        assert ("moved old away" in steps) == (swap == "two-renames")
    for step in steps:
        tmp = tmp_path / f"at-{len(os.listdir(tmp_path))}"
        (tmp / "outside").mkdir(parents=True)
        (tmp / "outside" / "secret.txt").write_text("do not touch\n")
        if old:
            make_old(tmp, list_foreign=False)

        def crash(name: str, step: str = step) -> None:
            if name == step:
                raise _Crash(step)

        monkeypatch.setattr(_commit, "_reached", crash)
        with pytest.raises(_Crash):
            Bundle(objs_new()).save(tmp / "out")
        monkeypatch.setattr(_commit, "_reached", lambda name: None)
        _check_after_crash(tmp, old, step)


CHILD = """
import os, signal, sys
from portkit import _commit
from portkit.bundle import Bundle
step = sys.argv[2]
def reached(name):
    if name == step:
        os.kill(os.getpid(), signal.SIGKILL)
_commit._reached = reached
Bundle([{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": n, "namespace": "shop"}, "data": d}
        for n, d in (("a", {"x": "10"}), ("c", {"x": "3"}))]).save(sys.argv[1])
"""


@pytest.mark.parametrize("step", ["rename staging", "swapped", "keep README.md", "delete manifest.yaml"])
def test_a_real_kill_during_a_save_leaves_a_bundle_that_loads(tmp_path: Path, step: str) -> None:
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "secret.txt").write_text("do not touch\n")
    make_old(tmp_path, list_foreign=False)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, str(tmp_path / "out"), step], env=env, capture_output=True, timeout=120
    )
    assert proc.returncode == -signal.SIGKILL, proc.stderr.decode()
    _check_after_crash(tmp_path, True, step)


# ===================================================================================== property tests


_NAMES = st.sampled_from(["a", "b", "web", "x.y", "Upper", "n" * 300, "a\0b", "../x", "", "_cluster"])
_NAMESPACES = st.sampled_from(["shop", "", "Shop", "n" * 70, "_cluster", "a/b", "x\ny"])
_SCALARS = st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=20), st.lists(st.integers(), max_size=3))


@st.composite
def manifest_entries(draw: st.DrawFn) -> Any:
    entry: dict[str, Any] = {
        "ref": {
            "apiVersion": draw(st.sampled_from(["v1", "apps/v1", "Bad/v1", "x/y/z", ""]) | _SCALARS),
            "kind": draw(st.sampled_from(["ConfigMap", "Secret", "Bad Kind"]) | _SCALARS),
            "namespace": draw(_NAMESPACES | _SCALARS),
            "name": draw(_NAMES | _SCALARS),
        },
        "file": draw(
            st.sampled_from(["shop/core/ConfigMap/a.yaml", "../x.yaml", "/etc/passwd", "a\0b", "README.md"]) | _SCALARS
        ),
        "sha256": draw(st.sampled_from(["0" * 64, "z"]) | _SCALARS),
    }
    return draw(st.sampled_from([entry, entry["ref"], None, [entry], "text"]))


_FILE_KINDS = st.sampled_from(["yaml", "garbage", "bomb", "deep", "fifo", "link-out", "link-in", "dir", "dup"])


def _materialize_tree(root: Path, manifest: Any, files: dict[str, str], objs: list[Obj]) -> None:
    root.mkdir()
    Bundle(objs).save(root)
    if manifest is not None:
        (root / MANIFEST).write_text(yaml.safe_dump(manifest) if not isinstance(manifest, str) else manifest)
    for i, (rel, kind) in enumerate(files.items()):
        try:
            _make_entry(root, root / rel, kind, i)
        except OSError:
            continue  # a parent is not a directory: this tree just does not have the entry


def _make_entry(root: Path, path: Path, kind: str, i: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.is_dir() and not path.is_symlink():
        return
    if path.exists() or path.is_symlink():
        path.unlink()
    if kind == "yaml":
        path.write_text(yaml.safe_dump(cm(f"f{i}")))
    elif kind == "garbage":
        path.write_bytes(bytes(range(256)))
    elif kind == "bomb":
        path.write_text(BOMB)
    elif kind == "deep":
        path.write_text("[" * 2000 + "]" * 2000)
    elif kind == "fifo":
        os.mkfifo(path)
    elif kind == "link-out":
        path.symlink_to("/dev/zero")
    elif kind == "link-in":
        path.symlink_to(root / MANIFEST)
    elif kind == "dir":
        path.mkdir()
    else:
        path.write_text("a: 1\na: 2\n")


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    manifest=st.one_of(
        st.none(),
        st.builds(
            lambda objs, fmt: {"format": fmt, "objects": objs},
            st.lists(manifest_entries(), max_size=4),
            st.sampled_from([1, 2, 0, "1", None]),
        ),
        st.sampled_from(["", "format: 1\nobjects: {}\n", BOMB, "[" * 3000, "\0", "format: 1\nformat: 1\n"]),
    ),
    files=st.dictionaries(
        st.sampled_from(
            [
                "shop/core/ConfigMap/a.yaml",
                "shop/core/ConfigMap/b.yaml",
                "shop/x.yaml",
                "z.yaml",
                "shop",
                "shop/core",
                "_cluster/core/Namespace/shop.yaml",
                ".hidden/x.yaml",
            ]
        ),
        _FILE_KINDS,
        max_size=4,
    ),
    objs=st.lists(st.sampled_from([cm("a"), cm("b"), cm("c", ns="other")]), max_size=3, unique_by=lambda o: str(o)),
)
def test_random_bundle_trees_load_or_raise_a_bundle_error(
    manifest: Any, files: dict[str, str], objs: list[Obj]
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "b"
        _materialize_tree(root, manifest, files, objs)
        before = snapshot(Path(tmp))
        for read in (lambda: Bundle.load(root), lambda: Bundle.from_manifests(root)):
            try:
                bundle = read()
            except BundleError:
                pass
            else:
                assert all(isinstance(o, dict) for o in bundle)
        assert snapshot(Path(tmp)) == before


_YAML_PIECES = st.sampled_from(
    [
        "a: ",
        "- ",
        "&x ",
        "*x",
        "*y",
        "<<: ",
        "!!binary ",
        "!foo ",
        "? ",
        "[",
        "]",
        "{",
        "}",
        ", ",
        "\n",
        "  ",
        "'q'",
        '"\\0"',
        "0x1F",
        "1_000",
        "1e5",
        "1.5e+3",
        ".inf",
        "yes",
        "~",
        "---\n",
        "...\n",
        "#c",
        "|\n  t\n",
        "2024-01-01",
        "=",
        "k: v\nk: w\n",
        "\t",
        "\x00",
        "\x1b",
        "é",
        "\ufeff",
        "%YAML 1.1\n---\n",
    ]
)


@settings(max_examples=400, deadline=None)
@given(st.one_of(st.text(max_size=80), st.lists(_YAML_PIECES, max_size=30).map("".join)))
def test_random_yaml_text_loads_or_raises_a_bundle_error(text: str) -> None:
    try:
        docs = load_yaml_documents(text, where="r.yaml", limits=ReadLimits(max_depth=8, max_alias_nodes=50))
    except BundleError:
        return
    assert isinstance(docs, list)


_JSON_LIKE = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**20), max_value=10**20)
    | st.floats(allow_nan=False)
    | st.text(max_size=12)
    | st.sampled_from(
        [
            "yes",
            "No",
            "on",
            "~",
            "0o17",
            "012",
            "0x1f",
            "1_0",
            "1.5",
            ".5",
            "-.inf",
            "1e3",
            "2024-01-01",
            "<<",
            "=",
            "",
            "null",
            "10:20",
        ]
    ),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=25,
)


@settings(max_examples=300, deadline=None)
@given(value=_JSON_LIKE, style=st.sampled_from([False, True, None]))
def test_fast_path_reads_exactly_what_the_guarded_path_reads(value: Any, style: bool | None) -> None:
    """Both paths of the loader give the same objects (the guarded one is PyYAML's safe constructor)."""
    text = yaml.safe_dump({"v": value}, default_flow_style=style, allow_unicode=True)
    expected = _guarded(text, "p.yaml", DEFAULT_LIMITS)
    try:
        got = _fast(text, "p.yaml", DEFAULT_LIMITS.max_depth)
    except _Fallback:
        return
    assert repr(got) == repr(expected)  # repr: also tells 1 from 1.0 and True, and -0.0 from 0.0


# ========================================================================================== exit codes


def _bundle_dir(tmp: Path, case: str) -> list[str]:
    """Arguments naming a bad input of kind ``case``."""
    if case in ("corrupt", "future", "fifo", "symlink"):
        root = saved(tmp / "b")
        if case == "corrupt":
            (root / "shop/core/ConfigMap/a.yaml").write_text("apiVersion: v1\nkind: ConfigMap\n")
        elif case == "future":
            rewrite_manifest(root, lambda d: d.__setitem__("format", FORMAT_VERSION + 1))
        elif case == "fifo":
            (root / "shop/core/ConfigMap/a.yaml").unlink()
            os.mkfifo(root / "shop/core/ConfigMap/a.yaml")
        else:
            (root / "shop/core/ConfigMap/a.yaml").unlink()
            (root / "shop/core/ConfigMap/a.yaml").symlink_to("/etc/hostname")
        return [str(root)]
    path = tmp / "in.yaml"
    if case == "duplicate-object":
        path.write_text(yaml.safe_dump_all([cm("a"), cm("a", x="2")]))
    elif case == "bomb":
        path.write_text(BOMB)
    elif case == "deep":
        path.write_text("a: " + "[" * 900 + "]" * 900)
    elif case == "duplicate-key":
        path.write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, namespace: shop}\ndata: {}\ndata: {}\n")
    elif case == "long-namespace":
        path.write_text(yaml.safe_dump(cm("a", ns="n" * 5000)))
    return [str(path)]


KUBECONFIG = """\
apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:9", insecure-skip-tls-verify: true}}]
users: [{name: u, user: {token: not-used}}]
contexts: [{name: x, context: {cluster: c, user: u}}]
current-context: x
"""

CASES = ["corrupt", "future", "fifo", "symlink", "duplicate-object", "bomb", "deep", "duplicate-key", "long-namespace"]


@pytest.mark.timeout(60)
@pytest.mark.parametrize("command", ["lint", "translate", "plan"])
@pytest.mark.parametrize("case", CASES)
def test_bad_input_exits_2_without_a_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: str, case: str
) -> None:
    args = _bundle_dir(tmp_path, case)
    (tmp_path / "kubeconfig").write_text(KUBECONFIG)
    extra = {
        "lint": ["--from", "aws", "--to", "ionos"],
        "translate": ["--from", "aws", "--to", "ionos", "-d", str(tmp_path / "out")],
        "plan": ["--kubeconfig", str(tmp_path / "kubeconfig")],
    }[command]
    before = snapshot(tmp_path)
    tracemalloc.start()
    try:
        rc = main([command, *args, *extra])
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    err = capsys.readouterr().err
    assert rc == EXIT_USAGE, err
    assert err.startswith("portkit: error: ")
    assert "Traceback" not in err
    assert peak < 100 * 2**20
    assert snapshot(tmp_path) == before  # nothing written: not even the translate output directory


def test_translate_over_a_symlinked_namespace_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = saved(tmp_path / "out")
    (tmp_path / "elsewhere").mkdir()
    os.rename(out / "shop", tmp_path / "elsewhere" / "shop")
    (out / "shop").symlink_to(tmp_path / "elsewhere" / "shop")
    (tmp_path / "in.yaml").write_text(yaml.safe_dump(cm("a")))
    before = snapshot(tmp_path)
    rc = main(["translate", str(tmp_path / "in.yaml"), "--from", "aws", "--to", "ionos", "-d", str(out)])
    assert rc == EXIT_USAGE
    assert "symbolic link that portkit did not write" in capsys.readouterr().err
    assert snapshot(tmp_path) == before


class _UnknownThing(TranslationError, InputError):
    """How another module makes one of its errors a bad-input error."""


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (BundleError("x"), EXIT_USAGE),
        (UnsafeFileError("x"), EXIT_USAGE),
        (FileTooLargeError("x"), EXIT_USAGE),
        (DocumentTooComplexError("x"), EXIT_USAGE),
        (DuplicateKeyError("x"), EXIT_USAGE),
        (ConfigurationError("x"), EXIT_USAGE),
        (_UnknownThing("x"), EXIT_USAGE),
        (BundleWriteError("x"), EXIT_FAILED),
        (TranslationError("x"), EXIT_FAILED),
        (ApplyError("x"), EXIT_FAILED),
        (PortkitError("x"), EXIT_FAILED),
    ],
)
def test_exit_codes_are_decided_by_class(error: PortkitError, code: int) -> None:
    assert exit_code_for(error) == code


def test_main_maps_errors_through_exit_code_for(monkeypatch: pytest.MonkeyPatch) -> None:
    import portkit.cli.commands.providers as providers

    def boom(args: Any) -> int:
        raise _UnknownThing("no such provider")

    monkeypatch.setattr(providers, "run", boom)
    assert main(["providers"]) == EXIT_USAGE


def test_object_path_of_valid_identities_stays_short() -> None:
    longest = ObjectRef("g" * 240 + ".io", "v1", "K" * 63, "n" * 63, "%" * 253)
    assert all(len(part) < 256 for part in object_path(longest).split("/"))
