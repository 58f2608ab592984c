"""Printing a command's result: ``-o text`` for people (fitted to the terminal, coloured there), ``-o json``
and ``-o yaml`` for machines (the result's ``to_dict()``)."""

from __future__ import annotations

import json
import sys
from typing import Any

import yaml

from portkit.cli._term import Highlighter, color_enabled, highlight_report, output_width
from portkit.display import fit_text, terminal_safe
from portkit.display import output_width as fitted_to

__all__ = ["OUTPUT_FORMATS", "emit", "render", "write_out"]

#: The values of ``-o/--output`` on every command.
OUTPUT_FORMATS = ("text", "json", "yaml")


def _data(result: object) -> Any:
    data = result.to_dict() if hasattr(result, "to_dict") else result
    # one JSON-able form for both formats (tuples become lists, other values their str())
    return json.loads(json.dumps(data, default=str))


def render(result: object, fmt: str, *, highlight: Highlighter | None = None, color: bool = False,
           width: int | None = None, footer: str = "") -> str:  # fmt: skip
    """The text :func:`emit` prints (without the final newline)."""
    if fmt == "json":
        return json.dumps(_data(result), indent=2, sort_keys=False, ensure_ascii=False)
    if fmt == "yaml":
        text: str = yaml.safe_dump(
            _data(result), sort_keys=False, allow_unicode=True, default_flow_style=False, width=2**31 - 1
        )
        return text.rstrip("\n")
    with fitted_to(width):  # tables in the text are fitted as they are made
        text = result.to_text() if hasattr(result, "to_text") else str(result)
    if footer:
        text = text.rstrip("\n") + "\n\n" + footer
    # names and messages in it may come from servers or files: terminal controls are escaped first
    text = fit_text(terminal_safe(text.rstrip("\n")), width)
    if color:
        text = (highlight or highlight_report)(text)
    return text


def emit(result: object, fmt: str, *, highlight: Highlighter | None = None, footer: str = "") -> None:
    """Print a result on stdout in format ``fmt`` (``text``, ``json``, ``yaml``).

    ``text`` is the result's ``to_text()`` (or ``str()``) and then ``footer`` (a closing sentence such as
    ``Wrote 30 objects to DIR.``), fitted to the terminal's width and coloured with ``highlight`` (default:
    report headings) when stdout is a terminal; piped, it is plain. Pass the result, not its text: its
    tables are fitted while they are made.
    """
    color = fmt == "text" and color_enabled(sys.stdout)
    text = render(result, fmt, highlight=highlight, color=color, width=output_width(sys.stdout), footer=footer)
    write_out(text + "\n")


_CHUNK = 1 << 16


def write_out(text: str) -> None:
    """Write ``text`` to stdout in pieces of 64 KiB, each flushed: when the reader goes away (``| head``),
    the next piece raises BrokenPipeError (one large write would lose the rest silently and the command
    would end as if everything had been read)."""
    out = sys.stdout
    for start in range(0, len(text), _CHUNK):
        out.write(text[start : start + _CHUNK])
        out.flush()
