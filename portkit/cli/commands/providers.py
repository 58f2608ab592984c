"""``portkit providers``: the provider profiles known (built in, from plugins)."""

from __future__ import annotations

import argparse

from portkit.cli._common import EXIT_OK, Subparsers, add_output_flag, emit

__all__ = ["register", "run"]


def register(subparsers: Subparsers) -> None:
    """Add the ``providers`` subcommand."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "providers",
        help="list the provider profiles (sources and targets of a translation)",
        description="List the provider profiles: what each covers (storage, load balancers, ingress, identity, "
        "topology, registries) and how many of its values the catalog could not verify.",
    )
    parser.add_argument("name", nargs="?", metavar="PROVIDER", help="show one profile in detail")
    add_output_flag(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """List the profiles, or show one."""
    from portkit import profiles

    if args.name:
        prof = profiles.load(args.name)
        if args.output_format != "text":
            emit(prof.to_dict(), args.output_format)
        else:
            d = prof.to_dict()
            lines = [f"{prof.name}: {prof.display_name} ({prof.category}; {', '.join(d['aspects'])})", prof.summary]
            for c in d["storage_classes"]:
                mark = " (default)" if c["default"] else ""
                lines.append(f"  storage class {c['name']}{mark}: {c['provisioner']}, {c['tier']}, {c['confidence']}")
            lines += [f"  unverified: {u}" for u in prof.unverified]
            emit("\n".join(line for line in lines if line), "text")
        return EXIT_OK
    emit(profiles.providers(), args.output_format)
    return EXIT_OK
