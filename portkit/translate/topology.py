"""Topology: node selectors, node affinity, spread constraints and tolerations.

Provider node-label keys are mapped (node pools to the target's pool key) or removed with a warning;
zone and region values are mapped by the user's ``zones`` mapping, regions also by city (the profiles
record each region's city), else removed with a warning. Portable keys (``topology.kubernetes.io/zone``
as a spread key, ``kubernetes.io/os``) are kept; deprecated ``failure-domain.beta`` keys are renamed.
"""

from __future__ import annotations

from typing import Any

import attrs

from portkit.translate._base import BaseTranslator, Context, Item
from portkit.translate._util import POD_KINDS, key_matches, pod_spec_path

__all__ = ["TopologyTranslator"]

ZONE = "topology.kubernetes.io/zone"
REGION = "topology.kubernetes.io/region"
HOSTNAME = "kubernetes.io/hostname"
_RENAMED = {
    "failure-domain.beta.kubernetes.io/zone": ZONE,
    "failure-domain.beta.kubernetes.io/region": REGION,
    "beta.kubernetes.io/instance-type": "node.kubernetes.io/instance-type",
    "beta.kubernetes.io/os": "kubernetes.io/os",
    "beta.kubernetes.io/arch": "kubernetes.io/arch",
}
_INSTANCE = "node.kubernetes.io/instance-type"


@attrs.frozen
class _Decision:
    key: str | None  # None: remove the requirement
    value: str | None  # for values: None removes the value
    reason: str
    warning: str = ""


class TopologyTranslator(BaseTranslator):
    """Maps or removes provider-specific scheduling constraints."""

    name = "topology"
    order = 70
    kinds = POD_KINDS
    description = "nodeSelector, node affinity, topology spread, tolerations: provider keys and zones"

    # -- decisions ---------------------------------------------------------------------------------

    def begin(self, ctx: Context) -> None:
        """Look at the whole input once before the objects go through."""
        ctx.state[self.name] = ({}, {})

    def _key(self, key: str, ctx: Context) -> tuple[str | None, str, str]:
        """(new key or None, reason, warning) for a node label key regardless of value (memoized)."""
        cache = ctx.state[self.name][0]
        hit = cache.get(key)
        if hit is None:
            hit = cache[key] = self._key_uncached(key, ctx)
        return hit  # type: ignore[no-any-return]

    def _value(self, key: str, value: str, ctx: Context) -> _Decision:
        """What happens to ``key=value`` (memoized)."""
        cache = ctx.state[self.name][1]
        hit = cache.get((key, value))
        if hit is None:
            hit = cache[(key, value)] = self._value_uncached(key, value, ctx)
        return hit  # type: ignore[no-any-return]

    def _key_uncached(self, key: str, ctx: Context) -> tuple[str | None, str, str]:
        src = ctx.source.topology
        dst = ctx.target.topology
        assert src is not None
        if key in _RENAMED:
            return _RENAMED[key], f"{key} is deprecated", ""
        if src.node_pool_key and key == src.node_pool_key:
            if dst is not None and dst.node_pool_key:
                return (
                    dst.node_pool_key,
                    f"node-pool label of {ctx.source.name} → {ctx.target.name}",
                    f"node pool selector now uses {dst.node_pool_key}: make sure the target has the pool",
                )
            return (
                None,
                f"{ctx.target.name} has no node-pool label",
                f"node-pool constraint {key} removed: {ctx.target.name} has no node-pool label",
            )
        if src.owns_label(key) and not (dst is not None and dst.owns_label(key)):
            return (
                None,
                f"{key} is a node label only {ctx.source.name} sets",
                f"constraint on {key} removed ({ctx.source.name}-only node label)",
            )
        return key, "", ""

    def _value_uncached(self, key: str, value: str, ctx: Context) -> _Decision:
        src = ctx.source.topology
        dst = ctx.target.topology
        assert src is not None
        zones = ctx.mappings.zones
        if key in (ZONE, REGION) and value in zones:
            new = zones[value]
            warning = ""
            if new and key == ZONE and dst is not None and (dst.zones or dst.zone_pattern) and not dst.is_zone(new):
                warning = (
                    f"zone {new} (mapped from {value}) is not a zone the {ctx.target.name} profile knows: check it"
                )
            return _Decision(key, new or None, f"user mapping zone:{value}={new}", warning)
        if key == ZONE and src.is_fault_domain(value) and not (dst is not None and dst.is_zone(value)):
            return _Decision(
                key,
                None,
                f"{value} is a {ctx.source.name} fault-domain number of non-zonal nodes, not a zone",
                f"zone value {value} removed: a {ctx.source.name} fault domain, not a zone; no {ctx.target.name} "
                "node has it",
            )
        if key == REGION and src.is_region(value) and not (dst is not None and dst.is_region(value)):
            city = src.regions.get(value)
            new_region = dst.region_in_city(city) if (dst is not None and city) else None
            if new_region:
                return _Decision(key, new_region, f"{value} and {new_region} are both in {city}")
            return _Decision(
                key,
                None,
                f"{value} is a region of {ctx.source.name}",
                f"region {value} removed: map it with --map zone:{value}=REGION",
            )
        if key == ZONE and src.is_zone(value) and not (dst is not None and dst.is_zone(value)):
            return _Decision(
                key,
                None,
                f"{value} is a zone of {ctx.source.name}",
                f"zone {value} removed: map it with --map zone:{value}=ZONE",
            )
        if key == _INSTANCE and src.is_instance_type(value):
            return _Decision(
                None,
                None,
                f"{value} is an instance type of {ctx.source.name}",
                f"instance-type constraint {value} removed",
            )
        if key == HOSTNAME:
            return _Decision(
                None, None, "source node names do not exist on the target", f"constraint on node {value} removed"
            )
        if src.node_pool_key and key == (dst.node_pool_key if dst else None) and value in ctx.mappings.node_pools:
            return _Decision(key, ctx.mappings.node_pools[value], f"user mapping nodepool:{value}")
        return _Decision(key, value, "")

    # -- objects -------------------------------------------------------------------------------------

    def translate(self, item: Item, ctx: Context) -> None:
        """Translate one object (see the module docstring)."""
        if ctx.source.topology is None or ctx.source.topology is ctx.target.topology:
            return
        spec_path = pod_spec_path(item.obj)
        if spec_path is None:
            return
        spec = item.get(*spec_path)
        if not isinstance(spec, dict):
            return
        if isinstance(spec.get("nodeSelector"), dict):
            self._node_selector(item, spec_path, ctx)
        if isinstance(item.get(*spec_path, "affinity"), dict):
            self._affinity(item, spec_path, ctx)
        if isinstance(spec.get("topologySpreadConstraints"), list):
            for i, tsc in enumerate(list(item.get(*spec_path, "topologySpreadConstraints") or [])):
                if isinstance(tsc, dict) and isinstance(tsc.get("topologyKey"), str):
                    self._topology_key(
                        item, (*spec_path, "topologySpreadConstraints", i, "topologyKey"), tsc["topologyKey"], ctx
                    )
        if isinstance(spec.get("tolerations"), list):
            self._tolerations(item, spec_path, ctx)

    def _node_selector(self, item: Item, spec_path: tuple[str, ...], ctx: Context) -> None:
        selector: dict[str, Any] = dict(item.get(*spec_path, "nodeSelector") or {})
        for key, value in selector.items():
            new_key, reason, warning = self._key(key, ctx)
            new_value: Any = value
            if new_key is not None:
                d = self._value(new_key, str(value), ctx)
                new_key, new_value = d.key, d.value
                reason = reason or d.reason
                warning = warning or d.warning
                if new_value is None:
                    new_key = None
            if new_key == key and new_value == value:
                continue
            if new_key != key:
                item.remove((*spec_path, "nodeSelector", key), reason, prune=new_key is None)
            if new_key is not None:
                item.set((*spec_path, "nodeSelector", new_key), new_value, reason)
            if warning:
                item.warn(warning)

    def _expressions(self, item: Item, path: tuple[str | int, ...], ctx: Context) -> None:
        """Rewrite one NodeSelectorTerm's matchExpressions in place (copying first)."""
        exprs = item.get(*path)
        if not isinstance(exprs, list):
            return
        new_exprs: list[Any] = []
        changed = False
        for expr in exprs:
            if not isinstance(expr, dict) or not isinstance(expr.get("key"), str):
                new_exprs.append(expr)
                continue
            key = expr["key"]
            new_key, _, warning = self._key(key, ctx)
            if new_key is None:
                changed = True
                if warning:
                    item.warn(warning)
                continue
            values = expr.get("values")
            new_values = values
            if isinstance(values, list):
                new_values = []
                for v in values:
                    d = self._value(new_key, str(v), ctx)
                    if d.key is None or d.value is None:
                        if d.warning:
                            item.warn(d.warning)
                        continue
                    new_values.append(d.value)
                if not new_values and values:
                    changed = True
                    item.warn(f"affinity on {key} removed: none of its values exist on {ctx.target.name}")
                    continue
            if new_key != key or new_values != values:
                changed = True
                expr = {**expr, "key": new_key}
                if isinstance(new_values, list):
                    expr["values"] = new_values
                if warning:
                    item.warn(warning)
            new_exprs.append(expr)
        if changed:
            if new_exprs:
                item.set(path, new_exprs, f"{ctx.source.name} node labels or zones mapped for {ctx.target.name}")
            else:
                item.remove(path, f"only {ctx.source.name} node labels or zones", prune=False)

    def _affinity(self, item: Item, spec_path: tuple[str, ...], ctx: Context) -> None:
        na = (*spec_path, "affinity", "nodeAffinity")
        req = (*na, "requiredDuringSchedulingIgnoredDuringExecution", "nodeSelectorTerms")
        terms = item.get(*req)
        if isinstance(terms, list):
            for i in range(len(terms)):
                self._expressions(item, (*req, i, "matchExpressions"), ctx)
            now = item.get(*req) or []
            emptied = [i for i, t in enumerate(now) if isinstance(t, dict) and not t]
            if emptied:
                # terms are ORed: a term left without constraints matches every node, so the requirement as a
                # whole now does too; dropping only that term would narrow placement to the other terms.
                item.remove(
                    (*na, "requiredDuringSchedulingIgnoredDuringExecution"),
                    f"term {emptied[0] + 1} named only {ctx.source.name} node labels or zones; the terms are ORed",
                )
                if len(now) > 1:
                    item.warn(
                        f"required node affinity removed as a whole: term {emptied[0] + 1} of {len(now)} named only "
                        f"{ctx.source.name} node labels or zones and the terms are ORed (keeping the others would "
                        "narrow placement to them); add target constraints if the pods need them"
                    )
        pref = (*na, "preferredDuringSchedulingIgnoredDuringExecution")
        prefs = item.get(*pref)
        if isinstance(prefs, list):
            for i in range(len(prefs)):
                self._expressions(item, (*pref, i, "preference", "matchExpressions"), ctx)
            kept = [p for p in item.get(*pref) or [] if not (isinstance(p, dict) and not p.get("preference"))]
            if len(kept) != len(item.get(*pref) or []):
                if kept:
                    item.set(pref, kept, "preferences left empty")
                else:
                    item.remove(pref, "no preferences left")
        if item.get(*na) == {}:
            item.remove(na, "node affinity left empty")
        for kind in ("podAffinity", "podAntiAffinity"):
            base = (*spec_path, "affinity", kind)
            for field, inner in (
                ("requiredDuringSchedulingIgnoredDuringExecution", ()),
                ("preferredDuringSchedulingIgnoredDuringExecution", ("podAffinityTerm",)),
            ):
                entries = item.get(*base, field)
                if not isinstance(entries, list):
                    continue
                for i, entry in enumerate(entries):
                    term = entry.get(inner[0]) if inner and isinstance(entry, dict) else entry
                    if isinstance(term, dict) and isinstance(term.get("topologyKey"), str):
                        self._topology_key(item, (*base, field, i, *inner, "topologyKey"), term["topologyKey"], ctx)
        if item.get(*spec_path, "affinity") == {}:
            item.remove((*spec_path, "affinity"), "affinity left empty")

    def _topology_key(self, item: Item, path: tuple[str | int, ...], key: str, ctx: Context) -> None:
        new_key, reason, _ = self._key(key, ctx)
        if new_key is None:
            new_key = ZONE if "zone" in key.lower() or "location" in key.lower() else HOSTNAME
            reason = f"{key} is a key only {ctx.source.name} sets; {new_key} is portable"
        if new_key != key:
            item.set(path, new_key, reason)

    def _tolerations(self, item: Item, spec_path: tuple[str, ...], ctx: Context) -> None:
        src = ctx.source.topology
        assert src is not None
        tolerations = item.get(*spec_path, "tolerations") or []
        kept = []
        for tol in tolerations:
            key = tol.get("key") if isinstance(tol, dict) else None
            if isinstance(key, str) and (key_matches(key, src.toleration_keys) or src.owns_label(key)):
                item.warn(f"toleration for {key} removed ({ctx.source.name}-only taint)")
                continue
            kept.append(tol)
        if len(kept) != len(tolerations):
            if kept:
                item.set((*spec_path, "tolerations"), kept, f"{ctx.source.name}-only taints")
            else:
                item.remove((*spec_path, "tolerations"), f"{ctx.source.name}-only taints", prune=False)
