"""The ConfigMaps portkit writes into Velero's namespace for a restore (and removes afterwards).

- the *change-storage-class* ConfigMap of Velero's RestoreItemAction (labels ``velero.io/plugin-config``
  and ``velero.io/change-storage-class: RestoreItemAction``; data ``old-class: new-class``), which Velero
  applies to PVCs, PVs and StatefulSet volumeClaimTemplates;
- a *resource-modifier* ConfigMap (one data key holding ``version: v1`` + ``resourceModifierRules``), passed
  to ``velero restore create --resource-modifier-configmap``, carrying the per-claim class and size changes
  of a translation. Its conditions name the *source* namespace: Velero applies modifiers before it maps
  namespaces.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import yaml

from portkit.volumes.base import ClaimChange

__all__ = [
    "CHANGE_STORAGE_CLASS_LABELS",
    "MANAGED_BY_LABEL",
    "change_storage_class_configmap",
    "resource_modifier_configmap",
    "resource_modifier_rules",
]

CHANGE_STORAGE_CLASS_LABELS = {
    "velero.io/plugin-config": "",
    "velero.io/change-storage-class": "RestoreItemAction",
}
MANAGED_BY_LABEL = "app.kubernetes.io/managed-by"
RULES_KEY = "portkit-rules.yaml"


def _configmap(name: str, namespace: str, data: Mapping[str, str], labels: Mapping[str, str]) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": namespace, "labels": {**labels, MANAGED_BY_LABEL: "portkit"}},
        "data": dict(data),
    }


def change_storage_class_configmap(name: str, namespace: str, mapping: Mapping[str, str]) -> dict[str, Any]:
    """The change-storage-class RestoreItemAction ConfigMap for ``{old class: new class}``."""
    return _configmap(name, namespace, dict(sorted(mapping.items())), CHANGE_STORAGE_CLASS_LABELS)


def resource_modifier_rules(changes: Sequence[ClaimChange]) -> dict[str, Any]:
    """Velero resource-modifier rules (``version: v1``) setting each claim's class and/or size.

    Each rule matches claims by source namespace and name regex and applies a JSON merge patch, which
    keeps values such as ``10Gi`` strings (Velero's JSON-patch values are spliced into JSON unquoted when
    they look like numbers).
    """
    rules = []
    for change in changes:
        spec: dict[str, Any] = {}
        if change.storage_class:
            spec["storageClassName"] = change.storage_class
        if change.size:
            spec["resources"] = {"requests": {"storage": change.size}}
        if not spec:
            continue
        rules.append(
            {
                "conditions": {
                    "groupResource": "persistentvolumeclaims",
                    "resourceNameRegex": change.name_regex,
                    "namespaces": [change.namespace],
                },
                "mergePatches": [{"patchData": json.dumps({"spec": spec}, sort_keys=True)}],
            }
        )
    return {"version": "v1", "resourceModifierRules": rules}


def resource_modifier_configmap(name: str, namespace: str, changes: Sequence[ClaimChange]) -> dict[str, Any] | None:
    """The resource-modifier ConfigMap for ``changes``, or None when there is nothing to change."""
    rules = resource_modifier_rules(changes)
    if not rules["resourceModifierRules"]:
        return None
    text = yaml.safe_dump(rules, sort_keys=False)
    return _configmap(name, namespace, {RULES_KEY: text}, {})
