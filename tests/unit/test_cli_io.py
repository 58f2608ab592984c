"""How the CLI reads and writes: stdin, -o text|json|yaml, -d and the deprecated -o DIR, durations,
--dry-run modes, source detection in translate, colour and width, pipes, Ctrl-C, --version, logs."""

from __future__ import annotations

import io
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from portkit._version import __version__
from portkit.bundle import Bundle
from portkit.cli import main
from portkit.cli._output import render
from portkit.cli._term import color_enabled, highlight_plan

ROOT = Path(__file__).resolve().parents[2]
APPS = Path(__file__).parent / "golden" / "apps"
AWS_SHOP = APPS / "aws-shop.yaml"
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def feed_stdin(monkeypatch: pytest.MonkeyPatch, data: bytes) -> None:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data), encoding="utf-8"))


def run_cli(*argv: str, **kwargs: Any) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), **kwargs.pop("env", {})}
    return subprocess.run([sys.executable, "-m", "portkit", *argv], capture_output=True, text=True, cwd=ROOT,
                          env=env, timeout=120, **kwargs)  # fmt: skip


# -- stdin -------------------------------------------------------------------------------------------------
def test_lint_reads_manifests_from_stdin(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    feed_stdin(monkeypatch, AWS_SHOP.read_bytes())
    assert main(["lint", "-", "--to", "ionos", "-o", "json"]) == 3
    out = capsys.readouterr()
    data = json.loads(out.out)
    assert data["source"] == "aws" and data["objects_in"] == len(Bundle.from_manifests(AWS_SHOP))
    assert "source provider detected: aws" in out.err  # said, as lint and translate detect it


def test_translate_reads_stdin_with_f_dash_and_writes_to_output_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    feed_stdin(monkeypatch, AWS_SHOP.read_bytes())
    assert main(["translate", "-f", "-", "--to", "hetzner", "-d", str(tmp_path / "out"), "-o", "json"]) in (0, 3)
    data = json.loads(capsys.readouterr().out)
    assert data["output"] == str(tmp_path / "out") and len(Bundle.load(tmp_path / "out")) == data["objects_out"]


def test_stdin_lists_and_json_are_read_and_non_objects_refused(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    objects = list(yaml.safe_load_all(AWS_SHOP.read_text()))
    feed_stdin(monkeypatch, json.dumps({"apiVersion": "v1", "kind": "List", "items": objects}).encode())
    assert main(["lint", "-", "--to", "ionos", "-o", "json"]) == 3
    assert json.loads(capsys.readouterr().out)["objects_in"] == len(objects)
    feed_stdin(monkeypatch, b"- just\n- a list\n")
    assert main(["lint", "-", "--to", "ionos"]) == 2
    assert "stdin (document 1) is not a Kubernetes object" in capsys.readouterr().err
    feed_stdin(monkeypatch, b"")
    assert main(["lint", "-", "--to", "ionos"]) == 2
    assert "stdin holds no Kubernetes objects" in capsys.readouterr().err


def test_no_input_or_stdin_twice_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["lint", "--to", "ionos"]) == 2
    assert "give the input" in capsys.readouterr().err
    assert main(["lint", "-", "-f", "-", "--to", "ionos"]) == 2
    assert "stdin (-) can be read only once" in capsys.readouterr().err


def test_helm_template_style_pipe_through_a_real_process() -> None:
    proc = run_cli("lint", "-", "--to", "ionos", "-o", "json", input=AWS_SHOP.read_text())
    assert proc.returncode == 3, proc.stderr
    assert json.loads(proc.stdout)["source"] == "aws"


# -- output formats and directories ------------------------------------------------------------------------
def test_yaml_output_is_the_json_output(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["lint", str(AWS_SHOP), "--to", "ionos", "-o", "json"]) == 3
    as_json = json.loads(capsys.readouterr().out)
    assert main(["lint", str(AWS_SHOP), "--to", "ionos", "-o", "yaml"]) == 3
    assert yaml.safe_load(capsys.readouterr().out) == as_json
    assert main(["providers", "-o", "yaml"]) == 0
    assert {p["name"] for p in yaml.safe_load(capsys.readouterr().out)["providers"]} >= {"aws", "ionos"}


FLEET = ["fleet", "--to", "ionos", "--image", "i:1", "--source-secret", "s", "--target-secret", "t", "-n", "a",
         "--workspace-pvc", "ws"]  # fmt: skip


@pytest.mark.parametrize(
    "argv",
    [["providers"], ["providers", "hetzner"], ["version"], ["lint", str(AWS_SHOP), "--to", "ionos"], FLEET,
     ["translate", str(AWS_SHOP), "--to", "ionos", "-d", "{tmp}/t"], [*FLEET, "-d", "{tmp}/f"]],
    ids=lambda argv: " ".join(argv[:2]) if argv[0] != "fleet" else " ".join(["fleet", *argv[13:]]),
)  # fmt: skip
def test_json_and_yaml_print_the_same_document(
    argv: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    assert main([*argv, "-o", "json"]) in (0, 3)
    as_json = json.loads(capsys.readouterr().out)
    assert main([*argv, "-o", "yaml"]) in (0, 3)
    assert yaml.safe_load(capsys.readouterr().out) == as_json and isinstance(as_json, dict)


def test_translate_o_json_is_a_format_not_a_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["translate", str(AWS_SHOP), "--to", "ionos", "-d", "out", "-o", "json"]) == 3
    assert json.loads(capsys.readouterr().out)["target"] == "ionos"
    assert not (tmp_path / "json").exists() and Bundle.load(tmp_path / "out")


def test_deprecated_o_dir_still_writes_the_bundle_and_warns(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["translate", str(AWS_SHOP), "--to", "ionos", "-o", str(tmp_path / "old")]) == 3
    err = capsys.readouterr().err
    assert Bundle.load(tmp_path / "old")
    assert err.startswith(f"portkit: warning: -o {tmp_path / 'old'}: -o/--output is the output format")
    assert "-d/--output-dir" in err and "will be an error in the next" in err
    # the old spellings of the format flag keep working for a release too, with a warning
    assert main(["translate", str(AWS_SHOP), "--to", "ionos", "--out", str(tmp_path / "o2"), "--format", "json"]) == 3
    out = capsys.readouterr()
    assert json.loads(out.out)["output"] == str(tmp_path / "o2")
    assert "--out is deprecated: use -d/--output-dir" in out.err and "--format is deprecated" in out.err
    # the directory twice, two ways, is refused
    assert (
        main(["translate", str(AWS_SHOP), "--to", "ionos", "-o", str(tmp_path / "a"), "-d", str(tmp_path / "b")]) == 2
    )
    assert "the output directory is given twice" in capsys.readouterr().err


def test_lint_o_dir_is_an_error_pointing_at_the_formats(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["lint", str(AWS_SHOP), "--to", "ionos", "-o", "out/"]) == 2
    assert "invalid choice: 'out/' (choose from text, json, yaml)" in capsys.readouterr().err


def test_fleet_prints_manifests_or_writes_them_to_output_dir(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base = [
        "fleet",
        "--to",
        "ionos",
        "--image",
        "img:1",
        "--source-secret",
        "s",
        "--target-secret",
        "t",
        "-n",
        "shop",
        "--workspace-pvc",
        "ws",
        "--timeout",
        "15m",
        "--deadline",
        "1h30m",
        "--ttl",
        "90s",
        "--label",
        "team=a",
    ]
    assert main(base) == 0
    (job,) = [d for d in yaml.safe_load_all(capsys.readouterr().out) if d]
    assert job["spec"]["activeDeadlineSeconds"] == 5400 and job["spec"]["ttlSecondsAfterFinished"] == 90
    assert job["metadata"]["labels"]["team"] == "a"
    assert "--timeout" in json.dumps(job) and '"900"' in json.dumps(job)
    assert main([*base, "-d", str(tmp_path / "f"), "-o", "yaml"]) == 0
    assert yaml.safe_load(capsys.readouterr().out)["files"] and (tmp_path / "f").is_dir()
    assert main([*base, "--label", "team"]) == 2
    assert "--label 'team' is not of the form KEY=VALUE" in capsys.readouterr().err


# -- durations and dry runs ---------------------------------------------------------------------------------
def test_bad_durations_are_usage_errors(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["apply", "x", "--timeout", "10 minutes"]) == 2
    assert "invalid duration '10 minutes'" in capsys.readouterr().err
    assert main(["apply", "x", "--timeout", "0s"]) == 2
    assert "--timeout must be more than 0" in capsys.readouterr().err


class _FakePlan:
    blockers: list[Any] = []
    ok = True
    conflicts: list[Any] = []
    warnings: list[Any] = []

    def to_text(self) -> str:
        return "Plan for 1 objects into fake: 1 create.\n\nOP      WAVE  OBJECT\ncreate  core  ConfigMap shop/a"

    def to_dict(self) -> dict[str, Any]:
        return {"ok": True, "counts": {"create": 1}}

    def diff(self) -> str:
        return "+ create ConfigMap shop/a"


class _FakeCluster:
    server = "https://fake.invalid"
    name = "fake"

    def close(self) -> None:
        pass


def test_dry_run_client_only_plans_and_server_sends_dry_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import portkit.cli.commands.apply as apply_cmd
    import portkit.replay

    calls: list[dict[str, Any]] = []
    monkeypatch.setattr(
        "portkit.cluster.Cluster.from_kubeconfig", classmethod(lambda cls, p=None, c=None: _FakeCluster())
    )
    monkeypatch.setattr(apply_cmd, "make_plan", lambda args, cluster, bundle=None: _FakePlan())
    monkeypatch.setattr(portkit.replay, "apply", lambda plan, **kw: calls.append(kw) or _FakeResult())
    argv = ["apply", str(AWS_SHOP), "--kubeconfig", "k", "--workdir", str(tmp_path / "w")]
    assert main([*argv, "--dry-run=client", "-o", "json"]) == 0
    assert calls == [] and json.loads(capsys.readouterr().out)["counts"] == {"create": 1}
    assert main([*argv, "--dry-run"]) == 0  # alone: server
    assert main([*argv, "--dry-run=none", "--timeout", "1h30m"]) == 0
    assert [(c["dry_run"], c["workdir"], c["timeout"]) for c in calls] == [
        (True, None, 600.0),
        (False, tmp_path / "w", 5400.0),
    ]


class _FakeResult:
    ok = True

    def to_text(self) -> str:
        return "applied"

    def to_dict(self) -> dict[str, Any]:
        return {"ok": True}


# -- translate detects its source like lint -----------------------------------------------------------------
def test_translate_without_from_detects_the_source_and_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["translate", str(APPS / "gke-shop.yaml"), "--to", "ionos", "-d", str(tmp_path / "o")]) == 3
    out = capsys.readouterr()
    assert "portkit: source provider detected: gke (from " in out.err and "give --from" in out.err
    assert "SOURCE DETECTED AS GKE FROM:" in out.out and "Translated" in out.out
    assert Bundle.load(tmp_path / "o").meta["translated"]["target"] == "ionos"


# -- text output: readable paths, width, colour --------------------------------------------------------------
@pytest.mark.parametrize("command", ["lint", "translate"])
def test_text_output_fits_columns_and_shows_readable_paths(
    command: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = [command, str(AWS_SHOP), "--to", "ionos"] + (["-d", str(tmp_path / "o")] if command == "translate" else [])
    for columns in ("100", "250"):
        monkeypatch.setenv("COLUMNS", columns)
        assert main(argv) == 3
        out = capsys.readouterr().out
        too_long = [line for line in out.splitlines() if len(line) > int(columns) and " " in line.strip()]
        assert not too_long, too_long[:3]
        assert "~1" not in out and '.annotations["' in out
        # the changes are a table that fits, or records: never table rows wrapped afterwards
        changes = out[out.index("CHANGES:") :]
        assert ("OBJECT" in changes.splitlines()[1]) == (columns == "250")
    monkeypatch.delenv("COLUMNS")
    assert main(argv) == 3
    assert max(len(line) for line in capsys.readouterr().out.splitlines()) > 100  # piped: not wrapped


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_colour_only_on_a_terminal_and_never_with_no_color(monkeypatch: pytest.MonkeyPatch) -> None:
    from portkit.cli._term import Settings, use_settings

    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.delenv("TERM", raising=False)
    assert color_enabled(_Tty()) and not color_enabled(io.StringIO())
    monkeypatch.setenv("NO_COLOR", "1")
    assert not color_enabled(_Tty())
    monkeypatch.delenv("NO_COLOR")
    previous = use_settings(Settings(no_color=True))
    try:
        assert not color_enabled(_Tty())
    finally:
        use_settings(previous)
    text = render(_FakePlan(), "text", highlight=highlight_plan, color=True)
    assert "\x1b[32mcreate  core  ConfigMap shop/a\x1b[0m" in text
    plain = render(_FakePlan(), "text", highlight=highlight_plan, color=False)
    assert not ANSI.search(plain) and ANSI.sub("", text) == plain


def test_plan_diff_lines_are_coloured_by_their_sign() -> None:
    diff = "\n".join(
        ["+ create ConfigMap shop/a", "    + data.x: 1", "~ update Deployment.apps shop/web", "    - spec.x: 2",
         "! conflict Service shop/s"]
    )  # fmt: skip
    painted = highlight_plan(diff).splitlines()
    assert [line[:5] for line in painted] == ["\x1b[32m", "\x1b[32m", "\x1b[33m", "\x1b[31m", "\x1b[31m"]


def test_piped_cli_output_has_no_colour_or_progress() -> None:
    proc = run_cli("lint", str(AWS_SHOP), "--to", "ionos", env={"NO_COLOR": ""})
    assert proc.returncode == 3
    assert not ANSI.search(proc.stdout) and "\x1b[K" not in proc.stderr and "\r" not in proc.stderr


# -- pipes, Ctrl-C, versions, logs ---------------------------------------------------------------------------
def _big_manifest(path: Path, count: int = 1500) -> Path:
    docs = [
        {"apiVersion": "v1", "kind": "PersistentVolumeClaim",
         "metadata": {"name": f"d-{i}", "namespace": "shop"},
         "spec": {"storageClassName": "gp3", "accessModes": ["ReadWriteOnce"],
                  "resources": {"requests": {"storage": "1Gi"}}}}
        for i in range(count)
    ]  # fmt: skip
    path.write_text(yaml.safe_dump_all(docs))
    return path


def test_a_closed_output_pipe_ends_quietly_with_141(tmp_path: Path) -> None:
    big = _big_manifest(tmp_path / "big.yaml")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "portkit", "lint", str(big), "--from", "aws", "--to", "ionos", "-o", "json"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=ROOT,
    )  # fmt: skip
    assert proc.stdout is not None and proc.stderr is not None
    assert proc.stdout.read(10).startswith(b"{")  # like `| head -c 10`
    proc.stdout.close()
    with proc.stderr:
        err = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == 141
    assert "Traceback" not in err and "BrokenPipe" not in err and "Exception ignored" not in err


def test_ctrl_c_ends_quietly_with_130() -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "portkit", "lint", "-", "--to", "ionos"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=ROOT,
    )  # fmt: skip
    try:
        # wait until it blocks reading stdin (its imports done), then interrupt it as a terminal would
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not _waiting_for_input(proc.pid):
            time.sleep(0.1)
        proc.send_signal(signal.SIGINT)
        _out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, err
    assert err.decode().strip() == "portkit: interrupted." and b"Traceback" not in err


def _waiting_for_input(pid: int) -> bool:
    """True when the process sleeps in a read (Linux /proc); a second after start elsewhere."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text().split()
        wchan = Path(f"/proc/{pid}/wchan").read_text()
    except OSError:
        return False
    return stat[2] == "S" and ("pipe" in wchan or "read" in wchan or wchan == "0") and _cpu_idle(pid)


def _cpu_idle(pid: int) -> bool:
    before = Path(f"/proc/{pid}/stat").read_text().split()[13:15]
    time.sleep(0.3)
    return Path(f"/proc/{pid}/stat").read_text().split()[13:15] == before


def test_version_flag_command_and_python_m_portkit() -> None:
    proc = run_cli("--version")
    assert proc.returncode == 0 and proc.stdout.strip() == f"portkit {__version__}"
    proc = run_cli("version", "-o", "json")
    data = json.loads(proc.stdout)
    assert data["portkit"] == __version__ and data["python"] and data["kubernetes_client"]


def test_log_format_json_writes_json_lines_on_stderr(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["translate", str(AWS_SHOP), "--to", "ionos", "-o", str(tmp_path / "o"), "--log-format", "json"]) == 3
    records = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    assert [r["level"] for r in records] == ["warning", "info"]
    assert records[0]["logger"] == "portkit.cli" and "-d/--output-dir" in records[0]["message"]
    assert records[1]["message"].startswith("source provider detected: aws")
    assert all(r["time"].endswith("Z") for r in records)


def test_errors_are_one_line_and_debug_adds_the_traceback_before_or_after(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["lint", str(tmp_path / "missing.yaml"), "--to", "ionos"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("portkit: error: ") and err.count("\n") == 1
    for debug in (["--debug", *argv], [*argv, "--debug"]):
        assert main(debug) == 2
        assert "Traceback" in capsys.readouterr().err
