"""Errors of the policy gate (all derive from :class:`portkit.PortkitError`)."""

from __future__ import annotations

from portkit.errors import InputError, PortkitError

__all__ = ["OpaUnavailableError", "PolicyError", "PolicyInputError"]


class PolicyError(PortkitError):
    """The policies could not be evaluated (OPA failed or could not be found)."""


class PolicyInputError(PolicyError, InputError):
    """A policy file is unusable: Rego that does not parse or compile, a ConstraintTemplate or constraint
    without what it needs, a policy kind portkit cannot evaluate. The CLI exits 2 for it."""


class OpaUnavailableError(PolicyError):
    """No usable ``opa`` binary: none on PATH or in ``$PORTKIT_OPA``, no cached build, and none can be built."""
