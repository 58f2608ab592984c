"""What portkit's short-lived helper pods (data checkers, volume holders) have in common."""

from __future__ import annotations

import contextlib
from typing import Any

from portkit.cluster import Cluster
from portkit.errors import NotFoundError

__all__ = ["MANAGED_BY", "ROLE_LABEL", "delete_now", "helper_spec"]

MANAGED_BY = "app.kubernetes.io/managed-by"
ROLE_LABEL = "portkit.dev/role"


def helper_spec(restart_policy: str) -> dict[str, Any]:
    """The part of a helper pod's spec every helper shares: no service-account token, no service links, gone
    at once when deleted, and runnable on any node (tainted ones too: the volume decides where it runs)."""
    return {
        "restartPolicy": restart_policy,
        "automountServiceAccountToken": False,
        "enableServiceLinks": False,
        "terminationGracePeriodSeconds": 0,
        "tolerations": [{"operator": "Exists"}],
    }


def delete_now(cluster: Cluster, namespace: str, name: str, what: str) -> None:
    """Delete a helper pod without a grace period; an already missing pod is fine."""
    pods = cluster.resource_for("v1", "Pod")
    with contextlib.suppress(NotFoundError):
        cluster.request(
            "DELETE",
            pods.path(namespace, name),
            body={"kind": "DeleteOptions", "apiVersion": "v1", "gracePeriodSeconds": 0},
            action=f"delete {what} pod {namespace}/{name}",
        )
