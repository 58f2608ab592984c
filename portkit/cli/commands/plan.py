"""``portkit plan``: what applying a bundle to a cluster would do; nothing is written."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from portkit.cli._common import (
    EXIT_ATTENTION,
    EXIT_FAILED,
    EXIT_OK,
    Subparsers,
    add_input_flags,
    add_key_file_flag,
    add_kube_flags,
    add_observe_flags,
    add_output_flag,
    connect,
    emit,
    highlight_plan,
    load_input,
    progress,
    read_key_file,
    write_out,
)
from portkit.cli.commands._policy import add_policy_flags
from portkit.errors import ConfigurationError

__all__ = ["add_replay_flags", "load_bundle", "make_plan", "plan_exit_code", "register", "run"]


def add_replay_flags(parser: argparse.ArgumentParser) -> None:
    """Flags ``plan`` and ``apply`` share: the bundle, the target, the namespace map, the policies."""
    add_input_flags(parser, what="bundle directory or YAML manifests (files or directories)")
    add_kube_flags(parser)
    parser.add_argument(
        "--namespace-map",
        action="append",
        default=[],
        metavar="OLD=NEW",
        help="move namespace OLD to NEW, rewriting every reference (repeat for several)",
    )
    parser.add_argument(
        "--rewrite-dns",
        action="store_true",
        help="also rewrite service DNS names <svc>.<old>.svc[.cluster.local] in env values and ConfigMap data",
    )
    parser.add_argument(
        "--existing",
        choices=["update", "skip", "fail"],
        default="update",
        help="objects already in the target: update them (default), skip them, or fail the plan",
    )
    parser.add_argument(
        "--no-dry-run-check",
        dest="dry_run_check",
        action="store_false",
        help="skip the server-side dry run of every object (faster, less checked)",
    )
    parser.add_argument("--workers", type=int, default=16, metavar="N", help="concurrent requests (default 16)")
    add_key_file_flag(parser, "read")
    add_policy_flags(parser)
    add_output_flag(parser)


def load_bundle(directory: str, key_file: str | None = None) -> Any:
    """A bundle directory (``manifest.yaml``) or plain YAML manifests, as a Bundle."""
    from portkit.bundle import MANIFEST, Bundle

    path = Path(directory)
    if not path.exists():
        raise ConfigurationError(f"{directory} does not exist.", hint="Give a bundle directory or YAML manifests.")
    key = read_key_file(key_file)
    if path.is_dir() and (path / MANIFEST).exists():
        return Bundle.load(path, key=key)
    return Bundle.from_manifests(path)


def make_plan(args: argparse.Namespace, cluster: Any, bundle: Any = None) -> Any:
    """Plan the input named by ``args`` (or ``bundle``, when already loaded) against ``cluster``."""
    from portkit.replay import parse_namespace_map, plan

    if args.workers < 1:
        raise ConfigurationError("--workers must be at least 1.")
    mapping = parse_namespace_map(args.namespace_map, flag="--namespace-map")
    if bundle is None:
        bundle = load_input(args, key=read_key_file(args.key_file))
    current = progress("plan")
    current.update(note=f"{len(bundle)} objects")
    with current:
        return plan(
            bundle,
            cluster,
            namespace_map=mapping,
            existing=args.existing,
            dry_run_check=args.dry_run_check,
            workers=args.workers,
            rewrite_dns=args.rewrite_dns,
            policies=args.policies,
            policy_namespaces=args.policy_namespaces,
            allow_policy_violations=args.allow_policy_violations,
        )


def register(subparsers: Subparsers) -> None:
    """Add the ``plan`` subcommand."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "plan",
        help="show what applying a bundle to a cluster would do (writes nothing)",
        description="Compare a bundle with the target cluster: create (+) / update (~) / unchanged / conflict (!) "
        "/ skip per object with field-level diffs, blockers (kinds not served, missing namespaces, "
        "StorageClasses, IngressClasses, PriorityClasses, policy violations with --policy) and a server-side dry "
        "run of every object. Nothing is written. Exit code 1 when the plan is blocked or the API rejects objects, "
        "3 when there are conflicts or warnings, 0 otherwise.",
    )
    add_replay_flags(parser)
    parser.add_argument("--diff", action="store_true", help="also print the field-level diff (text output)")
    add_observe_flags(parser)
    parser.set_defaults(func=run)


def plan_exit_code(result: Any) -> int:
    """1 when the plan is blocked or objects were rejected, 3 with conflicts or warnings, else 0."""
    if not result.ok:
        return EXIT_FAILED
    if result.conflicts or result.warnings:
        return EXIT_ATTENTION
    return EXIT_OK


def emit_plan(result: Any, args: argparse.Namespace) -> None:
    """Print a plan (and its diff with ``--diff`` in text output), coloured on a terminal."""
    emit(result, args.output_format, highlight=highlight_plan)
    if getattr(args, "diff", False) and args.output_format == "text":
        write_out("\n")
        emit(result.diff(), "text", highlight=highlight_plan)


def run(args: argparse.Namespace) -> int:
    """Plan and print it."""
    with connect(args) as cluster:
        result = make_plan(args, cluster)
    emit_plan(result, args)
    return plan_exit_code(result)
