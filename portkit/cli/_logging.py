"""Logging of one CLI run: records of the ``portkit`` loggers on stderr, as text lines or JSON lines.

Levels: warnings and errors by default; ``-v`` adds info, ``-vv`` or ``--debug`` debug. The CLI's own
notices (retries, a source provider detected, deprecated flags) come from the ``portkit.cli`` logger at
info level and are always shown. ``--log-format json`` writes one JSON object per record (``time``,
``level``, ``logger``, ``message`` and the record's ``extra`` fields) for CI and log collectors.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from portkit.cli._progress import write_err
from portkit.cli._term import color_enabled, paint
from portkit.display import terminal_safe

__all__ = ["LOG_FORMATS", "configure_logging"]

LOG_FORMATS = ("text", "json")

_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}


class _TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
        if record.exc_info and record.levelno <= logging.DEBUG:
            message += "\n" + self.formatException(record.exc_info)
        prefix = "portkit: "
        if record.levelno >= logging.WARNING:
            level = f"{record.levelname.lower()}:"
            if color_enabled(sys.stderr):
                level = paint(level, "red" if record.levelno >= logging.ERROR else "yellow")
            prefix += f"{level} "
        elif record.levelno < logging.INFO:
            prefix += f"[{record.name}] "
        elif not record.name.startswith("portkit.cli"):
            prefix += f"[{record.name.removeprefix('portkit.')}] "
        return prefix + terminal_safe(message)


class _JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                data[key] = value
        if record.exc_info:
            data["exception"] = self.formatException(record.exc_info)
        return json.dumps(data, default=str, ensure_ascii=False)


class _Handler(logging.Handler):
    """Writes through :func:`write_err` (above the status line); looks up stderr at each record."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            write_err(self.format(record))
        except Exception:  # a logging failure must never end the command
            self.handleError(record)


@contextmanager
def configure_logging(*, verbose: int = 0, debug: bool = False, log_format: str = "text") -> Iterator[None]:
    """Send the ``portkit`` loggers' records to stderr for the block, then restore the loggers as they were."""
    root = logging.getLogger("portkit")
    cli = logging.getLogger("portkit.cli")
    level = logging.DEBUG if debug or verbose >= 2 else logging.INFO if verbose == 1 else logging.WARNING
    handler = _Handler()
    handler.setFormatter(_JsonFormatter() if log_format == "json" else _TextFormatter())
    saved = (root.level, cli.level)
    root.addHandler(handler)
    root.setLevel(level)
    cli.setLevel(min(level, logging.INFO))
    try:
        yield
    finally:
        root.removeHandler(handler)
        root.setLevel(saved[0])
        cli.setLevel(saved[1])
