"""Quiesce: stop the writers before volume data is copied, and bring them back afterwards.

Data that changes while it is copied makes any comparison meaningless, so a quiesced migration

1. records the replicas of every Deployment and StatefulSet in the migrated namespaces
   (``workdir/quiesce.json``, written *before* anything is scaled) and scales them to zero in the source;
2. waits until their pods are gone;
3. starts a *holder* pod per bound claim (label ``portkit.dev/role: volume-holder``): Velero's file-system
   backup reads only volumes mounted by running pods, and its restore writes through a pod that mounts the
   claim, so with the applications down portkit provides those pods. They run a busybox ``sleep``, have no
   service-account token and minimal resources; the same pods, restored by Velero in the target, receive the
   data there, and portkit deletes them on both sides once the data moved;
4. after the migration the target gets the recorded replicas (the translated workloads carry them), and
   :func:`unquiesce` (Migration's rollback) gives the source its replicas back.

The downtime window runs from the first scale-down to the moment the target's workloads are ready.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs

from portkit import observe
from portkit.cluster import Cluster
from portkit.errors import ApiError, NotFoundError, PortkitError, VolumeMoveError
from portkit.volumes._pods import MANAGED_BY, ROLE_LABEL, delete_now, helper_spec

__all__ = [
    "HOLDER_ROLE",
    "QuiesceState",
    "ScaledWorkload",
    "delete_holders",
    "holder_pod",
    "quiesce",
    "unquiesce",
]

log = logging.getLogger(__name__)

HOLDER_ROLE = "volume-holder"
_WORKLOADS = (("apps/v1", "Deployment"), ("apps/v1", "StatefulSet"))


@attrs.frozen
class ScaledWorkload:
    """A workload portkit scaled to zero, and the replicas it had."""

    namespace: str
    kind: str
    name: str
    replicas: int

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form."""
        return attrs.asdict(self)


@attrs.frozen
class QuiesceState:
    """What quiesce did: the workloads it scaled down (with their replicas), the holder pods, when it began."""

    workloads: tuple[ScaledWorkload, ...]
    holders: tuple[str, ...]  # namespace/pod
    started_at: float  # wall-clock seconds (time.time()) of the first scale-down

    def replicas(self) -> dict[tuple[str, str, str], int]:
        """(namespace, kind, name) → replicas before quiesce."""
        return {(w.namespace, w.kind, w.name): w.replicas for w in self.workloads}

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form (what ``quiesce.json`` holds)."""
        return {
            "workloads": [w.to_dict() for w in self.workloads],
            "holders": list(self.holders),
            "started_at": self.started_at,
        }

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> QuiesceState | None:
        """Read ``quiesce.json``; None if there is none."""
        try:
            data = json.loads(Path(path).read_text())
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:
            raise VolumeMoveError(
                f"Cannot read the quiesce record {path}: {exc}",
                hint="It holds the source's replica counts; restore it from a backup or scale "
                "the source's workloads back by hand.",
            ) from exc
        try:
            workloads = tuple(
                ScaledWorkload(str(w["namespace"]), str(w["kind"]), str(w["name"]), int(w["replicas"]))
                for w in data.get("workloads") or []
            )
            return cls(
                workloads, tuple(str(h) for h in data.get("holders") or []), float(data.get("started_at") or 0.0)
            )
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise VolumeMoveError(f"The quiesce record {path} is malformed: {exc}") from exc

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write ``quiesce.json`` atomically."""
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(target.name + ".tmp")
        tmp.write_text(json.dumps(self.to_dict(), indent=2) + "\n")
        os.replace(tmp, target)


def holder_pod(namespace: str, claim: str, *, image: str, node: str | None = None) -> dict[str, Any]:
    """A pod that only mounts ``claim`` (read-write: Velero's restore writes through it) and sleeps."""
    spec: dict[str, Any] = {
        **helper_spec("Always"),
        "containers": [
            {
                "name": "holder",
                "image": image,
                "imagePullPolicy": "IfNotPresent",
                "command": ["sleep", "2147483647"],
                "resources": {"requests": {"cpu": "5m", "memory": "8Mi"}, "limits": {"cpu": "100m", "memory": "32Mi"}},
                "securityContext": {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}},
                "volumeMounts": [{"name": "data", "mountPath": "/data"}],
            }
        ],
        "volumes": [{"name": "data", "persistentVolumeClaim": {"claimName": claim}}],
    }
    if node:
        spec["nodeName"] = node
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": _holder_name(claim),
            "namespace": namespace,
            "labels": {MANAGED_BY: "portkit", ROLE_LABEL: HOLDER_ROLE},
            "annotations": {"backup.velero.io/backup-volumes": "data"},
        },
        "spec": spec,
    }


def _holder_name(claim: str) -> str:
    digest = hashlib.sha256(claim.encode()).hexdigest()[:8]
    return f"portkit-hold-{claim[:40].rstrip('-.')}-{digest}"


def _scale(cluster: Cluster, namespace: str, kind: str, name: str, replicas: int) -> None:
    resource = cluster.resource_for("apps/v1", kind)
    cluster.request(
        "PATCH",
        resource.path(namespace, name) + "/scale",
        body={"spec": {"replicas": replicas}},
        content_type="application/merge-patch+json",
        action=f"scale {kind} {namespace}/{name} to {replicas}",
    )


def _owned_pods_gone(cluster: Cluster, namespace: str, selectors: Sequence[str], timeout: float) -> None:
    pods = cluster.resource_for("v1", "Pod")
    deadline = time.monotonic() + timeout
    while True:
        left = [
            p["metadata"]["name"]
            for sel in selectors
            for p in cluster.list(pods, namespace, label_selector=sel)
            if ((p.get("metadata") or {}).get("labels") or {}).get(ROLE_LABEL) != HOLDER_ROLE
        ]
        if not left:
            return
        if time.monotonic() > deadline:
            raise VolumeMoveError(
                f"Pods of the scaled-down workloads in {namespace} are still there after {timeout:.0f} s: "
                f"{', '.join(sorted(left)[:5])}.",
                hint="They may be stuck terminating (finalizers, an unreachable node); the source's replica counts "
                "are recorded, so rolling back restores them.",
            )
        time.sleep(0.5)


def _selector(obj: Mapping[str, Any]) -> str | None:
    labels = (((obj.get("spec") or {}).get("selector") or {}).get("matchLabels")) or {}
    return ",".join(f"{k}={v}" for k, v in sorted(labels.items())) or None


@observe.step("quiesce")
def quiesce(
    source: Cluster,
    namespaces: Sequence[str],
    record: str | os.PathLike[str],
    *,
    image: str,
    timeout: float = 300.0,
) -> QuiesceState:
    """Scale the Deployments and StatefulSets of ``namespaces`` to zero (replicas recorded in ``record``
    first), wait for their pods to go, and start a holder pod per bound claim; see the module docstring.

    Idempotent: a second call (a resumed migration) keeps the replicas recorded the first time.
    """
    previous = QuiesceState.load(record)
    known = previous.replicas() if previous else {}
    workloads: list[ScaledWorkload] = list(previous.workloads) if previous else []
    selectors: dict[str, list[str]] = {}
    for ns in namespaces:
        for api_version, kind in _WORKLOADS:
            resource = source.resource_for(api_version, kind)
            for obj in source.list(resource, ns):
                name = obj["metadata"]["name"]
                sel = _selector(obj)
                if sel:
                    selectors.setdefault(ns, []).append(sel)
                if (ns, kind, name) not in known:
                    replicas = (obj.get("spec") or {}).get("replicas")
                    workloads.append(ScaledWorkload(ns, kind, name, 1 if replicas is None else int(replicas)))
    started = previous.started_at if previous else time.time()
    state = QuiesceState(tuple(workloads), previous.holders if previous else (), started)
    state.save(record)  # before anything is scaled: a crash here still knows the replicas
    for w in state.workloads:
        try:
            _scale(source, w.namespace, w.kind, w.name, 0)
        except NotFoundError:
            continue
    for ns, sels in selectors.items():
        _owned_pods_gone(source, ns, sels, timeout)
    holders = _start_holders(source, namespaces, image=image, timeout=timeout)
    state = attrs.evolve(state, holders=tuple(sorted(set(state.holders) | set(holders))))
    state.save(record)
    return state


def _start_holders(cluster: Cluster, namespaces: Sequence[str], *, image: str, timeout: float) -> list[str]:
    pvc = cluster.resource_for("v1", "PersistentVolumeClaim")
    pods = cluster.resource_for("v1", "Pod")
    started: list[tuple[str, str]] = []
    for ns in namespaces:
        for claim in cluster.list(pvc, ns):
            if (claim.get("status") or {}).get("phase") != "Bound":
                continue  # nothing was ever written: no volume, no data
            pod = holder_pod(ns, claim["metadata"]["name"], image=image)
            try:
                cluster.create(pod)
            except ApiError as exc:
                if exc.status != 409:
                    raise VolumeMoveError(
                        f"Cannot start the volume-holder pod for claim {ns}/{claim['metadata']['name']}: {exc.message}",
                        hint="Velero's file-system backup needs a running pod that mounts the claim.",
                    ) from exc
            started.append((ns, pod["metadata"]["name"]))
    deadline = time.monotonic() + timeout
    for ns, name in started:
        while True:
            pod = cluster.get(pods, name, ns)
            status = pod.get("status") or {}
            containers = status.get("containerStatuses") or []
            if status.get("phase") == "Running" and all(cs.get("ready") for cs in containers):
                break
            if time.monotonic() > deadline:
                waiting = [((cs.get("state") or {}).get("waiting") or {}) for cs in containers]
                why = "; ".join(f"{w.get('reason')}: {w.get('message') or ''}" for w in waiting if w)
                raise VolumeMoveError(
                    f"The volume-holder pod {ns}/{name} did not start within {timeout:.0f} s "
                    f"({why or 'phase ' + str(status.get('phase'))}).",
                    hint="Its image must be available to the source's nodes (helper_image=).",
                )
            time.sleep(0.5)
    return [f"{ns}/{name}" for ns, name in started]


def delete_holders(cluster: Cluster, namespaces: Sequence[str], *, timeout: float = 120.0) -> int:
    """Delete portkit's holder pods in ``namespaces`` and wait until they are gone; returns how many."""
    pods = cluster.resource_for("v1", "Pod")
    selector = f"{ROLE_LABEL}={HOLDER_ROLE},{MANAGED_BY}=portkit"
    names = [(ns, p["metadata"]["name"]) for ns in namespaces for p in cluster.list(pods, ns, label_selector=selector)]
    for ns, name in names:
        delete_now(cluster, ns, name, "volume-holder")
    deadline = time.monotonic() + timeout
    for ns, name in names:
        while True:
            try:
                cluster.get(pods, name, ns)
            except NotFoundError:
                break
            if time.monotonic() > deadline:
                raise VolumeMoveError(f"The volume-holder pod {ns}/{name} is still there after {timeout:.0f} s.")
            time.sleep(0.3)
    return len(names)


def unquiesce(source: Cluster, record: str | os.PathLike[str], *, namespaces: Sequence[str] = ()) -> list[str]:
    """Give the source back its recorded replicas and remove the holder pods; returns what was scaled."""
    state = QuiesceState.load(record)
    if state is None:
        return []
    done: list[str] = []
    errors: list[str] = []
    for w in state.workloads:
        try:
            _scale(source, w.namespace, w.kind, w.name, w.replicas)
            done.append(f"{w.kind} {w.namespace}/{w.name} → {w.replicas}")
        except NotFoundError:
            continue
        except PortkitError as exc:
            errors.append(f"{w.kind} {w.namespace}/{w.name}: {exc}")
    delete_holders(source, sorted({w.namespace for w in state.workloads} | set(namespaces)))
    if errors:
        raise VolumeMoveError(
            "Some source workloads could not be scaled back: " + "; ".join(errors),
            hint=f"The replicas are recorded in {record}; scale them by hand.",
        )
    return done
