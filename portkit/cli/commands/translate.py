"""``portkit translate``: rewrite a bundle's provider-specific bits for another provider."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from portkit.cli._common import EXIT_ATTENTION, EXIT_OK, emit, read_key_file
from portkit.cli.commands._translate_common import add_translate_flags, read_input, translate_options

__all__ = ["register", "run"]


def register(subparsers: Any) -> None:
    """Add the ``translate`` subcommand."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "translate",
        help="translate a bundle (or YAML files) from one provider to another",
        description="Rewrite storage classes, load balancers, ingress, identity, topology, images, provider-only "
        "objects, policies and OpenShift objects for the target provider and write the translated bundle "
        "(-o DIR), or rewrite a GitOps repository in place (--in-place) or into a copy (-d DIR) changing only "
        "the provider-specific values. Helm charts: translate their rendered output "
        "(helm template ... | portkit translate - -n NAMESPACE ...). Exit 3 when warnings or manual actions "
        "need attention.",
    )
    add_translate_flags(parser)
    parser.add_argument("-o", "--out", dest="out", metavar="DIR", help="directory for the translated bundle")
    parser.add_argument(
        "-d", "--output-dir", dest="output_dir", metavar="DIR",
        help="write the translation in the input's own layout: a bundle for a bundle, a copy of the directory "
        "with only the changed values rewritten for a directory (or file) of manifests",
    )
    parser.add_argument(
        "--in-place", action="store_true",
        help="rewrite a directory (or file) of manifests in place: only the changed values, comments and "
        "formatting kept (GitOps repositories; kustomize bases and overlays understood)",
    )
    parser.add_argument("--diff", action="store_true", help="print a unified diff of the files before writing any")
    parser.add_argument(
        "--keep-dropped", action="store_true",
        help="with --in-place/-d: keep objects the target has no use for, with a comment (default: remove them, "
        "leaving a comment)",
    )
    parser.add_argument(
        "--format", "--output-format", "--report-format", dest="output_format",
        choices=["text", "json", "markdown"], default="text",
        help="report format (json for machines, markdown for a pull request; -o names the output directory here)",
    )
    parser.add_argument(
        "--report", metavar="FILE", help="also write the JSON report to FILE (mode 0600; Secret values redacted)"
    )
    parser.set_defaults(func=run)


def _tree_input(args: argparse.Namespace) -> bool:
    """One directory of plain manifests (not a bundle) or one YAML file."""
    from portkit.bundle import MANIFEST

    if len(args.input) != 1 or args.input[0] == "-":
        return False
    path = Path(args.input[0])
    return (path.is_dir() and not (path / MANIFEST).is_file()) or path.suffix in (".yaml", ".yml", ".json")


def _write_report(path: str, data: dict[str, Any]) -> None:
    from portkit._private_files import write_private_text
    from portkit.errors import ConfigurationError

    try:
        write_private_text(path, json.dumps(data, indent=2, default=str) + "\n")
    except OSError as exc:
        raise ConfigurationError(f"Cannot write the report {path}: {exc.strerror}.") from None


def run(args: argparse.Namespace) -> int:
    """Translate, save, report."""
    from portkit.errors import ConfigurationError
    from portkit.translate import translate

    if args.in_place or ((args.output_dir or args.diff) and not args.out and _tree_input(args)):
        return _run_tree(args)
    if args.diff or args.keep_dropped:
        raise ConfigurationError("--diff and --keep-dropped work on a directory (or file) of manifests.",
                                 hint="Give one directory of manifests (not a bundle), with --in-place or -d DIR.")
    bundle = read_input(args)
    t = translate(bundle, source=args.source, target=args.target, **translate_options(args))
    out = args.out or args.output_dir
    saved = t.bundle.save(out, key=read_key_file(args.key_file)) if out else None
    if args.report:
        _write_report(args.report, t.to_dict())
    wrote = f"\n\nWrote {len(saved)} objects to {saved.path}." if saved is not None else (
        "\n\nNothing written (give -o DIR for the translated bundle).")
    if args.output_format == "json":
        data = t.to_dict()
        data["output"] = str(saved.path) if saved is not None else None
        emit(data, "json")
    elif args.output_format == "markdown":
        from portkit.gitops.report import translation_markdown

        sys.stdout.write(translation_markdown(t))
    else:
        emit(t.to_text() + wrote, "text")
    return EXIT_ATTENTION if t.needs_attention else EXIT_OK


def _run_tree(args: argparse.Namespace) -> int:
    """Translate a directory of manifests file by file; diff, write, report."""
    from portkit.display import terminal_safe
    from portkit.errors import ConfigurationError
    from portkit.gitops import translate_tree, write_tree

    if not _tree_input(args):
        raise ConfigurationError("--in-place needs one directory of manifests (or one YAML file).",
                                 hint="A bundle is written with -o DIR instead.")
    if args.in_place and (args.output_dir or args.out):
        raise ConfigurationError("--in-place and an output directory exclude each other.", hint="Give one of them.")
    options = translate_options(args)
    result = translate_tree(args.input[0], args.source, args.target, options["rules"], options["mappings"],
                            namespace=args.namespace, keep_dropped=args.keep_dropped)
    if args.diff:
        sys.stdout.write(terminal_safe(result.diff()))
        sys.stdout.flush()
    if args.in_place or args.output_dir:
        result = write_tree(result, Path(args.output_dir) if args.output_dir else None)
    if args.report:
        _write_report(args.report, result.to_dict())
    if args.output_format == "json":
        emit(result.to_dict(), "json")
    elif args.output_format == "markdown":
        sys.stdout.write(result.to_markdown())
    elif not args.diff or result.needs_attention:
        emit(result.to_text(), "text")
    else:
        written = (f"Wrote {len(result.changed_files)} files to {result.written_to}." if result.written_to
                   else "Nothing written (--in-place or -d DIR writes).")
        emit(result.summary() + "\n" + written, "text")
    return EXIT_ATTENTION if result.needs_attention else EXIT_OK
