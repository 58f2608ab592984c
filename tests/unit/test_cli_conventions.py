"""Every command of the parser follows the CLI conventions (kubectl/helm style, issue 14).

The test walks the parser, so a command added later is checked too: ``-o/--output text|json|yaml`` is a format,
``-d/--output-dir DIR`` a directory, global flags work before and after the command, every flag has help,
times are durations, ``--dry-run`` takes ``server|client|none``, inputs take ``-`` for stdin.
"""

from __future__ import annotations

import argparse

import pytest

from portkit.cli import build_parser, main
from portkit.cli._common import DRY_RUN_MODES, OUTPUT_FORMATS, duration
from portkit.cli._parser import global_values, subcommands, walk

#: Commands whose output is not a result but a script: no -o.
NO_FORMAT = {("completion",)}

PARSER = build_parser()
ALL = [(path, p) for path, p in walk(PARSER)]
LEAVES = [(path, p) for path, p in ALL if path and not subcommands(p)]
IDS = [" ".join(path) or "portkit" for path, _ in ALL]
LEAF_IDS = [" ".join(path) for path, _ in LEAVES]

GLOBALS = ["--debug", "-v", "--log-format", "json", "--no-color"]
GLOBALS_SET = {"debug": True, "verbose": 1, "log_format": "json", "no_color": True}


def _value(action: argparse.Action) -> str:
    if getattr(action, "formats", None):
        return "json"
    if action.choices:
        return str(next(iter(action.choices)))
    return "x"


def minimal_args(parser: argparse.ArgumentParser) -> list[str]:
    """The fewest arguments the command accepts (every required flag, group and positional given once)."""
    flags: list[str] = []
    positionals: list[str] = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            continue
        if action.option_strings:
            if action.required or getattr(action, "required_after_parse", False):
                flags += [action.option_strings[0], _value(action)]
        elif action.nargs != argparse.OPTIONAL:
            positionals.append(_value(action))
    for group in parser._mutually_exclusive_groups:
        if group.required:
            first = group._group_actions[0]
            flags += [first.option_strings[0], _value(first)]
    return [*flags, *positionals]


def parse(argv: list[str]) -> argparse.Namespace:
    args = PARSER.parse_args(argv)
    for check in getattr(args, "_checks", ()):
        assert check(args) is None, (argv, check(args))
    return args


@pytest.fixture(autouse=True)
def _no_env_colour(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)


@pytest.mark.parametrize(("path", "parser"), LEAVES, ids=LEAF_IDS)
def test_every_command_takes_the_global_flags_before_and_after_it(
    path: tuple[str, ...], parser: argparse.ArgumentParser
) -> None:
    base = [*path, *minimal_args(parser)]
    plain = parse(base)
    assert global_values(plain) == {"debug": False, "verbose": 0, "log_format": "text", "no_color": False}
    assert callable(plain.func)
    assert global_values(parse([*GLOBALS, *base])) == GLOBALS_SET
    assert global_values(parse([*base, *GLOBALS])) == GLOBALS_SET
    assert global_values(parse(["-v", *base, "-vv"]))["verbose"] == 3  # counted wherever given


@pytest.mark.parametrize(("path", "parser"), LEAVES, ids=LEAF_IDS)
def test_output_is_a_format_and_directories_go_to_output_dir(
    path: tuple[str, ...], parser: argparse.ArgumentParser
) -> None:
    by_flag = {flag: a for a in parser._actions for flag in a.option_strings}
    if path in NO_FORMAT:
        assert "-o" not in by_flag
        return
    out = by_flag["-o"]
    assert out.option_strings == ["-o", "--output"] and out.dest == "output_format"
    assert tuple(getattr(out, "formats", ())) == OUTPUT_FORMATS and out.default == "text"
    for fmt in OUTPUT_FORMATS:
        assert parse([*path, *minimal_args(parser), "-o", fmt]).output_format == fmt
    if "--output-dir" in by_flag or "-d" in by_flag:
        d = by_flag["-d"]
        assert d is by_flag["--output-dir"] and d.dest == "output_dir" and d.metavar == "DIR"
    for action in parser._actions:  # nothing else spells a directory with -o, or a format differently
        if action.help == argparse.SUPPRESS:
            continue
        assert action is out or not {"-o", "--output", "--format", "--output-format"} & set(action.option_strings)


@pytest.mark.parametrize(("path", "parser"), LEAVES, ids=LEAF_IDS)
def test_a_value_that_is_not_a_format_is_refused_or_a_deprecated_directory(
    path: tuple[str, ...], parser: argparse.ArgumentParser, capsys: pytest.CaptureFixture[str]
) -> None:
    if path in NO_FORMAT:
        return
    argv = [*path, *minimal_args(parser), "-o", "some-dir"]
    if getattr(next(a for a in parser._actions if "-o" in a.option_strings), "legacy_dir", False):
        args = PARSER.parse_args(argv)
        assert args._legacy_output_dir == "some-dir" and "-d/--output-dir" in args._deprecations[0]
        return
    with pytest.raises(SystemExit) as exc:
        PARSER.parse_args(argv)
    assert exc.value.code == 2
    assert "invalid choice: 'some-dir' (choose from text, json, yaml)" in capsys.readouterr().err


@pytest.mark.parametrize(("path", "parser"), ALL, ids=IDS)
def test_every_command_and_flag_is_described(path: tuple[str, ...], parser: argparse.ArgumentParser) -> None:
    if path:
        assert parser.description and len(parser.description) > 20, f"portkit {' '.join(path)} has no description"
    for action in parser._actions:
        if action.help == argparse.SUPPRESS:
            continue
        if isinstance(action, argparse._SubParsersAction):
            for choice in action._choices_actions:
                assert choice.help, f"subcommand {choice.dest} of {' '.join(path)} has no help"
            continue
        assert action.help and str(action.help).strip(), f"{' '.join(path)}: {action.option_strings or action.dest}"


@pytest.mark.parametrize(("path", "parser"), ALL, ids=IDS)
def test_help_works_and_exits_0(
    path: tuple[str, ...], parser: argparse.ArgumentParser, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([*path, "--help"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: portkit") and "global flags (before or after the command)" in out


@pytest.mark.parametrize(("path", "parser"), LEAVES, ids=LEAF_IDS)
def test_times_are_durations_and_dry_runs_have_modes(path: tuple[str, ...], parser: argparse.ArgumentParser) -> None:
    for action in parser._actions:
        timed = action.dest in ("timeout", "deadline", "ttl", "wait_timeout") or action.metavar in (
            "S",
            "SECONDS",
            "DURATION",
        )
        if timed:
            assert action.type is duration and action.metavar == "DURATION", (path, action.option_strings)
        if "--dry-run" in action.option_strings:
            assert tuple(action.choices or ()) == DRY_RUN_MODES and action.default == "none"
            assert parser.equals_flags["--dry-run"] == "server"  # type: ignore[attr-defined]
            base = [*path, *minimal_args(parser)]
            assert parse([*path, "--dry-run", *minimal_args(parser)]).dry_run == "server"
            assert parse([*base, "--dry-run=client"]).dry_run == "client"
            assert parse(base).dry_run == "none"


@pytest.mark.parametrize(("path", "parser"), LEAVES, ids=LEAF_IDS)
def test_inputs_take_stdin_as_dash_positionally_or_with_f(
    path: tuple[str, ...], parser: argparse.ArgumentParser
) -> None:
    inputs = [a for a in parser._actions if a.dest == "input"]
    if not inputs:
        return
    flags = minimal_args(parser)[: -len([a for a in parser._actions if not a.option_strings])]
    assert parse([*path, *flags, "-"]).input == ["-"]
    assert parse([*path, *flags, "-f", "-"]).filenames == ["-"]
    args = PARSER.parse_args([*path, *flags])
    assert any(check(args) for check in args._checks), "no input must be a usage error"


def test_the_walk_sees_every_command() -> None:
    names = {" ".join(path) for path, _ in LEAVES}
    assert {"export", "translate", "lint", "plan", "apply", "migrate", "fleet", "providers", "version",
            "completion", "local up", "bundle upgrade"} <= names  # fmt: skip


def test_global_flags_are_only_the_ones_the_walk_adds() -> None:
    for path, parser in ALL:
        debug = [a for a in parser._actions if "--debug" in a.option_strings]
        assert len(debug) == 1, f"portkit {' '.join(path)} declares --debug itself"
