"""The CLI reference (``docs/cli.md``), generated from the argument parser.

Regenerate it after changing a flag: ``python -m portkit.cli._reference docs/cli.md``.
``tests/unit/test_cli_reference.py`` fails when the file and the parser disagree.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from portkit.cli._parser import GLOBAL_DESTS, subcommands, walk

__all__ = ["reference_markdown"]

_WIDTH = 100


def _is_global(action: argparse.Action) -> bool:
    return action.dest in GLOBAL_DESTS or action.dest.startswith("_verbose_")


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def _required(action: argparse.Action) -> bool:
    """Required by argparse, or checked after parsing (``-d`` of translate, the input of lint, ...)."""
    return bool(action.required or getattr(action, "required_after_parse", False))


def _usage(path: Sequence[str], parser: argparse.ArgumentParser) -> str:
    """``portkit export -n NS -d DIR [flags]``: the required flags, then the positionals (written here, not
    by argparse, so the text is the same on every Python version)."""
    parts = ["portkit", *path]
    flags = False
    positionals: list[str] = []
    for action in parser._actions:
        if isinstance(action, argparse._HelpAction) or action.help == argparse.SUPPRESS:
            continue
        if isinstance(action, argparse._SubParsersAction):
            positionals.append(f"{action.metavar or 'COMMAND'} ...")
        elif action.option_strings:
            if _required(action):
                parts.append(f"{action.option_strings[0]} {_metavar(action)}")
            else:
                flags = True
        else:
            name = _metavar(action)
            if action.nargs == argparse.ZERO_OR_MORE and not _required(action):
                positionals.append(f"[{name} ...]")
            elif action.nargs in (argparse.ONE_OR_MORE, argparse.ZERO_OR_MORE):
                positionals.append(f"{name} ...")
            elif action.nargs == argparse.OPTIONAL:
                positionals.append(f"[{name}]")
            else:
                positionals.append(name)
    if flags:
        parts.append("[flags]")
    return " ".join([*parts, *positionals])


def _metavar(action: argparse.Action) -> str:
    if action.metavar:
        return str(action.metavar)
    if action.choices:
        return "{" + ",".join(str(c) for c in action.choices) + "}"
    return action.dest.upper() if action.option_strings else action.dest


def _flag_name(action: argparse.Action) -> str:
    names = ", ".join(action.option_strings)
    return names if action.nargs == 0 else f"{names} {_metavar(action)}"


def _describe(action: argparse.Action) -> str:
    text = str(action.help or "")
    default = action.default
    shown = (
        default not in (None, False, [], argparse.SUPPRESS)
        and action.nargs != 0
        and "default" not in text
        and not isinstance(action, argparse._CountAction)
    )
    if shown:
        text += f" (default: {default})"
    if _required(action) and action.option_strings:
        text += " (required)"
    return _cell(text)


def _table(actions: Sequence[argparse.Action]) -> list[str]:
    rows = ["| flag | description |", "|---|---|"]
    for action in actions:
        name = _flag_name(action) if action.option_strings else _metavar(action)
        rows.append(f"| `{_cell(name)}` | {_describe(action)} |")
    return rows


def reference_markdown(parser: argparse.ArgumentParser) -> str:
    """The reference of every command of ``parser`` as Markdown."""
    lines = [
        "# portkit command reference",
        "",
        "Generated from the argument parser by `python -m portkit.cli._reference docs/cli.md`; do not edit by hand "
        "(`tests/unit/test_cli_reference.py` fails when this file and the parser disagree).",
        "",
        "Conventions on every command: `-o/--output text|json|yaml` is the output format (text for people, "
        "json/yaml for machines); `-d/--output-dir DIR` is where bundles or manifests are written; `-` (or "
        "`-f -`) reads manifests from stdin; times take durations (`90s`, `10m`, `1h30m`, or seconds); "
        "`--dry-run=server|client|none`. Exit codes: 0 success, 1 failed, 2 usage error or bad input, 3 "
        "finished with warnings or manual actions that need attention, 130 interrupted (Ctrl-C), 141 output "
        "pipe closed. Colour only on a terminal (`--no-color` or `NO_COLOR` turn it off); text output is "
        "fitted to the terminal's width (`COLUMNS` overrides); progress is drawn on stderr only when it is a "
        "terminal.",
        "",
        "## Global flags",
        "",
        "Accepted before or after the command (`portkit --debug plan ...` and `portkit plan ... --debug`).",
        "",
        *_table([a for a in parser._actions if _is_global(a) or a.dest == "version"]),
        "",
        "## Commands",
        "",
    ]
    entries = [(path, each) for path, each in walk(parser) if path]
    for path, _ in entries:
        anchor = "-".join(("portkit", *path))
        lines.append(f"- [`portkit {' '.join(path)}`](#{anchor})")
    lines.append("")
    for path, each in entries:
        own = [a for a in each._actions if not _is_global(a) and a.help != argparse.SUPPRESS]
        own = [a for a in own if not isinstance(a, argparse._HelpAction | argparse._SubParsersAction)]
        lines += [f"### portkit {' '.join(path)}", ""]
        if each.description:
            lines += [" ".join(str(each.description).split()), ""]
        lines += ["```", _usage(path, each), "```", ""]
        subs = subcommands(each)
        if subs:
            lines += ["Subcommands: " + ", ".join(f"`{n}`" for n in sorted(subs)) + ".", ""]
        if own:
            lines += [*_table(own), ""]
        if each.epilog:
            lines += ["```", str(each.epilog).strip(), "```", ""]
    return "\n".join(lines).rstrip() + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    """Write the reference to the file named (or stdout)."""
    from portkit.cli import build_parser

    args = list(sys.argv[1:] if argv is None else argv)
    text = reference_markdown(build_parser())
    if args:
        with open(args[0], "w", encoding="utf-8") as fh:
            fh.write(text)
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
