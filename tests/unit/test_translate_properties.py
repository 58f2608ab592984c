"""Property tests (hypothesis, bounded): no crash, unknown fields kept, idempotent, every change recorded."""

from __future__ import annotations

import copy
import importlib
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from portkit.errors import TranslationError
from portkit.model import ObjectRef
from portkit.translate.rules import diff_paths

# the module, not the function `portkit.translate` that the package exports
T = importlib.import_module("portkit.translate")

PAIRS = [
    ("aws", "ionos"),
    ("aws", "hetzner"),
    ("gke", "ovh"),
    ("aks", "openstack"),
    ("aws", "rook-ceph+metallb"),
    ("openshift", "scaleway"),
    ("scaleway", "aws"),
]
KEYS = [
    "app",
    "team",
    "eks.amazonaws.com/role-arn",
    "eks.amazonaws.com/nodegroup",
    "elbv2.k8s.aws/pod-readiness-gate-inject",
    "cloud.google.com/gke-nodepool",
    "cloud.google.com/neg",
    "azure.workload.identity/use",
    "kubernetes.azure.com/agentpool",
    "topology.kubernetes.io/zone",
    "topology.kubernetes.io/region",
    "node.kubernetes.io/instance-type",
    "service.beta.kubernetes.io/aws-load-balancer-scheme",
    "service.beta.kubernetes.io/aws-load-balancer-proxy-protocol",
    "service.beta.kubernetes.io/azure-load-balancer-internal",
    "networking.gke.io/load-balancer-type",
    "load-balancer.hetzner.cloud/id",
    "alb.ingress.kubernetes.io/ssl-redirect",
    "kubernetes.io/ingress.class",
    "openshift.io/generated-by",
    "karpenter.sh/capacity-type",
]
VALUES = [
    "true",
    "internal",
    "Internal",
    "*",
    "eu-central-1",
    "eu-central-1a",
    "europe-west3-b",
    "westeurope-1",
    "m5.large",
    "alb",
    "gce",
    "x",
    "10",
]
CLASSES = [
    "gp3",
    "gp2",
    "io2",
    "efs-sc",
    "premium-rwo",
    "standard-rwo",
    "managed-csi",
    "azurefile-csi",
    "hcloud-volumes",
    "custom",
    None,
]
IMAGES = [
    "nginx:1",
    "123456789012.dkr.ecr.eu-central-1.amazonaws.com/a:1",
    "gcr.io/p/b:2",
    "acme.azurecr.io/c:3",
    "image-registry.openshift-image-registry.svc:5000/ns/d:4",
]

labels = st.dictionaries(st.sampled_from(KEYS), st.sampled_from(VALUES), max_size=4)
unknown = st.dictionaries(
    st.sampled_from(["xCustom", "zeta", "extraField"]),
    st.one_of(st.integers(), st.text(max_size=5), st.lists(st.integers(), max_size=2)),
    max_size=2,
)


@st.composite
def pod_spec(draw: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "containers": [
            {"name": f"c{i}", "image": draw(st.sampled_from(IMAGES))} for i in range(draw(st.integers(1, 2)))
        ]
    }
    if draw(st.booleans()):
        spec["nodeSelector"] = draw(labels)
    if draw(st.booleans()):
        expr = [
            {
                "key": draw(st.sampled_from(KEYS)),
                "operator": "In",
                "values": draw(st.lists(st.sampled_from(VALUES), min_size=1, max_size=2)),
            }
        ]
        spec["affinity"] = {
            "nodeAffinity": {
                "requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [{"matchExpressions": expr}]}
            }
        }
    if draw(st.booleans()):
        spec["tolerations"] = [{"key": draw(st.sampled_from(KEYS)), "operator": "Exists"}]
    if draw(st.booleans()):
        spec["topologySpreadConstraints"] = [
            {
                "maxSkew": 1,
                "topologyKey": draw(
                    st.sampled_from(
                        ["topology.kubernetes.io/zone", "topology.ebs.csi.aws.com/zone", "kubernetes.io/hostname"]
                    )
                ),
                "whenUnsatisfiable": "ScheduleAnyway",
            }
        ]
    spec.update(draw(unknown))
    return spec


@st.composite
def manifest(draw: Any, index: int) -> dict[str, Any]:
    kind = draw(
        st.sampled_from(
            [
                "Deployment",
                "PersistentVolumeClaim",
                "Service",
                "Ingress",
                "ServiceAccount",
                "ConfigMap",
                "StatefulSet",
                "CronJob",
                "Namespace",
                "StorageClass",
            ]
        )
    )
    name = f"o{index}"
    meta: dict[str, Any] = {"name": name, "namespace": "ns"}
    if draw(st.booleans()):
        meta["labels"] = draw(labels)
    if draw(st.booleans()):
        meta["annotations"] = draw(labels)
    meta.update(draw(st.dictionaries(st.just("xMeta"), st.integers(), max_size=1)))
    api = {
        "Deployment": "apps/v1",
        "StatefulSet": "apps/v1",
        "CronJob": "batch/v1",
        "Ingress": "networking.k8s.io/v1",
        "StorageClass": "storage.k8s.io/v1",
    }.get(kind, "v1")
    obj: dict[str, Any] = {"apiVersion": api, "kind": kind, "metadata": meta}
    if kind in ("Namespace", "StorageClass"):
        del meta["namespace"]
    if kind == "StorageClass":
        obj["provisioner"] = draw(st.sampled_from(["ebs.csi.aws.com", "pd.csi.storage.gke.io", "example.com/nfs"]))
        obj["parameters"] = {"type": draw(st.sampled_from(["gp3", "io2", "pd-ssd"]))}
        return obj
    spec: dict[str, Any] = dict(draw(unknown))
    if kind == "Deployment":
        spec.update(
            {
                "selector": {"matchLabels": {"app": name}},
                "template": {"metadata": {"labels": {"app": name, **draw(labels)}}, "spec": draw(pod_spec())},
            }
        )
    elif kind == "StatefulSet":
        vct_spec: dict[str, Any] = {
            "accessModes": [draw(st.sampled_from(["ReadWriteOnce", "ReadWriteMany"]))],
            "resources": {"requests": {"storage": draw(st.sampled_from(["1Gi", "500Mi", "20Gi"]))}},
        }
        cls = draw(st.sampled_from(CLASSES))
        if cls:
            vct_spec["storageClassName"] = cls
        spec.update(
            {
                "selector": {"matchLabels": {"app": name}},
                "template": {"metadata": {"labels": {"app": name}}, "spec": draw(pod_spec())},
                "volumeClaimTemplates": [{"metadata": {"name": "d"}, "spec": vct_spec}],
            }
        )
    elif kind == "CronJob":
        spec.update({"schedule": "* * * * *", "jobTemplate": {"spec": {"template": {"spec": draw(pod_spec())}}}})
    elif kind == "PersistentVolumeClaim":
        spec.update(
            {
                "accessModes": [draw(st.sampled_from(["ReadWriteOnce", "ReadWriteMany"]))],
                "resources": {"requests": {"storage": draw(st.sampled_from(["1Gi", "500Mi", "20Gi", "3G"]))}},
            }
        )
        cls = draw(st.sampled_from(CLASSES))
        if cls:
            spec["storageClassName"] = cls
    elif kind == "Service":
        spec.update({"type": draw(st.sampled_from(["ClusterIP", "LoadBalancer"])), "ports": [{"port": 80}]})
        if draw(st.booleans()):
            spec["externalTrafficPolicy"] = "Local"
    elif kind == "Ingress":
        cls = draw(st.sampled_from(["alb", "gce", "nginx", None]))
        if cls:
            spec["ingressClassName"] = cls
        spec["rules"] = [
            {
                "host": "a.b",
                "http": {
                    "paths": [
                        {
                            "path": draw(st.sampled_from(["/", "/x/*"])),
                            "pathType": "Prefix",
                            "backend": {"service": {"name": "s", "port": {"number": 80}}},
                        }
                    ]
                },
            }
        ]
    if kind not in ("ServiceAccount", "ConfigMap", "Namespace"):
        obj["spec"] = spec
    return obj


bundles = st.integers(1, 6).flatmap(lambda n: st.tuples(*[manifest(i) for i in range(n)]))
SETTINGS = settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)


def _covered(path: str, recorded: list[str]) -> bool:
    return any(path == r or path.startswith(r + "/") or r.startswith(path + "/") or r == "" for r in recorded)


def _pointer(p: tuple[Any, ...]) -> str:
    from portkit.translate import _base

    return _base.pointer(p)


@SETTINGS
@given(objs=bundles, pair=st.sampled_from(PAIRS))
def test_properties(objs: tuple[dict[str, Any], ...], pair: tuple[str, str]) -> None:
    source, target = pair
    inputs = list(objs)
    snapshot = copy.deepcopy(inputs)
    t = T.translate(inputs, source=source, target=target)  # no crash
    assert inputs == snapshot  # input untouched
    by_key_in = {ObjectRef.from_obj(o).key: o for o in inputs}
    recorded: dict[tuple[str, str, str, str], list[str]] = {}
    for c in t.changes:
        recorded.setdefault(c.ref.key, []).append(c.path)
    out_keys = set()
    for o in t.bundle.objects:
        key = ObjectRef.from_obj(o).key
        out_keys.add(key)
        before = by_key_in.get(key)
        if before is None:
            assert key in recorded, f"{key} appeared without a Change"
            continue
        # unknown fields are preserved
        for field, value in before.items():
            if field not in ("apiVersion", "kind", "metadata", "spec", "provisioner", "parameters"):
                assert o.get(field) == value
        for field in ("xCustom", "zeta", "extraField"):
            if isinstance(before.get("spec"), dict) and field in before["spec"]:
                assert o["spec"][field] == before["spec"][field]
        if "xMeta" in before["metadata"]:
            assert o["metadata"]["xMeta"] == before["metadata"]["xMeta"]
        # every difference has a Change record
        for path, _, _ in diff_paths(before, o):
            assert _covered(_pointer(path), recorded.get(key, [])), (key, path, recorded.get(key))
    for key in by_key_in:
        if key not in out_keys:
            assert "" in recorded.get(key, []), f"{key} vanished without a drop Change"
    # idempotent
    again = T.translate(t.bundle, source=source, target=target)
    assert again.changes == ()
    assert again.bundle.objects == t.bundle.objects


FIELDS = [
    *KEYS,
    *["spec", "template", "containers", "image", "nodeSelector", "affinity", "tolerations", "storageClassName"],
    *["resources", "requests", "storage", "accessModes", "rules", "http", "paths", "backend", "annotations"],
    *["labels", "key", "values", "topologyKey"],
]
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 5) | st.sampled_from(VALUES + KEYS),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.sampled_from(FIELDS), children, max_size=4),
    max_leaves=12,
)


@SETTINGS
@given(
    kind=st.sampled_from(
        [
            "Deployment",
            "StatefulSet",
            "CronJob",
            "Pod",
            "PersistentVolumeClaim",
            "Service",
            "Ingress",
            "StorageClass",
            "VolumeSnapshotClass",
            "Route",
            "DeploymentConfig",
            "PodSecurityPolicy",
            "Widget",
        ]
    ),
    spec=json_values,
    annotations=st.dictionaries(st.sampled_from(KEYS), st.sampled_from(VALUES), max_size=3),
    pair=st.sampled_from(PAIRS),
)
def test_odd_shapes_never_crash(kind: str, spec: Any, annotations: dict[str, str], pair: tuple[str, str]) -> None:
    api = {"Route": "route.openshift.io/v1", "DeploymentConfig": "apps.openshift.io/v1", "Widget": "example.com/v1"}
    obj = {
        "apiVersion": api.get(kind, "v1"),
        "kind": kind,
        "metadata": {"name": "odd", "namespace": "ns", "annotations": annotations},
        "spec": spec,
    }
    snapshot = copy.deepcopy(obj)
    try:
        T.translate([obj], source=pair[0], target=pair[1])
    except TranslationError as exc:  # invalid shapes may fail, but with a message naming translator and object
        assert f"failed on {kind}" in str(exc) or "Widget" in str(exc), str(exc)
        assert "valid manifest" in str(exc)
    assert obj == snapshot
