"""Text and HTML rendering shared by every result object (reprs, notebooks, CLI tables)."""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from typing import Any

__all__ = ["escape_control", "html_table", "terminal_safe", "text_table", "truncate"]

MAX_CELL = 120
MAX_ROWS = 50


# C0 controls, DEL, C1 controls, and the invisible Unicode format characters that reorder or hide text in
# a terminal (bidi embeddings/overrides/isolates, zero-width marks, line/paragraph separators, BOM).
_FORMAT = "\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff"
_CONTROL_RE = re.compile(f"[\x00-\x1f\x7f-\x9f{_FORMAT}]")
_CONTROL_KEEP_LAYOUT_RE = re.compile(f"[\x00-\x08\x0b-\x1f\x7f-\x9f{_FORMAT}]")  # \t and \n kept
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t", "\x1b": "\\x1b"}


def _escape_one(match: re.Match[str]) -> str:
    char = match.group(0)
    named = _NAMED.get(char)
    if named is not None:
        return named
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def escape_control(value: Any, *, keep_layout: bool = False) -> str:
    """``str(value)`` with terminal control characters escaped (``ESC`` → ``\\x1b``, CR → ``\\r``, ...).

    The one helper text output uses for strings it did not write itself (object names, messages of API
    servers, values from bundle files): C0 and C1 controls, DEL and invisible Unicode format characters
    (bidi overrides, zero-width characters, line separators) are shown as Python-style escapes, so
    they can neither drive the terminal nor forge lines. ``keep_layout=True`` keeps newlines and tabs
    (for whole blocks of output whose line structure portkit made); everything else is still escaped.
    """
    text = "" if value is None else str(value)
    pattern = _CONTROL_KEEP_LAYOUT_RE if keep_layout else _CONTROL_RE
    return pattern.sub(_escape_one, text) if pattern.search(text) else text


def terminal_safe(text: str) -> str:
    """A block of text output for a terminal: :func:`escape_control` keeping newlines and tabs."""
    return escape_control(text, keep_layout=True)


def truncate(value: Any, limit: int = MAX_CELL) -> str:
    """``str(value)`` with control characters escaped (:func:`escape_control`), cut to ``limit``
    characters with an ellipsis."""
    text = escape_control(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def text_table(headers: Sequence[str], rows: Sequence[Sequence[Any]], *, max_rows: int | None = None) -> str:
    """A plain aligned table for terminals."""
    shown = list(rows if max_rows is None else rows[:max_rows])
    cells = [[truncate(c) for c in row] for row in shown]
    widths = [len(h) for h in headers]
    for row in cells:
        for i, cell in enumerate(row):
            widths[i] = max(widths[i], len(cell))
    lines = ["  ".join(h.upper().ljust(widths[i]) for i, h in enumerate(headers)).rstrip()]
    lines += ["  ".join(c.ljust(widths[i]) for i, c in enumerate(row)).rstrip() for row in cells]
    if max_rows is not None and len(rows) > max_rows:
        lines.append(f"... and {len(rows) - max_rows} more")
    return "\n".join(lines)


def html_table(
    headers: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    title: str | None = None,
    max_rows: int = MAX_ROWS,
) -> str:
    """An escaped, truncated HTML table for notebooks."""
    parts = []
    if title:
        parts.append(f"<strong>{html.escape(title)}</strong>")
    parts.append("<table>")
    parts.append("<tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in headers) + "</tr>")
    for row in rows[:max_rows]:
        parts.append("<tr>" + "".join(f"<td>{html.escape(truncate(c))}</td>" for c in row) + "</tr>")
    parts.append("</table>")
    if len(rows) > max_rows:
        parts.append(f"<em>… and {len(rows) - max_rows} more</em>")
    return "".join(parts)
