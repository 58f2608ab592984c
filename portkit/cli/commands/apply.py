"""``portkit apply``: plan a bundle against a cluster and apply it in ordered, journaled waves."""

from __future__ import annotations

import argparse
import hashlib
import os
from pathlib import Path

from portkit.cli._common import (
    EXIT_FAILED,
    EXIT_OK,
    Subparsers,
    add_check,
    add_dry_run_flag,
    add_observe_flags,
    add_timeout_flag,
    connect,
    emit,
    highlight_plan,
    input_identity,
    load_input,
    progress,
    read_key_file,
)
from portkit.cli.commands.export import add_progress_flag
from portkit.cli.commands.plan import add_replay_flags, emit_plan, make_plan, plan_exit_code

__all__ = ["default_workdir", "register", "run"]


def default_workdir(directory: str, server: str, context: str) -> Path:
    """Where the journal goes when ``--workdir`` is not given: one directory per (bundle, cluster)."""
    base = Path(os.environ.get("XDG_STATE_HOME") or Path.home() / ".local" / "state") / "portkit" / "apply"
    key = hashlib.sha256(f"{Path(directory).resolve()}|{server}|{context}".encode()).hexdigest()[:16]
    return base / f"{Path(directory).resolve().name or 'bundle'}-{key}"


def register(subparsers: Subparsers) -> None:
    """Add the ``apply`` subcommand."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "apply",
        help="apply a bundle to a cluster (ordered waves, server-side apply, resumable)",
        description="Plan the bundle against the target, then apply it in dependency-ordered waves with "
        "server-side apply (field manager 'portkit'). A journal in --workdir records every object applied, so "
        "running the same command again after an interruption resumes, and a finished apply run again writes "
        "nothing. Objects whose fields another field manager owns fail with the list of fields unless --force "
        "is given. --dry-run=server sends every write as a server-side dry run, --dry-run=client only prints "
        "the plan. Exit code 1 when anything failed or was not ready in time.",
    )
    add_replay_flags(parser)
    add_dry_run_flag(parser)
    parser.add_argument(
        "--wait", action="store_true", help="wait for workloads rolled out, PVCs bound and Jobs complete"
    )
    add_timeout_flag(parser, default=600, help="how long --wait waits (and CRDs may take to be Established)")
    parser.add_argument(
        "--force", action="store_true", help="take over fields other field managers own (server-side apply force)"
    )
    parser.add_argument(
        "--workdir",
        metavar="DIR",
        help="journal directory (default: one per bundle and cluster under ~/.local/state/portkit/apply)",
    )
    parser.add_argument(
        "--on-error",
        choices=["continue", "stop"],
        default="continue",
        help="after an object fails: apply the others (default) or stop after the current wave",
    )
    parser.add_argument(
        "--rollback",
        action="store_true",
        help="instead of applying: delete what earlier applies with this --workdir created (newest first)",
    )
    parser.add_argument(
        "--allow-other-cluster",
        action="store_true",
        help="with --rollback: go on although the journal names another cluster (only for the same cluster at a "
        "new address with a journal of an older portkit; only objects whose uid the journal recorded are deleted)",
    )
    add_progress_flag(parser)
    add_check(parser, _check)
    add_observe_flags(parser, serve=True)
    parser.set_defaults(func=run)


def _check(args: argparse.Namespace) -> str | None:
    if args.allow_other_cluster and not args.rollback:
        return (
            "--allow-other-cluster only goes with --rollback (an apply never mixes clusters in one journal: "
            "use a new --workdir for another cluster)"
        )
    if args.rollback and args.dry_run != "none":
        return "--rollback has no dry run"
    return None


def run(args: argparse.Namespace) -> int:
    """Plan, refuse if blocked, apply, print the result."""
    from portkit.replay import apply, rollback

    with connect(args) as cluster:
        bundle = None if args.rollback else load_input(args, key=read_key_file(args.key_file))
        workdir = (
            Path(args.workdir) if args.workdir else default_workdir(input_identity(args), cluster.server, cluster.name)
        )
        if args.rollback:
            with progress("rollback", clusters=[cluster]):
                undone = rollback(workdir, cluster, workers=args.workers, allow_other_cluster=args.allow_other_cluster)
            import logging

            for warning in undone.warnings:  # loud, also with -o json
                logging.getLogger("portkit.cli").warning("%s", warning)
            emit(undone, args.output_format)
            return EXIT_OK if undone.ok else EXIT_FAILED
        plan = make_plan(args, cluster, bundle)
        if args.dry_run == "client":  # nothing is sent but the plan's reads
            emit_plan(plan, args)
            return plan_exit_code(plan)
        if plan.blockers:
            emit(plan, args.output_format, highlight=highlight_plan)
            return EXIT_FAILED
        with progress("apply", unit="objects", clusters=[cluster]) as status:
            result = apply(
                plan,
                wait=args.wait,
                timeout=args.timeout,
                dry_run=args.dry_run == "server",
                workdir=None if args.dry_run == "server" else workdir,
                force=args.force,
                workers=args.workers,
                progress=lambda done, total: status.update(done, total=total),
                on_error=args.on_error,
            )
    emit(result, args.output_format)
    return EXIT_OK if result.ok else EXIT_FAILED
