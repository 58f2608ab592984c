#!/usr/bin/env python3
"""A scripted migration with portkit: copy this file and adapt it.

It does what ``portkit migrate`` does, with the Python API, so that you can add your own steps (a
maintenance page, a DNS switch, a chat message) around it::

    python examples/migrate.py \\
        --from-kubeconfig ~/.kube/eks.yaml --to-kubeconfig ~/.kube/ionos.yaml \\
        -n shop -n billing --to ionos --namespace-map shop=shop-eu \\
        --map images:123456789012.dkr.ecr.eu-central-1.amazonaws.com/=registry.example.eu/ \\
        --report report.json

Progress goes to stderr (a tqdm bar on a terminal when tqdm is installed, plain lines otherwise), the
report to stdout. Run it again after a failure: it continues from the last completed step (state in
``--workdir``). Exit codes, like ``portkit migrate``: 0 migrated, 1 failed, 2 usage error, 3 migrated but
with manual actions or warnings that need attention.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import yaml

import portkit
from portkit.migration import STEPS
from portkit.replay import parse_namespace_map
from portkit.translate import parse_map_flags

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_ATTENTION = 0, 1, 2, 3


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """The command line."""
    p = argparse.ArgumentParser(description="Migrate namespaces between clusters with portkit.Migration.")
    p.add_argument("--from-kubeconfig", metavar="PATH", help="source kubeconfig (default: like kubectl)")
    p.add_argument("--from-context", metavar="NAME", help="source context (default: current)")
    p.add_argument("--to-kubeconfig", metavar="PATH", help="target kubeconfig (default: like kubectl)")
    p.add_argument("--to-context", metavar="NAME", help="target context (default: current)")
    p.add_argument(
        "-n", "--namespace", dest="namespaces", action="append", required=True, help="namespace to migrate (repeat)"
    )
    p.add_argument("--from", dest="source_provider", metavar="PROVIDER", help="source provider (default: detected)")
    p.add_argument(
        "--to",
        dest="target_provider",
        metavar="PROVIDER",
        required=True,
        help="target provider(s): ionos, hetzner, rook-ceph+metallb, ... (see `portkit providers`)",
    )
    p.add_argument(
        "--namespace-map",
        action="append",
        default=[],
        metavar="OLD=NEW",
        help="migrate namespace OLD into NEW (repeat)",
    )
    p.add_argument(
        "--map",
        action="append",
        default=[],
        metavar="KIND:OLD=NEW",
        help="mapping override: images:OLD=NEW, storageclass:OLD=NEW, zone:OLD=NEW, ingressclass:NAME",
    )
    p.add_argument("--mappings", metavar="FILE", help="YAML file of mappings ({images: {OLD: NEW}, ...})")
    p.add_argument("--rules", metavar="FILE", help="translation rules (Velero resource-modifier format)")
    p.add_argument("--volumes", choices=["velero"], help="move PersistentVolume data with Velero")
    p.add_argument("--workdir", default="portkit-migration", help="state directory (default: ./portkit-migration)")
    p.add_argument("--timeout", type=float, default=600, help="seconds to wait for readiness (default 600)")
    p.add_argument(
        "--progress",
        choices=["auto", "bar", "plain", "none"],
        default="auto",
        help="auto: a tqdm bar on a terminal if tqdm is installed, plain lines otherwise",
    )
    p.add_argument("--report", metavar="FILE", help="also write the report as JSON to FILE")
    return p.parse_args(argv)


def load_mappings(args: argparse.Namespace) -> dict[str, Any]:
    """Mappings from ``--mappings FILE`` and then ``--map`` flags (which win)."""
    mappings: dict[str, Any] = {}
    if args.mappings:
        try:
            data = yaml.safe_load(Path(args.mappings).read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise portkit.ConfigurationError(f"cannot read the mappings file {args.mappings}: {exc}.") from exc
        if not isinstance(data, dict):
            raise portkit.ConfigurationError(f"{args.mappings} must hold a mapping such as {{images: {{OLD: NEW}}}}.")
        mappings.update(data)
    for key, value in parse_map_flags(args.map).items():
        if isinstance(value, dict) and isinstance(mappings.get(key), dict):
            mappings[key] = {**mappings[key], **value}
        else:
            mappings[key] = value
    return mappings


def progress_hook(mode: str) -> tuple[Callable[[portkit.MigrationEvent], None] | None, Callable[[], None]]:
    """An ``on_event`` hook showing progress, and a function that closes it."""
    use_bar = mode == "bar" or (mode == "auto" and sys.stderr.isatty())
    if mode == "none":
        return None, lambda: None
    if use_bar:
        try:
            from tqdm.auto import tqdm
        except ImportError:
            use_bar = False
    if use_bar:
        bar = tqdm(total=len(STEPS), unit="step", desc="migration", file=sys.stderr)

        def on_bar(event: portkit.MigrationEvent) -> None:
            if event.kind == "step_start":
                bar.set_description(event.step)
            elif event.kind in ("step_end", "step_skipped"):
                bar.update(1)
            elif event.kind == "warning":
                bar.write(f"warning: {event.message}", file=sys.stderr)

        return on_bar, bar.close

    def on_line(event: portkit.MigrationEvent) -> None:
        prefix = "warning: " if event.kind == "warning" else ""
        print(f"[{event.step}] {prefix}{event.message}", file=sys.stderr, flush=True)

    return on_line, lambda: None


def main(argv: Sequence[str] | None = None) -> int:
    """Run the migration; returns the exit code."""
    args = parse_args(argv)
    try:
        namespace_map = parse_namespace_map(args.namespace_map, flag="--namespace-map")  # checks the names too
        mappings = load_mappings(args)
    except portkit.PortkitError as exc:  # a bad flag or file: a usage error
        print(f"migrate.py: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    on_event, close = progress_hook(args.progress)
    try:
        migration = portkit.Migration(
            source=portkit.Cluster.from_kubeconfig(args.from_kubeconfig, args.from_context),
            target=portkit.Cluster.from_kubeconfig(args.to_kubeconfig, args.to_context),
            namespaces=args.namespaces,
            source_provider=args.source_provider,
            target_provider=args.target_provider,
            volumes=args.volumes,
            namespace_map=namespace_map,
            mappings=mappings,
            rules=args.rules,
            workdir=args.workdir,
            timeout=args.timeout,
            on_event=on_event,
        )
        # Your own steps go here: e.g. migration.export() and migration.translate() first, review the
        # translation, then migration.run() does the rest (completed steps are not redone).
        report = migration.run()
    except portkit.ConfigurationError as exc:
        close()
        print(f"migrate.py: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except portkit.PortkitError as exc:
        close()
        print(
            f"migrate.py: error: {exc}\nFix the cause and run the same command again: it continues from the "
            f"last completed step (state in {args.workdir}).",
            file=sys.stderr,
        )
        return EXIT_FAILED
    close()
    print(report.to_text())
    if args.report:
        Path(args.report).write_text(json.dumps(report.to_dict(), indent=2, default=str) + "\n", encoding="utf-8")
    if not report.ok:
        return EXIT_FAILED
    return EXIT_ATTENTION if report.needs_attention else EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
