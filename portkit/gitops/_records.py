"""The bookkeeping of one tree translation: each object and what became of it, the records by file, and
small helpers over paths and plain values."""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

import attrs

from portkit.gitops._files import object_key
from portkit.gitops.kustomize import MISSING, DocRef, get_path
from portkit.model import ObjectRef
from portkit.translate import Change, ManualAction, Translation, TranslationWarning

__all__ = [
    "REMOVE",
    "Key",
    "Records",
    "TreeObject",
    "join_path",
    "match_outputs",
    "overlaps",
    "pointer_of",
    "prune_empty",
    "put",
    "show",
    "sort_key",
]

#: an edit that removes the value at its path
REMOVE = object()
#: (group, kind, namespace, name)
Key = tuple[str, str, str, str]


@attrs.define
class TreeObject:
    """A resource document (or ``kind: List`` item) and what its translation made of it."""

    ref: DocRef
    original: dict[str, Any]
    input: dict[str, Any]
    injected_namespace: bool = False
    expected: dict[str, Any] | None = None
    dropped: Change | None = None
    changes: list[Change] = attrs.field(factory=list)

    @property
    def key(self) -> Key:
        """The identity the translation sees (with the assumed namespace, if one was given)."""
        return object_key(self.input)


@attrs.define
class Records:
    """Changes, warnings and manual actions by file."""

    changes: dict[str, list[Change]] = attrs.field(factory=dict)
    warnings: dict[str, list[TranslationWarning]] = attrs.field(factory=dict)
    manual: dict[str, list[ManualAction]] = attrs.field(factory=dict)
    notes: dict[str, list[str]] = attrs.field(factory=dict)
    global_warnings: list[TranslationWarning] = attrs.field(factory=list)
    global_manual: list[ManualAction] = attrs.field(factory=list)

    def add_change(self, file: str, change: Change) -> None:
        """Record a change for a file (once)."""
        bucket = self.changes.setdefault(file, [])
        if change not in bucket:
            bucket.append(change)

    def add_warning(self, file: str | None, warning: TranslationWarning) -> None:
        """Record a warning for a file (None: for the whole tree), once."""
        bucket = self.warnings.setdefault(file, []) if file else self.global_warnings
        if not any(w.message == warning.message and w.ref == warning.ref for w in bucket):
            bucket.append(warning)

    def add_manual(self, file: str | None, action: ManualAction) -> None:
        """Record a manual action for a file (None: for the whole tree), once."""
        bucket = self.manual.setdefault(file, []) if file else self.global_manual
        if not any(a.message == action.message and a.ref == action.ref for a in bucket):
            bucket.append(action)

    def add_note(self, file: str, note: str) -> None:
        """Record a note for a file, once."""
        bucket = self.notes.setdefault(file, [])
        if note not in bucket:
            bucket.append(note)


def match_outputs(
    t: Translation, keys: list[Key]
) -> tuple[list[tuple[dict[str, Any] | None, Change | None]], list[tuple[dict[str, Any], list[Change]]]]:
    """The translated object (None: left out) and the drop record for each input key, and the objects the
    translation added (with their records)."""
    pool: dict[Key, list[dict[str, Any]]] = {}
    for obj in t.bundle.objects:
        pool.setdefault(object_key(obj), []).append(obj)
    summaries = {f"<{ObjectRef.from_obj(o)}>": object_key(o) for o in t.bundle.objects}
    first: dict[tuple[str, Key], Change] = {}
    adds: dict[Key, list[Change]] = {}
    for c in t.changes:
        if c.op in ("drop", "replace"):
            first.setdefault((c.op, c.ref.key), c)
        elif c.op == "add":
            adds.setdefault(c.ref.key, []).append(c)
    outputs: list[tuple[dict[str, Any] | None, Change | None]] = []
    for key in keys:
        dropped = first.get(("drop", key))
        replaced = first.get(("replace", key))
        found = pool.get(key)
        if found:
            outputs.append((found.pop(0), None))
            continue
        if replaced is not None and str(replaced.new) in summaries:
            new_key = summaries[str(replaced.new)]
            if pool.get(new_key):
                outputs.append((pool[new_key].pop(0), None))
                continue
        outputs.append((None, dropped))
    added = []
    for key, objs in pool.items():
        for obj in objs:
            added.append((obj, adds.get(key, [])))
    return outputs, added


def join_path(base_dir: str, entry: str) -> str | None:
    """``entry`` of a kustomization in ``base_dir`` as a repository path (None: outside it)."""
    from portkit.gitops.kustomize import _join as join

    return join(base_dir, entry)


def pointer_of(path: Sequence[Any]) -> str:
    """The JSON pointer of a path (``/`` for the root)."""
    from portkit.translate._base import pointer

    return pointer(list(path)) or "/"


def overlaps(a: str, b: Any) -> bool:
    """JSON pointer ``a`` is ``b``, above it or below it."""
    b_text = b if isinstance(b, str) else pointer_of(b)
    if b_text == "/":
        return True
    return a == b_text or b_text.startswith(a + "/") or a.startswith(b_text + "/")


def show(value: Any) -> str:
    """A value for a message (``absent`` for a missing one)."""
    from portkit.display import truncate

    if value is MISSING:
        return "absent"
    return truncate(repr(value), 80)


def sort_key(path: tuple[Any, ...]) -> tuple[Any, ...]:
    """A key ordering paths of mixed keys and indices (list items by index)."""
    return tuple((0, step, "") if isinstance(step, int) else (1, 0, str(step)) for step in path)


def prune_empty(obj: Any, path: tuple[Any, ...]) -> None:
    """Remove the mappings left empty at ``path`` and above it (not the document itself): an empty mapping
    in a strategic-merge patch changes nothing."""
    while path:
        value = get_path(obj, path)
        if not (isinstance(value, dict) and not value):
            return
        put(obj, path, REMOVE)
        path = path[:-1]


def put(obj: Any, path: tuple[Any, ...], value: Any) -> None:
    """Set (or with :data:`REMOVE`, remove) the value at ``path``, creating the mappings on the way."""
    cur = obj
    for i, step in enumerate(path[:-1]):
        nxt = (
            cur[step]
            if (isinstance(cur, dict) and step in cur)
            or (isinstance(cur, list) and isinstance(step, int) and step < len(cur))
            else None
        )
        if not isinstance(nxt, dict | list):
            nxt = [] if isinstance(path[i + 1], int) else {}
            cur[step] = nxt
        cur = nxt
    if not path:
        return
    if value is REMOVE:
        if isinstance(cur, dict):
            cur.pop(path[-1], None)
        elif isinstance(cur, list) and isinstance(path[-1], int) and path[-1] < len(cur):
            del cur[path[-1]]
    else:
        cur[path[-1]] = copy.deepcopy(value)
