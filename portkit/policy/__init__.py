"""The policy gate: check manifests against OPA/Rego and Gatekeeper policies before anything is applied.

``check_policies(objects, "policies/")`` evaluates conftest-style Rego rules (``deny``, ``violation``,
``warn`` and their ``_suffix`` variants, in any package; Rego v1, and v0 files the way OPA's
``--v0-compatible`` reads them) and Gatekeeper ConstraintTemplates with their constraints (``match``,
``parameters``, ``enforcementAction``), offline, with a real OPA (``opa`` binary; see :mod:`portkit.policy.opa`).
``portkit lint --policy DIR``, ``portkit plan/apply --policy DIR`` and ``Migration(..., policies=DIR)`` use it.
"""

from portkit.policy.engine import check_policies
from portkit.policy.errors import OpaUnavailableError, PolicyError, PolicyInputError
from portkit.policy.opa import OPA_VERSION, ensure_opa, find_opa
from portkit.policy.result import PolicyResult, Violation
from portkit.policy.sources import Constraint, PolicySet, RegoFile, Template, load_policies

__all__ = [
    "OPA_VERSION",
    "Constraint",
    "OpaUnavailableError",
    "PolicyError",
    "PolicyInputError",
    "PolicyResult",
    "PolicySet",
    "RegoFile",
    "Template",
    "Violation",
    "check_policies",
    "ensure_opa",
    "find_opa",
    "load_policies",
]
