"""Hand-over of the fields of portkit's plain creates to its server-side apply identity."""

from __future__ import annotations

import json
from typing import Any

from portkit.errors import ApiError, api_error_from_status
from portkit.replay.ownership import created_ownership, only_own_conflicts, upgrade_managed_fields


def entry(
    manager: str, operation: str, fields: dict[str, Any], api_version: str = "v1", **extra: str
) -> dict[str, Any]:
    return {
        "manager": manager,
        "operation": operation,
        "apiVersion": api_version,
        "fieldsType": "FieldsV1",
        "fieldsV1": fields,
        **extra,
    }


def test_created_ownership_sees_only_the_managers_own_main_resource_update_entry() -> None:
    live = {"metadata": {"managedFields": [entry("portkit", "Update", {"f:data": {}})]}}
    assert created_ownership(live, "portkit")
    assert not created_ownership(live, "helm")
    status = {"metadata": {"managedFields": [entry("portkit", "Update", {"f:status": {}}, subresource="status")]}}
    assert not created_ownership(status, "portkit")
    assert not created_ownership({"metadata": {"managedFields": [entry("portkit", "Apply", {})]}}, "portkit")
    assert not created_ownership({"metadata": {}}, "portkit")


def test_the_update_entry_becomes_the_apply_entry() -> None:
    kcm = entry("kube-controller-manager", "Update", {"f:status": {}}, subresource="status")
    create = entry("portkit", "Update", {"f:data": {"f:a": {}}})
    upgraded = upgrade_managed_fields([create, kcm], "portkit")
    assert upgraded == [kcm, {**create, "operation": "Apply"}]


def test_update_fields_are_folded_into_an_existing_apply_entry() -> None:
    applied = entry("portkit", "Apply", {"f:data": {"f:a": {}}, "f:metadata": {"f:labels": {"f:x": {}}}})
    create = entry("portkit", "Update", {"f:data": {".": {}, "f:b": {}}})
    upgraded = upgrade_managed_fields([applied, create], "portkit")
    assert upgraded is not None and len(upgraded) == 1
    assert upgraded[0]["operation"] == "Apply"
    assert upgraded[0]["fieldsV1"] == {
        "f:data": {"f:a": {}, ".": {}, "f:b": {}},
        "f:metadata": {"f:labels": {"f:x": {}}},
    }


def test_nothing_to_do_and_other_versions_are_left_alone() -> None:
    assert upgrade_managed_fields([entry("portkit", "Apply", {})], "portkit") is None
    assert upgrade_managed_fields([entry("helm", "Update", {})], "portkit") is None
    applied = entry("portkit", "Apply", {"f:spec": {}}, api_version="example.com/v2")
    old = entry("portkit", "Update", {"f:spec": {}}, api_version="example.com/v1")
    assert upgrade_managed_fields([applied, old], "portkit") is None


def conflict(*managers: str) -> ApiError:
    causes = [
        {"reason": "FieldManagerConflict", "message": f"conflict with {m}", "field": f".data.k{i}"}
        for i, m in enumerate(managers)
    ]
    body = {"kind": "Status", "reason": "Conflict", "message": "Apply failed", "details": {"causes": causes}}
    return api_error_from_status(409, json.dumps(body).encode(), action="apply")


def test_only_own_conflicts_reads_the_status_causes() -> None:
    assert only_own_conflicts(conflict('"portkit" using v1', '"portkit" using v1'), "portkit")
    assert not only_own_conflicts(conflict('"portkit" using v1', '"helm"'), "portkit")
    assert not only_own_conflicts(conflict('"portkit"'), "portkit")  # its own Apply entry cannot conflict
    assert not only_own_conflicts(conflict('"helm" using v1'), "portkit")
    assert not only_own_conflicts(conflict(), "portkit")  # no causes listed: assume the worst


def test_causes_keep_conflict_messages_but_not_other_messages() -> None:
    body = {
        "kind": "Status",
        "reason": "Invalid",
        "message": "bad",
        "details": {
            "causes": [
                {"reason": "FieldValueInvalid", "message": 'Invalid value: "s3cr3t"', "field": "data.x"},
                {"reason": "FieldManagerConflict", "message": 'conflict with "helm"', "field": ".data.y"},
            ]
        },
    }
    error = api_error_from_status(422, json.dumps(body), action="apply")
    assert error.causes == (
        ("FieldValueInvalid", "data.x", ""),
        ("FieldManagerConflict", ".data.y", 'conflict with "helm"'),
    )
    assert "s3cr3t" not in repr(error.causes)
