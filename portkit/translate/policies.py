"""Policies: PodSecurityPolicy (and OpenShift SCC) → Pod Security Admission namespace labels.

A PSP's level is judged from its spec (privileged, host namespaces, capabilities, run-as rules); the
namespaces it applies to are found through the RBAC ``use`` grants in the bundle. Namespace objects in the
bundle get ``pod-security.kubernetes.io/enforce``; namespaces not in the bundle become a manual action.
NetworkPolicies are kept as they are.
"""

from __future__ import annotations

from typing import Any

from portkit.translate._base import BaseTranslator, Context, Item

__all__ = ["PoliciesTranslator", "psp_level", "scc_level"]

ENFORCE = "pod-security.kubernetes.io/enforce"
_ORDER = {"restricted": 0, "baseline": 1, "privileged": 2}
_BASELINE_CAPS = {
    "AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD", "NET_BIND_SERVICE",
    "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT",
}  # fmt: skip


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _name(obj: Any) -> str:
    meta = obj.get("metadata") if isinstance(obj, dict) else None
    return str(meta.get("name") or "") if isinstance(meta, dict) else ""


def psp_level(spec: Any) -> str:
    """The Pod Security Standard a PodSecurityPolicy spec corresponds to."""
    if not isinstance(spec, dict):
        return "baseline"
    if spec.get("privileged") or spec.get("hostNetwork") or spec.get("hostPID") or spec.get("hostIPC"):
        return "privileged"
    if spec.get("hostPorts"):
        return "privileged"
    caps = {str(c).upper() for c in _list(spec.get("allowedCapabilities"))}
    if "*" in caps or caps - _BASELINE_CAPS - {"NET_BIND_SERVICE"}:
        return "privileged"
    volumes = {str(v) for v in _list(spec.get("volumes"))}
    if "*" in volumes or "hostPath" in volumes:
        return "privileged"
    run_as_user = spec.get("runAsUser")
    run_as = run_as_user.get("rule") if isinstance(run_as_user, dict) else None
    drops = {str(c).upper() for c in _list(spec.get("requiredDropCapabilities"))}
    if (
        run_as in ("MustRunAsNonRoot", "MustRunAs")
        and "ALL" in drops
        and spec.get("allowPrivilegeEscalation") is False
        and not caps - {"NET_BIND_SERVICE"}
    ):
        return "restricted"
    return "baseline"


_SCC_HOST_FIELDS = (
    "allowPrivilegedContainer", "allowHostNetwork", "allowHostPID", "allowHostIPC", "allowHostDirVolumePlugin",
    "allowHostPorts",
)  # fmt: skip


def scc_reasons(scc: dict[str, Any]) -> list[str]:
    """What an SCC allows beyond the baseline Pod Security Standard (empty: baseline or stricter)."""
    reasons = [field for field in _SCC_HOST_FIELDS if scc.get(field) is True]
    caps = {str(c).upper() for c in (*_list(scc.get("allowedCapabilities")), *_list(scc.get("defaultAddCapabilities")))}
    beyond = sorted(caps - _BASELINE_CAPS)
    if beyond:
        reasons.append("capabilities " + ", ".join(beyond))
    return reasons


def scc_level(scc: dict[str, Any]) -> str:
    """The Pod Security Standard an OpenShift SecurityContextConstraints corresponds to.

    Capabilities count: an SCC that allows one beyond the baseline set (``SYS_RESOURCE``, ``NET_ADMIN``)
    needs ``privileged``; ``baseline`` would reject its pods.
    """
    meta = scc.get("metadata")
    name = str(meta.get("name") or "") if isinstance(meta, dict) else ""
    if name in ("restricted", "restricted-v2", "nonroot", "nonroot-v2"):
        return "restricted"
    if scc_reasons(scc):
        return "privileged"
    return "baseline"


class PoliciesTranslator(BaseTranslator):
    """PodSecurityPolicy → Pod Security Admission labels on the namespaces that used them."""

    name = "policies"
    order = 90
    kinds = frozenset({"PodSecurityPolicy", "Namespace", "SecurityContextConstraints"})
    description = "PodSecurityPolicy / SCC → Pod Security Admission namespace labels"

    def begin(self, ctx: Context) -> None:
        """Look at the whole input once before the objects go through."""
        levels: dict[str, str] = {}
        for obj in ctx.of_kind("PodSecurityPolicy"):
            levels[_name(obj)] = psp_level(obj.get("spec"))
        sccs: dict[str, str] = {}
        for obj in ctx.of_kind("SecurityContextConstraints"):
            name = _name(obj)
            sccs[name] = scc_level(obj)
            reasons = scc_reasons(obj)
            if reasons:
                ctx.manual(
                    None,
                    f"SECURITY: SecurityContextConstraints {name} allows {'; '.join(reasons)}: Pod Security Admission "
                    "has no level between baseline and privileged, so the namespaces that used it need "
                    f"{ENFORCE}=privileged (baseline would reject their pods); narrow it again with a policy engine "
                    "(Kyverno, Gatekeeper) if that is too wide",
                )
        if not levels and not sccs:
            ctx.state[self.name] = {}
            return
        # roles granting `use` on a PSP/SCC
        grants: dict[tuple[str, str, str], list[str]] = {}
        for role in ctx.of_kind("Role", "ClusterRole"):
            meta = role.get("metadata") or {}
            found: list[str] = []
            for rule in role.get("rules") or []:
                resources = set(rule.get("resources") or [])
                if "use" not in (rule.get("verbs") or []) and "*" not in (rule.get("verbs") or []):
                    continue
                names = rule.get("resourceNames") or []
                if "podsecuritypolicies" in resources:
                    found += [f"psp:{n}" for n in (names or levels)]
                if "securitycontextconstraints" in resources:
                    found += [f"scc:{n}" for n in (names or sccs)]
            if found:
                grants[(str(role["kind"]), str(meta.get("namespace") or ""), str(meta.get("name")))] = found
        per_ns: dict[str, str] = {}
        used: set[str] = set()

        def grant(ns: str, policy: str) -> None:
            kind, _, name = policy.partition(":")
            level = (levels if kind == "psp" else sccs).get(name)
            if level is None or not ns:
                return
            used.add(policy)
            if ns not in per_ns or _ORDER[level] > _ORDER[per_ns[ns]]:
                per_ns[ns] = level

        for binding in ctx.of_kind("RoleBinding", "ClusterRoleBinding"):
            ref = binding.get("roleRef") or {}
            bns = str((binding.get("metadata") or {}).get("namespace") or "")
            role_ns = bns if ref.get("kind") == "Role" else ""
            policies = grants.get((str(ref.get("kind")), role_ns, str(ref.get("name"))), [])
            for subject in binding.get("subjects") or []:
                ns = str(subject.get("namespace") or bns)
                if subject.get("kind") == "Group" and str(subject.get("name", "")).startswith(
                    "system:serviceaccounts:"
                ):
                    ns = str(subject["name"]).split(":", 2)[2]
                for p in policies:
                    grant(ns, p)
        for scc in ctx.of_kind("SecurityContextConstraints"):
            for user in _list(scc.get("users")):
                parts = str(user).split(":")
                if len(parts) == 4 and parts[:2] == ["system", "serviceaccount"]:
                    grant(parts[2], f"scc:{_name(scc)}")
            for group in _list(scc.get("groups")):
                if str(group).startswith("system:serviceaccounts:"):
                    grant(str(group).split(":", 2)[2], f"scc:{_name(scc)}")
        for kind, table, what in (("psp", levels, "PodSecurityPolicy"), ("scc", sccs, "SecurityContextConstraints")):
            for name, level in sorted(table.items()):
                if f"{kind}:{name}" not in used:
                    ctx.manual(
                        None,
                        f"{what} {name} (Pod Security level {level}) is bound to no namespace in the bundle, so no "
                        f"namespace gets its replacement: label the namespaces whose pods used it with {ENFORCE}="
                        f"{level} on the target",
                    )
        ctx.state[self.name] = per_ns
        present = {str((n.get("metadata") or {}).get("name")) for n in ctx.of_kind("Namespace")}
        for ns, level in sorted(per_ns.items()):
            if ns not in present:
                ctx.manual(
                    None,
                    f"label namespace {ns} with {ENFORCE}={level} on the target (was enforced by a "
                    "PodSecurityPolicy/SCC)",
                )

    def translate(self, item: Item, ctx: Context) -> None:
        """Translate one object (see the module docstring)."""
        if item.kind in ("PodSecurityPolicy", "SecurityContextConstraints"):
            item.drop(f"{item.kind} is replaced by Pod Security Admission namespace labels")
            return
        per_ns: dict[str, str] = ctx.state.get(self.name) or {}
        level = per_ns.get(item.name)
        if level is None:
            return
        labels = item.get("metadata", "labels") or {}
        if ENFORCE not in labels:
            item.set(
                ("metadata", "labels", ENFORCE),
                level,
                "Pod Security Admission level of the PodSecurityPolicy/SCC its pods used",
            )
