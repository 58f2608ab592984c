"""What a volume move returns: per-volume rows and the backup/restore outcome."""

from __future__ import annotations

import html
from typing import Any

import attrs

from portkit.display import html_table, text_table

__all__ = ["VolumeMoveResult", "VolumeRow"]


@attrs.frozen
class VolumeRow:
    """One PersistentVolumeClaim: where it was, what it became on the target, and its phase there.

    ``phase`` is the target claim's ``status.phase`` (``Bound``, ``Pending``, ...) or ``Missing`` when the
    restore did not create it.
    """

    source_namespace: str
    name: str
    source_class: str | None
    source_size: str | None
    target_namespace: str
    target_class: str | None = None
    target_size: str | None = None
    phase: str = "Missing"
    volume: str | None = None  # the bound PersistentVolume on the target

    @property
    def changed(self) -> bool:
        """True when the class or size differs between source and target."""
        return (self.source_class, self.source_size) != (self.target_class, self.target_size)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form."""
        return attrs.asdict(self)

    def cells(self) -> tuple[str, ...]:
        """Table cells: claim, source class/size → target class/size, phase."""
        src = f"{self.source_namespace}/{self.name}"
        dst = f"{self.target_namespace}/{self.name}"
        return (
            src if src == dst else f"{src} → {dst}",
            f"{self.source_class or '-'} {self.source_size or '-'}",
            f"{self.target_class or '-'} {self.target_size or '-'}",
            self.phase,
        )


@attrs.frozen
class VolumeMoveResult:
    """The outcome of moving volumes with Velero.

    Attributes:
        backup / restore: the Velero object names.
        backup_phase / restore_phase: their final phases (``Completed`` when this object is returned).
        data_path: ``data-mover``, ``fs-backup``, ``native`` or ``none``.
        namespace_map: source namespace → target namespace.
        storage_classes: the class mapping written to the change-storage-class ConfigMap.
        volumes: one :class:`VolumeRow` per claim in the backed-up namespaces.
        backup_warnings / restore_warnings: Velero's warning counts.
        items_backed_up / items_restored: Velero's item counts.
        messages: portkit's notes (e.g. native snapshots across providers).
        seconds: wall time of the move.
        bytes_backed_up / bytes_restored: volume data Velero moved (file-system backup or data mover; 0 for
            the data paths ``none`` and ``native``), from its per-volume objects' progress.
    """

    backup: str
    restore: str | None
    backup_phase: str
    restore_phase: str | None
    data_path: str
    namespace_map: dict[str, str] = attrs.field(factory=dict)
    storage_classes: dict[str, str] = attrs.field(factory=dict)
    volumes: tuple[VolumeRow, ...] = ()
    backup_warnings: int = 0
    restore_warnings: int = 0
    items_backed_up: int = 0
    items_restored: int = 0
    messages: tuple[str, ...] = ()
    seconds: float = 0.0
    bytes_backed_up: int = 0
    bytes_restored: int = 0

    @property
    def ok(self) -> bool:
        """True when every volume exists on the target and none is Lost or Missing."""
        return all(v.phase not in ("Missing", "Lost") for v in self.volumes)

    @property
    def needs_attention(self) -> bool:
        """True when Velero reported warnings, portkit has notes, or a volume is missing on the target."""
        return bool(self.backup_warnings or self.restore_warnings or self.messages or not self.ok)

    def summary(self) -> str:
        """One line."""
        restored = f"restore {self.restore} {self.restore_phase}" if self.restore else "no restore"
        return (
            f"Velero backup {self.backup} {self.backup_phase} ({self.items_backed_up} items, "
            f"{self.backup_warnings} warnings), {restored} ({self.items_restored} items, "
            f"{self.restore_warnings} warnings); {len(self.volumes)} volumes, data path {self.data_path}."
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form."""
        data = attrs.asdict(self, recurse=False)
        data["volumes"] = [v.to_dict() for v in self.volumes]
        data["messages"] = list(self.messages)
        data["ok"] = self.ok
        return data

    def to_text(self) -> str:
        """A report for terminals."""
        parts = [self.summary()]
        if self.messages:
            parts += ["NOTES:", *[f"  - {m}" for m in self.messages]]
        if self.volumes:
            parts.append(
                text_table(
                    ["claim", "source class/size", "target class/size", "phase"], [v.cells() for v in self.volumes]
                )
            )
        return "\n".join(parts)

    def __str__(self) -> str:
        return self.to_text()

    def __repr__(self) -> str:
        return (
            f"<VolumeMoveResult backup={self.backup} {self.backup_phase} restore={self.restore} "
            f"{self.restore_phase} volumes={len(self.volumes)} data_path={self.data_path}>"
        )

    def _repr_html_(self) -> str:
        parts = [f"<p><strong>{html.escape(self.summary())}</strong></p>"]
        if self.messages:
            parts.append("<ul>" + "".join(f"<li>{html.escape(m)}</li>" for m in self.messages) + "</ul>")
        parts.append(
            html_table(
                ["claim", "source class/size", "target class/size", "phase"],
                [v.cells() for v in self.volumes],
                title="Volumes",
            )
        )
        return "".join(parts)
