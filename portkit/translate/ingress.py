"""Ingress: class mapping, annotation equivalents, provider-only annotations and IngressClass objects.

Provider classes (``alb``, ``gce``, ``azure/application-gateway``) become the configured class (the
``ingress_class`` mapping, else the target profile's, else ``nginx``) in ``spec.ingressClassName`` and in
the legacy ``kubernetes.io/ingress.class`` annotation, wherever the source used them. Annotations with an
nginx equivalent are rewritten when the new class is an nginx one; the rest of the provider's family is
dropped and reported; certificate annotations become manual actions; cert-manager annotations are kept.
"""

from __future__ import annotations

from typing import Any

from portkit.profiles import IngressEquivalent, IngressProfile
from portkit.translate._base import BaseTranslator, Context, Item

__all__ = ["IngressTranslator", "target_ingress_class"]

_CLASS_ANN = "kubernetes.io/ingress.class"


def target_ingress_class(ctx: Context) -> str:
    """The ingress class objects move to."""
    if ctx.mappings.ingress_class:
        return ctx.mappings.ingress_class
    if ctx.target.ingress is not None and ctx.target.ingress.default_class:
        return ctx.target.ingress.default_class
    return "nginx"


def _equivalent_value(eq: IngressEquivalent, raw: Any) -> str | None:
    if eq.values:
        return eq.values.get(str(raw).lower())
    if eq.value is not None:
        return eq.value
    text = str(raw)
    if eq.format == "upper":
        return text.upper()
    if eq.format == "lower":
        return text.lower()
    return text


class IngressTranslator(BaseTranslator):
    """Maps ingress classes and annotations to the target's ingress controller."""

    name = "ingress"
    order = 60
    kinds = frozenset({"Ingress", "IngressClass"})
    description = "ingress classes, annotation equivalents, provider-only ingress annotations"

    def begin(self, ctx: Context) -> None:
        """IngressClass objects of the bundle whose controller is the source's are source classes too."""
        src = ctx.source.ingress
        names: set[str] = set()
        if src is not None:
            for ic in ctx.of_kind("IngressClass"):
                spec = ic.get("spec")
                meta = ic.get("metadata")
                if isinstance(spec, dict) and spec.get("controller") in src.controllers and isinstance(meta, dict):
                    names.add(str(meta.get("name")))
        ctx.state[self.name] = names

    def translate(self, item: Item, ctx: Context) -> None:
        """Translate one object (see the module docstring)."""
        src = ctx.source.ingress
        if src is None or src is ctx.target.ingress:
            return
        if item.kind == "IngressClass":
            controller = item.get("spec", "controller")
            if controller in src.controllers or item.name in src.classes:
                item.drop(f"{item.name} is the {ctx.source.name} ingress controller's class ({controller})")
                new = target_ingress_class(ctx)
                ctx.manual(
                    None,
                    f"install an ingress controller on the target serving class {new!r} (e.g. ingress-nginx) if it "
                    "has none",
                )
            return
        self._ingress(item, ctx, src)

    def _ingress(self, item: Item, ctx: Context, src: IngressProfile) -> None:
        new_class = target_ingress_class(ctx)
        nginx = "nginx" in new_class
        spec_class = item.get("spec", "ingressClassName")
        raw_anns = item.get("metadata", "annotations")
        anns: dict[str, Any] = dict(raw_anns) if isinstance(raw_anns, dict) else {}
        ann_class = anns.get(_CLASS_ANN)
        classes = {*src.classes, *ctx.state.get(self.name, ())}
        provider_class = (spec_class in classes) or (ann_class in classes)
        for cls in (spec_class, ann_class):
            if cls in src.internal_classes:
                item.manual(
                    f"SECURITY: ingress class {cls} served this Ingress on an internal-only load balancer; on "
                    f"{ctx.target.name} class {new_class} serves it publicly: use an internal ingress controller "
                    "(a second controller on a private load balancer) or restrict it with "
                    "nginx.ingress.kubernetes.io/whitelist-source-range"
                )
        if provider_class or (spec_class is None and ann_class is None and src.classes):
            ctx.manual(
                None,
                f"install an ingress controller on the target serving class {new_class!r} (e.g. ingress-nginx) if it "
                "has none",
            )
        if spec_class in classes:
            item.set(("spec", "ingressClassName"), new_class, f"{spec_class} is an ingress class of {ctx.source.name}")
        if ann_class in classes:
            item.set(
                ("metadata", "annotations", _CLASS_ANN),
                new_class,
                f"{ann_class} is an ingress class of {ctx.source.name}",
            )
        if spec_class is None and ann_class is None and src.classes:
            item.warn(
                f"has no ingress class; it was served by the {ctx.source.name} default; the target's default class "
                "serves it now"
            )
        for key, raw in anns.items():
            if key == _CLASS_ANN or not src.owns_annotation(key):
                continue
            eq = src.equivalents.get(key)
            if key in src.manual:
                item.remove(("metadata", "annotations", key), f"{ctx.source.name}-only ({key})")
                item.manual(f"{key}={raw}: {src.manual[key]}")
                if eq is None:
                    continue
            value = _equivalent_value(eq, raw) if eq is not None and nginx else None
            if eq is not None and value is not None:
                if key in anns and (item.get("metadata", "annotations") or {}).get(key) is not None:
                    item.remove(("metadata", "annotations", key), f"rewritten as {eq.target}")
                if (item.get("metadata", "annotations") or {}).get(eq.target) is None:
                    item.set(("metadata", "annotations", eq.target), value, f"nginx equivalent of {key}")
                continue
            if (item.get("metadata", "annotations") or {}).get(key) is not None:
                item.remove(
                    ("metadata", "annotations", key),
                    f"{ctx.source.name} ingress annotation without an equivalent on {new_class}",
                )
                item.warn(f"annotation {key}={raw} has no equivalent on ingress class {new_class}; dropped")
        if provider_class or any(src.owns_annotation(k) for k in anns):
            self._paths(item, ctx, src)

    def _paths(self, item: Item, ctx: Context, src: IngressProfile) -> None:
        rules = item.get("spec", "rules")
        if not isinstance(rules, list):
            return
        for ri in range(len(rules) - 1, -1, -1):
            paths = item.get("spec", "rules", ri, "http", "paths")
            if not isinstance(paths, list):
                continue
            for pi in range(len(paths) - 1, -1, -1):
                p = paths[pi]
                if not isinstance(p, dict):
                    continue
                port_name = (((p.get("backend") or {}).get("service") or {}).get("port") or {}).get("name")
                if port_name == "use-annotation":
                    svc = ((p.get("backend") or {}).get("service") or {}).get("name")
                    item.remove(
                        ("spec", "rules", ri, "http", "paths", pi),
                        "an ALB action backend (use-annotation)",
                        prune=False,
                    )
                    item.warn(
                        f"path {p.get('path', '/')} used the ALB action {svc!r}; removed (ssl redirects are an nginx "
                        "annotation now)"
                    )
                    continue
                path = p.get("path")
                if src.wildcard_paths and isinstance(path, str) and path.endswith("/*"):
                    item.set(
                        ("spec", "rules", ri, "http", "paths", pi, "path"),
                        path[:-1] or "/",
                        f"{ctx.source.name} wildcard path ({path}) → prefix path",
                    )
                    item.set(
                        ("spec", "rules", ri, "http", "paths", pi, "pathType"),
                        "Prefix",
                        f"{ctx.source.name} wildcard path ({path}) → prefix path",
                    )
            if not item.get("spec", "rules", ri, "http", "paths"):
                item.warn("a rule was left without paths; it was removed")
                item.remove(("spec", "rules", ri), "no paths left", prune=False)
