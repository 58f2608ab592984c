"""``apply()``: write a plan into the target in dependency-ordered waves, journaled, resumable; ``rollback()``.

Objects new to the target are created (POST, field manager ``portkit``); objects that exist get a
server-side apply with field manager ``portkit`` (after the fields of portkit's own creates are handed
to its apply identity, see :mod:`portkit.replay.ownership`). Objects in one wave are applied
concurrently (``workers`` at a time); a wave starts when the previous one is done; CRDs are waited for
until Established before custom resources are applied. Each accepted object is recorded in a journal
(``workdir``) with the sha256 of what was sent, so a run killed at any point resumes where it stopped and
re-applying the same plan writes nothing.
"""

from __future__ import annotations

import logging
import os
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor
from concurrent.futures import wait as wait_futures
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, get_args

import attrs

from portkit import observe
from portkit.cluster import Cluster
from portkit.display import escape_control, html_table, text_table, truncate
from portkit.errors import (
    ApiError,
    ApplyError,
    ClusterMismatchError,
    ClusterUnreachableError,
    ConfigurationError,
    ConflictError,
    NotFoundError,
    PortkitError,
)
from portkit.model import ObjectRef, get_path
from portkit.redact import redact_message
from portkit.replay.identity import ClusterIdentity, cluster_identity
from portkit.replay.journal import Journal, JournalEntry
from portkit.replay.order import WAVE_NAMES
from portkit.replay.ownership import only_own_conflicts, upgrade_ownership
from portkit.replay.plan import FIELD_MANAGER, Action, ActionOp, Plan
from portkit.replay.wait import WaitResult, wait_ready

if TYPE_CHECKING:
    import pandas
    from matplotlib.axes import Axes

__all__ = [
    "OUTCOMES",
    "ApplyInterrupted",
    "ApplyResult",
    "ObjectResult",
    "OnError",
    "Outcome",
    "RollbackResult",
    "apply",
    "rollback",
]

log = logging.getLogger(__name__)

#: What happened to an object in an apply.
Outcome = Literal["created", "updated", "unchanged", "skipped", "failed", "dry-run"]
OUTCOMES: tuple[Outcome, ...] = get_args(Outcome)
#: What apply does when an object fails: ``continue`` with the others, or ``stop`` after the running wave.
OnError = Literal["continue", "stop"]
#: The columns of :meth:`ApplyResult.to_dataframe`.
APPLY_FRAME_COLUMNS = ("outcome", "op", "object", "kind", "group", "namespace", "name", "wave", "seconds", "message")

_CRD_WAVE = WAVE_NAMES.index("crds")


@attrs.frozen
class ObjectResult:
    """What apply did with one object.

    Attributes:
        ref: the object.
        op: what the plan said (``create``, ``update``, ...).
        outcome: ``created``, ``updated``, ``unchanged``, ``skipped``, ``failed`` or ``dry-run``.
        message: the API's message for failures; why for skips.
        wave: the wave name.
        seconds: how long its write took (retries included; 0 when nothing was sent).
    """

    ref: ObjectRef
    op: ActionOp
    outcome: Outcome
    message: str = ""
    wave: str = ""
    seconds: float = 0.0

    @property
    def error(self) -> str:
        """The API's message when the object failed, else ``""``."""
        return self.message if self.outcome == "failed" else ""

    def to_dict(self) -> dict[str, Any]:
        """Plain dict form."""
        return {
            "ref": self.ref.to_dict(),
            "object": str(self.ref),
            "op": self.op,
            "outcome": self.outcome,
            "message": self.message,
            "wave": self.wave,
            "seconds": round(self.seconds, 4),
        }


@attrs.define(eq=False)
class ApplyResult:
    """The result of :func:`apply`.

    Attributes:
        objects: one :class:`ObjectResult` per object of the plan, in plan order.
        writes: write requests sent (server-side applies; 0 for a dry run or a no-op re-apply).
        requests: HTTP requests made, reads and retries included (when the Cluster counts them).
        dry_run: whether this was a server-side dry run.
        workdir: where the journal is (None: kept in memory with the plan).
        stopped: True when ``on_error="stop"`` ended the run early.
        waited: the readiness result when ``wait=True``.
        seconds: how long the apply took.
    """

    objects: list[ObjectResult]
    writes: int = 0
    requests: int = 0
    dry_run: bool = False
    workdir: str | None = None
    stopped: bool = False
    waited: WaitResult | None = None
    seconds: float = 0.0
    run_id: str = ""
    journal: Journal | None = attrs.field(default=None, repr=False)
    cluster: Cluster | None = attrs.field(default=None, repr=False)

    @property
    def failed(self) -> list[ObjectResult]:
        """Objects the API rejected (or that could not be applied)."""
        return [o for o in self.objects if o.outcome == "failed"]

    @property
    def ok(self) -> bool:
        """True when every object was applied and, if waited for, everything became ready."""
        return not self.failed and not self.stopped and (self.waited is None or self.waited.ready_all)

    def counts(self) -> dict[str, int]:
        """Objects per outcome (every outcome present)."""
        found = Counter(o.outcome for o in self.objects)
        return {k: found.get(k, 0) for k in OUTCOMES}

    def result(self, kind: str, name: str, namespace: str | None = None) -> ObjectResult | None:
        """The result of one object."""
        for o in self.objects:
            if o.ref.kind == kind and o.ref.name == name and (namespace is None or o.ref.namespace == namespace):
                return o
        return None

    def _summary(self) -> str:
        counts = ", ".join(f"{n} {k}" for k, n in self.counts().items() if n) or "nothing"
        return f"{counts}; {self.writes} writes in {self.seconds:.1f}s"

    def __repr__(self) -> str:
        state = "ok" if self.ok else "FAILED"
        return f"<ApplyResult {state}: {self._summary()}>"

    def to_text(self) -> str:
        """Human-readable result."""
        head = "Dry run" if self.dry_run else "Apply"
        lines = [f"{head} {'finished' if self.ok else 'did not complete'}: {self._summary()}."]
        if self.stopped:
            lines.append("Stopped after the first failure (on_error='stop'); apply again to continue.")
        if self.failed:
            lines.append(f"\nFailed ({len(self.failed)}):")
            lines.extend(f"  - {escape_control(o.ref)}: {escape_control(o.message)}" for o in self.failed)
        if self.waited is not None:
            lines.append("")
            lines.append(self.waited.to_text())
        if self.workdir:
            lines.append(f"\nJournal: {self.workdir}")
        changed = [[o.outcome, o.wave, str(o.ref)] for o in self.objects if o.outcome in ("created", "updated")]
        if changed:
            lines.append("")
            lines.append(text_table(["outcome", "wave", "object"], changed, max_rows=100))
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        rows = [[o.outcome, o.wave, str(o.ref), o.message] for o in self.objects]
        parts = [html_table(["outcome", "wave", "object", "message"], rows, title=repr(self))]
        if self.waited is not None:
            parts.append(self.waited._repr_html_())
        return "".join(parts)

    def to_dict(self) -> dict[str, Any]:
        """Plain dict form."""
        return {
            "ok": self.ok,
            "dry_run": self.dry_run,
            "counts": self.counts(),
            "writes": self.writes,
            "requests": self.requests,
            "seconds": round(self.seconds, 3),
            "stopped": self.stopped,
            "workdir": self.workdir,
            "run_id": self.run_id,
            "failed": [o.to_dict() for o in self.failed],
            "objects": [o.to_dict() for o in self.objects],
            "wait": self.waited.to_dict() if self.waited is not None else None,
        }

    # -- notebooks --------------------------------------------------------------------------------
    def to_dataframe(self) -> pandas.DataFrame:
        """One row per object of the plan (needs pandas: ``pip install 'portkit[notebook]'``).

        Columns: ``outcome``, ``op`` (what the plan said), ``object``, ``kind``, ``group``, ``namespace``,
        ``name``, ``wave``, ``seconds`` (its write, retries included; 0 when nothing was sent), ``message``.
        """
        from portkit.frames import dataframe, ref_columns

        rows = [
            {
                "outcome": o.outcome,
                "op": o.op,
                **ref_columns(o.ref),
                "wave": o.wave,
                "seconds": o.seconds,
                "message": o.message,
            }
            for o in self.objects
        ]
        return dataframe(rows, APPLY_FRAME_COLUMNS)

    def plot_waves(self, *, ax: Axes | None = None) -> Axes:
        """A chart of the objects per apply wave, stacked by outcome (needs matplotlib:
        ``pip install 'portkit[notebook]'``); returns the Axes."""
        from portkit.charts import format_seconds, plot_waves

        head = "Dry run" if self.dry_run else "Apply"
        return plot_waves(
            [(o.wave, o.outcome) for o in self.objects],
            waves=WAVE_NAMES,
            categories=OUTCOMES,
            title=f"{head} in {format_seconds(self.seconds)}: objects per wave",
            ax=ax,
        )


class ApplyInterrupted(ApplyError):
    """Apply stopped because the target became unreachable; ``result`` holds what was done so far.

    The journal keeps every object already applied: run apply again (with the same workdir) to resume.
    """

    def __init__(self, message: str, *, result: ApplyResult, hint: str | None = None) -> None:
        self.result = result
        super().__init__(message, hint=hint)


@attrs.define(eq=False)
class RollbackResult:
    """The result of :func:`rollback`: what was deleted, what was left and why."""

    deleted: list[ObjectRef]
    kept: list[tuple[ObjectRef, str]]
    failed: list[tuple[ObjectRef, str]]
    #: what the user must know (e.g. that the cluster check was overridden with ``allow_other_cluster``)
    warnings: list[str] = attrs.field(factory=list)

    @property
    def ok(self) -> bool:
        """True when every object to delete was deleted."""
        return not self.failed

    def __repr__(self) -> str:
        return f"<RollbackResult {len(self.deleted)} deleted, {len(self.kept)} kept, {len(self.failed)} failed>"

    def to_text(self) -> str:
        """Human-readable result (names escaped for terminals)."""
        lines = [f"WARNING: {w}" for w in self.warnings]
        lines.append(repr(self))
        lines.extend(f"  deleted {escape_control(r)}" for r in self.deleted)
        lines.extend(f"  kept {escape_control(r)}: {escape_control(why)}" for r, why in self.kept)
        lines.extend(f"  FAILED {escape_control(r)}: {escape_control(why)}" for r, why in self.failed)
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        rows = [["deleted", str(r), ""] for r in self.deleted]
        rows += [["kept", str(r), why] for r, why in self.kept]
        rows += [["failed", str(r), why] for r, why in self.failed]
        return html_table(["outcome", "object", "why"], rows, title=repr(self))

    def to_dict(self) -> dict[str, Any]:
        """Plain dict form."""
        return {
            "ok": self.ok,
            "deleted": [str(r) for r in self.deleted],
            "kept": [{"object": str(r), "why": w} for r, w in self.kept],
            "failed": [{"object": str(r), "why": w} for r, w in self.failed],
            "warnings": list(self.warnings),
        }


# ---------------------------------------------------------------------------------------------------
class _Progress:
    def __init__(self, total: int, enabled: bool | Callable[[int, int], None]) -> None:
        self._bar: Any = None
        self._callback = enabled if callable(enabled) else None
        self._total = total
        self._done = 0
        if self._callback is not None:
            self._callback(0, total)
        elif enabled and total:
            try:
                from tqdm.auto import tqdm

                self._bar = tqdm(total=total, desc="apply", unit="obj")
            except ImportError:  # pragma: no cover - tqdm is an optional extra
                self._bar = None

    def step(self, n: int = 1) -> None:
        if self._callback is not None:
            self._done += n
            self._callback(self._done, self._total)
        if self._bar is not None:
            self._bar.update(n)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()


def _wait_crds_established(cluster: Cluster, actions: Iterable[Action], timeout: float) -> list[str]:
    """Wait until every applied CRD is Established; return problems for those that are not."""
    names = [a.ref.name for a in actions]
    if not names:
        return []
    resource = cluster.resource_for("apiextensions.k8s.io/v1", "CustomResourceDefinition")
    deadline = time.monotonic() + timeout
    pending = set(names)
    while pending:
        for name in sorted(pending):
            try:
                crd = cluster.get(resource, name)
            except NotFoundError:
                continue
            for cond in get_path(crd, "status", "conditions", default=[]) or []:
                if cond.get("type") == "Established" and cond.get("status") == "True":
                    pending.discard(name)
        if not pending or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    cluster.invalidate_discovery()
    return [f"CustomResourceDefinition {n} was not Established within {timeout:.0f}s" for n in sorted(pending)]


def _created_by_us(response: dict[str, Any]) -> bool:
    managers = {m.get("manager") for m in get_path(response, "metadata", "managedFields", default=[]) or []}
    return managers <= {FIELD_MANAGER}


def _check_journal_cluster(
    journal: Journal,
    current: Callable[[], ClusterIdentity],
    *,
    where: str,
    nothing_done: str,
    hint: str,
    allow_other: bool = False,
) -> list[str]:
    """Raise :class:`ClusterMismatchError` unless every run of ``journal`` went to the current cluster.

    Records are parsed and validated (never matched as text). A journal with object records but no
    ``run`` record says nothing about its cluster and is refused too. With ``allow_other`` the check
    only returns the warning to show instead of raising.
    """
    recorded = journal.identities()
    given: ClusterIdentity | None = None
    if recorded:
        given = current()
        others = [r for r in recorded if not r.same_cluster(given)]
        if not others:
            return []
        problem = f"{where} holds the journal of an apply to {others[0].describe()}, not {given.describe()}"
    elif len(journal):
        problem = f"{where} holds apply records that do not say which cluster they belong to"
    else:
        return []
    if allow_other:
        return [f"{problem}. Going on because the cluster check was overridden (allow_other_cluster)."]
    raise ClusterMismatchError(
        f"{problem}; {nothing_done}",
        recorded=", ".join(r.describe() for r in recorded) or "unknown",
        given=given.describe() if given is not None else "",
        hint=hint,
    )


@observe.step("apply")
def apply(
    plan: Plan,
    *,
    wait: bool = False,
    timeout: float = 600,
    dry_run: bool = False,
    workdir: str | os.PathLike[str] | None = None,
    force: bool = False,
    workers: int = 16,
    progress: bool | Callable[[int, int], None] = False,
    on_error: OnError = "continue",
) -> ApplyResult:
    """Apply a plan to its target cluster.

    Args:
        plan: from :func:`portkit.plan`.
        wait: wait until Deployments, StatefulSets and DaemonSets are rolled out, PVCs bound and Jobs complete.
        timeout: seconds to wait for readiness (and for CRDs to become Established).
        dry_run: server-side dry run of every write instead of writing (no journal records).
        workdir: directory of the durable journal; apply again with the same workdir to resume a killed run.
            Without it the journal lives in memory with the plan (re-applying the same Plan object is a no-op).
        force: take ownership of fields other field managers own (server-side apply ``force``). Without
            it, conflicting objects fail with the API's list of conflicting fields.
        workers: concurrent requests within a wave.
        progress: show a progress bar (tqdm); or a callable, called with (objects done, objects in all) as
            objects finish (from the calling thread).
        on_error: ``continue`` (apply every other object, report the failures) or ``stop`` (finish the
            running wave, start no new one).

    Returns:
        An :class:`ApplyResult`; ``result.ok`` is False when an object failed or was not ready in time.

    Raises:
        ApplyError: the plan is blocked, or the journal cannot be used.
        ApplyInterrupted: the target became unreachable; the journal keeps what was done.
    """
    if on_error not in ("continue", "stop"):
        raise ConfigurationError(f"on_error={on_error!r} must be 'continue' or 'stop'.")
    if plan.blockers:
        listing = "; ".join(b.message for b in plan.blockers)
        raise ApplyError(
            f"The plan is blocked, nothing was applied: {listing}", hint="Fix the target or the bundle and plan again."
        )
    cluster = plan.cluster
    journal = Journal(workdir) if workdir is not None else plan.journal
    identity: list[ClusterIdentity] = []

    def current_identity() -> ClusterIdentity:
        if not identity:
            identity.append(cluster_identity(cluster))
        return identity[0]

    _check_journal_cluster(
        journal,
        current_identity,
        where=f"The work directory {workdir}" if workdir is not None else "The plan's journal",
        nothing_done="nothing was applied.",
        hint="To apply to this cluster use a new work directory (--workdir DIR; by default there is one per bundle "
        "and cluster); to resume or roll back that apply, point --kubeconfig/--context at the cluster it went to.",
    )
    run_id = uuid.uuid4().hex[:12]
    stats = getattr(cluster, "stats", None)
    requests_before = int(getattr(stats, "requests", 0))
    started = time.monotonic()
    run_recorded = False  # the run record is written before its first write (a no-op run leaves no trace)
    results: dict[int, ObjectResult] = {}
    writes = 0
    stopped = False
    index = {id(a): i for i, a in enumerate(plan.actions)}
    bar = _Progress(len(plan.actions), progress)

    seconds: dict[int, float] = {}  # per object: how long its write took (set by timed_apply_one)

    def done(a: Action, outcome: Outcome, message: str = "") -> None:
        i = index[id(a)]
        results[i] = ObjectResult(a.ref, a.op, outcome, message, a.wave_name, seconds.get(i, 0.0))
        bar.step()

    def failed(a: Action, api_message: str, shown: str) -> tuple[Outcome, str, bool]:
        """Journal a rejected object (unless a dry run); the outcome apply_one returns for it.

        The API server echoes field values in some Status messages: for a Secret, its values (and any value
        the message quotes) are redacted before the message is journaled or shown.
        """
        api_message, shown = redact_message(api_message, a.obj), redact_message(shown, a.obj)
        if not dry_run:
            journal.record(
                "failed", a.ref, sync=False, sha256=a.sha256, op=a.op, wave=a.wave, run=run_id, message=api_message
            )
        return "failed", shown, not dry_run

    def apply_one(a: Action) -> tuple[Outcome, str, bool]:
        """(outcome, message, wrote) for one object; ClusterUnreachableError propagates."""
        use_force = force
        attempts = 0
        deadline = time.monotonic() + 30.0
        # new objects: a plain create (much cheaper for the API server than an apply that creates); the
        # fields it owns become apply-owned before the first apply over the object (see ownership.py).
        # Not for custom resources whose CRD this run applied: the first create of a just-Established
        # kind stalls about 2 s in the API server (measured on 1.34), a server-side apply does not.
        create = a.op == "create" and not a.live_uid and not a.deferred
        adopt = a.created_ownership
        while True:
            attempts += 1
            try:
                if create:
                    response = cluster.create(a.obj, field_manager=FIELD_MANAGER, dry_run=dry_run)
                    break
                if adopt and not dry_run:
                    upgrade_ownership(cluster, a.obj, FIELD_MANAGER)
                    adopt = False
                response = cluster.apply(a.obj, field_manager=FIELD_MANAGER, force=use_force, dry_run=dry_run)
                create = False
                break
            except NotFoundError as exc:
                if a.deferred and time.monotonic() < deadline:
                    # its CRD is Established but discovery / the new endpoint may lag for a moment
                    time.sleep(0.5)
                    cluster.invalidate_discovery()
                    continue
                return failed(a, exc.message, exc.message)
            except ConflictError as exc:
                if exc.reason == "AlreadyExists" and attempts < 3:
                    # created by someone else since the plan (or by an earlier run that stopped before
                    # journaling it): apply over it
                    create, adopt = False, True
                    continue
                if dry_run and adopt and not use_force and only_own_conflicts(exc, FIELD_MANAGER):
                    use_force = True  # a real apply hands these fields over first; the dry run cannot
                    continue
                return failed(
                    a,
                    exc.message,
                    f"{exc.message} Another field manager owns these fields: apply with force=True (--force) "
                    "to take them over, or leave them out of the bundle.",
                )
            except ClusterUnreachableError:
                raise
            except ApiError as exc:
                return failed(a, exc.message, exc.message)
        if dry_run:
            return "dry-run", "", False
        created = create or (not a.live_uid and _created_by_us(response))
        journal.record(
            "applied",
            a.ref,
            sync=False,  # group-committed; flushed at the end of the wave at the latest
            sha256=a.sha256,
            op=a.op,
            wave=a.wave,
            run=run_id,
            created=created,
            uid=str(get_path(response, "metadata", "uid") or ""),
        )
        return ("created" if created else "updated"), "", True

    def timed_apply_one(a: Action) -> tuple[Outcome, str, bool]:
        started_one = time.monotonic()
        try:
            return apply_one(a)
        finally:
            seconds[index[id(a)]] = time.monotonic() - started_one

    crd_problems: list[str] = []
    try:
        for wave_actions in observe.current().waves(plan.by_wave(), lambda a: results.get(index[id(a)])):
            if stopped:
                for a in wave_actions:
                    done(a, "skipped", "not applied: the run stopped after a failure (on_error='stop')")
                continue
            todo: list[Action] = []
            for a in wave_actions:
                if a.op == "unchanged":
                    done(a, "unchanged")
                    continue
                if a.op == "skip":
                    done(a, "skipped", a.message)
                    continue
                last = journal.last(a.ref)
                if (
                    last is not None
                    and last.event == "applied"
                    and last.sha256 == a.sha256
                    and last.ts >= plan.observed_at
                ):
                    done(a, "unchanged", "applied earlier (journal)")
                    continue
                if a.deferred and dry_run:
                    done(a, "skipped", "dry run: its CRD is not in the target yet")
                    continue
                if crd_problems and a.deferred:
                    done(a, "failed", "its CRD did not become Established: " + "; ".join(crd_problems))
                    continue
                todo.append(a)
            if todo:
                log.info(
                    "wave %s: %d object(s) to write%s",
                    wave_actions[0].wave_name,
                    len(todo),
                    " (server-side dry run)" if dry_run else "",
                )
            if not dry_run and todo:
                now = time.time()
                opening = (
                    []
                    if run_recorded
                    else [
                        JournalEntry(
                            "run",
                            now,
                            run=run_id,
                            server=current_identity().server,
                            cluster_uid=current_identity().uid,
                            message=f"plan {plan.id}",
                        )
                    ]
                )
                run_recorded = True
                journal.record_many(
                    [
                        *opening,
                        *(
                            JournalEntry("intent", now, a.ref, a.sha256, a.op, a.wave, run=run_id)
                            for a in todo
                            if a.op == "create"
                        ),
                    ]
                )
            if todo:
                with ThreadPoolExecutor(max_workers=max(1, min(workers, len(todo)))) as pool:
                    futures: dict[Future[tuple[Outcome, str, bool]], Action] = {}
                    queue = list(reversed(todo))
                    fatal: BaseException | None = None
                    while queue or futures:
                        while queue and len(futures) < workers * 2 and fatal is None and not stopped:
                            a = queue.pop()
                            futures[pool.submit(timed_apply_one, a)] = a
                        if not futures:
                            break
                        finished, _ = wait_futures(futures, return_when=FIRST_COMPLETED)
                        for fut in finished:
                            a = futures.pop(fut)
                            try:
                                outcome, message, wrote = fut.result()
                            except ClusterUnreachableError as exc:
                                fatal = fatal or exc
                                done(a, "failed", exc.message)
                                continue
                            writes += int(wrote)
                            done(a, outcome, message)
                            if outcome == "failed" and on_error == "stop":
                                stopped = True
                        if (fatal is not None or stopped) and not futures:
                            break
                    for a in queue:
                        done(a, "skipped", "not applied: the run stopped before reaching it")
                    if fatal is not None:
                        raise fatal
            if not dry_run:
                journal.flush()
            if wave_actions and wave_actions[0].wave == _CRD_WAVE and not dry_run:
                applied = [a for a in wave_actions if results[index[id(a)]].outcome in ("created", "updated")]
                if applied or any(a.deferred for a in plan.actions):
                    crd_problems = _wait_crds_established(cluster, applied, min(timeout, 120.0))
    except ClusterUnreachableError as exc:
        bar.close()
        for i, a in enumerate(plan.actions):
            if i not in results:
                results[i] = ObjectResult(
                    a.ref, a.op, "skipped", "not applied: the target became unreachable", a.wave_name
                )
        partial = _result(
            plan, results, writes, requests_before, dry_run, workdir, True, None, started, run_id, journal
        )
        raise ApplyInterrupted(
            f"Apply stopped: the target became unreachable after {writes} writes "
            f"({partial.counts()['created']} created, {partial.counts()['updated']} updated). {exc.message}",
            result=partial,
            hint="The journal keeps what was done; apply again (same workdir) to resume once the cluster is back.",
        ) from exc
    finally:
        bar.close()
        if workdir is not None:
            journal.close()
    waited: WaitResult | None = None
    if wait and not dry_run:
        targets = [
            a.obj for i, a in enumerate(plan.actions) if results[i].outcome in ("created", "updated", "unchanged")
        ]
        waited = wait_ready(cluster, targets, timeout=timeout)
    result = _result(
        plan, results, writes, requests_before, dry_run, workdir, stopped, waited, started, run_id, journal
    )
    counts = result.counts()
    log.info(
        "apply: %s; %d writes, %d requests in %.1f s",
        ", ".join(f"{n} {outcome}" for outcome, n in counts.items() if n) or "nothing",
        result.writes,
        result.requests,
        result.seconds,
    )
    rejected = result.failed
    if rejected:
        log.warning(
            "%d object(s) failed to apply, e.g. %s: %s",
            len(rejected),
            rejected[0].ref,
            truncate(rejected[0].message, 300),
        )
    return result


def _result(
    plan: Plan,
    results: dict[int, ObjectResult],
    writes: int,
    requests_before: int,
    dry_run: bool,
    workdir: str | os.PathLike[str] | None,
    stopped: bool,
    waited: WaitResult | None,
    started: float,
    run_id: str,
    journal: Journal,
) -> ApplyResult:
    stats = getattr(plan.cluster, "stats", None)
    return ApplyResult(
        objects=[results[i] for i in sorted(results)],
        writes=writes,
        requests=max(0, int(getattr(stats, "requests", 0)) - requests_before),
        dry_run=dry_run,
        workdir=str(workdir) if workdir is not None else None,
        stopped=stopped,
        waited=waited,
        seconds=time.monotonic() - started,
        run_id=run_id,
        journal=journal,
        cluster=plan.cluster,
    )


def rollback(
    result_or_workdir: ApplyResult | str | os.PathLike[str],
    cluster: Cluster | None = None,
    *,
    workers: int = 16,
    on_progress: Callable[[ObjectRef], None] | None = None,
    allow_other_cluster: bool = False,
) -> RollbackResult:
    """Delete, newest wave first, the objects the journal says portkit created — nothing that existed before.

    Args:
        result_or_workdir: an :class:`ApplyResult` (its journal) or the work directory of an apply.
        cluster: the target (defaults to the result's cluster; required with a work directory).
        workers: concurrent deletes within a wave.
        on_progress: called with each object's ref once it is deleted (or found gone).
        allow_other_cluster: go on although the journal belongs to another cluster (or does not say which):
            only for one cluster reached at a new address by a journal that predates cluster uids. Even
            then only objects whose uid the journal recorded are deleted; the result carries a warning.

    Before any request the journal is read and validated, and its cluster (API server and ``kube-system``
    uid, see :mod:`portkit.replay.identity`) compared with ``cluster``. An object is only deleted when the
    journal recorded its uid when portkit created it and the live object still has that uid; the DELETE
    carries the uid as a precondition, so an object re-created by someone else meanwhile is never deleted.
    Objects whose creation was announced but never confirmed (a run killed mid-request) are kept and
    listed. Objects already gone count as deleted. Deletions are journaled, so a second rollback does nothing.

    Raises:
        ConfigurationError: no cluster to roll back in, or no journal in the work directory.
        JournalError: the journal holds an invalid record (file and line named).
        ClusterMismatchError: the journal belongs to another cluster; nothing was deleted.
    """
    if isinstance(result_or_workdir, ApplyResult):
        journal = result_or_workdir.journal or Journal(result_or_workdir.workdir)
        cluster = cluster or result_or_workdir.cluster
        where = f"The work directory {result_or_workdir.workdir}" if result_or_workdir.workdir else "The journal"
    else:
        path = Path(result_or_workdir)
        if not (path / "journal.jsonl").exists():
            raise ConfigurationError(f"No apply journal in {path}.", hint="Pass the workdir the apply used.")
        journal = Journal(path)
        where = f"The work directory {path}"
    if cluster is None:
        raise ConfigurationError("rollback needs the target cluster.", hint="Pass cluster=.")
    target: Cluster = cluster
    entries = journal.created()  # reads and validates every record before any request
    if not entries:
        return RollbackResult([], [], [])
    warnings = _check_journal_cluster(
        journal,
        lambda: cluster_identity(target),
        where=where,
        nothing_done="nothing was deleted.",
        hint="Point --kubeconfig/--context at the cluster the journal belongs to and roll back there. Only if "
        "this is that same cluster reached at another address (a journal of an older portkit records no "
        "cluster uid) pass --allow-other-cluster (allow_other_cluster=True): even then only objects whose uid "
        "the journal recorded are deleted.",
        allow_other=allow_other_cluster,
    )
    by_wave: dict[int, list[JournalEntry]] = {}
    for e in entries:
        by_wave.setdefault(e.wave, []).append(e)
    deleted: list[ObjectRef] = []
    kept: list[tuple[ObjectRef, str]] = []
    failed: list[tuple[ObjectRef, str]] = []

    def one(entry: JournalEntry) -> tuple[str, str]:
        """(outcome, why): ``deleted`` (sent), ``gone``, ``kept`` or ``failed``."""
        ref = entry.ref
        assert ref is not None
        if entry.event != "applied" or not entry.uid:
            return "kept", (
                "the journal has no uid of an object portkit created (the run stopped before the answer was "
                "recorded): check it and delete it by hand if portkit created it"
            )
        try:
            resource = target.resource_for(ref.api_version, ref.kind)
            live = target.get(resource, ref.name, ref.namespace or None)
        except NotFoundError:
            return "gone", ""
        if str(get_path(live, "metadata", "uid") or "") != entry.uid:
            return "kept", "it was replaced by another object of the same name since portkit created it"
        body = {
            "kind": "DeleteOptions",
            "apiVersion": "v1",
            "propagationPolicy": "Background",
            "preconditions": {"uid": entry.uid},  # the server refuses (409) if the object is another one now
        }
        try:
            target.request("DELETE", resource.path(ref.namespace or None, ref.name), body=body, action=f"delete {ref}")
        except NotFoundError:
            return "gone", ""
        except ConflictError as exc:
            return "kept", f"changed while rolling back: {truncate(exc.message, 200)}"
        except PortkitError as exc:
            return "failed", exc.message
        return "deleted", ""

    try:
        for wave in sorted(by_wave, reverse=True):
            batch = list(reversed(by_wave[wave]))
            with ThreadPoolExecutor(max_workers=max(1, min(workers, len(batch)))) as pool:
                outcomes = list(pool.map(one, batch))
            records = []
            for entry, (outcome, why) in zip(batch, outcomes, strict=True):
                assert entry.ref is not None
                # after an overridden cluster check only real deletions are journaled: what is missing or
                # different here may still need rolling back in the cluster the journal belongs to
                journaled = outcome == "deleted" or (not warnings and outcome != "failed")
                if outcome in ("deleted", "gone"):
                    deleted.append(entry.ref)
                    if on_progress is not None:
                        on_progress(entry.ref)
                elif outcome == "kept":
                    kept.append((entry.ref, why))
                else:
                    failed.append((entry.ref, why))
                if journaled:
                    message = f"kept: {why}" if outcome == "kept" else ""
                    records.append(JournalEntry("deleted", time.time(), entry.ref, run=entry.run, message=message))
            journal.record_many(records)
    finally:
        if journal.workdir is not None:
            journal.close()
    return RollbackResult(deleted, kept, failed, warnings)
