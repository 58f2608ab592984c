"""Helpers shared by the subcommands: common flags, output formats, exit codes.

Exit codes: 0 success (:data:`EXIT_OK`), 1 failed (:data:`EXIT_FAILED`), 2 usage or bad input
(:data:`EXIT_USAGE`), 3 finished but with manual actions or warnings that need attention
(:data:`EXIT_ATTENTION`). A command returns 0, 1 or 3 itself; an error it raises is mapped by
:func:`exit_code_for`, by class: every :class:`portkit.errors.InputError` (a bad flag, kubeconfig, file or
bundle) exits 2, every other :class:`portkit.errors.PortkitError` exits 1. To make an error exit 2, derive
it from ``InputError`` (see :mod:`portkit.errors`); never match messages here.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from portkit.errors import InputError

__all__ = [
    "EXIT_ATTENTION",
    "EXIT_FAILED",
    "EXIT_OK",
    "EXIT_USAGE",
    "add_kube_flags",
    "add_output_flag",
    "emit",
    "exit_code_for",
]

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_ATTENTION = 3


def exit_code_for(exc: BaseException) -> int:
    """The exit code for an error a command raised: 2 for bad input (:class:`~portkit.errors.InputError`), else 1."""
    return EXIT_USAGE if isinstance(exc, InputError) else EXIT_FAILED


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


def emit(result: Any, fmt: str) -> None:
    """Print a result: its ``to_dict()`` as JSON, or its text rendering (``str``)."""
    if fmt == "json":
        data = result.to_dict() if hasattr(result, "to_dict") else result
        json.dump(data, sys.stdout, indent=2, sort_keys=False, default=str)
        sys.stdout.write("\n")
    else:
        text = result.to_text() if hasattr(result, "to_text") else str(result)
        sys.stdout.write(text.rstrip("\n") + "\n")
