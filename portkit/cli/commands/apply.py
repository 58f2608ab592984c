"""``portkit apply``: plan a bundle against a cluster and apply it in ordered, journaled waves."""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
from pathlib import Path
from typing import Any

from portkit.cli._common import EXIT_FAILED, EXIT_OK, add_observe_flags, emit
from portkit.cli.commands.plan import add_replay_flags, make_plan
from portkit.display import terminal_safe
from portkit.errors import ConfigurationError

__all__ = ["default_workdir", "register", "run"]


def default_workdir(directory: str, server: str, context: str) -> Path:
    """Where the journal goes when ``--workdir`` is not given: one directory per (bundle, cluster)."""
    base = Path(os.environ.get("XDG_STATE_HOME") or Path.home() / ".local" / "state") / "portkit" / "apply"
    key = hashlib.sha256(f"{Path(directory).resolve()}|{server}|{context}".encode()).hexdigest()[:16]
    return base / f"{Path(directory).resolve().name or 'bundle'}-{key}"


def register(subparsers: Any) -> None:
    """Add the ``apply`` subcommand."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "apply",
        help="apply a bundle to a cluster (ordered waves, server-side apply, resumable)",
        description="Plan the bundle against the target, then apply it in dependency-ordered waves with "
        "server-side apply (field manager 'portkit'). A journal in --workdir records every object applied, so "
        "running the same command again after an interruption resumes, and a finished apply run again writes "
        "nothing. Objects whose fields another field manager owns fail with the list of fields unless --force "
        "is given. Exit code 1 when anything failed or was not ready in time.",
    )
    add_replay_flags(parser)
    parser.add_argument("--dry-run", action="store_true", help="server-side dry run of every write; nothing changes")
    parser.add_argument(
        "--wait", action="store_true", help="wait for workloads rolled out, PVCs bound and Jobs complete"
    )
    parser.add_argument("--timeout", type=float, default=600, metavar="S", help="seconds to wait (default 600)")
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
    parser.add_argument("--progress", action="store_true", help="show a progress bar on stderr")
    add_observe_flags(parser, serve=True)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Plan, refuse if blocked, apply, print the result."""
    from portkit.cluster import Cluster
    from portkit.replay import apply, rollback

    if args.timeout <= 0:
        raise ConfigurationError("--timeout must be positive.")
    if args.allow_other_cluster and not args.rollback:
        raise ConfigurationError(
            "--allow-other-cluster only goes with --rollback.",
            hint="An apply never mixes clusters in one journal: use a new --workdir for another cluster.",
        )
    cluster = Cluster.from_kubeconfig(args.kubeconfig, args.context)
    workdir = Path(args.workdir) if args.workdir else default_workdir(args.directory, cluster.server, cluster.name)
    try:
        if args.rollback:
            undone = rollback(workdir, cluster, workers=args.workers, allow_other_cluster=args.allow_other_cluster)
            for warning in undone.warnings:  # loud, also with -o json
                print(f"portkit: WARNING: {terminal_safe(warning)}", file=sys.stderr, flush=True)
            emit(undone, args.output_format)
            return EXIT_OK if undone.ok else EXIT_FAILED
        plan = make_plan(args, cluster)
        if plan.blockers:
            emit(plan, args.output_format)
            return EXIT_FAILED
        result = apply(
            plan,
            wait=args.wait,
            timeout=args.timeout,
            dry_run=args.dry_run,
            workdir=None if args.dry_run else workdir,
            force=args.force,
            workers=args.workers,
            progress=args.progress,
            on_error=args.on_error,
        )
    finally:
        cluster.close()
    emit(result, args.output_format)
    return EXIT_OK if result.ok else EXIT_FAILED
