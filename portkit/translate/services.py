"""Load balancers: Service type=LoadBalancer annotations, classes and fields between providers.

Annotations are read into provider-neutral concepts (internal, PROXY protocol, health checks, TLS,
fixed IP, size, subnet) using the source profile, then written with the target profile's spelling.
What has no equivalent is dropped with a warning; TLS certificates and fixed IPs become manual actions.
Controller-written ids are stripped (an OpenStack ``load-balancer-id`` would make the target reuse an LB).
"""

from __future__ import annotations

import re
from typing import Any

from portkit.profiles import LB_CONCEPTS, ConceptBinding, LoadBalancerProfile
from portkit.translate._base import BaseTranslator, Context, Item

__all__ = ["ServicesTranslator"]

_SOURCE_RANGES_ANN = "service.beta.kubernetes.io/load-balancer-source-ranges"
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$")


def _seconds(raw: str) -> float | None:
    m = _DURATION.match(raw)
    if not m:
        return None
    value = float(m.group(1))
    return value * {"ms": 0.001, "s": 1, "m": 60, "h": 3600, None: 1}[m.group(2)]


def _normalize(raw: str, fmt: str | None) -> Any:
    if fmt in ("seconds", "duration"):
        return _seconds(raw)
    if fmt == "milliseconds":
        m = _DURATION.match(raw)
        if not m:
            return None
        return _seconds(raw) if m.group(2) else float(m.group(1)) / 1000
    if fmt in ("lower", "upper", "title"):
        return raw.lower()
    return raw


def _list_items(raw: str) -> list[str]:
    """The items of a comma-separated annotation value (IBM ``enable-features: "nlb,proxy-protocol"``)."""
    return [i.strip().lower() for i in raw.split(",") if i.strip()]


def _render(value: Any, fmt: str | None) -> str | None:
    if value is None:
        return None
    if fmt in ("seconds", "duration"):
        number = float(value)
        text = str(int(number)) if number == int(number) else str(number)
        return text + ("s" if fmt == "duration" else "")
    if fmt == "milliseconds":
        return str(round(float(value) * 1000))
    text = str(value)
    if fmt == "lower":
        return text.lower()
    if fmt == "upper":
        return text.upper()
    if fmt == "title":
        return text.title()
    return text


class ServicesTranslator(BaseTranslator):
    """Maps Service load-balancer annotations and fields between providers."""

    name = "services"
    order = 50
    kinds = frozenset({"Service"})
    description = "LoadBalancer annotations by concept, loadBalancerClass, traffic policy, controller ids"

    def _read(
        self, item: Item, src: LoadBalancerProfile, anns: dict[str, Any]
    ) -> dict[str, tuple[Any, ConceptBinding]]:
        found: dict[str, tuple[Any, ConceptBinding]] = {}
        for concept, bindings in src.concepts.items():
            for b in bindings:
                if b.annotation not in anns:
                    continue
                raw = str(anns[b.annotation])
                kind = LB_CONCEPTS[concept]
                if kind == "bool" and b.format == "list":
                    items = _list_items(raw)
                    if b.on_value is not None and b.on_value.lower() in items:
                        found[concept] = (True, b)
                        others = [i for i in items if i != b.on_value.lower()]
                        if others:
                            item.warn(
                                f"{b.annotation}={raw!r}: {', '.join(others)} dropped (only {b.on_value} has an "
                                "equivalent)"
                            )
                        break
                    continue  # the list names other features only: the annotation is reported as a whole
                if kind == "bool":
                    if b.on_value is not None and raw.lower() == b.on_value.lower():
                        found[concept] = (True, b)
                    elif b.off_value is not None and raw.lower() == b.off_value.lower():
                        found[concept] = (False, b)
                    elif concept == "proxy_protocol" and raw:
                        found[concept] = (True, b)
                        item.warn(
                            f"{b.annotation}={raw!r} enables PROXY protocol on some ports only; the target enables "
                            "it for all"
                        )
                    else:
                        item.warn(f"{b.annotation}={raw!r} is not a value portkit knows; dropped")
                elif kind == "value":
                    value = _normalize(raw, b.format)
                    if value is None:
                        item.warn(f"{b.annotation}={raw!r} could not be read; dropped")
                    else:
                        found[concept] = (value, b)
                else:
                    found[concept] = (raw, b)
                break
        return found

    def translate(self, item: Item, ctx: Context) -> None:
        """Translate one object (see the module docstring)."""
        src = ctx.source.load_balancer
        dst = ctx.target.load_balancer
        if src is None:
            return
        is_lb = item.get("spec", "type") == "LoadBalancer"
        anns: dict[str, Any] = dict(item.get("metadata", "annotations") or {})
        target_name = ctx.target.name
        desired = {
            k: v
            for k, v in anns.items()
            if not src.owns_annotation(k)
            or (dst is not None and dst.owns_annotation(k) and k not in src.controller_written)
        }
        if dst is not None and dst is src:
            desired = dict(anns)
        found = self._read(item, src, anns) if dst is not src else {}
        concept_keys = {b.annotation for _, b in found.values()}
        for key in anns:
            if key in desired or key in concept_keys:
                continue
            if key in src.controller_written:
                continue
            item.warn(f"annotation {key} has no {target_name} equivalent; dropped")
        for concept, (value, b) in found.items():
            kind = LB_CONCEPTS[concept]
            target_bindings = dst.concepts.get(concept, ()) if dst is not None else ()
            if kind == "manual":
                self._manual(item, concept, value, b, target_bindings, ctx, dst)
                continue
            if (
                concept == "internal"
                and value is True
                and (not target_bindings or (dst is not None and not dst.external))
            ):
                self._internal_to_public(item, b, anns, ctx)
                continue
            if kind == "drop" or not target_bindings:
                if kind == "bool" and value is False:
                    continue  # "off" is every provider's default: nothing is lost
                item.warn(
                    f"{concept.replace('_', ' ')} ({b.annotation}={anns[b.annotation]}) has no {target_name} "
                    "equivalent; dropped"
                )
                continue
            tb = target_bindings[0]
            if kind == "bool":
                rendered = tb.on_value if value else tb.off_value
                if rendered is None:
                    continue
            else:
                rendered = _render(value, tb.format)
                if rendered is None:
                    continue
            current = desired.get(tb.annotation)
            if tb.format == "list" and isinstance(current, str) and current.strip():
                items = _list_items(current)
                if rendered.lower() not in items:
                    desired[tb.annotation] = f"{current},{rendered}"
            elif current != rendered:
                desired[tb.annotation] = rendered
            if tb.confidence != "verified":
                item.warn(
                    f"{tb.annotation} ({concept.replace('_', ' ')}) is {tb.confidence} in the {target_name} profile: "
                    "check it"
                )
        self._apply_annotations(item, anns, desired, found, ctx)
        self._fields(item, ctx, src, dst, is_lb)

    def _internal_to_public(self, item: Item, b: ConceptBinding, anns: dict[str, Any], ctx: Context) -> None:
        """An internal-only load balancer would get a public address on the target: a person decides."""
        dst = ctx.target.load_balancer
        how = (
            "a public IP attached to a worker node"
            if dst is not None and not dst.external
            else "a public load balancer"
            if dst is not None
            else "whatever load balancer the target cluster runs"
        )
        ports = ", ".join(
            f"{p.get('port')}/{p.get('protocol', 'TCP')}"
            for p in item.get("spec", "ports") or []
            if isinstance(p, dict)
        )
        item.manual(
            f"SECURITY: internal-only load balancer ({b.annotation}={anns.get(b.annotation)}) becomes {how} on "
            f"{ctx.target.name}: ports {ports or '?'} would be reachable from the internet. Keep it internal "
            "(spec.type ClusterIP or NodePort behind a private network, or the target's internal load balancer if "
            "it has one) or restrict it with a firewall before applying"
        )

    def _manual(
        self,
        item: Item,
        concept: str,
        value: Any,
        b: ConceptBinding,
        target_bindings: tuple[ConceptBinding, ...],
        ctx: Context,
        dst: LoadBalancerProfile | None,
    ) -> None:
        target = ctx.target.name
        if concept == "tls_certificate":
            ports = _tls_ports(item)
            if dst is None or not dst.tls or not target_bindings:
                item.manual(
                    f"SECURITY: TLS was terminated at the {ctx.source.name} load balancer ({b.annotation}={value}) for "
                    f"{ports or 'its TLS ports'}; {target} load balancers do not terminate TLS, so those ports would "
                    "pass the clients' TLS to backends that serve plain HTTP there: terminate TLS in the ingress "
                    "controller (give it the certificate via cert-manager or a TLS Secret) and point those ports at "
                    "its TLS port (e.g. targetPort https)"
                )
                return
            if dst is not None and dst.tls and target_bindings:
                item.manual(
                    f"TLS certificate at the load balancer ({b.annotation}={value}) does not move: upload the "
                    f"certificate to {target} and set {target_bindings[0].annotation}"
                )
            else:
                item.manual(
                    f"TLS certificate at the load balancer ({b.annotation}={value}) does not move and {target} "
                    "load balancers do not terminate TLS: terminate TLS at the ingress (cert-manager)"
                )
        else:
            where = "spec.loadBalancerIP" + (f" or {target_bindings[0].annotation}" if target_bindings else "")
            item.manual(
                f"fixed IP ({b.annotation}={value}) does not move: reserve an address on {target}, set it in "
                f"{where} and update DNS"
            )

    def _apply_annotations(
        self,
        item: Item,
        anns: dict[str, Any],
        desired: dict[str, Any],
        found: dict[str, tuple[Any, ConceptBinding]],
        ctx: Context,
    ) -> None:
        src = ctx.source.load_balancer
        assert src is not None
        by_annotation = {b.annotation: c for c, (_, b) in found.items()}
        for key in anns:
            if key not in desired:
                if key in src.controller_written:
                    reason = f"written by the {ctx.source.name} load-balancer controller"
                elif key in by_annotation:
                    reason = f"{by_annotation[key].replace('_', ' ')}: {ctx.source.name} spelling"
                else:
                    reason = f"{ctx.source.name} load-balancer annotation without a {ctx.target.name} equivalent"
                item.remove(("metadata", "annotations", key), reason)
        for key, value in desired.items():
            if anns.get(key) != value:
                concept = next((c for c, (_, b) in found.items() if key in _target_annotations(ctx, c)), "")
                item.set(
                    ("metadata", "annotations", key), value, f"{concept.replace('_', ' ')}: {ctx.target.name} spelling"
                )

    def _fields(
        self, item: Item, ctx: Context, src: LoadBalancerProfile, dst: LoadBalancerProfile | None, is_lb: bool
    ) -> None:
        target = ctx.target.name
        cls = item.get("spec", "loadBalancerClass")
        if cls is not None and cls in src.classes and (dst is None or cls not in dst.classes):
            item.remove(("spec", "loadBalancerClass"), f"{cls} is a load-balancer class of {ctx.source.name}")
        if not is_lb or dst is src:
            return
        if (
            dst is not None
            and dst.prefer_cluster_traffic_policy
            and item.get("spec", "externalTrafficPolicy") == "Local"
        ):
            item.set(
                ("spec", "externalTrafficPolicy"),
                "Cluster",
                f"{target}: {dst.notes}" if dst.notes else f"{target} has no external load balancer",
            )
            item.warn(
                f"externalTrafficPolicy Local → Cluster: {target} attaches the public IP to one node; client source "
                "IPs are no longer preserved"
            )
            if item.get("spec", "healthCheckNodePort") is not None:
                item.remove(("spec", "healthCheckNodePort"), "only valid with externalTrafficPolicy Local")
        if dst is not None and not dst.external:
            ctx.warn(
                None,
                f"{target} has no external load balancer: each LoadBalancer Service gets a public IP attached to a "
                "worker node",
            )
        if dst is not None and dst.required:
            anns_now = item.get("metadata", "annotations") or {}
            for key, hint in dst.required.items():
                if key not in anns_now:
                    item.warn(hint)
        ranges_ann = (item.get("metadata", "annotations") or {}).get(_SOURCE_RANGES_ANN)
        for form, ranges in (
            ("spec.loadBalancerSourceRanges", item.get("spec", "loadBalancerSourceRanges")),
            (f"annotation {_SOURCE_RANGES_ANN}", ranges_ann),
        ):
            if ranges and dst is not None and not dst.source_ranges:
                item.manual(
                    f"SECURITY: {form} ({ranges}) is kept but {target} load balancers do not enforce it: the service "
                    "would be open to every address; restrict access with a firewall or a NetworkPolicy"
                )
        if dst is not None:
            bad = [
                f"{p.get('name') or p.get('port')} ({p.get('port')}/{p.get('protocol')})"
                for p in item.get("spec", "ports") or []
                if isinstance(p, dict) and str(p.get("protocol") or "TCP").upper() not in dst.protocols
            ]
            if bad:
                item.manual(
                    f"ports {', '.join(bad)} use a protocol {target} load balancers cannot serve (they serve "
                    f"{', '.join(dst.protocols)}): expose them another way (NodePort, hostPort) or move them"
                )
        ip = item.get("spec", "loadBalancerIP")
        if ip:
            item.remove(("spec", "loadBalancerIP"), f"{ip} belongs to {ctx.source.name}")
            item.manual(
                f"fixed IP {ip} does not move: reserve an address on {target}, set spec.loadBalancerIP and update DNS"
            )
        if item.get("status", "loadBalancer", "ingress"):
            item.remove(("status",), "the source load balancer's address")
        ctx.warn(
            None,
            "public load-balancer addresses change with the move: plan the DNS switch (external-dns annotations are "
            "kept)",
        )


def _tls_ports(item: Item) -> str:
    """The ports TLS was terminated on (an ``*-ssl-ports`` annotation, else 443), as 'port 443 (https →
    targetPort http)'."""
    anns = item.get("metadata", "annotations") or {}
    wanted_raw = next((str(v) for k, v in anns.items() if str(k).endswith("ssl-ports")), "")
    wanted = {w.strip() for w in wanted_raw.split(",") if w.strip()}
    out = []
    for p in item.get("spec", "ports") or []:
        if not isinstance(p, dict):
            continue
        name, port = p.get("name"), p.get("port")
        if wanted and "*" not in wanted and str(name) not in wanted and str(port) not in wanted:
            continue
        if not wanted and port != 443:
            continue
        out.append(f"port {port} ({name or port} → targetPort {p.get('targetPort', port)})")
    return ", ".join(out)


def _target_annotations(ctx: Context, concept: str) -> set[str]:
    dst = ctx.target.load_balancer
    if dst is None:
        return set()
    return {b.annotation for b in dst.concepts.get(concept, ())}
