"""Readiness rules for wait=True."""

from __future__ import annotations

from typing import Any

from portkit.replay.wait import readiness


def dep(want: int, **status: Any) -> dict[str, Any]:
    return {
        "kind": "Deployment",
        "metadata": {"generation": 2},
        "spec": {"replicas": want},
        "status": {"observedGeneration": 2, **status},
    }


def test_deployment() -> None:
    assert readiness(dep(2, replicas=2, updatedReplicas=2, availableReplicas=2))[0]
    ok, why, final = readiness(dep(3, replicas=3, updatedReplicas=3, availableReplicas=1))
    assert not ok and why == "1/3 replicas available" and not final
    assert readiness(dep(2, replicas=3, updatedReplicas=2, availableReplicas=2))[1] == (
        "1 old replicas pending termination"
    )
    stale = dep(1, replicas=1, updatedReplicas=1, availableReplicas=1)
    stale["status"]["observedGeneration"] = 1
    assert not readiness(stale)[0]
    stalled = dep(1, conditions=[{"type": "Progressing", "reason": "ProgressDeadlineExceeded", "message": "m"}])
    assert "stalled" in readiness(stalled)[1]
    assert readiness(dep(0))[0]


def test_statefulset_daemonset_pvc_job() -> None:
    sts = {"kind": "StatefulSet", "spec": {"replicas": 2}, "status": {"readyReplicas": 2, "updatedReplicas": 1}}
    assert readiness(sts)[1] == "1/2 replicas updated"
    sts["status"]["updatedReplicas"] = 2
    assert readiness(sts)[0]
    ds = {
        "kind": "DaemonSet",
        "status": {"desiredNumberScheduled": 3, "updatedNumberScheduled": 3, "numberAvailable": 2},
    }
    assert readiness(ds)[1] == "2/3 pods available"
    assert readiness({"kind": "PersistentVolumeClaim", "status": {"phase": "Bound"}})[0]
    assert readiness({"kind": "PersistentVolumeClaim", "status": {"phase": "Pending"}})[1] == "phase Pending"
    done = {"kind": "Job", "status": {"conditions": [{"type": "Complete", "status": "True"}]}}
    assert readiness(done)[0]
    failed = {
        "kind": "Job",
        "status": {"conditions": [{"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded"}]},
    }
    ok, why, final = readiness(failed)
    assert not ok and final and "BackoffLimitExceeded" in why
    assert readiness({"kind": "ConfigMap"})[0]
