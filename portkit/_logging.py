"""portkit's logging: how records look as JSON lines, and a guard that keeps bearer tokens out of them.

Every module logs to its own logger under ``portkit.`` (``logging.getLogger(__name__)``) and never
configures logging itself: an application, a notebook or the CLI decides where records go. Levels:
INFO for step boundaries and counts (``exported 412 objects``), DEBUG for requests, retries and
decisions, WARNING for what a user should act on. No record ever holds a Secret's value or a credential:
records name objects, never their data.

For automation (CI, Argo, the fleet's Jobs), :class:`JsonFormatter` writes one JSON object per record::

    import logging, sys
    from portkit._logging import JsonFormatter

    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    logging.getLogger("portkit").addHandler(handler)
    logging.getLogger("portkit").setLevel(logging.INFO)

(:func:`log_to` does exactly that.)
"""

from __future__ import annotations

import json
import logging
import re
import sys
from datetime import UTC, datetime
from typing import Literal, TextIO

__all__ = ["JsonFormatter", "LogFormat", "log_to", "scrub_credentials"]

#: What :func:`log_to` writes: text lines or JSON lines.
LogFormat = Literal["text", "json"]

# the attributes every LogRecord has; the others are the ``extra=`` fields of a call
_STANDARD = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}
_BEARER = re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{8,}")


def scrub_credentials(text: str) -> str:
    """``text`` with any ``Bearer <token>`` / ``Basic <credentials>`` replaced by ``Bearer ***``: a last guard
    for what reaches a log line (portkit never logs credentials; an exception text from a library might)."""
    return _BEARER.sub(lambda m: f"{m.group(1)} ***", text) if ("earer" in text or "asic" in text) else text


class JsonFormatter(logging.Formatter):
    """One JSON object per record, on one line.

    Keys: ``time`` (UTC, ISO 8601 with milliseconds, ``Z``), ``level`` (lower case), ``logger``, ``message``,
    then the record's ``extra=`` fields (values that are not JSON become strings), and ``exception`` (the
    traceback) when the record has one. Bearer and basic credentials are scrubbed from the message and the
    traceback.
    """

    def format(self, record: logging.LogRecord) -> str:
        """The record as one JSON line."""
        data: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": scrub_credentials(record.getMessage()),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_") and key not in data:
                data[key] = value
        if record.exc_info:
            data["exception"] = scrub_credentials(self.formatException(record.exc_info))
        return json.dumps(data, default=str, ensure_ascii=False)


class _TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return scrub_credentials(super().format(record))


def log_to(
    stream: TextIO | None = None, *, level: int | str = logging.INFO, fmt: LogFormat = "text"
) -> logging.Handler:
    """Send portkit's records of ``level`` and above to ``stream`` (default stderr) as text or JSON lines.

    For scripts and notebooks that want to see what portkit does; returns the handler (remove it from
    ``logging.getLogger("portkit")`` to stop).
    """
    handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    handler.setFormatter(
        JsonFormatter() if fmt == "json" else _TextFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    )
    root = logging.getLogger("portkit")
    root.addHandler(handler)
    root.setLevel(level)
    return handler
