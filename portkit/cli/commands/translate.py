"""``portkit translate``: rewrite a bundle's provider-specific bits for another provider — into a bundle, or a
GitOps repository's files in place (or into a copy with the same layout)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from portkit.cli._common import (
    EXIT_ATTENTION,
    EXIT_OK,
    STDIN,
    Subparsers,
    add_check,
    add_legacy_format_flags,
    add_observe_flags,
    add_output_dir_flag,
    add_output_flag,
    emit,
    input_items,
    progress,
    read_key_file,
    write_out,
)
from portkit.cli.commands._translate_common import add_translate_flags, read_input, resolve_source, translate_options

__all__ = ["register", "run"]


def register(subparsers: Subparsers) -> None:
    """Add the ``translate`` subcommand."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "translate",
        help="translate a bundle, YAML files or a GitOps repository (or stdin) from one provider to another",
        description="Rewrite storage classes, load balancers, ingress, identity, topology, images, provider-only "
        "objects, policies and OpenShift objects for the target provider. A bundle is written as a bundle to "
        "-d/--output-dir; a directory (or file) of plain manifests — a GitOps repository, kustomize bases and "
        "overlays included — is rewritten in place (--in-place) or into a copy with the same layout (-d DIR), "
        "changing only the provider-specific values and keeping comments and formatting. Helm charts: translate "
        "their rendered output (helm template ... | portkit translate - -n NAMESPACE -d DIR). The source "
        "provider is --from, else recorded in the bundle, else detected from the manifests (said on stderr). "
        "Exit 3 when warnings or manual actions need attention.",
    )
    add_translate_flags(parser)
    add_output_dir_flag(
        parser,
        help="where the translation goes: a bundle for a bundle (or stdin), a copy of the directory with only "
        "the changed values rewritten for a directory (or file) of manifests",
        legacy=["--out"],
    )
    parser.add_argument(
        "--in-place", action="store_true",
        help="rewrite a directory (or file) of manifests in place: only the changed values, comments and "
        "formatting kept (GitOps repositories; kustomize bases and overlays understood)",
    )  # fmt: skip
    parser.add_argument("--diff", action="store_true",
                        help="print a unified diff of the files before writing any (manifests only)")  # fmt: skip
    parser.add_argument(
        "--keep-dropped", action="store_true",
        help="with --in-place/-d on manifests: keep objects the target has no use for, with a comment (default: "
        "remove them, leaving a comment)",
    )  # fmt: skip
    parser.add_argument(
        "--report-format", choices=["markdown"], default=None,
        help="print the report as markdown (per file: changes, warnings, manual actions) for a pull request",
    )  # fmt: skip
    parser.add_argument(
        "--report", metavar="FILE", help="also write the JSON report to FILE (mode 0600; Secret values redacted)"
    )
    add_legacy_format_flags(parser, "--format", "--output-format")
    add_observe_flags(parser)
    add_output_flag(parser, legacy_dir=True)
    add_check(parser, _check)
    parser.set_defaults(func=run)


def _check(args: argparse.Namespace) -> str | None:
    if args.in_place and args.output_dir:
        return "--in-place and -d/--output-dir exclude each other: give one"
    if args.report_format and args.output_format != "text":
        return f"--report-format markdown and -o {args.output_format} exclude each other: give one"
    tree = _tree_input(args)
    if (args.in_place or args.diff or args.keep_dropped) and not tree:
        return (
            "--in-place, --diff and --keep-dropped work on one directory (or file) of plain manifests, not on a "
            "bundle or stdin"
        )
    return None


def _tree_input(args: argparse.Namespace) -> bool:
    """Translate the manifests' own files: one directory of plain manifests (not a bundle), or one YAML/JSON
    file with ``--in-place``/``--diff``/``--keep-dropped`` (a single file with only ``-d`` becomes a bundle)."""
    from portkit.bundle import MANIFEST

    items = input_items(args)
    if len(items) != 1 or items[0] == STDIN:
        return False
    path = Path(items[0])
    if path.is_dir():
        return not (path / MANIFEST).is_file()
    return path.suffix in (".yaml", ".yml", ".json") and bool(args.in_place or args.diff or args.keep_dropped)


def _write_report(path: str, data: dict[str, Any]) -> None:
    from portkit._private_files import write_private_text
    from portkit.errors import ConfigurationError

    try:
        write_private_text(path, json.dumps(data, indent=2, default=str) + "\n")
    except OSError as exc:
        raise ConfigurationError(f"Cannot write the report {path}: {exc.strerror}.") from None


def run(args: argparse.Namespace) -> int:
    """Translate, save (a bundle, or the manifests' own files), report."""
    from portkit.translate import translate

    if _tree_input(args):
        return _run_tree(args)
    with progress("translate") as status:
        status.update(note="reading the input")
        bundle = read_input(args)
        source, evidence = resolve_source(args, bundle)
        status.update(note=f"translating {len(bundle)} objects {source} → {args.target}")
        t = translate(bundle, source=source, target=args.target, **translate_options(args))
        if evidence:
            import attrs

            t = attrs.evolve(t, source_evidence=tuple(evidence))
        saved = None
        if args.output_dir:
            status.update(note=f"writing {len(t.bundle)} objects to {args.output_dir}")
            saved = t.bundle.save(args.output_dir, key=read_key_file(args.key_file))
    if args.report:
        _write_report(args.report, t.to_dict())
    if args.report_format == "markdown":
        from portkit.gitops.report import translation_markdown

        write_out(translation_markdown(t))
    elif args.output_format != "text":
        data = t.to_dict()
        data["output"] = str(saved.path) if saved is not None else None
        emit(data, args.output_format)
    else:
        footer = (
            f"Wrote {len(saved)} objects to {saved.path}."
            if saved is not None
            else "Nothing written (give -d DIR for the translated bundle)."
        )
        emit(t, "text", footer=footer)
    return EXIT_ATTENTION if t.needs_attention else EXIT_OK


def _run_tree(args: argparse.Namespace) -> int:
    """Translate a directory (or file) of manifests file by file; diff, write, report."""
    from portkit.display import terminal_safe
    from portkit.gitops import translate_tree, write_tree

    options = translate_options(args)
    with progress("translate") as status:
        status.update(note="reading and translating the manifests")
        result = translate_tree(
            input_items(args)[0],
            args.source,
            args.target,
            options["rules"],
            options["mappings"],
            namespace=args.namespace,
            keep_dropped=args.keep_dropped,
        )
        if args.diff:
            write_out(terminal_safe(result.diff()))
        if args.in_place or args.output_dir:
            status.update(note="writing the changed files")
            result = write_tree(result, Path(args.output_dir) if args.output_dir else None)
    if args.report:
        _write_report(args.report, result.to_dict())
    if args.report_format == "markdown":
        write_out(result.to_markdown())
    elif args.output_format != "text":
        emit(result.to_dict(), args.output_format)
    elif not args.diff or result.needs_attention:
        emit(result.to_text(), "text")
    else:
        written = (
            f"Wrote {len(result.changed_files)} files to {result.written_to}."
            if result.written_to
            else "Nothing written (--in-place or -d DIR writes)."
        )
        emit(result.summary() + "\n" + written, "text")
    return EXIT_ATTENTION if result.needs_attention else EXIT_OK
