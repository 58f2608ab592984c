"""Flags and input handling shared by ``portkit translate`` and ``portkit lint``."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from portkit.cli._common import add_input_flags, add_key_file_flag, load_input, notice, read_key_file
from portkit.errors import ConfigurationError

__all__ = ["add_translate_flags", "read_input", "resolve_source", "translate_options"]


def add_translate_flags(parser: argparse.ArgumentParser, *, target_required: bool = True) -> None:
    """Input (``DIR|FILE|-``, ``-f``), --from/--to, --rules, --map, --namespace, --key-file."""
    add_input_flags(parser)
    parser.add_argument(
        "--from", dest="source", metavar="PROVIDER",
        help="source provider (default: recorded in the bundle, else detected from the manifests)",
    )  # fmt: skip
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
    """The bundle named on the command line (a bundle directory, plain manifests, or ``-`` for stdin)."""
    return load_input(args, key=read_key_file(getattr(args, "key_file", None)))


def resolve_source(args: argparse.Namespace, bundle: Any) -> tuple[str, list[str]]:
    """The source provider: ``--from``, else the one the bundle records, else detected from the manifests
    (said on stderr, with what it was detected from). Returns ``(source, evidence)``; evidence is empty
    unless detected.

    Raises:
        ConfigurationError: nothing in the manifests is specific to one provider.
    """
    from portkit.translate import detect_source_evidence, source_of

    if args.source:
        return args.source, []
    recorded = source_of(bundle)
    if recorded:
        return recorded, []
    source, evidence = detect_source_evidence(bundle.objects)
    if source is None:
        raise ConfigurationError(
            "cannot tell which provider these manifests come from: nothing in them is specific to one provider.",
            hint="Name it with --from (see `portkit providers`).",
        )
    first = f", e.g. {evidence[0]}" if evidence else ""
    notice(
        f"source provider detected: {source} (from {len(evidence)} provider-specific item(s){first}); "
        "give --from to choose another"
    )
    return source, list(evidence)


def translate_options(args: argparse.Namespace) -> dict[str, Any]:
    """Keyword arguments for :func:`portkit.translate.translate` from the flags."""
    from portkit.cli._common import parse_map_flags

    if args.rules and not Path(args.rules).is_file():
        raise ConfigurationError(f"rule file {args.rules} does not exist.")
    return {"rules": args.rules, "mappings": parse_map_flags(args.maps)}
