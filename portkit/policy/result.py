"""What a policy check found: :class:`Violation` per object and policy, gathered in a :class:`PolicyResult`."""

from __future__ import annotations

import html
from collections.abc import Mapping
from typing import Any

import attrs

from portkit.display import html_table, truncate
from portkit.model import ObjectRef

__all__ = ["PolicyResult", "Violation"]

#: enforcement actions: ``deny`` blocks the apply, ``warn`` needs attention, ``dryrun`` is only reported
ACTIONS = ("deny", "warn", "dryrun")


@attrs.frozen
class Violation:
    """One policy objecting to one object.

    Attributes:
        ref: the object (as it would be applied: namespaces mapped).
        policy: ``data.main.deny`` (a Rego rule) or ``K8sRequiredLabels/must-have-owner`` (a constraint).
        message: the policy's message (Secret values never reach the policies).
        action: ``deny`` (a blocker), ``warn`` (``warn`` rules, ``enforcementAction: warn``) or ``dryrun``.
        engine: ``rego`` (conftest-style rules) or ``gatekeeper``.
        source: the file(s) the policy came from.
        details: structured data the policy returned with the message (conftest metadata, Gatekeeper details).
    """

    ref: ObjectRef
    policy: str
    message: str
    action: str = "deny"
    engine: str = "rego"
    source: str = ""
    details: Any = None

    def __str__(self) -> str:
        return f"{self.ref}: [{self.policy}] {self.message}"

    def to_dict(self) -> dict[str, Any]:
        """Plain dict form for JSON output."""
        return {
            "object": str(self.ref),
            "ref": self.ref.to_dict(),
            "policy": self.policy,
            "message": self.message,
            "action": self.action,
            "engine": self.engine,
            "source": self.source,
            "details": self.details,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Violation:
        """The inverse of :meth:`to_dict`."""
        return cls(
            ref=ObjectRef(**{k: str(v) for k, v in (data.get("ref") or {}).items()}),
            policy=str(data.get("policy") or ""),
            message=str(data.get("message") or ""),
            action=str(data.get("action") or "deny"),
            engine=str(data.get("engine") or "rego"),
            source=str(data.get("source") or ""),
            details=data.get("details"),
        )


@attrs.frozen
class PolicyResult:
    """The outcome of checking objects against policies.

    ``violations`` holds every finding; :attr:`denied` are the blockers (``apply`` refuses them unless
    overridden, ``portkit lint`` exits 1), :attr:`warned` need attention (exit 3), ``dryrun`` ones are only
    reported. ``overridden`` is True when the caller chose to go on despite denials.
    """

    violations: tuple[Violation, ...] = ()
    policies: tuple[str, ...] = ()
    objects: int = 0
    not_evaluated: tuple[str, ...] = ()
    ignored: tuple[str, ...] = ()
    opa_version: str = ""
    seconds: float = 0.0
    overridden: bool = False

    @property
    def denied(self) -> list[Violation]:
        """Violations that block (action ``deny``)."""
        return [v for v in self.violations if v.action == "deny"]

    @property
    def warned(self) -> list[Violation]:
        """Violations that only warn (``warn`` rules, ``enforcementAction: warn``)."""
        return [v for v in self.violations if v.action == "warn"]

    @property
    def blocked(self) -> bool:
        """True when there are denials and they were not overridden."""
        return bool(self.denied) and not self.overridden

    @property
    def ok(self) -> bool:
        """True when no policy denies any object."""
        return not self.denied

    @property
    def needs_attention(self) -> bool:
        """Warnings, overridden denials, or policies that could not be evaluated."""
        return bool(self.warned or self.not_evaluated or (self.denied and self.overridden))

    def by_object(self) -> dict[ObjectRef, list[Violation]]:
        """Violations grouped by object, in the order found."""
        out: dict[ObjectRef, list[Violation]] = {}
        for v in self.violations:
            out.setdefault(v.ref, []).append(v)
        return out

    def summary(self) -> str:
        """One line: what was checked and what was found."""
        denied, warned = len(self.denied), len(self.warned)
        found = f"{denied} violation{'s' if denied != 1 else ''}, {warned} warning{'s' if warned != 1 else ''}"
        if denied and self.overridden:
            found += " (violations overridden)"
        opa = f", OPA {self.opa_version}" if self.opa_version else ""
        return f"Policies: {len(self.policies)} checked on {self.objects} objects ({self.seconds:.2f} s{opa}): {found}."

    def __repr__(self) -> str:
        state = "blocked" if self.blocked else "ok" if self.ok else "overridden"
        return (
            f"<PolicyResult {len(self.policies)} policies, {self.objects} objects: {len(self.denied)} violations, "
            f"{len(self.warned)} warnings, {state}>"
        )

    def to_text(self) -> str:
        """Per object, every policy's message; then what was not evaluated."""
        lines = [self.summary()]
        sections = (
            ("deny", "VIOLATIONS" if not self.overridden else "Violations (overridden)"),
            ("warn", "Warnings"),
            ("dryrun", "Dry-run findings (not enforced)"),
        )
        for action, title in sections:
            found = [v for v in self.violations if v.action == action]
            if not found:
                continue
            grouped: dict[ObjectRef, list[Violation]] = {}
            for v in found:
                grouped.setdefault(v.ref, []).append(v)
            on = f"{len(grouped)} object" + ("s" if len(grouped) != 1 else "")
            lines.append(f"{title} ({len(found)}, on {on}):")
            for ref, items in grouped.items():
                lines.append(f"  {ref}")
                lines.extend(f"    - [{v.policy}] {v.message}" for v in items)
        if self.not_evaluated:
            lines.append(f"Not evaluated ({len(self.not_evaluated)}):")
            lines.extend(f"  - {n}" for n in self.not_evaluated)
        if self.ignored:
            lines.append(
                f"Not policies, ignored ({len(self.ignored)}): "
                + ", ".join(self.ignored[:10])
                + (" ..." if len(self.ignored) > 10 else "")
            )
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.to_text()

    def _repr_html_(self) -> str:
        rows = [[str(v.ref), v.policy, v.action, truncate(v.message)] for v in self.violations]
        out = f"<p>{html.escape(self.summary())}</p>"
        if rows:
            out += html_table(["object", "policy", "action", "message"], rows, title="Policy findings")
        if self.not_evaluated:
            out += html_table(["not evaluated"], [[n] for n in self.not_evaluated])
        return out

    def to_dict(self) -> dict[str, Any]:
        """Plain dict form for JSON output."""
        return {
            "ok": self.ok,
            "blocked": self.blocked,
            "overridden": self.overridden,
            "objects": self.objects,
            "policies": list(self.policies),
            "violations": [v.to_dict() for v in self.denied],
            "warnings": [v.to_dict() for v in self.warned],
            "dryrun": [v.to_dict() for v in self.violations if v.action == "dryrun"],
            "not_evaluated": list(self.not_evaluated),
            "ignored": list(self.ignored),
            "opa_version": self.opa_version,
            "seconds": round(self.seconds, 3),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PolicyResult:
        """The inverse of :meth:`to_dict` (a migration resumed after its lint step reads it back)."""
        found = [Violation.from_dict(v) for key in ("violations", "warnings", "dryrun") for v in data.get(key) or []]
        return cls(
            violations=tuple(found),
            policies=tuple(str(p) for p in data.get("policies") or ()),
            objects=int(data.get("objects") or 0),
            not_evaluated=tuple(str(n) for n in data.get("not_evaluated") or ()),
            ignored=tuple(str(n) for n in data.get("ignored") or ()),
            opa_version=str(data.get("opa_version") or ""),
            seconds=float(data.get("seconds") or 0.0),
            overridden=bool(data.get("overridden")),
        )
