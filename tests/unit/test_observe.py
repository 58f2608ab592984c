"""portkit.observe: spans with the real OpenTelemetry SDK, metrics read back with prometheus_client's parser.

Spans are collected with the SDK's InMemorySpanExporter, or sent by the real OTLP/HTTP exporter to a receiver
on 127.0.0.1 and decoded with the OTLP protobuf types. Metrics are parsed with
``prometheus_client.parser.text_string_to_metric_families``. What portkit calls is never replaced.
"""

from __future__ import annotations

import http.server
import json
import os
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode
from prometheus_client.parser import text_string_to_metric_families

from portkit.bundle import Bundle
from portkit.cli import build_parser, main
from portkit.errors import ConfigurationError, UnknownProviderError
from portkit.observe import METRICS, Metrics, Observer, current, metric_names, run_command
from portkit.observe._tracing import tracer_provider_from_env
from portkit.translate import lint_residue, translate
from portkit.volumes.velero import progress_bytes

APP = Path(__file__).resolve().parents[2] / "examples" / "shop-eks" / "app"
IMAGES = ["--map", "images:123456789012.dkr.ecr.eu-central-1.amazonaws.com/=registry.example.eu/"]


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of an exposition text: (name, sorted labels) -> value, parsed by prometheus_client."""
    out = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def value(text: str, name: str, **labels: str) -> float:
    found = samples(text)
    key = (name, tuple(sorted(labels.items())))
    assert key in found, f"{key} not in {sorted(k for k in found if k[0] == name)}"
    return found[key]


@pytest.fixture()
def spans() -> Iterator[tuple[TracerProvider, InMemorySpanExporter]]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    yield provider, exporter
    provider.shutdown()


def by_name(finished: tuple[ReadableSpan, ...] | list[ReadableSpan]) -> dict[str, ReadableSpan]:
    return {s.name: s for s in finished}


# -- the library: steps as spans and metrics -----------------------------------------------------------------
def test_translate_and_lint_are_spans_with_counts_and_metrics(spans: Any) -> None:
    provider, exporter = spans
    bundle = Bundle.from_manifests(APP)
    metrics = Metrics(labels={"unit": "shop"})
    with Observer(tracer_provider=provider, metrics=metrics):
        t = translate(bundle, source="aws", target="ionos")
        residue = lint_residue(t, "aws", "ionos")
    got = by_name(exporter.get_finished_spans())
    assert set(got) == {"portkit.translate", "portkit.lint"}
    tr = got["portkit.translate"].attributes or {}
    assert tr["portkit.step"] == "translate"
    assert tr["portkit.objects"] == len(t.bundle) > 0
    assert tr["portkit.changes"] == len(t.changes) > 0
    assert tr["portkit.warnings"] == len(t.warnings) and tr["portkit.manual_actions"] == len(t.manual_actions)
    assert (got["portkit.lint"].attributes or {})["portkit.findings"] == len(residue)
    text = metrics.text()
    assert value(text, "portkit_translation_changes_total", unit="shop") == len(t.changes)
    assert value(text, "portkit_translation_manual_actions_total", unit="shop") == len(t.manual_actions)
    assert value(text, "portkit_lint_findings", unit="shop") == len(residue)
    assert value(text, "portkit_step_running", step="translate", unit="shop") == 0
    assert value(text, "portkit_step_duration_seconds", step="translate", unit="shop") > 0


def test_a_failing_step_records_the_error_on_its_span_and_counts_it(spans: Any) -> None:
    provider, exporter = spans
    metrics = Metrics()
    with Observer(tracer_provider=provider, metrics=metrics), pytest.raises(UnknownProviderError):
        translate(Bundle.from_manifests(APP), source="aws", target="no-such-provider")
    (span,) = exporter.get_finished_spans()
    assert span.name == "portkit.translate" and span.status.status_code is StatusCode.ERROR
    assert (span.attributes or {})["error.type"] == "UnknownProviderError"
    assert [e.name for e in span.events] == ["exception"]
    assert value(metrics.text(), "portkit_step_failures_total", step="translate") == 1


def test_a_step_opened_by_its_caller_is_one_span(spans: Any) -> None:
    """A Migration step and the function of the step share their span (not nested twice)."""
    provider, exporter = spans
    obs = Observer(tracer_provider=provider)
    with obs, obs.step("translate", extra=1):
        translate(Bundle.from_manifests(APP), source="aws", target="ionos")
    (span,) = exporter.get_finished_spans()
    assert span.name == "portkit.translate"
    assert (span.attributes or {})["portkit.extra"] == 1 and (span.attributes or {})["portkit.changes"] > 0


@attrs.frozen
class _Action:
    ref: str
    wave: int
    wave_name: str


@attrs.frozen
class _Result:
    ref: str
    outcome: str
    message: str = ""


def test_apply_waves_are_spans_with_outcomes_and_errors(spans: Any) -> None:
    provider, exporter = spans
    metrics = Metrics()
    waves = [[_Action("ns/a", 0, "namespaces")], [], [_Action("cm/b", 5, "config"), _Action("cm/c", 5, "config")]]
    results = {"ns/a": _Result("ns/a", "created"), "cm/b": _Result("cm/b", "failed", "denied by webhook"),
               "cm/c": _Result("cm/c", "unchanged")}  # fmt: skip
    obs = Observer(tracer_provider=provider, metrics=metrics)
    with obs, obs.span("portkit.apply"):
        assert [len(w) for w in obs.waves(waves, lambda a: results.get(a.ref))] == [1, 0, 2]
    got = [s for s in exporter.get_finished_spans() if s.name == "portkit.apply.wave"]
    assert [(s.attributes or {})["portkit.wave"] for s in got] == ["namespaces", "config"]  # empty wave: no span
    apply_span = by_name(exporter.get_finished_spans())["portkit.apply"]
    assert all(s.parent is not None and s.parent.span_id == apply_span.context.span_id for s in got)
    config = got[1].attributes or {}
    assert config["portkit.objects"] == 2 and config["portkit.errors"] == 1
    assert config["portkit.outcome.failed"] == 1 and config["portkit.outcome.unchanged"] == 1
    assert list(config["portkit.error_messages"]) == ["cm/b: denied by webhook"]
    assert got[1].status.status_code is StatusCode.ERROR and got[0].status.status_code is StatusCode.UNSET
    text = metrics.text()
    assert value(text, "portkit_objects_applied_total", outcome="created") == 1
    assert value(text, "portkit_objects_applied_total", outcome="unchanged") == 1
    assert value(text, "portkit_objects_failed_total", step="apply") == 1
    assert value(text, "portkit_apply_wave_duration_seconds", wave="config") >= 0


def test_without_observer_or_tracer_provider_nothing_is_recorded() -> None:
    """No global tracer provider is set in this process: the default observer starts no span."""
    obs = current()
    assert obs.metrics is None and obs.tracer() is None
    t = translate(Bundle.from_manifests(APP), source="aws", target="ionos")
    assert t.changes  # the work itself is unchanged


def test_cluster_request_counters_are_exposed_live() -> None:
    @attrs.define
    class Stats:
        requests: int = 0
        retries: int = 0
        throttled: int = 0
        writes: int = 0

    source, target = Stats(requests=5), Stats(requests=7, retries=2, throttled=1, writes=3)
    metrics = Metrics()
    metrics.track_cluster("source", source)
    metrics.track_cluster("target", target)
    source.requests += 10  # read at collection time, not when tracked
    text = metrics.text()
    assert value(text, "portkit_api_requests_total", cluster="source") == 15
    assert value(text, "portkit_api_retries_total", cluster="target") == 2
    assert value(text, "portkit_api_throttled_total", cluster="target") == 1
    assert value(text, "portkit_api_writes_total", cluster="target") == 3


def test_velero_bytes_come_from_the_per_volume_objects_progress() -> None:
    """Shapes of Velero's PodVolumeBackup (velero.io/v1) and DataUpload (velero.io/v2alpha1) status."""
    objects = [
        {
            "kind": "PodVolumeBackup",
            "status": {"phase": "Completed", "progress": {"totalBytes": 4096, "bytesDone": 4096}},
        },
        {"kind": "DataUpload", "status": {"phase": "InProgress", "progress": {"totalBytes": 900, "bytesDone": 100}}},
        {"kind": "PodVolumeBackup", "status": {"phase": "New"}},
        {"kind": "PodVolumeBackup"},
    ]
    assert progress_bytes(objects) == 4196


def test_metric_table_is_consistent() -> None:
    names = metric_names()
    assert len(names) == len(set(names))
    for spec in METRICS:
        assert spec.name.startswith("portkit_")
        assert spec.name.endswith("_total") == (spec.kind == "counter"), spec.name
        assert spec.name.endswith("_info") == (spec.kind == "info"), spec.name


@pytest.mark.parametrize("labels", [{"step": "x"}, {"9a": "x"}, {"__name": "x"}, {"cluster": "x"}])
def test_bad_constant_labels_are_configuration_errors(labels: dict[str, str]) -> None:
    with pytest.raises(ConfigurationError, match="metrics label name"):
        Metrics(labels=labels)


def test_metrics_file_is_replaced_atomically(tmp_path: Path) -> None:
    path = tmp_path / "portkit.prom"
    metrics = Metrics()
    metrics.write(path)
    first = path.stat().st_ino
    metrics.add("objects_exported", 4)
    metrics.write(path)
    assert path.stat().st_ino != first  # a new file renamed over the old one, not written through
    assert sorted(p.name for p in tmp_path.iterdir()) == ["portkit.prom"]  # no temporary file left
    assert value(path.read_text(), "portkit_objects_exported_total") == 4


# -- OTEL_* configuration ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "env",
    [{}, {"OTEL_TRACES_EXPORTER": "none"}, {"OTEL_SDK_DISABLED": "true", "OTEL_TRACES_EXPORTER": "console"},
     {"OTEL_EXPORTER_OTLP_METRICS_ENDPOINT": "http://127.0.0.1:1"}],
)  # fmt: skip
def test_no_tracer_provider_unless_the_environment_asks_for_export(env: dict[str, str]) -> None:
    assert tracer_provider_from_env(env) is None


def test_an_exporter_that_is_not_installed_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="'zipkin_json', which is not installed"):
        tracer_provider_from_env({"OTEL_TRACES_EXPORTER": "zipkin_json"})
    with pytest.raises(ConfigurationError, match="otlp_proto_grpc"):
        tracer_provider_from_env({"OTEL_TRACES_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"})
    with pytest.raises(ConfigurationError, match="not supported"):
        tracer_provider_from_env({"OTEL_TRACES_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_PROTOCOL": "http/json"})


def test_console_exporter_writes_to_stderr_not_stdout(tmp_path: Path) -> None:
    """``-o json`` owns stdout: the console exporter must not write there."""
    proc = subprocess.run(
        [sys.executable, "-m", "portkit.cli", "lint", str(APP), "--from", "aws", "--to", "ionos", "-o", "json",
         *IMAGES],
        env={**os.environ, "OTEL_TRACES_EXPORTER": "console", "OTEL_SERVICE_NAME": "lint-test"},
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 3, proc.stderr
    json.loads(proc.stdout)  # stdout is the JSON document only
    assert '"name": "portkit lint"' in proc.stderr and '"service.name": "lint-test"' in proc.stderr


class _OtlpReceiver(http.server.BaseHTTPRequestHandler):
    bodies: list[tuple[str, bytes]]

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.bodies.append((self.path, body))
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture()
def otlp_receiver() -> Iterator[tuple[str, list[tuple[str, bytes]]]]:
    bodies: list[tuple[str, bytes]] = []
    handler = type("Receiver", (_OtlpReceiver,), {"bodies": bodies})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", bodies
    server.shutdown()
    server.server_close()
    thread.join(5)


def test_cli_exports_spans_over_otlp_configured_by_otel_variables_only(
    otlp_receiver: tuple[str, list[tuple[str, bytes]]], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

    endpoint, bodies = otlp_receiver
    trace_id, parent_id = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
    monkeypatch.delenv("OTEL_TRACES_EXPORTER", raising=False)
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint)  # OTEL_TRACES_EXPORTER defaults to otlp
    monkeypatch.setenv("OTEL_SERVICE_NAME", "portkit-ci")
    monkeypatch.setenv("TRACEPARENT", f"00-{trace_id}-{parent_id}-01")
    out = tmp_path / "out"
    assert main(["translate", str(APP), "--from", "aws", "--to", "ionos", "-o", str(out), *IMAGES]) == 3
    paths = {p for p, _ in bodies}
    assert paths == {"/v1/traces"}
    exported = []
    for _, body in bodies:
        request = ExportTraceServiceRequest()
        request.ParseFromString(body)
        for resource_spans in request.resource_spans:
            resource = {a.key: a.value.string_value for a in resource_spans.resource.attributes}
            assert resource["service.name"] == "portkit-ci"
            for scope in resource_spans.scope_spans:
                assert scope.scope.name == "portkit"
                exported += scope.spans
    names = {s.name: s for s in exported}
    assert set(names) == {"portkit translate", "portkit.translate"}
    root = names["portkit translate"]
    assert root.trace_id.hex() == trace_id and root.parent_span_id.hex() == parent_id  # joined the caller's trace
    assert names["portkit.translate"].parent_span_id == root.span_id
    attributes = {a.key: a.value for a in root.attributes}
    assert attributes["portkit.exit_code"].int_value == 3
    assert attributes["portkit.command"].string_value == "translate"


# -- the CLI: flags, metrics file, endpoint --------------------------------------------------------------------
WORK_COMMANDS = {
    ("export",): True, ("translate",): False, ("lint",): False, ("plan",): False, ("apply",): True,
    ("migrate",): True, ("demo",): True, ("bundle", "upgrade"): False, ("verify-data",): True,
}  # fmt: skip


@pytest.mark.parametrize(("command", "serves"), list(WORK_COMMANDS.items()))
def test_every_work_command_has_the_metrics_flags(command: tuple[str, ...], serves: bool) -> None:
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command").choices[command[0]]  # type: ignore[index]
    for word in command[1:]:
        sub = next(a for a in sub._actions if getattr(a, "choices", None) and word in a.choices).choices[word]
    options = {o for a in sub._actions for o in a.option_strings}
    assert {"--metrics-file", "--metrics-label"} <= options
    assert ({"--metrics-port", "--metrics-address"} <= options) is serves


def test_cli_lint_writes_the_metrics_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "lint.prom"
    code = main(["lint", str(APP), "--from", "aws", "--to", "ionos", "-o", "json", *IMAGES,
                 "--metrics-file", str(path), "--metrics-label", "team=platform"])  # fmt: skip
    assert code == 3
    report = json.loads(capsys.readouterr().out)
    text = path.read_text()
    assert value(text, "portkit_run_info", command="lint", team="platform", version=_version()) == 1
    assert value(text, "portkit_run_exit_code", team="platform") == 3
    assert value(text, "portkit_run_duration_seconds", team="platform") > 0
    assert value(text, "portkit_translation_changes_total", team="platform") == len(report["changes"])
    assert value(text, "portkit_lint_findings", team="platform") == len(report["residue"])
    for step in ("translate", "lint"):
        assert value(text, "portkit_step_duration_seconds", step=step, team="platform") > 0


def test_cli_metrics_of_a_failed_run(tmp_path: Path) -> None:
    path = tmp_path / "t.prom"
    code = main(["translate", str(APP), "--from", "aws", "--to", "mars", "-o", str(tmp_path / "o"),
                 "--metrics-file", str(path)])  # fmt: skip
    assert code == 2
    text = path.read_text()
    assert value(text, "portkit_run_exit_code") == 2
    assert value(text, "portkit_step_failures_total", step="translate") == 1


@pytest.mark.parametrize(
    ("flags", "message"),
    [(["--metrics-file", "/nonexistent-dir/x.prom"], "does not exist"),
     (["--metrics-file", "{tmp}/m.prom", "--metrics-label", "oops"], "KEY=VALUE"),
     (["--metrics-file", "{tmp}/m.prom", "--metrics-label", "step=x"], "metrics label name"),
     (["--metrics-label", "unit=shop"], "none are written or served")],
)  # fmt: skip
def test_cli_bad_metrics_flags_exit_2_before_any_work(
    flags: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "o"
    flags = [f.format(tmp=tmp_path) for f in flags]
    assert main(["translate", str(APP), "--from", "aws", "--to", "ionos", "-o", str(out), *flags]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert not out.exists()


def test_metrics_port_serves_while_the_command_runs_then_closes() -> None:
    said: list[str] = []
    seen: dict[str, str] = {}

    def work() -> int:
        url = said[0].removeprefix("serving metrics on ")
        seen["url"] = url
        with urllib.request.urlopen(url, timeout=10) as response:
            seen["text"] = response.read().decode()
        return 0

    assert run_command("apply", work, metrics_port=0, labels={"unit": "u1"}, announce=said.append) == 0
    assert seen["url"].startswith("http://127.0.0.1:")  # loopback only by default
    assert value(seen["text"], "portkit_run_info", command="apply", unit="u1", version=_version()) == 1
    assert value(seen["text"], "portkit_run_exit_code", unit="u1") == -1  # not "0, ok" while running
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(seen["url"], timeout=5)  # closed after the run


def test_metrics_port_in_use_is_a_configuration_error() -> None:
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        with pytest.raises(ConfigurationError, match="Cannot serve metrics"):
            run_command("apply", lambda: 0, metrics_port=busy.getsockname()[1])


def _version() -> str:
    from portkit import __version__

    return __version__


# -- without the optional extras ----------------------------------------------------------------------------
_BLOCK = "import sys; sys.modules['{0}'] = None; from portkit.cli import main; sys.exit(main(sys.argv[1:]))"


def test_without_opentelemetry_nothing_happens_even_with_otel_variables(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-c", _BLOCK.format("opentelemetry"), "lint", str(APP), "--from", "aws", "--to", "ionos",
         "-o", "json", *IMAGES],
        env={**os.environ, "OTEL_TRACES_EXPORTER": "console", "TRACEPARENT": "00-" + "1" * 32 + "-" + "2" * 16 + "-01"},
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 3, proc.stderr
    assert "Traceback" not in proc.stderr and "portkit lint" not in proc.stderr
    json.loads(proc.stdout)


def test_without_prometheus_client_the_metrics_flags_say_what_to_install(tmp_path: Path) -> None:
    args = ["translate", str(APP), "--from", "aws", "--to", "ionos", "-o", str(tmp_path / "o"), *IMAGES]
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    plain = subprocess.run([sys.executable, "-c", _BLOCK.format("prometheus_client"), *args], env=env,
                           capture_output=True, text=True, timeout=120)  # fmt: skip
    assert plain.returncode == 3, plain.stderr
    flagged = subprocess.run(
        [sys.executable, "-c", _BLOCK.format("prometheus_client"), *args, "--metrics-file", str(tmp_path / "m.prom")],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert flagged.returncode == 2
    assert "pip install 'portkit[prometheus]'" in flagged.stderr and "Traceback" not in flagged.stderr


# -- the Grafana dashboard of examples/ -----------------------------------------------------------------------
def test_fleet_dashboard_queries_only_metrics_portkit_exposes() -> None:
    import re

    path = Path(__file__).resolve().parents[2] / "examples" / "grafana" / "portkit-fleet.json"
    dashboard = json.loads(path.read_text())
    panels = [p for p in dashboard["panels"] if p["type"] != "row"]
    assert len({p["id"] for p in dashboard["panels"]}) == len(dashboard["panels"])
    exprs = [t["expr"] for p in panels for t in p["targets"]]
    variables = {v["name"]: v for v in dashboard["templating"]["list"]}
    assert set(variables) == {"datasource", "fleet", "unit"}
    used = set(re.findall(r"\bportkit_[a-z_]+\b", " ".join(exprs + [v.get("definition", "") for v in
                                                                      variables.values()])))  # fmt: skip
    assert used and used <= set(metric_names()), used - set(metric_names())
    assert all('fleet=~"$fleet", unit=~"$unit"' in e for e in exprs)  # every query follows the selectors
    assert all(p["datasource"] == {"type": "prometheus", "uid": "${datasource}"} for p in panels)
    for name in (
        "portkit_objects_exported_total",
        "portkit_objects_applied_total",
        "portkit_objects_failed_total",
        "portkit_api_retries_total",
        "portkit_volume_bytes_total",
        "portkit_step_duration_seconds",
    ):
        assert name in used  # what the issue asks the dashboard to show


def test_the_documentation_lists_every_metric() -> None:
    doc = (Path(__file__).resolve().parents[2] / "docs" / "observability.md").read_text()
    missing = [name for name in metric_names() if f"| `{name}` |" not in doc]
    assert not missing


# -- the policy gate (the real opa binary, as tests/unit/test_policy.py uses it) ------------------------------
def test_cli_lint_with_policies_is_a_policy_span_and_violation_metrics(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], spans: Any
) -> None:
    from portkit.policy import OpaUnavailableError, ensure_opa

    try:
        monkeypatch.setenv("PORTKIT_OPA", str(ensure_opa(progress=lambda message: None)))
    except OpaUnavailableError as exc:
        pytest.fail(f"the opa binary could not be built: {exc}")
    provider, exporter = spans
    policies = APP.parents[1] / "policies"
    path = tmp_path / "lint.prom"
    with Observer(tracer_provider=provider):  # the CLI uses the active observer's tracer when no OTEL_* is set
        code = main(["lint", str(APP), "--from", "aws", "--to", "ionos", "--policy", str(policies), "-o", "json",
                     *IMAGES, "--metrics-file", str(path)])  # fmt: skip
    data = json.loads(capsys.readouterr().out)
    assert code == 1 and data["policy"]["blocked"] is True
    denied = [v for v in data["policy"]["violations"] if v["action"] == "deny"]
    warned = data["policy"]["warnings"]
    text = path.read_text()
    assert value(text, "portkit_policy_violations", action="deny") == len(denied) > 0
    assert value(text, "portkit_policy_violations", action="warn") == len(warned) > 0
    assert value(text, "portkit_run_exit_code") == 1
    got = by_name(exporter.get_finished_spans())
    span = dict(got["portkit.policy"].attributes or {})
    assert span["portkit.denied"] == len(denied) and span["portkit.policies"] == 3
    assert len(span["portkit.error_messages"]) == len(denied)
    assert got["portkit lint"].status.status_code is StatusCode.ERROR  # exit 1


def test_a_metrics_file_that_cannot_be_written_mid_run_does_not_stop_the_work(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    gone = tmp_path / "gone"
    gone.mkdir()
    obs = Observer(metrics=Metrics(), metrics_file=gone / "m.prom")
    gone.rmdir()  # e.g. the textfile directory was removed while the migration runs
    with obs:
        t = translate(Bundle.from_manifests(APP), source="aws", target="ionos")
    assert t.changes is not None
    assert "Could not write the metrics file" in caplog.text
