"""``plan()``: compare a bundle with a live target cluster, without writing anything.

For every object the plan says what apply would do (``create``, ``update``, ``unchanged``, ``conflict``,
``skip``) with a field-level diff of what portkit manages; it lists every blocker at once (kinds the
target does not serve, missing namespaces, StorageClasses, IngressClasses, PriorityClasses); and it runs
a server-side dry run of the objects, in parallel, to collect the API's own objections per object.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, Literal, get_args

import attrs

from portkit import observe
from portkit._gc import gc_paused
from portkit.cluster import ApiResource, Cluster, snapshot_version
from portkit.display import html_table, text_table, truncate
from portkit.errors import (
    ApiError,
    ClusterUnreachableError,
    ConfigurationError,
    ConflictError,
    ForbiddenError,
    NotFoundError,
    PlanError,
)
from portkit.model import ObjectRef, get_path, split_api_version
from portkit.policy import PolicyResult, PolicySet, check_policies
from portkit.policy.sources import PolicyPaths
from portkit.redact import redact_message
from portkit.replay._compare import (
    FieldDiff,
    content_sha256,
    effective_desired,
    is_secret,
    object_diff,
    strip_for_apply,
    subset_diff,
)
from portkit.replay._live import LiveKey, fetch_live, live_key
from portkit.replay.journal import Journal
from portkit.replay.nsmap import MappingResult, iter_pod_specs, map_namespaces
from portkit.replay.order import WAVE_NAMES, wave_of
from portkit.replay.ownership import created_ownership, only_own_conflicts

if TYPE_CHECKING:
    import pandas
    from matplotlib.axes import Axes

__all__ = [
    "APPLIED_ANNOTATION",
    "EXISTING_POLICIES",
    "FIELD_MANAGER",
    "OPS",
    "Action",
    "ActionOp",
    "Blocker",
    "ExistingPolicy",
    "Plan",
    "plan",
]

log = logging.getLogger(__name__)

#: The server-side apply field manager of every portkit write.
FIELD_MANAGER = "portkit"
#: Annotation portkit sets on what it applies: sha256 of the applied manifest (without this annotation).
#: It lets a later plan see "unchanged" without a dry run and notice fields removed from the bundle.
APPLIED_ANNOTATION = "portkit.io/applied-sha256"
#: What an action can be.
ActionOp = Literal["create", "update", "unchanged", "conflict", "skip"]
OPS: tuple[ActionOp, ...] = get_args(ActionOp)
#: The columns of :meth:`Plan.to_dataframe`.
PLAN_FRAME_COLUMNS = (
    "op",
    "object",
    "kind",
    "group",
    "namespace",
    "name",
    "wave",
    "wave_index",
    "changed_fields",
    "validated",
    "error",
    "message",
)
#: What ``existing=`` may say about objects already in the target.
ExistingPolicy = Literal["update", "skip", "fail"]
EXISTING_POLICIES: tuple[ExistingPolicy, ...] = get_args(ExistingPolicy)


@attrs.define(eq=False)
class Action:
    """What apply will do with one object.

    Attributes:
        ref: the object (after namespace mapping).
        op: ``create``, ``update``, ``unchanged``, ``conflict`` (another field manager owns fields portkit
            would set; apply with ``force=True`` to take them) or ``skip``.
        wave: the apply wave (see :data:`portkit.replay.order.WAVE_NAMES`).
        sha256: hash of the manifest portkit sends (also recorded in the journal).
        diff: fields that change (live → planned), limited to what portkit manages; Secret values redacted.
        message: why the op was chosen, when that is not obvious (conflicts, skips, unvalidated objects).
        error: the API's message when the server-side dry run rejected the object.
        validated: True when a server-side dry run accepted the object.
        live_uid: uid of the live object when it exists.
        created_ownership: portkit owns fields of the live object through its own plain create; apply
            hands them to its server-side apply identity first (:mod:`portkit.replay.ownership`).
        obj: the manifest portkit sends (never shown in reprs or JSON).
    """

    ref: ObjectRef
    op: ActionOp
    wave: int
    sha256: str
    obj: dict[str, Any] = attrs.field(repr=False)
    diff: list[FieldDiff] = attrs.field(factory=list)
    message: str = ""
    error: str = ""
    validated: bool = False
    live_uid: str = ""
    deferred: bool = False
    created_ownership: bool = False

    @property
    def wave_name(self) -> str:
        """The wave's name (``namespaces``, ``crds``, ..., ``custom``)."""
        return WAVE_NAMES[self.wave]

    def __repr__(self) -> str:
        extra = f" error={truncate(self.error, 60)!r}" if self.error else ""
        return f"<Action {self.op} {self.ref}{extra}>"

    def to_dict(self) -> dict[str, Any]:
        """Plain dict form (without the manifest)."""
        return {
            "ref": self.ref.to_dict(),
            "object": str(self.ref),
            "op": self.op,
            "wave": self.wave_name,
            "sha256": self.sha256,
            "diff": [d.to_dict() for d in self.diff],
            "message": self.message,
            "error": self.error,
            "validated": self.validated,
        }


@attrs.frozen
class Blocker:
    """Something the target lacks, which stops the plan from being applied.

    Attributes:
        what: ``kind``, ``namespace``, ``storageclass``, ``ingressclass``, ``priorityclass``, ``exists`` or
            ``policy`` (a policy denies the object: ``plan(..., policies=DIR)``).
        name: the missing thing (``Widget in example.com/v1``, ``shop``, ``gp3``, ...).
        message: what is wrong and what to do.
        refs: the objects that need it.
    """

    what: str
    name: str
    message: str
    refs: tuple[ObjectRef, ...] = ()

    def __str__(self) -> str:
        return self.message

    def to_dict(self) -> dict[str, Any]:
        """Plain dict form."""
        return {
            "what": self.what,
            "name": self.name,
            "message": self.message,
            "objects": [str(r) for r in self.refs],
        }


@attrs.define(eq=False)
class Plan:
    """The result of :func:`plan`: per-object actions, blockers, warnings and the namespace mapping.

    ``plan.actions`` lists every object with its ``op``; ``plan.diff()`` renders the changes as text;
    ``plan.ok`` is False when something blocks it or the dry run rejected an object.
    """

    actions: list[Action]
    blockers: list[Blocker]
    warnings: list[str]
    mapping: MappingResult = attrs.field(repr=False)
    cluster: Cluster = attrs.field(repr=False)
    existing: ExistingPolicy = "update"
    observed_at: float = 0.0
    id: str = ""
    dry_run_checked: bool = True
    journal: Journal = attrs.field(factory=Journal, repr=False)
    notes: list[str] = attrs.field(factory=list)
    #: the policy check of the objects (``plan(..., policies=DIR)``); its denials are blockers unless overridden
    policy: PolicyResult | None = attrs.field(default=None, repr=False)

    # -- queries ----------------------------------------------------------------------------------
    @property
    def ok(self) -> bool:
        """True when nothing blocks the plan and no object was rejected by the dry run."""
        return not self.blockers and not self.errors

    @property
    def errors(self) -> list[Action]:
        """Actions whose server-side dry run failed (``action.error`` has the API's message)."""
        return [a for a in self.actions if a.error]

    @property
    def conflicts(self) -> list[Action]:
        """Actions with field-manager conflicts (apply them with ``force=True``)."""
        return [a for a in self.actions if a.op == "conflict"]

    def counts(self) -> dict[str, int]:
        """Number of actions per op (every op present)."""
        found = Counter(a.op for a in self.actions)
        return {op: found.get(op, 0) for op in OPS}

    def action(self, kind: str, name: str, namespace: str | None = None) -> Action | None:
        """The action of one object, found by kind, name and (mapped) namespace."""
        for a in self.actions:
            if a.ref.kind == kind and a.ref.name == name and (namespace is None or a.ref.namespace == namespace):
                return a
        return None

    def by_wave(self) -> list[list[Action]]:
        """Actions grouped by wave, in apply order."""
        waves: list[list[Action]] = [[] for _ in WAVE_NAMES]
        for a in self.actions:
            waves[a.wave].append(a)
        return waves

    def diff(self, ref: ObjectRef | str | None = None) -> str:
        """The planned changes as text: one block per object that would be created, updated or conflicts.

        Args:
            ref: only this object (an ObjectRef or its ``str()``, e.g. ``"Deployment.apps shop/web"``).
        """
        lines: list[str] = []
        for a in self.actions:
            if ref is not None and a.ref != ref and str(a.ref) != str(ref):
                continue
            if a.op in ("unchanged", "skip") and ref is None:
                continue
            head = {"create": "+", "update": "~", "conflict": "!", "unchanged": "=", "skip": "-"}[a.op]
            lines.append(f"{head} {a.op} {a.ref}" + (f"  ({a.message})" if a.message else ""))
            lines.extend(f"    {d}" for d in a.diff)
            if a.error:
                lines.append(f"    rejected by the API: {a.error}")
        return "\n".join(lines) if lines else "no changes"

    def raise_if_blocked(self) -> None:
        """Raise :class:`PlanError` listing every blocker, if there is any."""
        if self.blockers:
            listing = "; ".join(b.message for b in self.blockers)
            raise PlanError(
                f"The plan is blocked ({len(self.blockers)} problem(s)): {listing}",
                hint="Fix the target (or translate the bundle) and plan again.",
            )

    # -- rendering --------------------------------------------------------------------------------
    def __repr__(self) -> str:
        counts = ", ".join(f"{n} {op}" for op, n in self.counts().items() if n)
        state = "ok" if self.ok else f"{len(self.blockers)} blockers, {len(self.errors)} rejected"
        return f"<Plan {len(self.actions)} objects ({counts or 'none'}) into {self.cluster.name or '?'}: {state}>"

    def _rows(self, only_changes: bool = False) -> list[list[Any]]:
        return [
            [a.op, a.wave_name, str(a.ref), len(a.diff), a.error or a.message]
            for a in self.actions
            if not only_changes or a.op not in ("unchanged", "skip") or a.error
        ]

    def to_text(self) -> str:
        """Human-readable plan: summary, blockers, warnings, changed objects."""
        counts = ", ".join(f"{n} {op}" for op, n in self.counts().items() if n) or "nothing to do"
        target = self.cluster.name or getattr(self.cluster, "server", "?")
        out = [f"Plan for {len(self.actions)} objects into {target}: {counts}."]
        if self.mapping.namespace_map:
            out.append("Namespace map: " + ", ".join(f"{a} -> {b}" for a, b in self.mapping.namespace_map.items()))
        if self.blockers:
            out.append(f"\nBLOCKED ({len(self.blockers)}):")
            out.extend(f"  - {b.message}" for b in self.blockers)
        if self.errors:
            out.append(f"\nRejected by the server-side dry run ({len(self.errors)}):")
            out.extend(f"  - {a.ref}: {a.error}" for a in self.errors)
        if self.conflicts:
            out.append(f"\nField-manager conflicts ({len(self.conflicts)}), apply with --force to take over:")
            out.extend(f"  - {a.ref}: {a.message}" for a in self.conflicts)
        if self.warnings:
            out.append(f"\nWarnings ({len(self.warnings)}):")
            out.extend(f"  - {w}" for w in self.warnings)
        if self.notes:
            out.append("")
            out.extend(f"Note: {n}" for n in self.notes)
        if self.policy is not None:
            out.append("")
            out.append(self.policy.summary())
        rows = self._rows(only_changes=True)
        if rows:
            out.append("")
            out.append(text_table(["op", "wave", "object", "fields", "note"], rows, max_rows=200))
        return "\n".join(out)

    def __str__(self) -> str:
        return self.to_text()

    def _repr_html_(self) -> str:
        parts = [html_table(["op", "wave", "object", "changed fields", "note"], self._rows(), title=repr(self))]
        if self.blockers:
            parts.append(
                html_table(
                    ["blocker", "name", "message"],
                    [[b.what, b.name, b.message] for b in self.blockers],
                    title="Blockers",
                )
            )
        if self.warnings:
            parts.append(html_table(["warning"], [[w] for w in self.warnings], title="Warnings"))
        return "".join(parts)

    def to_dict(self) -> dict[str, Any]:
        """Plain dict form for JSON output (no manifest content)."""
        return {
            "id": self.id,
            "target": {"name": self.cluster.name, "server": getattr(self.cluster, "server", "")},
            "ok": self.ok,
            "existing": self.existing,
            "dry_run_checked": self.dry_run_checked,
            "counts": self.counts(),
            "blockers": [b.to_dict() for b in self.blockers],
            "warnings": list(self.warnings),
            "notes": list(self.notes),
            "namespace_map": dict(self.mapping.namespace_map),
            "namespace_changes": [c.to_dict() for c in self.mapping.changes],
            "actions": [a.to_dict() for a in self.actions],
            "policy": self.policy.to_dict() if self.policy is not None else None,
        }

    # -- notebooks --------------------------------------------------------------------------------
    def to_dataframe(self) -> pandas.DataFrame:
        """One row per action (needs pandas: ``pip install 'portkit[notebook]'``).

        Columns: ``op``, ``object``, ``kind``, ``group``, ``namespace`` (after the namespace map), ``name``,
        ``wave`` (its name), ``wave_index`` (apply order), ``changed_fields`` (fields in the diff),
        ``validated`` (accepted by the server-side dry run), ``error`` (the API's objection), ``message``.
        """
        from portkit.frames import dataframe, ref_columns

        rows = [
            {
                "op": a.op,
                **ref_columns(a.ref),
                "wave": a.wave_name,
                "wave_index": a.wave,
                "changed_fields": len(a.diff),
                "validated": a.validated,
                "error": a.error,
                "message": a.message,
            }
            for a in self.actions
        ]
        return dataframe(rows, PLAN_FRAME_COLUMNS)

    def plot_waves(self, *, ax: Axes | None = None) -> Axes:
        """A chart of the objects per apply wave, stacked by op (needs matplotlib:
        ``pip install 'portkit[notebook]'``); returns the Axes."""
        from portkit.charts import plot_waves

        return plot_waves(
            [(a.wave_name, a.op) for a in self.actions],
            waves=WAVE_NAMES,
            categories=OPS,
            title=f"Plan into {self.cluster.name or 'the target'}: objects per wave",
            ax=ax,
        )


# ---------------------------------------------------------------------------------------------------
def _with_annotation(obj: dict[str, Any], sha: str) -> dict[str, Any]:
    sent = dict(obj)
    meta = dict(sent.get("metadata") or {})
    annotations = dict(meta.get("annotations") or {})
    annotations[APPLIED_ANNOTATION] = sha
    meta["annotations"] = annotations
    sent["metadata"] = meta
    return sent


def _crd_kinds(objects: Iterable[Mapping[str, Any]]) -> dict[tuple[str, str], set[str]]:
    """(group, kind) → served versions, for every CRD in the objects."""
    found: dict[tuple[str, str], set[str]] = {}
    for obj in objects:
        if obj.get("kind") != "CustomResourceDefinition":
            continue
        spec = obj.get("spec") or {}
        key = (str(spec.get("group") or ""), str(get_path(spec, "names", "kind") or ""))
        versions = {str(v.get("name")) for v in spec.get("versions") or () if v.get("served", True)}
        found.setdefault(key, set()).update(versions)
    return found


def _names(
    cluster: Cluster, api_version: str, kind: str, snapshot: str | None
) -> tuple[set[str] | None, list[dict[str, Any]]]:
    """Names of the live objects of a cluster-scoped kind (None when it cannot be read) and the objects."""
    try:
        resource = cluster.resource_for(api_version, kind)
        items = list(cluster.list(resource, not_older_than=snapshot))
    except (NotFoundError, ForbiddenError):
        return None, []
    return {str(get_path(i, "metadata", "name")) for i in items}, items


def _check_class_refs(
    actions: Sequence[Action],
    cluster: Cluster,
    blockers: list[Blocker],
    warnings: list[str],
    snapshot: str | None,
) -> set[str] | None:
    """Blockers for StorageClasses, IngressClasses, PriorityClasses and namespaces the objects need.

    Returns the names of the target's namespaces when they were listed (None otherwise).
    """
    namespaces: set[str] | None = None
    in_bundle: dict[str, set[str]] = defaultdict(set)
    for a in actions:
        in_bundle[a.ref.kind].add(a.ref.name)
    needs: dict[str, dict[str, list[ObjectRef]]] = defaultdict(lambda: defaultdict(list))
    pvc_without_class: list[ObjectRef] = []
    for a in actions:
        obj = a.obj
        group, _ = split_api_version(str(obj.get("apiVersion") or ""))
        kind = a.ref.kind
        if a.ref.namespace:
            needs["namespace"][a.ref.namespace].append(a.ref)
        if (group, kind) == ("", "PersistentVolumeClaim"):
            sc = get_path(obj, "spec", "storageClassName")
            if sc:
                needs["storageclass"][str(sc)].append(a.ref)
            elif sc is None and not get_path(obj, "spec", "volumeName"):
                pvc_without_class.append(a.ref)
        if (group, kind) == ("apps", "StatefulSet"):
            for vct in get_path(obj, "spec", "volumeClaimTemplates", default=[]) or []:
                sc = get_path(vct, "spec", "storageClassName")
                if sc:
                    needs["storageclass"][str(sc)].append(a.ref)
        if kind == "Ingress":
            ic = get_path(obj, "spec", "ingressClassName")
            if ic:
                needs["ingressclass"][str(ic)].append(a.ref)
        for pod_spec in iter_pod_specs(obj):
            pc = pod_spec.get("priorityClassName")
            if pc:
                needs["priorityclass"][str(pc)].append(a.ref)

    checks = (
        ("namespace", "v1", "Namespace", "Namespace", "Namespaces"),
        ("storageclass", "storage.k8s.io/v1", "StorageClass", "StorageClass", "StorageClasses"),
        ("ingressclass", "networking.k8s.io/v1", "IngressClass", "IngressClass", "IngressClasses"),
        ("priorityclass", "scheduling.k8s.io/v1", "PriorityClass", "PriorityClass", "PriorityClasses"),
    )
    for what, api_version, kind, label, plural in checks:
        wanted = needs.get(what)
        if what == "storageclass" and pvc_without_class:
            wanted = wanted or {}
        if not wanted:
            continue
        live, items = _names(cluster, api_version, kind, snapshot)
        if what == "namespace":
            namespaces = live
        if live is None:
            warnings.append(f"Could not list {plural} in the target; the {label} references were not checked.")
            continue
        if what == "storageclass" and pvc_without_class:
            default = [
                i
                for i in items
                if get_path(i, "metadata", "annotations", "storageclass.kubernetes.io/is-default-class") == "true"
            ]
            if not default and not any(
                get_path(b.obj, "metadata", "annotations", "storageclass.kubernetes.io/is-default-class") == "true"
                for b in actions
                if b.ref.kind == "StorageClass"
            ):
                warnings.append(
                    f"{len(pvc_without_class)} PersistentVolumeClaim(s) name no StorageClass and the target has no "
                    f"default StorageClass (e.g. {pvc_without_class[0]}); they will stay Pending."
                )
        if what == "namespace":
            terminating = {
                str(get_path(i, "metadata", "name")) for i in items if get_path(i, "status", "phase") == "Terminating"
            }
            for name in sorted(set(wanted) & terminating):
                blockers.append(
                    Blocker(
                        "namespace",
                        name,
                        f"Namespace {name} is being deleted in the target; wait until it is gone, then plan again.",
                        tuple(wanted[name][:20]),
                    )
                )
        for name, refs in sorted(wanted.items()):
            if name in live or name in in_bundle.get(kind, set()):
                continue
            sample = ", ".join(str(r) for r in refs[:3]) + (f" and {len(refs) - 3} more" if len(refs) > 3 else "")
            blockers.append(
                Blocker(
                    what,
                    name,
                    f"{label} {name!r} does not exist in the target and is not in the bundle "
                    f"(needed by {sample}). Create it, add it to the bundle, or map it in translation.",
                    tuple(refs[:20]),
                )
            )

    return namespaces


@observe.step("plan")
def plan(
    bundle: Iterable[Mapping[str, Any]],
    cluster: Cluster,
    *,
    namespace_map: Mapping[str, str] | None = None,
    existing: ExistingPolicy = "update",
    dry_run_check: bool = True,
    workers: int = 16,
    rewrite_dns: bool = False,
    policies: PolicyPaths | PolicySet | None = None,
    policy_namespaces: Sequence[str] | None = None,
    allow_policy_violations: bool = False,
) -> Plan:
    """Compare a bundle with the live target and say what apply would do. Nothing is written.

    Args:
        bundle: a :class:`portkit.Bundle` (or any iterable of manifest dicts).
        cluster: the target :class:`portkit.Cluster`.
        namespace_map: ``{"shop": "shop-eu"}``: move objects and rewrite every reference (see
            :mod:`portkit.replay.nsmap`).
        existing: what to do with objects already in the target: ``update`` (server-side apply),
            ``skip`` (leave them), ``fail`` (block the plan).
        dry_run_check: run a server-side dry run of every object that would be written (in parallel),
            collecting the API's objections per object. Objects in namespaces, or of kinds, that only
            the plan itself creates cannot be dry-run and are marked not validated.
        workers: concurrent requests.
        rewrite_dns: also rewrite service DNS names ``<svc>.<ns>.svc[.cluster.local]`` in env values,
            ConfigMap data and ExternalName services (always reported either way).
        policies: OPA/Rego and Gatekeeper policies (a directory or files, see :mod:`portkit.policy`) the
            objects are checked against, offline and before the target is read, as they would be applied
            (namespaces mapped): every denial is a blocker (``what="policy"``), warnings are plan warnings.
        policy_namespaces: only these Rego packages (conftest's ``--namespace``); default all.
        allow_policy_violations: report denials as warnings instead of blockers (the apply goes ahead).

    Raises:
        ConfigurationError: bad ``existing`` or namespace map.
        PlanError: the target cannot be read.
        PolicyInputError: the policies cannot be used (see :func:`portkit.policy.check_policies`).
    """
    if existing not in EXISTING_POLICIES:
        raise ConfigurationError(
            f"existing={existing!r} is not one of {', '.join(EXISTING_POLICIES)}.",
            hint="Use 'update' (apply over what exists), 'skip' or 'fail'.",
        )
    started = time.time()
    # many small containers (live objects, copies, diffs): see gc_paused. The target's current
    # resourceVersion is read while the bundle is being prepared: a consistent read waits for the API
    # server's cache to catch up with etcd, which is time better overlapped.
    with gc_paused(), ThreadPoolExecutor(max_workers=1) as background:
        snapshot_read = background.submit(_snapshot_version, cluster)
        return _plan_with_snapshot(
            bundle,
            cluster,
            namespace_map,
            existing,
            snapshot_read,
            started,
            dry_run_check=dry_run_check,
            workers=workers,
            rewrite_dns=rewrite_dns,
            policy_check=(policies, policy_namespaces, allow_policy_violations),
        )


_POLICY_BLOCKERS = 50  # policy violations listed as blockers one by one; the rest in one


def _check_policies(
    objects: Sequence[Mapping[str, Any]],
    policies: PolicyPaths | PolicySet | None,
    namespaces: Sequence[str] | None,
    allow: bool,
    *,
    blockers: list[Blocker],
    warnings: list[str],
) -> PolicyResult | None:
    """The policy gate: denials become blockers (or warnings when ``allow``), warn-level findings warnings."""
    if policies is None:
        return None
    result = check_policies([strip_for_apply(o) for o in objects], policies, namespaces=namespaces, overridden=allow)
    denied = result.denied
    for v in denied[:_POLICY_BLOCKERS]:
        if allow:
            warnings.append(f"policy violation (overridden): {v}")
        else:
            blockers.append(Blocker("policy", v.policy, f"Policy violation: {v}", (v.ref,)))
    rest = denied[_POLICY_BLOCKERS:]
    if rest:  # every one is in plan.policy; the listing stays readable
        more = f"{len(rest)} more policy violations (all in the plan's policy result)"
        if allow:
            warnings.append(f"... and {more}, overridden.")
        else:
            refs = tuple(dict.fromkeys(v.ref for v in rest))
            blockers.append(
                Blocker("policy", f"{len(rest)} more", f"Policy violation: ... and {more}, e.g. {rest[0]}", refs[:20])
            )
    warnings.extend(f"policy warning: {v}" for v in result.warned)
    warnings.extend(f"policy not evaluated: {n}" for n in result.not_evaluated)
    return result


def _snapshot_version(cluster: Cluster) -> str | None:
    """The target's current resourceVersion (None when Namespaces may not be listed)."""
    try:
        namespaces = cluster.resource_for("v1", "Namespace")
    except NotFoundError:
        return None
    return snapshot_version(cluster, [(namespaces, None)])


def _plan_with_snapshot(
    bundle: Iterable[Mapping[str, Any]],
    cluster: Cluster,
    namespace_map: Mapping[str, str] | None,
    existing: ExistingPolicy,
    snapshot_read: Future[str | None],
    started: float,
    *,
    dry_run_check: bool,
    workers: int,
    rewrite_dns: bool,
    policy_check: tuple[PolicyPaths | PolicySet | None, Sequence[str] | None, bool] = (None, None, False),
) -> Plan:
    source = list(bundle)
    where = getattr(cluster, "name", "") or getattr(cluster, "server", "")
    log.info("planning %d objects against %s", len(source), where)
    mapping = map_namespaces(source, namespace_map, rewrite_dns=rewrite_dns)
    blockers: list[Blocker] = []
    warnings: list[str] = []
    policy = _check_policies(mapping.objects, *policy_check, blockers=blockers, warnings=warnings)
    for change in mapping.dns_not_rewritten[:20]:
        warnings.append(
            f"{change.ref} {change.path} refers to {change.old}; it would become {change.new} with "
            "rewrite_dns=True (--rewrite-dns)."
        )
    if len(mapping.dns_not_rewritten) > 20:
        warnings.append(f"... and {len(mapping.dns_not_rewritten) - 20} more service DNS names not rewritten.")

    # build the actions
    actions: list[Action] = []
    seen: dict[tuple[str, str, str, str], ObjectRef] = {}
    for raw in mapping.objects:
        desired = strip_for_apply(raw)
        ref = ObjectRef.from_obj(desired)
        if not ref.kind or not ref.version or not ref.name:
            raise PlanError(
                f"An object in the bundle has no apiVersion, kind or metadata.name: {ref}.",
                hint="Fix or remove it from the bundle.",
            )
        if ref.key in seen:
            raise PlanError(
                f"The bundle holds {ref} twice (after namespace mapping).",
                hint="Remove the duplicate or map the namespaces apart.",
            )
        seen[ref.key] = ref
        sha = content_sha256(desired)
        actions.append(
            Action(ref=ref, op="create", wave=wave_of(desired), sha256=sha, obj=_with_annotation(desired, sha))
        )

    # discovery: which kinds the target serves
    try:
        crds = _crd_kinds(a.obj for a in actions)
        resources: dict[tuple[str, str], ApiResource | None] = {}
        missing: dict[tuple[str, str], list[ObjectRef]] = defaultdict(list)
        for a in actions:
            key = (a.ref.api_version, a.ref.kind)
            if key not in resources:
                try:
                    resources[key] = cluster.resource_for(*key)
                except NotFoundError:
                    resources[key] = None
            res = resources[key]
            if res is None:
                if a.ref.version in crds.get((a.ref.group, a.ref.kind), set()):
                    a.deferred = True
                    a.message = "kind served once its CRD (in this bundle) is applied"
                else:
                    missing[key].append(a.ref)
            elif res.namespaced and not a.ref.namespace:
                raise PlanError(
                    f"{a.ref} is namespaced in the target but has no namespace in the bundle.",
                    hint="Set metadata.namespace on it.",
                )
            elif not res.namespaced and a.ref.namespace:
                # cluster-scoped in the target: a namespace in the manifest is meaningless, drop it
                desired = strip_for_apply(a.obj)
                desired["metadata"].pop("namespace", None)
                desired["metadata"]["annotations"].pop(APPLIED_ANNOTATION, None)
                if not desired["metadata"]["annotations"]:
                    del desired["metadata"]["annotations"]
                a.ref = ObjectRef.from_obj(desired)
                a.sha256 = content_sha256(desired)
                a.obj = _with_annotation(desired, a.sha256)
        for (api_version, kind), refs in sorted(missing.items()):
            sample = ", ".join(str(r) for r in refs[:3]) + (f" and {len(refs) - 3} more" if len(refs) > 3 else "")
            blockers.append(
                Blocker(
                    "kind",
                    f"{kind} in {api_version}",
                    f"The target does not serve {kind} in {api_version} and the bundle has no CRD for it "
                    f"({len(refs)} object(s): {sample}). Install the CRD/operator in the target, add the CRD to "
                    "the bundle, or translate the objects to a served version.",
                    tuple(refs[:20]),
                )
            )
        # one moment of the target: every read below sees (at least) what it held at this version
        snapshot = snapshot_read.result()
        listed_namespaces = _check_class_refs(actions, cluster, blockers, warnings, snapshot)

        # the live objects
        wanted: list[tuple[ApiResource, str, str]] = []
        for a in actions:
            res = resources[(a.ref.api_version, a.ref.kind)]
            if res is not None:
                wanted.append((res, a.ref.namespace, a.ref.name))
        live = fetch_live(cluster, wanted, workers=workers, not_older_than=snapshot)
        live_namespaces = {
            str(get_path(o, "metadata", "name")) for k, o in live.items() if o is not None and k[1] == "Namespace"
        }
        live_namespaces |= listed_namespaces or set()  # None: not listable, already warned about
    except ClusterUnreachableError as exc:
        raise PlanError(
            f"Cannot read the target cluster: {exc}", hint="Check that it is reachable and plan again."
        ) from exc

    # decide the ops
    to_dry_run: list[Action] = []
    exists_refs: list[ObjectRef] = []
    for a in actions:
        res = resources[(a.ref.api_version, a.ref.kind)]
        if res is None:
            continue  # deferred (its CRD comes with the bundle) or blocked
        current = live.get(live_key(res, a.ref.namespace, a.ref.name))
        if current is None:
            a.op = "create"
            if a.ref.namespace and a.ref.namespace not in live_namespaces:
                a.message = f"not validated: namespace {a.ref.namespace} is created by this plan"
            elif dry_run_check:
                to_dry_run.append(a)
            continue
        a.live_uid = str(get_path(current, "metadata", "uid") or "")
        a.created_ownership = created_ownership(current, FIELD_MANAGER)
        secret = is_secret(a.obj)
        if get_path(current, "metadata", "deletionTimestamp"):
            warnings.append(f"{a.ref} is being deleted in the target; apply may recreate or fail on it.")
        if existing == "skip":
            a.op, a.message = "skip", "exists in the target; left alone (existing='skip')"
            continue
        if existing == "fail":
            a.op, a.message = "conflict", "exists in the target (existing='fail')"
            exists_refs.append(a.ref)
            continue
        differences = subset_diff(effective_desired(a.obj), current, secret=secret)
        if not differences:
            a.op = "unchanged"
            continue
        a.op = "update"
        a.diff = _useful(differences)
        if dry_run_check:
            to_dry_run.append(a)
    if exists_refs:
        blockers.append(
            Blocker(
                "exists",
                f"{len(exists_refs)} objects",
                f"{len(exists_refs)} object(s) already exist in the target and existing='fail' "
                f"(e.g. {exists_refs[0]}). Plan with existing='update' or 'skip', or remove them.",
                tuple(exists_refs[:20]),
            )
        )

    if to_dry_run:
        _dry_run_all(cluster, to_dry_run, live, resources, workers)

    actions.sort(key=lambda a: a.wave)  # apply order (stable: the bundle's order within a wave)
    notes: list[str] = []
    deferred = [a for a in actions if a.deferred]
    if deferred:
        notes.append(f"{len(deferred)} custom resource(s) can only be checked after their CRD is applied.")
    unvalidated = [a for a in actions if a.op == "create" and not a.deferred and not a.validated and not a.error]
    if dry_run_check and unvalidated:
        notes.append(
            f"{len(unvalidated)} object(s) to create could not be dry-run because their namespace "
            "does not exist yet; the API checks them when they are applied."
        )
    plan_id = content_sha256({"server": getattr(cluster, "server", ""), "objects": [a.sha256 for a in actions]})[:16]
    counts = Counter(a.op for a in actions)
    log.info(
        "plan: %s; %d rejected by the server's dry run, %d blocker(s), in %.1f s",
        ", ".join(f"{counts[op]} {op}" for op in OPS if counts[op]) or "nothing to do",
        sum(1 for a in actions if a.error),
        len(blockers),
        time.time() - started,
    )
    for blocker in blockers[:5]:
        log.warning("plan blocked: %s", blocker.message)
    return Plan(
        actions=actions,
        blockers=blockers,
        warnings=warnings,
        notes=notes,
        mapping=mapping,
        cluster=cluster,
        existing=existing,
        observed_at=started,
        id=plan_id or uuid.uuid4().hex[:16],
        dry_run_checked=dry_run_check,
        policy=policy,
    )


def _bookkeeping(d: FieldDiff) -> bool:
    if d.path.endswith(APPLIED_ANNOTATION):
        return True
    only_ours = {APPLIED_ANNOTATION}
    return d.path == "metadata.annotations" and all(
        v is None or (isinstance(v, dict) and set(v) <= only_ours) for v in (d.old, d.new)
    )


def _useful(diffs: list[FieldDiff]) -> list[FieldDiff]:
    """Drop the bookkeeping annotation from a diff that has real changes too."""
    real = [d for d in diffs if not _bookkeeping(d)]
    return real or diffs


def _dry_run_all(
    cluster: Cluster,
    actions: list[Action],
    live: Mapping[LiveKey, dict[str, Any] | None],
    resources: Mapping[tuple[str, str], ApiResource | None],
    workers: int,
) -> None:
    def one(a: Action) -> None:
        res = resources[(a.ref.api_version, a.ref.kind)]
        current = live.get(live_key(res, a.ref.namespace, a.ref.name)) if res is not None else None
        secret = is_secret(a.obj)
        try:
            if a.op == "create":
                result = cluster.create(a.obj, field_manager=FIELD_MANAGER, dry_run=True)
            else:
                result = cluster.apply(a.obj, field_manager=FIELD_MANAGER, dry_run=True)
        except ConflictError as exc:
            if exc.reason == "AlreadyExists":
                a.message = "created by someone else since the plan started"
                return
            if not (a.created_ownership and only_own_conflicts(exc, FIELD_MANAGER)):
                a.op = "conflict"
                a.message = redact_message(exc.message, a.obj)
            try:
                result = cluster.apply(a.obj, field_manager=FIELD_MANAGER, dry_run=True, force=True)
            except ApiError as forced:
                a.error = redact_message(forced.message, a.obj)  # the server may quote a Secret's value
                return
        except ClusterUnreachableError:
            raise
        except ApiError as exc:
            a.error = redact_message(exc.message, a.obj)  # the server may quote a Secret's value
            return
        a.validated = True
        if current is not None:
            changes = object_diff(current, result, secret=secret)
            if not changes and a.op == "update":
                a.op = "unchanged"
                a.diff = []
            elif changes:
                a.diff = _useful(changes)

    if not actions:
        return
    try:
        with ThreadPoolExecutor(max_workers=max(1, min(workers, len(actions)))) as pool:
            list(pool.map(one, actions))
    except ClusterUnreachableError as exc:
        raise PlanError(
            f"The server-side dry run could not reach the target: {exc}",
            hint="Check that the cluster is reachable and plan again.",
        ) from exc
