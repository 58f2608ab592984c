"""The result of a translation and its text, HTML and JSON renderings."""

from __future__ import annotations

import html
from collections import Counter
from typing import TYPE_CHECKING, Any

import attrs

from portkit.bundle import Bundle
from portkit.display import html_table, readable_path, text_table, truncate
from portkit.translate._base import Change, ManualAction, TranslationWarning

if TYPE_CHECKING:
    import pandas
    from matplotlib.axes import Axes

__all__ = ["Translation"]

#: The columns of :meth:`Translation.to_dataframe`.
FRAME_COLUMNS = (
    "record",
    "object",
    "kind",
    "group",
    "namespace",
    "name",
    "path",
    "op",
    "old",
    "new",
    "translator",
    "message",
    "confidence",
    "tier",
)


def _value(v: object) -> str:
    if v is None:
        return "-"
    if isinstance(v, str):
        return v
    return truncate(repr(v), 60)


@attrs.frozen(repr=False)
class Translation:
    """What :func:`portkit.translate` returns.

    Attributes:
        bundle: the translated bundle (the input bundle is left as it was).
        changes: every change: object, JSON pointer, old → new, translator, reason.
        warnings: translated with a loss, or kept though it may not work on the target.
        manual_actions: what a person must do on the target.
        source / target: the provider profiles' names.
        translators: the chain that ran, in order.
        input_count: objects in the input.
        residue: source-provider residue still in the output (``lint`` fills this in).
        source_evidence: when the source provider was detected (``lint`` without ``--from``), the weighed
            provider-bound items it was detected from.
    """

    bundle: Bundle
    changes: tuple[Change, ...]
    warnings: tuple[TranslationWarning, ...]
    manual_actions: tuple[ManualAction, ...]
    source: str
    target: str
    translators: tuple[str, ...] = ()
    input_count: int = 0
    mappings: dict[str, Any] = attrs.field(factory=dict)
    residue: tuple[str, ...] = ()
    source_evidence: tuple[str, ...] = ()

    @property
    def needs_attention(self) -> bool:
        """True when there are warnings, manual actions or residue for a person to look at."""
        return bool(self.warnings or self.manual_actions or self.residue)

    @property
    def dropped(self) -> list[Change]:
        """Objects left out of the translated bundle."""
        return [c for c in self.changes if c.op == "drop"]

    @property
    def added(self) -> list[Change]:
        """Objects the translation added."""
        return [c for c in self.changes if c.op == "add"]

    def changed_objects(self) -> int:
        """How many objects were changed, dropped, added or replaced."""
        return len({c.ref.key for c in self.changes})

    def by_translator(self) -> dict[str, int]:
        """Number of changes per translator."""
        return dict(Counter(c.translator for c in self.changes))

    def __repr__(self) -> str:
        return (
            f"<Translation {self.source}→{self.target}: {self.input_count} objects in, {len(self.bundle)} out, "
            f"{len(self.changes)} changes, {len(self.warnings)} warnings, {len(self.manual_actions)} manual actions>"
        )

    def summary(self) -> str:
        """One line."""
        return (
            f"Translated {self.input_count} objects {self.source} → {self.target}: {len(self.changes)} changes "
            f"in {self.changed_objects()} objects ({len(self.dropped)} dropped, {len(self.added)} added), "
            f"{len(self.warnings)} warnings, {len(self.manual_actions)} manual actions."
        )

    def to_text(self, *, max_changes: int = 200) -> str:
        """A report for terminals."""
        parts = [self.summary()]
        if self.manual_actions:
            parts.append("\nMANUAL ACTIONS (do these on the target):")
            parts += [f"  - {a}" for a in self.manual_actions]
        if self.warnings:
            parts.append("\nWARNINGS:")
            parts += [f"  - {w}" for w in self.warnings]
        if self.residue:
            parts.append(f"\nSTILL {self.source.upper()}-SPECIFIC:")
            parts += [f"  - {r}" for r in self.residue]
        if self.source_evidence:
            parts.append(f"\nSOURCE DETECTED AS {self.source.upper()} FROM:")
            parts += [f"  - {e}" for e in self.source_evidence[:20]]
        if self.changes:
            parts.append("\nCHANGES:")
            extra = self._extra_columns()
            rows = [
                (
                    str(c.ref),
                    readable_path(c.path) or "(object)",
                    c.op,
                    _value(c.old),
                    _value(c.new),
                    c.translator,
                    c.reason,
                    *(getattr(c, col) or "-" for col in extra),
                )
                for c in self.changes
            ]
            parts.append(
                text_table(
                    ["object", "path", "op", "old", "new", "translator", "reason", *extra], rows, max_rows=max_changes
                )
            )
        return "\n".join(parts)

    def _extra_columns(self) -> list[str]:
        """The ``confidence`` and ``tier`` columns, shown when a change has a value not verified or a tier change."""
        cols = []
        if any(c.confidence and c.confidence != "verified" for c in self.changes):
            cols.append("confidence")
        if any(c.tier for c in self.changes):
            cols.append("tier")
        return cols

    def __str__(self) -> str:
        return self.to_text()

    def _repr_html_(self) -> str:
        parts = [f"<p><strong>{html.escape(self.summary())}</strong></p>"]
        if self.manual_actions:
            parts.append(
                html_table(
                    ["object", "manual action", "translator"],
                    [(str(a.ref or ""), a.message, a.translator) for a in self.manual_actions],
                    title="Manual actions",
                )
            )
        if self.warnings:
            parts.append(
                html_table(
                    ["object", "warning", "translator"],
                    [(str(w.ref or ""), w.message, w.translator) for w in self.warnings],
                    title="Warnings",
                )
            )
        if self.residue:
            parts.append(html_table(["residue"], [(r,) for r in self.residue], title="Still source-specific"))
        if self.changes:
            extra = self._extra_columns()
            parts.append(
                html_table(
                    ["object", "path", "op", "old", "new", "translator", "reason", *extra],
                    [
                        (
                            str(c.ref),
                            readable_path(c.path) or "(object)",
                            c.op,
                            _value(c.old),
                            _value(c.new),
                            c.translator,
                            c.reason,
                            *(getattr(c, col) or "-" for col in extra),
                        )
                        for c in self.changes
                    ],
                    title="Changes",
                )
            )
        return "".join(parts)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form (no object bodies; Secret values are never recorded)."""
        return {
            "source": self.source,
            "target": self.target,
            "translators": list(self.translators),
            "mappings": self.mappings,
            "objects_in": self.input_count,
            "objects_out": len(self.bundle),
            "summary": {
                "changes": len(self.changes),
                "changed_objects": self.changed_objects(),
                "dropped": len(self.dropped),
                "added": len(self.added),
                "warnings": len(self.warnings),
                "manual_actions": len(self.manual_actions),
                "by_translator": self.by_translator(),
            },
            "needs_attention": self.needs_attention,
            "manual_actions": [a.to_dict() for a in self.manual_actions],
            "warnings": [w.to_dict() for w in self.warnings],
            "residue": list(self.residue),
            "source_evidence": list(self.source_evidence),
            "changes": [c.to_dict() for c in self.changes],
        }

    # -- notebooks ------------------------------------------------------------------------------------
    def to_dataframe(self) -> pandas.DataFrame:
        """One row per record (needs pandas: ``pip install 'portkit[notebook]'``).

        Column ``record`` says which: ``change`` (``path``, ``op``, ``old`` → ``new``; ``message`` is the
        reason), ``warning``, ``manual action`` (``message`` says what; no path, op or values) or ``residue``
        (what ``lint`` found still source-specific; only ``message``). The object is in ``object``, ``kind``,
        ``group``, ``namespace`` and ``name`` (empty for a record about the whole bundle). Secret values are
        redacted as in :meth:`to_dict`. Columns: :data:`FRAME_COLUMNS`.
        """
        from portkit.frames import dataframe, ref_columns

        rows: list[dict[str, Any]] = [
            {
                "record": "change",
                **ref_columns(c.ref),
                "path": c.path,
                "op": c.op,
                "old": c.old,
                "new": c.new,
                "translator": c.translator,
                "message": c.reason,
                "confidence": c.confidence,
                "tier": c.tier,
            }
            for c in self.changes
        ]
        for record, notes in (("warning", self.warnings), ("manual action", self.manual_actions)):
            rows += [
                {"record": record, **ref_columns(n.ref), "translator": n.translator, "message": n.message}
                for n in notes
            ]
        rows += [{"record": "residue", **ref_columns(None), "message": r} for r in self.residue]
        return dataframe(rows, FRAME_COLUMNS)

    def plot_changes(self, *, ax: Axes | None = None) -> Axes:
        """A chart of changes, warnings and manual actions per translator (needs matplotlib:
        ``pip install 'portkit[notebook]'``); returns the Axes."""
        from portkit.charts import plot_records

        records = [(c.translator, "changes") for c in self.changes]
        records += [(w.translator, "warnings") for w in self.warnings]
        records += [(a.translator, "manual actions") for a in self.manual_actions]
        return plot_records(records, title=f"Translation {self.source} → {self.target}: records per translator", ax=ax)
