"""The pieces every translator uses: records (Change, warnings, manual actions), Item, Context, the protocol."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, ClassVar, Literal, Protocol, runtime_checkable

import attrs

from portkit.model import ObjectRef, fast_copy
from portkit.profiles import Profile
from portkit.redact import REDACTED, is_secret, is_secret_ref, parse_pointer, redact_at, redact_message
from portkit.translate.mappings import Mappings

__all__ = [
    "REDACTED",
    "BaseTranslator",
    "Change",
    "ChangeOp",
    "Context",
    "Item",
    "ManualAction",
    "TranslationWarning",
    "Translator",
    "fast_copy",
    "pointer",
]


#: What a :class:`Change` did: a field ``set`` or ``remove``\ d, the object ``drop``\ ped (left out), ``add``\ ed
#: (new) or ``replace``\ d by an object of another kind.
ChangeOp = Literal["set", "remove", "drop", "add", "replace"]


def pointer(path: Sequence[str | int]) -> str:
    """RFC 6901 JSON pointer of a path: ``("metadata", "annotations", "a/b")`` → ``/metadata/annotations/a~1b``."""
    if not path:
        return ""
    parts = []
    for p in path:
        text = str(p)
        if "~" in text or "/" in text:
            text = text.replace("~", "~0").replace("/", "~1")
        parts.append(text)
    return "/" + "/".join(parts)


def _summary(obj: Mapping[str, Any]) -> str:
    return f"<{ObjectRef.from_obj(obj)}>"


@attrs.frozen
class Change:
    """One recorded change: which object, which field (JSON pointer), old → new, which translator, why.

    ``op`` is ``set``, ``remove``, ``drop`` (the whole object was left out), ``add`` (a new object) or
    ``replace`` (the object became another kind). The values of a Secret (``data``, ``stringData``,
    annotations) are never recorded: a Change made for a Secret holds ``<redacted>`` in their place,
    however it was built (:func:`portkit.redact.redact_at`).
    ``confidence``: how sure the target profile is of the value written (``verified``, ``community``,
    ``unverified``; empty when not a profile value). ``tier``: a storage performance-tier change
    (``fast-ssd → ssd``; empty when none).
    """

    ref: ObjectRef
    path: str
    old: Any
    new: Any
    translator: str
    reason: str
    op: ChangeOp = "set"
    confidence: str = ""
    tier: str = ""

    def __attrs_post_init__(self) -> None:
        if self.ref.kind == "Secret" and is_secret_ref(self.ref) and self.op in ("set", "remove"):
            steps = parse_pointer(self.path)
            object.__setattr__(self, "old", redact_at(steps, self.old))
            object.__setattr__(self, "new", redact_at(steps, self.new))

    def __repr__(self) -> str:
        return f"<Change {self.ref} {self.path or '(object)'} {self.op} by {self.translator}>"

    def __str__(self) -> str:
        from portkit.display import readable_path, truncate

        where = f"{self.ref} {readable_path(self.path)}" if self.path else str(self.ref)
        if self.op in ("drop", "add", "replace"):
            what = {"drop": "left out", "add": "added", "replace": f"became {self.new}"}[self.op]
        elif self.op == "remove":
            what = f"removed {truncate(self.old, 60)}"
        else:
            what = f"{truncate(self.old, 40)} → {truncate(self.new, 60)}"
        return f"{where}: {what} ({self.translator}: {self.reason})"

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form."""
        return {
            "object": str(self.ref),
            "ref": self.ref.to_dict(),
            "path": self.path,
            "op": self.op,
            "old": self.old,
            "new": self.new,
            "translator": self.translator,
            "reason": self.reason,
            "confidence": self.confidence,
            "tier": self.tier,
        }


@attrs.frozen
class _Note:
    """A message about one object (or the whole bundle when ``ref`` is None) from one translator."""

    ref: ObjectRef | None
    message: str
    translator: str

    #: the key of ``message`` in :meth:`to_dict`
    _message_key: ClassVar[str] = "message"

    def __str__(self) -> str:
        return f"{self.ref}: {self.message}" if self.ref else self.message

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self}>"

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form."""
        return {
            "object": str(self.ref) if self.ref else None,
            self._message_key: self.message,
            "translator": self.translator,
        }


@attrs.frozen(repr=False)
class TranslationWarning(_Note):
    """Something translated with a loss, or left as it was though it may not work on the target."""


@attrs.frozen(repr=False)
class ManualAction(_Note):
    """What a person must do on the target (create a credential, a certificate, a DNS record, ...)."""

    _message_key: ClassVar[str] = "action"


class Context:
    """What translators share during one translation: profiles, mappings, the input, the records."""

    def __init__(
        self,
        source: Profile,
        target: Profile,
        mappings: Mappings,
        objects: Sequence[dict[str, Any]],
        rules: Any = None,
    ) -> None:
        self.source = source
        self.target = target
        self.mappings = mappings
        self.objects = objects
        self.rules = rules
        self.changes: list[Change] = []
        self.warnings: list[TranslationWarning] = []
        self.manual_actions: list[ManualAction] = []
        self.translator = ""
        self.state: dict[str, Any] = {}
        self._index: dict[tuple[str, str, str], dict[str, Any]] | None = None
        self._seen: set[tuple[str, Any, str]] = set()

    def find(self, kind: str, name: str, namespace: str = "") -> dict[str, Any] | None:
        """An input object by kind, name and namespace (for cross-object lookups)."""
        if self._index is None:
            index: dict[tuple[str, str, str], dict[str, Any]] = {}
            for obj in self.objects:
                meta = obj.get("metadata") or {}
                index[(str(obj.get("kind")), str(meta.get("namespace") or ""), str(meta.get("name")))] = obj
            self._index = index
        return self._index.get((kind, namespace, name))

    def of_kind(self, *kinds: str) -> Iterable[dict[str, Any]]:
        """Input objects of the given kinds."""
        wanted = set(kinds)
        return (o for o in self.objects if o.get("kind") in wanted)

    def _safe(self, ref: ObjectRef | None, message: str) -> str:
        """``message`` without the values of the input Secret ``ref`` names (if it names one)."""
        if ref is not None and ref.kind == "Secret" and is_secret_ref(ref):
            obj = self.find("Secret", ref.name, ref.namespace)
            if obj is not None:
                return redact_message(message, obj)
        return message

    def warn(self, ref: ObjectRef | None, message: str) -> None:
        """Record a warning (deduplicated); the values of a Secret it is about are redacted."""
        message = self._safe(ref, message)
        key = ("w", ref.key if ref is not None else None, message)
        if key not in self._seen:
            self._seen.add(key)
            self.warnings.append(TranslationWarning(ref, message, self.translator))

    def manual(self, ref: ObjectRef | None, message: str) -> None:
        """Record a manual action (deduplicated); the values of a Secret it is about are redacted."""
        message = self._safe(ref, message)
        key = ("m", ref.key if ref is not None else None, message)
        if key not in self._seen:
            self._seen.add(key)
            self.manual_actions.append(ManualAction(ref, message, self.translator))


_MISSING = object()


class Item:
    """One object going through the chain. Translators read ``obj`` and change it only through the
    helpers (``set``, ``remove``, ``edit``), which copy the input on first write and record a :class:`Change`.
    """

    __slots__ = ("_input", "_mine", "_ref", "added", "ctx", "dropped", "obj", "owned")

    def __init__(self, obj: dict[str, Any], ctx: Context, *, owned: bool = False) -> None:
        self.obj = obj
        self._input = obj  # as it came in: its secret values are redacted from messages too
        self.ctx = ctx
        self.owned = owned
        self.dropped = False
        self.added: list[dict[str, Any]] = []
        self._ref: ObjectRef | None = None
        # containers copied by this item (kept alive so that their ids stay unique)
        self._mine: dict[int, Any] = {}

    @property
    def kind(self) -> str:
        """The object's kind."""
        return str(self.obj.get("kind") or "")

    @property
    def ref(self) -> ObjectRef:
        """The object's reference (as it is now)."""
        if self._ref is None:
            self._ref = ObjectRef.from_obj(self.obj)
        return self._ref

    @property
    def namespace(self) -> str:
        """The object's namespace ("" when cluster-scoped)."""
        return str((self.obj.get("metadata") or {}).get("namespace") or "")

    @property
    def name(self) -> str:
        """The object's name."""
        return str((self.obj.get("metadata") or {}).get("name") or "")

    def edit(self) -> dict[str, Any]:
        """The whole object, deep-copied first if it is still the caller's (copy on write)."""
        if not self.owned:
            self.obj = fast_copy(self.obj)
            self.owned = True
            self._mine.clear()
        return self.obj

    def own(self, path: Sequence[str | int], *, create: bool = True) -> Any:
        """The container at ``path``, safe to change in place.

        Only the dicts and lists along the path are copied (shallow), everything else stays shared
        with the input, so a change costs what its path costs, not what the object costs. Missing
        dicts are created when ``create`` (else None is returned).
        """
        mine = self._mine
        owned = self.owned
        cur: Any = self.obj
        if not owned and id(cur) not in mine:
            cur = dict(cur)
            mine[id(cur)] = cur
            self.obj = cur
        n = len(path)
        for i in range(n):
            step = path[i]
            tc = type(cur)
            if tc is dict:
                nxt = cur.get(step)
            elif tc is list and type(step) is int and -len(cur) <= step < len(cur):
                nxt = cur[step]
            else:
                nxt = None
            tn = type(nxt)
            if tn is not dict and tn is not list:
                if not create:
                    return None
                nxt = [] if i + 1 < n and type(path[i + 1]) is int else {}
                cur[step] = nxt
                mine[id(nxt)] = nxt
            elif not owned and id(nxt) not in mine:
                nxt = dict(nxt) if tn is dict else list(nxt)
                cur[step] = nxt
                mine[id(nxt)] = nxt
            cur = nxt
        return cur

    def _safe(self, message: str) -> str:
        """``message`` without this object's secret values (for Secrets; see :func:`portkit.redact.redact_message`)."""
        if self.obj.get("kind") != "Secret" and self._input.get("kind") != "Secret":
            return message  # the common case, kept cheap
        for obj in (self.obj, self._input):
            if is_secret(obj):
                message = redact_message(message, obj)
        return message

    def record(
        self,
        path: Sequence[str | int],
        old: Any,
        new: Any,
        reason: str,
        op: ChangeOp = "set",
        *,
        confidence: str = "",
        tier: str = "",
    ) -> None:
        """Record a change made by hand (after :meth:`edit`); Secret values are redacted in the record."""
        self.ctx.changes.append(
            Change(self.ref, pointer(path), old, new, self.ctx.translator, self._safe(reason), op, confidence, tier)
        )

    def get(self, *path: str | int, default: Any = None) -> Any:
        """Read a nested value."""
        cur: Any = self.obj
        try:
            for step in path:
                t = type(cur)
                if t is dict or (t is list and type(step) is int):
                    cur = cur[step]
                else:
                    return default
        except (KeyError, IndexError):
            return default
        return cur

    def _parent(self, path: Sequence[str | int], create: bool) -> Any:
        return self.own(path[:-1], create=create)

    def set(self, path: Sequence[str | int], value: Any, reason: str, *, confidence: str = "", tier: str = "") -> bool:
        """Set a nested value (creating dicts on the way); records a Change (with the target profile's
        ``confidence`` in the value and a performance ``tier`` change, when given). False when already equal."""
        old = self.get(*path, default=_MISSING)
        if old is not _MISSING and old == value:
            return False
        parent = self._parent(path, create=True)
        parent[path[-1]] = value
        recorded = value if type(value) not in (dict, list) else fast_copy(value)
        self.record(path, None if old is _MISSING else old, recorded, reason, "set", confidence=confidence, tier=tier)
        return True

    def remove(self, path: Sequence[str | int], reason: str, *, prune: bool = True) -> bool:
        """Remove a nested value (and, with ``prune``, dicts left empty above it); records a Change."""
        old = self.get(*path, default=_MISSING)
        if old is _MISSING:
            return False
        parent = self._parent(path, create=False)
        del parent[path[-1]]
        self.record(path, old, None, reason, "remove")
        if prune:
            for depth in range(len(path) - 1, 1, -1):
                sub = path[:depth]
                value = self.get(*sub)
                if isinstance(value, dict) and not value:
                    holder = self._parent(sub, create=False)
                    del holder[sub[-1]]
                else:
                    break
        return True

    def drop(self, reason: str) -> None:
        """Leave the whole object out of the translated bundle."""
        self.dropped = True
        self.ctx.changes.append(Change(self.ref, "", f"<{self.ref}>", None, self.ctx.translator, reason, "drop"))

    def replace(self, new_obj: dict[str, Any], reason: str) -> None:
        """Turn the object into another one (e.g. DeploymentConfig → Deployment)."""
        old_ref = self.ref
        self.ctx.changes.append(
            Change(old_ref, "", _summary(self.obj), _summary(new_obj), self.ctx.translator, reason, "replace")
        )
        self.obj = new_obj
        self.owned = True
        self._ref = None

    def add(self, new_obj: dict[str, Any], reason: str) -> None:
        """Add a new object to the bundle (it goes through the rest of the chain)."""
        self.added.append(new_obj)
        self.ctx.changes.append(
            Change(ObjectRef.from_obj(new_obj), "", None, _summary(new_obj), self.ctx.translator, reason, "add")
        )

    def warn(self, message: str) -> None:
        """Record a warning about this object (a Secret's values are redacted in it)."""
        self.ctx.warn(self.ref, self._safe(message))

    def manual(self, message: str) -> None:
        """Record a manual action about this object (a Secret's values are redacted in it)."""
        self.ctx.manual(self.ref, self._safe(message))


@runtime_checkable
class Translator(Protocol):
    """A translator: a named, ordered step that rewrites objects of some kinds.

    ``kinds`` is the set of kinds it looks at (None: every object). ``translate`` changes the item only
    through the Item helpers, so every change is recorded. Plugins usually subclass :class:`BaseTranslator`.
    """

    @property
    def name(self) -> str:
        """Unique name (a registered translator with a built-in's name replaces it)."""

    @property
    def order(self) -> int:
        """Position in the chain (built-ins: 10 openshift ... 100 rules)."""

    @property
    def kinds(self) -> frozenset[str] | None:
        """Kinds looked at (None: every object)."""

    def begin(self, ctx: Context) -> None:
        """Called once before any object, with the whole input in ``ctx.objects``."""

    def translate(self, item: Item, ctx: Context) -> None:
        """Translate one object."""

    def end(self, ctx: Context) -> list[dict[str, Any]]:
        """Called once after every object; returns objects to add (recorded by the translator)."""


class BaseTranslator:
    """Convenience base class: no-op ``begin``/``end``, every kind."""

    name: ClassVar[str] = "base"
    order: ClassVar[int] = 500
    kinds: ClassVar[frozenset[str] | None] = None
    description: ClassVar[str] = ""

    def begin(self, ctx: Context) -> None:
        """Nothing to prepare."""

    def translate(self, item: Item, ctx: Context) -> None:  # pragma: no cover - abstract
        """Translate one object."""
        raise NotImplementedError

    def end(self, ctx: Context) -> list[dict[str, Any]]:
        """Nothing to add."""
        return []

    def __repr__(self) -> str:
        return f"<Translator {self.name} (order {self.order})>"
