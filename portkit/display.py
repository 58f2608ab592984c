"""Text and HTML rendering shared by every result object (reprs, notebooks, CLI tables)."""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Any

__all__ = ["html_table", "text_table", "truncate"]

MAX_CELL = 120
MAX_ROWS = 50


def truncate(value: Any, limit: int = MAX_CELL) -> str:
    """``str(value)`` cut to ``limit`` characters with an ellipsis."""
    text = "" if value is None else str(value)
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
