"""Provider profiles: loading, validation, combination, detection and local-cluster specs."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from portkit import profiles
from portkit.errors import TranslationError

ALL = [
    "aks",
    "aws",
    "gke",
    "hetzner",
    "ibm",
    "ionos",
    "longhorn",
    "metallb",
    "oci",
    "openshift",
    "openstack",
    "ovh",
    "rook-ceph",
    "scaleway",
    "simplyblock",
]
LOCAL = [
    "aws",
    "gke",
    "aks",
    "ionos",
    "scaleway",
    "hetzner",
    "ovh",
    "openstack",
    "rook-ceph",
    "longhorn",
    "simplyblock",
    "ibm",
    "oci",
]
PROFILE_DIR = Path(profiles.__file__).parent


def test_every_builtin_profile_loads_and_is_listed() -> None:
    assert profiles.names() == ALL
    for name in ALL:
        prof = profiles.load(name)
        assert prof.name == name
        assert prof.roles
        assert prof.aspects(), name
        assert (PROFILE_DIR / f"{name}.yaml").is_file()


def test_profiles_are_shipped_as_package_data() -> None:
    text = Path(__file__).parents[2].joinpath("pyproject.toml").read_text()
    assert '"profiles/*.yaml"' in text


@pytest.mark.parametrize("name", LOCAL)
def test_local_cluster_spec_is_realistic(name: str) -> None:
    spec = profiles.local_cluster_spec(name)
    prof = profiles.load(name)
    nodes = spec["nodes"]
    assert 2 <= len(nodes) <= 3
    zones = [n["labels"]["topology.kubernetes.io/zone"] for n in nodes]
    assert len(set(zones)) == len(zones), "nodes must be in different zones"
    for node in nodes:
        labels = node["labels"]
        for key in ("topology.kubernetes.io/region", "node.kubernetes.io/instance-type", "kubernetes.io/hostname"):
            assert labels[key], key
        assert labels["kubernetes.io/hostname"] == node["name"]
        if prof.topology is not None and prof.topology.node_pool_key:
            assert prof.topology.node_pool_key in labels
        if prof.topology is not None:
            assert prof.topology.is_zone(labels["topology.kubernetes.io/zone"]), labels["topology.kubernetes.io/zone"]
    scs = spec["storage_classes"]
    defaults = [
        s
        for s in scs
        if s["metadata"].get("annotations", {}).get("storageclass.kubernetes.io/is-default-class") == "true"
    ]
    assert len(defaults) == 1
    assert prof.storage is not None and defaults[0]["metadata"]["name"] == prof.storage.default_class
    for sc in scs:
        assert sc["provisioner"] in spec["provisioners"]
        assert sc["volumeBindingMode"] in ("Immediate", "WaitForFirstConsumer")
        assert sc["apiVersion"] == "storage.k8s.io/v1"
    for vsc in spec["volume_snapshot_classes"]:
        assert vsc["driver"] in prof.storage.provisioners
        assert vsc["apiVersion"] == "snapshot.storage.k8s.io/v1"


def test_local_cluster_specs_match_the_catalog() -> None:
    aws = profiles.local_cluster_spec("aws")
    assert {s["metadata"]["name"] for s in aws["storage_classes"]} >= {"gp3", "gp2"}
    assert "ebs.csi.aws.com" in aws["provisioners"]
    assert aws["nodes"][0]["labels"]["eks.amazonaws.com/nodegroup"]
    ionos = profiles.local_cluster_spec("ionos")
    assert ionos["provisioners"] == ["cloud.ionos.com"]
    assert ionos["volume_snapshot_classes"] == []
    hetzner = profiles.local_cluster_spec("hetzner")
    assert hetzner["volume_snapshot_classes"] == []  # Hetzner has no snapshots
    assert hetzner["nodes"][1]["labels"]["topology.kubernetes.io/region"] == "nbg1"
    rook = profiles.local_cluster_spec("rook-ceph")
    rbd = next(s for s in rook["storage_classes"] if s["metadata"]["name"] == "rook-ceph-block")
    assert rbd["parameters"]["csi.storage.k8s.io/node-stage-secret-name"] == "rook-csi-rbd-node"
    assert {v["metadata"]["name"] for v in rook["volume_snapshot_classes"]} == {
        "csi-rbdplugin-snapclass",
        "csi-cephfsplugin-snapclass",
    }


def test_local_cluster_spec_returns_fresh_data() -> None:
    a = profiles.local_cluster_spec("aws")
    a["storage_classes"][0]["metadata"]["name"] = "changed"
    b = profiles.local_cluster_spec("aws")
    assert b["storage_classes"][0]["metadata"]["name"] != "changed"


@pytest.mark.parametrize("name", [n for n in LOCAL if profiles.load(n).category == "platform"])
def test_detect_provider_recognizes_its_own_local_cluster(name: str) -> None:
    spec = profiles.local_cluster_spec(name)
    labels = [n["labels"] for n in spec["nodes"]]
    assert profiles.detect_provider(labels, set(spec["provisioners"]), set()) == name


def test_detect_provider_addons_and_openshift() -> None:
    plain = [{"kubernetes.io/hostname": "n1", "topology.kubernetes.io/zone": "a"}]
    assert profiles.detect_provider(plain, {"rook-ceph.rbd.csi.ceph.com"}, {"metallb.io"}) == "rook-ceph+metallb"
    assert profiles.detect_provider(plain, {"driver.longhorn.io"}, set()) == "longhorn"
    assert profiles.detect_provider(plain, set(), set()) is None
    aws_nodes = [n["labels"] for n in profiles.local_cluster_spec("aws")["nodes"]]
    groups = {"route.openshift.io", "apps.openshift.io", "security.openshift.io", "config.openshift.io"}
    assert profiles.detect_provider(aws_nodes, {"ebs.csi.aws.com"}, groups) == "openshift"


def test_combined_profile_takes_each_aspect_from_the_first_that_has_it() -> None:
    combo = profiles.load("rook-ceph+metallb")
    assert combo.name == "rook-ceph+metallb"
    assert combo.storage is profiles.load("rook-ceph").storage
    assert combo.load_balancer is profiles.load("metallb").load_balancer
    assert combo.members == ("rook-ceph", "metallb")
    assert profiles.load(["longhorn", "metallb"]).aspects() == ["storage", "load_balancer"]
    assert profiles.load("openshift+aws").storage is profiles.load("openshift").storage
    assert profiles.load("openshift+aws").identity is profiles.load("aws").identity


def test_unknown_provider_names_the_known_ones() -> None:
    with pytest.raises(TranslationError, match=r"unknown provider 'azure'.*aks"):
        profiles.load("azure")
    with pytest.raises(TranslationError, match="no provider"):
        profiles.load("")


def test_storage_facts_from_the_catalog() -> None:
    hetzner = profiles.load("hetzner").storage
    assert hetzner is not None
    assert hetzner.default().min_size_gi == 10  # type: ignore[union-attr]
    assert hetzner.snapshot_classes == ()
    ionos = profiles.load("ionos").storage
    assert ionos is not None and ionos.default().name == "ionos-enterprise-hdd"  # type: ignore[union-attr]
    assert ionos.get_class("ionos-enterprise-ssd").confidence == "community"  # type: ignore[union-attr]
    assert profiles.load("aws").storage.for_tier("fast-ssd").name == "io2"  # type: ignore[union-attr]
    assert profiles.load("ionos").storage.for_tier("fast-ssd").name == "ionos-enterprise-ssd"  # type: ignore[union-attr]
    assert profiles.load("hetzner").storage.for_tier("shared") is None  # type: ignore[union-attr]
    assert profiles.load("aws").storage.tier_of("ebs.csi.aws.com", {"type": "st1"}) == "hdd"  # type: ignore[union-attr]
    assert not profiles.load("hetzner").load_balancer.source_ranges  # type: ignore[union-attr]
    assert not profiles.load("ionos").load_balancer.external  # type: ignore[union-attr]


def test_unverified_values_are_marked() -> None:
    for name in ("ionos", "aks", "ovh"):
        assert profiles.load(name).unverified, name
    aks_classes = profiles.load("aks").storage.classes  # type: ignore[union-attr]
    assert all(c.confidence == "unverified" for c in aks_classes)
    metallb_internal = profiles.load("metallb").load_balancer.concepts["internal"][0]  # type: ignore[union-attr]
    assert metallb_internal.confidence == "unverified"


def _raw(name: str) -> dict:
    return yaml.safe_load((PROFILE_DIR / f"{name}.yaml").read_text())


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d.update(colour="blue"), r"\(top\): unknown key\(s\) \['colour'\]"),
        (lambda d: d["storage"]["classes"][0].update(tier="turbo"), r"storage.classes\[0\].tier: 'turbo'"),
        (lambda d: d["storage"]["classes"][0].update(provisioner="nope.csi"), "not listed in storage.provisioners"),
        (lambda d: d["storage"].update(default_class="missing"), "storage.default_class"),
        (lambda d: d["storage"]["classes"][0].update(min_size="ten gigs"), "min_size"),
        (lambda d: d["storage"]["classes"][0].update(access_modes=["ReadWriteSometimes"]), "access mode"),
        (lambda d: d["topology"].update(zone_pattern="(["), "invalid regular expression"),
        (lambda d: d["load_balancer"]["concepts"].update(teleport={"annotation": "x"}), "teleport"),
        (lambda d: d["load_balancer"]["concepts"]["internal"][0].pop("on"), "needs an 'on' value"),
        (lambda d: d.update(roles=["sometimes"]), "roles"),
        (lambda d: d.pop("category"), "missing key"),
        (lambda d: d["storage"]["classes"][0].update(snapshot_class="nope"), "is not defined"),
    ],
)
def test_validation_names_the_file_and_key(mutate, message: str) -> None:  # type: ignore[no-untyped-def]
    data = copy.deepcopy(_raw("aws"))
    mutate(data)
    with pytest.raises(TranslationError, match=message) as info:
        profiles.parse_profile(data, "aws.yaml")
    assert "aws.yaml" in str(info.value)


def test_a_valid_raw_profile_round_trips_and_can_be_registered() -> None:
    data = copy.deepcopy(_raw("hetzner"))
    data["name"] = "hetzner-test"
    prof = profiles.register_profile(data)
    try:
        assert "hetzner-test" in profiles.names()
        assert profiles.load("hetzner-test") is prof
        assert profiles.load("hetzner-test").storage == profiles.load("hetzner").storage
    finally:
        profiles.unregister_profile("hetzner-test")
    assert "hetzner-test" not in profiles.names()


def test_profile_repr_and_dict() -> None:
    prof = profiles.load("scaleway")
    assert repr(prof).startswith("<Profile scaleway")
    d = prof.to_dict()
    assert d["name"] == "scaleway" and "storage" in d["aspects"]
    assert any(c["name"] == "sbs-15k" and c["tier"] == "fast-ssd" for c in d["storage_classes"])


def test_quantities() -> None:
    assert profiles.parse_quantity("10Gi") == 10 * 2**30
    assert profiles.parse_quantity("500M") == 500e6
    assert profiles.parse_quantity("1.5Ti") == 1.5 * 2**40
    assert profiles.format_gi(9.2) == "10Gi"
    assert profiles.format_gi(10.0) == "10Gi"
    with pytest.raises(ValueError):
        profiles.parse_quantity("lots")


def test_profiles_from_entry_points(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    data = copy.deepcopy(_raw("metallb"))
    data["name"] = "kube-vip"
    data["display_name"] = "kube-vip"
    data["load_balancer"] = {
        "annotation_prefixes": ["kube-vip.io/"],
        "concepts": {"fixed_ip": {"annotation": "kube-vip.io/loadBalancerIPs"}},
    }
    data.pop("provider_objects")
    data["detect"] = {"api_groups": ["kube-vip.io"]}
    path = tmp_path / "kube-vip.yaml"
    path.write_text(yaml.safe_dump(data))

    class EP:
        name = "kube-vip"

        def load(self) -> str:
            return str(path)

    monkeypatch.setattr(
        "importlib.metadata.entry_points", lambda *, group: [EP()] if group == "portkit.profiles" else []
    )
    profiles._plugin_profiles.cache_clear()
    try:
        assert "kube-vip" in profiles.names()
        assert profiles.load("rook-ceph+kube-vip").load_balancer.owns_annotation("kube-vip.io/loadBalancerIPs")  # type: ignore[union-attr]
    finally:
        monkeypatch.undo()
        profiles._plugin_profiles.cache_clear()
    assert "kube-vip" not in profiles.names()
