"""OpenShift: Route → Ingress, DeploymentConfig → Deployment.

Routes keep host, path and backend; the Route's ``targetPort`` (a port of the pods) is resolved to the
Service port that forwards to it. TLS termination is reported: edge certificates given inline become a
``kubernetes.io/tls`` Secret (the key is never logged), passthrough and re-encrypt become ingress-nginx
annotations with a warning. DeploymentConfig triggers (ImageChange) do not exist elsewhere: reported.
"""

from __future__ import annotations

import base64
from typing import Any

from portkit.translate._base import BaseTranslator, Context, Item, fast_copy
from portkit.translate.ingress import target_ingress_class

__all__ = ["OpenShiftTranslator"]


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


class OpenShiftTranslator(BaseTranslator):
    """Converts OpenShift-only workload and routing kinds to portable ones."""

    name = "openshift"
    order = 10
    kinds = frozenset({"Route", "DeploymentConfig", "ReplicationController"})
    description = "Route → Ingress, DeploymentConfig → Deployment (its ReplicationControllers left out)"

    def translate(self, item: Item, ctx: Context) -> None:
        """Translate one object (see the module docstring)."""
        if "openshift" not in ctx.source.members or "openshift" in ctx.target.members:
            return
        group = str(item.obj.get("apiVersion") or "").partition("/")[0]
        if item.kind == "Route" and group in ("route.openshift.io", "v1"):
            self._route(item, ctx)
        elif item.kind == "DeploymentConfig" and group in ("apps.openshift.io", "v1"):
            self._deployment_config(item, ctx)
        elif item.kind == "ReplicationController":
            anns = item.get("metadata", "annotations")
            owner = anns.get("openshift.io/deployment-config.name") if isinstance(anns, dict) else None
            if owner:
                item.drop(
                    f"a rollout of DeploymentConfig {owner} (openshift.io/deployment-config.name); the Deployment it "
                    "becomes makes its own ReplicaSets"
                )

    # -- Route ---------------------------------------------------------------------------------------

    def _service_port(self, ctx: Context, namespace: str, service: str, target_port: Any) -> dict[str, Any] | None:
        svc = ctx.find("Service", service, namespace)
        ports = ((svc or {}).get("spec") or {}).get("ports") or []
        if target_port is None:
            if len(ports) == 1:
                p = ports[0]
                return {"name": p["name"]} if p.get("name") else {"number": p.get("port")}
            return None
        for p in ports:
            tp = p.get("targetPort", p.get("port"))
            if tp == target_port or p.get("name") == target_port or str(tp) == str(target_port):
                return {"name": p["name"]} if p.get("name") else {"number": p.get("port")}
        if isinstance(target_port, int) or str(target_port).isdigit():
            return {"number": int(target_port)}
        return {"name": str(target_port)} if svc is None else None

    def _route(self, item: Item, ctx: Context) -> None:
        route = item.obj
        spec = route.get("spec")
        if not isinstance(spec, dict) or not isinstance(spec.get("to") or {}, dict):
            item.manual(f"Route {item.namespace}/{item.name} has no usable spec: create an Ingress for it by hand")
            return
        meta = route.get("metadata") or {}
        ns, name = str(meta.get("namespace") or ""), str(meta.get("name") or "")
        to = spec.get("to") or {}
        if to.get("kind", "Service") != "Service" or not to.get("name"):
            item.manual(f"Route {ns}/{name} does not point at a Service; create an Ingress for it by hand")
            return
        target_port = (spec.get("port") or {}).get("targetPort")
        port = self._service_port(ctx, ns, str(to["name"]), target_port)
        if port is None:
            item.warn(f"Route target port {target_port!r} matches no port of Service {to['name']}; using it as given")
            text = str(target_port or "http")
            port = {"number": int(text)} if text.isdigit() else {"name": text}
        annotations: dict[str, str] = {}
        for key, value in (meta.get("annotations") or {}).items():
            if not str(key).startswith(("openshift.io/", "haproxy.router.openshift.io/")):
                annotations[str(key)] = value
        labels = dict(meta.get("labels") or {})
        ingress_name = name if ctx.find("Ingress", name, ns) is None else f"{name}-route"
        ingress: dict[str, Any] = {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "Ingress",
            "metadata": {"name": ingress_name, "namespace": ns},
            "spec": {"ingressClassName": target_ingress_class(ctx)},
        }
        if labels:
            ingress["metadata"]["labels"] = labels
        host = spec.get("host")
        if not host:
            item.manual(
                f"Route {ns}/{name} had a generated host name: set spec.rules[0].host of its Ingress to the public name"
            )
        path_obj = {
            "path": spec.get("path") or "/",
            "pathType": "Prefix",
            "backend": {"service": {"name": str(to["name"]), "port": port}},
        }
        rule: dict[str, Any] = {"http": {"paths": [path_obj]}}
        if host:
            rule["host"] = host
        ingress["spec"]["rules"] = [rule]
        tls = spec.get("tls") or {}
        termination = tls.get("termination")
        if spec.get("alternateBackends"):
            item.warn(
                "alternateBackends (weighted traffic split) has no Ingress equivalent: use ingress-nginx canary "
                "annotations"
            )
        if spec.get("wildcardPolicy") not in (None, "None"):
            item.warn(f"wildcardPolicy {spec['wildcardPolicy']} is not supported by Ingress; use a wildcard host")
        insecure = tls.get("insecureEdgeTerminationPolicy")
        if termination:
            if termination == "passthrough":
                annotations["nginx.ingress.kubernetes.io/ssl-passthrough"] = "true"
                item.warn("TLS passthrough needs ingress-nginx started with --enable-ssl-passthrough")
            elif termination == "reencrypt":
                annotations["nginx.ingress.kubernetes.io/backend-protocol"] = "HTTPS"
                item.warn(
                    "re-encrypt: the backend's CA (destinationCACertificate) must be configured with "
                    "nginx.ingress.kubernetes.io/proxy-ssl-secret"
                )
            if termination in ("edge", "reencrypt"):
                if tls.get("certificate") and tls.get("key"):
                    secret_name = f"{name}-route-tls"
                    secret = {
                        "apiVersion": "v1",
                        "kind": "Secret",
                        "type": "kubernetes.io/tls",
                        "metadata": {"name": secret_name, "namespace": ns},
                        "data": {"tls.crt": _b64(str(tls["certificate"])), "tls.key": _b64(str(tls["key"]))},
                    }
                    item.add(secret, f"the inline certificate of Route {ns}/{name}")
                    ingress["spec"]["tls"] = [{"hosts": [host] if host else [], "secretName": secret_name}]
                    if not host:
                        del ingress["spec"]["tls"][0]["hosts"]
                else:
                    item.manual(
                        f"Route {ns}/{name} used {termination} TLS with the router's default certificate: issue one "
                        "with cert-manager (cert-manager.io/cluster-issuer) and add spec.tls to its Ingress"
                    )
            if insecure == "Redirect":
                annotations["nginx.ingress.kubernetes.io/ssl-redirect"] = "true"
            elif insecure in ("None", None) and termination == "edge":
                annotations["nginx.ingress.kubernetes.io/ssl-redirect"] = "false"
                item.warn(
                    "insecureEdgeTerminationPolicy None: plain HTTP is served by ingress-nginx too (OpenShift "
                    "refused it)"
                )
        for key, value in (meta.get("annotations") or {}).items():
            if key == "haproxy.router.openshift.io/timeout":
                annotations["nginx.ingress.kubernetes.io/proxy-read-timeout"] = str(value).rstrip("s")
            elif str(key).startswith("haproxy.router.openshift.io/"):
                item.warn(f"router annotation {key} has no Ingress equivalent; dropped")
        if annotations:
            ingress["metadata"]["annotations"] = annotations
        item.replace(ingress, f"Route → Ingress (class {ingress['spec']['ingressClassName']})")

    # -- DeploymentConfig ----------------------------------------------------------------------------

    def _deployment_config(self, item: Item, ctx: Context) -> None:
        dc = item.obj
        spec = dc.get("spec")
        meta = dc.get("metadata") or {}
        if not isinstance(spec, dict) or not isinstance(spec.get("template") or {}, dict):
            item.manual(f"DeploymentConfig {item.namespace}/{item.name} has no usable spec: convert it by hand")
            return
        new_meta = {k: fast_copy(v) for k, v in meta.items() if k in ("name", "namespace", "labels", "annotations")}
        selector = spec.get("selector") or {}
        template = fast_copy(spec.get("template") or {})
        if not selector:
            selector = dict((template.get("metadata") or {}).get("labels") or {})
        new_spec: dict[str, Any] = {
            "replicas": spec.get("replicas", 1),
            "selector": {"matchLabels": dict(selector)},
            "template": template,
        }
        for key in ("minReadySeconds", "revisionHistoryLimit", "paused"):
            if key in spec:
                new_spec[key] = spec[key]
        strategy = spec.get("strategy") or {}
        stype = strategy.get("type", "Rolling")
        if stype == "Recreate":
            new_spec["strategy"] = {"type": "Recreate"}
        else:
            params = strategy.get("rollingParams") or {}
            rolling = {k: params[k] for k in ("maxSurge", "maxUnavailable") if k in params}
            new_spec["strategy"] = {"type": "RollingUpdate", **({"rollingUpdate": rolling} if rolling else {})}
            if stype == "Custom":
                item.warn("a Custom deployment strategy has no Deployment equivalent; RollingUpdate is used")
        for hook in ("pre", "mid", "post"):
            for params in (strategy.get("rollingParams") or {}, strategy.get("recreateParams") or {}):
                if params.get(hook):
                    item.warn(f"the {hook} lifecycle hook has no Deployment equivalent: run it as a Job")
        if spec.get("test"):
            item.warn("test: true (scale to zero after a test run) has no Deployment equivalent")
        for trigger in spec.get("triggers") or []:
            if trigger.get("type") == "ImageChange":
                params = trigger.get("imageChangeParams") or {}
                source = (params.get("from") or {}).get("name", "?")
                item.warn(
                    f"ImageChange trigger on {source} removed: containers "
                    f"{', '.join(params.get('containerNames') or [])} "
                    "must name a pullable image (map it with --map images:OLD=NEW)"
                )
        for c in (template.get("spec") or {}).get("containers") or []:
            if not str(c.get("image") or "").strip():
                item.manual(f"container {c.get('name')} has no image (it came from an ImageStream trigger): set one")
        deployment = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": new_meta, "spec": new_spec}
        item.replace(deployment, "DeploymentConfig → Deployment")
