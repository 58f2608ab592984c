"""Replay a bundle into a target cluster: plan, apply (ordered, journaled, resumable), wait, verify, rollback.

::

    plan = portkit.plan(bundle, target, namespace_map={"shop": "shop-eu"})
    print(plan.diff())
    result = portkit.apply(plan, wait=True, workdir="work/apply")
    portkit.verify(bundle, target, namespace_map={"shop": "shop-eu"})
"""

from portkit.replay._compare import FieldDiff
from portkit.replay.apply import (
    ApplyInterrupted,
    ApplyResult,
    ObjectResult,
    RollbackResult,
    apply,
    rollback,
)
from portkit.replay.journal import Journal, JournalEntry
from portkit.replay.nsmap import MappingResult, NamespaceChange, map_namespaces, parse_namespace_map
from portkit.replay.order import WAVE_NAMES, group_waves, wave_of
from portkit.replay.plan import APPLIED_ANNOTATION, FIELD_MANAGER, Action, Blocker, Plan, plan
from portkit.replay.verify import Mismatch, VerifyResult, verify
from portkit.replay.wait import NotReady, WaitResult, readiness, wait_ready

__all__ = [
    "APPLIED_ANNOTATION",
    "FIELD_MANAGER",
    "WAVE_NAMES",
    "Action",
    "ApplyInterrupted",
    "ApplyResult",
    "Blocker",
    "FieldDiff",
    "Journal",
    "JournalEntry",
    "MappingResult",
    "Mismatch",
    "NamespaceChange",
    "NotReady",
    "ObjectResult",
    "Plan",
    "RollbackResult",
    "VerifyResult",
    "WaitResult",
    "apply",
    "group_waves",
    "map_namespaces",
    "parse_namespace_map",
    "plan",
    "readiness",
    "rollback",
    "verify",
    "wait_ready",
    "wave_of",
]
