"""``portkit export``: namespaces of a live cluster into a bundle directory."""

from __future__ import annotations

import argparse
from typing import Any

from portkit.cli._common import (
    EXIT_ATTENTION,
    EXIT_OK,
    add_key_file_flag,
    add_kube_flags,
    add_observe_flags,
    emit,
    read_key_file,
)

__all__ = ["register", "run"]


def register(subparsers: Any) -> None:
    """Add the ``export`` subcommand."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "export",
        help="export namespaces of a cluster into a bundle directory",
        description="Export namespaces of a live cluster into a bundle directory: every listable namespaced "
        "kind (custom resources included), cleaned of server-owned fields, plus the cluster-scoped objects "
        "the namespaces depend on. Exit code 3 when some kinds could not be read (see the report).",
    )
    add_kube_flags(parser)
    parser.add_argument(
        "-n",
        "--namespace",
        dest="namespaces",
        action="append",
        required=True,
        metavar="NS",
        help="namespace to export (repeat for several)",
    )
    parser.add_argument("-l", "--selector", metavar="SELECTOR", help="label selector, e.g. app=web")
    parser.add_argument("-o", "--output", dest="directory", required=True, metavar="DIR", help="bundle directory")
    parser.add_argument(
        "--output-format", "--format", dest="output_format", choices=["text", "json"], default="text",
        help="report format (json for machines; -o names the bundle directory here)",
    )
    parser.add_argument("--progress", action="store_true", help="show a progress bar on stderr")
    parser.add_argument("--workers", type=int, default=8, metavar="N", help="lists running at once (default 8)")
    add_key_file_flag(parser, "encrypt Secret values and annotations in")
    add_observe_flags(parser, serve=True)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run the export; prints the report; 0 on success, 3 when kinds could not be read."""
    from portkit.cluster import Cluster
    from portkit.export import ExportReport, export

    cluster = Cluster.from_kubeconfig(args.kubeconfig, args.context)
    try:
        bundle = export(
            cluster,
            args.namespaces,
            args.directory,
            args.selector,
            progress=args.progress,
            workers=args.workers,
            encryption_key=read_key_file(args.key_file),
        )
    finally:
        cluster.close()
    report = ExportReport.from_bundle(bundle)
    emit(report, args.output_format)
    return EXIT_ATTENTION if report.failures else EXIT_OK
