"""Provider-only objects and metadata: dropped and reported.

Kinds that exist only on the source provider (TargetGroupBinding, IngressClassParams, ManagedCertificate,
BackendConfig, SecretProviderClass for a cloud secret store, ...) are left out of the translated bundle
with a warning or a manual action, and so are their CustomResourceDefinitions; provider-only annotations
and labels (``eks.amazonaws.com/*``, ``elbv2.k8s.aws/*`` namespace labels, ``openshift.io/*``) are
removed from every object and pod template.
"""

from __future__ import annotations

from typing import Any

from portkit.model import get_path, split_api_version
from portkit.profiles import ProviderKind
from portkit.translate._base import BaseTranslator, Context, Item
from portkit.translate._util import containers, pod_spec_path, pod_template_meta_path

__all__ = ["ProviderObjectsTranslator"]


def _split(patterns: tuple[str, ...]) -> tuple[tuple[str, ...], frozenset[str]]:
    return tuple(p for p in patterns if p.endswith("/")), frozenset(p for p in patterns if not p.endswith("/"))


class _KindIndex:
    """Provider-only kinds by (group, kind), with ``*`` kinds, ``*.suffix`` groups and OpenShift's legacy
    core-group kinds (``apiVersion: v1`` Routes, BuildConfigs, ... in old exports)."""

    def __init__(self, entries: tuple[ProviderKind, ...]) -> None:
        self.entries = entries
        self._cache: dict[tuple[str, str], tuple[ProviderKind, ...]] = {}

    def __bool__(self) -> bool:
        return bool(self.entries)

    def get(self, key: tuple[str, str]) -> tuple[ProviderKind, ...]:
        hit = self._cache.get(key)
        if hit is None:
            group, kind = key
            found = [pk for pk in self.entries if pk.matches(group, kind)]
            if not found and group == "":
                found = [pk for pk in self.entries if pk.kind == kind and pk.group.endswith("openshift.io")]
            hit = self._cache[key] = tuple(found)
        return hit


class ProviderObjectsTranslator(BaseTranslator):
    """Drops provider-only kinds and strips provider-only annotations and labels."""

    name = "provider_objects"
    order = 30
    kinds = None
    description = "provider-only kinds, annotations and labels"

    def begin(self, ctx: Context) -> None:
        """Look at the whole input once before the objects go through."""
        target = set(ctx.target.members)
        same = bool(target & set(ctx.source.members))
        entries = () if same else ctx.source.provider_kinds
        resources = () if same else ctx.source.provider_resources
        target_prefixes = set(ctx.target.annotation_prefixes) | set(ctx.target.label_prefixes)
        ann = tuple(p for p in ctx.source.annotation_prefixes if p not in target_prefixes)
        lab = tuple(p for p in ctx.source.label_prefixes if p not in target_prefixes)
        ctx.state[self.name] = (_KindIndex(entries), _split(ann), _split(lab), resources)

    def translate(self, item: Item, ctx: Context) -> None:
        """Translate one object (see the module docstring)."""
        kinds, ann, lab, resources = ctx.state[self.name]
        obj = item.obj
        if kinds:
            group = split_api_version(str(obj.get("apiVersion") or ""))[0]
            if item.kind == "CustomResourceDefinition" and group == "apiextensions.k8s.io":
                served = (str(get_path(obj, "spec", "group") or ""), str(get_path(obj, "spec", "names", "kind") or ""))
                if any(pk.when_path is None for pk in kinds.get(served)):
                    item.drop(
                        f"{ctx.source.name}-only kind: the CRD of {served[1]}.{served[0]} is not needed "
                        "without its objects"
                    )
                    item.warn(f"dropped: CRD of the {ctx.source.name}-only kind {served[1]}.{served[0]}")
                    return
            for pk in kinds.get((group, item.kind)):
                if pk.when_path is not None:
                    value = get_path(obj, *pk.when_path.split("."))
                    if str(value) not in pk.when_values:
                        continue
                message = pk.message or f"{item.kind} exists only on {ctx.source.name}"
                item.drop(f"{ctx.source.name}-only kind: {message}")
                if pk.action == "manual":
                    item.manual(message)
                else:
                    item.warn(f"dropped: {message}")
                return
        self._meta(item, ("metadata",), ann, lab, ctx)
        meta_path = pod_template_meta_path(obj)
        if meta_path is not None and meta_path != ("metadata",):
            self._meta(item, meta_path, ann, lab, ctx)
        if resources and meta_path is not None:
            self._resources(item, ctx, resources)

    def _resources(self, item: Item, ctx: Context, resources: tuple[Any, ...]) -> None:
        """Extended resources only the source's nodes offer (Neuron, TPU): a manual action per resource."""
        spec_path = pod_spec_path(item.obj)
        spec = item.get(*spec_path) if spec_path is not None else None
        if not isinstance(spec, dict):
            return
        for _, _, c in containers(spec):
            res = c.get("resources")
            if not isinstance(res, dict):
                continue
            names: set[str] = set()
            for section in ("limits", "requests"):
                values = res.get(section)
                if isinstance(values, dict):
                    names.update(str(k) for k in values)
            for name in sorted(names):
                pr = next((r for r in resources if r.matches(name)), None)
                if pr is not None:
                    item.manual(f"container {c.get('name')} {pr.message} (resource {name})")

    def _meta(
        self,
        item: Item,
        path: tuple[str, ...],
        ann: tuple[tuple[str, ...], frozenset[str]],
        lab: tuple[tuple[str, ...], frozenset[str]],
        ctx: Context,
    ) -> None:
        meta = item.get(*path)
        if not isinstance(meta, dict):
            return
        for field, (prefixes, exact) in (("annotations", ann), ("labels", lab)):
            values: Any = meta.get(field)
            if not values or not isinstance(values, dict):
                continue
            doomed = [k for k in values if (prefixes and k.startswith(prefixes)) or k in exact]
            if not doomed:
                continue
            selector = item.get("spec", "selector", "matchLabels") or item.get("spec", "selector") or {}
            for key in doomed:
                if field == "labels" and path != ("metadata",) and isinstance(selector, dict) and key in selector:
                    item.warn(f"pod label {key} is {ctx.source.name}-specific but the selector uses it; kept")
                    continue
                item.remove((*path, field, key), f"{ctx.source.name}-only {field[:-1]}")
