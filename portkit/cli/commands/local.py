"""``portkit local up|down|status``: two real local clusters for trying portkit out."""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from portkit.cli._common import EXIT_FAILED, EXIT_OK, Subparsers, add_output_flag, emit, notice
from portkit.errors import ConfigurationError

DEFAULT_CLUSTERS = {"source": "aws", "target": "ionos"}


def default_dir() -> Path:
    """Where ``portkit local`` keeps its clusters (``$PORTKIT_LOCAL_DIR`` overrides)."""
    from portkit.testing.binaries import cache_dir

    env = os.environ.get("PORTKIT_LOCAL_DIR")
    return Path(env) if env else cache_dir() / "local"


def register(sub: Subparsers) -> None:
    """Add ``local`` and its subcommands."""
    parser: argparse.ArgumentParser = sub.add_parser(
        "local",
        help="start/stop two real local clusters (source: aws-like, target: ionos-like)",
        description="Run real local Kubernetes clusters (etcd, kube-apiserver, controller-manager, scheduler, "
        "kwok nodes) as background processes built from Go modules.",
    )
    actions = parser.add_subparsers(dest="local_action", metavar="ACTION", required=True)
    state = "state directory (default: $PORTKIT_LOCAL_DIR, else ~/.cache/portkit/local)"
    up = actions.add_parser(
        "up", help="start the clusters (builds binaries on first use)",
        description="Start a source and a target cluster in the background and print their kubeconfigs. The "
        "Kubernetes binaries are built from Go modules on first use (minutes, with progress) and cached.",
    )  # fmt: skip
    up.add_argument("--dir", type=Path, default=None, metavar="DIR", help=state)
    up.add_argument("--source-provider", default=DEFAULT_CLUSTERS["source"], metavar="PROVIDER",
                    help="provider the source cluster looks like (default: aws)")  # fmt: skip
    up.add_argument("--target-provider", default=DEFAULT_CLUSTERS["target"], metavar="PROVIDER",
                    help="provider the target cluster looks like (default: ionos)")  # fmt: skip
    add_output_flag(up)
    up.set_defaults(func=run_up)
    down = actions.add_parser(
        "down", help="stop the clusters and remove their data",
        description="Stop the clusters `portkit local up` started and remove their data.",
    )  # fmt: skip
    down.add_argument("--dir", type=Path, default=None, metavar="DIR", help=state)
    add_output_flag(down)
    down.set_defaults(func=run_down)
    status = actions.add_parser(
        "status", help="show the running clusters",
        description="Show the clusters `portkit local up` started, their servers and kubeconfigs, and whether "
        "their processes still run (exit 1 when one does not).",
    )  # fmt: skip
    status.add_argument("--dir", type=Path, default=None, metavar="DIR", help=state)
    add_output_flag(status)
    status.set_defaults(func=run_status)


class _Summary:
    def __init__(self, rows: dict[str, dict[str, Any]], verb: str, root: Path | None = None) -> None:
        self.rows = rows
        self.verb = verb
        self.root = root

    def to_dict(self) -> dict[str, Any]:
        return {"clusters": self.rows}

    def to_text(self) -> str:
        if not self.rows:
            return "No local clusters."
        lines = []
        for role, row in self.rows.items():
            where = f"{self.verb} {row.get('server', '')}".rstrip()
            lines.append(f"{role}: {row.get('name')} ({row.get('provider')}) {where}")
            if row.get("kubeconfig"):
                lines.append(f"  kubeconfig: {row['kubeconfig']}")
        if self.verb == "running at":
            src = self.rows.get("source", {}).get("kubeconfig")
            if src:
                lines.append(f"\nTry: kubectl --kubeconfig {src} get nodes --show-labels")
            lines.append("Stop them with: portkit local down" + (f" --dir {self.root}" if self.root else ""))
        return "\n".join(lines)


def _progress_of(role: str) -> Callable[[str], None]:
    """Progress of one cluster as it starts (builds, start-up, "ready"): shown on stderr as notices."""

    def say(message: str) -> None:
        notice(f"{role}: {message}")

    return say


def run_up(args: argparse.Namespace) -> int:
    """Start source and target clusters, detached."""
    from portkit.testing import LocalCluster

    root = args.dir or default_dir()
    if any((root / role / "state.json").exists() for role in DEFAULT_CLUSTERS):
        raise ConfigurationError(
            f"Local clusters already exist under {root}.", hint="Run `portkit local down` first, or pass --dir."
        )
    rows: dict[str, dict[str, Any]] = {}
    started: list[LocalCluster] = []
    try:
        for role, provider in (("source", args.source_provider), ("target", args.target_provider)):
            lc = LocalCluster(name=role, provider=provider, data_dir=root / role, detach=True,
                              progress=_progress_of(role))  # fmt: skip
            started.append(lc)
            lc.start()
            rows[role] = {"name": role, "provider": provider, "server": lc.server, "kubeconfig": lc.kubeconfig}
    except BaseException:
        for lc in started:
            if (lc.data_dir / "state.json").exists():
                LocalCluster.stop_detached(lc.data_dir)
            else:
                lc.stop()
        raise
    emit(_Summary(rows, "running at", args.dir), args.output_format)
    return EXIT_OK


def run_down(args: argparse.Namespace) -> int:
    """Stop the clusters ``up`` started."""
    from portkit.testing import LocalCluster

    root = args.dir or default_dir()
    rows: dict[str, dict[str, Any]] = {}
    for role in DEFAULT_CLUSTERS:
        if (root / role / "state.json").exists():
            state = LocalCluster.stop_detached(root / role)
            rows[role] = {"name": state.get("name"), "provider": state.get("provider")}
    emit(_Summary(rows, "stopped"), args.output_format)
    return EXIT_OK


def run_status(args: argparse.Namespace) -> int:
    """Show what ``up`` started and whether it still runs."""
    from portkit.testing import LocalCluster
    from portkit.testing._process import ProcessIdentity, pid_alive

    root = args.dir or default_dir()
    rows: dict[str, dict[str, Any]] = {}
    healthy = True
    for role in DEFAULT_CLUSTERS:
        if (root / role / "state.json").exists():
            state = LocalCluster.read_state(root / role)  # validated
            recorded = [ProcessIdentity.from_dict(p) for p in state.get("processes", {}).values()]
            if recorded:  # running = the very processes that were started (not pids reused since)
                alive = all(p.running() for p in recorded)
            else:  # a state of an older portkit
                alive = all(pid_alive(p) for p in state.get("pids", {}).values())
            healthy = healthy and alive
            rows[role] = {**{k: state.get(k) for k in ("name", "provider", "server", "kubeconfig")}, "running": alive}
    emit(_Summary(rows, "running at"), args.output_format)
    return EXIT_OK if healthy else EXIT_FAILED
