"""An independent scanner of provider-bound items in Kubernetes manifests (for the corpus test).

It deliberately knows nothing of portkit's provider profiles: it has its own short idea of what is
*portable* (core and upstream API groups, ``kubernetes.io``/``k8s.io`` keys, a curated list of CNCF
projects' groups and prefixes, the standard topology keys) and of what *looks provider-bound* (the cloud
providers' DNS domains, their well-known annotation families, CSI drivers, registries, zone, region and
instance-type values, extended resources, built-in class names). An item is a ``(kind, text)`` pair found
on one object; ``text`` is what a record has to quote for the item to count as reported.

Kept standalone (no portkit import) so that a gap in portkit's knowledge cannot hide itself.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

__all__ = ["Item", "scan", "scan_object"]

Item = tuple[str, str]  # (what, text): ("api-group", "karpenter.sh"), ("annotation", "eks.amazonaws.com/x")

#: API groups that are portable (upstream Kubernetes and CNCF / widely self-run projects).
PORTABLE_GROUPS = frozenset(
    {
        "", "apps", "batch", "policy", "autoscaling", "extensions", "networking.k8s.io", "storage.k8s.io",
        "rbac.authorization.k8s.io", "apiextensions.k8s.io", "admissionregistration.k8s.io", "scheduling.k8s.io",
        "coordination.k8s.io", "discovery.k8s.io", "node.k8s.io", "certificates.k8s.io", "events.k8s.io",
        "snapshot.storage.k8s.io", "gateway.networking.k8s.io", "metrics.k8s.io", "apiregistration.k8s.io",
        "monitoring.coreos.com", "cert-manager.io", "acme.cert-manager.io", "argoproj.io", "keda.sh",
        "networking.istio.io", "security.istio.io", "telemetry.istio.io", "install.istio.io", "kyverno.io",
        "external-secrets.io", "velero.io", "cilium.io", "crd.projectcalico.org", "projectcalico.org",
        "traefik.io", "traefik.containo.us", "linkerd.io", "policy.linkerd.io", "helm.toolkit.fluxcd.io",
        "source.toolkit.fluxcd.io", "kustomize.toolkit.fluxcd.io", "image.toolkit.fluxcd.io",
        "notification.toolkit.fluxcd.io", "opentelemetry.io", "jaegertracing.io", "ray.io", "kubeflow.org",
        "serving.knative.dev", "eventing.knative.dev", "postgresql.cnpg.io", "ceph.rook.io", "longhorn.io",
        "metallb.io", "kustomize.config.k8s.io", "kro.run", "dapr.io", "elasticsearch.k8s.elastic.co",
        "kibana.k8s.elastic.co", "secrets-store.csi.x-k8s.io",
    }
)  # fmt: skip

#: DNS domains (and suffixes) of cloud providers and provider-only platforms.
PROVIDER_DOMAINS = (
    "amazonaws.com", "aws", "amazon.com", "eks.amazonaws.com", "k8s.aws", "services.k8s.aws",
    "google.com", "googleapis.com", "gke.io", "gcp", "azure.com", "azure", "microsoft.com", "azure.net",
    "openshift.io", "redhat.com", "gardener.cloud", "ionos.com", "scaleway.com", "hetzner.cloud",
    "ovhcloud.com", "ovh.net", "openstack.org", "digitalocean.com", "linode.com", "oraclecloud.com",
    "oracle.com", "oci.com", "ibm.com", "ibm.io", "bluemix.net",
    "karpenter.sh", "kaito.sh", "azmonitoring.coreos.com", "approuting.kubernetes.azure.com",
)  # fmt: skip

#: Keys under kubernetes.io that nevertheless belong to one provider.
PROVIDER_KEY_PREFIXES = (
    "service.beta.kubernetes.io/aws-", "service.beta.kubernetes.io/azure-", "service.beta.kubernetes.io/openstack-",
    "service.beta.kubernetes.io/scw-", "service.beta.kubernetes.io/oci-", "service.kubernetes.io/ibm-",
    "ibm-cloud.kubernetes.io/", "alb.ingress.kubernetes.io/", "appgw.ingress.kubernetes.io/",
    "ingress.gcp.kubernetes.io/", "kubernetes.io/ingress.global-static-ip-name",
    "kubernetes.io/ingress.regional-static-ip-name", "kubernetes.io/ingress.allow-http",
    "beta.cloud.google.com/", "networking.gke.io/", "gke-gcsfuse/", "aadpodidbinding",
)  # fmt: skip

#: Plain node-label keys that belong to one provider.
PROVIDER_PLAIN_KEYS = frozenset({"agentpool", "kubernetes.azure.com/agentpool", "privateVLAN", "publicVLAN"})

#: Class names providers ship built in (a claim naming one is bound to that provider).
PROVIDER_CLASSES = frozenset(
    {
        "gp2", "gp3", "io1", "io2", "st1", "sc1", "standard-rwo", "premium-rwo", "standard-rwx", "premium-rwx",
        "managed", "managed-csi", "managed-csi-premium", "managed-premium", "azurefile", "azurefile-csi",
        "azurefile-csi-premium", "azurefile-premium", "gp3-csi", "gp2-csi", "thin-csi", "hyperdisk-balanced",
        "ocs-storagecluster-ceph-rbd", "ocs-storagecluster-cephfs", "ibmc-vpc-block-10iops-tier",
        "ibmc-vpc-block-5iops-tier", "ibmc-vpc-block-general-purpose", "ibmc-vpc-block-custom",
        "ibmc-vpc-block-metro-10iops-tier", "ibmc-vpc-file-min-iops", "ibmc-file-bronze", "ibmc-file-silver",
        "ibmc-file-gold", "ibmc-block-bronze", "ibmc-block-silver", "ibmc-block-gold", "oci-bv", "oci-bv-encrypted",
        "oci",
    }
)  # fmt: skip

#: Ingress classes / controllers that only exist on one provider.
PROVIDER_INGRESS = frozenset(
    {
        "alb", "gce", "gce-internal", "azure/application-gateway", "azure-application-gateway",
        "webapprouting.kubernetes.azure.com", "openshift-default", "ingress.k8s.aws/alb", "eks.amazonaws.com/alb",
        "k8s.io/ingress-gce", "approuting.kubernetes.azure.com/nginx", "openshift.io/ingress-to-route",
        "public-iks-k8s-nginx", "private-iks-k8s-nginx", "oci.oraclecloud.com/native-ingress-controller",
    }
)  # fmt: skip

#: Registries that are private to, or need credentials of, one provider.
PROVIDER_REGISTRIES = re.compile(
    r"^(\d{12}\.dkr\.ecr(-fips)?\.[a-z0-9-]+\.amazonaws\.com(\.cn)?/|([a-z]+\.)?gcr\.io/|[a-z0-9-]+-docker\.pkg\.dev/"
    r"|[a-z0-9]+\.azurecr\.(io|cn|us)/|image-registry\.openshift-image-registry\.svc|docker-registry\.default\.svc"
    r"|172\.30\.\d+\.\d+:5000/|registry\.redhat\.io/|registry\.connect\.redhat\.com/"
    r"|(private\.)?([a-z0-9-]+\.)?icr\.io/|registry\.([a-z0-9-]+\.)?bluemix\.net/|([a-z0-9-]+\.)?ocir\.io/"
    r"|ocir\.[a-z0-9-]+\.oci\.oraclecloud\.com/)"
)

#: OpenShift kinds served under the legacy core ``v1`` group.
OPENSHIFT_LEGACY_KINDS = frozenset(
    {"Route", "DeploymentConfig", "BuildConfig", "Build", "ImageStream", "ImageStreamTag", "Template",
     "SecurityContextConstraints"}
)  # fmt: skip

ZONE_KEYS = re.compile(r"(^|/)(zone|region|location)$|zone-id$|^failure-domain\.beta\.kubernetes\.io/")
INSTANCE_KEYS = frozenset({"node.kubernetes.io/instance-type", "beta.kubernetes.io/instance-type"})
PORTABLE_RESOURCES = ("cpu", "memory", "storage", "ephemeral-storage", "pods", "hugepages-", "nvidia.com/",
                      "amd.com/", "intel.com/", "squat.ai/", "devic.es/")  # fmt: skip

_POD_PATHS = {
    "Pod": ("spec",),
    "Deployment": ("spec", "template", "spec"),
    "StatefulSet": ("spec", "template", "spec"),
    "DaemonSet": ("spec", "template", "spec"),
    "ReplicaSet": ("spec", "template", "spec"),
    "ReplicationController": ("spec", "template", "spec"),
    "Job": ("spec", "template", "spec"),
    "DeploymentConfig": ("spec", "template", "spec"),
    "CronJob": ("spec", "jobTemplate", "spec", "template", "spec"),
}


def _domain_of(key: str) -> str:
    return key.split("/", 1)[0] if "/" in key else ""


def _provider_domain(domain: str) -> bool:
    d = domain.lower()
    return any(d == p or d.endswith("." + p) for p in PROVIDER_DOMAINS)


def provider_key(key: str) -> bool:
    """True when an annotation, label or node-label key belongs to one provider."""
    if key in PROVIDER_PLAIN_KEYS or key.startswith(PROVIDER_KEY_PREFIXES):
        return True
    return _provider_domain(_domain_of(key))


def provider_group(group: str) -> bool:
    """True when an API group is not portable (a provider's, or a provider-only project's)."""
    if group in PORTABLE_GROUPS:
        return False
    return _provider_domain(group)


def provider_driver(name: str) -> bool:
    """True for a CSI driver / provisioner of one provider (in-tree ones included)."""
    if name in ("kubernetes.io/aws-ebs", "kubernetes.io/gce-pd", "kubernetes.io/azure-disk", "kubernetes.io/azure-file",
                "kubernetes.io/cinder"):  # fmt: skip
        return True
    # "domain/name" provisioners (ibm.io/ibmc-file, oracle.com/oci) by their domain
    return _provider_domain(name.partition("/")[0]) or name.startswith("openshift-storage.")


def _get(obj: Any, *path: str | int) -> Any:
    cur = obj
    for step in path:
        if isinstance(cur, Mapping) and isinstance(step, str):
            cur = cur.get(step)
        elif isinstance(cur, list) and isinstance(step, int) and -len(cur) <= step < len(cur):
            cur = cur[step]
        else:
            return None
    return cur


def _dicts(value: Any) -> Iterator[dict[str, Any]]:
    if isinstance(value, list):
        for v in value:
            if isinstance(v, dict):
                yield v


def _meta_items(meta: Any) -> Iterator[Item]:
    if not isinstance(meta, Mapping):
        return
    for field in ("annotations", "labels"):
        values = meta.get(field)
        if not isinstance(values, Mapping):
            continue
        for key, value in values.items():
            key = str(key)
            if provider_key(key):
                yield (field[:-1], key)
            if key in ("pv.kubernetes.io/provisioned-by", "volume.kubernetes.io/storage-provisioner",
                       "volume.beta.kubernetes.io/storage-provisioner", "pv.kubernetes.io/migrated-to") and \
                    isinstance(value, str) and provider_driver(value):  # fmt: skip
                yield ("driver", value)
            if key == "kubernetes.io/ingress.class" and str(value) in PROVIDER_INGRESS:
                yield ("ingress-class", str(value))


def _selector_items(key: Any, values: Iterable[Any]) -> Iterator[Item]:
    if not isinstance(key, str):
        return
    if provider_key(key):
        yield ("node-label", key)
        return
    if ZONE_KEYS.search(key) or key in INSTANCE_KEYS:
        for v in values:
            if isinstance(v, str | int) and str(v):
                yield ("topology-value", str(v))


def _terms_items(terms: Any) -> Iterator[Item]:
    for term in _dicts(terms):
        for expr in _dicts(term.get("matchExpressions")):
            vals = expr.get("values")
            yield from _selector_items(expr.get("key"), vals if isinstance(vals, list) else [])


def _claim_items(spec: Any, classes: Mapping[str, str]) -> Iterator[Item]:
    if not isinstance(spec, Mapping):
        return
    cls = spec.get("storageClassName")
    if isinstance(cls, str) and (cls in PROVIDER_CLASSES):
        yield ("storage-class", cls)


def _images(value: Any, path: tuple[str, ...] = ()) -> Iterator[str]:
    """Every ``image``-like string under ``value`` (custom resources keep images in many places)."""
    if isinstance(value, Mapping):
        for k, v in value.items():
            if isinstance(v, str) and str(k).lower() in ("image", "baseimage", "containerimage") and v:
                yield v
            else:
                yield from _images(v, (*path, str(k)))
    elif isinstance(value, list):
        for v in value:
            yield from _images(v, path)


def _pod_items(pod: Any, classes: Mapping[str, str]) -> Iterator[Item]:
    if not isinstance(pod, Mapping):
        return
    selector = pod.get("nodeSelector")
    if isinstance(selector, Mapping):
        for k, v in selector.items():
            yield from _selector_items(k, [v])
    affinity = _get(pod, "affinity", "nodeAffinity")
    yield from _terms_items(_get(affinity, "requiredDuringSchedulingIgnoredDuringExecution", "nodeSelectorTerms"))
    for pref in _dicts(_get(affinity, "preferredDuringSchedulingIgnoredDuringExecution")):
        yield from _terms_items([pref.get("preference")])
    for tol in _dicts(pod.get("tolerations")):
        key = tol.get("key")
        if isinstance(key, str) and provider_key(key):
            yield ("toleration", key)
    for tsc in _dicts(pod.get("topologySpreadConstraints")):
        key = tsc.get("topologyKey")
        if isinstance(key, str) and provider_key(key):
            yield ("node-label", key)
    for field in ("initContainers", "containers", "ephemeralContainers"):
        for c in _dicts(pod.get(field)):
            for section in ("limits", "requests"):
                res = _get(c, "resources", section)
                if isinstance(res, Mapping):
                    for name in res:
                        name = str(name)
                        if not name.startswith(PORTABLE_RESOURCES) and _provider_domain(_domain_of(name)):
                            yield ("resource", name)
    for vol in _dicts(pod.get("volumes")):
        driver = _get(vol, "csi", "driver")
        if isinstance(driver, str) and provider_driver(driver):
            yield ("driver", driver)
        for intree in ("awsElasticBlockStore", "gcePersistentDisk", "azureDisk", "azureFile", "cinder"):
            if vol.get(intree) is not None:
                yield ("volume-source", intree)
        yield from _claim_items(_get(vol, "ephemeral", "volumeClaimTemplate", "spec"), classes)


def scan_object(obj: Mapping[str, Any], classes: Mapping[str, str] | None = None) -> list[Item]:
    """Provider-bound items of one object (deduplicated, in order). ``classes``: StorageClass name →
    provisioner of the classes defined alongside (an Ingress/claim naming a provider class is bound too)."""
    classes = classes or {}
    found: list[Item] = []
    api = str(obj.get("apiVersion") or "")
    group = api.partition("/")[0] if "/" in api else ""
    kind = str(obj.get("kind") or "")
    if provider_group(group):
        found.append(("api-group", group))
    elif group in ("", "v1") and kind in OPENSHIFT_LEGACY_KINDS:
        found.append(("openshift-kind", kind))
    if found:
        return found  # a provider-only kind: the object as a whole needs a decision
    found += _meta_items(obj.get("metadata"))
    spec = obj.get("spec") if isinstance(obj.get("spec"), Mapping) else {}
    if kind == "StorageClass":
        prov = obj.get("provisioner")
        if isinstance(prov, str) and provider_driver(prov):
            found.append(("driver", prov))
        for term in _dicts(obj.get("allowedTopologies")):
            for expr in _dicts(term.get("matchLabelExpressions")):
                vals = expr.get("values")
                found += _selector_items(expr.get("key"), vals if isinstance(vals, list) else [])
    if kind == "VolumeSnapshotClass":
        drv = obj.get("driver")
        if isinstance(drv, str) and provider_driver(drv):
            found.append(("driver", drv))
    if kind == "PersistentVolume":
        drv = _get(spec, "csi", "driver")
        if isinstance(drv, str) and provider_driver(drv):
            found.append(("driver", drv))
        for intree in ("awsElasticBlockStore", "gcePersistentDisk", "azureDisk", "azureFile", "cinder"):
            if spec.get(intree) is not None:
                found.append(("volume-source", intree))
        found += _terms_items(_get(spec, "nodeAffinity", "required", "nodeSelectorTerms"))
        found += _claim_items(spec, classes)
    if kind == "PersistentVolumeClaim":
        found += _claim_items(spec, classes)
    if kind == "StatefulSet":
        for vct in _dicts(spec.get("volumeClaimTemplates")):
            found += _claim_items(vct.get("spec"), classes)
    if kind == "Service":
        cls = spec.get("loadBalancerClass")
        if isinstance(cls, str) and _provider_domain(_domain_of(cls)):
            found.append(("lb-class", cls))
    if kind == "Ingress":
        cls = spec.get("ingressClassName")
        if isinstance(cls, str) and (cls in PROVIDER_INGRESS or cls in classes.get("__ingress__", "").split(",")):
            found.append(("ingress-class", cls))
    if kind == "IngressClass":
        ctrl = spec.get("controller")
        if isinstance(ctrl, str) and (ctrl in PROVIDER_INGRESS or _provider_domain(_domain_of(ctrl))):
            found.append(("ingress-controller", ctrl))
        params_group = _get(spec, "parameters", "apiGroup")
        if isinstance(params_group, str) and provider_group(params_group):
            found.append(("api-group", params_group))
    path = _POD_PATHS.get(kind)
    if path is not None:
        pod = _get(obj, *path)
        if len(path) > 1:
            found += _meta_items(_get(obj, *path[:-1], "metadata"))
        found += _pod_items(pod, classes)
    for image in _images(obj.get("spec")):
        m = PROVIDER_REGISTRIES.match(image)
        if m:
            found.append(("registry", m.group(0).rstrip("/")))
    return list(dict.fromkeys(found))


def provider_ingress_classes(objects: Iterable[Mapping[str, Any]]) -> list[str]:
    """Names of IngressClass objects whose controller belongs to one provider."""
    out = []
    for o in objects:
        if o.get("kind") == "IngressClass":
            ctrl = _get(o, "spec", "controller")
            if isinstance(ctrl, str) and (ctrl in PROVIDER_INGRESS or _provider_domain(_domain_of(ctrl))):
                out.append(str(_get(o, "metadata", "name")))
    return out


def scan(objects: Iterable[Mapping[str, Any]]) -> dict[tuple[str, str, str], list[Item]]:
    """Items per object, keyed by (kind, namespace, name)."""
    objs = list(objects)
    classes: dict[str, str] = {"__ingress__": ",".join(provider_ingress_classes(objs))}
    out: dict[tuple[str, str, str], list[Item]] = {}
    for o in objs:
        meta = o.get("metadata") if isinstance(o.get("metadata"), Mapping) else {}
        key = (str(o.get("kind")), str(meta.get("namespace") or ""), str(meta.get("name") or ""))
        items = scan_object(o, classes)
        if items:
            out.setdefault(key, []).extend(i for i in items if i not in out.get(key, []))
    return out
