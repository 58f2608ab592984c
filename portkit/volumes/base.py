"""The volume-mover protocol and what every mover shares: data paths, progress, storage mappings.

A *volume mover* moves PersistentVolumeClaims (their objects and, where the data path allows, their
data) from a source cluster to a target cluster: back up in the source, restore in the target with the
namespace map and the storage mapping of a translation. :class:`portkit.volumes.velero.VeleroMover` is the
implementation portkit ships.

The storage mapping is accepted as a plain dict (``{"gp3": "ionos-enterprise-ssd"}``) or as anything with
the shape of :class:`portkit.translate.Translation` (``.changes`` whose items have ``ref``, ``path``,
``old``, ``new``, ``translator``): this module does not import the translators.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Literal, Protocol, runtime_checkable

import attrs

from portkit.errors import ConfigurationError

if TYPE_CHECKING:
    from portkit.volumes.result import VolumeMoveResult

__all__ = [
    "DATA_PATHS",
    "ClaimChange",
    "DataPath",
    "ProgressCallback",
    "StorageMapping",
    "VolumeMover",
    "VolumeProgress",
    "ambiguous_classes",
    "claim_changes",
    "storage_class_mapping",
]

#: How volume data travels (the values of :data:`DATA_PATHS`, which says what each one does).
DataPath = Literal["data-mover", "fs-backup", "native", "none"]
DATA_PATHS: tuple[str, ...] = ("data-mover", "fs-backup", "native", "none")
"""How volume data travels:

- ``data-mover``: CSI snapshot, then Velero's data mover copies it to the object store (``--snapshot-move-data``);
  portable across providers (needs CSI snapshots in the source and node-agent pods).
- ``fs-backup``: file-system backup of pod volumes by the node-agent (``--default-volumes-to-fs-backup``);
  portable across providers (needs the volumes mounted by running pods).
- ``native``: the provider's own volume snapshots (``--snapshot-volumes``); only restorable on the same
  provider (portkit warns when source and target providers differ).
- ``none``: objects only (PVCs re-provisioned empty by the target's StorageClass).
"""


class StorageChanges(Protocol):
    """What a storage mapping can be read from besides a dict: a :class:`portkit.Translation` (its ``changes``
    of the ``storage`` translator, and its ``mappings``)."""

    @property
    def changes(self) -> Sequence[object]:
        """The recorded changes."""
        ...


StorageMapping = Mapping[str, str] | StorageChanges
"""A ``{source class: target class}`` dict, or a Translation (its storage changes are read)."""

_QUANTITY = re.compile(r"^[0-9]+(\.[0-9]+)?([KMGTPE]i?|[mkMGTPE]|e[0-9]+)?$")
_CLASS_PATH = re.compile(r"^/spec/storageClassName$|^/spec/volumeClaimTemplates/(\d+)/spec/storageClassName$")
_SIZE_PATH = re.compile(
    r"^/spec/resources/requests/storage$|^/spec/volumeClaimTemplates/(\d+)/spec/resources/requests/storage$"
)


@attrs.frozen
class VolumeProgress:
    """One progress report while a backup or restore runs (items done out of total, as Velero counts them)."""

    operation: str  # "backup" or "restore"
    name: str
    phase: str
    done: int
    total: int

    def __str__(self) -> str:
        total = str(self.total) if self.total else "?"
        return f"{self.operation} {self.name}: {self.phase or 'New'} ({self.done}/{total} items)"


#: Called with a :class:`VolumeProgress` whenever a Velero backup or restore changes phase or counts items.
ProgressCallback = Callable[[VolumeProgress], None]


@attrs.frozen
class ClaimChange:
    """A change the translation made to a PVC (or to the claims a StatefulSet template creates).

    ``name_regex`` matches the claim names in the *source* namespace: ``^name$`` for a PVC, ``^tpl-sts-[0-9]+$``
    for the claims of StatefulSet ``sts``'s template ``tpl``.
    """

    namespace: str
    name_regex: str
    storage_class: str | None = None
    size: str | None = None
    source: str = ""  # the object the change came from, e.g. "PersistentVolumeClaim shop/data"

    def merge(self, other: ClaimChange) -> ClaimChange:
        """This change with the fields ``other`` sets."""
        return attrs.evolve(
            self,
            storage_class=other.storage_class or self.storage_class,
            size=other.size or self.size,
        )


@runtime_checkable
class VolumeMover(Protocol):
    """Moves the volumes of some namespaces from one cluster to another.

    ``move`` backs up in the source and restores into the target; it raises
    :class:`portkit.errors.VolumeMoveError` when either does not complete, and returns a
    :class:`portkit.volumes.VolumeMoveResult` listing every volume (source class/size → target class/size,
    phase).
    """

    name: str

    def move(
        self,
        namespaces: Sequence[str],
        *,
        namespace_map: Mapping[str, str] | None = None,
        storage: StorageMapping | None = None,
        selector: str | None = None,
        progress: ProgressCallback | None = None,
    ) -> VolumeMoveResult:
        """Back up ``namespaces`` in the source and restore them into the target."""
        ...


def _changes_of(source: object) -> Sequence[object]:
    changes = getattr(source, "changes", None)
    if changes is None:
        raise ConfigurationError(
            f"Cannot read a storage mapping from {type(source).__name__}.",
            hint='Pass a dict such as {"gp3": "ionos-enterprise-ssd"} or the Translation portkit.translate() returned.',
        )
    return list(changes)


def _kind_ns_name(change: object) -> tuple[str, str, str]:
    ref = getattr(change, "ref", None)
    return (
        str(getattr(ref, "kind", "") or ""),
        str(getattr(ref, "namespace", "") or ""),
        str(getattr(ref, "name", "") or ""),
    )


def storage_class_mapping(source: StorageMapping | None) -> dict[str, str]:
    """``{source class: target class}`` from a dict or from a Translation's storage changes.

    From a Translation: every change of the ``storage`` translator to a ``storageClassName`` (of a PVC or a
    StatefulSet template) with a string old and new value, plus ``translation.mappings["storage_classes"]``
    when present. A source class mapped to two different targets is left out (the per-claim resource
    modifier still carries each claim's class) — see :func:`ambiguous_classes`.
    """
    if source is None:
        return {}
    if isinstance(source, Mapping):
        mapping: dict[str, str] = {}
        for old, new in source.items():
            if not isinstance(old, str) or not isinstance(new, str) or not old or not new:
                raise ConfigurationError(
                    f"Storage class mapping entries must be non-empty strings, got {old!r}: {new!r}.",
                    hint='Use {"source-class": "target-class", ...}.',
                )
            mapping[old] = new
        return mapping
    seen: dict[str, set[str]] = {}
    extra = getattr(source, "mappings", None)
    if isinstance(extra, Mapping):
        for old, new in dict(extra.get("storage_classes") or {}).items():
            if isinstance(old, str) and isinstance(new, str):
                seen.setdefault(old, set()).add(new)
    for change in _changes_of(source):
        path = str(getattr(change, "path", "") or "")
        if getattr(change, "translator", "storage") != "storage" or not _CLASS_PATH.match(path):
            continue
        was, now = getattr(change, "old", None), getattr(change, "new", None)
        if isinstance(was, str) and isinstance(now, str) and was and now and was != now:
            seen.setdefault(was, set()).add(now)
    return {old: next(iter(news)) for old, news in sorted(seen.items()) if len(news) == 1}


def ambiguous_classes(source: StorageMapping | None) -> list[str]:
    """Source classes a Translation maps to more than one target class (not usable in one ConfigMap)."""
    if source is None or isinstance(source, Mapping):
        return []
    seen: dict[str, set[str]] = {}
    for change in _changes_of(source):
        path = str(getattr(change, "path", "") or "")
        old, new = getattr(change, "old", None), getattr(change, "new", None)
        if (
            getattr(change, "translator", "storage") == "storage"
            and _CLASS_PATH.match(path)
            and isinstance(old, str)
            and isinstance(new, str)
            and old != new
        ):
            seen.setdefault(old, set()).add(new)
    return sorted(old for old, news in seen.items() if len(news) > 1)


def _template_name(source: object, namespace: str, sts: str, index: int) -> str | None:
    bundle = getattr(source, "bundle", None)
    getter = getattr(bundle, "get", None)
    if getter is None:
        return None
    try:
        obj = getter("StatefulSet", sts, namespace, group="apps")
    except TypeError:
        obj = getter("StatefulSet", sts, namespace)
    templates = ((obj or {}).get("spec") or {}).get("volumeClaimTemplates") or []
    if 0 <= index < len(templates):
        name = (templates[index].get("metadata") or {}).get("name")
        return str(name) if name else None
    return None


def claim_changes(source: StorageMapping | None) -> list[ClaimChange]:
    """Per-claim class and size changes of a Translation (empty for a plain dict mapping).

    PVC changes become one :class:`ClaimChange` per claim; StatefulSet ``volumeClaimTemplates`` changes one per
    template, matching the claims the StatefulSet created (``<template>-<statefulset>-<ordinal>``) when the
    translation's bundle names the template.
    """
    if source is None or isinstance(source, Mapping):
        return []
    found: dict[tuple[str, str], ClaimChange] = {}
    for change in _changes_of(source):
        if getattr(change, "translator", "storage") != "storage":
            continue
        kind, namespace, name = _kind_ns_name(change)
        path = str(getattr(change, "path", "") or "")
        new = getattr(change, "new", None)
        if not isinstance(new, str) or not new:
            continue
        class_match, size_match = _CLASS_PATH.match(path), _SIZE_PATH.match(path)
        if not (class_match or size_match):
            continue
        if size_match and not _QUANTITY.match(new):
            continue
        match = class_match or size_match
        assert match is not None
        if kind == "PersistentVolumeClaim" and match.group(1) is None:
            regex, origin = f"^{re.escape(name)}$", f"PersistentVolumeClaim {namespace}/{name}"
        elif kind == "StatefulSet" and match.group(1) is not None:
            template = _template_name(source, namespace, name, int(match.group(1)))
            if template is None:
                continue
            regex = f"^{re.escape(template)}-{re.escape(name)}-[0-9]+$"
            origin = f"StatefulSet {namespace}/{name} template {template}"
        else:
            continue
        one = ClaimChange(
            namespace=namespace,
            name_regex=regex,
            source=origin,
            storage_class=new if class_match else None,
            size=new if size_match else None,
        )
        key = (namespace, regex)
        found[key] = found[key].merge(one) if key in found else one
    return list(found.values())
