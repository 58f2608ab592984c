"""The provider matrix: what portkit translates for each provider, rendered from the profiles."""

from __future__ import annotations

from collections.abc import Iterable

from portkit.profiles._model import Profile

__all__ = ["matrix_markdown"]


def _cell(values: Iterable[str], empty: str = "—") -> str:
    items = [v for v in values if v]
    return ", ".join(items) if items else empty


def _row(p: Profile) -> list[str]:
    storage = p.storage
    classes = _cell(f"`{c.name}`" + (" (default)" if c.default else "") for c in (storage.classes if storage else ()))
    provisioners = _cell(f"`{x}`" for x in (storage.provisioners if storage else ()))
    lb = p.load_balancer
    if lb is None:
        lb_cell = "—"
    elif not lb.external:
        lb_cell = "no external LB (node public IP)"
    else:
        lb_cell = _cell(sorted(lb.concepts), "class only")
    ingress = _cell(f"`{c}`" for c in (p.ingress.classes if p.ingress else ()))
    identity = p.identity.mechanism if p.identity and p.identity.mechanism != "none" else "—"
    pool = f"`{p.topology.node_pool_key}`" if p.topology and p.topology.node_pool_key else "—"
    kinds = _cell(k.kind for k in p.provider_kinds)
    return [f"**{p.name}**", "/".join(p.roles), provisioners, classes, lb_cell, ingress, identity, pool, kinds]


def matrix_markdown(profiles: Iterable[Profile]) -> str:
    """A Markdown table: one row per provider profile, one column per translated concern."""
    headers = [
        "provider",
        "role",
        "CSI provisioners",
        "storage classes",
        "load-balancer concepts",
        "ingress classes",
        "workload identity",
        "node-pool label",
        "provider-only kinds",
    ]
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    for p in sorted(profiles, key=lambda p: p.name):
        lines.append("| " + " | ".join(_row(p)) + " |")
    return "\n".join(lines) + "\n"
