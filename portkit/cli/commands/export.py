"""``portkit export``: namespaces of a live cluster into a bundle directory."""

from __future__ import annotations

import argparse
from typing import Any

from portkit.cli._common import (
    EXIT_ATTENTION,
    EXIT_OK,
    Subparsers,
    add_key_file_flag,
    add_kube_flags,
    add_legacy_format_flags,
    add_observe_flags,
    add_output_dir_flag,
    add_output_flag,
    connect,
    deprecated,
    emit,
    progress,
    read_key_file,
)

__all__ = ["add_progress_flag", "register", "run"]


class _ProgressFlag(argparse.Action):
    def __init__(self, option_strings: Any, dest: str, **kwargs: Any) -> None:
        super().__init__(option_strings, dest, nargs=0, **kwargs)

    def __call__(self, parser: Any, namespace: argparse.Namespace, values: Any, option_string: Any = None) -> None:
        deprecated(namespace, "--progress is no longer needed: progress shows on a terminal by itself.")


def add_progress_flag(parser: argparse.ArgumentParser) -> None:
    """``--progress`` of earlier releases: accepted, hidden, warned (progress now shows on any terminal)."""
    parser.add_argument("--progress", action=_ProgressFlag, help=argparse.SUPPRESS)


def register(subparsers: Subparsers) -> None:
    """Add the ``export`` subcommand."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "export",
        help="export namespaces of a cluster into a bundle directory",
        description="Export namespaces of a live cluster into a bundle directory (-d/--output-dir): every "
        "listable namespaced kind (custom resources included), cleaned of server-owned fields, plus the "
        "cluster-scoped objects the namespaces depend on. Exit code 3 when some kinds could not be read "
        "(see the report).",
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
    add_output_dir_flag(parser, required=True, help="bundle directory")
    parser.add_argument("--workers", type=int, default=8, metavar="N", help="lists running at once (default 8)")
    add_key_file_flag(parser, "encrypt Secret values and annotations in")
    add_progress_flag(parser)
    add_legacy_format_flags(parser, "--output-format", "--format")
    add_observe_flags(parser, serve=True)
    add_output_flag(parser, legacy_dir=True)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run the export; prints the report; 0 on success, 3 when kinds could not be read."""
    from portkit.export import ExportReport, export

    with progress("export", unit="lists") as status, connect(args) as cluster:
        bundle = export(
            cluster,
            args.namespaces,
            args.output_dir,
            selector=args.selector,
            progress=lambda done, total: status.update(done, total=total),
            workers=args.workers,
            encryption_key=read_key_file(args.key_file),
        )
    report = ExportReport.from_bundle(bundle)
    emit(report, args.output_format)
    return EXIT_ATTENTION if report.failures else EXIT_OK
