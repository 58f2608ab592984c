"""User rules: conditions plus RFC 6902 JSON patches, merge patches and strategic patches.

The format is Velero's resource-modifier format, so existing Velero files are accepted as they are
(also wrapped in their ConfigMap)::

    version: v1
    resourceModifierRules:
    - conditions:
        groupResource: persistentvolumeclaims       # globs: "*.apps", "deployments.apps", "*"
        resourceNameRegex: "^mysql.*$"
        namespaces: [shop]
        labelSelector: {matchLabels: {app: db}}
        matches: [{path: /spec/storageClassName, value: gp3}]
      patches: [{operation: replace, path: /spec/storageClassName, value: fast}]
      mergePatches: [{patchData: '{"metadata": {"labels": {"moved": "true"}}}'}]

Rules apply in order; a failed ``test`` operation skips the rest of that rule. A rule may carry a ``name``
(portkit extension) used in errors and in the change records. Strategic patches are applied as merge
patches in which lists of objects with a ``name`` are merged by name.
"""

from __future__ import annotations

import fnmatch
import json
import re
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs

from portkit._files import read_user_file
from portkit._safe_yaml import load_yaml
from portkit.errors import BundleError, TranslationError
from portkit.model import split_api_version
from portkit.translate._base import BaseTranslator, Context, Item, fast_copy

__all__ = [
    "Rule",
    "RulesInput",
    "RulesTranslator",
    "apply_json_patch",
    "diff_paths",
    "load_rules",
    "merge_patch",
    "resource_name",
    "strategic_merge",
]

_OPS = {"add", "remove", "replace", "move", "copy", "test"}
_IRREGULAR = {
    "Endpoints": "endpoints",
    "NetworkPolicy": "networkpolicies",
    "PodSecurityPolicy": "podsecuritypolicies",
    "Ingress": "ingresses",
    "IngressClass": "ingressclasses",
    "StorageClass": "storageclasses",
    "VolumeSnapshotClass": "volumesnapshotclasses",
    "PriorityClass": "priorityclasses",
    "RuntimeClass": "runtimeclasses",
    "SecurityContextConstraints": "securitycontextconstraints",
}


def resource_name(kind: str) -> str:
    """The plural resource name of a kind (``Deployment`` → ``deployments``, ``Policy`` → ``policies``)."""
    if kind in _IRREGULAR:
        return _IRREGULAR[kind]
    low = kind.lower()
    if low.endswith(("s", "x", "z", "ch", "sh")):
        return low + "es"
    if low.endswith("y") and len(low) > 1 and low[-2] not in "aeiou":
        return low[:-1] + "ies"
    return low + "s"


class PatchTestFailed(Exception):
    """A JSON patch ``test`` operation did not match."""


def _unescape(token: str) -> str:
    return token.replace("~1", "/").replace("~0", "~")


def _tokens(ptr: str) -> list[str]:
    if ptr == "":
        return []
    if not ptr.startswith("/"):
        raise ValueError(f"JSON pointer {ptr!r} must start with '/'")
    return [_unescape(t) for t in ptr[1:].split("/")]


def _resolve(doc: Any, tokens: Sequence[str]) -> Any:
    cur = doc
    for t in tokens:
        if isinstance(cur, dict):
            if t not in cur:
                raise KeyError(t)
            cur = cur[t]
        elif isinstance(cur, list):
            if not t.isdigit() or int(t) >= len(cur):
                raise KeyError(t)
            cur = cur[int(t)]
        else:
            raise KeyError(t)
    return cur


def _get_ptr(doc: Any, ptr: str) -> Any:
    return _resolve(doc, _tokens(ptr))


def _put(doc: Any, tokens: list[str], value: Any, *, replace: bool) -> Any:
    if not tokens:
        return value
    parent = _resolve(doc, tokens[:-1])
    last = tokens[-1]
    if isinstance(parent, dict):
        if replace and last not in parent:
            raise KeyError(last)
        parent[last] = value
    elif isinstance(parent, list):
        if last == "-" and not replace:
            parent.append(value)
        else:
            if not last.isdigit():
                raise KeyError(last)
            idx = int(last)
            if replace:
                if idx >= len(parent):
                    raise KeyError(last)
                parent[idx] = value
            else:
                if idx > len(parent):
                    raise KeyError(last)
                parent.insert(idx, value)
    else:
        raise KeyError(last)
    return doc


def _delete(doc: Any, tokens: list[str]) -> Any:
    if not tokens:
        raise KeyError("")
    parent = _resolve(doc, tokens[:-1])
    last = tokens[-1]
    if isinstance(parent, dict):
        if last not in parent:
            raise KeyError(last)
        return parent.pop(last)
    if isinstance(parent, list) and last.isdigit() and int(last) < len(parent):
        return parent.pop(int(last))
    raise KeyError(last)


def apply_json_patch(doc: Any, ops: Sequence[Mapping[str, Any]]) -> Any:
    """Apply RFC 6902 operations to ``doc`` (changed in place where possible; the result is returned).

    Raises PatchTestFailed when a ``test`` fails, KeyError/ValueError when a path does not exist.
    """
    for op in ops:
        name = op["op"]
        tokens = _tokens(op["path"])
        if name == "test":
            if _resolve(doc, tokens) != op.get("value"):
                raise PatchTestFailed(op["path"])
        elif name == "add":
            doc = _put(doc, tokens, fast_copy(op.get("value")), replace=False)
        elif name == "replace":
            doc = _put(doc, tokens, fast_copy(op.get("value")), replace=True)
        elif name == "remove":
            _delete(doc, tokens)
        elif name == "move":
            from_tokens = _tokens(op["from"])
            value = _delete(doc, from_tokens)
            doc = _put(doc, tokens, value, replace=False)
        elif name == "copy":
            value = fast_copy(_resolve(doc, _tokens(op["from"])))
            doc = _put(doc, tokens, value, replace=False)
    return doc


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386 JSON merge patch (returns the new value; ``target`` dicts are changed in place)."""
    return _merge_dicts(target, patch, merge_patch)


def _merge_dicts(target: Any, patch: Any, merge: Callable[[Any, Any], Any]) -> Any:
    """The merge-patch rule for dicts (``None`` deletes a key), merging values with ``merge``."""
    if not isinstance(patch, dict):
        return fast_copy(patch)
    if not isinstance(target, dict):
        target = {}
    for key, value in patch.items():
        if value is None:
            target.pop(key, None)
        else:
            target[key] = merge(target.get(key), value)
    return target


def strategic_merge(target: Any, patch: Any) -> Any:
    """A merge patch in which lists of objects that all have a ``name`` are merged by name."""
    if isinstance(patch, list) and isinstance(target, list):
        if all(isinstance(p, dict) and "name" in p for p in patch) and all(
            isinstance(t, dict) and "name" in t for t in target
        ):
            out = list(target)
            index = {t["name"]: i for i, t in enumerate(out)}
            for p in patch:
                if p.get("$patch") == "delete":
                    if p["name"] in index:
                        out = [t for t in out if t["name"] != p["name"]]
                        index = {t["name"]: i for i, t in enumerate(out)}
                    continue
                if p["name"] in index:
                    out[index[p["name"]]] = strategic_merge(out[index[p["name"]]], p)
                else:
                    out.append(fast_copy(p))
                    index[p["name"]] = len(out) - 1
            return out
        return fast_copy(patch)
    return _merge_dicts(target, patch, strategic_merge)


def diff_paths(old: Any, new: Any, path: tuple[str | int, ...] = ()) -> list[tuple[tuple[str | int, ...], Any, Any]]:
    """Leaf-level differences between two JSON values: ``(path, old, new)`` (missing is None)."""
    if type(old) is dict and type(new) is dict:
        out = []
        for key in old.keys() | new.keys():
            if key not in new:
                out.append(((*path, key), old[key], None))
            elif key not in old:
                out.append(((*path, key), None, new[key]))
            elif old[key] != new[key]:
                out.extend(diff_paths(old[key], new[key], (*path, key)))
        return out
    if old != new:
        return [(path, old, new)]
    return []


def _velero_value(value: Any) -> Any:
    """Velero's reading of a patch value: strings that look like JSON literals are JSON."""
    if not isinstance(value, str):
        return value
    text = value
    if text == "":
        return ""
    if text == "null":
        return None
    if text.lower() in ("true", "false"):
        return text.lower() == "true"
    if text.startswith(("{", "[")):
        try:
            return json.loads(text)
        except ValueError:
            return _load_one(text, "a patch value")
    try:
        float(text)
    except ValueError:
        return text
    return json.loads(text) if re.fullmatch(r"-?\d+(\.\d+)?([eE][+-]?\d+)?", text) else text


@attrs.frozen
class Rule:
    """One validated rule."""

    name: str
    group_resource: str
    name_regex: re.Pattern[str] | None
    namespaces: tuple[str, ...]
    match_labels: Mapping[str, str]
    match_expressions: tuple[Mapping[str, Any], ...]
    matches: tuple[tuple[str, Any], ...]
    patches: tuple[Mapping[str, Any], ...]
    merge_patches: tuple[Any, ...]
    strategic_patches: tuple[Any, ...]

    def applies_to(self, obj: Mapping[str, Any]) -> bool:
        """True when the conditions hold for ``obj``."""
        group = split_api_version(str(obj.get("apiVersion") or ""))[0]
        kind = str(obj.get("kind") or "")
        plural = resource_name(kind)
        candidates = [f"{plural}.{group}" if group else plural, f"{kind.lower()}.{group}" if group else kind.lower()]
        if self.group_resource != "*" and not any(fnmatch.fnmatchcase(c, self.group_resource) for c in candidates):
            return False
        meta = obj.get("metadata") or {}
        if self.name_regex is not None and not self.name_regex.search(str(meta.get("name") or "")):
            return False
        if self.namespaces and str(meta.get("namespace") or "") not in self.namespaces:
            return False
        labels = meta.get("labels") or {}
        for k, v in self.match_labels.items():
            if labels.get(k) != v:
                return False
        for expr in self.match_expressions:
            op, key, values = expr.get("operator"), expr.get("key"), expr.get("values") or []
            if op == "In" and labels.get(key) not in values:
                return False
            if op == "NotIn" and labels.get(key) in values:
                return False
            if op == "Exists" and key not in labels:
                return False
            if op == "DoesNotExist" and key in labels:
                return False
        for ptr, value in self.matches:
            try:
                actual = _get_ptr(obj, ptr)
            except (KeyError, ValueError):
                return False
            if actual != value and str(actual) != str(value):
                return False
        return True


#: What ``rules=`` accepts: a rule file (path), YAML text, a parsed dict (Velero's resource-modifier format or
#: its ConfigMap), a list of rules (dicts or :class:`Rule`), one :class:`Rule`, or None.
RulesInput = str | Path | Mapping[str, Any] | Sequence[Rule | Mapping[str, Any]] | Rule | None


def _fail(where: str, field: str, message: str) -> TranslationError:
    return TranslationError(
        f"{where}: {field}: {message}.", hint="Fix the rule file (Velero resource-modifier format)."
    )


def _load_one(text: str | bytes, where: str) -> Any:
    """One YAML document, read as untrusted input (alias, depth and duplicate-key limits)."""
    docs = load_yaml(text, where=where)
    if len(docs) > 1:
        raise BundleError(f"{where}: expected one YAML document, found {len(docs)}.")
    return docs[0] if docs else None


def _parse_patch_data(data: object, where: str, field: str) -> Any:
    if isinstance(data, str):
        try:
            return _load_one(data, f"{where}: {field}")
        except BundleError as exc:
            if type(exc) is not BundleError:  # over a limit, a duplicate key: said precisely already
                raise
            raise _fail(where, field, f"patchData is neither JSON nor YAML ({exc.message})") from exc
    return data


def _rule(raw: object, index: int, origin: str) -> Rule:
    label = f"rule {index + 1}"
    if isinstance(raw, Mapping) and raw.get("name"):
        label += f" ({raw['name']})"
    where = f"{origin}: {label}"
    if not isinstance(raw, Mapping):
        raise _fail(where, "(rule)", "must be a mapping with conditions and patches")
    unknown = set(raw) - {"name", "conditions", "patches", "mergePatches", "strategicPatches"}
    if unknown:
        raise _fail(where, ", ".join(sorted(unknown)), "unknown field")
    cond = raw.get("conditions")
    if not isinstance(cond, Mapping):
        raise _fail(where, "conditions", "is required (a mapping)")
    unknown = set(cond) - {"groupResource", "resourceNameRegex", "namespaces", "labelSelector", "matches"}
    if unknown:
        raise _fail(where, "conditions." + ", ".join(sorted(unknown)), "unknown field")
    gr = cond.get("groupResource")
    if not isinstance(gr, str) or not gr:
        raise _fail(where, "conditions.groupResource", "is required (e.g. persistentvolumeclaims, deployments.apps, *)")
    regex = None
    if cond.get("resourceNameRegex") not in (None, ""):
        try:
            regex = re.compile(str(cond["resourceNameRegex"]))
        except re.error as exc:
            raise _fail(where, "conditions.resourceNameRegex", f"invalid regular expression ({exc})") from exc
    namespaces = cond.get("namespaces") or []
    if not isinstance(namespaces, list) or not all(isinstance(n, str) for n in namespaces):
        raise _fail(where, "conditions.namespaces", "must be a list of namespace names")
    selector = cond.get("labelSelector") or {}
    if not isinstance(selector, Mapping) or set(selector) - {"matchLabels", "matchExpressions"}:
        raise _fail(where, "conditions.labelSelector", "must have matchLabels and/or matchExpressions")
    match_labels = selector.get("matchLabels") or {}
    if not isinstance(match_labels, Mapping):
        raise _fail(where, "conditions.labelSelector.matchLabels", "must be a mapping")
    exprs = selector.get("matchExpressions") or []
    for i, e in enumerate(exprs):
        if (
            not isinstance(e, Mapping)
            or e.get("operator") not in ("In", "NotIn", "Exists", "DoesNotExist")
            or not e.get("key")
        ):
            raise _fail(
                where,
                f"conditions.labelSelector.matchExpressions[{i}]",
                "needs key and operator In/NotIn/Exists/DoesNotExist",
            )
    matches = []
    for i, m in enumerate(cond.get("matches") or []):
        if not isinstance(m, Mapping) or not isinstance(m.get("path"), str) or not m["path"].startswith("/"):
            raise _fail(where, f"conditions.matches[{i}].path", "must be a JSON pointer such as /spec/storageClassName")
        matches.append((m["path"], _velero_value(m.get("value"))))
    patches = []
    for i, p in enumerate(raw.get("patches") or []):
        field = f"patches[{i}]"
        if not isinstance(p, Mapping):
            raise _fail(where, field, "must be a mapping with operation and path")
        op = p.get("operation", p.get("op"))
        if op not in _OPS:
            raise _fail(where, f"{field}.operation", f"{op!r} is not one of {sorted(_OPS)}")
        path = p.get("path")
        if not isinstance(path, str) or (path and not path.startswith("/")):
            raise _fail(where, f"{field}.path", "must be a JSON pointer such as /spec/replicas")
        entry: dict[str, Any] = {"op": op, "path": path}
        if op in ("move", "copy"):
            frm = p.get("from")
            if not isinstance(frm, str) or not frm.startswith("/"):
                raise _fail(where, f"{field}.from", f"is required for {op}")
            entry["from"] = frm
        if op in ("add", "replace", "test"):
            if "value" not in p:
                raise _fail(where, f"{field}.value", f"is required for {op}")
            entry["value"] = _velero_value(p["value"])
        patches.append(entry)
    merges = []
    for i, m in enumerate(raw.get("mergePatches") or []):
        if not isinstance(m, Mapping) or "patchData" not in m:
            raise _fail(where, f"mergePatches[{i}].patchData", "is required")
        merges.append(_parse_patch_data(m["patchData"], where, f"mergePatches[{i}].patchData"))
    strategic = []
    for i, m in enumerate(raw.get("strategicPatches") or []):
        if not isinstance(m, Mapping) or "patchData" not in m:
            raise _fail(where, f"strategicPatches[{i}].patchData", "is required")
        strategic.append(_parse_patch_data(m["patchData"], where, f"strategicPatches[{i}].patchData"))
    if not patches and not merges and not strategic:
        raise _fail(where, "patches", "a rule needs patches, mergePatches or strategicPatches")
    return Rule(
        name=str(raw.get("name") or label),
        group_resource=gr,
        name_regex=regex,
        namespaces=tuple(namespaces),
        match_labels={str(k): str(v) for k, v in match_labels.items()},
        match_expressions=tuple(exprs),
        matches=tuple(matches),
        patches=tuple(patches),
        merge_patches=tuple(merges),
        strategic_patches=tuple(strategic),
    )


def load_rules(source: RulesInput) -> list[Rule]:
    """Read rules from a file path, YAML text, a parsed dict (Velero format or its ConfigMap) or a list."""
    if source is None:
        return []
    if isinstance(source, Rule):
        return [source]
    origin = "rules"
    data: Any = source
    if isinstance(source, Path) or (isinstance(source, str) and "\n" not in source and len(source) < 4096):
        path = Path(source)
        origin = str(path)
        try:
            raw, _ = read_user_file(path)  # a regular file within the size limit (never a FIFO)
        except FileNotFoundError as exc:
            raise TranslationError(f"cannot read the rule file {path}: {exc.strerror}.") from exc
        data = _load_one(raw, f"rule file {path}")
    elif isinstance(source, str):
        data = _load_one(source, "rules")
    if isinstance(data, Mapping) and data.get("kind") == "ConfigMap":
        values = list((data.get("data") or {}).values())
        if len(values) != 1:
            raise TranslationError(f"{origin}: a resource-modifier ConfigMap must have exactly one data key.")
        data = _load_one(str(values[0]), f"{origin}: the ConfigMap's data")
    if isinstance(data, Mapping):
        if "version" in data and str(data["version"]) != "v1":
            raise TranslationError(f"{origin}: version {data['version']!r} is not supported (use v1).")
        unknown = set(data) - {"version", "resourceModifierRules", "rules"}
        if unknown:
            raise TranslationError(
                f"{origin}: unknown top-level field(s) {sorted(unknown)}; expected resourceModifierRules."
            )
        data = data.get("resourceModifierRules", data.get("rules"))
    if data is None:
        return []
    if not isinstance(data, list):
        raise TranslationError(f"{origin}: expected a list of rules under resourceModifierRules.")
    return [r if isinstance(r, Rule) else _rule(r, i, origin) for i, r in enumerate(data)]


class RulesTranslator(BaseTranslator):
    """Applies the user's rules, last in the chain so that they win."""

    name = "rules"
    order = 100
    kinds = None
    description = "user rules (Velero resource-modifier format): JSON, merge and strategic patches"

    def begin(self, ctx: Context) -> None:
        """Look at the whole input once before the objects go through."""
        rules = ctx.rules if isinstance(ctx.rules, list) else load_rules(ctx.rules)
        ctx.state[self.name] = rules

    def translate(self, item: Item, ctx: Context) -> None:
        """Translate one object (see the module docstring)."""
        rules: list[Rule] = ctx.state[self.name]
        for rule in rules:
            if not rule.applies_to(item.obj):
                continue
            before = item.obj
            doc = fast_copy(before)
            try:
                if rule.patches:
                    doc = apply_json_patch(doc, rule.patches)
                for patch in rule.merge_patches:
                    doc = merge_patch(doc, patch)
                for patch in rule.strategic_patches:
                    doc = strategic_merge(doc, patch)
            except PatchTestFailed:
                continue
            except (KeyError, ValueError, IndexError) as exc:
                item.warn(f"rule {rule.name!r} did not apply: path {exc} does not exist")
                continue
            if not isinstance(doc, dict):
                item.warn(f"rule {rule.name!r} would replace the object with a non-object; skipped")
                continue
            diffs = diff_paths(before, doc)
            if not diffs:
                continue
            item.obj = doc
            item.owned = True
            for path, old, new in diffs:
                item.record(path, old, fast_copy(new), f"rule {rule.name}", "remove" if new is None else "set")
