"""The policy-gate flags ``lint``, ``plan``, ``apply`` and ``migrate`` share."""

from __future__ import annotations

import argparse

__all__ = ["add_policy_flags"]


def add_policy_flags(parser: argparse.ArgumentParser, *, override: bool = True) -> None:
    """``--policy DIR|FILE`` (repeatable), ``--policy-namespace PKG`` (repeatable) and, where the command
    writes, ``--allow-policy-violations``."""
    parser.add_argument(
        "--policy", dest="policies", metavar="DIR|FILE", action="append", default=None,
        help="check the objects against these OPA/Rego policies (conftest-style deny/violation/warn rules) and "
        "Gatekeeper ConstraintTemplates + constraints before anything is applied; violations fail the command "
        "(repeatable; needs the opa binary: $PORTKIT_OPA, PATH, or built once from its Go module)",
    )  # fmt: skip
    parser.add_argument(
        "--policy-namespace", dest="policy_namespaces", metavar="PKG", action="append", default=None,
        help="only evaluate the rules of these Rego packages, e.g. main (conftest's --namespace; default: "
        "every package; repeatable)",
    )  # fmt: skip
    if override:
        parser.add_argument(
            "--allow-policy-violations", action="store_true",
            help="go on despite policy violations (they are reported as warnings)",
        )  # fmt: skip
