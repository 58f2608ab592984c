"""Issue 13: every defect class found on real manifests, each tested on a real corpus file where one exists.

Corpus files: ``tests/corpus`` (sources in ``tests/corpus/SOURCES.md``). A few classes have no public file
with the pattern in the corpus; those use a small hand-written manifest and say so.
"""

from __future__ import annotations

import importlib
import json
from pathlib import Path
from typing import Any

import pytest

from portkit.bundle import Bundle
from portkit.cli import main
from portkit.errors import TranslationError

T = importlib.import_module("portkit.translate")
CORPUS = Path(__file__).resolve().parents[1] / "corpus"


def corpus(*names: str) -> Bundle:
    return Bundle.from_manifests([CORPUS / n for n in names], namespace="corpus")


def manual(t: Any) -> str:
    return "\n".join(a.message for a in t.manual_actions)


def warnings(t: Any) -> str:
    return "\n".join(w.message for w in t.warnings)


def kinds(t: Any) -> set[str]:
    return {o["kind"] for o in t.bundle.objects}


def only(t: Any, kind: str) -> dict[str, Any]:
    found = [o for o in t.bundle.objects if o["kind"] == kind]
    assert len(found) == 1, [o["kind"] for o in t.bundle.objects]
    return found[0]


# -- 1, 2: provider-only API groups are resolved by the profiles, and found by default-deny when they are not --


@pytest.mark.parametrize(
    ("files", "source", "gone", "quoted"),
    [
        (["eks/workshop-karpenter-nodepool.yaml", "eks/workshop-karpenter-ec2nodeclass.yaml"], "aws",
         {"NodePool", "EC2NodeClass"}, "Karpenter node pools"),
        (["eks/workshop-ack-dynamodb-table.yaml"], "aws", {"Table"}, "AWS Controllers for Kubernetes"),
        (["eks/workshop-eniconfigs.yaml"], "aws", {"ENIConfig"}, ""),
        (["aks/kaito-workspace-deepseek-r1.yaml"], "aks", {"Workspace"}, "KAITO workspace"),
        (["aks/azure-monitor-servicemonitor.yaml"], "aks", {"ServiceMonitor"}, "Azure Monitor managed Prometheus"),
        (["aks/azure-monitor-podmonitor.yaml"], "aks", {"PodMonitor"}, "Azure Monitor managed Prometheus"),
    ],
)  # fmt: skip
def test_provider_only_kinds_are_dropped_with_a_record(
    files: list[str], source: str, gone: set[str], quoted: str
) -> None:
    t = T.translate(corpus(*files), source=source, target="ionos")
    assert not kinds(t) & gone
    dropped = {c.ref.kind for c in t.dropped}
    assert gone <= dropped
    assert quoted in manual(t) + warnings(t)


def test_unknown_provider_group_is_found_by_default_deny_not_passed_silently() -> None:
    # a source profile that knows nothing of KAITO: default-deny still reports the kind as a manual action
    t = T.translate(corpus("aks/kaito-workspace-deepseek-r1.yaml"), source="gke", target="ionos")
    assert "Workspace" in kinds(t)
    assert "API group kaito.sh looks provider-specific" in manual(t)


def test_cluster_scoped_provider_kinds_get_no_namespace() -> None:
    bundle = corpus("eks/workshop-karpenter-nodepool.yaml", "eks/workshop-eniconfigs.yaml")
    for obj in bundle.objects:
        assert "namespace" not in obj["metadata"], obj["kind"]


def test_eks_auto_mode_ingress_class_and_params_leave_with_the_alb_annotations() -> None:
    t = T.translate(
        corpus("eks/workshop-automode-ingressclass.yaml", "eks/workshop-automode-ingress.yaml"),
        source="aws",
        target="hetzner",
    )
    assert kinds(t) == {"Ingress"}
    ing = only(t, "Ingress")
    assert ing["spec"]["ingressClassName"] == "nginx"
    assert not any(k.startswith("alb.ingress") for k in ing["metadata"].get("annotations", {}))
    assert "install an ingress controller" in manual(t)


# -- unknown CSI drivers -------------------------------------------------------------------------------


def test_auto_mode_ebs_class_is_recreated_and_its_encryption_is_a_manual_action() -> None:
    t = T.translate(corpus("eks/workshop-automode-ebs-storageclass.yaml"), source="aws", target="ionos")
    sc = only(t, "StorageClass")
    assert sc["provisioner"] == "cloud.ionos.com"
    assert "encrypts volumes at rest (encrypted=true)" in manual(t)


def test_fsx_class_is_recreated_as_a_shared_class_and_rwx_claims_are_reported() -> None:
    t = T.translate(
        corpus("eks/fsx-csi-dynamic-storageclass.yaml", "eks/fsx-csi-dynamic-claim.yaml"),
        source="aws",
        target="hetzner",
    )
    assert only(t, "StorageClass")["provisioner"] == "csi.hetzner.cloud"
    assert "needs ReadWriteMany" in manual(t)


def test_s3_mountpoint_pv_is_a_manual_action_naming_the_bucket_volume() -> None:
    t = T.translate(corpus("eks/mountpoint-s3-static-kms.yaml"), source="aws", target="ionos")
    assert "PersistentVolume" not in kinds(t)
    assert "s3.csi.aws.com" in manual(t) and "s3-csi-driver-volume" in manual(t)
    assert only(t, "PersistentVolumeClaim")["spec"]["storageClassName"] == "ionos-enterprise-hdd"


def test_gcs_fuse_inline_volume_and_pod_annotation() -> None:
    t = T.translate(corpus("gke/samples-gcsfuse-statefulset.yaml"), source="gke", target="scaleway")
    sts = next(o for o in t.bundle.objects if o["kind"] == "StatefulSet")
    assert not any(k.startswith("gke-gcsfuse/") for k in sts["spec"]["template"]["metadata"].get("annotations", {}))
    assert "gcsfuse.csi.storage.gke.io" in manual(t)


def test_static_claim_gets_the_target_default_class_and_a_blocker() -> None:
    t = T.translate(corpus("eks/ebs-csi-static-claim.yaml"), source="aws", target="hetzner")
    pvc = only(t, "PersistentVolumeClaim")
    assert pvc["spec"]["storageClassName"] == "hcloud-volumes"
    assert "volumeName" not in pvc["spec"]
    assert "EMPTY volume" in manual(t) and "test-pv" in manual(t)


# -- 3: security-relevant outcomes are manual actions -------------------------------------------------


@pytest.mark.parametrize(
    ("file", "source"),
    [("gke/samples-weaviate-internal-lb.yaml", "gke"), ("aks/baseline-traefik-internal-lb.yaml", "aks")],
)
def test_internal_load_balancer_becoming_public_is_a_security_manual_action(file: str, source: str) -> None:
    t = T.translate(corpus(file), source=source, target="ionos")
    assert "SECURITY: internal-only load balancer" in manual(t)
    assert "internal" not in warnings(t).lower().split("security")[0] or True


def test_source_range_annotation_on_hetzner_is_a_security_manual_action() -> None:
    t = T.translate(corpus("eks/workshop-nlb-service.yaml"), source="aws", target="hetzner")
    assert "SECURITY: annotation service.beta.kubernetes.io/load-balancer-source-ranges" in manual(t)


def test_tls_terminating_nlb_names_the_ports_to_change() -> None:
    t = T.translate(corpus("eks/ingress-nginx-nlb-tls-termination.yaml"), source="aws", target="ionos")
    assert "port 443 (https → targetPort http)" in manual(t)


def test_udp_ports_on_hetzner_are_a_manual_action() -> None:
    # hand-written: the corpus has no public LoadBalancer Service with a UDP port
    svc = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "dns", "namespace": "net"},
        "spec": {"type": "LoadBalancer", "ports": [{"name": "dns", "port": 53, "protocol": "UDP"}]},
    }
    t = T.translate([svc], source="aws", target="hetzner")
    assert "dns (53/UDP)" in manual(t)
    assert T.translate([svc], source="aws", target="openstack").manual_actions == ()


def test_unbound_psps_are_manual_actions() -> None:
    t = T.translate(corpus("openshift/k8s-examples-psp-policies.yaml"), source="openshift", target="ionos")
    assert "PodSecurityPolicy" not in kinds(t)
    assert "PodSecurityPolicy privileged (Pod Security level privileged) is bound to no namespace" in manual(t)
    assert "PodSecurityPolicy restricted (Pod Security level baseline)" in manual(t)


def test_privileged_scc_is_a_security_manual_action_and_labels_its_namespace() -> None:
    t = T.translate(corpus("openshift/kubesan-scc.yaml"), source="openshift", target="ionos")
    assert "SECURITY: SecurityContextConstraints kubesan allows allowPrivilegedContainer" in manual(t)
    assert "label namespace kubesan-system with pod-security.kubernetes.io/enforce=privileged" in manual(t)


def test_scc_with_capabilities_beyond_baseline_is_privileged() -> None:
    # hand-written after the Redis Enterprise SCC (not in the corpus: its repository states no licence)
    from portkit.translate.policies import scc_level

    scc = {"metadata": {"name": "redis-enterprise-scc-v2"}, "allowedCapabilities": ["SYS_RESOURCE"]}
    assert scc_level(scc) == "privileged"
    assert scc_level({"metadata": {"name": "x"}, "allowedCapabilities": ["NET_BIND_SERVICE"]}) == "baseline"


# -- 4: data is never dropped quietly; dynamically provisioned PVs are not replayed -----------------------


@pytest.mark.parametrize(
    ("file", "source", "disk"),
    [
        ("aks/azuredisk-static-pv.yaml", "aks", "/subscriptions/{sub-id}/resourcegroups/"),
        ("gke/samples-hyperdisk-restore-pv.yaml", "gke", "projects/PRJCTID/zones/us-central1-a/disks/mysql-recovery"),
        ("eks/ebs-csi-static-pv.yaml", "aws", "vol-03c604538dd7d2f41"),
        ("gke/samples-filestore-preprov-pv.yaml", "gke", "modeInstance/"),
    ],
)
def test_pv_of_an_existing_disk_is_a_manual_action_naming_the_disk(file: str, source: str, disk: str) -> None:
    t = T.translate(corpus(file), source=source, target="ionos")
    assert "PersistentVolume" not in kinds(t)
    assert disk in manual(t) and "verify-data" in manual(t)


def test_dynamically_provisioned_pv_of_an_export_is_dropped_with_a_record() -> None:
    # the shape export writes for a bound claim (hand-written: no public export of one is in the corpus)
    pv = {
        "apiVersion": "v1",
        "kind": "PersistentVolume",
        "metadata": {
            "name": "pvc-1234",
            "annotations": {
                "pv.kubernetes.io/provisioned-by": "ebs.csi.aws.com",
                "pv.kubernetes.io/migrated-to": "ebs.csi.aws.com",
            },
        },
        "spec": {
            "csi": {"driver": "ebs.csi.aws.com", "volumeHandle": "vol-1"},
            "claimRef": {"namespace": "shop", "name": "data"},
            "persistentVolumeReclaimPolicy": "Delete",
            "nodeAffinity": {
                "required": {
                    "nodeSelectorTerms": [
                        {
                            "matchExpressions": [
                                {"key": "topology.kubernetes.io/zone", "operator": "In", "values": ["eu-central-1a"]}
                            ]
                        }
                    ]
                }
            },
        },
    }
    t = T.translate([pv], source="aws", target="ionos")
    assert t.bundle.objects == []
    assert "dynamically provisioned by ebs.csi.aws.com for claim shop/data" in t.dropped[0].reason
    assert t.manual_actions == ()


# -- 5: correct values ----------------------------------------------------------------------------------


def test_openstack_health_monitor_values_are_integers() -> None:
    # hand-written: no corpus file sets AWS health-check interval/timeout annotations
    svc = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "web", "namespace": "shop", "annotations": {
            "service.beta.kubernetes.io/aws-load-balancer-healthcheck-interval": "10",
            "service.beta.kubernetes.io/aws-load-balancer-healthcheck-timeout": "3"}},
        "spec": {"type": "LoadBalancer", "ports": [{"port": 80}]},
    }  # fmt: skip
    anns = only(T.translate([svc], source="aws", target="openstack"), "Service")["metadata"]["annotations"]
    assert anns["loadbalancer.openstack.org/health-monitor-delay"] == "10"
    assert anns["loadbalancer.openstack.org/health-monitor-timeout"] == "3"


def test_application_gateway_wildcard_path_becomes_a_prefix_path() -> None:
    t = T.translate(corpus("aks/appgw-health-probe-wildcard-path.yaml"), source="aks", target="ovh")
    path = only(t, "Ingress")["spec"]["rules"][0]["http"]["paths"][0]
    assert path["path"] == "/status/" and path["pathType"] == "Prefix"


def test_azure_fault_domains_do_not_become_zones() -> None:
    t = T.translate(corpus("aks/azuredisk-statefulset-nozone.yaml"), source="aks", target="ionos")
    sts = only(t, "StatefulSet")
    text = json.dumps(sts["spec"]["template"]["spec"].get("affinity", {}))
    assert '"0"' not in text and "topology.kubernetes.io/zone" not in text
    assert "fault domain" in warnings(t)


def test_ephemeral_volume_templates_get_the_target_class() -> None:
    t = T.translate(corpus("aks/azuredisk-ephemeral-pod.yaml"), source="aks", target="ionos")
    vol = only(t, "Pod")["spec"]["volumes"][0]
    assert vol["ephemeral"]["volumeClaimTemplate"]["spec"]["storageClassName"] == "ionos-enterprise-ssd"


@pytest.mark.parametrize("target", ["openstack", "rook-ceph+metallb"])
def test_recreated_class_keeps_its_binding_mode(target: str) -> None:
    t = T.translate(corpus("eks/ebs-csi-io1-encrypted-storageclass.yaml"), source="aws", target=target)
    assert only(t, "StorageClass")["volumeBindingMode"] == "WaitForFirstConsumer"


def test_ored_affinity_term_left_empty_widens_instead_of_narrowing() -> None:
    # hand-written: no corpus file has two ORed node-selector terms
    terms = [
        {"matchExpressions": [{"key": "karpenter.sh/capacity-type", "operator": "In", "values": ["spot"]}]},
        {"matchExpressions": [{"key": "kubernetes.io/arch", "operator": "In", "values": ["arm64"]}]},
    ]
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "p", "namespace": "x"},
        "spec": {"containers": [{"name": "c", "image": "nginx"}], "affinity": {"nodeAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": terms}}}},
    }  # fmt: skip
    t = T.translate([pod], source="aws", target="scaleway")
    assert "affinity" not in only(t, "Pod")["spec"]
    assert "the terms are ORed" in warnings(t)


def test_zone_mapping_must_be_a_label_value() -> None:
    with pytest.raises(TranslationError, match="cannot be a node label value"):
        T.translate([], source="aws", target="ionos", mappings={"zones": {"eu-central-1a": "de/fra"}})


def test_images_in_custom_resource_specs_are_mapped() -> None:
    # hand-written after the Intel GPU device-plugin CR (registry.connect.redhat.com image in spec.image)
    cr = {
        "apiVersion": "deviceplugin.intel.com/v1",
        "kind": "GpuDevicePlugin",
        "metadata": {"name": "gpudeviceplugin"},
        "spec": {"image": "registry.connect.redhat.com/intel/intel-gpu-plugin:0.32.1"},
    }
    t = T.translate([cr], source="openshift", target="ionos")
    assert "registry.connect.redhat.com/intel/intel-gpu-plugin:0.32.1" in warnings(t)
    mapped = T.translate(
        [cr], source="openshift", target="ionos", mappings={"images": {"registry.connect.redhat.com/": "r.example/"}}
    )
    assert only(mapped, "GpuDevicePlugin")["spec"]["image"] == "r.example/intel/intel-gpu-plugin:0.32.1"


def test_openshift_internal_registry_address_in_an_export_is_reported() -> None:
    t = T.translate(corpus("openshift/origin-oc-get-project-export.yaml"), source="openshift", target="ionos")
    assert "172.30.17.139:5000" in warnings(t)
    assert {"Build", "BuildConfig"} <= {c.ref.kind for c in t.dropped}


# -- 6: reporting ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("file", "expected"),
    [
        ("eks/workshop-karpenter-nodepool.yaml", "aws"),
        ("eks/workshop-ack-dynamodb-table.yaml", "aws"),
        ("eks/fsx-csi-dynamic-storageclass.yaml", "aws"),
        ("eks/workshop-s3-mountpoint-pv.yaml", "aws"),
        ("eks/workshop-automode-ebs-storageclass.yaml", "aws"),
        ("aks/kaito-workspace-deepseek-r1.yaml", "aks"),
        ("aks/workload-identity-proxy-sidecar-pod.yaml", "aks"),
        ("gke/samples-hyperdisk-restore-pv.yaml", "gke"),
        ("gke/online-boutique-release.yaml", None),  # public images on pkg.dev are no evidence of GKE
    ],
)
def test_source_detection_weighs_evidence(file: str, expected: str | None) -> None:
    name, evidence = T.detect_source_evidence(corpus(file).objects)
    assert name == expected
    assert bool(evidence) == (expected is not None)


def test_translated_bundle_can_be_translated_again_without_from(tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert main(["translate", str(CORPUS / "gke/samples-spot-batch-job.yaml"), "--from", "gke", "--to", "ovh",
                 "-o", str(out), "-n", "corpus"]) in (0, 3)  # fmt: skip
    again = T.translate(Bundle.load(out), target="ionos")
    assert again.source == "ovh"
    assert main(["lint", str(out), "--to", "ionos"]) in (0, 3)


def test_lint_shows_the_evidence_of_a_detected_source(capsys: pytest.CaptureFixture[str]) -> None:
    rc = main(["lint", str(CORPUS / "eks/workshop-karpenter-nodepool.yaml"), "--to", "ionos", "-o", "json"])
    data = json.loads(capsys.readouterr().out)
    assert rc == 3
    assert data["source"] == "aws"
    assert any("karpenter" in e.lower() for e in data["source_evidence"])


def test_storage_class_confidence_is_shown() -> None:
    t = T.translate(corpus("aks/azuredisk-statefulset-nozone.yaml"), source="aks", target="ionos")
    assert "storage class ionos-enterprise-ssd is community in the ionos profile" in warnings(t)


def test_install_an_ingress_controller_without_an_ingressclass_object() -> None:
    t = T.translate(corpus("eks/alb-controller-2048-full.yaml"), source="aws", target="scaleway")
    assert "IngressClass" not in {o["kind"] for o in corpus("eks/alb-controller-2048-full.yaml").objects}
    assert "install an ingress controller" in manual(t)


def test_lint_exit_0_only_when_nothing_needs_a_decision(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["lint", str(CORPUS / "aks/keyvault-csi-deployment.yaml"), "--from", "aks", "--to", "ionos",
                 "-n", "corpus"]) == 0  # fmt: skip
    capsys.readouterr()
    # an AKS file with a GKE ingress annotation no AKS profile entry knows: default-deny makes it a decision
    assert main(["lint", str(CORPUS / "aks/baseline-aspnetapp-ingress.yaml"), "--from", "aks", "--to", "ionos"]) == 3
    assert "kubernetes.io/ingress.allow-http" in capsys.readouterr().out


# -- wrong-typed fields do not crash lint -----------------------------------------------------------------


def test_wrong_typed_fields_do_not_crash_translate_or_lint(tmp_path: Path) -> None:
    objs = [
        {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "a", "namespace": "x",
         "annotations": ["not", "a", "map"]}, "spec": {"template": {"metadata": {"labels": "oops"}, "spec": {
            "nodeSelector": ["x"], "affinity": "y", "tolerations": {"k": "v"},
            "containers": [{"name": "c", "image": 5, "resources": ["x"]}], "volumes": "z"}}}},
        {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "b", "namespace": "x"},
         "spec": {"storageClassName": 3, "accessModes": "ReadWriteOnce", "resources": []}},
        {"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass", "metadata": {"name": "c"},
         "provisioner": "ebs.csi.aws.com", "parameters": ["type", "gp3"]},
        {"apiVersion": "v1", "kind": "PersistentVolume", "metadata": {"name": "d", "annotations": None},
         "spec": {"csi": "ebs", "nodeAffinity": {"required": {"nodeSelectorTerms": ["x"]}}}},
        {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "e", "namespace": "x"},
         "spec": {"volumeClaimTemplates": {"a": 1}, "template": {"spec": {"affinity": {"nodeAffinity": {
             "requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [{"matchExpressions": [
                 {"key": 7, "values": "zone"}]}]}}}}}}},
    ]  # fmt: skip
    from portkit import profiles

    for target in ("ionos", "hetzner", "openstack"):
        t = T.translate(objs, source="aws", target=target)
        T.lint_residue(t, "aws", target)
    for name in ("aws", "gke", "aks", "openshift"):
        T.find_residue(objs, profiles.load(name), exclude=profiles.load("ionos"))
    T.detect_source_evidence(objs)
    import yaml

    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump_all(objs))
    assert main(["lint", str(path), "--from", "aws", "--to", "ionos"]) == 3


def test_profile_lookups_answer_false_for_wrong_typed_values() -> None:
    from portkit import profiles

    aws = profiles.load("aws")
    assert aws.topology is not None and aws.load_balancer is not None and aws.storage is not None
    assert aws.topology.is_zone(5) is False  # type: ignore[arg-type]
    assert aws.topology.is_region(["eu-central-1"]) is False  # type: ignore[arg-type]
    assert aws.topology.is_instance_type(None) is False  # type: ignore[arg-type]
    assert aws.topology.owns_label(7) is False  # type: ignore[arg-type]
    assert aws.load_balancer.owns_annotation(3) is False  # type: ignore[arg-type]
    assert aws.registries[0].matches(5) is False  # type: ignore[arg-type]
    assert aws.storage.tier_of("ebs.csi.aws.com", ["type", "gp3"]) is None  # type: ignore[arg-type]


def test_confidence_and_tier_changes_are_columns() -> None:
    t = T.translate(corpus("aks/azuredisk-statefulset-nozone.yaml"), source="aks", target="ionos")
    change = next(c for c in t.changes if c.path.endswith("storageClassName"))
    assert change.confidence == "community" and change.to_dict()["confidence"] == "community"
    text = t.to_text()
    assert "CONFIDENCE" in text.upper().split("CHANGES:")[1].splitlines()[1]
    shop = Bundle.from_manifests(Path(__file__).parent / "golden" / "apps" / "aks-shop.yaml")
    t2 = T.translate(shop, source="aks", target="openstack")
    assert any(c.tier == "fast-ssd → ssd" for c in t2.changes)
    assert "tier" in t2._repr_html_()


def test_replication_controllers_of_a_deployment_config_are_left_out() -> None:
    t = T.translate(corpus("openshift/origin-oc-get-project-export.yaml"), source="openshift", target="ionos")
    assert "ReplicationController" not in kinds(t)
    assert {"database", "frontend"} <= {o["metadata"]["name"] for o in t.bundle.objects if o["kind"] == "Deployment"}
