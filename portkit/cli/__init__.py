"""The ``portkit`` command.

Each subcommand lives in ``portkit/cli/commands/<name>.py`` and exposes ``register(subparsers)``, which adds
its parser and sets ``func`` (taking the parsed ``argparse.Namespace`` and returning an exit code).

Exit codes: 0 success, 1 failed, 2 usage error or bad input, 3 finished but with manual actions or warnings
that need attention; which errors exit 2 is decided by class (:func:`portkit.cli._common.exit_code_for`).
Errors print one paragraph (``--debug`` shows the traceback).
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
import traceback
from collections.abc import Sequence

from portkit.cli._common import EXIT_FAILED, EXIT_USAGE, exit_code_for
from portkit.errors import PortkitError

__all__ = ["build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand registered."""
    parser = argparse.ArgumentParser(
        prog="portkit",
        description="Move Kubernetes workloads between clusters on different providers.",
    )
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    from portkit.cli import commands

    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"portkit.cli.commands.{info.name}")
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit code (the console script exits with it)."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits 2 on usage errors and 0 on --help
        return int(exc.code or 0)
    if not getattr(args, "func", None):
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    try:
        return int(args.func(args))
    except KeyboardInterrupt:
        print("portkit: interrupted.", file=sys.stderr)
        return EXIT_FAILED
    except PortkitError as exc:
        if args.debug:
            traceback.print_exc()
        print(f"portkit: error: {exc}", file=sys.stderr)
        return exit_code_for(exc)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
