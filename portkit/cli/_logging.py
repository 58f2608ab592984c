"""Logging of one CLI run: records of the ``portkit`` loggers on stderr, as text lines or JSON lines.

Levels: warnings and errors by default; ``-v`` adds info, ``-vv`` or ``--debug`` debug. The CLI's own
notices (retries, a source provider detected, deprecated flags) come from the ``portkit.cli`` logger at
info level and are always shown. ``--log-format json`` writes one JSON object per record (``time``,
``level``, ``logger``, ``message`` and the record's ``extra`` fields) for CI and log collectors.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager

from portkit._logging import JsonFormatter, scrub_credentials
from portkit.cli._progress import write_err
from portkit.cli._term import color_enabled, paint
from portkit.display import terminal_safe

__all__ = ["LOG_FORMATS", "configure_logging"]

LOG_FORMATS = ("text", "json")
_ALWAYS_INFO = ("portkit.cli", "portkit.testing.binaries", "portkit.testing.images", "portkit.policy.opa")


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
        return prefix + terminal_safe(scrub_credentials(message))


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
    # always at info: the CLI's notices, and the progress of builds that take minutes on first use (local
    # clusters' binaries, OPA), which used to be printed and must stay visible
    shown = [logging.getLogger(name) for name in _ALWAYS_INFO]
    level = logging.DEBUG if debug or verbose >= 2 else logging.INFO if verbose == 1 else logging.WARNING
    handler = _Handler()
    handler.setFormatter(JsonFormatter() if log_format == "json" else _TextFormatter())
    saved = (root.level, [logger.level for logger in shown])
    root.addHandler(handler)
    root.setLevel(level)
    for logger in shown:
        logger.setLevel(min(level, logging.INFO))
    try:
        yield
    finally:
        root.removeHandler(handler)
        root.setLevel(saved[0])
        for logger, was in zip(shown, saved[1], strict=True):
            logger.setLevel(was)
