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
    "add_output_flag",
    "emit",
    "parse_map_flags",
    "read_key_file",
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
