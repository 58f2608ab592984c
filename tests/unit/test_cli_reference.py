"""``docs/cli.md`` is the reference the parser generates: regenerate it with
``python -m portkit.cli._reference docs/cli.md`` after changing a command or a flag."""

from __future__ import annotations

from pathlib import Path

from portkit.cli import build_parser
from portkit.cli._parser import walk
from portkit.cli._reference import reference_markdown

DOC = Path(__file__).resolve().parents[2] / "docs" / "cli.md"


def test_docs_cli_md_matches_the_parser() -> None:
    expected = reference_markdown(build_parser())
    assert DOC.read_text(encoding="utf-8") == expected, (
        "docs/cli.md is out of date: run `python -m portkit.cli._reference docs/cli.md`"
    )


def test_the_reference_names_every_command_and_flag() -> None:
    text = reference_markdown(build_parser())
    for path, parser in walk(build_parser()):
        if path:
            assert f"### portkit {' '.join(path)}\n" in text
        for action in parser._actions:
            if action.dest in ("help",) or action.dest.startswith("_verbose") or action.help == "==SUPPRESS==":
                continue
            if action.option_strings:
                assert f"`{action.option_strings[0]}" in text or f"`{', '.join(action.option_strings)}" in text
