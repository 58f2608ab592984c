"""The ``portkit`` command.

Each subcommand lives in ``portkit/cli/commands/<name>.py`` and exposes ``register(subparsers)``, which adds
its parser and sets ``func`` (taking the parsed ``argparse.Namespace`` and returning an exit code). Flags are
declared with the helpers of :mod:`portkit.cli._common` (see its docstring); the global flags are added to
every command here.

Conventions (kubectl/helm): ``-o/--output text|json|yaml`` is always a format, ``-d/--output-dir`` a
directory, ``-`` reads stdin, durations like ``10m``, ``--dry-run=server|client|none``, global flags before
or after the command, ``--version``, ``portkit completion bash|zsh|fish``.

Exit codes: 0 success, 1 failed, 2 usage error or bad input (any :class:`portkit.errors.InputError`, e.g. a
ConfigurationError), 3 finished but with manual actions or warnings that need attention, 130 interrupted
(Ctrl-C), 141 the reader of the output went away (``| head``); which errors exit 2 is decided by class
(:func:`portkit.cli._common.exit_code_for`). Errors print one paragraph (``--debug`` shows the traceback);
text output has terminal control characters escaped.

``$PORTKIT_BUNDLE_KEY`` is taken out of the process environment while a command runs (portkit keeps it in
memory as the default bundle key), so child processes — the velero CLI, kubeconfig exec plugins — never
inherit it.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import logging
import os
import pkgutil
import sys
import traceback
import warnings
from collections.abc import Sequence
from typing import Any

from portkit._version import __version__
from portkit.cli._common import EXIT_INTERRUPTED, EXIT_PIPE, EXIT_USAGE, exit_code_for, run_observed
from portkit.cli._logging import configure_logging
from portkit.cli._parser import PortkitParser, add_global_flags, global_values, walk
from portkit.cli._term import Settings, use_settings
from portkit.errors import PortkitError

__all__ = ["build_parser", "main"]

log = logging.getLogger("portkit.cli")

_EPILOG = """\
exit codes: 0 success, 1 failed, 2 usage error or bad input, 3 finished with warnings or manual actions
that need attention, 130 interrupted, 141 output pipe closed.
environment: KUBECONFIG (like kubectl), NO_COLOR (no colour), COLUMNS (width of text output),
PORTKIT_BUNDLE_KEY (key of bundles with encrypted Secrets).
`portkit COMMAND --help` describes a command; `portkit completion bash|zsh|fish` prints shell completion."""


def build_parser() -> PortkitParser:
    """The argument parser with every subcommand registered and the global flags on each of them."""
    parser = PortkitParser(
        prog="portkit",
        description="Move Kubernetes workloads between clusters on different providers.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"portkit {__version__}")
    add_global_flags(parser, top=True)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    from portkit.cli import commands

    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"portkit.cli.commands.{info.name}")
        module.register(sub)
    for path, each in walk(parser):
        if path:
            add_global_flags(each, top=False)
        each.set_defaults(_parser=each)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit code (the console script exits with it).

    Ctrl-C ends with 130 and a closed output pipe (``portkit ... | head``) with 141, quietly, without a
    traceback.
    """
    try:
        code = _main_guarded(argv)
        sys.stdout.flush()  # a closed pipe shows here, not in the interpreter's exit
        return code
    except BrokenPipeError:
        _silence_stdout()
        return EXIT_PIPE
    except KeyboardInterrupt:
        _say_to_stderr("portkit: interrupted.")
        return EXIT_INTERRUPTED


def _silence_stdout() -> None:
    """Point stdout at /dev/null, so the interpreter's last flush does not fail again on the closed pipe."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):  # not a real file (tests capture stdout)
        pass


def _say_to_stderr(text: str) -> None:
    with contextlib.suppress(OSError, ValueError):
        print(text, file=sys.stderr, flush=True)


def _main_guarded(argv: Sequence[str] | None) -> int:
    from portkit._cipher import key_taken_from_environment
    from portkit.bundle import BundleFormatWarning

    with key_taken_from_environment(), warnings.catch_warnings():
        warnings.simplefilter("always", BundleFormatWarning)
        shown = warnings.showwarning

        def show(message: Warning | str, category: type[Warning], *args: Any, **kwargs: Any) -> None:
            if issubclass(category, BundleFormatWarning):  # one line, no source line
                log.warning("%s", message)
            else:
                shown(message, category, *args, **kwargs)

        warnings.showwarning = show
        return _main(argv)


def _main(argv: Sequence[str] | None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits 2 on usage errors and 0 on --help / --version
        return int(exc.code or 0)
    flags = global_values(args)
    previous = use_settings(Settings(**flags))
    try:
        with configure_logging(verbose=flags["verbose"], debug=flags["debug"], log_format=flags["log_format"]):
            for message in getattr(args, "_deprecations", ()):
                log.warning("%s", message)
            try:
                for check in getattr(args, "_checks", ()):
                    problem = check(args)
                    if problem:
                        args._parser.error(problem)
            except SystemExit as exc:
                return int(exc.code or EXIT_USAGE)
            if not getattr(args, "func", None):
                args._parser.print_help(sys.stderr)
                return EXIT_USAGE
            return _run(args, debug=flags["debug"], log_format=flags["log_format"])
    finally:
        use_settings(previous)


def _run(args: argparse.Namespace, *, debug: bool, log_format: str) -> int:
    try:
        return run_observed(args)  # args.func(args), with its metrics and spans (portkit.observe)
    except PortkitError as exc:
        if debug and log_format == "text":
            traceback.print_exc()
        log.error("%s", exc, exc_info=exc if debug and log_format == "json" else None)
        return exit_code_for(exc)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
