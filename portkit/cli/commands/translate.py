"""``portkit translate``: rewrite a bundle's provider-specific bits for another provider."""

from __future__ import annotations

import argparse
import json
from typing import Any

from portkit.cli._common import EXIT_ATTENTION, EXIT_OK, add_observe_flags, emit, read_key_file
from portkit.cli.commands._translate_common import add_translate_flags, read_input, translate_options

__all__ = ["register", "run"]


def register(subparsers: Any) -> None:
    """Add the ``translate`` subcommand."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "translate",
        help="translate a bundle (or YAML files) from one provider to another",
        description="Rewrite storage classes, load balancers, ingress, identity, topology, images, provider-only "
        "objects, policies and OpenShift objects for the target provider and write the translated bundle. "
        "Exit 3 when warnings or manual actions need attention.",
    )
    add_translate_flags(parser)
    parser.add_argument(
        "-o", "--out", dest="out", metavar="DIR", required=True, help="directory for the translated bundle"
    )
    parser.add_argument(
        "--format", "--output-format", dest="output_format", choices=["text", "json"], default="text",
        help="report format (json for machines; -o names the output directory here)",
    )
    parser.add_argument(
        "--report", metavar="FILE", help="also write the JSON report to FILE (mode 0600; Secret values redacted)"
    )
    add_observe_flags(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Translate, save, report."""
    from portkit._private_files import write_private_text
    from portkit.errors import ConfigurationError
    from portkit.translate import translate

    bundle = read_input(args)
    t = translate(bundle, source=args.source, target=args.target, **translate_options(args))
    saved = t.bundle.save(args.out, key=read_key_file(args.key_file))
    if args.report:
        try:
            write_private_text(args.report, json.dumps(t.to_dict(), indent=2, default=str) + "\n")
        except OSError as exc:
            raise ConfigurationError(f"Cannot write the report {args.report}: {exc.strerror}.") from None
    if args.output_format == "json":
        data = t.to_dict()
        data["output"] = str(saved.path)
        emit(data, "json")
    else:
        emit(t.to_text() + f"\n\nWrote {len(saved)} objects to {saved.path}.", "text")
    return EXIT_ATTENTION if t.needs_attention else EXIT_OK
