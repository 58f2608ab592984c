"""The argument parser machinery every ``portkit`` command shares.

- :class:`PortkitParser`: argparse with flags whose value must be attached with ``=`` when given
  (``--dry-run`` alone means ``--dry-run=server``; ``--dry-run DIR`` leaves ``DIR`` a positional), and
  checks run after parsing (:func:`add_check`).
- :func:`add_global_flags`: ``--debug``, ``-v/--verbose``, ``--log-format``, ``--no-color`` on the top-level
  parser and on every subcommand, so they work before or after it.
- :func:`walk`: every (sub)command parser, for the completion scripts, the CLI reference and the tests.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable, Iterator, Sequence
from typing import Any

__all__ = [
    "GLOBAL_DESTS",
    "PortkitParser",
    "add_check",
    "add_global_flags",
    "global_values",
    "subcommands",
    "walk",
]

#: What the global flags are stored as.
GLOBAL_DESTS = ("debug", "verbose", "log_format", "no_color")

Check = Callable[[argparse.Namespace], "str | None"]


class PortkitParser(argparse.ArgumentParser):
    """An ArgumentParser knowing flags with an optional value that only ``--flag=VALUE`` can give
    (registered with :meth:`add_equals_flag`)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.equals_flags: dict[str, str] = {}  # flag -> the value it means when given alone

    def add_equals_flag(self, flag: str, *, bare: str, **kwargs: Any) -> argparse.Action:
        """Add ``flag`` taking one value that must be written ``flag=VALUE``; ``flag`` alone means ``bare``."""
        self.equals_flags[flag] = bare
        return self.add_argument(flag, **kwargs)

    def parse_known_args(  # type: ignore[override]
        self, args: Sequence[str] | None = None, namespace: argparse.Namespace | None = None
    ) -> tuple[argparse.Namespace, list[str]]:
        """As argparse, with ``--flag`` (alone) of an equals flag read as ``--flag=BARE``."""
        if args is not None and self.equals_flags:
            rewritten: list[str] = []
            rest = False
            for arg in args:
                if not rest and arg in self.equals_flags:
                    arg = f"{arg}={self.equals_flags[arg]}"
                rest = rest or arg == "--"
                rewritten.append(arg)
            args = rewritten
        return super().parse_known_args(args, namespace)


def add_check(parser: argparse.ArgumentParser, check: Check) -> None:
    """Run ``check(args)`` after parsing when this (sub)command is chosen; a returned message is a usage
    error (``portkit CMD: error: MESSAGE``, exit 2)."""
    checks = list(parser.get_default("_checks") or [])
    checks.append(check)
    parser.set_defaults(_checks=checks)


def subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    """The subcommand parsers of ``parser`` by name (aliases left out)."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            seen: dict[int, str] = {}
            for name, sub in action.choices.items():
                seen.setdefault(id(sub), name)
            return {name: sub for name, sub in action.choices.items() if seen[id(sub)] == name}
    return {}


def walk(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    """``(path, parser)`` for ``parser`` and every subcommand below it, depth first, in name order."""
    yield path, parser
    for name, sub in sorted(subcommands(parser).items()):
        yield from walk(sub, (*path, name))


def add_global_flags(parser: argparse.ArgumentParser, *, top: bool) -> None:
    """The global flags. On the top-level parser (``top``) they have defaults; on subcommands they are only
    set when given there (so ``portkit --debug export`` and ``portkit export --debug`` mean the same)."""
    suppress: dict[str, Any] = {} if top else {"default": argparse.SUPPRESS}
    group = parser.add_argument_group("global flags (before or after the command)")
    group.add_argument("--debug", action="store_true", help="show tracebacks on errors and debug logs", **suppress)
    depth = parser.prog.count(" ")  # nested subcommands keep their own count (argparse copies, not adds)
    group.add_argument(
        "-v",
        "--verbose",
        action="count",
        dest="verbose" if top else f"_verbose_{depth}",
        default=0 if top else argparse.SUPPRESS,
        help="more log output on stderr (-v info, -vv debug)",
    )
    group.add_argument(
        "--log-format",
        choices=["text", "json"],
        help="log records on stderr as text lines (default) or JSON lines",
        **({"default": "text"} if top else suppress),
    )
    group.add_argument(
        "--no-color",
        action="store_true",
        help="no colour in output (also: $NO_COLOR set; colour is only used on a terminal)",
        **suppress,
    )


def global_values(args: argparse.Namespace) -> dict[str, Any]:
    """The global flags of a parsed command line (``-v`` counted wherever it was given)."""
    verbose = int(getattr(args, "verbose", 0) or 0)
    verbose += sum(int(v or 0) for k, v in vars(args).items() if k.startswith("_verbose_"))
    return {
        "debug": bool(getattr(args, "debug", False)),
        "verbose": verbose,
        "log_format": getattr(args, "log_format", "text") or "text",
        "no_color": bool(getattr(args, "no_color", False)) or bool(os.environ.get("NO_COLOR")),
    }
