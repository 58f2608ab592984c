"""Flags and input handling shared by ``portkit translate`` and ``portkit lint``."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from portkit.cli._common import add_key_file_flag, read_key_file
from portkit.errors import ConfigurationError

__all__ = ["add_translate_flags", "read_input", "translate_options"]


def add_translate_flags(parser: argparse.ArgumentParser, *, target_required: bool = True) -> None:
    """Input, --from/--to, --rules, --map, --namespace."""
    parser.add_argument("input", metavar="DIR|FILE", nargs="+", help="a bundle directory, YAML files or directories")
    parser.add_argument(
        "--from", dest="source", metavar="PROVIDER", help="source provider (default: recorded in the bundle)"
    )
    parser.add_argument(
        "--to", dest="target", metavar="PROVIDER", required=target_required,
        help="target provider: a name, or several joined with + (rook-ceph+metallb)",
    )  # fmt: skip
    parser.add_argument("--rules", metavar="FILE", help="rule file (Velero resource-modifier format)")
    parser.add_argument(
        "--map", dest="maps", metavar="KIND:OLD=NEW", action="append", default=[],
        help="override a profile default: images:OLD=NEW, storageclass:OLD=NEW, zone:OLD=NEW, "
        "ingressclass:NAME, pullsecret:NAME, nodepool:OLD=NEW (repeatable)",
    )  # fmt: skip
    parser.add_argument("-n", "--namespace", help="namespace for objects in plain YAML files that have none")
    add_key_file_flag(parser)


def read_input(args: argparse.Namespace) -> Any:
    """The bundle named on the command line (a bundle directory or plain manifests)."""
    from portkit.bundle import MANIFEST, Bundle

    for item in args.input:
        if not Path(item).exists():
            raise ConfigurationError(f"{item} does not exist.", hint="Give a bundle directory or YAML files.")
    key = read_key_file(getattr(args, "key_file", None))
    if len(args.input) == 1 and (Path(args.input[0]) / MANIFEST).is_file():
        # keeps the bundle's meta (source provider, namespaces, ...) and its key: saved encrypted again
        return Bundle.load(args.input[0], key=key)
    return Bundle.from_manifests(args.input if len(args.input) > 1 else args.input[0], namespace=args.namespace)


def translate_options(args: argparse.Namespace) -> dict[str, Any]:
    """Keyword arguments for :func:`portkit.translate.translate` from the flags."""
    from portkit.cli._common import parse_map_flags

    if args.rules and not Path(args.rules).is_file():
        raise ConfigurationError(f"rule file {args.rules} does not exist.")
    return {"rules": args.rules, "mappings": parse_map_flags(args.maps)}
