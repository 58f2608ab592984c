"""A real Migration between two LocalClusters, observed: spans from the OpenTelemetry SDK (in-memory exporter)
and the metrics file parsed with prometheus_client's parser must agree with the migration's own report."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode
from prometheus_client.parser import text_string_to_metric_families

import portkit
from portkit.migration import STEPS
from portkit.observe import Metrics, Observer
from portkit.testing import LocalCluster

pytestmark = pytest.mark.integration


def test_migration_produces_the_expected_spans_and_metrics(
    shop: LocalCluster, target_cluster: LocalCluster, shop_mappings: dict[str, Any], tmp_path: Path
) -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    prom = tmp_path / "shop.prom"
    m = portkit.Migration(
        source=shop.cluster(), target=target_cluster.cluster(), namespaces=["shop"], target_provider="ionos",
        namespace_map={"shop": "shop-observed"}, mappings=shop_mappings, workdir=tmp_path / "mig", timeout=120,
    )  # fmt: skip
    with Observer(tracer_provider=provider, metrics=Metrics(labels={"unit": "shop"}), metrics_file=prom):
        report = m.run()
    provider.shutdown()
    assert report.ok, report.to_text()
    assert report.applied is not None and report.verified is not None and report.translation is not None
    exported = len(m.export())

    # -- spans: the migration, one per step under it, one per apply wave under the apply --------------------
    spans = exporter.get_finished_spans()
    counts = Counter(s.name for s in spans)
    (root,) = [s for s in spans if s.name == "portkit.migration"]
    assert root.parent is None and root.status.status_code is not StatusCode.ERROR
    steps = {s.name.removeprefix("portkit."): s for s in spans if s.parent and s.parent.span_id == root.context.span_id}
    assert sorted(steps) == sorted(STEPS)
    assert all(counts[f"portkit.{step}"] == 1 for step in STEPS), counts  # a step and its function: one span
    attrs = {step: dict(span.attributes or {}) for step, span in steps.items()}
    assert attrs["export"]["portkit.objects"] == exported
    assert attrs["translate"]["portkit.changes"] == len(report.translation.changes)
    assert attrs["lint"]["portkit.findings"] == 0
    assert attrs["plan"]["portkit.objects"] == len(report.applied.objects)
    apply_counts = report.applied.counts()
    assert attrs["apply"]["portkit.outcome.created"] == apply_counts["created"] > 0
    assert attrs["apply"]["portkit.errors"] == 0 and attrs["apply"]["portkit.writes"] == report.applied.writes
    assert attrs["verify"]["portkit.objects"] == report.verified.checked and attrs["verify"]["portkit.errors"] == 0
    assert report.waited is not None and attrs["wait"]["portkit.ready"] == len(report.waited.ready)
    assert all(span.status.status_code is not StatusCode.ERROR for span in steps.values())
    apply_id = steps["apply"].context.span_id
    waves = [s for s in spans if s.name == "portkit.apply.wave"]
    assert waves and all(s.parent is not None and s.parent.span_id == apply_id for s in waves)
    wave_names = [dict(s.attributes or {})["portkit.wave"] for s in waves]
    assert wave_names[0] == "namespaces" and len(set(wave_names)) == len(wave_names)
    assert sum(int(dict(s.attributes or {})["portkit.objects"]) for s in waves) == len(report.applied.objects)
    assert {o.wave for o in report.applied.objects} == set(wave_names)

    # -- metrics: the file written at the end, parsed ---------------------------------------------------------
    samples: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}
    for family in text_string_to_metric_families(prom.read_text()):
        for s in family.samples:
            samples[(s.name, tuple(sorted(s.labels.items())))] = s.value

    def get(name: str, **labels: str) -> float:
        return samples[(name, tuple(sorted({"unit": "shop", **labels}.items())))]

    assert get("portkit_objects_exported_total") == exported
    applied = {k: v for (n, labels), v in samples.items() if n == "portkit_objects_applied_total"
               for key, k in labels if key == "outcome"}  # fmt: skip
    assert applied == {k: v for k, v in apply_counts.items() if v and k != "failed"}
    assert ("portkit_objects_failed_total", (("step", "apply"), ("unit", "shop"))) not in samples
    assert get("portkit_apply_writes_total") == report.applied.writes
    assert get("portkit_translation_changes_total") == len(report.translation.changes)
    for step in STEPS:
        assert get("portkit_step_duration_seconds", step=step) >= 0
        assert get("portkit_step_running", step=step) == 0
    assert get("portkit_step_duration_seconds", step="apply") > 0
    assert get("portkit_verify_objects", result="ok") == report.verified.checked
    assert get("portkit_wait_objects", state="not_ready") == 0
    assert get("portkit_migration_info", namespaces="shop", source_provider="aws", target_provider="ionos") == 1
    assert get("portkit_api_requests_total", cluster="source") > 0
    assert get("portkit_api_requests_total", cluster="target") > get("portkit_api_writes_total", cluster="target") > 0
    waves_timed = {dict(labels)["wave"] for (n, labels) in samples if n == "portkit_apply_wave_duration_seconds"}
    assert waves_timed == set(wave_names)


def test_cli_migrate_serves_metrics_while_it_runs_and_leaves_the_file(
    shop: LocalCluster, target_cluster: LocalCluster, tmp_path: Path
) -> None:
    """The flags the fleet's Jobs pass: live scrapes during the run, the final values in the file."""
    import subprocess
    import sys
    import urllib.error
    import urllib.request

    prom = tmp_path / "unit.prom"
    proc = subprocess.Popen(
        [sys.executable, "-m", "portkit.cli", "migrate", "--from-kubeconfig", str(shop.kubeconfig),
         "--to-kubeconfig", str(target_cluster.kubeconfig), "-n", "shop", "--to", "ionos",
         "--namespace-map", "shop=shop-cli-observed", "--workdir", str(tmp_path / "mig"), "-o", "json",
         "--map", "images:123456789012.dkr.ecr.eu-central-1.amazonaws.com/=registry.example.eu/",
         "--map", "images:public.ecr.aws/docker/library/=docker.io/library/",
         "--metrics-port", "0", "--metrics-file", str(prom), "--metrics-label", "fleet=eu",
         "--metrics-label", "unit=shop"],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert proc.stderr is not None
    first = proc.stderr.readline()
    assert first.startswith("portkit: serving metrics on http://127.0.0.1:"), first
    url = first.split(" on ", 1)[1].strip()
    scrapes: list[str] = []
    while proc.poll() is None:
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                scrapes.append(response.read().decode())
        except (urllib.error.URLError, ConnectionError):
            pass  # the run ended between poll() and the request
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 3, err  # migrated, with manual actions
    assert "Traceback" not in err
    live = [
        {(s.name, tuple(sorted(s.labels.items()))): s.value
         for f in text_string_to_metric_families(text) for s in f.samples}
        for text in scrapes
    ]  # fmt: skip
    assert live, "no scrape succeeded while the migration ran"
    running = (("fleet", "eu"), ("unit", "shop"))
    codes = [sample[("portkit_run_exit_code", running)] for sample in live]
    assert codes[0] == -1 and set(codes) <= {-1, 3} and codes == sorted(codes)  # -1 until the run's very end
    assert any(v == 1 for sample in live for (n, _), v in sample.items() if n == "portkit_step_running")
    final = {(s.name, tuple(sorted(s.labels.items()))): s.value
             for f in text_string_to_metric_families(prom.read_text()) for s in f.samples}  # fmt: skip
    assert final[("portkit_run_exit_code", running)] == 3
    assert final[("portkit_run_info", (("command", "migrate"), *running, ("version", portkit.__version__)))] == 1
    assert final[("portkit_objects_exported_total", running)] > 0
    created = final[("portkit_objects_applied_total", (("fleet", "eu"), ("outcome", "created"), ("unit", "shop")))]
    assert created == __import__("json").loads(out)["apply"]["counts"]["created"] > 0
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(url, timeout=5)  # the endpoint is gone with the run
