"""A YAML file as text cut into its documents, so that each document can be edited on its own and every
other byte of the file stays as it was."""

from __future__ import annotations

import re

import attrs

__all__ = ["Chunk", "split_documents"]

_MARKER = re.compile(r"^---(?=[ \t]|\r?$)", re.MULTILINE)
_END = re.compile(r"^\.\.\.(?=[ \t]|\r?$)")


@attrs.frozen
class Chunk:
    """A slice ``text[start:end]`` of a file: one document (``is_doc``) with the comments around it, or
    only comments and directives (before the first ``---``)."""

    start: int
    end: int
    is_doc: bool
    #: the chunk starts with a ``---`` line
    explicit: bool


def _has_content(text: str) -> bool:
    for line in text.splitlines():
        stripped = line.strip()
        if stripped and not stripped.startswith(("#", "%")) and not _END.match(line):
            return True
    return False


def split_documents(text: str) -> list[Chunk]:
    """Cut ``text`` at its ``---`` lines. Every chunk but the first starts with its ``---`` line and is a
    document (an empty one parses as null); the first is a document when it holds more than comments and
    directives. The chunks cover the text without gaps. Document markers at the start of a line cannot be
    inside a scalar of a valid file (block scalars are indented, quoted scalars may not hold them); a
    caller still compares the number of documents with what the parser found."""
    starts = [m.start() for m in _MARKER.finditer(text)]
    bounds = [0, *[s for s in starts if s > 0], len(text)]
    chunks = []
    for i in range(len(bounds) - 1):
        a, b = bounds[i], bounds[i + 1]
        explicit = text.startswith("---", a) and (a in starts)
        is_doc = explicit or _has_content(text[a:b])
        chunks.append(Chunk(a, b, is_doc, explicit))
    if not chunks:
        chunks.append(Chunk(0, 0, False, False))
    return chunks
