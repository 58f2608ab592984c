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
from portkit.translate._util import POD_KINDS, pod_spec_path

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
    "volume.kubernetes.io/storage-resizer",
    "pv.kubernetes.io/migrated-to",
)
_INTREE = ("awsElasticBlockStore", "gcePersistentDisk", "azureDisk", "azureFile", "cinder")
_ENCRYPTION_PARAMS = ("encrypted", "kmsKeyId", "diskEncryptionSetID", "disk-encryption-kms-key", "encryption")


def _truthy(value: Any) -> bool:
    return str(value).lower() in ("true", "yes", "1") if not isinstance(value, bool) else value


class _Plan:
    """Per-translation decisions about class names (computed once in ``begin``)."""

    def __init__(self) -> None:
        self.custom: dict[str, dict[str, Any]] = {}  # custom StorageClass objects in the bundle, by name
        self.tiers: dict[str, str] = {}  # class name -> tier (source side)
        self.in_bundle: set[str] = set()  # every StorageClass name the bundle defines
        self.pv_claims: dict[tuple[str, str], dict[str, Any]] = {}  # (ns, claim) -> the PV it was bound to
        self.pv_names: dict[str, dict[str, Any]] = {}  # PV name -> PV


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
            *POD_KINDS,
        }
    )
    description = "storage classes (by tier), sizes, access modes, snapshot classes, PVs, pod volumes"

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
        for pv in ctx.of_kind("PersistentVolume"):
            raw_meta = pv.get("metadata")
            meta: dict[str, Any] = raw_meta if isinstance(raw_meta, dict) else {}
            plan.pv_names[str(meta.get("name"))] = pv
            ref = (pv.get("spec") or {}).get("claimRef") if isinstance(pv.get("spec"), dict) else None
            if isinstance(ref, dict) and ref.get("name"):
                plan.pv_claims[(str(ref.get("namespace") or ""), str(ref["name"]))] = pv
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
            return None, "", dst.for_tier(tier) or dst.default()
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
            return  # explicitly no class: static binding (see _static_claim)
        new, reason, target = self._target_for(name if isinstance(name, str) else None, ctx, plan)
        if new is not None and new != name:
            src_spec = ctx.source.storage.get_class(name) if (ctx.source.storage and isinstance(name, str)) else None
            tier = f"{src_spec.tier} → {target.tier}" if src_spec and target and src_spec.tier != target.tier else ""
            item.set(
                (*path, "storageClassName"),
                new,
                reason,
                confidence=target.confidence if target is not None else "",
                tier=tier,
            )
        elif new is None and isinstance(name, str) and target is None and name not in plan.in_bundle:
            src = ctx.source.storage
            if src is not None and src.get_class(name) is None:
                item.warn(
                    f"storage class {name!r} is unknown to both {ctx.source.name} and {ctx.target.name}; kept: "
                    f"map it with --map storageclass:{name}=CLASS"
                )
        spec = item.get(*path)
        self._check_claim(item, path, spec, target, claim_name, ctx)
        if target is not None and new is not None:
            self._tier_note(item, name if isinstance(name, str) else None, target, ctx)

    def _tier_note(self, item: Item, name: str | None, target: StorageClassSpec, ctx: Context) -> None:
        """A performance downgrade, or a class the target profile is not sure of, is a warning of its own."""
        src = ctx.source.storage
        spec = src.get_class(name) if (src is not None and name) else None
        order = {"hdd": 0, "ssd": 1, "fast-ssd": 2}
        if spec is not None and order.get(target.tier, 9) < order.get(spec.tier, -1):
            item.warn(
                f"performance tier {spec.tier} → {target.tier}: {ctx.target.name} has no {spec.tier} class, "
                f"{target.name} is slower than {name}; map another class with --map storageclass:{name}=CLASS"
            )
        if target.confidence != "verified":
            item.warn(f"storage class {target.name} is {target.confidence} in the {ctx.target.name} profile: check it")

    # -- objects -------------------------------------------------------------------------------------

    def translate(self, item: Item, ctx: Context) -> None:
        """Translate one object (see the module docstring)."""
        dst = ctx.target.storage
        if dst is None:
            return
        plan: _Plan = ctx.state[self.name]
        kind = item.kind
        if kind in POD_KINDS:
            self._pod_volumes(item, ctx, plan, dst)
            if kind != "StatefulSet":
                return
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
            self._pv(item, ctx, plan, dst)

    def _pod_volumes(self, item: Item, ctx: Context, plan: _Plan, dst: StorageProfile) -> None:
        """Generic ephemeral volumes are claims too; inline CSI volumes of a source driver cannot mount."""
        spec_path = pod_spec_path(item.obj)
        volumes = item.get(*spec_path, "volumes") if spec_path is not None else None
        if not isinstance(volumes, list) or spec_path is None:
            return
        src = ctx.source.storage
        for i, vol in enumerate(volumes):
            if not isinstance(vol, dict):
                continue
            vname = vol.get("name", i)
            if isinstance(vol.get("ephemeral"), dict):
                path: tuple[str | int, ...] = (*spec_path, "volumes", i, "ephemeral", "volumeClaimTemplate", "spec")
                self._claim(item, path, ctx, plan, f"ephemeral volume {vname}")
            driver = vol.get("csi", {}).get("driver") if isinstance(vol.get("csi"), dict) else None
            if (
                isinstance(driver, str)
                and src is not None
                and driver in src.provisioners
                and driver not in dst.provisioners
            ):
                attrs_ = vol["csi"].get("volumeAttributes")
                what = ", ".join(f"{k}={v}" for k, v in attrs_.items()) if isinstance(attrs_, dict) else ""
                item.manual(
                    f"volume {vname} is mounted by the {ctx.source.name} CSI driver {driver}"
                    + (f" ({what})" if what else "")
                    + f", which {ctx.target.name} does not have: copy the data to the target (a PersistentVolumeClaim "
                    "of a target class, or an object store the application reads) and change the volume"
                )
            for intree in _INTREE:
                if vol.get(intree) is not None:
                    item.manual(
                        f"volume {vname} mounts a {ctx.source.name} disk directly ({intree}): create a "
                        "PersistentVolumeClaim on the target, move the data (Velero) and mount the claim"
                    )

    def _pvc(self, item: Item, ctx: Context, plan: _Plan) -> None:
        src = ctx.source.storage
        annotations = item.get("metadata", "annotations") or {}
        for key in list(annotations) if isinstance(annotations, dict) else []:
            if key in _PVC_CONTROLLER_ANNOTATIONS or (src is not None and key in src.controller_annotations):
                item.remove(("metadata", "annotations", key), "written by the source cluster's volume controller")
        volume = item.get("spec", "volumeName")
        if volume:
            item.remove(
                ("spec", "volumeName"),
                "pinned to a source PersistentVolume; the target provisions a new volume (data moves separately)",
            )
            if item.get("spec", "storageClassName") == "":
                self._static_claim(item, ctx, plan, str(volume))
        self._claim(item, ("spec",), ctx, plan, f"{item.namespace}/{item.name}")
        source = item.get("spec", "dataSource") or item.get("spec", "dataSourceRef")
        if isinstance(source, dict) and source.get("kind") == "VolumeSnapshot":
            item.warn("restores from a VolumeSnapshot; source snapshots do not exist on the target")

    def _static_claim(self, item: Item, ctx: Context, plan: _Plan, volume: str) -> None:
        """A claim bound by name to an existing volume (``storageClassName: ""``): without that volume it could
        never bind, so the target's default class provisions an empty one and the data move is a manual action."""
        dst = ctx.target.storage
        default = dst.default() if dst is not None else None
        claim = f"{item.namespace}/{item.name}"
        if default is None:
            item.manual(
                f'claim {claim} was bound to the existing volume {volume} (storageClassName ""): {ctx.target.name} '
                "has no default class, so it can never bind: create a volume for it on the target and bind it"
            )
            return
        item.set(
            ("spec", "storageClassName"),
            default.name,
            f"was statically bound to {volume}; without that volume only a class can provision one",
        )
        pv = plan.pv_names.get(volume)
        handle = (pv or {}).get("spec", {}).get("csi", {}).get("volumeHandle") if isinstance(pv, dict) else None
        item.manual(
            f"claim {claim} was bound to the existing volume {volume}"
            + (f" (disk {handle})" if handle else "")
            + f"; on {ctx.target.name} it gets a new, EMPTY volume of class {default.name}: move the data with "
            "Velero (portkit migrate --volumes velero), or restore it from a snapshot/backup, and check it with "
            "portkit verify-data"
        )

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
        if isinstance(params, dict):
            encryption = {
                k: v for k, v in params.items() if (k in _ENCRYPTION_PARAMS and _truthy(v)) or k == "kmsKeyId"
            }
            if encryption and not target.encrypted:
                listed = ", ".join(f"{k}={v}" for k, v in encryption.items())
                item.manual(
                    f"StorageClass {name} encrypts volumes at rest ({listed}); "
                    f"the {ctx.target.name} class it becomes ({target.name}) does not promise encryption at rest: "
                    "use an encrypted class on the target (map it with --map storageclass:OLD=NEW) or accept "
                    "unencrypted volumes knowingly"
                )
        mode = item.get("volumeBindingMode")
        if mode is None:
            item.set(("volumeBindingMode",), target.binding_mode, reason)
        elif mode != target.binding_mode:
            item.warn(
                f"volumeBindingMode {mode} kept (the {ctx.target.name} class {target.name} uses "
                f"{target.binding_mode}): the re-created class binds as it did on the source"
            )
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

    def _pv(self, item: Item, ctx: Context, plan: _Plan, dst: StorageProfile) -> None:
        """PVs of the source's drivers are left out; a dynamically provisioned one with a record, one of an
        existing disk (Retain, static, a volumeHandle) with a manual action naming disk, claim and the ways
        to move the data. A PV of a driver the target also has is kept."""
        src = ctx.source.storage
        driver = item.get("spec", "csi", "driver")
        intree = next((k for k in _INTREE if item.get("spec", k) is not None), None)
        anns = item.get("metadata", "annotations")
        anns = anns if isinstance(anns, dict) else {}
        provisioned_by = anns.get("pv.kubernetes.io/provisioned-by")
        known = src is not None and (driver in src.provisioners or provisioned_by in src.provisioners)
        if not (known or intree or (isinstance(driver, str) and driver not in dst.provisioners and src is not None
                                    and driver in ctx.source.detect_provisioners)):  # fmt: skip
            return
        claim_ref = item.get("spec", "claimRef")
        claim = (
            f"{claim_ref.get('namespace') or item.namespace or '?'}/{claim_ref.get('name')}"
            if isinstance(claim_ref, dict) and claim_ref.get("name")
            else None
        )
        dynamic = (
            bool(provisioned_by) and item.get("spec", "persistentVolumeReclaimPolicy", default="Delete") == "Delete"
        )
        where = f"driver {driver}" if driver else f"in-tree {intree}"
        if dynamic and claim is not None:
            item.drop(
                f"dynamically provisioned by {provisioned_by} for claim {claim} ({where}); the claim is provisioned "
                f"by a {ctx.target.name} class instead (the data moves with Velero)"
            )
            return
        handle = item.get("spec", "csi", "volumeHandle") or (
            str(item.get("spec", intree)) if intree is not None else None
        )
        item.drop(f"an existing {ctx.source.name} disk ({where}, {handle}); it does not exist on {ctx.target.name}")
        item.manual(
            f"PersistentVolume {item.name} is an existing {ctx.source.name} volume ({where}, handle {handle})"
            + (f" bound to claim {claim}" if claim else "")
            + f": it does not move; on {ctx.target.name} the claim gets a new, EMPTY volume. Move the data with "
            "Velero (portkit migrate --volumes velero), or restore it from a snapshot/backup into a target "
            "volume, and check it with portkit verify-data"
        )
