"""What the terminal the CLI writes to can show: colour (only on a terminal; ``--no-color``, ``NO_COLOR`` and
``TERM=dumb`` switch it off), its width (``$COLUMNS`` wins), and the colouring of plan and report lines."""

from __future__ import annotations

import os
import re
import shutil
import sys
from collections.abc import Callable
from typing import TextIO

import attrs

__all__ = [
    "Settings",
    "color_enabled",
    "highlight_plan",
    "highlight_report",
    "output_width",
    "paint",
    "settings",
    "use_settings",
]


@attrs.define
class Settings:
    """The global flags of one CLI run that shape output (set by :func:`portkit.cli.main`)."""

    no_color: bool = False
    verbose: int = 0
    debug: bool = False
    log_format: str = "text"


_current = Settings()


def settings() -> Settings:
    """The settings of the running command."""
    return _current


def use_settings(new: Settings) -> Settings:
    """Make ``new`` the settings of the running command; returns the previous ones (to restore)."""
    global _current
    old, _current = _current, new
    return old


def _isatty(stream: TextIO) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # closed or replaced streams
        return False


def color_enabled(stream: TextIO | None = None) -> bool:
    """True when colour may be written to ``stream`` (default stdout): a terminal, no ``--no-color``,
    ``$NO_COLOR`` unset or empty (https://no-color.org), ``$TERM`` not ``dumb``."""
    if _current.no_color or os.environ.get("NO_COLOR") or os.environ.get("TERM") == "dumb":
        return False
    return _isatty(stream if stream is not None else sys.stdout)


def output_width(stream: TextIO | None = None) -> int | None:
    """Columns text output is fitted to: ``$COLUMNS`` when set, else the terminal's width when ``stream``
    (default stdout) is a terminal, else None (piped output is not wrapped)."""
    env = os.environ.get("COLUMNS", "")
    if env.isdigit() and int(env) > 0:
        return int(env)
    target = stream if stream is not None else sys.stdout
    if not _isatty(target):
        return None
    return shutil.get_terminal_size().columns


_RESET = "\x1b[0m"
_STYLES = {"green": "\x1b[32m", "yellow": "\x1b[33m", "red": "\x1b[31m", "bold": "\x1b[1m", "dim": "\x1b[2m"}


def paint(text: str, style: str) -> str:
    """``text`` in one of the styles (green, yellow, red, bold, dim)."""
    return f"{_STYLES[style]}{text}{_RESET}"


def _lines(text: str, rules: list[tuple[re.Pattern[str], str]]) -> str:
    out = []
    for line in text.split("\n"):
        for pattern, style in rules:
            if pattern.match(line):
                line = paint(line, style)
                break
        out.append(line)
    return "\n".join(out)


_HEADINGS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"(BLOCKED|Rejected by|FAILED|STILL [A-Z0-9+-]+-SPECIFIC)\b"), "red"),
    (re.compile(r"(MANUAL ACTIONS|WARNINGS|Warnings \(|Field-manager conflicts)"), "yellow"),
    (re.compile(r"[A-Z][A-Z ]+:$"), "bold"),
]

_PLAN: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"(\+ |create\b)"), "green"),  # a "+ create ..." diff block, or a "create" table row
    (re.compile(r"(~ |update\b)"), "yellow"),
    (re.compile(r"(! |conflict\b)"), "red"),
    (re.compile(r" {4}\+ "), "green"),  # field lines of a diff
    (re.compile(r" {4}- "), "red"),
    (re.compile(r" {4}~ "), "yellow"),
    (re.compile(r" {4}rejected by the API"), "red"),
    *_HEADINGS,
]


def highlight_report(text: str) -> str:
    """Headings of reports coloured: blockers and failures red, warnings and manual actions yellow."""
    return _lines(text, _HEADINGS)


def highlight_plan(text: str) -> str:
    """A plan's lines coloured like terraform's: ``+`` create green, ``~`` update yellow, ``!`` conflict red."""
    return _lines(text, _PLAN)


Highlighter = Callable[[str], str]
