"""IBM Cloud Kubernetes Service (``ibm``) and Oracle OKE (``oci``) profiles: their facts, their load-balancer
spellings in both directions, identity, residue and detection, and the ``plusserver`` alias."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import pytest

from portkit import profiles
from portkit.bundle import Bundle
from portkit.errors import UnknownProviderError
from portkit.translate.portable import provider_driver, provider_items, provider_key, provider_registry, target_owns

# the module, not the function `portkit.translate` that the package exports
T = importlib.import_module("portkit.translate")

APPS = Path(__file__).parent / "golden" / "apps"
IBM = "service.kubernetes.io/ibm-load-balancer-cloud-provider-"
OCI = "service.beta.kubernetes.io/oci-load-balancer-"
NLB = "oci-network-load-balancer.oraclecloud.com/"


def _service(annotations: dict[str, str], **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "web", "namespace": "shop", "annotations": dict(annotations)},
        "spec": {"type": "LoadBalancer", "selector": {"app": "web"}, "ports": [{"port": 80}], **spec},
    }


def _one(source: str, target: str, obj: dict[str, Any]) -> tuple[dict[str, Any], list[str], list[str]]:
    t = T.translate([obj], source=source, target=target)
    return t.bundle.objects[0], [str(w) for w in t.warnings], [str(m) for m in t.manual_actions]


# -- profile facts -------------------------------------------------------------------------------------------


def test_ibm_storage_facts() -> None:
    storage = profiles.load("ibm").storage
    assert storage is not None
    default = storage.default()
    assert default is not None and default.name == "ibmc-vpc-block-10iops-tier"
    assert default.provisioner == "vpc.block.csi.ibm.io" and default.binding_mode == "Immediate"
    assert default.min_size_gi == 10
    metro = storage.get_class("ibmc-vpc-block-metro-10iops-tier")
    assert metro is not None and metro.binding_mode == "WaitForFirstConsumer"
    retain = storage.get_class("ibmc-vpc-block-retain-5iops-tier")
    assert retain is not None and retain.reclaim_policy == "Retain"
    bronze = storage.get_class("ibmc-file-bronze")
    assert bronze is not None and bronze.legacy and "ReadWriteMany" in bronze.access_modes and bronze.min_size_gi == 20
    # a shared (RWX) claim lands on VPC File Storage, never on a legacy classic class
    shared = storage.for_tier("shared", "ReadWriteMany")
    assert shared is not None and shared.provisioner == "vpc.file.csi.ibm.io"
    assert storage.tier_of("vpc.block.csi.ibm.io", {"profile": "10iops-tier"}) == "fast-ssd"
    assert storage.tier_of("vpc.block.csi.ibm.io", {"profile": "general-purpose"}) == "ssd"
    assert storage.snapshot_class() is not None and storage.snapshot_class().name == "ibmc-vpcblock-snapshot"  # type: ignore[union-attr]


def test_oci_storage_facts() -> None:
    storage = profiles.load("oci").storage
    assert storage is not None
    default = storage.default()
    assert default is not None and default.name == "oci-bv" and default.binding_mode == "WaitForFirstConsumer"
    assert default.min_size_gi == 50  # OKE rounds smaller requests up to 50 GB
    flex = storage.get_class("oci")
    assert flex is not None and flex.legacy and flex.provisioner == "oracle.com/oci"
    assert storage.tier_of("blockvolume.csi.oraclecloud.com", {"vpusPerGB": "20"}) == "fast-ssd"
    assert storage.tier_of("blockvolume.csi.oraclecloud.com", {"vpusPerGB": "0"}) == "hdd"
    assert storage.snapshot_classes == ()  # OKE ships none


def test_topology_values_do_not_collide_with_aws() -> None:
    oci = profiles.load("oci").topology
    ibm = profiles.load("ibm").topology
    aws = profiles.load("aws").topology
    assert oci is not None and ibm is not None and aws is not None
    assert oci.is_region("eu-frankfurt-1") and oci.is_region("iad") and not oci.is_region("eu-central-1")
    assert not aws.is_region("eu-frankfurt-1")
    assert oci.is_zone("EU-FRANKFURT-1-AD-2") and oci.is_zone("PHX-AD-1") and oci.is_zone("US-ASHBURN-AD-3")
    assert ibm.is_zone("eu-de-2") and ibm.is_zone("fra02") and ibm.is_region("eu-de")
    assert (
        ibm.is_instance_type("bx2.4x16") and ibm.is_instance_type("b3c.4x16") and not ibm.is_instance_type("m5.large")
    )
    assert oci.is_instance_type("VM.Standard.E4.Flex") and not aws.is_instance_type("VM.Standard.E4.Flex")
    assert oci.region_in_city(aws.regions["eu-central-1"]) == "eu-frankfurt-1"
    assert ibm.region_in_city(aws.regions["eu-central-1"]) == "eu-de"


def test_registries() -> None:
    ibm = profiles.load("ibm")
    oci = profiles.load("oci")
    assert any(r.matches("de.icr.io/acme/app:1") and r.private for r in ibm.registries)
    assert any(r.matches("private.us.icr.io/acme/app:1") for r in ibm.registries)
    assert any(r.matches("icr.io/ext/logdna-agent:3") and not r.private for r in ibm.registries)
    assert any(r.matches("fra.ocir.io/tenancy/app:1") for r in oci.registries)
    assert any(r.matches("ocir.eu-frankfurt-1.oci.oraclecloud.com/tenancy/app:1") for r in oci.registries)
    assert not any(r.matches("quay.io/ocir.io/x:1") for r in oci.registries)


# -- load balancers ------------------------------------------------------------------------------------------


def test_ibm_load_balancer_annotations_become_the_targets() -> None:
    svc = _service(
        {
            f"{IBM}ip-type": "private",
            f"{IBM}enable-features": "proxy-protocol",
            f"{IBM}vpc-health-check-protocol": "http",
            f"{IBM}vpc-health-check-path": "/healthz",
            f"{IBM}vpc-health-check-delay": "10",
            f"{IBM}vpc-health-check-timeout": "4",
        }
    )
    out, _, _ = _one("ibm", "oci", svc)
    assert out["metadata"]["annotations"] == {
        f"{OCI}internal": "true",
        f"{OCI}connection-proxy-protocol-version": "2",
        f"{OCI}health-check-interval": "10000",  # OCI counts milliseconds
        f"{OCI}health-check-timeout": "4000",
    }
    out, _, _ = _one("ibm", "aws", svc)
    anns = out["metadata"]["annotations"]
    assert anns["service.beta.kubernetes.io/aws-load-balancer-scheme"] == "internal"
    assert anns["service.beta.kubernetes.io/aws-load-balancer-healthcheck-path"] == "/healthz"
    assert anns["service.beta.kubernetes.io/aws-load-balancer-healthcheck-protocol"] == "HTTP"
    assert not any(k.startswith(IBM) for k in anns)


def test_other_providers_load_balancers_become_ibms() -> None:
    svc = _service(
        {
            "service.beta.kubernetes.io/aws-load-balancer-scheme": "internal",
            "service.beta.kubernetes.io/aws-load-balancer-proxy-protocol": "*",
            "service.beta.kubernetes.io/aws-load-balancer-healthcheck-interval": "15",
            "service.beta.kubernetes.io/aws-load-balancer-healthcheck-port": "8081",
        }
    )
    out, _, _ = _one("aws", "ibm", svc)
    assert out["metadata"]["annotations"] == {
        f"{IBM}ip-type": "private",
        f"{IBM}enable-features": "proxy-protocol",
        f"{IBM}vpc-health-check-delay": "15",
        f"{IBM}vpc-health-check-port": "8081",
    }


def test_ibm_enable_features_is_a_list_not_a_flag() -> None:
    """``enable-features: nlb`` asks for a network load balancer; it does not enable PROXY protocol."""
    out, warnings, _ = _one("ibm", "scaleway", _service({f"{IBM}enable-features": "nlb"}))
    assert "service.beta.kubernetes.io/scw-loadbalancer-proxy-protocol-v2" not in out["metadata"].get("annotations", {})
    assert any(f"{IBM}enable-features" in w and "dropped" in w for w in warnings)
    out, warnings, _ = _one("ibm", "scaleway", _service({f"{IBM}enable-features": "nlb, proxy-protocol"}))
    assert out["metadata"]["annotations"]["service.beta.kubernetes.io/scw-loadbalancer-proxy-protocol-v2"] == "*"
    assert any("nlb dropped" in w for w in warnings)


def test_oci_network_load_balancer_annotations_are_read() -> None:
    svc = _service(
        {
            "oci.oraclecloud.com/load-balancer-type": "nlb",
            f"{NLB}internal": "true",
            f"{NLB}is-ppv2-enabled": "true",
            f"{NLB}health-check-interval": "30000",
            f"{NLB}assigned-private-ipv4": "10.0.20.50",
        }
    )
    out, _, manual = _one("oci", "hetzner", svc)
    anns = out["metadata"]["annotations"]
    assert anns["load-balancer.hetzner.cloud/disable-public-network"] == "true"
    assert anns["load-balancer.hetzner.cloud/uses-proxyprotocol"] == "true"
    assert anns["load-balancer.hetzner.cloud/health-check-interval"] == "30s"
    assert not any(k.startswith(("oci.", "oci-network")) for k in anns)
    assert any("10.0.20.50" in m and "fixed IP" in m for m in manual)


def test_oci_load_balancers_serve_tcp_only() -> None:
    svc = _service({}, ports=[{"name": "dns", "port": 53, "protocol": "UDP"}])
    _, _, manual = _one("aws", "oci", svc)
    assert any("dns (53/UDP)" in m and "oci" in m for m in manual)


def test_ibm_source_ranges_are_not_trusted() -> None:
    svc = _service({}, loadBalancerSourceRanges=["203.0.113.0/24"])
    _, _, manual = _one("aws", "ibm", svc)
    assert any(m.startswith("Service shop/web: SECURITY: spec.loadBalancerSourceRanges") for m in manual)
    _, _, manual = _one("aws", "oci", svc)
    assert not any("loadBalancerSourceRanges" in m for m in manual)


def test_internal_ibm_load_balancer_to_a_target_without_one_is_a_security_action() -> None:
    _, _, manual = _one("ibm", "ionos", _service({f"{IBM}ip-type": "private"}))
    assert any(m.startswith("Service shop/web: SECURITY: internal-only load balancer") for m in manual)


def test_profile_formats_are_validated() -> None:
    raw = {
        "name": "x",
        "display_name": "X",
        "category": "platform",
        "roles": ["target"],
        "load_balancer": {"concepts": {"health_check_path": {"annotation": "x/y", "format": "list"}}},
    }
    with pytest.raises(Exception, match="only for yes/no concepts"):
        profiles.parse_profile(raw, "x.yaml")


# -- ingress, identity, provider-only kinds -----------------------------------------------------------------


def test_ibm_ingress_classes_and_bluemix_annotations() -> None:
    ing = {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": {
            "name": "a",
            "namespace": "shop",
            "annotations": {"ingress.bluemix.net/redirect-to-https": "True"},
        },
        "spec": {"ingressClassName": "private-iks-k8s-nginx", "rules": []},
    }
    out, _, manual = _one("ibm", "hetzner", ing)
    assert out["spec"]["ingressClassName"] == "nginx"
    assert out["metadata"]["annotations"] == {"nginx.ingress.kubernetes.io/ssl-redirect": "true"}
    assert any("SECURITY" in m and "private-iks-k8s-nginx" in m for m in manual)
    # to IBM: the IKS public ALB class is the default, nginx annotations are kept
    ing2 = {**ing, "metadata": {"name": "b", "namespace": "shop"}, "spec": {"ingressClassName": "alb", "rules": []}}
    out, _, _ = _one("aws", "ibm", ing2)
    assert out["spec"]["ingressClassName"] == "public-iks-k8s-nginx"


def test_ibm_trusted_profile_token_is_a_manual_action() -> None:
    def pod(audience: str) -> dict[str, Any]:
        return {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": f"p-{audience}", "namespace": "shop"},
            "spec": {
                "serviceAccountName": "catalog",
                "containers": [{"name": "c", "image": "nginx"}],
                "volumes": [
                    {
                        "name": "tok",
                        "projected": {"sources": [{"serviceAccountToken": {"path": "t", "audience": audience}}]},
                    }
                ],
            },
        }

    out, _, manual = _one("ibm", "ionos", pod("iam"))
    assert any("audience 'iam'" in m and "shop/catalog" in m for m in manual)
    assert out["spec"]["volumes"][0]["name"] == "tok"  # kept: harmless, the code that uses it needs a person
    _, _, manual = _one("ibm", "ionos", pod("vault"))
    assert manual == []
    _, _, manual = _one("aws", "ionos", pod("iam"))
    assert manual == []  # only IBM's identity service exchanges "iam" tokens


def test_provider_only_kinds() -> None:
    t = T.translate(Bundle.from_manifests(APPS / "oci-shop.yaml"), source="oci", target="ionos")
    kinds = {o["kind"] for o in t.bundle.objects}
    assert {"IngressClassParameters", "Stream", "SecretProviderClass", "IngressClass"}.isdisjoint(kinds)
    t = T.translate(Bundle.from_manifests(APPS / "ibm-shop.yaml"), source="ibm", target="ionos")
    assert "Binding" not in {o["kind"] for o in t.bundle.objects}


# -- default-deny scan, residue, detection -----------------------------------------------------------------


def test_default_deny_scan_knows_ibm_and_oci_and_the_profiles_resolve_it() -> None:
    assert provider_registry("de.icr.io/acme/app:1") == "de.icr.io"
    assert provider_registry("icr.io/ext/logdna-agent:3") == "icr.io"
    assert provider_registry("fra.ocir.io/t/app:1") == "fra.ocir.io"
    assert provider_registry("registry.eu-de.bluemix.net/acme/app:1") == "registry.eu-de.bluemix.net"
    keys = [f"{IBM}ip-type", "ibm-cloud.kubernetes.io/worker-pool-name", f"{OCI}internal", f"{NLB}internal"]
    keys += ["oke.oraclecloud.com/pool.name", "oci.oraclecloud.com/fault-domain", "ingress.bluemix.net/ALB-ID"]
    for key in keys:
        assert provider_key(key), key
    for driver in ("vpc.block.csi.ibm.io", "ibm.io/ibmc-file", "oracle.com/oci", "blockvolume.csi.oraclecloud.com"):
        assert provider_driver(driver), driver
    assert not provider_driver("kubernetes.io/no-provisioner")
    ibm, oci = profiles.load("ibm"), profiles.load("oci")
    assert target_owns(ibm, "annotation", f"{IBM}ip-type")
    assert target_owns(ibm, "node label", "ibm-cloud.kubernetes.io/worker-pool-name")
    assert target_owns(ibm, "CSI driver", "ibm.io/ibmc-file")
    assert target_owns(oci, "annotation", f"{NLB}internal")
    assert target_owns(oci, "annotation", "oci.oraclecloud.com/load-balancer-type")
    assert target_owns(oci, "ingress controller", "oci.oraclecloud.com/native-ingress-controller")
    assert target_owns(oci, "zone/region/instance-type value", "EU-FRANKFURT-1-AD-1")
    assert not target_owns(oci, "annotation", f"{IBM}ip-type")
    items = provider_items(_service({f"{IBM}ip-type": "private"}))
    assert ("annotation", f"{IBM}ip-type") in items


@pytest.mark.parametrize(("app", "provider"), [("ibm-shop", "ibm"), ("oci-shop", "oci")])
def test_source_detection_weighs_the_evidence(app: str, provider: str) -> None:
    objs = Bundle.from_manifests(APPS / f"{app}.yaml").objects
    found, evidence = T.detect_source_evidence(objs)
    assert found == provider
    assert any("weight 3" in e for e in evidence), evidence


def test_an_image_on_the_global_ibm_registry_alone_is_no_evidence() -> None:
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "p", "namespace": "x"},
        "spec": {"containers": [{"name": "c", "image": "icr.io/cpopen/ibm-common-service-operator:4.6.0"}]},
    }
    assert T.detect_source([pod]) is None
    pod["spec"]["containers"][0]["image"] = "de.icr.io/acme/app:1"  # a private regional namespace is evidence
    assert T.detect_source([pod]) == "ibm"


def test_residue_of_ibm_and_oci_is_found_and_removed() -> None:
    for app, source, target in (("ibm-shop", "ibm", "hetzner"), ("oci-shop", "oci", "hetzner")):
        bundle = Bundle.from_manifests(APPS / f"{app}.yaml")
        prof = profiles.load(source)
        assert T.find_residue(bundle.objects, prof)
        t = T.translate(bundle, source=source, target=target)
        left = T.find_residue(t.bundle.objects, prof, exclude=profiles.load(target))
        assert all(": image " in r for r in left), left  # only the images a person has to push and map


# -- plusserver ----------------------------------------------------------------------------------------------


def test_plusserver_is_another_name_for_openstack() -> None:
    assert profiles.load("plusserver") is profiles.load("openstack")
    assert profiles.load("PSKE") is profiles.load("openstack")
    assert profiles.aliases() == {"plusserver": "openstack", "pske": "openstack"}
    assert "plusserver" not in profiles.names()  # one profile, one row in `portkit providers`
    t = T.translate([_service({})], source="aws", target="plusserver")
    assert t.target == "openstack"
    with pytest.raises(UnknownProviderError) as err:
        profiles.load("plusserverr")
    assert "plusserver (openstack)" in str(err.value.hint)


def test_ibm_logging_agent_is_reported() -> None:
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "p", "namespace": "shop"},
        "spec": {"containers": [{"name": "logdna", "image": "icr.io/ext/logdna-agent:3.9.1"}]},
    }
    _, warnings, _ = _one("ibm", "ovh", pod)
    assert any("IBM Log Analysis" in w for w in warnings)
    assert any("icr.io/ext/logdna-agent:3.9.1 is on IBM Cloud Container Registry" in w for w in warnings)


def test_images_on_ibm_and_oci_registries_are_reported_from_any_source() -> None:
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "p", "namespace": "shop"},
        "spec": {
            "containers": [
                {"name": "a", "image": "de.icr.io/acme/app:1"},
                {"name": "b", "image": "fra.ocir.io/frabc1defg2h/shop/orders:2.7.0"},
            ]
        },
    }
    _, warnings, _ = _one("aws", "ionos", pod)
    assert any("de.icr.io/acme/app:1 is on IBM Cloud Container Registry" in w for w in warnings)
    assert any("fra.ocir.io/frabc1defg2h/shop/orders:2.7.0 is on OCI Container Registry" in w for w in warnings)


def test_a_list_annotation_the_target_already_has_gets_the_item_added() -> None:
    """An AWS Service that already asks IBM for a network load balancer keeps it when PROXY protocol is added."""
    svc = _service(
        {
            "service.beta.kubernetes.io/aws-load-balancer-proxy-protocol": "*",
            f"{IBM}enable-features": "nlb",
        }
    )
    out, _, _ = _one("aws", "ibm", svc)
    assert out["metadata"]["annotations"] == {f"{IBM}enable-features": "nlb,proxy-protocol"}
    again = T.translate([out], source="aws", target="ibm")
    assert again.changes == ()
