"""Shell completion scripts (bash, zsh, fish) generated from the argument parser.

The parser is read once into a small model — per command path its subcommands, flags (with their choices,
or whether they take files or directories) and positional arguments — and each shell's script is written
from it. Values come from argparse ``choices``, else from the metavar: ``PROVIDER`` completes provider
names, ``DIR`` directories, ``FILE``/``PATH``/``DIR|FILE`` file names. Nothing runs Python at completion
time, so completing is instant.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

import attrs

from portkit._version import __version__
from portkit.cli._parser import subcommands, walk

__all__ = ["SHELLS", "generate", "model"]

SHELLS = ("bash", "zsh", "fish")


@attrs.frozen
class Values:
    """What a flag or positional argument takes: fixed words, files, directories, or anything (free text)."""

    words: tuple[str, ...] = ()
    kind: str = ""  # "file", "dir" or ""


@attrs.frozen
class Flag:
    """One flag of a command."""

    names: tuple[str, ...]
    help: str
    takes_value: bool
    values: Values


@attrs.frozen
class Command:
    """One command path (``()`` is ``portkit`` itself)."""

    path: tuple[str, ...]
    help: str
    subcommands: tuple[tuple[str, str], ...]
    flags: tuple[Flag, ...]
    positional: Values | None


def _providers() -> tuple[str, ...]:
    try:
        from portkit import profiles

        return tuple(sorted(p.name for p in profiles.providers()))
    except Exception:  # completion without provider names rather than no completion
        return ()


def _values(action: argparse.Action, providers: tuple[str, ...]) -> Values:
    formats = getattr(action, "formats", None)
    if formats:
        return Values(tuple(formats))
    if action.choices is not None and not isinstance(action, argparse._SubParsersAction):
        return Values(tuple(str(c) for c in action.choices))
    metavar = str(action.metavar or "")
    if metavar == "PROVIDER":
        return Values(providers)
    if metavar == "DIR":
        return Values(kind="dir")
    if metavar in ("FILE", "PATH") or "FILE" in metavar or metavar.startswith("DIR|"):
        return Values(kind="file")
    return Values()


def _short(text: str | None, limit: int = 70) -> str:
    if not text or text == argparse.SUPPRESS:
        return ""
    first = " ".join(str(text).split())
    first = first.split("; ")[0]
    return first if len(first) <= limit else first[: limit - 1] + "…"


def model(parser: argparse.ArgumentParser) -> list[Command]:
    """The completion model of ``parser``: every command path with its subcommands, flags and positional."""
    providers = _providers()
    out = []
    for path, each in walk(parser):
        subs = subcommands(each)
        helps = {}
        for action in each._actions:
            if isinstance(action, argparse._SubParsersAction):
                helps = {c.dest: _short(c.help) for c in action._choices_actions}
        flags = []
        positional: Values | None = None
        for action in each._actions:
            if isinstance(action, argparse._SubParsersAction) or action.help == argparse.SUPPRESS:
                continue
            if action.option_strings:
                flags.append(
                    Flag(tuple(action.option_strings), _short(action.help), action.nargs != 0,
                         _values(action, providers))
                )  # fmt: skip
            elif positional is None:
                positional = _values(action, providers)
        out.append(
            Command(path, _short(each.description), tuple((n, helps.get(n, "")) for n in sorted(subs)),
                    tuple(flags), positional)
        )  # fmt: skip
    return out


def generate(parser: argparse.ArgumentParser, shell: str) -> str:
    """The completion script for ``shell`` (bash, zsh or fish)."""
    commands = model(parser)
    if shell == "bash":
        return _bash(commands)
    if shell == "zsh":
        return _zsh(commands)
    if shell == "fish":
        return _fish(commands)
    raise ValueError(f"no completion for shell {shell!r} (bash, zsh, fish)")


def _key(path: Sequence[str]) -> str:
    return " ".join(path)


def _sh(text: str) -> str:
    """A single-quoted shell word."""
    return "'" + text.replace("'", "'\\''") + "'"


def _walk_function(prefix: str, commands: list[Command]) -> list[str]:
    """Shell functions (bash and zsh read the same) answering: the subcommands of a path, whether a word
    is a flag taking a value, the values of a flag, the flags of a path, and the positional values."""
    lines = [f"{prefix}_subcommands() {{", '    case "$1" in']
    for c in commands:
        if c.subcommands:
            lines.append(f"        {_sh(_key(c.path))}) echo {_sh(' '.join(n for n, _ in c.subcommands))} ;;")
    lines += ["    esac", "}", "", f"{prefix}_flags() {{", '    case "$1" in']
    for c in commands:
        names = " ".join(n for f in c.flags for n in f.names)
        lines.append(f"        {_sh(_key(c.path))}) echo {_sh(names)} ;;")
    lines += ["    esac", "}", "", f"{prefix}_value_flags() {{", '    case "$1" in']
    for c in commands:
        names = " ".join(n for f in c.flags if f.takes_value for n in f.names)
        lines.append(f"        {_sh(_key(c.path))}) echo {_sh(names)} ;;")
    lines += ["    esac", "}", "", f"{prefix}_values() {{", '    case "$1|$2" in']
    for c in commands:
        for f in c.flags:
            if not f.takes_value or not (f.values.words or f.values.kind):
                continue
            answer = " ".join(f.values.words) if f.values.words else f"@{f.values.kind}"
            pattern = "|".join(_sh(f"{_key(c.path)}|{n}") for n in f.names)
            lines.append(f"        {pattern}) echo {_sh(answer)} ;;")
    lines += ["    esac", "}", "", f"{prefix}_positional() {{", '    case "$1" in']
    for c in commands:
        if c.positional is not None and (c.positional.words or c.positional.kind):
            answer = " ".join(c.positional.words) if c.positional.words else f"@{c.positional.kind}"
            lines.append(f"        {_sh(_key(c.path))}) echo {_sh(answer)} ;;")
    lines += ["    esac", "}", ""]
    return lines


def _bash(commands: list[Command]) -> str:
    lines = [
        f"# bash completion for portkit {__version__} (generated by `portkit completion bash`; regenerate after",
        "# upgrading portkit). Load it with: source <(portkit completion bash)",
        "",
        *_walk_function("__portkit", commands),
        "__portkit_reply() {",
        '    local answer="$1" cur="$2" prefix="$3"',
        '    case "$answer" in',
        '        @file) compopt -o filenames 2>/dev/null; COMPREPLY=($(compgen -f -- "$cur")) ;;',
        '        @dir) compopt -o filenames 2>/dev/null; COMPREPLY=($(compgen -d -- "$cur")) ;;',
        '        *) COMPREPLY=($(compgen -P "$prefix" -W "$answer" -- "$cur")) ;;',
        "    esac",
        "}",
        "",
        "_portkit() {",
        '    local cur="${COMP_WORDS[COMP_CWORD]}" prev="${COMP_WORDS[COMP_CWORD-1]}"',
        '    local path="" i word subs valued',
        "    COMPREPLY=()",
        "    for ((i = 1; i < COMP_CWORD; i++)); do",
        '        word="${COMP_WORDS[i]}"',
        '        subs=" $(__portkit_subcommands "$path") "',
        '        valued=" $(__portkit_value_flags "$path") "',
        '        if [[ "$word" != -* && "$subs" == *" $word "* ]]; then',
        '            path="${path:+$path }$word"',
        '        elif [[ "$valued" == *" $word "* ]]; then',
        '            [[ "${COMP_WORDS[i+1]}" == "=" ]] && ((i++))',
        "            ((i++))",
        "        fi",
        "    done",
        '    valued=" $(__portkit_value_flags "$path") "',
        '    if [[ "$cur" == --*=* ]]; then  # "=" not a word break',
        '        __portkit_reply "$(__portkit_values "$path" "${cur%%=*}")" "${cur#*=}" ""',
        "        return 0",
        "    fi",
        '    if [[ "$cur" == "=" && "$prev" == --* ]]; then  # bash splits --flag=value at "="',
        '        __portkit_reply "$(__portkit_values "$path" "$prev")" "" ""',
        "        return 0",
        "    fi",
        '    if [[ "$prev" == "=" && "${COMP_WORDS[COMP_CWORD-2]}" == --* ]]; then',
        '        __portkit_reply "$(__portkit_values "$path" "${COMP_WORDS[COMP_CWORD-2]}")" "$cur" ""',
        "        return 0",
        "    fi",
        '    if [[ "$prev" == -* && "$valued" == *" $prev "* ]]; then',
        '        __portkit_reply "$(__portkit_values "$path" "$prev")" "$cur" ""',
        "        return 0",
        "    fi",
        '    if [[ "$cur" == -* ]]; then',
        '        COMPREPLY=($(compgen -W "$(__portkit_flags "$path")" -- "$cur"))',
        "        return 0",
        "    fi",
        '    subs="$(__portkit_subcommands "$path")"',
        '    if [[ -n "$subs" ]]; then',
        '        COMPREPLY=($(compgen -W "$subs" -- "$cur"))',
        "    else",
        '        __portkit_reply "$(__portkit_positional "$path")" "$cur" ""',
        "    fi",
        "    return 0",
        "}",
        "",
        "complete -F _portkit portkit",
        "",
    ]
    return "\n".join(lines)


def _zsh_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace(":", "\\:")


def _zsh(commands: list[Command]) -> str:
    lines = [
        "#compdef portkit",
        f"# zsh completion for portkit {__version__} (generated by `portkit completion zsh`; regenerate after",
        "# upgrading portkit). Load it with: source <(portkit completion zsh), or save it as _portkit in $fpath.",
        "",
        *_walk_function("__portkit", commands),
        "__portkit_described_subcommands() {",
        '    case "$1" in',
    ]
    for c in commands:
        if c.subcommands:
            entries = " ".join(_sh(f"{n}:{_zsh_escape(h)}") for n, h in c.subcommands)
            lines.append(f"        {_sh(_key(c.path))}) reply=({entries}) ;;")
    lines += ["        *) reply=() ;;", "    esac", "}", "", "__portkit_described_flags() {", '    case "$1" in']
    for c in commands:
        entries = " ".join(_sh(f"{n}:{_zsh_escape(f.help)}") for f in c.flags for n in f.names)
        lines.append(f"        {_sh(_key(c.path))}) reply=({entries}) ;;")
    lines += [
        "        *) reply=() ;;",
        "    esac",
        "}",
        "",
        "__portkit_offer() {",
        '    case "$1" in',
        "        @file) _files ;;",
        "        @dir) _files -/ ;;",
        '        "") _message "value" ;;',
        "        *) local -a words_; words_=(${=1}); compadd -a words_ ;;",
        "    esac",
        "}",
        "",
        "_portkit() {",
        '    local cur="${words[CURRENT]}" prev="${words[CURRENT-1]}"',
        '    local path="" i=2 word subs valued',
        "    local -a reply",
        "    while (( i < CURRENT )); do",
        '        word="${words[i]}"',
        '        subs=" $(__portkit_subcommands "$path") "',
        '        valued=" $(__portkit_value_flags "$path") "',
        '        if [[ "$word" != -* && "$subs" == *" $word "* ]]; then',
        '            path="${path:+$path }$word"',
        '        elif [[ "$valued" == *" $word "* ]]; then',
        "            (( i++ ))",
        "        fi",
        "        (( i++ ))",
        "    done",
        '    valued=" $(__portkit_value_flags "$path") "',
        '    if [[ "$cur" == --*=* ]]; then',
        '        compset -P "*="',
        '        __portkit_offer "$(__portkit_values "$path" "${cur%%=*}")"',
        "        return",
        "    fi",
        '    if [[ "$prev" == -* && "$valued" == *" $prev "* ]]; then',
        '        __portkit_offer "$(__portkit_values "$path" "$prev")"',
        "        return",
        "    fi",
        '    if [[ "$cur" == -* ]]; then',
        '        __portkit_described_flags "$path"',
        "        _describe -t flags 'flag' reply",
        "        return",
        "    fi",
        '    __portkit_described_subcommands "$path"',
        "    if (( ${#reply} )); then",
        "        _describe -t commands 'portkit command' reply",
        "    else",
        '        local answer="$(__portkit_positional "$path")"',
        '        [[ -n "$answer" ]] && __portkit_offer "$answer"',
        "    fi",
        "}",
        "",
        'if [[ "$funcstack[1]" == "_portkit" ]]; then',
        '    _portkit "$@"',
        "else",
        "    compdef _portkit portkit",
        "fi",
        "",
    ]
    return "\n".join(lines)


def _fish_condition(c: Command) -> str:
    if not c.path:
        return "__fish_use_subcommand"
    parts = [f"__fish_seen_subcommand_from {p}" for p in c.path]
    if c.subcommands:  # not yet below one of its own subcommands
        parts.append("not __fish_seen_subcommand_from " + " ".join(n for n, _ in c.subcommands))
    return "; and ".join(parts)


def _fish_quote(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _fish(commands: list[Command]) -> str:
    lines = [
        f"# fish completion for portkit {__version__} (generated by `portkit completion fish`; regenerate after",
        "# upgrading portkit). Load it with: portkit completion fish | source",
        "",
        "complete -c portkit -f",
    ]
    for c in commands:
        cond = _fish_quote(_fish_condition(c))
        for name, help_text in c.subcommands:
            lines.append(f"complete -c portkit -n {cond} -a {_fish_quote(name)} -d {_fish_quote(help_text)}")
        for f in c.flags:
            opts = []
            for n in f.names:
                if n.startswith("--"):
                    opts.append(f"-l {n[2:]}")
                elif len(n) == 2:
                    opts.append(f"-s {n[1]}")
                else:  # pragma: no cover - portkit has no single-dash long flags
                    opts.append(f"-o {n[1:]}")
            if f.takes_value:
                if f.values.words:
                    opts.append(f"-x -a {_fish_quote(' '.join(f.values.words))}")
                elif f.values.kind == "dir":
                    opts.append("-x -a '(__fish_complete_directories)'")
                elif f.values.kind == "file":
                    opts.append("-r -F")
                else:
                    opts.append("-x")
            lines.append(f"complete -c portkit -n {cond} {' '.join(opts)} -d {_fish_quote(f.help)}")
        if not c.subcommands and c.positional is not None:
            if c.positional.words:
                lines.append(f"complete -c portkit -n {cond} -a {_fish_quote(' '.join(c.positional.words))}")
            elif c.positional.kind == "dir":
                lines.append(f"complete -c portkit -n {cond} -a '(__fish_complete_directories)'")
            elif c.positional.kind == "file":
                lines.append(f"complete -c portkit -n {cond} -F")
    lines.append("")
    return "\n".join(lines)
