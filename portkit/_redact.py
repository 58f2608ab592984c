"""URLs made safe to show: the user and password of a URL's authority are replaced by ``***``."""

from __future__ import annotations

import re

__all__ = ["redact_text", "redact_url"]

_URL_USERINFO = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*://)[^\s/?#@]*(?:/[^\s/?#@]*)*@")


def redact_url(url: str) -> str:
    """``url`` with any userinfo (``user:password@``) replaced by ``***@``; everything else unchanged.

    Works on any string, parseable or not (``https://u:p@host:6443/x`` -> ``https://***@host:6443/x``), so
    it is safe to call on whatever a kubeconfig holds before the URL reaches an error, a log line, a
    repr or a file. It errs on the side of hiding: an ``@`` in the path hides what precedes it too.
    """
    text = str(url)
    scheme_end = text.find("://")
    start = scheme_end + 3 if scheme_end >= 0 else 0
    end = len(text)
    for stop in "?#":  # not "/": a password with a raw "/" must not end the search early
        found = text.find(stop, start)
        if 0 <= found < end:
            end = found
    at = text.rfind("@", start, end)
    if at < 0:
        return text
    return f"{text[:start]}***@{text[at + 1 :]}"


def redact_text(text: str) -> str:
    """``text`` (an error message, a log line) with the userinfo of every ``scheme://user:pw@`` URL in it
    replaced by ``***@``; the rest of the text is left as it is."""
    return _URL_USERINFO.sub(r"\1***@", str(text))
