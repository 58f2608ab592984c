"""portkit.fleet: the generated Jobs / Indexed Job / Argo Workflow, and the unit script they run.

The scripts are run here with /bin/sh against stand-ins for `portkit` and `aws` on PATH that record their
arguments, so the exit-code mapping, the per-unit arguments and the S3 round trip are checked for real.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from portkit.cli import main
from portkit.errors import ConfigurationError
from portkit.fleet import FleetPlan, plan_fleet, read_namespaces_file

BASE: dict[str, Any] = {
    "image": "registry.example/portkit:0.1",
    "source_secret": "src-kubeconfig",
    "target_secret": "dst-kubeconfig",
    "to_provider": "ionos",
}


def pvc_plan(namespaces: list[str], **kw: Any) -> FleetPlan:
    return plan_fleet(namespaces, **{**BASE, "workspace_pvc": "portkit-ws", **kw})


def pod_of(job: dict[str, Any]) -> dict[str, Any]:
    pod: dict[str, Any] = job["spec"]["template"]["spec"]
    return pod


def env_of(container: dict[str, Any]) -> dict[str, str]:
    return {e["name"]: e["value"] for e in container.get("env", [])}


# -- manifests -------------------------------------------------------------------------------------------------
def test_jobs_engine_one_job_per_namespace() -> None:
    plan = pvc_plan(["shop", "billing", "search"], from_provider="aws", namespace_map={"shop": "shop-eu"},
                    mappings={"images": {"123.dkr.ecr.eu-central-1.amazonaws.com/": "registry.example.eu/"}},
                    timeout=300, backoff_limit=5, ttl_seconds_after_finished=3600)  # fmt: skip
    assert [u.name for u in plan.units] == ["shop", "billing", "search"]
    assert [j["metadata"]["name"] for j in plan.jobs] == ["portkit-fleet-shop", "portkit-fleet-billing",
                                                          "portkit-fleet-search"]  # fmt: skip
    job = plan.jobs[0]
    assert job["apiVersion"] == "batch/v1" and job["metadata"]["namespace"] == "portkit"
    assert job["metadata"]["labels"]["portkit.io/fleet"] == "portkit-fleet"
    assert job["metadata"]["labels"]["portkit.io/unit"] == "shop"
    assert job["spec"]["template"]["metadata"]["labels"]["portkit.io/unit"] == "shop"
    assert job["spec"]["backoffLimit"] == 5 and job["spec"]["ttlSecondsAfterFinished"] == 3600
    rules = job["spec"]["podFailurePolicy"]["rules"]
    assert rules[0] == {"action": "FailJob", "onExitCodes": {"containerName": "migrate", "operator": "In",
                                                             "values": [2]}}  # fmt: skip
    pod = pod_of(job)
    assert pod["restartPolicy"] == "Never" and pod["automountServiceAccountToken"] is False
    (container,) = pod["containers"]
    assert container["image"] == BASE["image"] and container["command"] == ["/bin/sh", "-c"]
    args = container["args"][2:]
    assert args == ["--to", "ionos", "--from", "aws", "--timeout", "300",
                    "--map", "images:123.dkr.ecr.eu-central-1.amazonaws.com/=registry.example.eu/",
                    "--metrics-port", "9464", "--metrics-address", "0.0.0.0",
                    "--metrics-label", "fleet=portkit-fleet"]  # fmt: skip
    env = env_of(container)
    assert env["UNIT"] == "shop" and env["NAMESPACES"] == "shop=shop-eu"
    assert env_of(pod_of(plan.jobs[1])["containers"][0])["NAMESPACES"] == "billing"
    assert env["WORKSPACE"] == "/workspace/portkit-fleet"
    assert container["resources"] == {"requests": {"cpu": "250m", "memory": "512Mi"}, "limits": {"memory": "2Gi"}}
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert volumes["workspace"]["persistentVolumeClaim"] == {"claimName": "portkit-ws"}
    assert volumes["source-kubeconfig"]["secret"]["secretName"] == "src-kubeconfig"
    assert volumes["target-kubeconfig"]["secret"]["secretName"] == "dst-kubeconfig"
    assert plan.units[0].workdir == "/workspace/portkit-fleet/shop"
    assert plan.units[0].targets == ("shop-eu",) and plan.units[0].describe() == "shop→shop-eu"


def test_no_credentials_in_the_yaml_only_secret_names() -> None:
    plan = pvc_plan(["shop"])
    text = plan.to_yaml()
    for word in ("token", "client-key-data", "certificate-authority-data", "password", "AWS_SECRET_ACCESS_KEY="):
        assert word not in text
    s3 = plan_fleet(["shop"], **BASE, bundle_store="s3://bucket/mig", s3_secret="s3-creds")
    container = pod_of(s3.jobs[0])["containers"][0]
    assert container["envFrom"] == [{"secretRef": {"name": "s3-creds"}}]
    assert "AWS_ACCESS_KEY_ID" not in env_of(container)


def test_batches_and_long_names() -> None:
    plan = pvc_plan([f"ns-{i}" for i in range(5)], batch_size=2)
    assert [(u.name, u.namespaces) for u in plan.units] == [
        ("batch-000", ("ns-0", "ns-1")), ("batch-001", ("ns-2", "ns-3")), ("batch-002", ("ns-4",))]  # fmt: skip
    assert env_of(pod_of(plan.jobs[0])["containers"][0])["NAMESPACES"] == "ns-0 ns-1"
    long = ["a" * 60 + "-one", "a" * 60 + "-two"]
    long = [n[:63] for n in long]
    names = [j["metadata"]["name"] for j in pvc_plan(long).jobs]
    assert all(len(n) <= 63 and n[-1] != "-" for n in names) and len(set(names)) == 2


def test_duplicates_are_migrated_once() -> None:
    assert pvc_plan(["a", "b", "a"]).namespaces == ["a", "b"]


def test_indexed_engine() -> None:
    plan = pvc_plan(["a", "b", "c"], engine="indexed", parallelism=2, namespace_map={"b": "b-new"}, queue="migr")
    cm, job = plan.manifests
    assert cm["kind"] == "ConfigMap"
    assert cm["data"] == {"unit-0": "a a\n", "unit-1": "b b=b-new\n", "unit-2": "c c\n"}
    assert plan.jobs == [job]
    spec = job["spec"]
    assert spec["completionMode"] == "Indexed" and spec["completions"] == 3 and spec["parallelism"] == 2
    assert spec["backoffLimitPerIndex"] == 3 and "backoffLimit" not in spec
    assert spec["podFailurePolicy"]["rules"][0]["action"] == "FailIndex"
    assert spec["suspend"] is True and job["metadata"]["labels"]["kueue.x-k8s.io/queue-name"] == "migr"
    pod = pod_of(job)
    assert "UNIT" not in env_of(pod["containers"][0])
    assert {"name": "units", "configMap": {"name": cm["metadata"]["name"]}} in pod["volumes"]
    assert [u.job for u in plan.units] == ["portkit-fleet#0", "portkit-fleet#1", "portkit-fleet#2"]


def test_argo_engine() -> None:
    plan = plan_fleet(["a", "b", "c"], **BASE, bundle_store="s3://bucket/prefix", s3_secret="s3",
                      s3_endpoint="https://s3.eu-central-1.ionoscloud.com", engine="argo", parallelism=2,
                      batch_size=2, namespace_map={"c": "c2"})  # fmt: skip
    assert plan.jobs == []
    wf = plan.workflow
    assert wf is not None and wf["apiVersion"] == "argoproj.io/v1alpha1" and wf["kind"] == "Workflow"
    spec = wf["spec"]
    assert spec["parallelism"] == 2 and spec["entrypoint"] == "migrate"
    dag, unit = spec["templates"]
    (task,) = dag["dag"]["tasks"]
    assert task["withItems"] == [
        {"unit": "batch-000", "namespaces": "a b"},
        {"unit": "batch-001", "namespaces": "c=c2"},
    ]
    assert unit["retryStrategy"]["expression"] == "asInt(lastRetry.exitCode) != 2"
    assert env_of(unit["container"])["UNIT"] == "{{inputs.parameters.unit}}"
    assert [c["name"] for c in unit["initContainers"]] == ["restore", "migrate"] and unit["container"][
        "name"
    ] == "upload"
    assert env_of(unit["container"])["AWS_ENDPOINT_URL"] == "https://s3.eu-central-1.ionoscloud.com"
    assert env_of(unit["container"])["BUNDLE_STORE"] == "s3://bucket/prefix/portkit-fleet"
    assert {"name": "workspace", "emptyDir": {}} in spec["volumes"]
    assert plan.units[1].workdir == "s3://bucket/prefix/portkit-fleet/batch-001"


@pytest.mark.parametrize(
    ("kw", "match"),
    [
        ({"workspace_pvc": None}, "one shared store"),
        ({"bundle_store": "s3://b/x"}, "one shared store"),
        ({"workspace_pvc": None, "bundle_store": "s3://bucket/x"}, "s3_secret"),
        ({"workspace_pvc": None, "bundle_store": "http://bucket", "s3_secret": "s"}, "not an s3://"),
        ({"parallelism": 4}, "cannot limit parallelism"),
        ({"engine": "slurm"}, "unknown engine"),
        ({"batch_size": 0}, "batch_size"),
        ({"to_provider": "nowhere"}, "unknown provider"),
        ({"namespace_map": {"other": "x"}}, "does not migrate"),
        ({"extra_args": ["--workdir=/x"]}, "may not set --workdir"),
        ({"maps": ["bogus"]}, "--map"),
        ({"source_secret": "Bad_Name"}, "source Secret"),
        ({"engine": "argo", "queue": "q"}, "Kueue"),
    ],
)
def test_bad_options_are_configuration_errors(kw: dict[str, Any], match: str) -> None:
    with pytest.raises(ConfigurationError, match=match):
        pvc_plan(["shop"], **kw)


def test_bad_namespace_and_empty() -> None:
    with pytest.raises(ConfigurationError, match="namespace 'Shop'"):
        pvc_plan(["Shop"])
    with pytest.raises(ConfigurationError, match="no namespaces"):
        pvc_plan([])


def test_views_yaml_and_write(tmp_path: Path) -> None:
    plan = pvc_plan(["shop", "billing"], labels={"team": "<web>"})
    assert repr(plan) == "<FleetPlan portkit-fleet: 2 namespaces in 2 units, 2 Jobs → ionos>"
    assert "portkit-fleet-billing" in plan.to_text()
    html = plan._repr_html_()
    assert "<table>" in html and "portkit.io/fleet=portkit-fleet" in html
    data = json.loads(json.dumps(plan.to_dict()))
    assert data["units"][1] == {
        "name": "billing",
        "namespaces": ["billing"],
        "targets": ["billing"],
        "job": "portkit-fleet-billing",
        "workdir": "/workspace/portkit-fleet/billing",
    }
    assert list(yaml.safe_load_all(plan.to_yaml())) == plan.manifests
    assert "args:\n        - |\n          set -u" in plan.to_yaml()  # the script as a readable block
    paths = plan.write(tmp_path / "out")
    assert [p.name for p in paths] == ["0-job-portkit-fleet-shop.yaml", "1-job-portkit-fleet-billing.yaml"]
    assert [yaml.safe_load(p.read_text()) for p in paths] == plan.manifests
    assert plan.jobs[0]["metadata"]["labels"]["team"] == "<web>"


def test_read_namespaces_file(tmp_path: Path) -> None:
    f = tmp_path / "ns.txt"
    f.write_text("# the shop\nshop\n\nbilling search  # two on a line\n")
    assert read_namespaces_file(f) == ["shop", "billing", "search"]
    with pytest.raises(ConfigurationError, match="cannot read"):
        read_namespaces_file(tmp_path / "missing.txt")


# -- the unit scripts, run for real with stand-ins for portkit and aws ----------------------------------------
FAKE_PORTKIT = """#!/bin/sh
printf '%s\\n' "$@" > "$FAKE_LOG"
echo '{"ok": true}'
exit "${FAKE_RC:-0}"
"""
FAKE_AWS = """#!/bin/sh
# aws s3 sync SRC DST --only-show-errors, with s3:// mapped to $FAKE_S3
[ "$1 $2" = "s3 sync" ] || exit 9
src=$(echo "$3" | sed "s#^s3://#$FAKE_S3/#"); dst=$(echo "$4" | sed "s#^s3://#$FAKE_S3/#")
echo "$3 -> $4" >> "$FAKE_S3.log"
mkdir -p "$dst" && { [ ! -d "$src" ] || cp -R "$src/." "$dst/"; }
"""


@pytest.fixture()
def fakes(tmp_path: Path) -> dict[str, str]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name, text in (("portkit", FAKE_PORTKIT), ("aws", FAKE_AWS)):
        path = bin_dir / name
        path.write_text(text)
        path.chmod(path.stat().st_mode | stat.S_IEXEC)
    return {"PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}", "FAKE_LOG": str(tmp_path / "portkit-args"),
            "FAKE_S3": str(tmp_path / "s3")}  # fmt: skip


def run_container(container: dict[str, Any], fakes: dict[str, str], root: Path, **extra: str) -> int:
    """Run a generated container's command locally, its mount paths moved under ``root``."""
    env = {**env_of(container), **fakes, **extra}
    for key in ("WORKSPACE", "SOURCE_KUBECONFIG", "TARGET_KUBECONFIG", "UNITS_DIR"):
        if key in env:
            env[key] = str(root) + env[key]
    proc = subprocess.run([*container["command"], *container["args"]], env=env, capture_output=True, text=True,
                          timeout=60)  # fmt: skip
    return proc.returncode


@pytest.mark.parametrize(("portkit_rc", "expected"), [(0, 0), (3, 0), (1, 1), (2, 2)])
def test_job_script_runs_portkit_and_maps_exit_codes(
    fakes: dict[str, str], tmp_path: Path, portkit_rc: int, expected: int
) -> None:
    plan = pvc_plan(["shop", "billing"], batch_size=2, namespace_map={"billing": "billing-eu"}, maps=["zone:a=b"])
    container = pod_of(plan.jobs[0])["containers"][0]
    assert run_container(container, fakes, tmp_path, FAKE_RC=str(portkit_rc)) == expected
    args = Path(fakes["FAKE_LOG"]).read_text().splitlines()
    workdir = f"{tmp_path}/workspace/portkit-fleet/batch-000"
    assert args == ["migrate", "--from-kubeconfig", f"{tmp_path}/etc/portkit/source/kubeconfig",
                    "--to-kubeconfig", f"{tmp_path}/etc/portkit/target/kubeconfig", "--workdir", workdir,
                    "-o", "json", "--to", "ionos", "--map", "zone:a=b",
                    "--metrics-port", "9464", "--metrics-address", "0.0.0.0", "--metrics-label", "fleet=portkit-fleet",
                    "--metrics-file", f"{workdir}/metrics.prom", "--metrics-label", "unit=batch-000",
                    "-n", "shop", "-n", "billing", "--namespace-map", "billing=billing-eu"]  # fmt: skip
    assert json.loads(Path(workdir, "report.json").read_text()) == {"ok": True}
    assert Path(workdir, "exit-code").read_text().strip() == str(portkit_rc)


def test_indexed_job_script_reads_its_unit(fakes: dict[str, str], tmp_path: Path) -> None:
    plan = pvc_plan(["a", "b", "c"], engine="indexed", namespace_map={"c": "c-new"})
    cm, job = plan.manifests
    units = tmp_path / "etc" / "portkit" / "units"
    units.mkdir(parents=True)
    for key, value in cm["data"].items():
        (units / key).write_text(value)
    container = pod_of(job)["containers"][0]
    assert run_container(container, fakes, tmp_path, JOB_COMPLETION_INDEX="2") == 0
    args = Path(fakes["FAKE_LOG"]).read_text().splitlines()
    assert args[-4:] == ["-n", "c", "--namespace-map", "c=c-new"]
    assert (tmp_path / "workspace" / "portkit-fleet" / "c" / "exit-code").is_file()
    # an index with no unit is a usage error
    assert run_container(container, fakes, tmp_path, JOB_COMPLETION_INDEX="7") == 2


@pytest.mark.parametrize(("portkit_rc", "expected"), [(3, 0), (1, 1)])
def test_s3_store_restores_migrates_and_uploads(
    fakes: dict[str, str], tmp_path: Path, portkit_rc: int, expected: int
) -> None:
    plan = plan_fleet(["shop"], **BASE, bundle_store="s3://bucket/mig", s3_secret="s3")
    pod = pod_of(plan.jobs[0])
    assert plan.jobs[0]["spec"]["podFailurePolicy"]["rules"][0]["onExitCodes"]["containerName"] == "upload"
    # a previous attempt left state in the bucket: the restore brings it back
    earlier = Path(fakes["FAKE_S3"], "bucket", "mig", "portkit-fleet", "shop")
    earlier.mkdir(parents=True)
    (earlier / "state.json").write_text('{"completed": ["export"]}')
    restore, migrate = pod["initContainers"]
    (upload,) = pod["containers"]
    assert run_container(restore, fakes, tmp_path) == 0
    workdir = tmp_path / "workspace" / "portkit-fleet" / "shop"
    assert (workdir / "state.json").read_text() == '{"completed": ["export"]}'
    assert run_container(migrate, fakes, tmp_path, FAKE_RC=str(portkit_rc)) == 0  # the upload reports the result
    assert run_container(upload, fakes, tmp_path) == expected
    assert (earlier / "exit-code").read_text().strip() == str(portkit_rc)
    assert (earlier / "report.json").is_file()
    log = Path(fakes["FAKE_S3"] + ".log").read_text().splitlines()
    assert log == [f"s3://bucket/mig/portkit-fleet/shop/ -> {workdir}/",
                   f"{workdir}/ -> s3://bucket/mig/portkit-fleet/shop/"]  # fmt: skip


# -- the CLI ----------------------------------------------------------------------------------------------------
CLI = ["fleet", "--to", "ionos", "--image", "img:1", "--source-secret", "src", "--target-secret", "dst"]


def test_cli_writes_files_and_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    nsfile = tmp_path / "ns.txt"
    nsfile.write_text("a\nb\nc\n")
    code = main([*CLI, "--namespaces-file", str(nsfile), "--workspace-pvc", "ws", "--engine", "indexed",
                 "--parallelism", "2", "--namespace-map", "a=a2", "--migrate-arg=--no-wait", "--memory", "1Gi",
                 "-d", str(tmp_path / "out"), "-o", "json"])  # fmt: skip
    assert code == 0
    data = json.loads(capsys.readouterr().out)
    assert [u["name"] for u in data["units"]] == ["a", "b", "c"] and data["engine"] == "indexed"
    files = sorted((tmp_path / "out").iterdir())
    assert [f.name for f in files] == ["0-configmap-portkit-fleet-units.yaml", "1-job-portkit-fleet.yaml"]
    job = yaml.safe_load(files[1].read_text())
    container = pod_of(job)["containers"][0]
    assert "--no-wait" in container["args"] and container["resources"]["requests"]["memory"] == "1Gi"
    assert job["spec"]["parallelism"] == 2


def test_cli_prints_yaml_without_out(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*CLI, "-n", "shop", "--workspace-pvc", "ws", "--engine", "argo"]) == 0
    (wf,) = list(yaml.safe_load_all(capsys.readouterr().out))
    assert wf["kind"] == "Workflow"


def test_cli_errors_are_one_paragraph(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*CLI, "-n", "shop", "--workspace-pvc", "ws", "--parallelism", "3"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("portkit: error: engine 'jobs' starts every Job at once") and "Traceback" not in err
    assert main([*CLI, "-n", "shop"]) == 2  # no store: argparse usage error


# -- metrics of the units -----------------------------------------------------------------------------------------
def _scrape_annotations(pod_metadata: dict[str, Any], port: int = 9464) -> bool:
    return pod_metadata.get("annotations") == {"prometheus.io/scrape": "true", "prometheus.io/port": str(port),
                                               "prometheus.io/path": "/metrics"}  # fmt: skip


@pytest.mark.parametrize("engine", ["jobs", "indexed"])
def test_unit_pods_serve_metrics_on_all_addresses_and_are_annotated(engine: str) -> None:
    plan = pvc_plan(["shop", "billing"], engine=engine, metrics_port=9100, name="eu")
    job = plan.jobs[0]
    assert _scrape_annotations(job["spec"]["template"]["metadata"], 9100)
    (container,) = pod_of(job)["containers"]
    assert container["ports"] == [{"name": "metrics", "containerPort": 9100, "protocol": "TCP"}]
    args = container["args"][2:]
    assert args[args.index("--metrics-port") + 1] == "9100"
    assert args[args.index("--metrics-address") + 1] == "0.0.0.0"  # Prometheus scrapes the pod's IP
    assert args[args.index("--metrics-label") + 1] == "fleet=eu"
    assert env_of(container)["METRICS"] == "1"  # the script adds --metrics-file and the unit label
    assert plan.metrics_port == 9100 and plan.to_dict()["metrics_port"] == 9100 and "port 9100" in plan.to_text()


def test_s3_and_argo_units_expose_metrics_from_the_migrate_container_only() -> None:
    plan = plan_fleet(["a"], **BASE, bundle_store="s3://bucket/p", s3_secret="s3", engine="argo")
    wf = plan.workflow
    assert wf is not None and _scrape_annotations(wf["spec"]["podMetadata"])
    unit = wf["spec"]["templates"][1]
    restore, migrate = unit["initContainers"]
    assert env_of(migrate)["METRICS"] == "1" and migrate["ports"][0]["containerPort"] == 9464
    for sync in (restore, unit["container"]):
        assert "METRICS" not in env_of(sync) and "ports" not in sync


def test_no_metrics_leaves_units_as_before() -> None:
    plan = pvc_plan(["shop"], metrics_port=None)
    job = plan.jobs[0]
    (container,) = pod_of(job)["containers"]
    assert "annotations" not in job["spec"]["template"]["metadata"] and "ports" not in container
    assert not any(a.startswith("--metrics") for a in container["args"][2:]) and "METRICS" not in env_of(container)


@pytest.mark.parametrize(
    ("kw", "match"),
    [
        ({"metrics_port": 0}, "metrics_port"),
        ({"metrics_port": 70000}, "port"),
        ({"extra_args": ["--metrics-port=1"]}, "may not set --metrics-port"),
    ],
)
def test_bad_metrics_options(kw: dict[str, Any], match: str) -> None:
    with pytest.raises(ConfigurationError, match=match):
        pvc_plan(["shop"], **kw)


def test_unit_script_writes_metrics_to_its_workdir_with_the_unit_label(fakes: dict[str, str], tmp_path: Path) -> None:
    plan = pvc_plan(["shop"])
    container = pod_of(plan.jobs[0])["containers"][0]
    assert run_container(container, fakes, tmp_path) == 0
    args = Path(fakes["FAKE_LOG"]).read_text().splitlines()
    workdir = f"{tmp_path}/workspace/portkit-fleet/shop"
    assert args[args.index("--metrics-file") + 1] == f"{workdir}/metrics.prom"
    assert [args[i + 1] for i, a in enumerate(args) if a == "--metrics-label"] == ["fleet=portkit-fleet", "unit=shop"]


def test_cli_metrics_port_and_no_metrics(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*CLI, "-n", "shop", "--workspace-pvc", "ws", "--metrics-port", "9200"]) == 0
    out, err = capsys.readouterr()
    (job,) = list(yaml.safe_load_all(out))
    assert job["spec"]["template"]["metadata"]["annotations"]["prometheus.io/port"] == "9200"
    assert "serving metrics" not in err  # the fleet command itself serves nothing
    assert main([*CLI, "-n", "shop", "--workspace-pvc", "ws", "--no-metrics"]) == 0
    (job,) = list(yaml.safe_load_all(capsys.readouterr().out))
    assert "annotations" not in job["spec"]["template"]["metadata"]
