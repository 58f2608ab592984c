"""Plan → apply → verify → rollback against an in-memory stand-in for the API server.

The stand-in implements the parts of ``portkit.Cluster`` replay uses, with a simplified server-side apply
(field owners per leaf path, conflicts between managers, force) so that the replay logic can be tested
without a cluster. The real API server is exercised by tests/integration/test_replay.py.
"""

from __future__ import annotations

import base64
import copy
import json
import threading
import uuid
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import attrs
import pytest

from portkit.cluster import ApiResource
from portkit.errors import (
    ApplyError,
    ClusterUnreachableError,
    ConfigurationError,
    ConflictError,
    ForbiddenError,
    InvalidError,
    NotFoundError,
    PlanError,
)
from portkit.model import ObjectRef, split_api_version
from portkit.replay import (
    APPLIED_ANNOTATION,
    ApplyInterrupted,
    Journal,
    apply,
    plan,
    rollback,
    verify,
)

# --------------------------------------------------------------------------------------------- fake
BUILTIN = [
    ("", "v1", "Namespace", "namespaces", False),
    ("", "v1", "ConfigMap", "configmaps", True),
    ("", "v1", "Secret", "secrets", True),
    ("", "v1", "Service", "services", True),
    ("", "v1", "ServiceAccount", "serviceaccounts", True),
    ("", "v1", "PersistentVolumeClaim", "persistentvolumeclaims", True),
    ("", "v1", "PersistentVolume", "persistentvolumes", False),
    ("", "v1", "Pod", "pods", True),
    ("", "v1", "Event", "events", True),
    ("apps", "v1", "Deployment", "deployments", True),
    ("apps", "v1", "StatefulSet", "statefulsets", True),
    ("batch", "v1", "Job", "jobs", True),
    ("rbac.authorization.k8s.io", "v1", "Role", "roles", True),
    ("rbac.authorization.k8s.io", "v1", "RoleBinding", "rolebindings", True),
    ("rbac.authorization.k8s.io", "v1", "ClusterRole", "clusterroles", False),
    ("networking.k8s.io", "v1", "Ingress", "ingresses", True),
    ("networking.k8s.io", "v1", "IngressClass", "ingressclasses", False),
    ("networking.k8s.io", "v1", "NetworkPolicy", "networkpolicies", True),
    ("storage.k8s.io", "v1", "StorageClass", "storageclasses", False),
    ("scheduling.k8s.io", "v1", "PriorityClass", "priorityclasses", False),
    ("apiextensions.k8s.io", "v1", "CustomResourceDefinition", "customresourcedefinitions", False),
]
VERBS = frozenset({"get", "list", "create", "update", "patch", "delete"})


@attrs.define
class Stats:
    requests: int = 0
    writes: int = 0


def _leaves(obj: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[tuple[Any, ...], Any]]:
    if isinstance(obj, dict) and obj:
        for k, v in obj.items():
            yield from _leaves(v, (*prefix, k))
    else:
        yield prefix, obj


def _set(obj: dict[str, Any], path: tuple[Any, ...], value: Any) -> None:
    cur = obj
    for step in path[:-1]:
        cur = cur.setdefault(step, {})
    cur[path[-1]] = copy.deepcopy(value)


def _delete(obj: dict[str, Any], path: tuple[Any, ...]) -> None:
    cur: Any = obj
    for step in path[:-1]:
        cur = cur.get(step) if isinstance(cur, dict) else None
        if cur is None:
            return
    if isinstance(cur, dict):
        cur.pop(path[-1], None)


def _entries(owners: Mapping[tuple[Any, ...], str]) -> list[dict[str, Any]]:
    """managedFields entries of an object from its owners ("<manager>@update" for a plain create's)."""
    out = []
    for owner in sorted(set(owners.values())):
        manager, _, how = owner.partition("@")
        out.append({"manager": manager, "operation": "Update" if how else "Apply", "apiVersion": "v1"})
    return out


def _conflict_with(owner: str) -> str:
    manager, _, how = owner.partition("@")
    return f'conflict with "{manager}"' + (" using v1" if how else "")


class FakeCluster:
    """An in-memory API server with a simplified server-side apply."""

    def __init__(self, name: str = "fake") -> None:
        self.name = name
        self.server = f"https://{name}.invalid"
        self.stats = Stats()
        self.resources_ = {
            (g, v, k): ApiResource(group=g, version=v, kind=k, name=n, namespaced=ns, verbs=VERBS)
            for g, v, k, n, ns in BUILTIN
        }
        self.store: dict[tuple[str, str, str, str], dict[str, Any]] = {}
        self.owners: dict[tuple[str, str, str, str], dict[tuple[Any, ...], str]] = {}
        self.lock = threading.Lock()
        self.reject: Callable[[Mapping[str, Any]], str | None] = lambda obj: None
        self.unreachable_after: int | None = None
        self.apply_calls: list[tuple[str, bool]] = []  # (str(ref), dry_run)
        self.ownership_patches = 0
        self.add(
            {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "default"}},
            manager="kube-apiserver",
        )

    # -- helpers for tests ------------------------------------------------------------------------
    def key(self, obj: Mapping[str, Any]) -> tuple[str, str, str, str]:
        ref = ObjectRef.from_obj(obj)
        return (ref.group, ref.kind, ref.namespace, ref.name)

    def add(self, obj: dict[str, Any], manager: str = "kubectl") -> dict[str, Any]:
        """Store an object as another field manager would (bypassing checks)."""
        return self._write(copy.deepcopy(obj), manager, force=True, dry_run=False, check=False)

    def live(self, kind: str, name: str, namespace: str = "") -> dict[str, Any] | None:
        for (_g, k, ns, n), obj in self.store.items():
            if k == kind and n == name and ns == namespace:
                return obj
        return None

    # -- Cluster interface ------------------------------------------------------------------------
    def invalidate_discovery(self) -> None:
        pass

    def resource_for(self, api_version: str, kind: str) -> ApiResource:
        group, version = split_api_version(api_version)
        with self.lock:
            found = self.resources_.get((group, version, kind))
        if found is None:
            raise NotFoundError(f"no {kind} in {api_version}", status=404)
        return found

    def resource_of(self, obj: Mapping[str, Any]) -> ApiResource:
        return self.resource_for(str(obj.get("apiVersion")), str(obj.get("kind")))

    def _tick(self, write: bool) -> None:
        with self.lock:
            self.stats.requests += 1
            if write:
                self.stats.writes += 1
                if self.unreachable_after is not None and self.stats.writes > self.unreachable_after:
                    raise ClusterUnreachableError("connection refused (fake)")

    def list(
        self,
        resource: ApiResource,
        namespace: str | None = None,
        *,
        label_selector: str | None = None,
        field_selector: str | None = None,
        limit: int = 500,
        not_older_than: str | None = None,
    ) -> Iterator[dict[str, Any]]:
        self._tick(False)
        with self.lock:
            items = [
                copy.deepcopy(o)
                for (g, k, ns, _n), o in self.store.items()
                if g == resource.group and k == resource.kind and (not namespace or ns == namespace)
            ]
        yield from items

    def resource_version(self, resource: ApiResource, namespace: str | None = None) -> str:
        self._tick(False)
        return "1"

    def get(
        self, resource: ApiResource, name: str, namespace: str | None = None, *, not_older_than: str | None = None
    ) -> dict[str, Any]:
        self._tick(False)
        with self.lock:
            obj = self.store.get((resource.group, resource.kind, namespace or "", name))
        if obj is None:
            raise NotFoundError(f"{resource.kind} {name} not found", status=404, reason="NotFound")
        return copy.deepcopy(obj)

    def apply(
        self, obj: Mapping[str, Any], *, field_manager: str = "portkit", force: bool = False, dry_run: bool = False
    ) -> dict[str, Any]:
        self._tick(not dry_run)
        self.apply_calls.append((str(ObjectRef.from_obj(obj)), dry_run))
        self.resource_of(obj)
        return self._write(copy.deepcopy(dict(obj)), field_manager, force=force, dry_run=dry_run, check=True)

    def create(
        self, obj: Mapping[str, Any], *, field_manager: str | None = None, dry_run: bool = False
    ) -> dict[str, Any]:
        """A plain create: the fields belong to the manager's Update entry ("<manager>@update" here)."""
        self._tick(not dry_run)
        self.apply_calls.append((str(ObjectRef.from_obj(obj)), dry_run))
        self.resource_of(obj)
        if self.key(obj) in self.store:
            raise ConflictError(f"{ObjectRef.from_obj(obj)} already exists", status=409, reason="AlreadyExists")
        owner = f"{field_manager or 'unknown'}@update"
        return self._write(copy.deepcopy(dict(obj)), owner, force=False, dry_run=dry_run, check=True)

    def get_obj(self, obj: Mapping[str, Any]) -> dict[str, Any] | None:
        self._tick(False)
        with self.lock:
            found = self.store.get(self.key(obj))
        return copy.deepcopy(found) if found is not None else None

    def request(
        self, method: str, path: str, *, body: Any = None, query: Mapping[str, Any] | None = None, **_: Any
    ) -> Any:
        self._tick(method != "GET")
        assert method in ("DELETE", "PATCH")
        for (g, k, ns, n), obj in list(self.store.items()):
            res = self.resources_[(g, split_api_version(obj["apiVersion"])[1], k)]
            if res.path(ns or None, n) == path and method == "PATCH":
                # only the ownership hand-over of portkit.replay.ownership: Update entries become Apply
                ops = {op["path"]: op["value"] for op in body}
                if ops["/metadata/resourceVersion"] != obj["metadata"].get("resourceVersion"):
                    raise ConflictError("the object has been modified", status=409, reason="Conflict")
                manager = (query or {})["fieldManager"]
                key = (g, k, ns, n)
                with self.lock:
                    self.owners[key] = {
                        p: (manager if o == f"{manager}@update" else o) for p, o in self.owners[key].items()
                    }
                    obj["metadata"]["managedFields"] = _entries(self.owners[key])
                self.ownership_patches += 1
                return copy.deepcopy(obj)
            if res.path(ns or None, n) == path:
                want = (body or {}).get("preconditions", {}).get("uid")
                if want and want != obj["metadata"]["uid"]:
                    raise ConflictError("uid precondition failed", status=409, reason="Conflict")
                with self.lock:
                    del self.store[(g, k, ns, n)]
                return {"kind": "Status"}
        raise NotFoundError("not found", status=404)

    def _write(self, obj: dict[str, Any], manager: str, *, force: bool, dry_run: bool, check: bool) -> dict[str, Any]:
        key = self.key(obj)
        ref = ObjectRef.from_obj(obj)
        if obj["kind"] == "Secret" and "stringData" in obj:  # the API server stores stringData as data
            data = obj.setdefault("data", {})
            for k, v in obj.pop("stringData").items():
                data[k] = base64.b64encode(v.encode()).decode()
        if check:
            if ref.namespace and not any(k[1] == "Namespace" and k[3] == ref.namespace for k in self.store):
                raise NotFoundError(f'namespaces "{ref.namespace}" not found', status=404, reason="NotFound")
            problem = self.reject(obj)
            if problem:
                raise InvalidError(f"apply {ref} failed: HTTP 422 Invalid: {problem}.", status=422, reason="Invalid")
        with self.lock:
            current = copy.deepcopy(self.store.get(key))
            owners = dict(self.owners.get(key, {}))
            new_leaves = dict(_leaves({k: v for k, v in obj.items() if k not in ("apiVersion", "kind")}))
            new_leaves.pop(("metadata", "name"), None)
            new_leaves.pop(("metadata", "namespace"), None)
            conflicts = []
            if current is not None:
                have = dict(_leaves({k: v for k, v in current.items() if k not in ("apiVersion", "kind")}))
                for path, value in new_leaves.items():
                    owner = owners.get(path)
                    if owner and owner != manager and have.get(path) != value:
                        conflicts.append((path, owner))
            if conflicts and not force:
                causes = tuple(("FieldManagerConflict", ".".join(map(str, p)), _conflict_with(o)) for p, o in conflicts)
                listing = ", ".join(f"{said}: .{field}" for _kind, field, said in causes)
                raise ConflictError(
                    f"apply {ref} failed: HTTP 409 Conflict: Apply failed with {len(conflicts)} conflict: {listing}.",
                    status=409,
                    reason="Conflict",
                    causes=causes,
                )
            result = current or {
                "apiVersion": obj["apiVersion"],
                "kind": obj["kind"],
                "metadata": {
                    "name": ref.name,
                    **({"namespace": ref.namespace} if ref.namespace else {}),
                    "uid": str(uuid.uuid4()),
                    "creationTimestamp": "2026-01-01T00:00:00Z",
                    "generation": 1,
                },
            }
            for path, mgr in list(owners.items()):
                if mgr == manager and path not in new_leaves:
                    _delete(result, path)
                    del owners[path]
            for path, value in new_leaves.items():
                _set(result, path, value)
                owners[path] = manager
            result["metadata"]["managedFields"] = _entries(owners)
            if obj["kind"] == "CustomResourceDefinition":
                result["status"] = {"conditions": [{"type": "Established", "status": "True"}]}
            if not dry_run:
                if current != result or current is None:
                    rv = int(result["metadata"].get("resourceVersion", "0")) + 1
                    result["metadata"]["resourceVersion"] = str(rv)
                self.store[key] = result
                self.owners[key] = owners
                if obj["kind"] == "CustomResourceDefinition":
                    spec = obj["spec"]
                    for v in spec["versions"]:
                        self.resources_[(spec["group"], v["name"], spec["names"]["kind"])] = ApiResource(
                            group=spec["group"],
                            version=v["name"],
                            kind=spec["names"]["kind"],
                            name=spec["names"]["plural"],
                            namespaced=spec.get("scope") == "Namespaced",
                            verbs=VERBS,
                        )
            return copy.deepcopy(result)


# ------------------------------------------------------------------------------------------ samples
def ns(name: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}


def cm(name: str, namespace: str = "shop", **data: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": namespace},
        "data": data or {"k": "v"},
    }


def secret(name: str, namespace: str = "shop", value: str = "hunter2") -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": name, "namespace": namespace},
        "stringData": {"password": value},
    }


def deployment(name: str, namespace: str = "shop", image: str = "nginx:1") -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "main", "image": image}]},
            },
        },
    }


def shop() -> list[dict[str, Any]]:
    return [
        ns("shop"),
        cm("settings", color="blue"),
        cm("other"),
        secret("db"),
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "web", "namespace": "shop"}},
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "web", "namespace": "shop"},
            "spec": {"selector": {"app": "web"}, "ports": [{"name": "http", "port": 80}]},
        },
        deployment("web"),
    ]


# ---------------------------------------------------------------------------------------------- plan
def test_plan_on_empty_target_creates_everything_and_lists_nothing_blocking() -> None:
    fake = FakeCluster()
    p = plan(shop(), fake)  # type: ignore[arg-type]
    assert p.ok, p.to_text()
    assert [a.op for a in p.actions] == ["create"] * 7
    assert p.counts()["create"] == 7
    # nothing was written by planning
    assert fake.stats.writes == 0
    assert fake.live("ConfigMap", "settings", "shop") is None
    # the namespace does not exist yet: objects in it cannot be dry-run, and the plan says so
    web = p.action("Deployment", "web", "shop")
    assert web is not None and not web.validated and "namespace shop" in web.message


def test_plan_dry_runs_objects_in_existing_namespaces_and_collects_api_messages() -> None:
    fake = FakeCluster()
    fake.add(ns("shop"))
    fake.reject = lambda obj: "spec.replicas: Invalid value: -1" if obj["kind"] == "Deployment" else None
    p = plan(shop(), fake, workers=4)  # type: ignore[arg-type]
    web = p.action("Deployment", "web")
    assert web is not None and "spec.replicas: Invalid value: -1" in web.error
    assert not p.ok
    assert [a.ref.name for a in p.errors] == ["web"]
    others = [a for a in p.actions if a.ref.kind not in ("Namespace", "Deployment")]
    assert others and all(a.validated for a in others)
    assert all(dry for _ref, dry in fake.apply_calls), "plan must only dry-run"
    assert "Invalid value: -1" in p.to_text()


def test_blockers_are_listed_together() -> None:
    fake = FakeCluster()
    objs = [
        {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w", "namespace": "shop"}},
        {
            "apiVersion": "v1",
            "kind": "PersistentVolumeClaim",
            "metadata": {"name": "data", "namespace": "shop"},
            "spec": {
                "storageClassName": "gp3",
                "accessModes": ["ReadWriteOnce"],
                "resources": {"requests": {"storage": "1Gi"}},
            },
        },
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "Ingress",
            "metadata": {"name": "web", "namespace": "shop"},
            "spec": {"ingressClassName": "alb"},
        },
        {
            **deployment("web"),
            "spec": {
                **deployment("web")["spec"],
                "template": {
                    "metadata": {"labels": {"app": "web"}},
                    "spec": {"priorityClassName": "critical-app", "containers": [{"name": "m", "image": "x"}]},
                },
            },
        },
    ]
    p = plan(objs, fake)  # type: ignore[arg-type]
    whats = sorted(b.what for b in p.blockers)
    assert whats == ["ingressclass", "kind", "namespace", "priorityclass", "storageclass"]
    text = p.to_text()
    for needle in ("Widget in example.com/v1", "'gp3'", "'alb'", "'critical-app'", "'shop'"):
        assert needle in text
    with pytest.raises(PlanError):
        p.raise_if_blocked()
    with pytest.raises(ApplyError, match="blocked"):
        apply(p)
    assert fake.stats.writes == 0


def test_classes_and_crds_in_the_bundle_are_not_blockers() -> None:
    fake = FakeCluster()
    crd = {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "widgets.example.com"},
        "spec": {
            "group": "example.com",
            "scope": "Namespaced",
            "names": {"kind": "Widget", "plural": "widgets"},
            "versions": [{"name": "v1", "served": True, "storage": True}],
        },
    }
    objs = [
        ns("shop"),
        crd,
        {"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass", "metadata": {"name": "fast"}, "provisioner": "x"},
        {
            "apiVersion": "v1",
            "kind": "PersistentVolumeClaim",
            "metadata": {"name": "d", "namespace": "shop"},
            "spec": {"storageClassName": "fast"},
        },
        {
            "apiVersion": "example.com/v1",
            "kind": "Widget",
            "metadata": {"name": "w", "namespace": "shop"},
            "spec": {"size": 3},
        },
    ]
    p = plan(objs, fake)  # type: ignore[arg-type]
    assert p.blockers == []
    widget = p.action("Widget", "w")
    assert widget is not None and widget.deferred and widget.wave_name == "custom"
    result = apply(p)
    assert result.ok, result.to_text()
    assert fake.live("Widget", "w", "shop") is not None
    # CRD before the custom resource, namespace first
    order = [r for r, dry in fake.apply_calls if not dry]
    assert order.index("CustomResourceDefinition.apiextensions.k8s.io widgets.example.com") < order.index(
        "Widget.example.com shop/w"
    )
    assert order[0] == "Namespace shop"


def test_existing_policies() -> None:
    fake = FakeCluster()
    fake.add(ns("shop"))
    fake.add(cm("settings", color="red"))
    objs = [ns("shop"), cm("settings", color="blue")]
    assert plan(objs, fake, existing="skip").action("ConfigMap", "settings").op == "skip"  # type: ignore
    failing = plan(objs, fake, existing="fail")  # type: ignore[arg-type]
    assert failing.action("ConfigMap", "settings").op == "conflict"  # type: ignore[union-attr]
    assert [b.what for b in failing.blockers] == ["exists"]
    with pytest.raises(ConfigurationError):
        plan(objs, fake, existing="replace")  # type: ignore[arg-type]


def test_update_diff_and_conflict_with_another_field_manager() -> None:
    fake = FakeCluster()
    fake.add(ns("shop"))
    fake.add(cm("settings", color="red"), manager="kubectl")
    p = plan([ns("shop"), cm("settings", color="blue")], fake)  # type: ignore[arg-type]
    action = p.action("ConfigMap", "settings")
    assert action is not None and action.op == "conflict"
    assert 'conflict with "kubectl"' in action.message
    assert any(d.path == "data.color" and d.old == "red" and d.new == "blue" for d in action.diff)
    assert "data.color" in p.diff()

    result = apply(p)
    assert not result.ok
    failure = result.result("ConfigMap", "settings")
    assert failure is not None and failure.outcome == "failed" and "force" in failure.message
    assert fake.live("ConfigMap", "settings", "shop")["data"]["color"] == "red"  # type: ignore[index]

    forced = apply(plan([ns("shop"), cm("settings", color="blue")], fake), force=True)  # type: ignore[arg-type]
    assert forced.ok, forced.to_text()
    assert fake.live("ConfigMap", "settings", "shop")["data"]["color"] == "blue"  # type: ignore[index]


# --------------------------------------------------------------------------------------------- apply
def test_apply_then_reapply_is_zero_writes_with_fresh_plan_and_with_the_same_plan(tmp_path: Path) -> None:
    fake = FakeCluster()
    p = plan(shop(), fake)  # type: ignore[arg-type]
    first = apply(p, workdir=tmp_path / "j")
    assert first.ok, first.to_text()
    assert first.writes == 7 and first.counts()["created"] == 7
    for obj in shop():
        live = fake.live(obj["kind"], obj["metadata"]["name"], obj["metadata"].get("namespace", ""))
        assert live is not None and APPLIED_ANNOTATION in live["metadata"]["annotations"]

    writes_before = fake.stats.writes
    again = apply(p, workdir=tmp_path / "j")  # same plan, same journal
    assert again.writes == 0 and fake.stats.writes == writes_before
    assert again.counts()["unchanged"] == 7

    calls_before = len(fake.apply_calls)
    fresh = plan(shop(), fake)  # type: ignore[arg-type]
    assert fresh.counts()["unchanged"] == 7, fresh.to_text()
    assert len(fake.apply_calls) == calls_before, "unchanged objects need no dry run"
    third = apply(fresh)
    assert third.writes == 0 and fake.stats.writes == writes_before


def test_in_memory_journal_makes_reapplying_the_same_plan_a_noop() -> None:
    fake = FakeCluster()
    p = plan(shop(), fake)  # type: ignore[arg-type]
    assert apply(p).writes == 7
    assert apply(p).writes == 0


def test_changed_bundle_updates_only_what_changed_and_removes_dropped_fields() -> None:
    fake = FakeCluster()
    apply(plan(shop(), fake))  # type: ignore[arg-type]
    changed = shop()
    changed[1] = cm("settings", color="green")  # was color=blue
    p = plan(changed, fake)  # type: ignore[arg-type]
    counts = p.counts()
    assert counts["update"] == 1 and counts["unchanged"] == 6, p.to_text()
    action = p.action("ConfigMap", "settings")
    assert action is not None
    assert [(d.path, d.old, d.new) for d in action.diff] == [("data.color", "blue", "green")]
    result = apply(p)
    assert result.writes == 1 and result.counts()["updated"] == 1
    assert fake.live("ConfigMap", "settings", "shop")["data"] == {"color": "green"}  # type: ignore[index]


def test_objects_portkit_created_are_updated_by_apply_without_conflicting_with_portkit() -> None:
    fake = FakeCluster()
    first = apply(plan([ns("shop"), cm("settings", a="1", b="2")], fake))  # type: ignore[arg-type]
    assert first.counts()["created"] == 2
    live = fake.live("ConfigMap", "settings", "shop")
    assert live is not None and live["metadata"]["managedFields"][0]["operation"] == "Update"  # a plain create

    p = plan([ns("shop"), cm("settings", a="changed")], fake)  # type: ignore[arg-type]
    action = p.action("ConfigMap", "settings")
    assert action is not None and action.op == "update" and action.created_ownership, p.to_text()
    dry = apply(p, dry_run=True)
    assert dry.ok and dry.counts()["dry-run"] == 1 and fake.ownership_patches == 0, dry.to_text()
    result = apply(p)
    assert result.ok, result.to_text()
    assert fake.ownership_patches == 1
    live = fake.live("ConfigMap", "settings", "shop")
    assert live is not None and live["data"] == {"a": "changed"}  # the dropped key is gone, as with apply
    assert live["metadata"]["managedFields"] == [{"manager": "portkit", "operation": "Apply", "apiVersion": "v1"}]

    again = apply(plan([ns("shop"), cm("settings", a="again")], fake))  # type: ignore[arg-type]
    assert again.ok and fake.ownership_patches == 1, "the hand-over happens once"


def test_rejected_object_is_reported_and_the_others_are_applied() -> None:
    fake = FakeCluster()
    p = plan(shop(), fake)  # type: ignore[arg-type]
    fake.reject = lambda obj: "spec.template: Invalid value: bad" if obj["kind"] == "Deployment" else None
    result = apply(p)
    assert not result.ok
    assert [(f.ref.name, f.outcome) for f in result.failed] == [("web", "failed")]
    assert [o.ref.name for o in result.objects if o.error] == ["web"]
    assert "spec.template: Invalid value: bad" in result.failed[0].message
    assert result.counts()["created"] == 6
    assert fake.live("Service", "web", "shop") is not None
    assert "Invalid value: bad" in result.to_text()
    assert json.loads(json.dumps(result.to_dict()))["failed"][0]["object"] == "Deployment.apps shop/web"


def test_on_error_stop_does_not_start_later_waves() -> None:
    fake = FakeCluster()
    p = plan(shop(), fake)  # type: ignore[arg-type]
    fake.reject = lambda obj: "no" if obj["kind"] == "ConfigMap" and obj["metadata"]["name"] == "settings" else None
    result = apply(p, on_error="stop", workers=1)
    assert result.stopped and not result.ok
    assert fake.live("Deployment", "web", "shop") is None
    web = result.result("Deployment", "web")
    assert web is not None and web.outcome == "skipped"


def test_interrupted_apply_raises_and_resumes_from_the_journal(tmp_path: Path) -> None:
    fake = FakeCluster()
    objs = [ns("shop")] + [cm(f"c{i}") for i in range(30)] + [deployment("web")]
    p = plan(objs, fake)  # type: ignore[arg-type]
    fake.unreachable_after = 12
    with pytest.raises(ApplyInterrupted) as info:
        apply(p, workdir=tmp_path, workers=4)
    assert isinstance(info.value, ApplyError)
    partial = info.value.result
    assert partial.counts()["created"] == 12
    assert "journal" in str(info.value)
    journal = Journal(tmp_path)
    assert len([e for e in journal.entries if e.event == "applied"]) == 12

    fake.unreachable_after = None
    writes_before = fake.stats.writes
    resumed = apply(p, workdir=tmp_path)  # the same plan: journaled objects are not sent again
    assert resumed.ok, resumed.to_text()
    assert resumed.counts()["created"] == 32 - 12
    assert fake.stats.writes - writes_before == 32 - 12
    assert all(fake.live("ConfigMap", f"c{i}", "shop") is not None for i in range(30))


def test_journal_is_checked_against_the_target_server(tmp_path: Path) -> None:
    one, two = FakeCluster("one"), FakeCluster("two")
    apply(plan([ns("a")], one), workdir=tmp_path)  # type: ignore[arg-type]
    with pytest.raises(ApplyError, match=r"journal of an apply to https://one\.invalid, not https://two"):
        apply(plan([ns("a")], two), workdir=tmp_path)  # type: ignore[arg-type]


def test_dry_run_apply_writes_nothing(tmp_path: Path) -> None:
    fake = FakeCluster()
    fake.add(ns("shop"))
    result = apply(plan(shop(), fake), dry_run=True, workdir=tmp_path)  # type: ignore[arg-type]
    assert result.writes == 0 and result.dry_run
    assert fake.live("ConfigMap", "settings", "shop") is None
    assert result.counts()["dry-run"] == 7 and result.counts()["unchanged"] == 0


def test_rollback_deletes_only_what_the_run_created(tmp_path: Path) -> None:
    fake = FakeCluster()
    fake.add(ns("shop"))
    fake.add(cm("other"), manager="kubectl")  # existed before
    p = plan(shop(), fake)  # type: ignore[arg-type]
    result = apply(p, workdir=tmp_path, force=True)
    assert result.ok, result.to_text()
    assert result.result("ConfigMap", "other").outcome == "updated"  # type: ignore[union-attr]
    rb = rollback(tmp_path, fake)  # type: ignore[arg-type]
    assert rb.ok
    assert sorted(r.name for r in rb.deleted) == ["db", "settings", "web", "web", "web"]
    assert fake.live("ConfigMap", "other", "shop") is not None
    assert fake.live("Namespace", "shop") is not None
    assert fake.live("Deployment", "web", "shop") is None
    # deployments (later wave) are deleted before configmaps
    assert rb.deleted[0].kind == "Deployment"
    again = rollback(tmp_path, fake)  # type: ignore[arg-type]
    assert again.deleted == []


def test_rollback_keeps_an_object_replaced_since(tmp_path: Path) -> None:
    fake = FakeCluster()
    result = apply(plan([ns("shop"), cm("x")], fake), workdir=tmp_path)  # type: ignore[arg-type]
    assert result.ok
    fake.store.pop(fake.key(cm("x")))
    fake.add(cm("x"), manager="someone")  # a new object with the same name, other uid
    rb = rollback(result)
    assert [r.name for r, _why in rb.kept] == ["x"]
    assert fake.live("ConfigMap", "x", "shop") is not None


# ----------------------------------------------------------------------------------- nsmap + secrets
def test_namespace_map_applies_into_the_new_namespace_and_verify_uses_it() -> None:
    fake = FakeCluster()
    rb = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "RoleBinding",
        "metadata": {"name": "rb", "namespace": "shop"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "r"},
        "subjects": [{"kind": "ServiceAccount", "name": "web", "namespace": "shop"}],
    }
    objs = [*shop(), rb]
    p = plan(objs, fake, namespace_map={"shop": "shop-eu"})  # type: ignore[arg-type]
    assert {a.ref.namespace for a in p.actions if a.ref.kind != "Namespace"} == {"shop-eu"}
    assert any(c.path == "subjects[0].namespace" for c in p.mapping.changes)
    assert apply(p).ok
    assert fake.live("ConfigMap", "settings", "shop-eu") is not None
    assert fake.live("ConfigMap", "settings", "shop") is None
    live_rb = fake.live("RoleBinding", "rb", "shop-eu")
    assert live_rb is not None and live_rb["subjects"][0]["namespace"] == "shop-eu"
    assert verify(objs, fake, namespace_map={"shop": "shop-eu"}).ok  # type: ignore[arg-type]
    assert not verify(objs, fake).ok  # type: ignore[arg-type]


def test_secret_values_never_appear_in_plan_or_result_output() -> None:
    fake = FakeCluster()
    fake.add(ns("shop"))
    fake.add(
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "db", "namespace": "shop"},
            "data": {"password": "b2xkLXZhbHVl"},
        },
        manager="kubectl",
    )
    p = plan([ns("shop"), secret("db", value="s3cr3t-value")], fake)  # type: ignore[arg-type]
    action = p.action("Secret", "db")
    assert action is not None and action.diff
    rendered = p.to_text() + json.dumps(p.to_dict()) + p._repr_html_() + repr(p) + p.diff() + repr(action)
    result = apply(p, force=True)
    rendered += result.to_text() + json.dumps(result.to_dict()) + result._repr_html_()
    rendered += verify([secret("db", value="other")], fake).to_text()  # type: ignore[arg-type]
    for leak in ("s3cr3t-value", "czNjcjN0LXZhbHVl", "b2xkLXZhbHVl", "old-value"):
        assert leak not in rendered


def test_verify_reports_missing_and_differing_objects() -> None:
    fake = FakeCluster()
    apply(plan(shop(), fake))  # type: ignore[arg-type]
    fake.store.pop(fake.key(cm("other")))
    live = fake.live("Deployment", "web", "shop")
    assert live is not None
    live["spec"]["template"]["spec"]["containers"][0]["image"] = "nginx:2"
    result = verify(shop(), fake)  # type: ignore[arg-type]
    assert not result.ok
    assert [(m.ref.name, m.problem) for m in result.mismatches] == [("other", "missing"), ("web", "differs")]
    web = result.mismatches[1]
    assert web.diff[0].path == "spec.template.spec.containers[main].image"
    assert web.diff[0].old == "nginx:2" and web.diff[0].new == "nginx:1"


def test_plan_renders_as_text_html_and_json() -> None:
    fake = FakeCluster()
    p = plan(shop(), fake, namespace_map={"shop": "eu"})  # type: ignore[arg-type]
    data = json.loads(json.dumps(p.to_dict()))
    assert data["counts"]["create"] == 7 and data["namespace_map"] == {"shop": "eu"}
    assert len(data["actions"]) == 7 and "obj" not in data["actions"][0]
    assert "<table>" in p._repr_html_()
    assert "7 create" in repr(p) and len(repr(p)) < 200
    assert "Namespace map: shop -> eu" in p.to_text()
    reversed_input = plan(list(reversed(shop())), fake)  # type: ignore[arg-type]
    assert [a.wave for a in reversed_input.actions] == sorted(a.wave for a in reversed_input.actions)
    assert reversed_input.actions[0].ref.kind == "Namespace"


def test_a_namespace_on_a_cluster_scoped_object_is_dropped() -> None:
    fake = FakeCluster()
    role = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRole",
        "metadata": {"name": "reader", "namespace": "shop"},
        "rules": [],
    }
    p = plan([role], fake)  # type: ignore[arg-type]
    action = p.action("ClusterRole", "reader")
    assert action is not None and action.ref.namespace == "" and "namespace" not in action.obj["metadata"]
    assert apply(p).ok
    assert fake.live("ClusterRole", "reader") is not None
    assert plan([role], fake).action("ClusterRole", "reader").op == "unchanged"  # type: ignore[union-attr]


def test_an_object_whose_namespace_vanished_is_reported_not_raised() -> None:
    fake = FakeCluster()
    fake.add(ns("gone"))
    p = plan([cm("a", "gone"), cm("b", "default")], fake)  # type: ignore[arg-type]
    fake.store.pop(fake.key(ns("gone")))
    result = apply(p)
    assert [(o.ref.name, o.outcome) for o in result.objects] == [("a", "failed"), ("b", "created")]
    assert 'namespaces "gone" not found' in result.failed[0].message


def test_live_objects_are_read_with_gets_when_listing_is_forbidden() -> None:
    class NoList(FakeCluster):
        def list(self, resource: ApiResource, namespace: str | None = None, **kw: Any) -> Iterator[dict[str, Any]]:
            if resource.kind == "ConfigMap":
                raise ForbiddenError("configmaps is forbidden: cannot list", status=403)
            return super().list(resource, namespace, **kw)

    fake = NoList()
    objs = [ns("shop")] + [cm(f"c{i}") for i in range(6)]
    assert apply(plan(objs, fake)).ok  # type: ignore[arg-type]
    again = plan(objs, fake)  # type: ignore[arg-type]
    assert again.counts()["unchanged"] == 7
