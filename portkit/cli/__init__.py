"""The ``portkit`` command.

Each subcommand lives in ``portkit/cli/commands/<name>.py`` and exposes ``register(subparsers)``, which adds
its parser and sets ``func`` (taking the parsed ``argparse.Namespace`` and returning an exit code).

Exit codes: 0 success, 1 failed, 2 usage error or bad input (any :class:`portkit.errors.InputError`, e.g. a
ConfigurationError), 3 finished but with manual actions or warnings that need attention. Errors print one
paragraph (``--debug`` shows the traceback); text output has terminal control characters escaped.

``$PORTKIT_BUNDLE_KEY`` is taken out of the process environment while a command runs (portkit keeps it in
memory as the default bundle key), so child processes — the velero CLI, kubeconfig exec plugins — never
inherit it.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
import traceback
import warnings
from collections.abc import Sequence
from typing import Any

from portkit.cli._common import EXIT_FAILED, EXIT_USAGE, run_observed
from portkit.display import terminal_safe
from portkit.errors import InputError, PortkitError

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
    from portkit._cipher import key_taken_from_environment
    from portkit.bundle import BundleFormatWarning

    with key_taken_from_environment(), warnings.catch_warnings():
        warnings.simplefilter("always", BundleFormatWarning)
        shown = warnings.showwarning

        def show(message: Warning | str, category: type[Warning], *args: Any, **kwargs: Any) -> None:
            if issubclass(category, BundleFormatWarning):  # one line, no source line
                print(f"portkit: warning: {terminal_safe(str(message))}", file=sys.stderr)
            else:
                shown(message, category, *args, **kwargs)

        warnings.showwarning = show
        return _main(argv)


def _main(argv: Sequence[str] | None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits 2 on usage errors and 0 on --help
        return int(exc.code or 0)
    if not getattr(args, "func", None):
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    try:
        return run_observed(args)  # args.func(args), with its metrics and spans (portkit.observe)
    except KeyboardInterrupt:
        print("portkit: interrupted.", file=sys.stderr)
        return EXIT_FAILED
    except PortkitError as exc:
        if args.debug:
            traceback.print_exc()
        print(f"portkit: error: {terminal_safe(str(exc))}", file=sys.stderr)
        return EXIT_USAGE if isinstance(exc, InputError) else EXIT_FAILED


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
