"""The Velero CLI wrapper: argument lists, output parsing, binary resolution and failure phases.

Argument building and output parsing are pure functions tested directly; that arguments reach the process
as a list (no shell) is checked with ``/bin/echo``. The tests named ``test_fake_velero_*`` run a small fake
``velero`` executable written by the test: it is used ONLY for what the real local Velero servers cannot be
made to produce here — a ``Failed`` phase with a failure reason (needs an object store that breaks mid-backup),
a backup that never finishes, garbage output and a too-old version. Completed, PartiallyFailed and
FailedValidation come from real Velero servers in tests/integration/test_volumes.py.
"""

from __future__ import annotations

import json
import os
import stat
import sys
import textwrap
from pathlib import Path

import pytest

from portkit.errors import ConfigurationError, VolumeMoveError
from portkit.volumes import VeleroCLI, VeleroOperationError, VolumeProgress, parse_objects
from portkit.volumes.velero import backup_args, parse_version, restore_args

BACKUP = {"apiVersion": "velero.io/v1", "kind": "Backup", "metadata": {"name": "b1"}, "status": {"phase": "Completed"}}

FAKE_VELERO = textwrap.dedent("""\
    #!{python}
    # fake velero (tests only): prints the next state of a scripted sequence for `get`, records every argv.
    import json, os, sys
    scenario = json.load(open(os.environ["FAKE_VELERO_SCENARIO"]))
    with open(scenario["log"], "a") as fh:
        fh.write(json.dumps(sys.argv[1:]) + "\\n")
    args = sys.argv[1:]
    if args[:2] == ["version", "--client-only"]:
        print("Client:\\n\\tVersion: " + scenario.get("version", "v1.18.3") + "\\n\\tGit commit: fake")
        sys.exit(0)
    if len(args) >= 2 and args[1] == "get":
        if "garbage" in scenario:
            print(scenario["garbage"])
            sys.exit(0)
        counter = scenario["log"] + ".n"
        n = int(open(counter).read()) if os.path.exists(counter) else 0
        open(counter, "w").write(str(n + 1))
        states = scenario["states"]
        status = states[min(n, len(states) - 1)]
        obj = {{"apiVersion": "velero.io/v1", "kind": args[0].capitalize(), "metadata": {{"name": args[2]}},
               "status": status}}
        print(json.dumps(obj, indent=2))
        sys.exit(0)
    print("request submitted")
""")


@pytest.fixture
def fake_velero(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Write the fake velero and return a function setting its scenario; returns (cli, argv log path)."""
    exe = tmp_path / "velero"
    exe.write_text(FAKE_VELERO.format(python=sys.executable))
    exe.chmod(exe.stat().st_mode | stat.S_IXUSR)
    log = tmp_path / "argv.jsonl"

    def make(**scenario: object) -> tuple[VeleroCLI, Path]:
        path = tmp_path / "scenario.json"
        path.write_text(json.dumps({"log": str(log), **scenario}))
        monkeypatch.setenv("FAKE_VELERO_SCENARIO", str(path))
        cli = VeleroCLI(binary=exe, kubeconfig=tmp_path / "kc", context="ctx", namespace="velero-ns", timeout=20)
        return cli, log

    return make


# -- pure functions -----------------------------------------------------------------------------------


def test_parse_objects_single_object_and_list() -> None:
    assert parse_objects(json.dumps(BACKUP)) == [BACKUP]
    two = {"apiVersion": "v1", "kind": "List", "items": [BACKUP, {**BACKUP, "metadata": {"name": "b2"}}]}
    assert [o["metadata"]["name"] for o in parse_objects(json.dumps(two))] == ["b1", "b2"]
    assert parse_objects(json.dumps({"kind": "BackupList", "items": []})) == []
    assert parse_objects("") == []
    assert parse_objects("Notice: something\n" + json.dumps(BACKUP)) == [BACKUP]


@pytest.mark.parametrize("text", ["An error occurred: nope", "{not json", "[1, 2]", '{"hello": 1}'])
def test_parse_objects_rejects_garbage(text: str) -> None:
    with pytest.raises(VolumeMoveError):
        parse_objects(text)


def test_parse_version() -> None:
    assert parse_version("Client:\n\tVersion: v1.18.3\n\tGit commit: abc") == (1, 18, 3)
    assert parse_version("Version: 1.9.0-rc.1") == (1, 9, 0)
    assert parse_version("velero") is None


@pytest.mark.parametrize(
    ("data_path", "expected", "absent"),
    [
        ("data-mover", ["--snapshot-move-data=true", "--snapshot-volumes=true"], "--default-volumes-to-fs-backup=true"),
        ("fs-backup", ["--default-volumes-to-fs-backup=true", "--snapshot-volumes=false"], "--snapshot-move-data=true"),
        ("native", ["--snapshot-volumes=true", "--snapshot-move-data=false"], "--default-volumes-to-fs-backup=true"),
        ("none", ["--snapshot-volumes=false", "--default-volumes-to-fs-backup=false"], "--snapshot-volumes=true"),
    ],
)
def test_backup_args_per_data_path(data_path: str, expected: list[str], absent: str) -> None:
    args = backup_args("b1", namespaces=["shop", "web"], selector="app=x", data_path=data_path, storage_location="loc")
    assert args[:3] == ["backup", "create", "b1"]
    assert "--include-namespaces=shop,web" in args and "--selector=app=x" in args
    assert "--storage-location=loc" in args
    for flag in expected:
        assert flag in args
    assert absent not in args
    assert not any(a.startswith(("--wait", "-o", "--output")) for a in args)


def test_backup_args_rejects_bad_input() -> None:
    with pytest.raises(ConfigurationError, match="data path"):
        backup_args("b", namespaces=["a"], data_path="rsync")
    with pytest.raises(ConfigurationError, match="namespace"):
        backup_args("b", namespaces=[])


def test_restore_args_namespace_mappings_and_modifiers() -> None:
    args = restore_args(
        "r1",
        backup="b1",
        namespaces=["shop", "web"],
        namespace_map={"shop": "shop-eu", "web": "web"},
        resource_modifier_configmap="rm",
        include_resources=["persistentvolumeclaims"],
        existing_resource_policy="update",
    )
    assert args[:3] == ["restore", "create", "r1"]
    assert "--from-backup=b1" in args
    assert "--namespace-mappings=shop:shop-eu" in args  # identity mappings are left out
    assert "--resource-modifier-configmap=rm" in args
    assert "--include-resources=persistentvolumeclaims" in args
    assert "--existing-resource-policy=update" in args
    assert not any(a.startswith("--wait") for a in args)
    assert not any(
        a.startswith("--namespace-mappings") for a in restore_args("r", backup="b", namespace_map={"a": "a"})
    )


def test_binary_resolution(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PORTKIT_VELERO", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(ConfigurationError, match="No velero binary"):
        VeleroCLI()
    with pytest.raises(ConfigurationError, match="not executable"):
        VeleroCLI(binary=tmp_path / "missing")
    exe = tmp_path / "velero"
    exe.write_text("#!/bin/sh\n")
    exe.chmod(0o755)
    assert VeleroCLI().binary == str(exe)  # found on PATH
    monkeypatch.setenv("PORTKIT_VELERO", str(exe))
    assert VeleroCLI(namespace="v").global_args() == ["--namespace=v"]


# -- fake velero: only phases and outputs a real local server cannot produce ----------------------------


def test_arguments_reach_the_process_as_a_list_with_explicit_cluster_flags(tmp_path: Path) -> None:
    echo = "/bin/echo"
    cli = VeleroCLI(binary=echo, kubeconfig=tmp_path / "kc", context="ctx", namespace="velero-ns", check_version=False)
    run = cli.run(["backup", "create", "b1", "--selector=app in (a; rm -rf /)"])
    assert run.argv[0] == echo and run.returncode == 0
    printed = run.stdout.strip()
    assert "--selector=app in (a; rm -rf /)" in printed  # not interpreted by a shell
    assert printed.endswith(f"--kubeconfig={tmp_path / 'kc'} --kubecontext=ctx --namespace=velero-ns")


def test_failed_call_keeps_stderr(tmp_path: Path) -> None:
    cli = VeleroCLI(binary="/bin/ls", check_version=False)
    with pytest.raises(VolumeMoveError, match="exit 2") as info:
        cli.run([str(tmp_path / "does-not-exist")], global_flags=False)
    assert "does-not-exist" in str(info.value)  # ls's stderr is in the message


def test_fake_velero_progress_then_failed_with_counts(fake_velero) -> None:
    """Progress is reported once per change; Failed carries Velero's counts."""
    cli, _ = fake_velero(
        states=[
            {"phase": "InProgress", "progress": {"totalItems": 10, "itemsBackedUp": 3}},
            {"phase": "InProgress", "progress": {"totalItems": 10, "itemsBackedUp": 3}},
            {"phase": "Failed", "errors": 2, "warnings": 5, "progress": {"totalItems": 10, "itemsBackedUp": 10}},
        ]
    )
    seen: list[VolumeProgress] = []
    with pytest.raises(VeleroOperationError) as info:
        cli.wait("backup", "b1", timeout=30, poll=0, progress=seen.append)
    assert info.value.errors == 2 and info.value.warnings == 5 and info.value.phase == "Failed"
    assert [(p.phase, p.done, p.total) for p in seen] == [("InProgress", 3, 10), ("Failed", 10, 10)]
    assert str(seen[0]) == "backup b1: InProgress (3/10 items)"


def test_fake_velero_failed_carries_failure_reason(fake_velero) -> None:
    cli, _ = fake_velero(states=[{"phase": "Failed", "failureReason": "error getting backup store: boom"}])
    with pytest.raises(VeleroOperationError, match="boom") as info:
        cli.wait("backup", "b1", timeout=30, poll=0)
    assert info.value.failure_reason == "error getting backup store: boom"


def test_fake_velero_hung_backup_times_out(fake_velero) -> None:
    cli, _ = fake_velero(
        states=[{"phase": "WaitingForPluginOperations", "progress": {"totalItems": 4, "itemsBackedUp": 4}}]
    )
    with pytest.raises(VeleroOperationError, match="did not finish within 1 s") as info:
        cli.wait("backup", "b1", timeout=1.0, poll=0.2)
    assert info.value.timed_out and info.value.phase == "WaitingForPluginOperations"
    assert "4/4 items" in str(info.value)


def test_fake_velero_garbage_output_raises(fake_velero) -> None:
    cli, _ = fake_velero(garbage="<html>proxy error</html>")
    with pytest.raises(VolumeMoveError, match="not JSON"):
        cli.get("backup", "b1")


def test_fake_velero_too_old_is_refused(fake_velero) -> None:
    cli, _ = fake_velero(version="v1.9.2", states=[{"phase": "Completed"}])
    with pytest.raises(ConfigurationError, match="too old"):
        cli.get("backup", "b1")


def test_cli_timeout_on_a_hanging_binary(tmp_path: Path) -> None:
    """A binary that never returns (a fake: a real velero does not hang on `version`)."""
    exe = tmp_path / "velero"
    exe.write_text(f"#!{sys.executable}\nimport time\ntime.sleep(30)\n")
    exe.chmod(0o755)
    cli = VeleroCLI(binary=exe, timeout=0.5)
    with pytest.raises(VolumeMoveError, match="did not finish within"):
        cli.run(["version"])
    assert os.access(exe, os.X_OK)
