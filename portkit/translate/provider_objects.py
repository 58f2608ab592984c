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
from portkit.translate._util import pod_template_meta_path

__all__ = ["ProviderObjectsTranslator"]


def _split(patterns: tuple[str, ...]) -> tuple[tuple[str, ...], frozenset[str]]:
    return tuple(p for p in patterns if p.endswith("/")), frozenset(p for p in patterns if not p.endswith("/"))


class ProviderObjectsTranslator(BaseTranslator):
    """Drops provider-only kinds and strips provider-only annotations and labels."""

    name = "provider_objects"
    order = 30
    kinds = None
    description = "provider-only kinds, annotations and labels"

    def begin(self, ctx: Context) -> None:
        """Look at the whole input once before the objects go through."""
        target = set(ctx.target.members)
        kinds: dict[tuple[str, str], list[ProviderKind]] = {}
        for pk in ctx.source.provider_kinds:
            kinds.setdefault((pk.group, pk.kind), []).append(pk)
        target_prefixes = set(ctx.target.annotation_prefixes) | set(ctx.target.label_prefixes)
        ann = tuple(p for p in ctx.source.annotation_prefixes if p not in target_prefixes)
        lab = tuple(p for p in ctx.source.label_prefixes if p not in target_prefixes)
        ctx.state[self.name] = (kinds if not target & set(ctx.source.members) else {}, _split(ann), _split(lab))

    def translate(self, item: Item, ctx: Context) -> None:
        """Translate one object (see the module docstring)."""
        kinds, ann, lab = ctx.state[self.name]
        obj = item.obj
        if kinds:
            group = split_api_version(str(obj.get("apiVersion") or ""))[0]
            if item.kind == "CustomResourceDefinition" and group == "apiextensions.k8s.io":
                served = (str(get_path(obj, "spec", "group") or ""), str(get_path(obj, "spec", "names", "kind") or ""))
                if any(pk.when_path is None for pk in kinds.get(served, ())):
                    item.drop(
                        f"{ctx.source.name}-only kind: the CRD of {served[1]}.{served[0]} is not needed "
                        "without its objects"
                    )
                    item.warn(f"dropped: CRD of the {ctx.source.name}-only kind {served[1]}.{served[0]}")
                    return
            for pk in kinds.get((group, item.kind), ()):
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
