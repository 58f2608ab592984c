"""Gatekeeper semantics around the Rego: which objects a constraint matches, and what its Rego sees.

The Rego of a ConstraintTemplate runs in OPA (see :mod:`portkit.policy.engine`); this module only decides,
the way Gatekeeper's ``match`` does, which objects each constraint applies to — ``kinds`` (apiGroups and
kinds, ``*`` wildcards), ``scope``, ``namespaces`` and ``excludedNamespaces`` (with ``prefix*`` /
``*suffix`` globs; a Namespace object is matched by its own name), ``labelSelector``, ``namespaceSelector``
(the labels of the bundle's Namespace objects; a namespace not in the bundle has no labels) and ``name`` —
and builds the ``input.review`` (``object``, ``kind``, ``name``, ``namespace``, ``operation: CREATE``) and
``data.inventory`` (the bundle's objects, as Gatekeeper's sync would hold them) the Rego reads.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from portkit.model import split_api_version
from portkit.policy.errors import PolicyInputError
from portkit.policy.sources import Constraint

__all__ = ["inventory", "label_selector_matches", "matches", "review"]


def _glob(pattern: str, value: str) -> bool:
    """Gatekeeper's wildcard: ``*mid*``, ``prefix*``, ``*suffix`` or an exact name."""
    if pattern.startswith("*") and pattern.endswith("*") and len(pattern) > 1:
        return pattern[1:-1] in value
    if pattern.endswith("*"):
        return value.startswith(pattern[:-1])
    if pattern.startswith("*"):
        return value.endswith(pattern[1:])
    return value == pattern


def label_selector_matches(selector: Mapping[str, Any], labels: Mapping[str, Any], where: str = "") -> bool:
    """A Kubernetes label selector (``matchLabels``, ``matchExpressions``) against a set of labels.

    Raises:
        PolicyInputError: an operator other than In, NotIn, Exists, DoesNotExist.
    """
    labels = {str(k): str(v) for k, v in (labels or {}).items()}
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(str(key)) != str(value):
            return False
    for expr in selector.get("matchExpressions") or []:
        key = str(expr.get("key") or "")
        op = str(expr.get("operator") or "")
        values = {str(v) for v in expr.get("values") or []}
        if op == "In":
            ok = key in labels and labels[key] in values
        elif op == "NotIn":
            ok = key not in labels or labels[key] not in values
        elif op == "Exists":
            ok = key in labels
        elif op == "DoesNotExist":
            ok = key not in labels
        else:
            raise PolicyInputError(
                f"{where}: label selector operator {op!r} is not one of In, NotIn, Exists, DoesNotExist."
            )
        if not ok:
            return False
    return True


def _is_namespace(obj: Mapping[str, Any]) -> bool:
    return obj.get("kind") == "Namespace" and split_api_version(str(obj.get("apiVersion") or ""))[0] == ""


def matches(constraint: Constraint, obj: Mapping[str, Any], namespace_labels: Mapping[str, Mapping[str, Any]]) -> bool:
    """Whether Gatekeeper would evaluate ``constraint`` for ``obj``.

    Args:
        namespace_labels: labels of the namespaces known (the bundle's Namespace objects), by name.
    """
    match = constraint.match
    where = f"{constraint.origin}: constraint {constraint.id}"
    group = split_api_version(str(obj.get("apiVersion") or ""))[0]
    kind = str(obj.get("kind") or "")
    meta = obj.get("metadata") or {}
    name = str(meta.get("name") or "")
    obj_ns = str(meta.get("namespace") or "")
    is_ns = _is_namespace(obj)

    kinds = match.get("kinds") or []
    if kinds and not any(
        (not k.get("kinds") or "*" in k["kinds"] or kind in k["kinds"])
        and (not k.get("apiGroups") or "*" in k["apiGroups"] or group in k["apiGroups"])
        for k in kinds
        if isinstance(k, Mapping)
    ):
        return False

    scope = match.get("scope")
    if scope == "Cluster" and not (is_ns or not obj_ns):
        return False
    if scope == "Namespaced" and (is_ns or not obj_ns):
        return False

    namespace = name if is_ns else obj_ns
    if namespace:
        wanted = [str(n) for n in match.get("namespaces") or []]
        if wanted and not any(_glob(n, namespace) for n in wanted):
            return False
        if any(_glob(str(n), namespace) for n in match.get("excludedNamespaces") or []):
            return False

    selector = match.get("labelSelector")
    if selector and not label_selector_matches(selector, meta.get("labels") or {}, where):
        return False

    ns_selector = match.get("namespaceSelector")
    if ns_selector and (is_ns or obj_ns):
        labels = meta.get("labels") if is_ns else namespace_labels.get(obj_ns)
        if not label_selector_matches(ns_selector, labels or {}, where):
            return False

    wanted_name = match.get("name")
    return not (wanted_name and not _glob(str(wanted_name), name))


def review(obj: Mapping[str, Any]) -> dict[str, Any]:
    """The ``input.review`` Gatekeeper builds for an admission request that creates ``obj``."""
    group, version = split_api_version(str(obj.get("apiVersion") or ""))
    meta = obj.get("metadata") or {}
    out: dict[str, Any] = {
        "kind": {"group": group, "version": version, "kind": str(obj.get("kind") or "")},
        "name": str(meta.get("name") or ""),
        "operation": "CREATE",
        "object": obj,
        "userInfo": {"username": "portkit"},
        "dryRun": True,
    }
    if meta.get("namespace") and not _is_namespace(obj):
        out["namespace"] = str(meta["namespace"])
    return out


def inventory(objects: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """``data.inventory`` as Gatekeeper's sync fills it: ``cluster[gv][kind][name]`` and
    ``namespace[ns][gv][kind][name]``."""
    cluster: dict[str, Any] = {}
    namespaced: dict[str, Any] = {}
    for obj in objects:
        meta = obj.get("metadata") or {}
        gv, kind, name = str(obj.get("apiVersion") or ""), str(obj.get("kind") or ""), str(meta.get("name") or "")
        ns = str(meta.get("namespace") or "")
        tree = namespaced.setdefault(ns, {}) if ns and not _is_namespace(obj) else cluster
        tree.setdefault(gv, {}).setdefault(kind, {})[name] = obj
    return {"cluster": cluster, "namespace": namespaced}
