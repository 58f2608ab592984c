"""``portkit lint``: what would not survive the move to a provider, without writing anything."""

from __future__ import annotations

import argparse
from typing import Any

import attrs

from portkit.cli._common import EXIT_ATTENTION, EXIT_OK, add_observe_flags, add_output_flag, emit
from portkit.cli.commands._translate_common import add_translate_flags, read_input, translate_options
from portkit.errors import ConfigurationError

__all__ = ["register", "run"]


def register(subparsers: Any) -> None:
    """Add the ``lint`` subcommand."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "lint",
        help="report what would not survive the move to a provider (writes nothing)",
        description="Translate in memory and report the changes, warnings, manual actions and any residue of "
        "the source provider left. The source is --from, else recorded in the bundle, else detected from "
        "the manifests. Exit 3 when something needs attention.",
    )
    add_translate_flags(parser)
    add_output_flag(parser)
    add_observe_flags(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Lint the input against the target."""
    from portkit.translate import detect_source_evidence, lint_residue, source_of, translate

    bundle = read_input(args)
    source = args.source or source_of(bundle)
    evidence: list[str] = []
    if source is None:
        source, evidence = detect_source_evidence(bundle.objects)
    if source is None:
        raise ConfigurationError(
            "cannot tell which provider these manifests come from: nothing in them is specific to one provider.",
            hint="Name it with --from (see `portkit providers`).",
        )
    options = translate_options(args)
    t = translate(bundle, source=source, target=args.target, **options)
    residue = lint_residue(t, source, args.target, options["mappings"])
    t = attrs.evolve(t, residue=tuple(residue), source_evidence=tuple(evidence))
    emit(t, args.output_format)
    return EXIT_ATTENTION if t.needs_attention else EXIT_OK
