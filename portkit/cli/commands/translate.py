"""``portkit translate``: rewrite a bundle's provider-specific bits for another provider."""

from __future__ import annotations

import argparse
import json
from typing import Any

from portkit.cli._common import (
    EXIT_ATTENTION,
    EXIT_OK,
    add_legacy_format_flags,
    add_observe_flags,
    add_output_dir_flag,
    add_output_flag,
    emit,
    progress,
    read_key_file,
)
from portkit.cli.commands._translate_common import add_translate_flags, read_input, resolve_source, translate_options

__all__ = ["register", "run"]


def register(subparsers: Any) -> None:
    """Add the ``translate`` subcommand."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "translate",
        help="translate a bundle (or YAML files, or stdin) from one provider to another",
        description="Rewrite storage classes, load balancers, ingress, identity, topology, images, provider-only "
        "objects, policies and OpenShift objects for the target provider and write the translated bundle to "
        "-d/--output-dir. The source provider is --from, else recorded in the bundle, else detected from the "
        "manifests (said on stderr). Exit 3 when warnings or manual actions need attention.",
    )
    add_translate_flags(parser)
    add_output_dir_flag(parser, required=True, help="directory for the translated bundle", legacy=["--out"])
    parser.add_argument(
        "--report", metavar="FILE", help="also write the JSON report to FILE (mode 0600; Secret values redacted)"
    )
    add_legacy_format_flags(parser, "--format", "--output-format")
    add_observe_flags(parser)
    add_output_flag(parser, legacy_dir=True)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Translate, save, report."""
    from portkit._private_files import write_private_text
    from portkit.errors import ConfigurationError
    from portkit.translate import translate

    with progress("translate") as status:
        status.update(note="reading the input")
        bundle = read_input(args)
        source, evidence = resolve_source(args, bundle)
        status.update(note=f"translating {len(bundle)} objects {source} → {args.target}")
        t = translate(bundle, source=source, target=args.target, **translate_options(args))
        if evidence:
            import attrs

            t = attrs.evolve(t, source_evidence=tuple(evidence))
        status.update(note=f"writing {len(t.bundle)} objects to {args.output_dir}")
        saved = t.bundle.save(args.output_dir, key=read_key_file(args.key_file))
    if args.report:
        try:
            write_private_text(args.report, json.dumps(t.to_dict(), indent=2, default=str) + "\n")
        except OSError as exc:
            raise ConfigurationError(f"Cannot write the report {args.report}: {exc.strerror}.") from None
    if args.output_format != "text":
        data = t.to_dict()
        data["output"] = str(saved.path)
        emit(data, args.output_format)
    else:
        emit(t, "text", footer=f"Wrote {len(saved)} objects to {saved.path}.")
    return EXIT_ATTENTION if t.needs_attention else EXIT_OK
