"""Waiting for applied objects to become ready, and saying why they are not.

Ready means: Deployments, StatefulSets and DaemonSets rolled out (observed generation current, every
replica updated and available), PersistentVolumeClaims Bound, Jobs Complete. Other kinds are ready as
soon as they exist. On timeout each object that is not ready is named with its conditions and its most
recent events (and those of its pods, for workloads).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Mapping
from typing import Any

import attrs

from portkit import observe
from portkit._paths import selector_value
from portkit.cluster import ApiResource, Cluster
from portkit.display import html_table, truncate
from portkit.errors import ApiError, NotFoundError
from portkit.model import ObjectRef, get_path
from portkit.replay._live import fetch_live, live_key

__all__ = ["TRACKED_KINDS", "NotReady", "WaitResult", "readiness", "wait_ready"]

log = logging.getLogger(__name__)

#: (group, kind) pairs whose readiness is tracked.
TRACKED_KINDS = frozenset(
    {
        ("apps", "Deployment"),
        ("apps", "StatefulSet"),
        ("apps", "DaemonSet"),
        ("", "PersistentVolumeClaim"),
        ("batch", "Job"),
    }
)


@attrs.frozen
class NotReady:
    """An object that did not become ready, and why.

    Attributes:
        ref: the object.
        reason: one line (e.g. ``1/3 replicas available``).
        conditions: its conditions, ``Type=Status Reason: message``.
        events: the most recent events about it (and its pods), oldest first.
        final: True when it cannot become ready by waiting (a failed Job).
    """

    ref: ObjectRef
    reason: str
    conditions: tuple[str, ...] = ()
    events: tuple[str, ...] = ()
    final: bool = False

    def to_dict(self) -> dict[str, Any]:
        """Plain dict form."""
        return {
            "ref": self.ref.to_dict(),
            "object": str(self.ref),
            "reason": self.reason,
            "conditions": list(self.conditions),
            "events": list(self.events),
            "final": self.final,
        }


@attrs.define(eq=False)
class WaitResult:
    """Which objects became ready within the timeout, and why the others did not."""

    ready: list[ObjectRef]
    not_ready: list[NotReady]
    seconds: float = 0.0
    timeout: float = 0.0

    @property
    def ready_all(self) -> bool:
        """True when every tracked object is ready."""
        return not self.not_ready

    def __repr__(self) -> str:
        return f"<WaitResult {len(self.ready)} ready, {len(self.not_ready)} not ready after {self.seconds:.0f}s>"

    def to_text(self) -> str:
        """Human-readable result: every object not ready with its conditions and events."""
        if not self.not_ready:
            return f"All {len(self.ready)} tracked objects are ready ({self.seconds:.0f}s)."
        lines = [
            f"Not ready after {self.seconds:.0f}s ({len(self.not_ready)} of {len(self.ready) + len(self.not_ready)}):"
        ]
        for item in self.not_ready:
            lines.append(f"  - {item.ref}: {item.reason}")
            lines.extend(f"      condition {c}" for c in item.conditions)
            lines.extend(f"      event {e}" for e in item.events)
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        rows = [[str(n.ref), n.reason, "; ".join(n.conditions), "; ".join(n.events)] for n in self.not_ready]
        return html_table(["object", "reason", "conditions", "events"], rows, title=repr(self))

    def to_dict(self) -> dict[str, Any]:
        """Plain dict form."""
        return {
            "ready_all": self.ready_all,
            "seconds": round(self.seconds, 3),
            "ready": [str(r) for r in self.ready],
            "not_ready": [n.to_dict() for n in self.not_ready],
        }


def _int(value: Any, default: int = 0) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def _condition(obj: Mapping[str, Any], ctype: str) -> Mapping[str, Any] | None:
    for cond in get_path(obj, "status", "conditions", default=[]) or []:
        if isinstance(cond, Mapping) and cond.get("type") == ctype:
            return cond
    return None


def readiness(obj: Mapping[str, Any]) -> tuple[bool, str, bool]:
    """Whether a live object is ready: ``(ready, reason when not, final)``; ``final`` = waiting cannot help."""
    kind = obj.get("kind")
    status = obj.get("status") or {}
    generation = _int(get_path(obj, "metadata", "generation"), 0)
    observed = _int(status.get("observedGeneration"), -1)
    if kind in ("Deployment", "StatefulSet", "DaemonSet") and generation and observed < generation:
        return False, "the controller has not observed the latest spec yet", False
    if kind == "Deployment":
        want = _int(get_path(obj, "spec", "replicas"), 1)
        progressing = _condition(obj, "Progressing")
        if progressing and progressing.get("reason") == "ProgressDeadlineExceeded":
            return False, f"rollout stalled: {progressing.get('message', '')}", False
        updated = _int(status.get("updatedReplicas"))
        available = _int(status.get("availableReplicas"))
        total = _int(status.get("replicas"))
        if updated < want:
            return False, f"{updated}/{want} replicas updated", False
        if total > updated:
            return False, f"{total - updated} old replicas pending termination", False
        if available < want:
            return False, f"{available}/{want} replicas available", False
        return True, "", False
    if kind == "StatefulSet":
        want = _int(get_path(obj, "spec", "replicas"), 1)
        ready = _int(status.get("readyReplicas"))
        if ready < want:
            return False, f"{ready}/{want} replicas ready", False
        strategy = get_path(obj, "spec", "updateStrategy", "type", default="RollingUpdate")
        if strategy == "RollingUpdate":
            partition = _int(get_path(obj, "spec", "updateStrategy", "rollingUpdate", "partition"), 0)
            updated = _int(status.get("updatedReplicas"))
            if updated < want - partition:
                return False, f"{updated}/{want - partition} replicas updated", False
        return True, "", False
    if kind == "DaemonSet":
        desired = _int(status.get("desiredNumberScheduled"))
        updated = _int(status.get("updatedNumberScheduled"))
        available = _int(status.get("numberAvailable"))
        if updated < desired:
            return False, f"{updated}/{desired} pods updated", False
        if available < desired:
            return False, f"{available}/{desired} pods available", False
        return True, "", False
    if kind == "PersistentVolumeClaim":
        phase = status.get("phase") or "Pending"
        if phase == "Bound":
            return True, "", False
        return False, f"phase {phase}", phase == "Lost"
    if kind == "Job":
        complete = _condition(obj, "Complete")
        if complete and complete.get("status") == "True":
            return True, "", False
        failed = _condition(obj, "Failed")
        if failed and failed.get("status") == "True":
            return False, f"failed: {failed.get('reason', '')} {failed.get('message', '')}".strip(), True
        if get_path(obj, "spec", "suspend") is True:
            return False, "suspended", True
        return False, f"{_int(status.get('succeeded'))} succeeded, {_int(status.get('active'))} active", False
    return True, "", False


def _conditions(obj: Mapping[str, Any]) -> tuple[str, ...]:
    out = []
    for c in get_path(obj, "status", "conditions", default=[]) or []:
        if isinstance(c, Mapping):
            text = f"{c.get('type')}={c.get('status')}"
            if c.get("reason"):
                text += f" {c.get('reason')}"
            if c.get("message"):
                text += f": {truncate(c.get('message'), 160)}"
            out.append(text)
    return tuple(out)


def _events(cluster: Cluster, namespace: str, kind: str, name: str, limit: int = 5) -> list[str]:
    try:
        resource = cluster.resource_for("v1", "Event")
        items = list(
            cluster.list(
                resource,
                namespace or None,
                field_selector=f"involvedObject.kind={selector_value(kind)},involvedObject.name={selector_value(name)}",
            )
        )
    except ApiError:
        return []

    def when(e: Mapping[str, Any]) -> str:
        return str(e.get("lastTimestamp") or e.get("eventTime") or get_path(e, "metadata", "creationTimestamp") or "")

    items.sort(key=when)
    out = []
    for e in items[-limit:]:
        count = _int(e.get("count"), 1)
        out.append(
            f"{e.get('type', '')} {e.get('reason', '')}: {truncate(e.get('message', ''), 200)}"
            + (f" (x{count})" if count > 1 else "")
        )
    return out


def _pod_details(cluster: Cluster, obj: Mapping[str, Any]) -> tuple[list[str], list[str]]:
    """Conditions and events of the first pod of a workload that is not ready."""
    labels = get_path(obj, "spec", "selector", "matchLabels")
    namespace = str(get_path(obj, "metadata", "namespace") or "")
    if not isinstance(labels, Mapping) or not labels:
        return [], []
    selector = ",".join(f"{k}={v}" for k, v in sorted(labels.items()))
    try:
        pods = list(cluster.list(cluster.resource_for("v1", "Pod"), namespace, label_selector=selector, limit=50))
    except ApiError:
        return [], []
    if not pods:
        return ["no pods exist for it"], []
    for pod in pods:
        ready = _condition(pod, "Ready")
        if ready and ready.get("status") == "True":
            continue
        name = str(get_path(pod, "metadata", "name"))
        conds = [f"pod {name} {c}" for c in _conditions(pod) if "=True" not in c]
        phase = get_path(pod, "status", "phase")
        if phase:
            conds.insert(0, f"pod {name} phase {phase}")
        events = [f"pod {name} {e}" for e in _events(cluster, namespace, "Pod", name, limit=3)]
        return conds, events
    return [], []


@observe.step("wait")
def wait_ready(
    cluster: Cluster,
    objects: Iterable[Mapping[str, Any] | ObjectRef],
    *,
    timeout: float = 600,
    interval: float = 1.0,
    workers: int = 8,
) -> WaitResult:
    """Poll until every tracked object (see :data:`TRACKED_KINDS`) is ready, or ``timeout`` passes.

    Args:
        cluster: the cluster.
        objects: manifests or refs; kinds that are not tracked are ignored.
        timeout: seconds.
        interval: seconds between polls.
    """
    started = time.monotonic()
    refs: list[ObjectRef] = []
    for item in objects:
        ref = item if isinstance(item, ObjectRef) else ObjectRef.from_obj(item)
        if (ref.group, ref.kind) in TRACKED_KINDS:
            refs.append(ref)
    resources: dict[tuple[str, str], ApiResource] = {}
    for ref in refs:
        if (ref.api_version, ref.kind) not in resources:
            resources[(ref.api_version, ref.kind)] = cluster.resource_for(ref.api_version, ref.kind)
    pending = list(refs)
    log.info("waiting up to %.0f s for %d object(s) to become ready", timeout, len(refs))
    ready: list[ObjectRef] = []
    last_state: dict[ObjectRef, tuple[str, bool, dict[str, Any] | None]] = {}
    while True:
        live = fetch_live(
            cluster, [(resources[(r.api_version, r.kind)], r.namespace, r.name) for r in pending], workers=workers
        )
        still: list[ObjectRef] = []
        for ref in pending:
            obj = live.get(live_key(resources[(ref.api_version, ref.kind)], ref.namespace, ref.name))
            if obj is None:
                last_state[ref] = ("it does not exist", False, None)
                still.append(ref)
                continue
            ok, reason, final = readiness(obj)
            if ok:
                ready.append(ref)
            else:
                last_state[ref] = (reason, final, obj)
                still.append(ref)
        pending = still
        waiting = [r for r in pending if not last_state[r][1]]
        if not waiting or time.monotonic() - started >= timeout:
            break
        time.sleep(min(interval, max(0.0, timeout - (time.monotonic() - started))))
    not_ready: list[NotReady] = []
    for ref in pending:
        reason, final, obj = last_state[ref]
        conditions: list[str] = list(_conditions(obj)) if obj is not None else []
        try:
            events = _events(cluster, ref.namespace, ref.kind, ref.name)
            if obj is not None and ref.kind in ("Deployment", "StatefulSet", "DaemonSet"):
                pod_conds, pod_events = _pod_details(cluster, obj)
                conditions += pod_conds
                events += pod_events
        except NotFoundError:
            events = []
        not_ready.append(NotReady(ref, reason, tuple(conditions), tuple(events), final))
    seconds = time.monotonic() - started
    log.info("%d of %d object(s) ready after %.1f s", len(ready), len(refs), seconds)
    if not_ready:
        log.warning("%d object(s) not ready, e.g. %s: %s", len(not_ready), not_ready[0].ref, not_ready[0].reason)
    return WaitResult(ready, not_ready, seconds, timeout)
