"""Translators, one concern at a time, on small hand-written objects."""

from __future__ import annotations

import copy
import importlib
import json
from typing import Any

import pytest

from portkit.bundle import Bundle
from portkit.errors import TranslationError

# the module, not the function `portkit.translate` that the package exports
T = importlib.import_module("portkit.translate")


def pvc(
    name: str, cls: str | None = "gp3", size: str = "10Gi", modes: tuple[str, ...] = ("ReadWriteOnce",)
) -> dict[str, Any]:
    spec: dict[str, Any] = {"accessModes": list(modes), "resources": {"requests": {"storage": size}}}
    if cls is not None:
        spec["storageClassName"] = cls
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": name, "namespace": "shop"},
        "spec": spec,
    }


def deployment(
    pod_spec: dict[str, Any], name: str = "web", template_meta: dict[str, Any] | None = None
) -> dict[str, Any]:
    meta = template_meta or {"labels": {"app": name}}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": "shop"},
        "spec": {"selector": {"matchLabels": {"app": name}}, "template": {"metadata": meta, "spec": pod_spec}},
    }


def lb_service(annotations: dict[str, str], **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "web", "namespace": "shop", "annotations": annotations},
        "spec": {"type": "LoadBalancer", "selector": {"app": "web"}, "ports": [{"port": 80}], **spec},
    }


def out(t: T.Translation, kind: str, name: str) -> dict[str, Any]:
    for o in t.bundle.objects:
        if o["kind"] == kind and o["metadata"]["name"] == name:
            return o
    raise AssertionError(f"{kind} {name} not in the output")


# -- the entry point ----------------------------------------------------------------------------------


def test_translate_accepts_lists_and_bundles_and_never_mutates_input() -> None:
    objs = [pvc("data", "gp3"), pvc("cache", "gp2", "500Mi")]
    before = copy.deepcopy(objs)
    t = T.translate(objs, source="aws", target="hetzner")
    assert objs == before
    assert out(t, "PersistentVolumeClaim", "data")["spec"]["storageClassName"] == "hcloud-volumes"
    bundle = Bundle(objs, meta={"source": {"provider": "aws", "server_version": "v1.30.0"}})
    t2 = T.translate(bundle, target="hetzner")
    assert objs == before
    assert t2.source == "aws"
    assert t2.bundle.meta["translated"]["target"] == "hetzner"
    assert t2.bundle.meta["source"]["provider"] == "aws"


def test_missing_source_asks_for_from() -> None:
    neutral = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "shop"}}
    with pytest.raises(TranslationError, match=r"nothing in its objects is specific to one provider.*--from"):
        T.translate(Bundle([neutral]), target="ionos")
    with pytest.raises(TranslationError, match="--to"):
        T.translate([pvc("a")], source="aws")
    with pytest.raises(TranslationError, match="unknown provider"):
        T.translate([pvc("a")], source="aws", target="atlantis")


def test_bad_mapping_key_is_an_error() -> None:
    with pytest.raises(TranslationError, match="unknown mapping 'colours'"):
        T.translate([pvc("a")], source="aws", target="ionos", mappings={"colours": {}})


# -- storage -----------------------------------------------------------------------------------------


def test_storage_maps_by_tier_and_user_mapping_wins() -> None:
    objs = [pvc("a", "gp3"), pvc("b", "io2"), pvc("c", "st1", "200Gi")]
    t = T.translate(objs, source="aws", target="scaleway")
    assert [out(t, "PersistentVolumeClaim", n)["spec"]["storageClassName"] for n in "abc"] == [
        "sbs-default",
        "sbs-15k",
        "sbs-default",
    ]
    t = T.translate(objs, source="aws", target="scaleway", mappings={"storage_classes": {"gp3": "sbs-5k"}})
    assert out(t, "PersistentVolumeClaim", "a")["spec"]["storageClassName"] == "sbs-5k"
    change = next(c for c in t.changes if c.ref.name == "a")
    assert change.path == "/spec/storageClassName" and change.old == "gp3" and change.new == "sbs-5k"
    assert "user mapping" in change.reason and change.translator == "storage"


def test_storage_raises_sizes_to_the_target_minimum_with_a_warning() -> None:
    t = T.translate([pvc("small", "gp3", "2Gi"), pvc("big", "gp3", "20Gi")], source="aws", target="hetzner")
    assert out(t, "PersistentVolumeClaim", "small")["spec"]["resources"]["requests"]["storage"] == "10Gi"
    assert out(t, "PersistentVolumeClaim", "big")["spec"]["resources"]["requests"]["storage"] == "20Gi"
    assert any("raised from 2Gi to 10Gi" in w.message for w in t.warnings)


def test_rwx_on_block_storage_is_a_manual_action_naming_the_claim() -> None:
    t = T.translate([pvc("shared", "efs-sc", modes=("ReadWriteMany",))], source="aws", target="hetzner")
    assert any("shop/shared" in a.message and "ReadWriteMany" in a.message for a in t.manual_actions)
    # where the target has a shared class, it is used (and recorded)
    t = T.translate([pvc("shared", "efs-sc", modes=("ReadWriteMany",))], source="aws", target="rook-ceph")
    assert out(t, "PersistentVolumeClaim", "shared")["spec"]["storageClassName"] == "rook-cephfs"
    assert not t.manual_actions


def test_default_class_claims_keep_their_tier() -> None:
    # aws default gp3 is SSD; ionos default is HDD: the claim gets the SSD class explicitly
    t = T.translate([pvc("x", None)], source="aws", target="ionos")
    assert out(t, "PersistentVolumeClaim", "x")["spec"]["storageClassName"] == "ionos-enterprise-ssd"
    # same tier on both sides: left to the target default
    t = T.translate([pvc("x", None)], source="gke", target="ovh")
    assert "storageClassName" not in out(t, "PersistentVolumeClaim", "x")["spec"]


def test_statefulset_templates_and_storage_class_objects() -> None:
    sts = {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": {"name": "db", "namespace": "shop"},
        "spec": {
            "selector": {"matchLabels": {"app": "db"}},
            "template": {
                "metadata": {"labels": {"app": "db"}},
                "spec": {"containers": [{"name": "db", "image": "postgres"}]},
            },
            "volumeClaimTemplates": [{"metadata": {"name": "data"}, "spec": pvc("x", "gp3", "5Gi")["spec"]}],
        },
    }
    custom = {
        "apiVersion": "storage.k8s.io/v1",
        "kind": "StorageClass",
        "metadata": {"name": "fast", "annotations": {"storageclass.kubernetes.io/is-default-class": "true"}},
        "provisioner": "ebs.csi.aws.com",
        "parameters": {"type": "io2"},
    }
    builtin = {
        "apiVersion": "storage.k8s.io/v1",
        "kind": "StorageClass",
        "metadata": {"name": "gp3"},
        "provisioner": "ebs.csi.aws.com",
    }
    t = T.translate([sts, custom, builtin, pvc("f", "fast")], source="aws", target="longhorn")
    vct = out(t, "StatefulSet", "db")["spec"]["volumeClaimTemplates"][0]["spec"]
    assert vct["storageClassName"] == "longhorn"
    sc = out(t, "StorageClass", "fast")
    assert sc["provisioner"] == "driver.longhorn.io"
    assert sc["parameters"]["numberOfReplicas"] == "3"
    assert sc["volumeBindingMode"] == "Immediate"
    assert "annotations" not in sc["metadata"]
    assert out(t, "PersistentVolumeClaim", "f")["spec"]["storageClassName"] == "fast"
    assert not any(o["metadata"]["name"] == "gp3" for o in t.bundle.objects)


def test_snapshot_classes_and_pvs() -> None:
    vsc = {
        "apiVersion": "snapshot.storage.k8s.io/v1",
        "kind": "VolumeSnapshotClass",
        "metadata": {"name": "my-snaps"},
        "driver": "ebs.csi.aws.com",
        "deletionPolicy": "Retain",
    }
    pv = {
        "apiVersion": "v1",
        "kind": "PersistentVolume",
        "metadata": {"name": "pvc-1"},
        "spec": {"csi": {"driver": "ebs.csi.aws.com", "volumeHandle": "vol-0abc"}},
    }
    t = T.translate([vsc, pv], source="aws", target="scaleway")
    assert out(t, "VolumeSnapshotClass", "my-snaps")["driver"] == "csi.scaleway.com"
    assert len(t.bundle) == 1
    t = T.translate([vsc], source="aws", target="hetzner")
    assert len(t.bundle) == 0
    assert any("no snapshots" in a.message for a in t.manual_actions)


# -- load balancers ----------------------------------------------------------------------------------


AWS_LB = {
    "service.beta.kubernetes.io/aws-load-balancer-scheme": "internal",
    "service.beta.kubernetes.io/aws-load-balancer-proxy-protocol": "*",
    "service.beta.kubernetes.io/aws-load-balancer-healthcheck-path": "/healthz",
    "service.beta.kubernetes.io/aws-load-balancer-healthcheck-interval": "10",
    "service.beta.kubernetes.io/aws-load-balancer-healthcheck-protocol": "HTTP",
    "service.beta.kubernetes.io/aws-load-balancer-ssl-cert": "arn:aws:acm:eu-central-1:1:certificate/x",
    "service.beta.kubernetes.io/aws-load-balancer-eip-allocations": "eipalloc-1",
    "service.beta.kubernetes.io/aws-load-balancer-attributes": "load_balancing.cross_zone.enabled=true",
    "external-dns.alpha.kubernetes.io/hostname": "shop.example.eu",
}


def test_lb_concepts_are_carried_to_hetzner() -> None:
    svc = lb_service(dict(AWS_LB), loadBalancerClass="service.k8s.aws/nlb", loadBalancerSourceRanges=["10.0.0.0/8"])
    t = T.translate([svc], source="aws", target="hetzner")
    anns = out(t, "Service", "web")["metadata"]["annotations"]
    assert anns == {
        "load-balancer.hetzner.cloud/disable-public-network": "true",
        "load-balancer.hetzner.cloud/uses-proxyprotocol": "true",
        "load-balancer.hetzner.cloud/health-check-http-path": "/healthz",
        "load-balancer.hetzner.cloud/health-check-interval": "10s",
        "load-balancer.hetzner.cloud/health-check-protocol": "http",
        "external-dns.alpha.kubernetes.io/hostname": "shop.example.eu",
    }
    spec = out(t, "Service", "web")["spec"]
    assert "loadBalancerClass" not in spec
    assert spec["loadBalancerSourceRanges"] == ["10.0.0.0/8"]
    assert any("do not enforce" in a.message and a.message.startswith("SECURITY") for a in t.manual_actions)
    manual = " ".join(a.message for a in t.manual_actions)
    assert "TLS certificate" in manual and "load-balancer.hetzner.cloud/http-certificates" in manual
    assert "eipalloc-1" in manual
    assert any("aws-load-balancer-attributes" in w.message for w in t.warnings)


def test_ionos_has_no_external_lb() -> None:
    svc = lb_service(
        {"service.beta.kubernetes.io/aws-load-balancer-scheme": "internet-facing"},
        externalTrafficPolicy="Local",
        healthCheckNodePort=31000,
    )
    t = T.translate([svc], source="aws", target="ionos")
    spec = out(t, "Service", "web")["spec"]
    assert spec["externalTrafficPolicy"] == "Cluster"
    assert "healthCheckNodePort" not in spec
    assert "annotations" not in out(t, "Service", "web")["metadata"]
    assert any("Local → Cluster" in w.message for w in t.warnings)
    assert not any("internal" in w.message for w in t.warnings)  # public is every provider's default


def test_controller_written_ids_are_stripped_silently_and_shared_keys_kept() -> None:
    svc = lb_service(
        {
            "loadbalancer.openstack.org/load-balancer-id": "8f1c",
            "service.beta.kubernetes.io/openstack-internal-load-balancer": "true",
        }
    )
    t = T.translate([svc], source="openstack", target="ovh")
    anns = out(t, "Service", "web")["metadata"]["annotations"]
    assert anns == {"service.beta.kubernetes.io/openstack-internal-load-balancer": "true"}
    assert [c.path for c in t.changes] == ["/metadata/annotations/loadbalancer.openstack.org~1load-balancer-id"]


def test_gke_internal_lb_to_metallb_uses_unverified_pool_with_warning() -> None:
    svc = lb_service({"networking.gke.io/load-balancer-type": "Internal"}, loadBalancerIP="10.0.0.5")
    t = T.translate([svc], source="gke", target="rook-ceph+metallb")
    o = out(t, "Service", "web")
    assert o["metadata"]["annotations"] == {"metallb.io/address-pool": "private"}
    assert "loadBalancerIP" not in o["spec"]
    assert any("unverified" in w.message for w in t.warnings)
    assert any("10.0.0.5" in a.message for a in t.manual_actions)


# -- ingress -----------------------------------------------------------------------------------------


def ingress(annotations: dict[str, str], cls: str | None = None, path: str = "/") -> dict[str, Any]:
    spec: dict[str, Any] = {
        "rules": [
            {
                "host": "a.example.eu",
                "http": {
                    "paths": [
                        {
                            "path": path,
                            "pathType": "Prefix",
                            "backend": {"service": {"name": "web", "port": {"number": 80}}},
                        }
                    ]
                },
            }
        ]
    }
    if cls:
        spec["ingressClassName"] = cls
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": {"name": "web", "namespace": "shop", "annotations": annotations},
        "spec": spec,
    }


def test_ingress_class_and_equivalents() -> None:
    ing = ingress(
        {
            "kubernetes.io/ingress.class": "azure/application-gateway",
            "appgw.ingress.kubernetes.io/ssl-redirect": "true",
            "appgw.ingress.kubernetes.io/backend-protocol": "https",
            "appgw.ingress.kubernetes.io/appgw-ssl-certificate": "cert1",
            "cert-manager.io/cluster-issuer": "letsencrypt",
        }
    )
    t = T.translate([ing], source="aks", target="openstack")
    anns = out(t, "Ingress", "web")["metadata"]["annotations"]
    assert anns == {
        "kubernetes.io/ingress.class": "nginx",
        "nginx.ingress.kubernetes.io/ssl-redirect": "true",
        "nginx.ingress.kubernetes.io/backend-protocol": "HTTPS",
        "cert-manager.io/cluster-issuer": "letsencrypt",
    }
    assert any("cert1" in a.message for a in t.manual_actions)


def test_ingress_class_mapping_to_traefik_drops_nginx_equivalents() -> None:
    ing = ingress({"alb.ingress.kubernetes.io/ssl-redirect": "443"}, cls="alb")
    t = T.translate([ing], source="aws", target="ionos", mappings={"ingress_class": "traefik"})
    o = out(t, "Ingress", "web")
    assert o["spec"]["ingressClassName"] == "traefik"
    assert "annotations" not in o["metadata"]
    assert any("no equivalent on ingress class traefik" in w.message for w in t.warnings)


def test_gke_wildcard_paths_become_prefix_paths() -> None:
    ing = ingress({"kubernetes.io/ingress.class": "gce"}, path="/api/*")
    t = T.translate([ing], source="gke", target="ovh")
    p = out(t, "Ingress", "web")["spec"]["rules"][0]["http"]["paths"][0]
    assert p["path"] == "/api/" and p["pathType"] == "Prefix"


# -- identity ----------------------------------------------------------------------------------------


def test_identity_removed_with_a_manual_action_per_service_account() -> None:
    sa = {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": {
            "name": "web",
            "namespace": "shop",
            "annotations": {"eks.amazonaws.com/role-arn": "arn:aws:iam::1:role/web", "team": "a"},
        },
    }
    plain = {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "plain", "namespace": "shop"}}
    t = T.translate([sa, plain], source="aws", target="scaleway")
    assert out(t, "ServiceAccount", "web")["metadata"]["annotations"] == {"team": "a"}
    assert len(t.manual_actions) == 1
    action = t.manual_actions[0]
    assert "ServiceAccount shop/web" in action.message and "arn:aws:iam::1:role/web" in action.message
    assert action.translator == "identity"


def test_azure_pod_label_and_gke_node_selector_removed() -> None:
    d = deployment(
        {"containers": [{"name": "a", "image": "nginx"}]},
        template_meta={"labels": {"app": "web", "azure.workload.identity/use": "true"}},
    )
    t = T.translate([d], source="aks", target="ionos")
    assert out(t, "Deployment", "web")["spec"]["template"]["metadata"]["labels"] == {"app": "web"}
    d = deployment(
        {
            "nodeSelector": {"iam.gke.io/gke-metadata-server-enabled": "true"},
            "containers": [{"name": "a", "image": "nginx"}],
        }
    )
    t = T.translate([d], source="gke", target="ionos")
    assert "nodeSelector" not in out(t, "Deployment", "web")["spec"]["template"]["spec"]


# -- topology ----------------------------------------------------------------------------------------


def test_topology_region_by_city_zones_by_user_mapping() -> None:
    spec = {
        "nodeSelector": {"topology.kubernetes.io/region": "eu-west-3", "kubernetes.io/os": "linux"},
        "affinity": {
            "nodeAffinity": {
                "requiredDuringSchedulingIgnoredDuringExecution": {
                    "nodeSelectorTerms": [
                        {
                            "matchExpressions": [
                                {
                                    "key": "failure-domain.beta.kubernetes.io/zone",
                                    "operator": "In",
                                    "values": ["eu-west-3a", "eu-west-3b"],
                                }
                            ]
                        }
                    ]
                }
            }
        },
        "topologySpreadConstraints": [
            {"maxSkew": 1, "topologyKey": "topology.kubernetes.io/zone", "whenUnsatisfiable": "DoNotSchedule"}
        ],
        "containers": [{"name": "a", "image": "nginx"}],
    }
    t = T.translate(
        [deployment(spec)],
        source="aws",
        target="scaleway",
        mappings={"zones": {"eu-west-3a": "fr-par-1", "eu-west-3b": "fr-par-2"}},
    )
    pod = out(t, "Deployment", "web")["spec"]["template"]["spec"]
    assert pod["nodeSelector"] == {"topology.kubernetes.io/region": "fr-par", "kubernetes.io/os": "linux"}
    expr = pod["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"][0][
        "matchExpressions"
    ][0]
    assert expr == {"key": "topology.kubernetes.io/zone", "operator": "In", "values": ["fr-par-1", "fr-par-2"]}
    assert pod["topologySpreadConstraints"][0]["topologyKey"] == "topology.kubernetes.io/zone"


def test_topology_unmapped_zone_affinity_removed_with_warning() -> None:
    spec = {
        "affinity": {
            "nodeAffinity": {
                "requiredDuringSchedulingIgnoredDuringExecution": {
                    "nodeSelectorTerms": [
                        {
                            "matchExpressions": [
                                {"key": "topology.kubernetes.io/zone", "operator": "In", "values": ["westeurope-1"]}
                            ]
                        }
                    ]
                }
            }
        },
        "tolerations": [{"key": "kubernetes.azure.com/scalesetpriority", "operator": "Exists"}],
        "containers": [{"name": "a", "image": "nginx"}],
    }
    t = T.translate([deployment(spec)], source="aks", target="hetzner")
    pod = out(t, "Deployment", "web")["spec"]["template"]["spec"]
    assert "affinity" not in pod and "tolerations" not in pod
    assert any("westeurope-1" in w.message for w in t.warnings)


# -- images, provider objects, policies ---------------------------------------------------------------


def test_images_prefix_mapping_warning_and_pull_secrets() -> None:
    spec = {
        "initContainers": [{"name": "init", "image": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/tools/init:1"}],
        "containers": [
            {"name": "a", "image": "123456789012.dkr.ecr.eu-central-1.amazonaws.com/shop/web:1"},
            {"name": "b", "image": "nginx:1.27"},
        ],
    }
    maps = {
        "images": {"123456789012.dkr.ecr.eu-central-1.amazonaws.com/": "rg.fr-par.scw.cloud/shop/"},
        "image_pull_secrets": ["scw-registry"],
    }
    t = T.translate([deployment(spec)], source="aws", target="scaleway", mappings=maps)
    pod = out(t, "Deployment", "web")["spec"]["template"]["spec"]
    assert pod["containers"][0]["image"] == "rg.fr-par.scw.cloud/shop/shop/web:1"
    assert pod["containers"][1]["image"] == "nginx:1.27"
    assert pod["initContainers"][0]["image"].startswith("123456789012.dkr.ecr.eu-west-1")
    assert pod["imagePullSecrets"] == [{"name": "scw-registry"}]
    assert [w.message for w in t.warnings if "ECR" in w.message and "eu-west-1" in w.message]


def test_provider_only_kinds_and_labels_dropped() -> None:
    ns = {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": "shop", "labels": {"elbv2.k8s.aws/pod-readiness-gate-inject": "enabled", "team": "x"}},
    }
    tgb = {
        "apiVersion": "elbv2.k8s.aws/v1beta1",
        "kind": "TargetGroupBinding",
        "metadata": {"name": "tg", "namespace": "shop"},
        "spec": {},
    }
    spc_aws = {
        "apiVersion": "secrets-store.csi.x-k8s.io/v1",
        "kind": "SecretProviderClass",
        "metadata": {"name": "a", "namespace": "shop"},
        "spec": {"provider": "aws"},
    }
    spc_vault = {
        "apiVersion": "secrets-store.csi.x-k8s.io/v1",
        "kind": "SecretProviderClass",
        "metadata": {"name": "v", "namespace": "shop"},
        "spec": {"provider": "vault"},
    }
    t = T.translate([ns, tgb, spc_aws, spc_vault], source="aws", target="ionos")
    assert sorted(o["metadata"]["name"] for o in t.bundle.objects) == ["shop", "v"]
    assert out(t, "Namespace", "shop")["metadata"]["labels"] == {"team": "x"}
    assert {c.ref.name for c in t.dropped} == {"tg", "a"}
    assert any("Secrets Manager" in a.message for a in t.manual_actions)


def test_psp_becomes_pod_security_admission_labels() -> None:
    psp = {
        "apiVersion": "policy/v1beta1",
        "kind": "PodSecurityPolicy",
        "metadata": {"name": "priv"},
        "spec": {"privileged": True},
    }
    role = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "Role",
        "metadata": {"name": "use-priv", "namespace": "ops"},
        "rules": [
            {"apiGroups": ["policy"], "resources": ["podsecuritypolicies"], "verbs": ["use"], "resourceNames": ["priv"]}
        ],
    }
    rb = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "RoleBinding",
        "metadata": {"name": "b", "namespace": "ops"},
        "roleRef": {"kind": "Role", "name": "use-priv", "apiGroup": "rbac.authorization.k8s.io"},
        "subjects": [{"kind": "ServiceAccount", "name": "agent", "namespace": "ops"}],
    }
    ns = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "ops"}}
    np = {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": "deny", "namespace": "ops"},
        "spec": {"podSelector": {}},
    }
    t = T.translate([psp, role, rb, ns, np], source="aws", target="ionos")
    assert out(t, "Namespace", "ops")["metadata"]["labels"] == {"pod-security.kubernetes.io/enforce": "privileged"}
    assert out(t, "NetworkPolicy", "deny") == np
    assert not any(o["kind"] == "PodSecurityPolicy" for o in t.bundle.objects)
    t = T.translate([psp, role, rb], source="aws", target="ionos")
    assert any("label namespace ops" in a.message for a in t.manual_actions)
    assert T.translate([psp], source="aws", target="ionos").bundle.objects == []


def test_psp_levels() -> None:
    from portkit.translate.policies import psp_level

    assert psp_level({"privileged": True}) == "privileged"
    assert psp_level({"volumes": ["hostPath"]}) == "privileged"
    assert psp_level({"runAsUser": {"rule": "RunAsAny"}}) == "baseline"
    assert (
        psp_level(
            {
                "runAsUser": {"rule": "MustRunAsNonRoot"},
                "requiredDropCapabilities": ["ALL"],
                "allowPrivilegeEscalation": False,
            }
        )
        == "restricted"
    )


# -- openshift ---------------------------------------------------------------------------------------


def test_route_to_ingress_resolves_the_service_port_and_keeps_tls_secret_out_of_reports() -> None:
    svc = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "fe", "namespace": "shop"},
        "spec": {"ports": [{"name": "web", "port": 80, "targetPort": 8080}]},
    }
    route = {
        "apiVersion": "route.openshift.io/v1",
        "kind": "Route",
        "metadata": {"name": "fe", "namespace": "shop"},
        "spec": {
            "host": "fe.example.eu",
            "to": {"kind": "Service", "name": "fe"},
            "port": {"targetPort": 8080},
            "tls": {"termination": "edge", "certificate": "CERT", "key": "PRIVATE-KEY-MATERIAL"},
        },
    }
    t = T.translate([svc, route], source="openshift", target="ionos")
    ing = out(t, "Ingress", "fe")
    backend = ing["spec"]["rules"][0]["http"]["paths"][0]["backend"]
    assert backend == {"service": {"name": "fe", "port": {"name": "web"}}}
    assert ing["spec"]["tls"] == [{"hosts": ["fe.example.eu"], "secretName": "fe-route-tls"}]
    assert ing["spec"]["ingressClassName"] == "nginx"
    assert out(t, "Secret", "fe-route-tls")["type"] == "kubernetes.io/tls"
    report = json.dumps(t.to_dict()) + t.to_text() + t._repr_html_()
    assert "PRIVATE-KEY-MATERIAL" not in report
    assert "UFJJVkFURS1LRVktTUFURVJJQUw" not in report  # nor its base64


def test_deployment_config_to_deployment() -> None:
    dc = {
        "apiVersion": "apps.openshift.io/v1",
        "kind": "DeploymentConfig",
        "metadata": {"name": "fe", "namespace": "shop"},
        "spec": {
            "replicas": 3,
            "selector": {"app": "fe"},
            "strategy": {"type": "Recreate"},
            "triggers": [
                {"type": "ImageChange", "imageChangeParams": {"containerNames": ["fe"], "from": {"name": "fe:latest"}}}
            ],
            "template": {
                "metadata": {"labels": {"app": "fe"}},
                "spec": {"containers": [{"name": "fe", "image": "quay.io/acme/fe:1"}]},
            },
        },
    }
    t = T.translate([dc], source="openshift", target="scaleway")
    d = out(t, "Deployment", "fe")
    assert d["apiVersion"] == "apps/v1"
    assert d["spec"]["selector"] == {"matchLabels": {"app": "fe"}}
    assert d["spec"]["strategy"] == {"type": "Recreate"}
    assert d["spec"]["replicas"] == 3
    assert any("ImageChange" in w.message for w in t.warnings)
    assert [c.op for c in t.changes if c.ref.kind == "DeploymentConfig"] == ["replace"]


# -- report, secrets, registry -----------------------------------------------------------------------


def test_report_renders_in_three_forms() -> None:
    t = T.translate([pvc("a", "gp3", "1Gi"), lb_service(dict(AWS_LB))], source="aws", target="hetzner")
    text = t.to_text()
    assert "MANUAL ACTIONS" in text and "WARNINGS" in text and " spec.storageClassName " in text
    assert '.annotations["service.beta.kubernetes.io/aws-load-balancer-' in text  # readable, not a~1b
    assert "~1" not in text and "/spec/storageClassName" in json.dumps(t.to_dict())  # JSON keeps pointers
    html = t._repr_html_()
    assert "<table>" in html and "Manual actions" in html
    d = t.to_dict()
    json.dumps(d)
    assert d["summary"]["changes"] == len(t.changes)
    assert d["needs_attention"] is True
    assert repr(t).startswith("<Translation aws→hetzner:")


def test_secret_values_never_reach_changes() -> None:
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "s", "namespace": "shop"},
        "stringData": {"password": "hunter2"},
    }
    rules = {
        "version": "v1",
        "resourceModifierRules": [
            {
                "conditions": {"groupResource": "secrets"},
                "patches": [{"operation": "replace", "path": "/stringData/password", "value": "newpass"}],
            }
        ],
    }
    t = T.translate([secret], source="aws", target="ionos", rules=rules)
    assert out(t, "Secret", "s")["stringData"]["password"] == "newpass"
    dump = json.dumps(t.to_dict()) + t.to_text() + repr(t.changes)
    assert "hunter2" not in dump and "newpass" not in dump
    assert t.changes[0].old == "<redacted>"


def test_register_translator_adds_to_the_chain() -> None:
    class Stamp(T.BaseTranslator):
        name = "stamp"
        order = 95
        kinds = frozenset({"ConfigMap"})

        def translate(self, item: T.Item, ctx: T.Context) -> None:
            item.set(("metadata", "labels", "moved-by"), "portkit", "test stamp")

    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "shop"}}
    T.register_translator(Stamp)
    try:
        assert "stamp" in [t.name for t in T.translators()]
        t = T.translate([cm, pvc("a")], source="aws", target="ionos")
        assert out(t, "ConfigMap", "c")["metadata"]["labels"] == {"moved-by": "portkit"}
        assert "labels" not in out(t, "PersistentVolumeClaim", "a")["metadata"]
        assert any(c.translator == "stamp" for c in t.changes)
    finally:
        T.unregister_translator("stamp")
    assert "stamp" not in [t.name for t in T.translators()]
    with pytest.raises(TranslationError, match="not a translator"):
        T.register_translator(object())


def test_a_failing_translator_is_named() -> None:
    class Broken(T.BaseTranslator):
        name = "broken"
        order = 1

        def translate(self, item: T.Item, ctx: T.Context) -> None:
            raise RuntimeError("boom")

    T.register_translator(Broken())
    try:
        with pytest.raises(TranslationError, match="translator 'broken' failed on PersistentVolumeClaim shop/a"):
            T.translate([pvc("a")], source="aws", target="ionos")
    finally:
        T.unregister_translator("broken")


def test_parse_map_flags() -> None:
    m = T.parse_map_flags(
        [
            "images:registry.local:5000/a=reg.eu/a",
            "storageclass:gp3=fast",
            "zone:eu-central-1a=ZONE_1",
            "ingressclass:traefik",
            "pullsecret:regcred",
        ]
    )
    assert m == {
        "images": {"registry.local:5000/a": "reg.eu/a"},
        "storage_classes": {"gp3": "fast"},
        "zones": {"eu-central-1a": "ZONE_1"},
        "ingress_class": "traefik",
        "image_pull_secrets": ["regcred"],
    }
    for bad in ["nothing", "colour:a=b", "storageclass:gp3", "ingressclass:a=b"]:
        with pytest.raises(TranslationError):
            T.parse_map_flags([bad])


def test_objects_that_change_kind_go_through_the_rest_of_the_chain_as_the_new_kind() -> None:
    seen: list[str] = []

    class Watch(T.BaseTranslator):
        name = "watch"
        order = 95
        kinds = frozenset({"Ingress", "Deployment"})

        def translate(self, item: T.Item, ctx: T.Context) -> None:
            seen.append(f"{item.kind}/{item.name}")

    route = {
        "apiVersion": "route.openshift.io/v1",
        "kind": "Route",
        "metadata": {"name": "r", "namespace": "shop"},
        "spec": {"host": "r.example.eu", "to": {"kind": "Service", "name": "s"}, "port": {"targetPort": 8080}},
    }
    dc = {
        "apiVersion": "apps.openshift.io/v1",
        "kind": "DeploymentConfig",
        "metadata": {"name": "d", "namespace": "shop"},
        "spec": {
            "selector": {"app": "d"},
            "template": {"metadata": {"labels": {"app": "d"}}, "spec": {"containers": []}},
        },
    }
    T.register_translator(Watch())
    try:
        T.translate([route, dc], source="openshift", target="ionos")
    finally:
        T.unregister_translator("watch")
    assert sorted(seen) == ["Deployment/d", "Ingress/r"]


def test_lint_residue_and_source_detection() -> None:
    from pathlib import Path

    from portkit.bundle import Bundle as B

    apps = Path(__file__).parent / "golden" / "apps"
    aws = B.from_manifests(apps / "aws-shop.yaml")
    assert T.detect_source(aws.objects) == "aws"
    assert T.detect_source(B.from_manifests(apps / "gke-shop.yaml").objects) == "gke"
    assert T.detect_source([pvc("plain", None)]) is None
    t = T.translate(aws, source="aws", target="ionos")
    residue = T.lint_residue(t, "aws", "ionos")
    assert residue and all("dkr.ecr" in r for r in residue)
    ecr = "123456789012.dkr.ecr.eu-central-1.amazonaws.com/"
    maps = {"images": {ecr: "reg.example.eu/"}}
    t = T.translate(aws, source="aws", target="ionos", mappings=maps)
    assert T.lint_residue(t, "aws", "ionos", maps) == []
    # the untranslated input is full of residue
    assert len(T.lint_residue(aws.objects, "aws", "ionos")) > 10


def test_containers_that_need_the_source_providers_services_are_reported() -> None:
    spec = {
        "containers": [
            {"name": "app", "image": "nginx"},
            {"name": "sql", "image": "gcr.io/cloud-sql-connectors/cloud-sql-proxy:2.11.0"},
        ]
    }
    t = T.translate([deployment(spec)], source="gke", target="scaleway")
    assert [w.message for w in t.warnings if "Cloud SQL" in w.message and "container sql" in w.message]
    t = T.translate([deployment(spec)], source="gke", target="gke")
    assert not [w for w in t.warnings if "Cloud SQL" in w.message]


def test_translators_from_entry_points(monkeypatch: pytest.MonkeyPatch) -> None:
    registry = importlib.import_module("portkit.translate.registry")

    class Plugin(T.BaseTranslator):
        name = "from-plugin"
        order = 85

        def translate(self, item: T.Item, ctx: T.Context) -> None:
            item.set(("metadata", "annotations", "plugin"), "seen", "plugin translator")

    class EP:
        name = "from-plugin"
        value = "acme.portkit:Plugin"

        def load(self) -> type:
            return Plugin

    seen_groups: list[str] = []

    def fake_entry_points(*, group: str) -> list[EP]:
        seen_groups.append(group)
        return [EP()]

    monkeypatch.setattr(registry, "entry_points", fake_entry_points)
    monkeypatch.setattr(registry, "_PLUGINS", None)
    chain = [t.name for t in T.translators()]
    assert seen_groups == ["portkit.translators"]
    assert chain.index("from-plugin") == chain.index("images") + 1
    t = T.translate([pvc("a")], source="aws", target="ionos")
    assert out(t, "PersistentVolumeClaim", "a")["metadata"]["annotations"] == {"plugin": "seen"}
    monkeypatch.setattr(registry, "_PLUGINS", None)


def test_crd_of_a_provider_only_kind_is_dropped_with_its_objects() -> None:
    crd = {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "targetgroupbindings.elbv2.k8s.aws"},
        "spec": {
            "group": "elbv2.k8s.aws",
            "scope": "Namespaced",
            "names": {"kind": "TargetGroupBinding", "plural": "targetgroupbindings"},
            "versions": [{"name": "v1beta1", "served": True, "storage": True}],
        },
    }
    own = {
        **crd,
        "metadata": {"name": "promotions.shop.example.com"},
        "spec": {**crd["spec"], "group": "shop.example.com", "names": {"kind": "Promotion", "plural": "promotions"}},
    }
    t = T.translate([crd, own], source="aws", target="ionos")
    names = [o["metadata"]["name"] for o in t.bundle]
    assert names == ["promotions.shop.example.com"]
    assert any("TargetGroupBinding.elbv2.k8s.aws" in str(w) for w in t.warnings)
    assert any(c.ref.name == "targetgroupbindings.elbv2.k8s.aws" for c in t.changes)
