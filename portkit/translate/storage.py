"""Storage: PVCs, StatefulSet volumeClaimTemplates, StorageClasses, snapshot classes, PVs.

Class choice, in order: the user's ``storage_classes`` mapping; a class the target already has keeps its
name; a custom StorageClass in the bundle keeps its name (the object itself is re-created for the target's
provisioner); a source class is mapped by performance tier to the target's class of that tier. Sizes grow
to the target's minimum and granularity (with a warning). Access modes the target class cannot serve are a
manual action naming the claim, never a silent mapping.
"""

from __future__ import annotations

import math
from typing import Any

from portkit.profiles import StorageClassSpec, StorageProfile, format_gi, parse_quantity
from portkit.translate._base import BaseTranslator, Context, Item

__all__ = ["StorageTranslator"]

_DEFAULT_ANN = "storageclass.kubernetes.io/is-default-class"
_BETA_DEFAULT_ANN = "storageclass.beta.kubernetes.io/is-default-class"
_PVC_CONTROLLER_ANNOTATIONS = (
    "volume.beta.kubernetes.io/storage-provisioner",
    "volume.kubernetes.io/storage-provisioner",
    "volume.kubernetes.io/selected-node",
    "pv.kubernetes.io/bind-completed",
    "pv.kubernetes.io/bound-by-controller",
    "volume.beta.kubernetes.io/storage-class",
)


class _Plan:
    """Per-translation decisions about class names (computed once in ``begin``)."""

    def __init__(self) -> None:
        self.custom: dict[str, dict[str, Any]] = {}  # custom StorageClass objects in the bundle, by name
        self.tiers: dict[str, str] = {}  # class name -> tier (source side)
        self.in_bundle: set[str] = set()  # every StorageClass name the bundle defines


class StorageTranslator(BaseTranslator):
    """Maps storage classes, sizes, access modes and snapshot classes to the target's storage."""

    name = "storage"
    order = 40
    kinds = frozenset(
        {
            "PersistentVolumeClaim",
            "StatefulSet",
            "StorageClass",
            "VolumeSnapshotClass",
            "VolumeSnapshot",
            "VolumeSnapshotContent",
            "PersistentVolume",
        }
    )
    description = "storage classes (by tier), sizes, access modes, snapshot classes, PVs"

    def begin(self, ctx: Context) -> None:
        """Look at the whole input once before the objects go through."""
        plan = _Plan()
        src, dst = ctx.source.storage, ctx.target.storage
        for sc in ctx.of_kind("StorageClass"):
            name = str((sc.get("metadata") or {}).get("name") or "")
            prov = str(sc.get("provisioner") or "")
            plan.in_bundle.add(name)
            if dst is not None and dst.get_class(name) is not None:
                continue
            if src is not None and src.get_class(name) is not None:
                continue
            if src is not None and prov in src.provisioners:
                plan.custom[name] = sc
                plan.tiers[name] = src.tier_of(prov, sc.get("parameters") or {}) or "ssd"
        ctx.state[self.name] = plan

    # -- class choice ------------------------------------------------------------------------------

    def _target_for(
        self, name: str | None, ctx: Context, plan: _Plan
    ) -> tuple[str | None, str, StorageClassSpec | None]:
        """(new class name or None to keep, reason, the target class spec that will serve it)."""
        src, dst = ctx.source.storage, ctx.target.storage
        assert dst is not None
        if name is not None and name in ctx.mappings.storage_classes:
            new = ctx.mappings.storage_classes[name]
            return new, f"user mapping storageclass:{name}={new}", dst.get_class(new)
        if name is None:
            src_default = src.default() if src is not None else None
            dst_default = dst.default()
            if src_default is None or dst_default is None or src_default.tier == dst_default.tier:
                return None, "", dst_default
            chosen = dst.for_tier(src_default.tier)
            if chosen is None or chosen.name == dst_default.name:
                return None, "", dst_default
            return (
                chosen.name,
                f"the source default class {src_default.name} is {src_default.tier}; the target default "
                f"{dst_default.name} is {dst_default.tier}: {chosen.name} keeps the tier",
                chosen,
            )
        if dst.get_class(name) is not None:
            return None, "", dst.get_class(name)
        if name in plan.custom:
            tier = plan.tiers[name]
            return None, "", dst.for_tier(tier)
        spec = src.get_class(name) if src is not None else None
        if spec is not None:
            chosen = dst.for_tier(spec.tier)
            if chosen is None:
                chosen = dst.default()
            if chosen is None:
                return None, "", None
            if chosen.tier == spec.tier:
                why = f"{name} is {ctx.source.name}'s {spec.tier} class; {chosen.name} is {ctx.target.name}'s"
            else:
                why = (
                    f"{name} is {ctx.source.name}'s {spec.tier} class; {ctx.target.name} has none, "
                    f"{chosen.name} ({chosen.tier}) is the closest"
                )
            return chosen.name, why, chosen
        return None, "", None

    def _check_claim(
        self,
        item: Item,
        path: tuple[str | int, ...],
        claim_spec: dict[str, Any],
        target: StorageClassSpec | None,
        claim_name: str,
        ctx: Context,
    ) -> None:
        raw_modes = claim_spec.get("accessModes")
        modes = [m for m in raw_modes if isinstance(m, str)] if isinstance(raw_modes, list) else []
        if target is not None:
            missing = [m for m in modes if m not in target.access_modes]
            if missing:
                item.manual(
                    f"claim {claim_name} needs {', '.join(missing)}, which {ctx.target.name} class {target.name} "
                    f"cannot serve: provide a class that can (e.g. NFS or CephFS) and map it with "
                    f"--map storageclass:OLD=NEW, or change the application"
                )
        resources = claim_spec.get("resources")
        requests = resources.get("requests") if isinstance(resources, dict) else None
        size_text = requests.get("storage") if isinstance(requests, dict) else None
        if target is None or size_text is None:
            return
        try:
            size = parse_quantity(str(size_text)) / 2**30
        except ValueError:
            item.warn(f"claim {claim_name}: storage request {size_text!r} is not a quantity")
            return
        minimum = target.min_size_gi or 0.0
        step = target.granularity_gi
        want = max(size, minimum)
        if step:
            want = math.ceil(want / step - 1e-9) * step
        if want > size + 1e-9:
            new = format_gi(want)
            item.set(
                (*path, "resources", "requests", "storage"),
                new,
                f"{ctx.target.name} class {target.name} needs at least {target.min_size or 'whole GiB'}"
                + (f" in steps of {target.granularity}" if target.granularity else ""),
            )
            item.warn(
                f"claim {claim_name}: storage request raised from {size_text} to {new} ({target.name} "
                "minimum/granularity)"
            )

    def _claim(self, item: Item, path: tuple[str | int, ...], ctx: Context, plan: _Plan, claim_name: str) -> None:
        spec = item.get(*path)
        if not isinstance(spec, dict):
            return
        name = spec.get("storageClassName")
        if name == "":
            return  # explicitly no class: static binding, left alone
        new, reason, target = self._target_for(name if isinstance(name, str) else None, ctx, plan)
        if new is not None and new != name:
            item.set((*path, "storageClassName"), new, reason)
        elif new is None and isinstance(name, str) and target is None and name not in plan.in_bundle:
            src = ctx.source.storage
            if src is not None and src.get_class(name) is None:
                item.warn(
                    f"storage class {name!r} is unknown to both {ctx.source.name} and {ctx.target.name}; kept: "
                    f"map it with --map storageclass:{name}=CLASS"
                )
        spec = item.get(*path)
        self._check_claim(item, path, spec, target, claim_name, ctx)

    # -- objects -------------------------------------------------------------------------------------

    def translate(self, item: Item, ctx: Context) -> None:
        """Translate one object (see the module docstring)."""
        dst = ctx.target.storage
        if dst is None:
            return
        plan: _Plan = ctx.state[self.name]
        kind = item.kind
        if kind == "PersistentVolumeClaim":
            self._pvc(item, ctx, plan)
        elif kind == "StatefulSet":
            templates = item.get("spec", "volumeClaimTemplates")
            if isinstance(templates, list):
                for i, vct in enumerate(templates):
                    if isinstance(vct, dict):
                        vname = (vct.get("metadata") or {}).get("name", i)
                        self._claim(item, ("spec", "volumeClaimTemplates", i, "spec"), ctx, plan, f"template {vname}")
        elif kind == "StorageClass":
            self._storage_class(item, ctx, plan, dst)
        elif kind == "VolumeSnapshotClass":
            self._snapshot_class(item, ctx, dst)
        elif kind in ("VolumeSnapshot", "VolumeSnapshotContent"):
            self._snapshot(item, ctx, dst)
        elif kind == "PersistentVolume":
            self._pv(item, ctx)

    def _pvc(self, item: Item, ctx: Context, plan: _Plan) -> None:
        src = ctx.source.storage
        annotations = item.get("metadata", "annotations") or {}
        for key in list(annotations):
            if key in _PVC_CONTROLLER_ANNOTATIONS or (src is not None and key in src.controller_annotations):
                item.remove(("metadata", "annotations", key), "written by the source cluster's volume controller")
        if item.get("spec", "volumeName"):
            item.remove(
                ("spec", "volumeName"),
                "pinned to a source PersistentVolume; the target provisions a new volume (data moves separately)",
            )
        self._claim(item, ("spec",), ctx, plan, f"{item.namespace}/{item.name}")
        source = item.get("spec", "dataSource") or item.get("spec", "dataSourceRef")
        if isinstance(source, dict) and source.get("kind") == "VolumeSnapshot":
            item.warn("restores from a VolumeSnapshot; source snapshots do not exist on the target")

    def _storage_class(self, item: Item, ctx: Context, plan: _Plan, dst: StorageProfile) -> None:
        name = item.name
        src = ctx.source.storage
        prov = str(item.get("provisioner") or "")
        if src is None or prov not in src.provisioners or prov in dst.provisioners:
            return
        if name not in plan.custom:
            item.drop(f"{name} is a built-in {ctx.source.name} class; the target ships its own classes")
            return
        target = dst.for_tier(plan.tiers[name]) or dst.default()
        if target is None:
            return
        reason = f"re-created for {ctx.target.name} like its class {target.name} ({plan.tiers[name]} → {target.tier})"
        item.set(("provisioner",), target.provisioner, reason)
        params = item.get("parameters") or {}
        if params != dict(target.parameters):
            if target.parameters:
                item.set(("parameters",), dict(target.parameters), reason)
            else:
                item.remove(("parameters",), reason)
            dropped = sorted(set(params) - set(target.parameters))
            if dropped:
                item.warn(f"{ctx.source.name} parameters {', '.join(dropped)} have no {ctx.target.name} equivalent")
        item.set(("volumeBindingMode",), target.binding_mode, reason)
        if item.get("allowVolumeExpansion") is not None or target.allow_expansion:
            item.set(("allowVolumeExpansion",), target.allow_expansion, reason)
        if item.get("allowedTopologies") is not None:
            item.remove(("allowedTopologies",), f"names {ctx.source.name} zones")
            item.warn("allowedTopologies removed: it named source zones")
        for key in (_DEFAULT_ANN, _BETA_DEFAULT_ANN):
            if (item.get("metadata", "annotations") or {}).get(key) == "true":
                item.remove(("metadata", "annotations", key), "the target cluster has its own default class")
                item.warn("was the source's default class; the target keeps its own default")

    def _snapshot_class(self, item: Item, ctx: Context, dst: StorageProfile) -> None:
        src = ctx.source.storage
        driver = str(item.get("driver") or "")
        if src is None or driver not in src.provisioners or driver in dst.provisioners:
            return
        if src.snapshot_class(item.name) is not None:
            item.drop(f"{item.name} is a built-in {ctx.source.name} snapshot class")
            return
        target = dst.snapshot_class()
        if target is None:
            item.drop(f"{ctx.target.name} has no volume snapshots")
            item.manual(
                f"snapshot class {item.name}: {ctx.target.name} storage has no snapshots; back volumes up with "
                "Velero file-system backup instead"
            )
            return
        reason = f"re-created for {ctx.target.name} snapshot driver"
        item.set(("driver",), target.driver, reason)
        if target.parameters:
            item.set(("parameters",), dict(target.parameters), reason)
        elif item.get("parameters") is not None:
            item.remove(("parameters",), reason)

    def _snapshot(self, item: Item, ctx: Context, dst: StorageProfile) -> None:
        src = ctx.source.storage
        cls = item.get("spec", "volumeSnapshotClassName")
        driver = item.get("spec", "driver")
        from_source = (src is not None and src.snapshot_class(str(cls)) is not None) or (
            src is not None and driver in src.provisioners and driver not in dst.provisioners
        )
        if from_source:
            item.drop("a snapshot of a source volume; provider snapshots are not portable (move data with Velero)")

    def _pv(self, item: Item, ctx: Context) -> None:
        src = ctx.source.storage
        driver = item.get("spec", "csi", "driver")
        intree = any(
            item.get("spec", k) is not None
            for k in ("awsElasticBlockStore", "gcePersistentDisk", "azureDisk", "azureFile", "cinder")
        )
        if (src is not None and driver in src.provisioners) or intree:
            item.drop("pinned to a source volume (driver, volumeHandle, zone); the target provisions its own")
