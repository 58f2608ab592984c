"""Default-deny: what in a manifest is *portable*, and what looks bound to one provider.

Profiles resolve provider-specific items; this module *finds* them without the profiles, so that an item
no profile lists (a new CRD group, an annotation family, a CSI driver, a registry, a zone value, an
extended resource) still needs a decision. Portable: the core and upstream API groups, ``kubernetes.io``
and ``k8s.io`` keys (except the provider families registered under them), a curated list of CNCF and
widely self-run projects' groups and prefixes, and standard topology keys. Provider-bound: the DNS
domains of cloud providers and provider-only platforms, in API groups, keys and values; zone, region
and instance-type values; provider registries; extended resources under a provider's domain.

:func:`provider_items` lists what one object holds; :func:`unreported` keeps the items no record quotes.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from portkit.model import split_api_version
from portkit.profiles import Profile
from portkit.translate._util import POD_KINDS, containers, pod_spec_path

__all__ = ["PORTABLE_GROUPS", "PROVIDER_DOMAINS", "ProviderItem", "provider_items", "target_owns"]

#: API groups every conformant cluster can serve (upstream) or that run anywhere (CNCF and self-run projects).
PORTABLE_GROUPS = frozenset(
    {
        "", "apps", "batch", "policy", "autoscaling", "extensions", "networking.k8s.io", "storage.k8s.io",
        "rbac.authorization.k8s.io", "apiextensions.k8s.io", "admissionregistration.k8s.io", "scheduling.k8s.io",
        "coordination.k8s.io", "discovery.k8s.io", "node.k8s.io", "certificates.k8s.io", "events.k8s.io",
        "snapshot.storage.k8s.io", "gateway.networking.k8s.io", "apiregistration.k8s.io", "metrics.k8s.io",
        "flowcontrol.apiserver.k8s.io", "resource.k8s.io", "monitoring.coreos.com", "cert-manager.io",
        "acme.cert-manager.io", "argoproj.io", "keda.sh", "networking.istio.io", "security.istio.io",
        "telemetry.istio.io", "kyverno.io", "external-secrets.io", "velero.io", "cilium.io", "crd.projectcalico.org",
        "projectcalico.org", "traefik.io", "traefik.containo.us", "linkerd.io", "policy.linkerd.io",
        "helm.toolkit.fluxcd.io", "source.toolkit.fluxcd.io", "kustomize.toolkit.fluxcd.io",
        "image.toolkit.fluxcd.io", "notification.toolkit.fluxcd.io", "opentelemetry.io", "jaegertracing.io",
        "ray.io", "kubeflow.org", "serving.knative.dev", "eventing.knative.dev", "postgresql.cnpg.io",
        "ceph.rook.io", "longhorn.io", "metallb.io", "kro.run", "dapr.io", "secrets-store.csi.x-k8s.io",
    }
)  # fmt: skip

#: DNS domains of cloud providers and provider-only platforms (a key, group or value under one is bound to it).
PROVIDER_DOMAINS = (
    "amazonaws.com", "amazon.com", "aws", "k8s.aws", "google.com", "googleapis.com", "gke.io", "gcp",
    "azure.com", "azure", "microsoft.com", "openshift.io", "redhat.com", "gardener.cloud", "ionos.com",
    "scaleway.com", "hetzner.cloud", "ovhcloud.com", "ovh.net", "openstack.org", "digitalocean.com",
    "linode.com", "oraclecloud.com", "oracle.com", "oci.com", "ibm.com", "ibm.io", "bluemix.net", "karpenter.sh",
    "kaito.sh", "azmonitoring.coreos.com",
)  # fmt: skip

#: Registry hosts that belong to one provider (private registries, or ones needing a provider's credentials).
_PROVIDER_REGISTRY_DOMAINS = ("amazonaws.com", "gcr.io", "pkg.dev", "azurecr.io", "azurecr.cn", "azurecr.us",
                              "redhat.io", "redhat.com", "ionos.com", "scw.cloud", "ovh.net", "icr.io", "bluemix.net",
                              "ocir.io", "oraclecloud.com")  # fmt: skip
#: Public registries that serve anyone (not bound to the provider that runs them).
_PUBLIC_REGISTRIES = frozenset({"public.ecr.aws", "mcr.microsoft.com", "registry.k8s.io", "quay.io", "ghcr.io",
                                "docker.io", "registry-1.docker.io", "nvcr.io"})  # fmt: skip

#: Provider families registered under portable domains.
PROVIDER_KEY_PREFIXES = (
    "service.beta.kubernetes.io/aws-", "service.beta.kubernetes.io/azure-", "service.beta.kubernetes.io/openstack-",
    "service.beta.kubernetes.io/scw-", "service.beta.kubernetes.io/oci-", "service.kubernetes.io/ibm-",
    "ibm-cloud.kubernetes.io/", "alb.ingress.kubernetes.io/", "appgw.ingress.kubernetes.io/",
    "ingress.gcp.kubernetes.io/", "kubernetes.io/ingress.global-static-ip-name",
    "kubernetes.io/ingress.regional-static-ip-name", "kubernetes.io/ingress.allow-http", "gke-gcsfuse/",
    "aadpodidbinding",
)  # fmt: skip

#: Keys whose values are zones, regions or instance types (always one provider's).
_TOPOLOGY_VALUE_KEYS = re.compile(r"(^|/)(zone|region|location|zone-id)$|instance-type$")
_DRIVER_VALUE_KEYS = frozenset(
    {"pv.kubernetes.io/provisioned-by", "volume.kubernetes.io/storage-provisioner",
     "volume.beta.kubernetes.io/storage-provisioner", "pv.kubernetes.io/migrated-to"}
)  # fmt: skip
_INTREE_DRIVERS = frozenset(
    {"kubernetes.io/aws-ebs", "kubernetes.io/gce-pd", "kubernetes.io/azure-disk", "kubernetes.io/azure-file",
     "kubernetes.io/cinder"}
)  # fmt: skip
_PORTABLE_RESOURCE_PREFIXES = ("nvidia.com/", "amd.com/", "intel.com/", "hugepages-")
_OPENSHIFT_LEGACY = frozenset(
    {"Route", "DeploymentConfig", "BuildConfig", "Build", "ImageStream", "ImageStreamTag", "Template",
     "SecurityContextConstraints"}
)  # fmt: skip
#: Upstream groups whose kinds hold no images outside pod specs (custom resources are searched for image fields).
_UPSTREAM_GROUPS = frozenset(
    {"", "apps", "batch", "policy", "autoscaling", "networking.k8s.io", "storage.k8s.io", "rbac.authorization.k8s.io",
     "scheduling.k8s.io", "snapshot.storage.k8s.io", "discovery.k8s.io", "coordination.k8s.io", "node.k8s.io"}
)  # fmt: skip
_REGISTRY_HOST = re.compile(r"^([a-z0-9.-]+\.[a-z]{2,}|[0-9.]+)(:\d+)?/")

_POD_SPEC = {k: pod_spec_path({"kind": k}) or ("spec",) for k in POD_KINDS}
ProviderItem = tuple[str, str]  # (what, text): ("api group", "karpenter.sh"), ("annotation", "x.azure.com/y")

_domain_cache: dict[str, bool] = {}


def _domain_is_provider(domain: str) -> bool:
    hit = _domain_cache.get(domain)
    if hit is None:
        d = domain.lower()
        hit = _domain_cache[domain] = any(d == p or d.endswith("." + p) for p in PROVIDER_DOMAINS)
    return hit


_key_cache: dict[str, bool] = {}


def provider_key(key: str) -> bool:
    """True when an annotation, label, node-label or toleration key belongs to one provider."""
    hit = _key_cache.get(key)
    if hit is None:
        if len(_key_cache) > 100_000:
            _key_cache.clear()
        slash = key.find("/")
        hit = _key_cache[key] = key.startswith(PROVIDER_KEY_PREFIXES) or (
            slash > 0 and _domain_is_provider(key[:slash])
        )
    return hit


def provider_group(group: str) -> bool:
    """True when an API group is not portable and belongs to one provider."""
    return group not in PORTABLE_GROUPS and _domain_is_provider(group)


def provider_driver(name: str) -> bool:
    """True for a CSI driver or provisioner of one provider (``domain/name`` provisioners by their domain:
    ``ibm.io/ibmc-file``, ``oracle.com/oci``)."""
    return (
        name in _INTREE_DRIVERS or _domain_is_provider(name.partition("/")[0]) or name.startswith("openshift-storage.")
    )


def _get(obj: Any, *path: str | int) -> Any:
    cur = obj
    for step in path:
        if isinstance(cur, dict):
            cur = cur.get(step)
        elif isinstance(cur, list) and isinstance(step, int) and -len(cur) <= step < len(cur):
            cur = cur[step]
        else:
            return None
    return cur


def _dicts(value: object) -> Iterator[Mapping[str, Any]]:
    if isinstance(value, list):
        for v in value:
            if isinstance(v, dict):
                yield v


def _meta(meta: object) -> list[ProviderItem]:
    out: list[ProviderItem] = []
    if not isinstance(meta, dict):
        return out
    for field, what in (("annotations", "annotation"), ("labels", "label")):
        values = meta.get(field)
        if not values or not isinstance(values, dict):
            continue
        for key, value in values.items():
            if not isinstance(key, str):
                continue
            if provider_key(key):
                out.append((what, key))
            elif key in _DRIVER_VALUE_KEYS and isinstance(value, str) and provider_driver(value):
                out.append(("CSI driver", value))
    return out


def _constraint(key: object, values: Sequence[object]) -> Iterator[ProviderItem]:
    if not isinstance(key, str):
        return
    if provider_key(key):
        yield ("node label", key)
    elif _TOPOLOGY_VALUE_KEYS.search(key):
        for v in values:
            if isinstance(v, str | int) and not isinstance(v, bool) and str(v):
                yield ("zone/region/instance-type value", str(v))


def _terms(terms: object) -> Iterator[ProviderItem]:
    for term in _dicts(terms):
        for expr in _dicts(term.get("matchExpressions")):
            values = expr.get("values")
            yield from _constraint(expr.get("key"), values if isinstance(values, list) else [])


def _images(value: object, depth: int = 0) -> Iterator[str]:
    if depth > 12:
        return
    if isinstance(value, dict):
        for k, v in value.items():
            if isinstance(v, str):
                if k in ("image", "baseImage", "containerImage") and v:
                    yield v
            elif isinstance(v, dict | list):
                yield from _images(v, depth + 1)
    elif isinstance(value, list):
        for v in value:
            if isinstance(v, dict | list):
                yield from _images(v, depth + 1)


def _pod(pod: dict[str, Any]) -> Iterator[ProviderItem]:
    selector = pod.get("nodeSelector")
    if selector and isinstance(selector, dict):
        for k, v in selector.items():
            yield from _constraint(k, [v])
    affinity = pod.get("affinity")
    if affinity:
        affinity = _get(affinity, "nodeAffinity")
        yield from _terms(_get(affinity, "requiredDuringSchedulingIgnoredDuringExecution", "nodeSelectorTerms"))
        for pref in _dicts(_get(affinity, "preferredDuringSchedulingIgnoredDuringExecution")):
            yield from _terms([pref.get("preference")])
    for tol in _dicts(pod.get("tolerations")):
        key = tol.get("key")
        if isinstance(key, str) and provider_key(key):
            yield ("toleration", key)
    for tsc in _dicts(pod.get("topologySpreadConstraints")):
        key = tsc.get("topologyKey")
        if isinstance(key, str) and provider_key(key):
            yield ("node label", key)
    for _, _, c in containers(pod):
        for section in ("limits", "requests"):
            res = _get(c, "resources", section)
            if isinstance(res, dict):
                for name in res:
                    if (
                        isinstance(name, str)
                        and not name.startswith(_PORTABLE_RESOURCE_PREFIXES)
                        and provider_key(name)
                    ):
                        yield ("extended resource", name)
        image = c.get("image")
        if isinstance(image, str):
            yield ("image", image)
    for vol in _dicts(pod.get("volumes")):
        driver = _get(vol, "csi", "driver")
        if isinstance(driver, str) and provider_driver(driver):
            yield ("CSI driver", driver)


def provider_items(obj: Mapping[str, Any]) -> list[ProviderItem]:
    """What in ``obj`` looks bound to one provider (images are listed for the caller to judge by registry)."""
    api = obj.get("apiVersion")
    group = split_api_version(api)[0] if isinstance(api, str) else ""
    kind = obj.get("kind")
    if provider_group(group):
        return [("API group", group)]
    if group == "" and kind in _OPENSHIFT_LEGACY:
        return [("OpenShift kind", str(kind))]
    found = list(_meta(obj.get("metadata")))
    spec = obj.get("spec")
    if kind == "StorageClass" or kind == "VolumeSnapshotClass":
        drv = obj.get("provisioner") if kind == "StorageClass" else obj.get("driver")
        if isinstance(drv, str) and provider_driver(drv):
            found.append(("CSI driver", drv))
        for term in _dicts(obj.get("allowedTopologies")):
            for expr in _dicts(term.get("matchLabelExpressions")):
                values = expr.get("values")
                found += _constraint(expr.get("key"), values if isinstance(values, list) else [])
    elif kind == "PersistentVolume" and isinstance(spec, dict):
        drv = _get(spec, "csi", "driver")
        if isinstance(drv, str) and provider_driver(drv):
            found.append(("CSI driver", drv))
        found += _terms(_get(spec, "nodeAffinity", "required", "nodeSelectorTerms"))
    elif kind == "Service" and isinstance(spec, dict):
        cls = spec.get("loadBalancerClass")
        if isinstance(cls, str) and provider_key(cls):
            found.append(("loadBalancerClass", cls))
    elif kind == "IngressClass" and isinstance(spec, dict):
        ctrl = spec.get("controller")
        if isinstance(ctrl, str) and provider_key(ctrl):
            found.append(("ingress controller", ctrl))
        pgroup = _get(spec, "parameters", "apiGroup")
        if isinstance(pgroup, str) and provider_group(pgroup):
            found.append(("API group", pgroup))
    if kind in POD_KINDS:
        spec_path = _POD_SPEC[kind]
        if len(spec_path) > 1:
            found += _meta(_get(obj, *spec_path[:-1], "metadata"))
        pod = _get(obj, *spec_path)
        if isinstance(pod, dict):
            found += _pod(pod)
    elif group not in _UPSTREAM_GROUPS:
        found += (("image", i) for i in _images(spec))
    return list(dict.fromkeys(found))


def target_owns(target: Profile, what: str, text: str) -> bool:
    """True when ``text`` is the target provider's own vocabulary (then it is not residue)."""
    if what in ("annotation", "label"):
        for p in (target.load_balancer, target.ingress):
            if p is not None and p.owns_annotation(text):
                return True
        prefixes = (*target.annotation_prefixes, *target.label_prefixes)
        if any(text == p or (p.endswith("/") and text.startswith(p)) for p in prefixes):
            return True
        return target.topology is not None and target.topology.owns_label(text)
    if what in ("node label", "toleration"):
        return target.topology is not None and target.topology.owns_label(text)
    if what == "CSI driver":
        return target.storage is not None and text in target.storage.provisioners
    if what == "API group":
        return any(g == text or (g.startswith("*.") and text.endswith(g[1:])) for g in target.detect_api_groups)
    if what == "zone/region/instance-type value":
        topo = target.topology
        return topo is not None and (topo.is_zone(text) or topo.is_region(text) or topo.is_instance_type(text))
    if what == "loadBalancerClass":
        return target.load_balancer is not None and text in target.load_balancer.classes
    if what == "ingress controller":
        return target.ingress is not None and text in target.ingress.controllers
    if what == "extended resource":
        return any(r.matches(text) for r in target.provider_resources)
    return False


def registry_host(image: str) -> str | None:
    """The registry host of an image reference (None for Docker Hub short names)."""
    m = _REGISTRY_HOST.match(image)
    return m.group(0).rstrip("/") if m else None


def provider_registry(image: str) -> str | None:
    """The registry host when ``image`` is on a provider's (or a cluster-internal) registry, else None."""
    host = registry_host(image)
    if host is None:
        return None
    name = host.split(":", 1)[0].lower()
    if name in _PUBLIC_REGISTRIES:
        return None
    if name.endswith((".svc", ".svc.cluster.local", ".cluster.local")) or re.fullmatch(r"[0-9.]+", name):
        return host  # a registry inside the source cluster
    if any(name == d or name.endswith("." + d) for d in _PROVIDER_REGISTRY_DOMAINS):
        return host
    return None
