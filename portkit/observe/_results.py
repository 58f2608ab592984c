"""What each step's result contributes to the metrics and to its span's attributes.

Results are read by their public attributes (no import of the modules that make them: those import
:mod:`portkit.observe`). Apply outcomes are counted per wave (:meth:`Observer.waves`), live, not here.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from portkit.observe._observer import Observer, SpanHandle

if TYPE_CHECKING:  # only for the types: these modules import portkit.observe
    from portkit.bundle import Bundle
    from portkit.policy import PolicyResult
    from portkit.replay import ApplyResult, Plan, VerifyResult, WaitResult
    from portkit.translate import Translation
    from portkit.volumes.quiesce import QuiesceState
    from portkit.volumes.result import VolumeMoveResult
    from portkit.volumes.verify import DataVerifyResult

__all__ = ["record"]

_MAX_ERRORS = 20


def _export(obs: Observer, span: SpanHandle, bundle: Bundle) -> None:
    count = len(bundle)
    failures = list((getattr(bundle, "meta", None) or {}).get("failures") or [])
    kinds = Counter(str(o.get("kind")) for o in bundle)
    obs.add("objects_exported", count)
    obs.add("export_kinds_failed", len(failures))
    span.set(
        objects=count,
        kinds=len(kinds),
        errors=len(failures),
        error_messages=[
            f"{f.get('kind')} {f.get('namespace') or '(cluster)'}: {f.get('message')}" for f in failures[:_MAX_ERRORS]
        ]
        or None,
    )


def _translate(obs: Observer, span: SpanHandle, t: Translation) -> None:
    obs.add("translation_changes", len(t.changes))
    obs.add("translation_warnings", len(t.warnings))
    obs.add("manual_actions", len(t.manual_actions))
    span.set(
        objects=len(t.bundle), changes=len(t.changes), warnings=len(t.warnings), manual_actions=len(t.manual_actions)
    )


def _lint(obs: Observer, span: SpanHandle, residue: Sequence[str] | None) -> None:
    findings = list(residue or [])
    obs.set("lint_findings", len(findings))
    span.set(findings=len(findings), error_messages=findings[:_MAX_ERRORS] or None)


def _policy(obs: Observer, span: SpanHandle, result: PolicyResult) -> None:
    denied, warned = list(result.denied), list(result.warned)
    obs.set("policy_violations", len(denied), action="deny")
    obs.set("policy_violations", len(warned), action="warn")
    span.set(
        objects=result.objects,
        policies=len(result.policies),
        denied=len(denied),
        warned=len(warned),
        overridden=result.overridden,
        errors=len(denied),
        error_messages=[str(v) for v in denied[:_MAX_ERRORS]] or None,
    )


def _plan(obs: Observer, span: SpanHandle, plan: Plan) -> None:
    counts = plan.counts()
    for op, n in counts.items():
        obs.set("plan_actions", n, op=op)
    blockers = list(plan.blockers)
    errors = list(plan.errors)
    obs.set("plan_blockers", len(blockers))
    span.set(
        objects=len(plan.actions),
        blockers=len(blockers),
        errors=len(errors),
        error_messages=[str(b) for b in blockers[:_MAX_ERRORS]] + [f"{a.ref}: {a.error}" for a in errors[:_MAX_ERRORS]]
        or None,
        **{f"op.{op}": n for op, n in counts.items() if n},
    )


def _apply(obs: Observer, span: SpanHandle, result: ApplyResult) -> None:
    counts = result.counts()
    failed = result.failed
    obs.add("apply_writes", result.writes)
    span.set(
        objects=len(result.objects),
        writes=result.writes,
        requests=result.requests,
        dry_run=result.dry_run,
        errors=len(failed),
        error_messages=[f"{o.ref}: {o.message}" for o in failed[:_MAX_ERRORS]] or None,
        **{f"outcome.{k.replace('-', '_')}": n for k, n in counts.items() if n},
    )


def _wait(obs: Observer, span: SpanHandle, result: WaitResult | None) -> None:
    if result is None:
        return
    obs.set("wait_objects", len(result.ready), state="ready")
    obs.set("wait_objects", len(result.not_ready), state="not_ready")
    span.set(
        objects=len(result.ready) + len(result.not_ready),
        ready=len(result.ready),
        not_ready=len(result.not_ready),
        error_messages=[f"{n.ref}: {n.reason}" for n in result.not_ready[:_MAX_ERRORS]] or None,
    )


def _verify(obs: Observer, span: SpanHandle, result: VerifyResult) -> None:
    mismatches = list(result.mismatches)
    obs.set("verify_objects", max(0, result.checked - len(mismatches)), result="ok")
    obs.set("verify_objects", len(mismatches), result="mismatch")
    obs.add("objects_failed", len(mismatches), step="verify")
    span.set(
        objects=result.checked,
        errors=len(mismatches),
        error_messages=[f"{m.ref}: {m.problem}" for m in mismatches[:_MAX_ERRORS]] or None,
    )


def _volumes(obs: Observer, span: SpanHandle, result: VolumeMoveResult | None) -> None:
    if result is None:
        return
    phases = Counter(str(v.phase) for v in result.volumes)
    for phase, n in phases.items():
        obs.set("volume_claims", n, phase=phase)
    span.set(
        claims=len(result.volumes),
        items_backed_up=result.items_backed_up,
        items_restored=result.items_restored,
        bytes_backed_up=getattr(result, "bytes_backed_up", 0),
        bytes_restored=getattr(result, "bytes_restored", 0),
        warnings=result.backup_warnings + result.restore_warnings,
        **{f"phase.{p}": n for p, n in sorted(phases.items())},
    )


def _quiesce(obs: Observer, span: SpanHandle, state: QuiesceState | None) -> None:
    if state is None:
        return
    obs.set("quiesced_workloads", len(state.workloads))
    span.set(workloads=len(state.workloads), holders=len(state.holders))


def _verify_data(obs: Observer, span: SpanHandle, result: DataVerifyResult | None) -> None:
    if result is None:
        return
    obs.add("data_bytes", result.bytes)
    obs.add("data_files", result.files)
    statuses = Counter(str(c.status) for c in result.claims)
    for status, n in statuses.items():
        obs.add("data_claims", n, status=status)
    bad = [c for c in result.claims if not c.ok]
    span.set(
        claims=len(result.claims),
        files=result.files,
        bytes=result.bytes,
        errors=len(bad),
        error_messages=[f"{c.source}: {c.status} {c.reason}".strip() for c in bad[:_MAX_ERRORS]] or None,
    )


_RECORDERS: dict[str, Callable[[Observer, SpanHandle, Any], None]] = {
    "export": _export,
    "translate": _translate,
    "lint": _lint,
    "policy": _policy,
    "plan": _plan,
    "apply": _apply,
    "wait": _wait,
    "verify": _verify,
    "volumes": _volumes,
    "quiesce": _quiesce,
    "verify_data": _verify_data,
}


def record(obs: Observer, span: SpanHandle, step: str, result: object) -> None:
    """Record the result of step ``step`` (unknown steps and None results record nothing)."""
    recorder = _RECORDERS.get(step)
    if recorder is not None and result is not None:
        recorder(obs, span, result)
