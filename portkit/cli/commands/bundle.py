"""``portkit bundle upgrade``: rewrite a bundle directory in the current format (format 1 → 2)."""

from __future__ import annotations

import argparse
from typing import Any

from portkit.cli._common import EXIT_OK, add_key_file_flag, add_observe_flags, add_output_flag, emit, read_key_file

__all__ = ["register", "run_upgrade"]


def register(subparsers: Any) -> None:
    """Add the ``bundle`` subcommand (``bundle upgrade``)."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "bundle", help="maintain bundle directories (upgrade)", description="Maintain bundle directories."
    )
    sub = parser.add_subparsers(dest="bundle_command", metavar="ACTION", required=True)
    up: argparse.ArgumentParser = sub.add_parser(
        "upgrade",
        help="rewrite a bundle in the current format",
        description="Read a bundle (checking every file) and write it again, in place, in the current format. "
        "A format-1 bundle with encrypted Secrets (Fernet) becomes format 2: every value of data, stringData "
        "and annotations encrypted with AES-256-GCM and bound to its object and field. The key stays the same.",
    )
    up.add_argument("directory", metavar="DIR", help="the bundle directory")
    add_key_file_flag(up)
    add_output_flag(up)
    add_observe_flags(up)
    up.set_defaults(func=run_upgrade)


def run_upgrade(args: argparse.Namespace) -> int:
    """Upgrade the bundle and print its summary."""
    from portkit.bundle import upgrade

    bundle = upgrade(args.directory, key=read_key_file(args.key_file))
    emit(bundle, args.output_format)
    return EXIT_OK
