"""Logging: every step says what it does under ``portkit.``, no Secret value or token ever reaches a record,
JSON lines for automation, no prints in library code."""

from __future__ import annotations

import ast
import base64
import io
import json
import logging
import sys
from pathlib import Path

import pytest
from test_replay_flow import FakeCluster, ns, secret

from portkit._logging import JsonFormatter, log_to, scrub_credentials
from portkit.bundle import Bundle
from portkit.replay import apply, plan, verify
from portkit.translate import translate

PORTKIT = Path(__file__).resolve().parents[2] / "portkit"
VALUE = "s3cr3t-from-the-bundle"
TOKEN = "eyJhbGciOiJSUzI1NiJ9.dG9rZW4tb2YtYS1zZXJ2aWNlLWFjY291bnQ.c2lnbmF0dXJl"


def forms(value: str) -> list[str]:
    return [value, base64.b64encode(value.encode()).decode()]


def test_translate_plan_apply_of_a_secret_at_debug_log_no_value(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="portkit")
    token_secret = secret("builder-token", value="x")
    token_secret["metadata"]["annotations"] = {"openshift.io/token-secret.value": TOKEN}
    token_secret["data"] = {"token": base64.b64encode(TOKEN.encode()).decode()}
    objects = [ns("shop"), secret("db", value=VALUE), token_secret]
    t = translate(Bundle(objects, meta={"source": {"provider": "openshift"}}), target="ionos")
    fake = FakeCluster()
    fake.add(ns("shop"))
    fake.reject = lambda obj: (  # an API server that quotes the value back in its Status message
        f'data[password]: Invalid value: "{VALUE}": must be shorter' if obj["metadata"]["name"] == "db" else None
    )
    p = plan(t.bundle, fake)  # type: ignore[arg-type]
    fake.reject = lambda obj: (
        f'Secret "db" is invalid: Invalid value: "{VALUE}" ({TOKEN})' if obj["kind"] == "Secret" else None
    )
    result = apply(p, workdir=tmp_path / "work")
    assert result.failed  # the failure is logged (a WARNING quoting the API's message) ...
    verify(t.bundle, fake)  # type: ignore[arg-type]

    loggers = {r.name for r in caplog.records}
    assert {"portkit.translate", "portkit.replay.plan", "portkit.replay.apply", "portkit.replay.verify"} <= loggers
    assert any(r.levelno == logging.WARNING and r.name == "portkit.replay.apply" for r in caplog.records)
    formatter = JsonFormatter()
    text = "\n".join(formatter.format(r) + repr(r.args) + repr(vars(r)) for r in caplog.records)
    for leaked in (*forms(VALUE), *forms(TOKEN)):
        assert leaked not in text  # ... without the value it quoted


def test_step_records_are_info_with_counts(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="portkit")
    fake = FakeCluster()
    p = plan([ns("shop"), secret("db")], fake)  # type: ignore[arg-type]
    apply(p)
    messages = [r.getMessage() for r in caplog.records if r.levelno == logging.INFO]
    assert any(m.startswith("planning 2 objects") for m in messages)
    assert any(m.startswith("plan: 2 create") for m in messages)
    assert any(m.startswith("apply: 2 created") for m in messages)


def test_json_formatter_writes_one_object_per_record_with_extra_fields() -> None:
    record = logging.makeLogRecord({
        "name": "portkit.export", "levelno": logging.INFO, "levelname": "INFO", "msg": "exported %d objects",
        "args": (12,), "namespace": "shop",
    })  # fmt: skip
    try:
        raise ValueError("Authorization: Bearer abcdefghijklmnop")
    except ValueError:
        record.exc_info = sys.exc_info()
    line = JsonFormatter().format(record)
    assert "\n" not in line
    data = json.loads(line)
    assert (data["level"], data["logger"], data["message"], data["namespace"]) == (
        "info",
        "portkit.export",
        "exported 12 objects",
        "shop",
    )
    assert data["time"].endswith("Z") and "ValueError" in data["exception"]
    assert "abcdefghijklmnop" not in line and "Bearer ***" in line


def test_log_to_sends_portkit_records_as_json_lines() -> None:
    stream = io.StringIO()
    handler = log_to(stream, level=logging.INFO, fmt="json")
    try:
        translate([ns("shop"), secret("db", value=VALUE)], source="aws", target="ionos")
    finally:
        logging.getLogger("portkit").removeHandler(handler)
        logging.getLogger("portkit").setLevel(logging.NOTSET)
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert any(d["logger"] == "portkit.translate" and d["message"].startswith("translated 2 objects") for d in lines)
    assert VALUE not in stream.getvalue()


def test_scrub_credentials() -> None:
    assert scrub_credentials("sent Authorization: Bearer abc.def-ghi_jkl") == "sent Authorization: Bearer ***"
    assert scrub_credentials("basic dXNlcjpwYXNzd29yZA==") == "basic ***"
    assert scrub_credentials("a bearer of good news") == "a bearer of good news"


def test_local_cluster_reports_to_the_portkit_testing_logger_by_default(
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    from portkit.errors import LocalClusterError
    from portkit.testing import LocalCluster, localcluster

    def no_binaries(progress: object) -> None:
        progress("building the Kubernetes binaries")  # type: ignore[operator]
        raise LocalClusterError("no Go in this test")

    monkeypatch.setattr(localcluster, "ensure_binaries", no_binaries)
    caplog.set_level(logging.INFO, logger="portkit.testing")
    with pytest.raises(LocalClusterError):
        LocalCluster("quiet", data_dir=tmp_path / "lc").start()
    assert [(r.name, r.getMessage()) for r in caplog.records] == [
        ("portkit.testing.localcluster", "quiet: building the Kubernetes binaries")
    ]
    assert capsys.readouterr().err == ""


# -- the rules, checked on the source ---------------------------------------------------------------------
def _modules() -> list[tuple[Path, ast.Module]]:
    return [(path, ast.parse(path.read_text())) for path in sorted(PORTKIT.rglob("*.py"))]


# Entry points whose job is to print (``python -m ...``), and the node process whose stdout is its log file.
PRINT_ALLOWED = {
    ("testing/binaries.py", "stderr_progress"),
    ("testing/binaries.py", "build_and_print"),
    ("policy/opa.py", "_stderr_progress"),
    ("policy/opa.py", "main"),
    ("testing/_nodehost.py", "_log"),
}


def test_no_print_in_library_code() -> None:
    found = []
    for path, tree in _modules():
        rel = path.relative_to(PORTKIT).as_posix()
        if rel.startswith("cli/") or rel == "__main__.py":
            continue
        for fn in ast.walk(tree):
            if not isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef) or (rel, fn.name) in PRINT_ALLOWED:
                continue
            for node in ast.walk(fn):
                if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "print":
                    found.append(f"{rel}:{node.lineno} in {fn.name}()")
    assert not found, "library code logs (logging.getLogger(__name__)) instead of printing: " + ", ".join(found)


def test_every_module_logger_is_named_after_its_module() -> None:
    found = []
    for path, tree in _modules():
        rel = path.relative_to(PORTKIT).as_posix()
        if rel in ("_logging.py", "cli/_logging.py"):
            continue  # they configure portkit's loggers (handlers, levels), they do not log
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "getLogger"
                and node.args
                and not (isinstance(node.args[0], ast.Name) and node.args[0].id == "__name__")
            ):
                name = node.args[0].value if isinstance(node.args[0], ast.Constant) else "?"
                if not (rel.startswith("cli/") and name == "portkit.cli"):  # the CLI's notices
                    found.append(f"{rel}:{node.lineno} getLogger({name!r})")
    assert not found, found
