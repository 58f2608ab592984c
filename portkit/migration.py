"""``Migration``: export → translate → lint → quiesce → volumes → plan → apply → wait → verify → verify_data,
resumable.

Every step keeps its output in ``workdir``; a second :meth:`Migration.run` after any failure continues from
the last completed step (the export is read back from disk, the translation — pure and deterministic — is
recomputed from it, the apply journal makes the apply resume without redoing work). Each step is also a
method for notebooks that walk through a migration one step at a time.
"""

from __future__ import annotations

import html
import json
import logging
import os
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeVar, get_args

import attrs

from portkit import observe
from portkit._private_files import write_private_text
from portkit.bundle import Bundle
from portkit.cluster import Cluster
from portkit.display import html_table, text_table
from portkit.errors import ClusterMismatchError, ConfigurationError, PlanError, PortkitError
from portkit.export import export as export_bundle
from portkit.policy import PolicyResult, check_policies
from portkit.policy.sources import PolicyPaths, policy_digest
from portkit.replay import ApplyResult, Plan, VerifyResult, WaitResult, verify, wait_ready
from portkit.replay import apply as apply_plan
from portkit.replay import plan as make_plan
from portkit.replay.identity import ClusterIdentity, cluster_identity
from portkit.replay.nsmap import map_namespaces
from portkit.translate import RulesInput, Translation, lint_residue, translate
from portkit.volumes.quiesce import QuiesceState, delete_holders, quiesce, unquiesce
from portkit.volumes.result import VolumeMoveResult
from portkit.volumes.verify import DEFAULT_IMAGE, DataVerifyResult
from portkit.volumes.verify import verify_data as run_verify_data

if TYPE_CHECKING:
    import pandas
    from matplotlib.axes import Axes

__all__ = [
    "STEPS",
    "EventKind",
    "Migration",
    "MigrationBlocked",
    "MigrationEvent",
    "MigrationReport",
    "Step",
    "VolumeMode",
]

log = logging.getLogger(__name__)

_T = TypeVar("_T")

#: The steps of a migration, in the order they run.
Step = Literal["export", "translate", "lint", "quiesce", "volumes", "plan", "apply", "wait", "verify", "verify_data"]
STEPS: tuple[Step, ...] = get_args(Step)
#: What a :class:`MigrationEvent` reports.
EventKind = Literal["step_start", "step_end", "step_skipped", "warning"]
#: How volume data moves: ``"velero"``, or None (claims are re-created empty).
VolumeMode = Literal["velero"]
_PV = ("", "PersistentVolume")
_PVC = ("", "PersistentVolumeClaim")


class MigrationBlocked(PlanError):
    """The migration stopped before writing anything because of blockers (listed in the message)."""


@attrs.frozen
class MigrationEvent:
    """What a migration reports while it runs (for progress bars and automation).

    Attributes:
        kind: ``step_start``, ``step_end``, ``step_skipped`` (already done in an earlier run), ``warning``.
        step: the step name (see :data:`STEPS`).
        message: a human sentence.
        data: small JSON-able details (counts, seconds).
    """

    kind: EventKind
    step: Step
    message: str = ""
    data: Mapping[str, Any] = attrs.field(factory=dict)


@attrs.define
class MigrationReport:
    """The outcome of a migration: objects per kind, changes, warnings, manual actions, volumes, timings."""

    namespaces: list[str]
    source_provider: str
    target_provider: str
    completed: list[str]
    timings: dict[str, float]
    objects_by_kind: dict[str, int]
    translation: Translation | None = attrs.field(default=None, repr=False)
    plan: Plan | None = attrs.field(default=None, repr=False)
    applied: ApplyResult | None = attrs.field(default=None, repr=False)
    waited: WaitResult | None = attrs.field(default=None, repr=False)
    verified: VerifyResult | None = attrs.field(default=None, repr=False)
    volumes: VolumeMoveResult | None = attrs.field(default=None, repr=False)
    workdir: str = ""
    data_verified: DataVerifyResult | None = attrs.field(default=None, repr=False)
    downtime_seconds: float | None = None
    quiesced: QuiesceState | None = attrs.field(default=None, repr=False)
    policy: PolicyResult | None = attrs.field(default=None, repr=False)

    @property
    def ok(self) -> bool:
        """True when every step completed, everything became ready and the result verified."""
        return (
            all(step in self.completed for step in STEPS)
            and (self.waited is None or self.waited.ready_all)
            and (self.verified is None or self.verified.ok)
            and (self.data_verified is None or self.data_verified.ok)
        )

    @property
    def needs_attention(self) -> bool:
        """True when there are warnings or manual actions a person must look at."""
        t = self.translation
        return (
            bool(t and (t.warnings or t.manual_actions))
            or bool(self.waited and not self.waited.ready_all)
            or bool(self.policy and self.policy.needs_attention)
        )

    def __repr__(self) -> str:
        total = sum(self.objects_by_kind.values())
        state = "ok" if self.ok else f"stopped after {self.completed[-1] if self.completed else 'nothing'}"
        return (
            f"<MigrationReport {','.join(self.namespaces)} {self.source_provider}→{self.target_provider}: "
            f"{total} objects, {state}>"
        )

    def to_text(self) -> str:
        """A terminal report."""
        lines = [
            f"Migration of {', '.join(self.namespaces)}: {self.source_provider} → {self.target_provider}",
            f"Steps completed: {', '.join(self.completed) or 'none'}",
            f"Work directory: {self.workdir}",
            "",
            "Objects migrated per kind:",
            text_table(["kind", "count"], sorted(self.objects_by_kind.items())),
        ]
        t = self.translation
        if t is not None:
            lines += [
                "",
                f"Translation: {len(t.changes)} changes, {len(t.warnings)} warnings, "
                f"{len(t.manual_actions)} manual actions",
            ]
            if t.manual_actions:
                lines += ["Manual actions:"] + [f"  - {a}" for a in t.manual_actions]
            if t.warnings:
                lines += ["Warnings:"] + [f"  - {w}" for w in t.warnings[:50]]
                if len(t.warnings) > 50:
                    lines.append(f"  ... and {len(t.warnings) - 50} more (see translation.json)")
        if self.policy is not None:
            lines += ["", self.policy.to_text()]
        if self.volumes is not None:
            lines += ["", "Volumes:", str(self.volumes)]
        if self.applied is not None:
            lines += ["", f"Apply: {self.applied!r}"]
        if self.waited is not None:
            lines += ["", self.waited.to_text()]
        if self.verified is not None:
            lines += ["", self.verified.to_text()]
        if self.quiesced is not None:
            lines += [
                "",
                f"Quiesced in the source: {len(self.quiesced.workloads)} workloads scaled to 0 "
                f"(replicas recorded), {len(self.quiesced.holders)} volume-holder pods.",
            ]
        if self.data_verified is not None:
            lines += ["", "Data verification:", self.data_verified.to_text()]
        if self.downtime_seconds is not None:
            lines += ["", f"Downtime (source scaled down → target workloads ready): {self.downtime_seconds:.1f} s"]
        lines += ["", "Timings: " + ", ".join(f"{k} {v:.1f}s" for k, v in self.timings.items())]
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.to_text()

    def _repr_html_(self) -> str:
        parts = [
            f"<h4>{html.escape(repr(self))}</h4>",
            html_table(["kind", "count"], sorted(self.objects_by_kind.items()), title="Objects per kind"),
            html_table(["step", "seconds"], [(k, f"{v:.1f}") for k, v in self.timings.items()], title="Timings"),
        ]
        if self.downtime_seconds is not None:
            parts.append(f"<p>Downtime: {self.downtime_seconds:.1f} s</p>")
        for part in (
            self.translation,
            self.policy,
            self.volumes,
            self.applied,
            self.waited,
            self.verified,
            self.data_verified,
        ):
            if part is not None and hasattr(part, "_repr_html_"):
                parts.append(part._repr_html_())
        return "".join(parts)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form for automation."""

        def dump(part: Any) -> Any:
            return part.to_dict() if part is not None and hasattr(part, "to_dict") else None

        return {
            "ok": self.ok,
            "needs_attention": self.needs_attention,
            "namespaces": self.namespaces,
            "source_provider": self.source_provider,
            "target_provider": self.target_provider,
            "completed": self.completed,
            "timings": self.timings,
            "objects_by_kind": self.objects_by_kind,
            "workdir": self.workdir,
            "translation": dump(self.translation),
            "policy": dump(self.policy),
            "plan": dump(self.plan),
            "apply": dump(self.applied),
            "wait": dump(self.waited),
            "verify": dump(self.verified),
            "volumes": dump(self.volumes),
            "quiesce": dump(self.quiesced),
            "verify_data": dump(self.data_verified),
            "downtime_seconds": self.downtime_seconds,
        }

    # -- notebooks --------------------------------------------------------------------------------
    def to_dataframe(self) -> pandas.DataFrame:
        """One row per step of :data:`STEPS`, in order (needs pandas: ``pip install 'portkit[notebook]'``).

        Columns: ``step``, ``status`` (``completed`` or ``not run``), ``seconds`` (of its last run; None when
        it never ran).
        """
        from portkit.frames import dataframe

        rows = [
            {
                "step": step,
                "status": "completed" if step in self.completed else "not run",
                "seconds": self.timings.get(step),
            }
            for step in STEPS
        ]
        return dataframe(rows, ("step", "status", "seconds"))

    def plot_timings(self, *, ax: Axes | None = None) -> Axes:
        """A chart of the seconds each step took (the steps that ran, in order; needs matplotlib:
        ``pip install 'portkit[notebook]'``); returns the Axes."""
        from portkit.charts import plot_timings

        timings: dict[str, float] = {step: self.timings[step] for step in STEPS if step in self.timings}
        total = sum(timings.values())
        return plot_timings(timings, title=f"Migration of {', '.join(self.namespaces)}: {total:.0f} s in steps", ax=ax)


def _target_name(target: str | Sequence[str]) -> str:
    return target if isinstance(target, str) else "+".join(target)


class Migration:
    """A whole migration of namespaces from one cluster to another, with one resumable work directory.

    Args:
        source: the source :class:`Cluster`.
        target: the target :class:`Cluster`.
        namespaces: namespaces to move.
        source_provider: provider of the source (``"aws"``); None: detected during export.
        target_provider: provider profile(s) of the target (``"ionos"``, ``"rook-ceph+metallb"``).
        volumes: ``None`` (PVCs are re-created empty by the apply) or ``"velero"`` (PVCs and their data
            come from a Velero backup/restore; workloads are applied after them).
        namespace_map: ``{"shop": "shop-eu"}``.
        mappings: translation overrides (see :func:`portkit.translate`).
        rules: user translation rules (see :func:`portkit.translate`).
        workdir: where every step keeps its output (created).
        selector: label selector for the export.
        wait: wait for readiness after the apply.
        timeout: seconds for the readiness wait.
        allow_blockers: continue past lint/plan blockers (not recommended); policy violations included.
        on_event: callable receiving :class:`MigrationEvent` objects.
        encryption_key: key to encrypt the Secrets of the export and the translated bundle in ``workdir``
            (and to read them back when resuming); default ``$PORTKIT_BUNDLE_KEY``. Never shown or logged.
        policies: OPA/Rego and Gatekeeper policies (a directory or files; see :mod:`portkit.policy`): the
            lint step checks the translated objects, as they would be applied, against them and stops the
            migration before anything is written when a policy denies one (``lint.json`` and the report
            list every violation per object). A resumed migration whose policies changed is checked again.
        policy_namespaces: only these Rego packages (conftest's ``--namespace``); default all.
        allow_policy_violations: go on despite policy violations (they stay in the report).
        velero_options: keyword arguments for the volume step (:func:`portkit.volumes.migrate_volumes`), e.g.
            ``{"data_path": "data-mover", "binary": "/usr/local/bin/velero", "timeout": 3600}``.
        quiesce: stop the writers before the volume data is copied: the source's Deployments and StatefulSets
            are scaled to zero (their replicas recorded first in ``workdir/quiesce.json``), volume-holder pods
            keep the claims mounted for Velero, and the target gets the recorded replicas; the report gives the
            downtime (first scale-down → target workloads ready). :meth:`rollback` scales the source back.
            See :mod:`portkit.volumes.quiesce`.
        verify_data: once the target is ready, compare every claim's files on both sides
            (:func:`portkit.verify_data`); the report is not ``ok`` when anything differs.
        helper_image: image of the data-checker and volume-holder pods (a busybox; default
            :data:`portkit.volumes.verify.DEFAULT_IMAGE`); your registry's copy in air-gapped clusters.
    """

    def __init__(
        self,
        source: Cluster,
        target: Cluster,
        namespaces: Sequence[str] | str,
        *,
        source_provider: str | None = None,
        target_provider: str | Sequence[str] | None = None,
        volumes: VolumeMode | None = None,
        namespace_map: Mapping[str, str] | None = None,
        mappings: Mapping[str, Any] | None = None,
        rules: RulesInput = None,
        workdir: str | os.PathLike[str] = "portkit-migration",
        selector: str | None = None,
        wait: bool = True,
        timeout: float = 600,
        allow_blockers: bool = False,
        on_event: Callable[[MigrationEvent], None] | None = None,
        velero_options: Mapping[str, Any] | None = None,
        encryption_key: str | bytes | None = None,
        quiesce: bool = False,
        verify_data: bool = False,
        helper_image: str = DEFAULT_IMAGE,
        policies: PolicyPaths | None = None,
        policy_namespaces: Sequence[str] | None = None,
        allow_policy_violations: bool = False,
    ) -> None:
        if target_provider is None:
            raise ConfigurationError(
                'Migration needs target_provider= (e.g. "ionos").', hint="See `portkit providers` for the names."
            )
        if volumes not in (None, "velero"):
            raise ConfigurationError(f"volumes={volumes!r} is not supported.", hint='Use None or "velero".')
        self.source = source
        self.target = target
        self.namespaces = [namespaces] if isinstance(namespaces, str) else list(namespaces)
        if not self.namespaces:
            raise ConfigurationError("Migration needs at least one namespace.")
        self.source_provider = source_provider
        self.target_provider = target_provider
        self.volume_mode = volumes
        self.namespace_map = dict(namespace_map or {})
        self.mappings = dict(mappings or {})
        self.rules = rules
        self.selector = selector
        self.wait_enabled = wait
        self.timeout = timeout
        self.allow_blockers = allow_blockers
        self.on_event = on_event
        self.velero_options = dict(velero_options or {})
        self.quiesce_enabled = quiesce
        self.verify_data_enabled = verify_data
        self.helper_image = helper_image
        self.policies = policies
        self.policy_namespaces = list(policy_namespaces) if policy_namespaces is not None else None
        self.allow_policy_violations = allow_policy_violations
        self._policy: PolicyResult | None = None
        self._encryption_key = encryption_key
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True, mode=0o700)  # it holds the exported Secrets
        self._state = self._load_state()
        self._bundle: Bundle | None = None
        self._translation: Translation | None = None
        self._plan: Plan | None = None
        self._applied: ApplyResult | None = None
        self._waited: WaitResult | None = None
        self._verified: VerifyResult | None = None
        self._volumes: VolumeMoveResult | None = None
        self._quiesced: QuiesceState | None = None
        self._data_verified: DataVerifyResult | None = None
        self._clusters_checked = False

    def __repr__(self) -> str:
        done = self._state["completed"]
        return (
            f"<Migration {','.join(self.namespaces)} → {_target_name(self.target_provider or '?')} "
            f"workdir={self.workdir} done={done[-1] if done else 'nothing'}>"
        )

    # -- state ---------------------------------------------------------------------------------------
    @property
    def completed(self) -> list[str]:
        """Steps completed so far (in this run or an earlier one)."""
        return list(self._state["completed"])

    def _state_path(self) -> Path:
        return self.workdir / "state.json"

    def _load_state(self) -> dict[str, Any]:
        try:
            state: dict[str, Any] = json.loads(self._state_path().read_text())
        except FileNotFoundError:
            return {"completed": [], "timings": {}, "source_provider": None}
        except ValueError as exc:
            raise ConfigurationError(
                f"The migration state {self._state_path()} is corrupt.",
                hint="Remove it to start the migration again from the export.",
            ) from exc
        if state.get("namespaces") not in (None, self.namespaces):
            raise ConfigurationError(
                f"{self.workdir} holds a migration of {state['namespaces']}, not {self.namespaces}.",
                hint="Use another workdir for another set of namespaces.",
            )
        return state

    def _save_state(self) -> None:
        self._state["namespaces"] = self.namespaces
        write_private_text(self._state_path(), json.dumps(self._state, indent=2) + "\n")

    def _write_json(self, name: str, data: Any) -> None:
        """A report file in the workdir: 0600, replaced atomically (it may name Secrets; values are redacted)."""
        write_private_text(self.workdir / name, json.dumps(data, indent=2, default=str) + "\n")

    def _check_clusters(self) -> None:
        """Refuse a work directory of other clusters; record the clusters' identities in it on first use.

        Each cluster is named by its API server (password redacted) and its ``kube-system`` uid (see
        :mod:`portkit.replay.identity`). A work directory of an older portkit records none: the clusters of
        this run are recorded (the apply journal still checks its own).
        """
        if self._clusters_checked:
            return
        recorded = self._state.get("clusters") or {}
        if not isinstance(recorded, dict):
            recorded = {"invalid": recorded}
        current = {"source": cluster_identity(self.source), "target": cluster_identity(self.target)}
        for role, given in current.items():
            if role not in recorded:
                continue
            try:
                was = ClusterIdentity.from_dict(recorded[role])
            except ValueError as exc:
                raise ConfigurationError(
                    f"The migration state {self._state_path()} is corrupt: {exc}.",
                    hint="Use a new workdir, or remove the file to start the migration again from the export.",
                ) from exc
            if not was.same_cluster(given):
                raise ClusterMismatchError(
                    f"{self.workdir} holds a migration whose {role} cluster is {was.describe()}, not "
                    f"{given.describe()}; nothing was done.",
                    recorded=was.describe(),
                    given=given.describe(),
                    hint=f"Use another workdir for other clusters, or pass the {role} cluster this migration "
                    "was started with.",
                )
        self._state["clusters"] = {role: ident.to_dict() for role, ident in current.items()}
        self._save_state()
        self._clusters_checked = True

    def _emit(self, kind: EventKind, step: Step, message: str = "", **data: Any) -> None:
        if kind != "warning":
            log.info("migration %s: %s", ",".join(self.namespaces), message)
        elif step == "translate":  # one per translation warning (thousands): the translation report lists them
            log.debug("translation warning: %s", message)
        else:
            log.warning("%s: %s", step, message)
        if self.on_event is not None:
            self.on_event(MigrationEvent(kind, step, message, data))

    def _step(self, name: Step, fn: Callable[[], _T]) -> _T:
        self._check_clusters()
        self._emit("step_start", name, f"{name} started")
        started = time.monotonic()
        with observe.current().step(name):  # the span of the step's function, if it has one, is this one
            result = fn()
        seconds = time.monotonic() - started
        self._state["timings"][name] = round(seconds, 3)
        if name not in self._state["completed"]:
            self._state["completed"].append(name)
        self._save_state()
        self._emit("step_end", name, f"{name} done in {seconds:.1f} s", seconds=seconds)
        return result

    # -- steps ---------------------------------------------------------------------------------------
    def export(self) -> Bundle:
        """Export the namespaces from the source into ``workdir/export`` (or load it if already done)."""
        if self._bundle is not None:
            return self._bundle
        path = self.workdir / "export"
        if "export" in self._state["completed"]:
            self._bundle = Bundle.load(path, key=self._encryption_key)
            return self._bundle

        def run() -> Bundle:
            return export_bundle(
                self.source, self.namespaces, path, selector=self.selector, encryption_key=self._encryption_key
            )

        self._bundle = self._step("export", run)
        provider = (self._bundle.meta.get("source") or {}).get("provider")
        self._state["source_provider"] = provider
        self._save_state()
        return self._bundle

    @property
    def resolved_source_provider(self) -> str:
        """The source provider: given, or detected by the export."""
        provider = self.source_provider or self._state.get("source_provider")
        if not provider:
            self.export()
            provider = self._state.get("source_provider")
        if not provider:
            raise ConfigurationError(
                "The source provider could not be detected from the cluster.",
                hint='Pass source_provider= (CLI: --from), e.g. "aws".',
            )
        return str(provider)

    def translate(self) -> Translation:
        """Translate the exported bundle (pure; recomputed from the export when resuming)."""
        if self._translation is not None:
            return self._translation
        bundle = self.export()

        def compute() -> Translation:
            return translate(
                bundle,
                source=self.resolved_source_provider,
                target=self.target_provider,
                rules=self.rules,
                mappings=self.mappings,
            )

        if "translate" in self._state["completed"]:  # pure and deterministic: recompute, nothing to redo
            self._translation = compute()
            return self._translation

        def run() -> Translation:
            t = compute()
            t.bundle.save(self.workdir / "translated")
            self._write_json("translation.json", t.to_dict())
            for w in t.warnings:
                self._emit("warning", "translate", str(w))
            return t

        self._translation = self._step("translate", run)
        return self._translation

    def lint(self) -> list[str]:
        """Provider residue left after translation, and the policy check (``policies=``); stops the migration
        unless ``allow_blockers`` (policy violations also with ``allow_policy_violations``)."""
        t = self.translate()

        def run() -> list[str]:
            residue = lint_residue(t, self.resolved_source_provider, self.target_provider or "", self.mappings)
            self._policy = self._check_policies()
            self._write_json(
                "lint.json", {"residue": residue, "policy": self._policy.to_dict() if self._policy else None}
            )
            problems: list[str] = []
            hints: list[str] = []
            if residue and not self.allow_blockers:
                problems.append(
                    f"{len(residue)} source-provider leftovers would not work on the target: "
                    + "; ".join(residue[:10])
                    + ("; ..." if len(residue) > 10 else "")
                    + "."
                )
                hints.append("Add mappings or rules for them, or pass allow_blockers=True (CLI: --allow-blockers).")
            if self._policy is not None and self._policy.blocked:
                denied = self._policy.denied
                problems.append(
                    f"{len(denied)} policy violations (details in {self.workdir / 'lint.json'}): "
                    + "; ".join(str(v) for v in denied[:10])
                    + ("; ..." if len(denied) > 10 else "")
                    + "."
                )
                hints.append(
                    "Fix the objects (mappings, rules) or the policies, or pass "
                    "allow_policy_violations=True (CLI: --allow-policy-violations)."
                )
            if problems:
                raise MigrationBlocked(" ".join(problems), hint=" ".join(hints))
            self._state["policy_digest"] = policy_digest(self.policies, self.policy_namespaces)
            return residue

        result: list[str] = self._step("lint", run)
        return result

    def _check_policies(self) -> PolicyResult | None:
        """The translated objects the apply writes, namespaces mapped, against ``policies``."""
        if self.policies is None:
            return None
        objects = map_namespaces(self._objects_to_apply(), self.namespace_map or None).objects
        result = check_policies(
            objects,
            self.policies,
            namespaces=self.policy_namespaces,
            overridden=self.allow_policy_violations or self.allow_blockers,
        )
        for v in result.denied if result.overridden else ():
            self._emit("warning", "lint", f"policy violation (overridden): {v}")
        for v in result.warned:
            self._emit("warning", "lint", f"policy warning: {v}")
        return result

    def _lint_is_current(self) -> bool:
        """The lint step was done, against the policies given now."""
        return "lint" in self._state["completed"] and self._state.get("policy_digest") == policy_digest(
            self.policies, self.policy_namespaces
        )

    def _load_policy_result(self) -> None:
        try:
            data = json.loads((self.workdir / "lint.json").read_text()).get("policy")
        except (OSError, ValueError, AttributeError):
            return
        if isinstance(data, dict):
            self._policy = PolicyResult.from_dict(data)

    @property
    def _quiesce_record(self) -> Path:
        return self.workdir / "quiesce.json"

    def quiesce(self) -> QuiesceState | None:
        """Scale the source's writers to zero and mount the claims in holder pods (``quiesce=True``)."""
        if not self.quiesce_enabled:
            return self._step("quiesce", lambda: None)
        self.export()  # the bundle keeps the replicas the target gets

        def run() -> QuiesceState:
            state = quiesce(
                self.source, self.namespaces, self._quiesce_record, image=self.helper_image, timeout=self.timeout
            )
            if self.volume_mode is None:  # no volume move: nothing needs the holders
                delete_holders(self.source, self.namespaces)
            return state

        self._quiesced = self._step("quiesce", run)
        return self._quiesced

    def volumes(self) -> VolumeMoveResult | None:
        """Move volume data (``volumes="velero"``); nothing to do otherwise."""
        if self.volume_mode is None:
            return self._step("volumes", lambda: None)
        t = self.translate()

        def run() -> VolumeMoveResult:
            from portkit.volumes import migrate_volumes

            options = dict(self.velero_options)
            if self.quiesce_enabled:
                # the apps are down: the backup's pods are portkit's holders; restore them (they receive the
                # data) with the claims, and let the apply create the workloads with their recorded replicas
                options.setdefault("include_resources", ("persistentvolumeclaims", "persistentvolumes", "pods"))
            result = migrate_volumes(
                source=self.source,
                target=self.target,
                namespaces=self.namespaces,
                namespace_map=self.namespace_map,
                translation=t,
                source_provider=self.resolved_source_provider,
                target_provider=_target_name(self.target_provider or ""),
                workdir=self.workdir / "volumes",
                **options,
            )
            if self.quiesce_enabled:
                delete_holders(self.source, self.namespaces)
                delete_holders(self.target, [self.namespace_map.get(ns, ns) for ns in self.namespaces])
            return result

        self._volumes = self._step("volumes", run)
        return self._volumes

    def _objects_to_apply(self) -> list[dict[str, Any]]:
        """The translated objects the apply writes.

        PersistentVolumes are never replayed as they are (they name the source's disks, nodes and zones):
        without a volume mover the claims get new, empty volumes from the target's StorageClasses; with
        ``volumes="velero"`` claims and volumes come from the Velero restore.
        """
        skip = {_PV, _PVC} if self.volume_mode == "velero" else {_PV}
        return [
            o
            for o in self.translate().bundle
            if (str(o.get("apiVersion", "v1")).rpartition("/")[0], o.get("kind")) not in skip
        ]

    def plan(self) -> Plan:
        """Plan the apply against the live target (always fresh; nothing is written)."""

        def run() -> Plan:
            p = make_plan(self._objects_to_apply(), self.target, namespace_map=self.namespace_map or None)
            self._write_json("plan.json", p.to_dict())
            if not self.allow_blockers and (p.blockers or p.errors):
                raise MigrationBlocked(
                    f"The plan is blocked: {len(p.blockers)} blockers, {len(p.errors)} objects the target rejects "
                    f"(details in {self.workdir / 'plan.json'}). " + "; ".join(str(b) for b in p.blockers[:5]),
                    hint="Fix them on the target or in the translation, then run the migration again.",
                )
            return p

        self._plan = self._step("plan", run)
        return self._plan

    def apply(self) -> ApplyResult:
        """Apply the plan (journaled in ``workdir/apply``: a second run resumes and skips what is done)."""
        p = self._plan or self.plan()

        def run() -> ApplyResult:
            result = apply_plan(p, wait=False, workdir=self.workdir / "apply")
            self._write_json("apply.json", result.to_dict())
            failed = [o for o in result.objects if getattr(o, "error", "")]
            if failed:
                raise PortkitError(
                    f"{len(failed)} objects were not applied (details in {self.workdir / 'apply.json'}).",
                    hint="Fix the cause and run the migration again: what was applied is not redone.",
                )
            return result

        self._applied = self._step("apply", run)
        return self._applied

    def wait(self) -> WaitResult | None:
        """Wait until workloads are rolled out, claims bound and jobs complete."""
        if not self.wait_enabled:
            return self._step("wait", lambda: None)
        p = self._plan or self.plan()

        def run() -> WaitResult:
            result = wait_ready(self.target, [a.obj for a in p.actions], timeout=self.timeout)
            if not result.ready_all:
                for item in result.not_ready:
                    self._emit("warning", "wait", str(item))
            if self._volumes is not None:  # the restored claims bind once their workloads exist
                from portkit.volumes import refresh_volumes

                self._volumes = refresh_volumes(self._volumes, self.target)
            self._record_downtime()
            return result

        self._waited = self._step("wait", run)
        return self._waited

    def _record_downtime(self) -> None:
        state = self._quiesced or QuiesceState.load(self._quiesce_record)
        if state is not None and state.started_at and "downtime_seconds" not in self._state:
            self._state["downtime_seconds"] = round(time.time() - state.started_at, 3)
            self._save_state()

    def verify(self) -> VerifyResult:
        """Check every object is in the target with the fields portkit set."""

        def run() -> VerifyResult:
            result = verify(self._objects_to_apply(), self.target, namespace_map=self.namespace_map or None)
            self._write_json("verify.json", result.to_dict())
            return result

        self._verified = self._step("verify", run)
        return self._verified

    def verify_data(self) -> DataVerifyResult | None:
        """Compare every claim's files in the source and the target (``verify_data=True``)."""
        if not self.verify_data_enabled:
            return self._step("verify_data", lambda: None)

        def run() -> DataVerifyResult:
            result = run_verify_data(
                self.source,
                self.target,
                self.namespaces,
                namespace_map=self.namespace_map or None,
                image=self.helper_image,
                timeout=self.timeout,
            )
            self._write_json("verify-data.json", result.to_dict())
            if not result.ok:
                self._emit("warning", "verify_data", repr(result))
            return result

        self._data_verified = self._step("verify_data", run)
        return self._data_verified

    def rollback(self) -> dict[str, Any]:
        """Undo the migration: delete what the apply created in the target and give the source its replicas
        back (when it was quiesced). Returns what was done."""
        from portkit.replay import rollback as rollback_apply

        done: dict[str, Any] = {}
        if (self.workdir / "apply" / "journal.jsonl").exists():
            done["target"] = rollback_apply(self.workdir / "apply", self.target).to_dict()
        done["source_scaled_back"] = unquiesce(self.source, self._quiesce_record, namespaces=self.namespaces)
        return done

    # -- whole run -----------------------------------------------------------------------------------
    def run(self) -> MigrationReport:
        """Run every step not completed yet, in order, and return the report."""
        obs = observe.current()
        obs.track_cluster(self.source, "source")
        obs.track_cluster(self.target, "target")
        with obs.span(
            "portkit.migration",
            namespaces=self.namespaces,
            target_provider=_target_name(self.target_provider or ""),
            workdir=str(self.workdir),
        ) as span:
            span.set(resumed_after=sorted(self._state["completed"]) or None)
            log.info(
                "migration of %s from %s to %s (%s), work directory %s%s",
                ",".join(self.namespaces),
                self.source.name or self.source.server,
                self.target.name or self.target.server,
                _target_name(self.target_provider or ""),
                self.workdir,
                f"; resuming after {self._state['completed'][-1]}" if self._state["completed"] else "",
            )
            obs.info(
                "migration_info",
                {
                    "namespaces": ",".join(self.namespaces),
                    "target_provider": _target_name(self.target_provider or ""),
                    "source_provider": self.source_provider or self._state.get("source_provider") or "?",
                },
            )
            self._run_steps()
            report = self.report()
            self._observe_report(obs, span, report)
        log.info(
            "migration of %s %s: %d objects",
            ",".join(self.namespaces),
            "done" if report.ok else f"stopped after {report.completed[-1] if report.completed else 'nothing'}",
            sum(report.objects_by_kind.values()),
        )
        return report

    def _run_steps(self) -> None:
        done = set(self._state["completed"])
        for name in STEPS:
            if name == "lint" and name in done and not self._lint_is_current():
                self.lint()  # the policies changed since: check again (offline) before going on
                continue
            if name in done and name in ("export", "translate", "lint", "quiesce", "volumes"):
                self._emit("step_skipped", name, f"{name} already done")
                if name in ("export", "translate"):
                    getattr(self, name)()  # load/recompute its output for the later steps
                if name == "lint":
                    self._load_policy_result()
                continue
            getattr(self, name)()

    def _observe_report(self, obs: observe.Observer, span: observe.SpanHandle, report: MigrationReport) -> None:
        obs.info(
            "migration_info",
            {
                "namespaces": ",".join(self.namespaces),
                "source_provider": report.source_provider,
                "target_provider": report.target_provider,
            },
        )
        if report.downtime_seconds is not None:
            obs.set("downtime", report.downtime_seconds)
        span.set(
            source_provider=report.source_provider,
            ok=report.ok,
            needs_attention=report.needs_attention,
            objects=sum(report.objects_by_kind.values()),
            downtime_seconds=report.downtime_seconds,
        )

    def report(self) -> MigrationReport:
        """The report of what has been done so far."""
        counts: Counter[str] = Counter()
        if self._translation is not None:
            for obj in self._objects_to_apply():
                counts[str(obj.get("kind"))] += 1
        return MigrationReport(
            namespaces=self.namespaces,
            source_provider=str(self.source_provider or self._state.get("source_provider") or "?"),
            target_provider=_target_name(self.target_provider or "?"),
            completed=self.completed,
            timings=dict(self._state["timings"]),
            objects_by_kind=dict(sorted(counts.items())),
            translation=self._translation,
            plan=self._plan,
            applied=self._applied,
            waited=self._waited,
            verified=self._verified,
            volumes=self._volumes,
            workdir=str(self.workdir),
            data_verified=self._data_verified,
            downtime_seconds=self._state.get("downtime_seconds"),
            quiesced=self._quiesced,
            policy=self._policy,
        )
