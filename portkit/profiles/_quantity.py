"""Kubernetes resource quantities (``10Gi``, ``500M``, ``1.5Ti``) as bytes and back."""

from __future__ import annotations

import math
import re

__all__ = ["format_gi", "parse_quantity"]

_SUFFIX = {
    "": 1,
    "k": 10**3,
    "M": 10**6,
    "G": 10**9,
    "T": 10**12,
    "P": 10**15,
    "E": 10**18,
    "Ki": 2**10,
    "Mi": 2**20,
    "Gi": 2**30,
    "Ti": 2**40,
    "Pi": 2**50,
    "Ei": 2**60,
    "m": 10**-3,
}
_RE = re.compile(r"^\s*([+]?[0-9]*\.?[0-9]+(?:[eE][+-]?[0-9]+)?)\s*([a-zA-Z]{0,2})\s*$")


def parse_quantity(text: str | int | float) -> float:
    """Bytes in a quantity string; ``ValueError`` when it is not a quantity."""
    if isinstance(text, int | float):
        return float(text)
    match = _RE.match(text)
    if not match:
        raise ValueError(f"not a Kubernetes quantity: {text!r}")
    number, suffix = match.groups()
    if suffix not in _SUFFIX:
        raise ValueError(f"unknown quantity suffix in {text!r}")
    return float(number) * _SUFFIX[suffix]


def format_gi(gib: float) -> str:
    """``12`` → ``"12Gi"`` (whole GiB, rounded up)."""
    return f"{math.ceil(gib - 1e-9)}Gi"
