"""``verify()``: is every object of a bundle in the target, with the fields portkit set?"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Any

import attrs

from portkit import observe
from portkit.cluster import ApiResource, Cluster
from portkit.display import html_table, text_table
from portkit.errors import ClusterUnreachableError, NotFoundError, PlanError
from portkit.model import ObjectRef
from portkit.replay._compare import FieldDiff, effective_desired, is_secret, strip_for_apply, subset_diff
from portkit.replay._live import fetch_live, live_key
from portkit.replay.nsmap import map_namespaces

__all__ = ["Mismatch", "VerifyResult", "verify"]

log = logging.getLogger(__name__)


@attrs.frozen
class Mismatch:
    """An object of the bundle that the target does not hold as planned.

    Attributes:
        ref: the object (after namespace mapping).
        problem: ``missing``, ``differs`` or ``unserved`` (the target does not serve its kind).
        diff: for ``differs``: the fields whose live value is not the bundle's (Secret values redacted).
    """

    ref: ObjectRef
    problem: str
    diff: tuple[FieldDiff, ...] = ()

    def __str__(self) -> str:
        if self.problem == "differs":
            return f"{self.ref} differs: " + "; ".join(str(d) for d in self.diff[:5])
        return f"{self.ref} {self.problem}"

    def to_dict(self) -> dict[str, Any]:
        """Plain dict form."""
        return {
            "ref": self.ref.to_dict(),
            "object": str(self.ref),
            "problem": self.problem,
            "diff": [d.to_dict() for d in self.diff],
        }


@attrs.define(eq=False)
class VerifyResult:
    """The result of :func:`verify`."""

    checked: int
    mismatches: list[Mismatch]

    @property
    def ok(self) -> bool:
        """True when every object is present with every field of the bundle."""
        return not self.mismatches

    @property
    def missing(self) -> list[Mismatch]:
        """Objects not in the target."""
        return [m for m in self.mismatches if m.problem != "differs"]

    @property
    def differing(self) -> list[Mismatch]:
        """Objects present with other values."""
        return [m for m in self.mismatches if m.problem == "differs"]

    def __repr__(self) -> str:
        if self.ok:
            return f"<VerifyResult ok: {self.checked} objects match>"
        return f"<VerifyResult {len(self.missing)} missing, {len(self.differing)} differ of {self.checked}>"

    def to_text(self) -> str:
        """Human-readable result."""
        if self.ok:
            return f"Verified: all {self.checked} objects are in the target with the fields of the bundle."
        rows = [[m.problem, str(m.ref), "; ".join(str(d) for d in m.diff[:3])] for m in self.mismatches]
        return f"Verify found {len(self.mismatches)} problem(s) in {self.checked} objects:\n" + text_table(
            ["problem", "object", "fields"], rows, max_rows=200
        )

    def _repr_html_(self) -> str:
        rows = [[m.problem, str(m.ref), "; ".join(str(d) for d in m.diff[:3])] for m in self.mismatches]
        return html_table(["problem", "object", "fields"], rows, title=repr(self))

    def to_dict(self) -> dict[str, Any]:
        """Plain dict form."""
        return {"ok": self.ok, "checked": self.checked, "mismatches": [m.to_dict() for m in self.mismatches]}


@observe.step("verify")
def verify(
    bundle: Iterable[Mapping[str, Any]],
    cluster: Cluster,
    *,
    namespace_map: Mapping[str, str] | None = None,
    rewrite_dns: bool = False,
    workers: int = 8,
) -> VerifyResult:
    """Check that every object of ``bundle`` exists in ``cluster`` with every field the bundle sets.

    Fields the server or controllers add are ignored; quantities compare by amount (``1000m`` = ``1``);
    lists of named items (containers, ports) match by name.

    Args:
        bundle: a Bundle or manifests (before namespace mapping).
        cluster: the target.
        namespace_map: the mapping the apply used.
        rewrite_dns: whether the apply rewrote service DNS names.
        workers: objects read at once.

    Raises:
        PlanError: the target cannot be read.
    """
    mapping = map_namespaces(list(bundle), namespace_map, rewrite_dns=rewrite_dns)
    desired = [strip_for_apply(o) for o in mapping.objects]
    mismatches: list[Mismatch] = []
    wanted: list[tuple[ApiResource, str, str]] = []
    items: list[tuple[ObjectRef, dict[str, Any], ApiResource]] = []
    resources: dict[tuple[str, str], ApiResource | None] = {}
    try:
        for obj in desired:
            ref = ObjectRef.from_obj(obj)
            key = (ref.api_version, ref.kind)
            if key not in resources:
                try:
                    resources[key] = cluster.resource_for(*key)
                except NotFoundError:
                    resources[key] = None
            res = resources[key]
            if res is None:
                mismatches.append(Mismatch(ref, "unserved"))
                continue
            wanted.append((res, ref.namespace, ref.name))
            items.append((ref, obj, res))
        live = fetch_live(cluster, wanted, workers=workers)
    except ClusterUnreachableError as exc:
        raise PlanError(f"Cannot read the target to verify it: {exc}", hint="Check the cluster and retry.") from exc
    for ref, obj, res in items:
        current = live.get(live_key(res, ref.namespace, ref.name))
        if current is None:
            mismatches.append(Mismatch(ref, "missing"))
            continue
        diff = subset_diff(effective_desired(obj), current, secret=is_secret(obj))
        if diff:
            mismatches.append(Mismatch(ref, "differs", tuple(diff)))
    log.info("verified %d object(s): %d mismatch(es)", len(desired), len(mismatches))
    if mismatches:
        log.warning(
            "%d object(s) are not in the target as the bundle has them, e.g. %s (%s)",
            len(mismatches),
            mismatches[0].ref,
            mismatches[0].problem,
        )
    return VerifyResult(checked=len(desired), mismatches=mismatches)
