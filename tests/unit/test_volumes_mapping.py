"""Storage mappings for volume moves: from dicts and from real Translations, compiled to Velero ConfigMaps."""

from __future__ import annotations

import json
import re

import pytest
import yaml

from portkit.bundle import Bundle
from portkit.errors import ConfigurationError
from portkit.translate import translate
from portkit.volumes import ClaimChange, claim_changes, storage_class_mapping
from portkit.volumes.base import ambiguous_classes
from portkit.volumes.configmaps import (
    CHANGE_STORAGE_CLASS_LABELS,
    change_storage_class_configmap,
    resource_modifier_configmap,
    resource_modifier_rules,
)


def _pvc(name: str, cls: str, size: str, ns: str = "shop") -> dict:
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": name, "namespace": ns},
        "spec": {
            "storageClassName": cls,
            "accessModes": ["ReadWriteOnce"],
            "resources": {"requests": {"storage": size}},
        },
    }


def _sts(name: str, template: str, cls: str, ns: str = "shop") -> dict:
    return {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": {"name": name, "namespace": ns},
        "spec": {
            "selector": {"matchLabels": {"app": name}},
            "serviceName": name,
            "template": {"metadata": {"labels": {"app": name}}, "spec": {"containers": [{"name": "c", "image": "x"}]}},
            "volumeClaimTemplates": [
                {
                    "metadata": {"name": template},
                    "spec": {
                        "storageClassName": cls,
                        "accessModes": ["ReadWriteOnce"],
                        "resources": {"requests": {"storage": "5Gi"}},
                    },
                }
            ],
        },
    }


@pytest.fixture(scope="module")
def translation():  # a real translation aws → ionos
    return translate(Bundle([_pvc("data", "gp3", "1500Mi"), _sts("db", "pgdata", "gp2")]), source="aws", target="ionos")


def test_dict_mapping_is_validated_and_copied() -> None:
    src = {"gp3": "ionos-enterprise-ssd"}
    mapping = storage_class_mapping(src)
    assert mapping == src and mapping is not src
    with pytest.raises(ConfigurationError, match="non-empty strings"):
        storage_class_mapping({"gp3": ""})
    with pytest.raises(ConfigurationError, match="Cannot read a storage mapping"):
        storage_class_mapping(42)
    assert storage_class_mapping(None) == {}


def test_mapping_from_translation_reads_pvc_and_template_classes(translation) -> None:
    mapping = storage_class_mapping(translation)
    pvc_change = next(
        c for c in translation.changes if c.ref.kind == "PersistentVolumeClaim" and c.path == "/spec/storageClassName"
    )
    assert mapping[pvc_change.old] == pvc_change.new
    assert "gp2" in mapping  # from the StatefulSet's volumeClaimTemplate
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in mapping.items())


def test_claim_changes_from_translation(translation) -> None:
    changes = {c.name_regex: c for c in claim_changes(translation)}
    data = changes["^data$"]
    size_change = next(
        c for c in translation.changes if c.ref.kind == "PersistentVolumeClaim" and c.path.endswith("/storage")
    )
    assert data.namespace == "shop" and data.size == size_change.new and data.storage_class
    (db,) = [c for c in changes.values() if c.source.startswith("StatefulSet")]
    assert re.match(db.name_regex, "pgdata-db-0") and re.match(db.name_regex, "pgdata-db-12")
    assert not re.match(db.name_regex, "pgdata-db-x") and not re.match(db.name_regex, "data")
    assert db.storage_class == storage_class_mapping(translation)["gp2"]
    assert claim_changes({"gp3": "x"}) == []


def test_conflicting_class_targets_are_left_out() -> None:
    class Ref:
        def __init__(self, name: str) -> None:
            self.kind, self.namespace, self.name = "PersistentVolumeClaim", "shop", name

    class Change:
        def __init__(self, name: str, new: str) -> None:
            self.ref, self.path, self.old, self.new, self.translator = (
                Ref(name),
                "/spec/storageClassName",
                "gp3",
                new,
                "storage",
            )

    class FakeTranslation:
        changes = [Change("a", "fast"), Change("b", "slow")]

    assert storage_class_mapping(FakeTranslation()) == {}
    assert ambiguous_classes(FakeTranslation()) == ["gp3"]
    assert {c.storage_class for c in claim_changes(FakeTranslation())} == {"fast", "slow"}


def test_change_storage_class_configmap_has_velero_labels() -> None:
    cm = change_storage_class_configmap("portkit-sc-x", "velero", {"gp3": "ionos-enterprise-ssd"})
    labels = cm["metadata"]["labels"]
    for key, value in CHANGE_STORAGE_CLASS_LABELS.items():
        assert labels[key] == value
    assert cm["data"] == {"gp3": "ionos-enterprise-ssd"} and cm["metadata"]["namespace"] == "velero"


def test_resource_modifier_rules_use_merge_patches() -> None:
    changes = [ClaimChange("shop", "^data$", storage_class="ssd", size="10Gi"), ClaimChange("shop", "^x$")]
    rules = resource_modifier_rules(changes)
    assert rules["version"] == "v1"
    assert len(rules["resourceModifierRules"]) == 1  # the empty change makes no rule
    rule = rules["resourceModifierRules"][0]
    assert rule["conditions"] == {
        "groupResource": "persistentvolumeclaims",
        "resourceNameRegex": "^data$",
        "namespaces": ["shop"],
    }
    patch = json.loads(rule["mergePatches"][0]["patchData"])
    assert patch == {"spec": {"storageClassName": "ssd", "resources": {"requests": {"storage": "10Gi"}}}}
    cm = resource_modifier_configmap("rm", "velero", changes)
    assert cm is not None and len(cm["data"]) == 1  # Velero requires exactly one data key
    assert yaml.safe_load(next(iter(cm["data"].values()))) == rules
    assert resource_modifier_configmap("rm", "velero", [ClaimChange("shop", "^x$")]) is None
