"""``portkit fleet``: generate Kubernetes Jobs (or an Argo Workflow) that migrate many namespaces in parallel."""

from __future__ import annotations

import argparse
import math

from portkit.cli._common import (
    EXIT_OK,
    Subparsers,
    add_key_value_flag,
    add_legacy_format_flags,
    add_output_dir_flag,
    add_output_flag,
    add_timeout_flag,
    emit,
    key_values,
    write_out,
)

__all__ = ["register", "run"]


def register(sub: Subparsers) -> None:
    """Add ``fleet``."""
    p: argparse.ArgumentParser = sub.add_parser(
        "fleet",
        help="generate Jobs / an Argo Workflow that migrate many namespaces in parallel",
        description="Split a migration into units (one namespace, or --batch-size namespaces) and write the "
        "manifests that run `portkit migrate` for each unit on Kubernetes: one Job per unit (--engine jobs), one "
        "Indexed Job with a parallelism limit (indexed) or an Argo Workflow (argo). Kubeconfigs come from Secrets "
        "you name; workdirs live on a shared PVC or an S3-compatible bucket, so a retried unit continues where it "
        "stopped. Nothing is applied: review the files, then `kubectl apply -f DIR`.",
    )
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("-n", "--namespace", dest="namespaces", action="append", help="namespace (repeat)")
    src.add_argument("--namespaces-file", metavar="FILE", help="namespaces, one per line (# comments)")
    p.add_argument("--from", dest="source", metavar="PROVIDER", help="source provider (default: detected per unit)")
    p.add_argument("--to", dest="target", metavar="PROVIDER", required=True, help="target provider(s)")
    p.add_argument("--image", required=True, help="container image with portkit and /bin/sh")
    p.add_argument("--source-secret", required=True, metavar="NAME", help="Secret with the source kubeconfig")
    p.add_argument("--target-secret", required=True, metavar="NAME", help="Secret with the target kubeconfig")
    p.add_argument(
        "--kubeconfig-key",
        default="kubeconfig",
        metavar="KEY",
        help="key of the kubeconfig in both Secrets (default: kubeconfig)",
    )
    p.add_argument("--from-context", metavar="NAME", help="context in the source kubeconfig")
    p.add_argument("--to-context", metavar="NAME", help="context in the target kubeconfig")
    store = p.add_mutually_exclusive_group(required=True)
    store.add_argument("--workspace-pvc", metavar="NAME", help="ReadWriteMany PVC for the unit workdirs")
    store.add_argument("--bundle-store", metavar="s3://BUCKET/PREFIX", help="S3-compatible bucket for the workdirs")
    p.add_argument("--s3-secret", metavar="NAME", help="Secret with AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY")
    p.add_argument("--s3-endpoint", metavar="URL", help="endpoint of a non-AWS S3-compatible store")
    p.add_argument("--sync-image", metavar="IMAGE", help="image with the aws CLI v2 (for --bundle-store)")
    p.add_argument(
        "--engine",
        choices=["jobs", "indexed", "argo"],
        default="jobs",
        help="jobs: one Job per unit; indexed: one Indexed Job; argo: an Argo Workflow",
    )
    p.add_argument("--batch-size", type=int, default=1, metavar="N", help="namespaces per unit (default 1)")
    p.add_argument("--parallelism", type=int, metavar="N", help="units at once (indexed, argo)")
    p.add_argument("--name", default="portkit-fleet", help="fleet name: label, Job prefix, workdir root")
    p.add_argument("--job-namespace", default="portkit", metavar="NS", help="where the Jobs run (default portkit)")
    p.add_argument("--namespace-map", action="append", default=[], metavar="OLD=NEW",
                   help="move namespace OLD to NEW, rewriting every reference (repeatable)")  # fmt: skip
    p.add_argument("--map", action="append", default=[], metavar="KIND:OLD=NEW", help="mapping override (repeat)")
    p.add_argument("--rules-configmap", metavar="NAME", help="ConfigMap with the rules under key rules.yaml")
    p.add_argument("--volumes", choices=["velero"], help="move PersistentVolume data with Velero")
    add_timeout_flag(p, default=None, help="readiness timeout per unit (default: migrate's)")
    p.add_argument("--backoff-limit", type=int, default=3, metavar="N", help="retries per unit (default 3)")
    add_timeout_flag(p, "--deadline", default=None, help="activeDeadlineSeconds of each Job: its longest run")
    add_timeout_flag(p, "--ttl", default=None, positive=False, help="delete finished Jobs after this long")
    p.add_argument("--cpu", default="250m", help="CPU request (default 250m)")
    p.add_argument("--memory", default="512Mi", help="memory request (default 512Mi)")
    p.add_argument("--memory-limit", default="2Gi", help="memory limit (default 2Gi)")
    p.add_argument("--service-account", metavar="NAME", help="the pods' ServiceAccount")
    p.add_argument("--queue", metavar="NAME", help="Kueue LocalQueue (Jobs are created suspended)")
    add_key_value_flag(p, "--label", help="extra label of every manifest")
    p.add_argument("--image-pull-secret", action="append", default=[], metavar="NAME",
                   help="Secret the pods pull the portkit image with (repeatable)")  # fmt: skip
    p.add_argument(
        "--key-secret",
        metavar="NAME",
        help="Secret holding a bundle key: every unit runs `portkit migrate --key-file`, so the Secrets in the "
        "workdirs are encrypted",
    )
    p.add_argument("--key-secret-key", default="key", metavar="KEY", help="key of the bundle key in it (default: key)")
    p.add_argument(
        "--migrate-arg",
        action="append",
        default=[],
        metavar="ARG",
        help="extra `portkit migrate` argument, e.g. --migrate-arg=--no-wait (repeat)",
    )
    metrics = p.add_mutually_exclusive_group()
    metrics.add_argument(
        "--metrics-port", dest="unit_metrics_port", type=int, default=9464, metavar="PORT",
        help="port on which every unit serves its Prometheus metrics (default 9464; the pods are annotated for "
        "scraping and each unit also writes metrics.prom to its workdir)",
    )  # fmt: skip
    metrics.add_argument("--no-metrics", action="store_true", help="units without metrics")
    add_output_dir_flag(
        p, help="write one YAML file per manifest into DIR (default: print the manifests)", legacy=["--out"]
    )
    add_legacy_format_flags(p, "--format", "--output-format")
    add_output_flag(p, legacy_dir=True)
    p.set_defaults(func=run)


def _seconds(value: float | None) -> int | None:
    return None if value is None else math.ceil(value)


def run(args: argparse.Namespace) -> int:
    """Plan the fleet and write (or print) its manifests."""
    from portkit.fleet import DEFAULT_SYNC_IMAGE, plan_fleet, read_namespaces_file
    from portkit.replay import parse_namespace_map

    namespaces = args.namespaces or read_namespaces_file(args.namespaces_file)
    namespace_map = parse_namespace_map(args.namespace_map, flag="--namespace-map")
    plan = plan_fleet(
        namespaces, image=args.image, source_secret=args.source_secret, target_secret=args.target_secret,
        to_provider=args.target, from_provider=args.source, workspace_pvc=args.workspace_pvc,
        bundle_store=args.bundle_store, s3_secret=args.s3_secret, s3_endpoint=args.s3_endpoint,
        sync_image=args.sync_image or DEFAULT_SYNC_IMAGE, engine=args.engine, batch_size=args.batch_size,
        parallelism=args.parallelism, name=args.name, job_namespace=args.job_namespace,
        kubeconfig_key=args.kubeconfig_key, source_context=args.from_context, target_context=args.to_context,
        namespace_map=namespace_map, maps=args.map, rules_configmap=args.rules_configmap,
        volumes=args.volumes, timeout=args.timeout, extra_args=args.migrate_arg,
        resources={"requests": {"cpu": args.cpu, "memory": args.memory}, "limits": {"memory": args.memory_limit}},
        backoff_limit=args.backoff_limit, active_deadline_seconds=_seconds(args.deadline),
        ttl_seconds_after_finished=_seconds(args.ttl),
        service_account=args.service_account, queue=args.queue,
        labels=key_values(args.label, "--label", example="team=shop"),
        image_pull_secrets=args.image_pull_secret, key_secret=args.key_secret, key_secret_key=args.key_secret_key,
        metrics_port=None if args.no_metrics else args.unit_metrics_port,
    )  # fmt: skip
    if not args.output_dir:
        if args.output_format == "text":  # the manifests, as helm template prints them
            write_out(plan.to_yaml())
        else:
            emit(plan, args.output_format)
        return EXIT_OK
    paths = plan.write(args.output_dir)
    if args.output_format != "text":
        data = plan.to_dict()
        data["files"] = [str(p) for p in paths]
        emit(data, args.output_format)
    else:
        emit(
            plan,
            "text",
            footer=f"Wrote {len(paths)} files to {args.output_dir}. Create the Secrets "
            f"{args.source_secret} and {args.target_secret} in namespace {args.job_namespace} (kubectl create secret "
            f"generic NAME --from-file={args.kubeconfig_key}=FILE -n {args.job_namespace}), then "
            f"`kubectl apply -f {args.output_dir}` and follow with `kubectl get jobs,pods -n {args.job_namespace} "
            f"-l {plan.selector}`.",
        )
    return EXIT_OK
