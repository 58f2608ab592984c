"""``portkit migrate``: the whole migration (export → translate → lint → quiesce → volumes → plan → apply → wait →
verify → verify-data)."""

from __future__ import annotations

import argparse
from typing import Any

from portkit.cli._common import (
    EXIT_ATTENTION,
    EXIT_FAILED,
    EXIT_OK,
    Status,
    Subparsers,
    add_key_file_flag,
    add_kube_flags,
    add_observe_flags,
    add_output_flag,
    add_timeout_flag,
    connect,
    emit,
    progress,
    read_key_file,
)
from portkit.cli.commands._policy import add_policy_flags

__all__ = ["progress_printer", "register", "run"]


def register(sub: Subparsers) -> None:
    """Add ``migrate``."""
    p: argparse.ArgumentParser = sub.add_parser(
        "migrate", help="migrate namespaces from one cluster to another (resumable)",
        description="Export namespaces from the source, translate them for the target provider, plan, apply, wait "
        "and verify. Run it again after a failure: it continues from the last completed step (state in --workdir).",
    )  # fmt: skip
    add_kube_flags(p, "from-")
    add_kube_flags(p, "to-")
    p.add_argument("-n", "--namespace", dest="namespaces", action="append", required=True, metavar="NS",
                   help="namespace (repeat)")  # fmt: skip
    p.add_argument("-l", "--selector", metavar="SELECTOR", help="label selector for the export")
    p.add_argument("--from", dest="source", metavar="PROVIDER", help="source provider (default: detected)")
    p.add_argument("--to", dest="target", metavar="PROVIDER", required=True,
                   help="target provider(s), e.g. ionos or rook-ceph+metallb")  # fmt: skip
    p.add_argument("--volumes", choices=["velero"], help="move PersistentVolume data with Velero")
    p.add_argument("--namespace-map", action="append", default=[], metavar="OLD=NEW",
                   help="move namespace OLD to NEW, rewriting every reference (repeatable)")  # fmt: skip
    p.add_argument(
        "--map",
        action="append",
        default=[],
        metavar="KIND:OLD=NEW",
        help="mapping override: storageclass:gp3=fast, images:OLD=NEW, zone:OLD=NEW, ingressclass:NEW",
    )
    p.add_argument("--rules", metavar="FILE", help="user rules file (portkit rules or a Velero resource-modifier file)")
    p.add_argument("--workdir", default="portkit-migration", metavar="DIR",
                   help="state directory (default: ./portkit-migration)")  # fmt: skip
    p.add_argument("--no-wait", action="store_true", help="do not wait for readiness after the apply")
    add_timeout_flag(p, default=600, help="readiness timeout")
    p.add_argument("--allow-blockers", action="store_true", help="continue past lint and plan blockers")
    p.add_argument(
        "--quiesce",
        action="store_true",
        help="scale the source's Deployments and StatefulSets to 0 before the volume backup (replicas "
        "recorded; the target gets them back; --rollback restores the source); reports the downtime",
    )
    p.add_argument(
        "--verify-data",
        action="store_true",
        help="after the target is ready, compare every claim's files on both sides (exit 1 on a mismatch)",
    )
    p.add_argument(
        "--helper-image",
        default=None,
        metavar="IMAGE",
        help="image of the data-checker and volume-holder pods (a busybox; default docker.io/library/busybox:1.36.1)",
    )
    p.add_argument(
        "--rollback",
        action="store_true",
        help="undo the migration in --workdir: delete what it created in the target, scale the source back",
    )
    add_policy_flags(p)
    add_key_file_flag(p, "encrypt Secret values and annotations in the workdir's")
    add_output_flag(p)
    add_observe_flags(p, serve=True)
    p.set_defaults(func=run)


def progress_printer(status: Status) -> Any:
    """An event hook showing the migration's steps in the status line (drawn only on a terminal; warnings
    are in the report)."""
    from portkit.migration import STEPS, MigrationEvent

    def on_event(event: MigrationEvent) -> None:
        if event.kind not in ("step_start", "step_end", "step_skipped"):
            return
        number = STEPS.index(event.step) + 1 if event.step in STEPS else 0
        if event.kind == "step_start":
            status.update(number - 1, total=len(STEPS), note=event.step)
        else:
            status.update(number, total=len(STEPS), note=event.message)

    return on_event


def run(args: argparse.Namespace) -> int:
    """Run the migration and print its report."""
    from portkit.cli._common import parse_map_flags
    from portkit.migration import Migration
    from portkit.replay import parse_namespace_map

    key = read_key_file(args.key_file)
    namespace_map = parse_namespace_map(args.namespace_map, flag="--namespace-map")
    with progress("migrate", unit="steps") as status, connect(args, "from-") as source, \
            connect(args, "to-") as target:  # fmt: skip
        migration = Migration(
            source=source, target=target, namespaces=args.namespaces, source_provider=args.source,
            target_provider=args.target, volumes=args.volumes,
            namespace_map=namespace_map,
            mappings=parse_map_flags(args.map) if args.map else None, rules=args.rules, workdir=args.workdir,
            selector=args.selector, wait=not args.no_wait, timeout=args.timeout, allow_blockers=args.allow_blockers,
            on_event=progress_printer(status), encryption_key=key,
            quiesce=args.quiesce, verify_data=args.verify_data,
            policies=args.policies, policy_namespaces=args.policy_namespaces,
            allow_policy_violations=args.allow_policy_violations,
            **({"helper_image": args.helper_image} if args.helper_image else {}),
        )  # fmt: skip
        if args.rollback:
            emit(migration.rollback(), args.output_format)
            return EXIT_OK
        report = migration.run()
    emit(report, args.output_format)
    if not report.ok:
        return EXIT_FAILED
    return EXIT_ATTENTION if report.needs_attention else EXIT_OK
