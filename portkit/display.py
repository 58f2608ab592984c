"""Text and HTML rendering shared by every result object (reprs, notebooks, CLI tables)."""

from __future__ import annotations

import html
import re
import textwrap
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

__all__ = [
    "escape_control",
    "fit_text",
    "html_table",
    "output_width",
    "readable_path",
    "terminal_safe",
    "text_table",
    "truncate",
]

MAX_CELL = 120
MAX_ROWS = 50
#: The narrowest a table column is squeezed to when a table is fitted to a width.
MIN_COLUMN = 8
#: Words up to this long are not cut when a table column is narrowed.
MAX_WORD = 40

_WIDTH: ContextVar[int | None] = ContextVar("portkit_output_width", default=None)


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


def escape_control(value: object, *, keep_layout: bool = False) -> str:
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


def truncate(value: object, limit: int = MAX_CELL) -> str:
    """``str(value)`` with control characters escaped (:func:`escape_control`), cut to ``limit``
    characters with an ellipsis."""
    text = escape_control(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


@contextmanager
def output_width(width: int | None) -> Iterator[None]:
    """Within the block, :func:`text_table` fits tables to ``width`` columns (None: no limit, the default).

    The CLI sets it to the terminal's width; notebooks and ``str()`` of results are not wrapped.
    """
    token = _WIDTH.set(width if width and width > 0 else None)
    try:
        yield
    finally:
        _WIDTH.reset(token)


_PLAIN_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")


def readable_path(pointer: str) -> str:
    """A JSON pointer as people read field paths: ``/spec/template/spec/containers/0/image`` →
    ``spec.template.spec.containers[0].image``; keys holding dots or slashes in brackets:
    ``/metadata/annotations/elbv2.k8s.aws~1pod-readiness-gate-inject`` →
    ``metadata.annotations["elbv2.k8s.aws/pod-readiness-gate-inject"]``. ``""`` (the whole object) stays ``""``.
    """
    if not pointer or not pointer.startswith("/"):
        return pointer
    out: list[str] = []
    for raw in pointer[1:].split("/"):
        key = raw.replace("~1", "/").replace("~0", "~")
        if key.isdigit():
            out.append(f"[{key}]")
        elif _PLAIN_KEY.fullmatch(key):
            out.append(f".{key}" if out else key)
        else:
            quoted = key.replace("\\", "\\\\").replace('"', '\\"')
            out.append(f'["{quoted}"]')
    return "".join(out)


def _floors(widths: list[int], headers: Sequence[str], cells: list[list[str]]) -> list[int]:
    """The narrowest each column may get: its header, and its longest word up to ``MAX_WORD`` (so words
    are rarely cut), never wider than its content."""
    floors = []
    for i, (w, h) in enumerate(zip(widths, headers, strict=True)):
        word = max((len(part) for row in cells for part in row[i].split()), default=0)
        floors.append(min(w, max(len(h), MIN_COLUMN, min(word, MAX_WORD))))
    return floors


def _fit_widths(widths: list[int], floors: list[int], width: int) -> list[int] | None:
    """Column widths fitting ``width`` (2 spaces between columns): the widest columns give up space
    first, none below its floor; None when even the floors do not fit."""
    gaps = 2 * (len(widths) - 1)
    if sum(widths) + gaps <= width:
        return widths
    if sum(floors) + gaps > width:
        return None
    lo, hi = 1, max(widths)  # the largest cap with every column at min(width, max(cap, floor)) fitting
    while lo < hi:
        cap = (lo + hi + 1) // 2
        if sum(min(w, max(cap, f)) for w, f in zip(widths, floors, strict=True)) + gaps <= width:
            lo = cap
        else:
            hi = cap - 1
    fitted = [min(w, max(lo, f)) for w, f in zip(widths, floors, strict=True)]
    spare = width - gaps - sum(fitted)  # hand what is left to the columns that were cut, left to right
    for i, w in enumerate(widths):
        if spare <= 0:
            break
        extra = min(spare, w - fitted[i])
        fitted[i] += extra
        spare -= extra
    return fitted


def _records(headers: Sequence[str], cells: list[list[str]], width: int) -> list[str]:
    """Rows too wide for a table, one record each: the first cell, then ``header: value`` lines (empty and
    ``-`` values left out), values wrapped under each other."""
    label = max((len(h) for h in headers[1:]), default=0) + 2
    lines: list[str] = []
    for row in cells:
        if lines:
            lines.append("")
        lines.extend(textwrap.wrap(row[0], width, break_long_words=False, break_on_hyphens=False) or [row[0]])
        for header, cell in zip(headers[1:], row[1:], strict=False):
            if cell in ("", "-"):
                continue
            head = f"  {header.lower() + ':':<{label}}"
            wrapped = textwrap.wrap(cell, max(20, width - len(head)), break_long_words=False, break_on_hyphens=False)
            for k, part in enumerate(wrapped or [cell]):
                lines.append((head if k == 0 else " " * len(head)) + part)
    return lines


def _wrap_cell(cell: str, width: int) -> list[str]:
    if len(cell) <= width:
        return [cell]
    return textwrap.wrap(cell, width, break_long_words=True, break_on_hyphens=False) or [""]


def text_table(
    headers: Sequence[str], rows: Sequence[Sequence[Any]], *, max_rows: int | None = None, width: int | None = None
) -> str:
    """A plain aligned table for terminals.

    ``width`` (default: the :func:`output_width` in effect, else unlimited): when the table is wider, the
    widest columns are narrowed and their cells wrapped onto more lines; when even that does not fit, each
    row becomes a record (its first cell, then one ``column: value`` line per other cell).
    """
    width = width if width is not None else _WIDTH.get()
    shown = list(rows if max_rows is None else rows[:max_rows])
    cells = [[truncate(c) for c in row] for row in shown]
    widths = [len(h) for h in headers]
    for row in cells:
        for i, cell in enumerate(row):
            widths[i] = max(widths[i], len(cell))
    if width:
        fitted = _fit_widths(widths, _floors(widths, headers, cells), width)
        if fitted is None:
            lines = _records(headers, cells, width)
            if max_rows is not None and len(rows) > max_rows:
                lines.append(f"... and {len(rows) - max_rows} more")
            return "\n".join(lines)
        widths = fitted
    heads = [_wrap_cell(h.upper(), widths[i]) for i, h in enumerate(headers)]
    lines = _join_row(heads, widths)
    for row in cells:
        lines += _join_row([_wrap_cell(c, widths[i]) for i, c in enumerate(row)], widths)
    if max_rows is not None and len(rows) > max_rows:
        lines.append(f"... and {len(rows) - max_rows} more")
    return "\n".join(lines)


def _join_row(pieces: list[list[str]], widths: list[int]) -> list[str]:
    height = max((len(p) for p in pieces), default=1)
    return [
        "  ".join((p[k] if k < len(p) else "").ljust(widths[i]) for i, p in enumerate(pieces)).rstrip()
        for k in range(height)
    ]


_BULLET = re.compile(r"(\s*)((?:[-+~!*]|\d+\.)\s+)?")


def fit_text(text: str, width: int | None) -> str:
    """Wrap the lines of ``text`` longer than ``width`` at spaces, continuation lines indented under the
    start of the line's text (after its indentation and any ``-``/``+``/``~``/``!`` bullet). Words longer
    than the width (paths, URLs) are kept whole. ``width`` None or 0: ``text`` unchanged."""
    if not width or width <= 0:
        return text
    out: list[str] = []
    for line in text.split("\n"):
        if len(line) <= width:
            out.append(line)
            continue
        match = _BULLET.match(line)
        hang = len(match.group(1)) + len(match.group(2) or "") if match else 0
        if hang >= width // 2:
            hang = 4
        out.extend(
            textwrap.wrap(
                line,
                width,
                subsequent_indent=" " * hang,
                break_long_words=False,
                break_on_hyphens=False,
                drop_whitespace=True,
            )
            or [line]
        )
    return "\n".join(out)


#: Rows an HTML table holds at most (the rest is left out with a note); the first ``MAX_ROWS`` are shown open.
MAX_HTML_ROWS = 20_000


def _html_rows(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    head = "<tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in headers) + "</tr>"
    body = "".join("<tr>" + "".join(f"<td>{html.escape(truncate(c))}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table>{head}{body}</table>"


def html_table(
    headers: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    title: str | None = None,
    max_rows: int = MAX_ROWS,
    limit: int | None = MAX_HTML_ROWS,
) -> str:
    """An escaped HTML table for notebooks, every row in it.

    The first ``max_rows`` rows are shown; the others follow in a collapsed ``<details>`` element (a click
    opens them) holding a second table with the same headers. Past ``limit`` rows (None: no limit) the rest
    is left out with a note pointing at ``to_dataframe()``: a notebook page with hundreds of thousands of
    table rows is no longer readable. Every cell is escaped and cut to :data:`MAX_CELL` characters.
    """
    parts = []
    if title:
        parts.append(f"<strong>{html.escape(title)}</strong>")
    kept = rows if limit is None else rows[: max(limit, max_rows)]
    parts.append(_html_rows(headers, kept[:max_rows]))
    rest = kept[max_rows:]
    if rest:
        first, last = max_rows + 1, max_rows + len(rest)
        parts.append(
            f"<details><summary>… {len(rest)} more rows ({first} to {last}): click to show</summary>"
            f"{_html_rows(headers, rest)}</details>"
        )
    if len(rows) > len(kept):
        parts.append(
            f"<em>… and {len(rows) - len(kept)} more rows not shown here: use to_dataframe() or to_dict()</em>"
        )
    return "".join(parts)
