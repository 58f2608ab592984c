"""Bad input to the CLI and the volume mover, and hostile strings in text output.

- an unknown provider and a malformed ``--map`` are usage errors: exit 2, one paragraph, no traceback;
- namespaces, namespace-map entries and names given to ``velero`` are Kubernetes names or a
  ConfigurationError: nothing like ``*``, ``a,b`` or ``--flag`` reaches its argument list;
- kubeconfigs and keys portkit writes are 0600 even over an existing 0644 file;
- terminal control characters in names and messages are escaped in text output.
"""

from __future__ import annotations

import json
import os
import stat
import sys
from pathlib import Path
from typing import Any

import pytest

from portkit.cli import main
from portkit.cli._common import emit
from portkit.display import escape_control, terminal_safe, text_table, truncate
from portkit.errors import ConfigurationError, InputError, TranslationError, UnknownProviderError
from portkit.model import ObjectRef
from portkit.profiles import load
from portkit.replay import RollbackResult
from portkit.testing._pki import _write as write_pki_file
from portkit.testing.localcluster import _write_private_yaml
from portkit.volumes import VeleroCLI, VeleroMover
from portkit.volumes.velero import backup_args, check_namespaces, restore_args

CLEAN = """\
apiVersion: v1
kind: ConfigMap
metadata: {name: settings, namespace: demo}
data: {color: blue}
"""


@pytest.fixture
def manifest(tmp_path: Path) -> Path:
    path = tmp_path / "app.yaml"
    path.write_text(CLEAN)
    return path


# ---------------------------------------------------------------------------------------- exit codes
FLEET = ["--image", "i", "--workspace-pvc", "w", "--source-secret", "s", "--target-secret", "t"]


def test_an_unknown_provider_is_an_input_error() -> None:
    with pytest.raises(UnknownProviderError) as info:
        load("mars")
    assert isinstance(info.value, TranslationError) and isinstance(info.value, InputError)


@pytest.mark.parametrize(
    "argv",
    [
        ["translate", "{m}", "--from", "aws", "--to", "mars", "-o", "{out}"],
        ["translate", "{m}", "--from", "mars", "--to", "ionos", "-o", "{out}"],
        ["translate", "{m}", "--from", "aws", "--to", "ionos+mars", "-o", "{out}"],
        ["lint", "{m}", "--from", "aws", "--to", "mars"],
        ["translate", "{m}", "--from", "aws", "--to", "ionos", "--map", "colour:x=y", "-o", "{out}"],
        ["translate", "{m}", "--from", "aws", "--to", "ionos", "--map", "storageclass", "-o", "{out}"],
        ["translate", "{m}", "--from", "aws", "--to", "ionos", "--map", "storageclass:=b", "-o", "{out}"],
        ["lint", "{m}", "--from", "aws", "--to", "ionos", "--map", "zone:nothing"],
        ["fleet", "-n", "shop", "--to", "ionos", *FLEET, "--map", "bad"],
        ["fleet", "-n", "shop", "--to", "mars", *FLEET],
    ],
)
def test_unknown_providers_and_bad_maps_exit_2(
    argv: list[str], manifest: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = [a.format(m=manifest, out=tmp_path / "out") for a in argv]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.startswith("portkit: error: ") and "Traceback" not in err
    assert not (tmp_path / "out").exists()


# ------------------------------------------------------------------------------------------- velero
HOSTILE_NAMES = ["*", "a,b", "--flag", "-n", "a:b", "a b", "A", "", "x" * 64, "a\nb", "ns=x", "../x"]


@pytest.mark.parametrize("bad", HOSTILE_NAMES)
def test_backup_args_refuse_namespaces_that_are_not_names(bad: str) -> None:
    with pytest.raises(ConfigurationError, match="not a valid Kubernetes name"):
        backup_args("b1", namespaces=["shop", bad])


@pytest.mark.parametrize("bad", ["--flag", "-x", "a,b", "*", "a b", "", "b/c"])
def test_backup_and_restore_names_cannot_be_flags_or_lists(bad: str) -> None:
    with pytest.raises(ConfigurationError):
        backup_args(bad, namespaces=["shop"])
    with pytest.raises(ConfigurationError):
        restore_args(bad, backup="b1")
    with pytest.raises(ConfigurationError):
        restore_args("r1", backup=bad)


@pytest.mark.parametrize(
    "mapping",
    [{"shop": "a,b"}, {"shop": "x:y"}, {"a,b": "shop"}, {"shop": "--flag"}, {"*": "shop"}, {"shop": ""}],
)
def test_restore_args_refuse_namespace_maps_that_are_not_names(mapping: dict[str, str]) -> None:
    with pytest.raises(ConfigurationError):
        restore_args("r1", backup="b1", namespaces=["shop"], namespace_map=mapping)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"resource_modifier_configmap": "--x"},
        {"include_resources": ["*"]},
        {"include_resources": ["pods,secrets"]},
        {"existing_resource_policy": "delete-everything"},
        {"namespaces": "shop"},  # a string is not a list of namespaces
    ],
)
def test_other_restore_values_are_checked(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ConfigurationError):
        restore_args("r1", backup="b1", **kwargs)


@pytest.mark.parametrize(
    "kwargs",
    [{"storage_location": "a,b"}, {"snapshot_locations": ["--x"]}, {"ttl": "forever"}, {"selector": "a=b\n--x"}],
)
def test_other_backup_values_are_checked(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ConfigurationError):
        backup_args("b1", namespaces=["shop"], **kwargs)


def test_valid_values_still_build_the_same_arguments() -> None:
    args = restore_args(
        "shop-restore", backup="portkit-shop-1", namespaces=["shop"], namespace_map={"shop": "shop-eu"},
        include_resources=["persistentvolumeclaims", "deployments.apps"], existing_resource_policy="update",
    )  # fmt: skip
    assert "--namespace-mappings=shop:shop-eu" in args and args[2] == "shop-restore"
    assert backup_args("b1", namespaces=["shop", "web"], ttl="720h0m0s")[3] == "--include-namespaces=shop,web"
    check_namespaces(["shop"], {"shop": "shop-eu"})


@pytest.fixture
def velero_binary(tmp_path: Path) -> tuple[Path, Path]:
    """An executable that only records that it ran (it must not run at all in these tests)."""
    marker = tmp_path / "velero-ran"
    exe = tmp_path / "velero"
    exe.write_text(f"#!{sys.executable}\nopen({str(marker)!r}, 'a').write('ran')\n")
    exe.chmod(exe.stat().st_mode | stat.S_IXUSR)
    return exe, marker


def test_the_velero_cli_refuses_bad_namespaces_and_names(velero_binary: tuple[Path, Path]) -> None:
    exe, marker = velero_binary
    with pytest.raises(ConfigurationError):
        VeleroCLI(binary=exe, namespace="velero,kube-system")
    cli = VeleroCLI(binary=exe, namespace="velero", check_version=False)
    for bad in ("--all", "a,b", "*"):
        with pytest.raises(ConfigurationError):
            cli.get("backup", bad)
    with pytest.raises(ConfigurationError):
        cli.create_restore("r1", backup="b1", namespaces=["shop"], namespace_map={"shop": "-x"})
    assert not marker.exists(), "velero was never run"


class _NoCluster:
    """A cluster every use of which fails the test: the mover must refuse bad input before using it."""

    name = "nowhere"
    kubeconfig = None

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"the cluster was used ({name}) before the input was checked")


@pytest.mark.parametrize(
    ("namespaces", "mapping"),
    [(["*"], None), (["a,b"], None), (["--include-cluster-resources"], None), (["shop"], {"shop": "x,y"})],
)
def test_the_mover_checks_namespaces_before_touching_a_cluster(
    velero_binary: tuple[Path, Path], namespaces: list[str], mapping: dict[str, str] | None
) -> None:
    exe, marker = velero_binary
    mover = VeleroMover(_NoCluster(), _NoCluster(), binary=exe)  # type: ignore[arg-type]
    if mapping is None:
        with pytest.raises(ConfigurationError):
            mover.backup(namespaces)
    with pytest.raises(ConfigurationError):
        mover.restore("b1", namespaces=namespaces, namespace_map=mapping)
    with pytest.raises(ConfigurationError):
        mover.restore("b1", namespaces=["shop"], name="--restore")
    assert not marker.exists()


# ---------------------------------------------------------------------------------------- file modes
def test_a_kubeconfig_written_over_an_existing_0644_file_ends_0600(tmp_path: Path) -> None:
    path = tmp_path / "kubeconfig"
    path.write_text("old")
    path.chmod(0o644)
    _write_private_yaml(path, {"users": [{"name": "admin", "user": {"client-key-data": "c2VjcmV0"}}]})
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert "client-key-data" in path.read_text()
    assert [p.name for p in tmp_path.iterdir()] == ["kubeconfig"], "no temporary file left behind"


def test_a_kubeconfig_path_that_is_a_symlink_is_replaced_not_followed(tmp_path: Path) -> None:
    outside = tmp_path / "outside.txt"
    outside.write_text("keep me")
    outside.chmod(0o644)
    path = tmp_path / "dir" / "kubeconfig"
    path.parent.mkdir()
    path.symlink_to(outside)
    _write_private_yaml(path, {"kind": "Config"})
    assert outside.read_text() == "keep me" and stat.S_IMODE(outside.stat().st_mode) == 0o644
    assert not path.is_symlink() and stat.S_IMODE(path.stat().st_mode) == 0o600


def test_a_private_key_written_over_an_existing_0644_file_ends_0600(tmp_path: Path) -> None:
    key = tmp_path / "admin.key"
    key.write_text("old")
    key.chmod(0o644)
    write_pki_file(key, b"-----BEGIN PRIVATE KEY-----\n", True)
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    crt = tmp_path / "admin.crt"
    write_pki_file(crt, b"-----BEGIN CERTIFICATE-----\n", False)
    assert stat.S_IMODE(crt.stat().st_mode) == 0o644 & ~_umask()


def _umask() -> int:
    old = os.umask(0)
    os.umask(old)
    return old


# ------------------------------------------------------------------------------ terminal control chars
EVIL = "web\x1b]0;owned\x07\x1b[2J\rREAL\x9b31m\u202egnp.exe\x00"


def test_escape_control_escapes_c0_c1_and_bidi_characters() -> None:
    shown = escape_control(EVIL)
    assert shown == "web\\x1b]0;owned\\x07\\x1b[2J\\rREAL\\x9b31m\\u202egnp.exe\\x00"
    assert all(ch.isprintable() for ch in shown)
    assert escape_control("line\nbreak\ttab") == "line\\nbreak\\ttab"
    assert terminal_safe("a\nb\tc\x1b") == "a\nb\tc\\x1b", "layout kept, controls escaped"
    assert escape_control("plain-name.ünïcode") == "plain-name.ünïcode"


def test_tables_and_truncation_escape_names() -> None:
    assert "\x1b" not in truncate(EVIL) and "\x1b" not in text_table(["name"], [[EVIL]])
    assert text_table(["name"], [["two\nlines"]]).count("\n") == 1, "a name cannot forge a table row"


def test_rollback_text_escapes_names_and_reasons() -> None:
    ref = ObjectRef("", "v1", "ConfigMap", "shop", EVIL)
    text = RollbackResult([ref], [(ref, "kept: " + EVIL)], [(ref, EVIL)]).to_text()
    assert not any(ch in text for ch in "\x1b\x07\r\x9b\u202e\x00")


class _Result:
    def to_text(self) -> str:
        return f"Objects:\n  - {EVIL}\n"

    def to_dict(self) -> dict[str, Any]:
        return {"name": EVIL}


def test_cli_text_output_escapes_control_characters(capsys: pytest.CaptureFixture[str]) -> None:
    emit(_Result(), "text")
    out = capsys.readouterr().out
    assert not any(ch in out for ch in "\x1b\x07\r\x9b\u202e\x00")
    assert out.startswith("Objects:\n  - web\\x1b]0;owned"), "the line structure portkit made is kept"
    emit(_Result(), "json")
    assert json.loads(capsys.readouterr().out) == {"name": EVIL}, "JSON carries the exact value"


def test_cli_errors_escape_control_characters(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "evil\x1b[2J\rname.yaml"
    assert main(["lint", str(missing), "--from", "aws", "--to", "ionos"]) == 2
    err = capsys.readouterr().err
    assert "\x1b" not in err and "\r" not in err and "evil\\x1b[2J\\rname.yaml" in err
