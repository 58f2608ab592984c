"""Durations as people and kubectl write them: ``90``, ``90s``, ``10m``, ``1h30m``, ``1.5h``, ``500ms``."""

from __future__ import annotations

import math
import re

from portkit.errors import ConfigurationError

__all__ = ["format_duration", "parse_duration"]

_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ms|s|m|h|d)")
_NUMBER = re.compile(r"\d+(?:\.\d*)?|\.\d+")


def parse_duration(value: str | float, *, what: str = "duration") -> float:
    """Seconds in ``value``: a number of seconds (``600``, ``2.5``) or a Go-style duration, one or more
    number+unit parts with units ``ms``, ``s``, ``m``, ``h``, ``d`` (``90s``, ``10m``, ``1h30m``, ``1.5h``).

    Raises:
        ConfigurationError: not a duration, or negative.
    """
    if isinstance(value, int | float) and not isinstance(value, bool):
        seconds = float(value)
    else:
        text = str(value).strip().lower()
        if _NUMBER.fullmatch(text):
            seconds = float(text)
        else:
            parts = _PART.findall(text)
            if not text or "".join(n + u for n, u in parts) != text:
                raise ConfigurationError(
                    f"{what} {value!r} is not a duration.",
                    hint="Give seconds (600) or a duration such as 90s, 10m, 1h30m.",
                )
            seconds = sum(float(n) * _UNITS[u] for n, u in parts)
    if not math.isfinite(seconds) or seconds < 0:
        raise ConfigurationError(f"{what} {value!r} must be zero or more seconds.")
    return seconds


def format_duration(seconds: float) -> str:
    """``5400`` → ``1h30m``, ``90`` → ``1m30s``, ``2.5`` → ``2.5s`` (what :func:`parse_duration` reads back)."""
    if seconds < 60 and seconds != int(seconds):
        return f"{seconds:g}s"
    whole = round(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    text = (f"{hours}h" if hours else "") + (f"{minutes}m" if minutes else "") + (f"{secs}s" if secs else "")
    return text or "0s"
