"""Helpers shared by the subcommands: common flags, output formats, exit codes."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from portkit.display import terminal_safe

__all__ = [
    "EXIT_ATTENTION",
    "EXIT_FAILED",
    "EXIT_OK",
    "EXIT_USAGE",
    "add_kube_flags",
    "add_output_flag",
    "emit",
    "parse_map_flags",
]

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_ATTENTION = 3


def add_kube_flags(parser: argparse.ArgumentParser, prefix: str = "") -> None:
    """``--kubeconfig`` and ``--context`` (with an optional prefix such as ``from-``)."""
    parser.add_argument(f"--{prefix}kubeconfig", metavar="PATH", help="kubeconfig file (default: like kubectl)")
    parser.add_argument(f"--{prefix}context", metavar="NAME", help="kubeconfig context (default: current)")


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
