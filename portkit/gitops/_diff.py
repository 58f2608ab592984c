"""A structural diff of two plain manifests as a short list of edit operations.

The operations name places in the *old* value (paths of dict keys and list indices as they were), so
they can be carried onto the text the old value was parsed from: a scalar replaced, keys added to or
removed from a mapping, items inserted into or removed from a sequence, a whole value replaced.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Sequence
from typing import Any

import attrs

__all__ = ["AddKeys", "InsertItems", "Op", "RemoveItem", "RemoveKey", "SetValue", "diff", "same"]

Path = tuple[str | int, ...]


@attrs.frozen
class SetValue:
    """Replace the value at ``path`` with ``value``."""

    path: Path
    value: Any


@attrs.frozen
class AddKeys:
    """Append ``items`` (key, value pairs) to the mapping at ``path``."""

    path: Path
    items: tuple[tuple[Any, Any], ...]


@attrs.frozen
class RemoveKey:
    """Remove ``key`` from the mapping at ``path``."""

    path: Path
    key: Any


@attrs.frozen
class InsertItems:
    """Insert ``values`` into the sequence at ``path`` before its old item ``index`` (its length: append)."""

    path: Path
    index: int
    values: tuple[Any, ...]


@attrs.frozen
class RemoveItem:
    """Remove the old item ``index`` of the sequence at ``path``."""

    path: Path
    index: int


Op = SetValue | AddKeys | RemoveKey | InsertItems | RemoveItem


def same(a: Any, b: Any) -> bool:
    """Equal values of equal types all the way down (``1``, ``1.0`` and ``True`` differ; so do ``1`` and ``"1"``)."""
    ta, tb = type(a), type(b)
    if ta is not tb:
        return False
    if ta is dict:
        if len(a) != len(b):
            return False
        # the order of keys is part of the text, not of the value
        return all(k in b and same(v, b[k]) for k, v in a.items())
    if ta is list:
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def _canon(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=repr, ensure_ascii=False) + type(value).__name__


def diff(old: Any, new: Any, path: Path = ()) -> list[Op]:
    """The operations that turn ``old`` into ``new`` (empty when they are the :func:`same`)."""
    ops: list[Op] = []
    _diff(old, new, path, ops)
    return ops


def _diff(old: Any, new: Any, path: Path, ops: list[Op]) -> None:
    if same(old, new):
        return
    if type(old) is dict and type(new) is dict:
        if not new or not old or not any(k in new for k in old):
            ops.append(SetValue(path, new))
            return
        for key in old:
            if key not in new:
                ops.append(RemoveKey(path, key))
        for key, value in old.items():
            if key in new:
                _diff(value, new[key], (*path, key), ops)
        added = tuple((k, v) for k, v in new.items() if k not in old)
        if added:
            ops.append(AddKeys(path, added))
        return
    if type(old) is list and type(new) is list:
        if not new or not old:
            ops.append(SetValue(path, new))
            return
        # aligned on the items that stayed: an item removed at the front and another added at the end
        # are a removal and an insertion, not every item changed in place
        _diff_lists(old, new, path, ops)
        return
    ops.append(SetValue(path, new))


def _diff_lists(old: Sequence[Any], new: Sequence[Any], path: Path, ops: list[Op]) -> None:
    matcher = difflib.SequenceMatcher(None, [_canon(v) for v in old], [_canon(v) for v in new], autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        if tag == "delete":
            ops.extend(RemoveItem(path, i) for i in range(i1, i2))
        elif tag == "insert":
            ops.append(InsertItems(path, i1, tuple(new[j1:j2])))
        else:  # replace: pair items up (changed in place), then remove or insert the rest
            pairs = min(i2 - i1, j2 - j1)
            for k in range(pairs):
                _diff(old[i1 + k], new[j1 + k], (*path, i1 + k), ops)
            ops.extend(RemoveItem(path, i) for i in range(i1 + pairs, i2))
            if j2 - j1 > pairs:
                ops.append(InsertItems(path, i2, tuple(new[j1 + pairs : j2])))


def apply_ops(value: Any, ops: Sequence[Op]) -> Any:
    """``value`` with the operations carried out (a new value; ``value`` is not changed). For tests and
    for the round-trip fallback, which works on ruamel's containers the same way."""
    import copy

    result = copy.deepcopy(value)
    return apply_ops_in_place(result, ops, lambda v: copy.deepcopy(v))


def apply_ops_in_place(root: Any, ops: Sequence[Op], convert: Any) -> Any:
    """Carry out ``ops`` on the containers of ``root`` (dict-like and list-like); new values go through
    ``convert`` first. Paths are those of the old value: removals and insertions in one sequence are done
    from its end so that earlier indices stay valid. Returns the (possibly replaced) root."""

    def at(path: Path) -> Any:
        cur = root
        for step in path:
            cur = cur[step]
        return cur

    removals: dict[Path, list[int]] = {}
    inserts: dict[Path, list[InsertItems]] = {}
    for op in ops:
        if isinstance(op, SetValue):
            if not op.path:
                root = convert(op.value)
            else:
                at(op.path[:-1])[op.path[-1]] = convert(op.value)
        elif isinstance(op, AddKeys):
            target = at(op.path)
            for k, v in op.items:
                target[k] = convert(v)
        elif isinstance(op, RemoveKey):
            del at(op.path)[op.key]
        elif isinstance(op, RemoveItem):
            removals.setdefault(op.path, []).append(op.index)
        else:
            inserts.setdefault(op.path, []).append(op)
    for seq_path in sorted({*removals, *inserts}, key=len, reverse=True):  # inner sequences first
        seq = at(seq_path)
        events: list[tuple[int, int, Any]] = []  # (old index, order, values); at one index: remove, then insert
        for index in removals.get(seq_path, []):
            events.append((index, 1, None))
        for ins in inserts.get(seq_path, []):
            events.append((ins.index, 0, ins.values))
        for index, order, values in sorted(events, key=lambda e: (e[0], e[1]), reverse=True):
            if order == 1:
                del seq[index]
            else:
                for offset, v in enumerate(values):
                    seq.insert(index + offset, convert(v))
    return root
