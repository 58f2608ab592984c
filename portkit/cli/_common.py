"""Helpers shared by the subcommands: common flags, output formats, exit codes."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from portkit.display import terminal_safe

__all__ = [
    "EXIT_ATTENTION",
    "EXIT_FAILED",
    "EXIT_OK",
    "EXIT_USAGE",
    "add_key_file_flag",
    "add_kube_flags",
    "add_observe_flags",
    "add_output_flag",
    "emit",
    "parse_map_flags",
    "read_key_file",
    "run_observed",
]

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_ATTENTION = 3


def add_kube_flags(parser: argparse.ArgumentParser, prefix: str = "") -> None:
    """``--kubeconfig`` and ``--context`` (with an optional prefix such as ``from-``)."""
    parser.add_argument(f"--{prefix}kubeconfig", metavar="PATH", help="kubeconfig file (default: like kubectl)")
    parser.add_argument(f"--{prefix}context", metavar="NAME", help="kubeconfig context (default: current)")


def add_key_file_flag(parser: argparse.ArgumentParser, what: str = "read and write") -> None:
    """``--key-file PATH``: the key of bundles with encrypted Secrets (default ``$PORTKIT_BUNDLE_KEY``)."""
    parser.add_argument(
        "--key-file",
        metavar="PATH",
        help=f"file holding the bundle key, to {what} bundles with encrypted Secrets "
        "(default: $PORTKIT_BUNDLE_KEY; make one with python -c 'import portkit.bundle as b; print(b.generate_key())')",
    )


def read_key_file(path: str | None) -> str | None:
    """The key in ``--key-file`` (None when the flag was not given); the key itself is never shown."""
    from portkit.errors import ConfigurationError

    if not path:
        return None
    try:
        key = Path(path).read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "it is not a key (not ASCII text)"
        raise ConfigurationError(f"Cannot read the key file {path}: {reason}.") from None
    if not key:
        raise ConfigurationError(f"The key file {path} is empty.", hint="Put the bundle key in it.")
    return key


def add_output_flag(parser: argparse.ArgumentParser, *, dest: str = "output_format") -> None:
    """``-o text|json``: ``json`` prints one JSON document on stdout for machines."""
    parser.add_argument(
        "-o",
        "--output",
        dest=dest,
        choices=["text", "json"],
        default="text",
        help="output format (json for machines)",
    )


def parse_map_flags(flags: list[str]) -> dict[str, Any]:
    """``--map KIND:OLD=NEW`` flags as translation mappings; a malformed flag is a usage error (exit 2)."""
    from portkit.errors import ConfigurationError, TranslationError
    from portkit.translate import parse_map_flags as parse

    try:
        return parse(flags)
    except TranslationError as exc:
        raise ConfigurationError(exc.message, hint=exc.hint or "See `portkit translate --help` for --map.") from exc


def emit(result: Any, fmt: str) -> None:
    """Print a result: its ``to_dict()`` as JSON, or its text rendering (``str``) with terminal control
    characters escaped (names and messages in it may come from servers or files)."""
    if fmt == "json":
        data = result.to_dict() if hasattr(result, "to_dict") else result
        json.dump(data, sys.stdout, indent=2, sort_keys=False, default=str)
        sys.stdout.write("\n")
    else:
        text = result.to_text() if hasattr(result, "to_text") else str(result)
        sys.stdout.write(terminal_safe(text.rstrip("\n")) + "\n")


def add_observe_flags(parser: argparse.ArgumentParser, *, serve: bool = False) -> None:
    """The metrics flags of a command that does work: ``--metrics-file``, ``--metrics-label`` and, for long
    runs (``serve=True``), ``--metrics-port`` / ``--metrics-address``. Traces need no flag: they follow the
    ``OTEL_*`` environment variables (see :mod:`portkit.observe`)."""
    group = parser.add_argument_group("metrics (Prometheus text format)")
    group.add_argument(
        "--metrics-file", metavar="PATH",
        help="write metrics in the Prometheus text format to PATH (atomically; at the start, after every step "
        "and at the end), e.g. for node-exporter's textfile collector (name it *.prom) or a Pushgateway",
    )  # fmt: skip
    group.add_argument(
        "--metrics-label", action="append", default=[], metavar="KEY=VALUE",
        help="constant label on every series, e.g. unit=shop (repeatable)",
    )  # fmt: skip
    if serve:
        group.add_argument(
            "--metrics-port", type=int, metavar="PORT",
            help="serve the metrics on http://ADDRESS:PORT/metrics while the command runs (0: any free port)",
        )  # fmt: skip
        group.add_argument(
            "--metrics-address", default="127.0.0.1", metavar="ADDRESS",
            help="address for --metrics-port (default 127.0.0.1; 0.0.0.0 in a pod that Prometheus scrapes)",
        )  # fmt: skip


def run_observed(args: argparse.Namespace) -> int:
    """Run the parsed command (``args.func``) observed as its metrics flags and the ``OTEL_*`` variables say."""
    from portkit.errors import ConfigurationError
    from portkit.observe import run_command
    from portkit.observe._metrics import parse_labels

    port = getattr(args, "metrics_port", None)
    if port is not None and not 0 <= port <= 65535:
        raise ConfigurationError(f"--metrics-port {port} is not a port number (0-65535).")
    if getattr(args, "metrics_label", None) and port is None and getattr(args, "metrics_file", None) is None:
        raise ConfigurationError("--metrics-label labels metrics, but none are written or served.",
                                 hint="Add --metrics-file PATH (or --metrics-port PORT where the command has it).")
    return run_command(
        str(getattr(args, "command", None) or "portkit"),
        lambda: int(args.func(args)),
        metrics_file=getattr(args, "metrics_file", None),
        metrics_port=port,
        metrics_address=getattr(args, "metrics_address", "127.0.0.1"),
        labels=parse_labels(getattr(args, "metrics_label", None) or []),
    )
