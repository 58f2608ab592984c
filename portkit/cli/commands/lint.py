"""``portkit lint``: what would not survive the move to a provider, without writing anything."""

from __future__ import annotations

import argparse
from typing import Any

import attrs

from portkit.cli._common import EXIT_ATTENTION, EXIT_OK, add_output_flag, emit, progress
from portkit.cli.commands._translate_common import add_translate_flags, read_input, resolve_source, translate_options

__all__ = ["register", "run"]


def register(subparsers: Any) -> None:
    """Add the ``lint`` subcommand."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "lint",
        help="report what would not survive the move to a provider (writes nothing)",
        description="Translate in memory and report the changes, warnings, manual actions and any residue of "
        "the source provider left. The source is --from, else recorded in the bundle, else detected from "
        "the manifests. Reads stdin with -: helm template ... | portkit lint - --to ionos. "
        "Exit 3 when something needs attention.",
    )
    add_translate_flags(parser)
    add_output_flag(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Lint the input against the target."""
    from portkit.translate import lint_residue, translate

    with progress("lint") as status:
        status.update(note="reading the input")
        bundle = read_input(args)
        source, evidence = resolve_source(args, bundle)
        status.update(note=f"translating {len(bundle)} objects {source} → {args.target}")
        options = translate_options(args)
        t = translate(bundle, source=source, target=args.target, **options)
        residue = lint_residue(t, source, args.target, options["mappings"])
    t = attrs.evolve(t, residue=tuple(residue), source_evidence=tuple(evidence))
    emit(t, args.output_format)
    return EXIT_ATTENTION if t.needs_attention else EXIT_OK
