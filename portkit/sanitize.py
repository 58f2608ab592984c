"""What export leaves out: objects that are skipped and fields that are stripped.

Every rule is a small function over a plain manifest dict, so that each can be read, documented and tested
on its own:

* **kind rules** (:func:`skip_kind_reason`) decide, from discovery alone, which kinds are never listed:
  runtime state the target cluster recreates by itself (Events, Endpoints, EndpointSlices, Leases, metrics).
* **object rules** (``skip_*`` functions, run in order by :func:`skip_reason`) return a short reason when one
  object must not be exported (the ``default`` ServiceAccount, generated token Secrets, ...), else ``None``.
  Objects owned by a controller that is itself exported are skipped by export (it needs to see every object
  first); :func:`controller_owner_uid` gives the owner it checks.
* **strip rules** (``strip_*`` functions, run in order by :func:`sanitize`) remove server-owned fields from an
  object in place: status, uid, resourceVersion, allocated IPs and ports, binding annotations, ...
  A rule may return what it removed (names only, never values), e.g. the annotations stripped from a
  Secret; :func:`sanitize` collects these for the export report.

The functions never read Secret values and never put them into a reason.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from typing import Any, TypeAlias

from portkit.model import get_path, split_api_version

__all__ = [
    "CONTROLLER_ANNOTATIONS",
    "CONTROLLER_ANNOTATION_PREFIXES",
    "LAST_APPLIED",
    "OBJECT_SKIP_RULES",
    "OPENSHIFT_TOKEN_SECRET_PREFIX",
    "STRIP_RULES",
    "StripRule",
    "controller_owner",
    "controller_owner_uid",
    "pod_spec",
    "sanitize",
    "skip_auto_token_secret",
    "skip_being_deleted",
    "skip_default_service_account",
    "skip_kind_reason",
    "skip_kubernetes_service",
    "skip_reason",
    "skip_root_ca_configmap",
    "skip_runtime_kind",
    "strip_aggregated_cluster_role_rules",
    "strip_controller_annotations",
    "strip_empty_metadata_maps",
    "strip_injected_token_volume",
    "strip_job_selector",
    "strip_last_applied",
    "strip_owner_references",
    "strip_pod_node_name",
    "strip_pv_claim_ref_ids",
    "strip_pvc_binding",
    "strip_secret_credential_annotations",
    "strip_server_metadata",
    "strip_service_account_token_refs",
    "strip_service_cluster_ip",
    "strip_service_node_ports",
    "strip_status",
    "strip_template_leftovers",
    "strip_token_secret_data",
]

Manifest = dict[str, Any]

#: Annotation kubectl's client-side apply writes; it holds a full copy of the object (Secret data included).
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"

#: Prefix of the annotations OpenShift writes on the dockercfg Secret of a ServiceAccount:
#: ``openshift.io/token-secret.name`` and ``openshift.io/token-secret.value`` (the ServiceAccount's token).
OPENSHIFT_TOKEN_SECRET_PREFIX = "openshift.io/token-secret."

#: A strip rule: changes the object in place; may return what it removed (names only, never values).
StripRule: TypeAlias = Callable[[Manifest], "Iterable[str] | None"]

#: Annotations written by controllers, not by users; the target's controllers write their own.
CONTROLLER_ANNOTATIONS: frozenset[str] = frozenset(
    {
        "deployment.kubernetes.io/revision",
        "deployment.kubernetes.io/revision-history",
        "deployment.kubernetes.io/desired-replicas",
        "deployment.kubernetes.io/max-replicas",
        "deprecated.daemonset.template.generation",
        "batch.kubernetes.io/job-tracking",
        "endpoints.kubernetes.io/last-change-trigger-time",
        "control-plane.alpha.kubernetes.io/leader",
        "kubernetes.io/service-account.uid",
        "pv.kubernetes.io/bound-by-controller",
    }
)

#: Annotation prefixes written by controllers (HPA v1 keeps converted v2 status here).
CONTROLLER_ANNOTATION_PREFIXES: tuple[str, ...] = ("autoscaling.alpha.kubernetes.io/",)

_SERVER_METADATA = (
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "managedFields",
    "selfLink",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
)

_PVC_BINDING_ANNOTATIONS = frozenset(
    {
        "pv.kubernetes.io/bind-completed",
        "pv.kubernetes.io/bound-by-controller",
        "pv.kubernetes.io/migrated-to",
        "volume.beta.kubernetes.io/storage-provisioner",
        "volume.kubernetes.io/storage-provisioner",
        "volume.kubernetes.io/selected-node",
        "volume.kubernetes.io/storage-resizer",
    }
)

_JOB_UID_LABELS = ("controller-uid", "batch.kubernetes.io/controller-uid")

#: Groups whose every kind is runtime state.
_RUNTIME_GROUPS = {
    "events.k8s.io": "Events are runtime history; the target records its own",
    "coordination.k8s.io": "Leases are held by running controllers; the target's own take them",
    "discovery.k8s.io": "EndpointSlices are derived from Services and Pods by the target's controllers",
    "metrics.k8s.io": "metrics are measured live, not stored",
}

#: Core kinds that are runtime state.
_RUNTIME_CORE_KINDS = {
    "Event": "Events are runtime history; the target records its own",
    "Endpoints": "Endpoints are derived from Services and Pods by the target's controllers",
}

#: Name of the generated legacy token Secret of a ServiceAccount: ``<sa>-token-<5 random characters>``.
_AUTO_TOKEN_RE = re.compile(r"^(?P<sa>.+)-token-[bcdfghjklmnpqrstvwxz2456789]{5}$")

#: ConfigMaps every namespace gets from a controller.
_INJECTED_CONFIGMAPS = frozenset({"kube-root-ca.crt", "openshift-service-ca.crt"})

_POD_TEMPLATE_KINDS = frozenset(
    {"Deployment", "ReplicaSet", "StatefulSet", "DaemonSet", "Job", "ReplicationController"}
)
_WORKLOAD_GROUPS = frozenset({"", "apps", "batch", "extensions"})


def _group(obj: Manifest) -> str:
    return split_api_version(str(obj.get("apiVersion") or ""))[0]


def _is(obj: Manifest, kind: str, group: str = "") -> bool:
    return obj.get("kind") == kind and _group(obj) == group


def _meta(obj: Manifest) -> dict[str, Any]:
    meta = obj.get("metadata")
    return meta if isinstance(meta, dict) else {}


# --------------------------------------------------------------------------------------------- kind rules


def skip_kind_reason(group: str, kind: str) -> str | None:
    """Why a whole kind is never listed, or ``None`` when it is exported.

    Events (both groups), Endpoints, EndpointSlices, Leases (all of ``coordination.k8s.io``) and
    ``metrics.k8s.io`` are runtime state the target cluster produces by itself.
    """
    if group in _RUNTIME_GROUPS:
        return _RUNTIME_GROUPS[group]
    if group == "":
        return _RUNTIME_CORE_KINDS.get(kind)
    return None


# ------------------------------------------------------------------------------------------- object rules


def skip_runtime_kind(obj: Manifest) -> str | None:
    """Skip objects of runtime kinds (see :func:`skip_kind_reason`), should one reach us anyway."""
    return skip_kind_reason(_group(obj), str(obj.get("kind") or ""))


def skip_default_service_account(obj: Manifest) -> str | None:
    """Skip the ``default`` ServiceAccount: every namespace gets one from the target's controller."""
    if _is(obj, "ServiceAccount") and _meta(obj).get("name") == "default":
        return "the default ServiceAccount is created in every namespace by the target"
    return None


def skip_auto_token_secret(obj: Manifest) -> str | None:
    """Skip generated ServiceAccount token Secrets (``<sa>-token-xxxxx`` of type service-account-token).

    Their token is signed by the source cluster's key and useless elsewhere. Token Secrets a user created by
    hand (any other name) are exported, without their data (see :func:`strip_token_secret_data`).
    """
    if not _is(obj, "Secret") or obj.get("type") != "kubernetes.io/service-account-token":
        return None
    meta = _meta(obj)
    match = _AUTO_TOKEN_RE.match(str(meta.get("name") or ""))
    sa = (meta.get("annotations") or {}).get("kubernetes.io/service-account.name")
    if match and (sa is None or sa == match.group("sa")):
        return "generated ServiceAccount token; the target signs its own"
    return None


def skip_root_ca_configmap(obj: Manifest) -> str | None:
    """Skip ``kube-root-ca.crt`` (and OpenShift's ``openshift-service-ca.crt``): injected into every namespace."""
    if _is(obj, "ConfigMap") and _meta(obj).get("name") in _INJECTED_CONFIGMAPS:
        return "the cluster CA bundle is injected into every namespace by the target"
    return None


def skip_kubernetes_service(obj: Manifest) -> str | None:
    """Skip the ``default/kubernetes`` Service: the API server maintains it in every cluster."""
    meta = _meta(obj)
    if _is(obj, "Service") and meta.get("namespace") == "default" and meta.get("name") == "kubernetes":
        return "the kubernetes Service is maintained by the target's API server"
    return None


def skip_being_deleted(obj: Manifest) -> str | None:
    """Skip objects that are being deleted (``metadata.deletionTimestamp`` set): they are on their way out."""
    if _meta(obj).get("deletionTimestamp"):
        return "being deleted in the source"
    return None


#: Object skip rules, in the order :func:`skip_reason` runs them.
OBJECT_SKIP_RULES: tuple[Callable[[Manifest], str | None], ...] = (
    skip_runtime_kind,
    skip_default_service_account,
    skip_auto_token_secret,
    skip_root_ca_configmap,
    skip_kubernetes_service,
    skip_being_deleted,
)


def skip_reason(obj: Manifest) -> str | None:
    """The reason of the first object skip rule that applies, or ``None`` if the object is exported."""
    for rule in OBJECT_SKIP_RULES:
        reason = rule(obj)
        if reason:
            return reason
    return None


def controller_owner(obj: Manifest) -> dict[str, Any] | None:
    """The object's controller ownerReference (the one with ``controller: true`` and a uid), if any.

    Export skips an object whose controller owner it exports too (ReplicaSets of Deployments, their Pods,
    Jobs of CronJobs, ControllerRevisions, operator-made objects): the target's controllers recreate them.
    It also skips one whose controller's kind it could not list (it cannot tell whether the owner exists).
    """
    for ref in _meta(obj).get("ownerReferences") or ():
        if isinstance(ref, dict) and ref.get("controller") and ref.get("uid"):
            return ref
    return None


def controller_owner_uid(obj: Manifest) -> str | None:
    """The uid of the object's controller owner, if any (see :func:`controller_owner`)."""
    ref = controller_owner(obj)
    return str(ref["uid"]) if ref else None


# -------------------------------------------------------------------------------------------- strip rules


def strip_status(obj: Manifest) -> None:
    """Remove ``status``: it is observed state, written by the target's controllers."""
    obj.pop("status", None)


def strip_service_cluster_ip(obj: Manifest) -> None:
    """Remove Service ``clusterIP``/``clusterIPs`` allocated from the source's range; headless ``None`` stays."""
    if not _is(obj, "Service"):
        return
    spec = obj.get("spec")
    if not isinstance(spec, dict):
        return
    if spec.get("clusterIP") == "None":
        return
    spec.pop("clusterIP", None)
    spec.pop("clusterIPs", None)


def _owned_port_fields(obj: Manifest) -> tuple[set[tuple[int, str]], bool]:
    """(port, protocol) pairs whose ``nodePort`` a field manager set, and whether one set healthCheckNodePort."""
    ports: set[tuple[int, str]] = set()
    health = False
    for entry in _meta(obj).get("managedFields") or ():
        spec = get_path(entry, "fieldsV1", "f:spec", default={}) or {}
        if not isinstance(spec, dict):
            continue
        if "f:healthCheckNodePort" in spec:
            health = True
        for key, value in (spec.get("f:ports") or {}).items():
            if not key.startswith("k:") or not isinstance(value, dict) or "f:nodePort" not in value:
                continue
            try:
                ident = json.loads(key[2:])
            except ValueError:
                continue
            if isinstance(ident, dict) and "port" in ident:
                ports.add((int(ident["port"]), str(ident.get("protocol") or "TCP")))
    return ports, health


def strip_service_node_ports(obj: Manifest) -> None:
    """Remove auto-assigned Service ``nodePort``s and ``healthCheckNodePort``; keep those a user set.

    A port counts as set by a user when a field manager in ``metadata.managedFields`` owns it; allocated
    ports are owned by nobody. Without managedFields every node port is treated as allocated. Must run
    before :func:`strip_server_metadata` removes managedFields.
    """
    if not _is(obj, "Service"):
        return
    spec = obj.get("spec")
    if not isinstance(spec, dict):
        return
    owned, health_owned = _owned_port_fields(obj)
    for port in spec.get("ports") or ():
        if not isinstance(port, dict) or "nodePort" not in port:
            continue
        ident = (int(port.get("port") or 0), str(port.get("protocol") or "TCP"))
        if ident not in owned:
            del port["nodePort"]
    if "healthCheckNodePort" in spec and not health_owned:
        del spec["healthCheckNodePort"]


def strip_server_metadata(obj: Manifest) -> None:
    """Remove server-owned metadata: uid, resourceVersion, generation, creationTimestamp, managedFields,
    selfLink and deletion fields."""
    meta = _meta(obj)
    for key in _SERVER_METADATA:
        meta.pop(key, None)


def strip_owner_references(obj: Manifest) -> None:
    """Remove ``ownerReferences``.

    They name owners by uid, and uids are per cluster: a reference to an object that is not exported
    dangles, and one to an exported object would carry the source's uid, which the target's garbage
    collector takes for a deleted owner (and deletes the object). Objects whose controller owner is
    exported are not exported at all (see :func:`controller_owner_uid`).
    """
    _meta(obj).pop("ownerReferences", None)


def strip_secret_credential_annotations(obj: Manifest) -> list[str]:
    """Remove credential-carrying annotations from a Secret; returns their names (never their values).

    OpenShift's ``openshift.io/token-secret.*`` annotations hold a ServiceAccount token of the source
    cluster (``.value``) and the name of its token Secret; ``kubectl.kubernetes.io/last-applied-configuration``
    holds a full copy of the Secret, data included. The export report lists what was removed.
    """
    if not _is(obj, "Secret"):
        return []
    annotations = _meta(obj).get("annotations")
    if not isinstance(annotations, dict):
        return []
    doomed = sorted(k for k in annotations if k == LAST_APPLIED or str(k).startswith(OPENSHIFT_TOKEN_SECRET_PREFIX))
    for key in doomed:
        del annotations[key]
    return [f"annotation {key}" for key in doomed]


def strip_last_applied(obj: Manifest) -> None:
    """Remove the ``kubectl.kubernetes.io/last-applied-configuration`` annotation (a stale full copy)."""
    annotations = _meta(obj).get("annotations")
    if isinstance(annotations, dict):
        annotations.pop(LAST_APPLIED, None)


def strip_controller_annotations(obj: Manifest) -> None:
    """Remove annotations controllers write (``deployment.kubernetes.io/revision``, ...)."""
    annotations = _meta(obj).get("annotations")
    if not isinstance(annotations, dict):
        return
    for key in list(annotations):
        if key in CONTROLLER_ANNOTATIONS or key.startswith(CONTROLLER_ANNOTATION_PREFIXES):
            del annotations[key]


def strip_pvc_binding(obj: Manifest) -> None:
    """Remove a PVC's ``spec.volumeName`` and its bind/provisioner annotations: the target binds anew."""
    if not _is(obj, "PersistentVolumeClaim"):
        return
    spec = obj.get("spec")
    if isinstance(spec, dict):
        spec.pop("volumeName", None)
    annotations = _meta(obj).get("annotations")
    if isinstance(annotations, dict):
        for key in _PVC_BINDING_ANNOTATIONS & annotations.keys():
            del annotations[key]


def strip_job_selector(obj: Manifest) -> None:
    """Remove a Job's generated ``spec.selector`` and the controller-uid labels (unless manualSelector).

    The API server generates both from the Job's uid; the target generates its own.
    """
    if not _is(obj, "Job", "batch"):
        return
    spec = obj.get("spec")
    if not isinstance(spec, dict) or spec.get("manualSelector"):
        return
    spec.pop("selector", None)
    for labels in (get_path(spec, "template", "metadata", "labels"), _meta(obj).get("labels")):
        if isinstance(labels, dict):
            for key in _JOB_UID_LABELS:
                labels.pop(key, None)


def strip_pod_node_name(obj: Manifest) -> None:
    """Remove a (bare) Pod's ``spec.nodeName``: the target's scheduler places it."""
    if _is(obj, "Pod") and isinstance(obj.get("spec"), dict):
        obj["spec"].pop("nodeName", None)


def strip_injected_token_volume(obj: Manifest) -> None:
    """Remove the ``kube-api-access-*`` volume (and its mounts) admission injects into Pods.

    The target's admission injects a fresh one.
    """
    if not _is(obj, "Pod"):
        return
    spec = obj.get("spec")
    if not isinstance(spec, dict) or not isinstance(spec.get("volumes"), list):
        return
    injected = {
        v.get("name")
        for v in spec["volumes"]
        if isinstance(v, dict) and str(v.get("name") or "").startswith("kube-api-access-") and "projected" in v
    }
    if not injected:
        return
    spec["volumes"] = [v for v in spec["volumes"] if not (isinstance(v, dict) and v.get("name") in injected)]
    if not spec["volumes"]:
        del spec["volumes"]
    for field in ("containers", "initContainers", "ephemeralContainers"):
        for container in spec.get(field) or ():
            mounts = container.get("volumeMounts") if isinstance(container, dict) else None
            if isinstance(mounts, list):
                kept = [m for m in mounts if not (isinstance(m, dict) and m.get("name") in injected)]
                if kept:
                    container["volumeMounts"] = kept
                else:
                    del container["volumeMounts"]


def strip_token_secret_data(obj: Manifest) -> None:
    """Remove the data of a (user-made) ServiceAccount token Secret; the target's token controller fills it."""
    if _is(obj, "Secret") and obj.get("type") == "kubernetes.io/service-account-token":
        obj.pop("data", None)


def strip_service_account_token_refs(obj: Manifest) -> None:
    """Remove a ServiceAccount's ``secrets`` entries naming generated token Secrets (they are not exported)."""
    if not _is(obj, "ServiceAccount") or not isinstance(obj.get("secrets"), list):
        return
    name = _meta(obj).get("name")
    kept = []
    for ref in obj["secrets"]:
        match = _AUTO_TOKEN_RE.match(str(ref.get("name") or "")) if isinstance(ref, dict) else None
        if match and match.group("sa") == name:
            continue
        kept.append(ref)
    if kept:
        obj["secrets"] = kept
    else:
        del obj["secrets"]


def strip_aggregated_cluster_role_rules(obj: Manifest) -> None:
    """Remove the ``rules`` of an aggregated ClusterRole: the target's controller aggregates them anew."""
    if _is(obj, "ClusterRole", "rbac.authorization.k8s.io") and obj.get("aggregationRule"):
        obj.pop("rules", None)


def strip_pv_claim_ref_ids(obj: Manifest) -> None:
    """Remove ``uid`` and ``resourceVersion`` from a PersistentVolume's ``claimRef`` (they are the source PVC's)."""
    if not _is(obj, "PersistentVolume"):
        return
    claim = get_path(obj, "spec", "claimRef")
    if isinstance(claim, dict):
        claim.pop("uid", None)
        claim.pop("resourceVersion", None)


def _clean_nested_metadata(value: Any) -> None:
    if isinstance(value, dict):
        meta = value.get("metadata")
        if isinstance(meta, dict) and "creationTimestamp" in meta and meta["creationTimestamp"] is None:
            del meta["creationTimestamp"]
        for child in value.values():
            if isinstance(child, dict | list):
                _clean_nested_metadata(child)
    elif isinstance(value, list):
        for child in value:
            if isinstance(child, dict | list):
                _clean_nested_metadata(child)


def strip_template_leftovers(obj: Manifest) -> None:
    """Remove ``creationTimestamp: null`` from embedded templates and ``status`` of StatefulSet claim templates."""
    spec = obj.get("spec")
    if not isinstance(spec, dict):
        return
    _clean_nested_metadata(spec)
    if _is(obj, "StatefulSet", "apps"):
        for template in spec.get("volumeClaimTemplates") or ():
            if isinstance(template, dict):
                template.pop("status", None)


def strip_empty_metadata_maps(obj: Manifest) -> None:
    """Remove ``labels``/``annotations`` maps left empty by the other rules."""
    meta = _meta(obj)
    for key in ("labels", "annotations"):
        if key in meta and not meta[key]:
            del meta[key]


#: Strip rules, in the order :func:`sanitize` runs them (node ports read managedFields before it goes).
STRIP_RULES: tuple[StripRule, ...] = (
    strip_status,
    strip_service_cluster_ip,
    strip_service_node_ports,
    strip_server_metadata,
    strip_owner_references,
    strip_secret_credential_annotations,
    strip_last_applied,
    strip_controller_annotations,
    strip_pvc_binding,
    strip_job_selector,
    strip_pod_node_name,
    strip_injected_token_volume,
    strip_token_secret_data,
    strip_service_account_token_refs,
    strip_aggregated_cluster_role_rules,
    strip_pv_claim_ref_ids,
    strip_template_leftovers,
    strip_empty_metadata_maps,
)


def sanitize(obj: Manifest, rules: Iterable[StripRule] = STRIP_RULES, *, stripped: list[str] | None = None) -> Manifest:
    """Apply the strip rules to ``obj`` in place and return it (copy first if you do not own it).

    ``stripped``, when given, receives what the rules report removing (e.g. ``annotation
    openshift.io/token-secret.value`` of a Secret): names only, never values.
    """
    for rule in rules:
        removed = rule(obj)
        if removed and stripped is not None:
            stripped.extend(removed)
    return obj


def pod_spec(obj: Manifest) -> dict[str, Any] | None:
    """The pod spec of a Pod, a workload's pod template, or a CronJob's job template; ``None`` otherwise."""
    kind = obj.get("kind")
    group = _group(obj)
    if group not in _WORKLOAD_GROUPS:
        return None
    if kind == "Pod" and group == "":
        spec = obj.get("spec")
    elif kind in _POD_TEMPLATE_KINDS:
        spec = get_path(obj, "spec", "template", "spec")
    elif kind == "CronJob":
        spec = get_path(obj, "spec", "jobTemplate", "spec", "template", "spec")
    else:
        return None
    return spec if isinstance(spec, dict) else None
