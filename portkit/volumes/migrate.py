"""``migrate_volumes``: the volume step of a Migration (Velero backup in the source, restore in the target).

Resumable: the backup and restore names are written to ``workdir/velero.json`` before they are created, so
a second call waits for the same Velero objects instead of starting new ones.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs

from portkit import observe
from portkit.cluster import Cluster
from portkit.errors import ConfigurationError
from portkit.volumes.base import DataPath, ProgressCallback, StorageMapping
from portkit.volumes.result import VolumeMoveResult
from portkit.volumes.velero import VeleroMover, _dns_name

__all__ = ["CLAIM_RESOURCES", "migrate_volumes"]

log = logging.getLogger(__name__)

CLAIM_RESOURCES = ("persistentvolumeclaims", "persistentvolumes")
"""What the restore brings back when portkit applies the workloads itself (every data path but fs-backup)."""


def _load_state(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise ConfigurationError(
            f"Cannot read the volume step's state {path}: {exc}",
            hint="Delete the file to start the volume move afresh.",
        ) from exc
    return data if isinstance(data, dict) else {}


@observe.step("volumes")
def migrate_volumes(
    *,
    source: Cluster,
    target: Cluster,
    namespaces: Sequence[str],
    namespace_map: Mapping[str, str] | None = None,
    translation: StorageMapping | None = None,
    storage: StorageMapping | None = None,
    source_provider: str | None = None,
    target_provider: str | None = None,
    workdir: str | os.PathLike[str] | None = None,
    data_path: DataPath = "fs-backup",
    binary: str | os.PathLike[str] | None = None,
    namespace: str = "velero",
    target_namespace: str | None = None,
    selector: str | None = None,
    include_resources: Sequence[str] | None = None,
    existing_resource_policy: str | None = None,
    timeout: float = 1800.0,
    sync_timeout: float = 180.0,
    poll: float = 2.0,
    progress: ProgressCallback | None = None,
) -> VolumeMoveResult:
    """Back up ``namespaces`` in ``source`` with Velero and restore their claims into ``target``.

    Args:
        source / target: the clusters; both run a Velero server whose storage locations share one bucket.
        namespaces: the source namespaces to move; ``namespace_map``: their names in the target.
        translation / storage: the storage mapping (a Translation, or a ``{class: class}`` dict); a given
            ``storage`` wins over ``translation``.
        source_provider / target_provider: profile names (a native snapshot across providers is reported).
        data_path: ``fs-backup`` (default), ``data-mover``, ``native`` or ``none`` (see
            :data:`portkit.volumes.DATA_PATHS`).
        include_resources: what the restore brings back; default only claims and volumes
            (:data:`CLAIM_RESOURCES`) so the workloads come from portkit's apply, except for ``fs-backup``,
            whose data is restored into the pods Velero itself restores (then everything is restored and
            portkit's apply updates it).
        workdir: where the Velero object names are kept for resuming.
        binary, namespace, target_namespace, selector, existing_resource_policy, timeout, sync_timeout, poll,
            progress: as for :class:`~portkit.volumes.velero.VeleroMover` and its ``backup``/``restore``.
    """
    if include_resources is None:
        include_resources = () if data_path == "fs-backup" else CLAIM_RESOURCES
    mover = VeleroMover(
        source,
        target,
        binary=binary,
        namespace=namespace,
        target_namespace=target_namespace,
        data_path=data_path,
        source_provider=source_provider,
        target_provider=target_provider,
        timeout=timeout,
        sync_timeout=sync_timeout,
        poll=poll,
        include_resources=include_resources,
        existing_resource_policy=existing_resource_policy,
    )
    state_path = Path(workdir) / "velero.json" if workdir is not None else None
    state = _load_state(state_path) if state_path else {}
    backup = str(state.get("backup") or _dns_name("portkit", *list(namespaces)[:2], time.strftime("%Y%m%d%H%M%S")))
    restore = str(state.get("restore") or _dns_name(backup, "restore"))
    if state_path is not None:
        state_path.parent.mkdir(parents=True, exist_ok=True)
        state_path.write_text(json.dumps({"backup": backup, "restore": restore}, indent=2) + "\n")
    started = time.monotonic()
    mover.backup(namespaces, selector=selector, progress=progress, name=backup)
    result = mover.restore(
        backup,
        namespaces=namespaces,
        namespace_map=namespace_map,
        storage=storage if storage is not None else translation,
        selector=selector,
        progress=progress,
        name=restore,
    )
    return attrs.evolve(result, seconds=time.monotonic() - started)
