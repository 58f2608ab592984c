"""Kustomize trees, understood well enough to translate bases and overlays without breaking them.

A small renderer builds what ``kustomize build`` builds for the features that carry provider-specific
values — ``resources`` (files and directories, recursively), ``components``, ``patches`` /
``patchesStrategicMerge`` / ``patchesJson6902`` (in files or inline), ``images``, ``namespace``,
``namePrefix``/``nameSuffix``, ``commonLabels``/``labels``/``commonAnnotations`` (on ``metadata`` only)
and ``replicas`` — and remembers for every rendered object which layer (the resource document, a patch,
an ``images`` entry, a transformer) last wrote each field. A change the translation makes to a rendered
object is then carried to the layer that wrote the field: an overlay's patch is edited in the patch, an
image override in ``images:`` is rewritten there and not in the base.

Left alone (reported): generators (``configMapGenerator``, ``secretGenerator``), ``helmCharts``,
``replacements``/``vars``, remote bases. Strategic-merge lists are merged by the merge keys of the
Kubernetes types (containers and volumes by name, ports, env, ...), by field name.
"""

from __future__ import annotations

import copy
import posixpath
import re
from collections.abc import Iterator, Sequence
from typing import Any

import attrs

from portkit.gitops._files import Repo, is_manifest, object_key
from portkit.model import CLUSTER_SCOPED_KINDS

__all__ = [
    "KUSTOMIZATION_NAMES",
    "DocRef",
    "Kustomization",
    "Layer",
    "Owner",
    "RObj",
    "Renderer",
    "find_kustomizations",
    "image_parts",
    "merge_key",
    "smp_merge",
]

KUSTOMIZATION_NAMES = ("kustomization.yaml", "kustomization.yml", "Kustomization")

_MERGE_KEYS = {
    "containers": "name",
    "initContainers": "name",
    "ephemeralContainers": "name",
    "env": "name",
    "volumes": "name",
    "volumeMounts": "mountPath",
    "volumeDevices": "devicePath",
    "imagePullSecrets": "name",
    "hostAliases": "ip",
    "topologySpreadConstraints": "topologyKey",
    "resourceClaims": "name",
    "volumeClaimTemplates": None,
}


def merge_key(field: Any, items: Sequence[Any]) -> str | None:
    """The strategic-merge key of a list under ``field`` (None: the list is replaced as a whole)."""
    if field == "ports":
        return "containerPort" if any(isinstance(i, dict) and "containerPort" in i for i in items) else "port"
    return _MERGE_KEYS.get(field) if isinstance(field, str) else None


@attrs.frozen
class DocRef:
    """Where content lives: document ``doc`` of ``file``, at ``prefix`` inside it. ``inline``: the
    content is YAML text held in a string at ``prefix`` (an inline patch of a kustomization)."""

    file: str
    doc: int
    prefix: tuple[str | int, ...] = ()
    inline: bool = False


@attrs.define
class Layer:
    """One step that wrote into a rendered object.

    ``kind``: ``smp`` (strategic-merge patch: ``content`` is the patch), ``json6902`` (``content`` is
    the list of operations, ``paths`` their resolved paths), ``images`` (an ``images`` entry: ``entry``
    its index, ``paths`` the image fields it set, ``before`` their values before), ``meta`` (namespace,
    name prefix/suffix, labels, annotations, replicas: ``paths`` the fields set).
    """

    kind: str
    kfile: str
    source: DocRef | None = None
    field: str = ""
    content: Any = None
    entry: int = -1
    paths: list[tuple[str | int, ...]] = attrs.field(factory=list)
    before: list[Any] = attrs.field(factory=list)


@attrs.define
class RObj:
    """A rendered object, the resource document it came from and the layers applied to it."""

    obj: dict[str, Any]
    base: DocRef
    orig_name: str
    layers: list[Layer] = attrs.field(factory=list)

    @property
    def key(self) -> tuple[str, str, str, str]:
        """(group, kind, namespace, name) as rendered."""
        return object_key(self.obj)


@attrs.frozen
class Owner:
    """Who wrote a rendered field: ``base`` (the resource document), ``patch`` (``doc``; ``path`` inside
    the patch content, below ``doc.prefix``), ``images`` (``layer``), ``meta`` (a transformer, or a patch
    portkit cannot edit) or ``removed`` (a JSON patch removes it)."""

    kind: str
    doc: DocRef | None = None
    path: tuple[str | int, ...] = ()
    layer: Layer | None = None


@attrs.define
class PatchSpec:
    """One patch entry of a kustomization."""

    field: str
    index: int
    source: DocRef | None
    content: Any
    target: dict[str, Any] | None
    json6902: bool


@attrs.define
class Kustomization:
    """One kustomization file, parsed."""

    file: str
    dir: str
    data: dict[str, Any]
    resources: list[tuple[str, int]] = attrs.field(factory=list)  # (entry, index in its field)
    components: list[str] = attrs.field(factory=list)
    patches: list[PatchSpec] = attrs.field(factory=list)
    images: list[tuple[int, dict[str, Any]]] = attrs.field(factory=list)
    generator_files: list[str] = attrs.field(factory=list)
    notes: list[str] = attrs.field(factory=list)

    @property
    def resources_field(self) -> str:
        """``resources`` (or the old ``bases``)."""
        return "resources" if "resources" in self.data else "bases"


def _is_remote(entry: str) -> bool:
    return (
        "://" in entry
        or entry.startswith(("github.com/", "git@", "gitlab.com/", "bitbucket.org/"))
        or ("?ref=" in entry)
    )


def _join(base_dir: str, entry: str) -> str | None:
    """``entry`` relative to ``base_dir`` as a repository path; None when it leaves the repository."""
    joined = posixpath.normpath(posixpath.join(base_dir, entry)) if base_dir else posixpath.normpath(entry)
    if joined == ".":
        return ""
    if joined.startswith("../") or joined == ".." or joined.startswith("/"):
        return None
    return joined


def find_kustomizations(repo: Repo) -> dict[str, Kustomization]:
    """The kustomizations of ``repo`` by directory (``""`` for the root)."""
    out: dict[str, Kustomization] = {}
    for rel, file in repo.files.items():
        name = posixpath.basename(rel)
        if name not in KUSTOMIZATION_NAMES or not file.docs or not isinstance(file.docs[0], dict):
            continue
        kdir = posixpath.dirname(rel)
        if kdir in out:
            out[kdir].notes.append(f"{kdir or '.'}: several kustomization files; {out[kdir].file} is used")
            continue
        out[kdir] = _parse(rel, kdir, file.docs[0], repo)
    return out


def _strings(value: Any) -> list[tuple[int, str]]:
    return [(i, v) for i, v in enumerate(value)] if isinstance(value, list) else []


def _parse(rel: str, kdir: str, data: dict[str, Any], repo: Repo) -> Kustomization:
    k = Kustomization(rel, kdir, data)
    for field in ("resources", "bases"):
        for i, entry in _strings(data.get(field)):
            if isinstance(entry, str):
                k.resources.append((entry, i))
    for _i, entry in _strings(data.get("components")):
        if isinstance(entry, str):
            k.components.append(entry)
    for i, entry in _strings(data.get("patchesStrategicMerge")):
        if isinstance(entry, str):
            k.patches.append(_patch_spec(k, "patchesStrategicMerge", i, entry, None, None, repo))
    for i, entry in _strings(data.get("patches")):
        if isinstance(entry, dict):
            k.patches.append(
                _patch_spec(k, "patches", i, entry.get("path"), entry.get("patch"), entry.get("target"), repo)
            )
    for i, entry in _strings(data.get("patchesJson6902")):
        if isinstance(entry, dict):
            k.patches.append(
                _patch_spec(
                    k,
                    "patchesJson6902",
                    i,
                    entry.get("path"),
                    entry.get("patch"),
                    entry.get("target"),
                    repo,
                    json6902=True,
                )
            )
    for i, entry in _strings(data.get("images")):
        if isinstance(entry, dict) and isinstance(entry.get("name"), str):
            k.images.append((i, entry))
    for field in ("configMapGenerator", "secretGenerator"):
        gens = data.get(field)
        if isinstance(gens, list) and gens:
            k.notes.append(f"{rel}: {field} objects are generated by kustomize and not translated")
            for gen in gens:
                if not isinstance(gen, dict):
                    continue
                for src in [*(gen.get("files") or []), *(gen.get("envs") or []), gen.get("env")]:
                    if isinstance(src, str):
                        path = _join(kdir, src.partition("=")[2] or src)
                        if path is not None:
                            k.generator_files.append(path)
    for field in ("helmCharts", "helmChartInflationGenerator"):
        if data.get(field):
            k.notes.append(
                f"{rel}: {field} is rendered by kustomize --enable-helm; translate its rendered output "
                "(kustomize build --enable-helm DIR | portkit translate - ...)"
            )
    for field in ("replacements", "vars", "transformers", "generators", "validators"):
        if data.get(field):
            k.notes.append(f"{rel}: {field} are not evaluated by portkit; check their results by hand")
    return k


def _patch_spec(
    k: Kustomization, field: str, index: int, path: Any, inline: Any, target: Any, repo: Repo, *, json6902: bool = False
) -> PatchSpec:
    source: DocRef | None = None
    content: Any = None
    if isinstance(path, str) and field == "patchesStrategicMerge" and "\n" in path:
        inline, path = path, None
    if isinstance(path, str):
        rel = _join(k.dir, path)
        file = repo.files.get(rel) if rel is not None else None
        if file is None:
            k.notes.append(f"{k.file}: {field}[{index}] names {path}, which portkit could not read")
        else:
            source = DocRef(file.rel, 0)
            content = file.docs[0] if len(file.docs) == 1 else ("multi", list(file.docs))
    elif isinstance(inline, str):
        from portkit._yaml import load_yaml_documents
        from portkit.errors import BundleError

        prefix: tuple[str | int, ...] = (field, index) if field == "patchesStrategicMerge" else (field, index, "patch")
        source = DocRef(k.file, 0, prefix, inline=True)
        try:
            docs = load_yaml_documents(inline, where=f"{k.file} {field}[{index}]")
        except BundleError as exc:
            k.notes.append(exc.message)
            docs = []
        content = docs[0] if len(docs) == 1 else ("multi", docs)
    is_json = json6902 or isinstance(content, list)
    return PatchSpec(field, index, source, content, target if isinstance(target, dict) else None, is_json)


# -- strategic merge and JSON patches -------------------------------------------------------------------


def smp_merge(base: Any, patch: Any, field: Any = None) -> Any:
    """``base`` with the strategic-merge ``patch`` applied (a new value). Returns ``_DELETE`` for
    ``$patch: delete``."""
    if not isinstance(patch, dict) or not isinstance(base, dict):
        return _strip(copy.deepcopy(patch))
    directive = patch.get("$patch")
    if directive == "delete":
        return _DELETE
    if directive == "replace":
        return _strip({k: copy.deepcopy(v) for k, v in patch.items() if k != "$patch"})
    out = dict(base)
    for key, value in patch.items():
        if isinstance(key, str) and key.startswith("$"):
            continue
        if value is None:
            out.pop(key, None)
            continue
        current = out.get(key)
        if isinstance(value, dict) and isinstance(current, dict):
            merged = smp_merge(current, value, key)
            if merged is _DELETE:
                out.pop(key, None)
            else:
                out[key] = merged
        elif isinstance(value, list) and isinstance(current, list) and merge_key(key, [*current, *value]):
            out[key] = _merge_list(current, value, merge_key(key, [*current, *value]) or "")
        else:
            out[key] = _strip(copy.deepcopy(value))
    return out


_DELETE = object()


def _strip(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _strip(v) for k, v in value.items() if not (isinstance(k, str) and k.startswith("$"))}
    if isinstance(value, list):
        return [_strip(v) for v in value]
    return value


def _merge_list(base: list[Any], patch: list[Any], key: str) -> list[Any]:
    out = list(base)
    for element in patch:
        if not isinstance(element, dict) or key not in element:
            out.append(_strip(copy.deepcopy(element)))
            continue
        idx = next((i for i, e in enumerate(out) if isinstance(e, dict) and e.get(key) == element[key]), None)
        if element.get("$patch") == "delete":
            if idx is not None:
                del out[idx]
            continue
        if idx is None:
            out.append(_strip(copy.deepcopy(element)))
        else:
            merged = smp_merge(out[idx], element)
            if merged is _DELETE:
                del out[idx]
            else:
                out[idx] = merged
    return out


def _pointer(path: str) -> list[str]:
    if not path.startswith("/"):
        raise ValueError(f"not a JSON pointer: {path!r}")
    return [p.replace("~1", "/").replace("~0", "~") for p in path[1:].split("/")] if path != "/" else [""]


def _step(container: Any, token: str) -> Any:
    if isinstance(container, list):
        return int(token)
    return token


def _json_patch(obj: dict[str, Any], ops: list[Any]) -> tuple[dict[str, Any], list[tuple[str, tuple[Any, ...]]]]:
    """``obj`` with the JSON patch ``ops`` applied, and each operation's kind and resolved path."""
    doc = copy.deepcopy(obj)
    resolved: list[tuple[str, tuple[Any, ...]]] = []
    for op in ops:
        if not isinstance(op, dict) or not isinstance(op.get("path"), str):
            resolved.append(("invalid", ()))
            continue
        kind = str(op.get("op"))
        tokens = _pointer(op["path"])
        parent: Any = doc
        path: list[Any] = []
        for token in tokens[:-1]:
            step = _step(parent, token)
            parent = parent[step]
            path.append(step)
        last = tokens[-1]
        if kind in ("add", "replace", "copy", "move"):
            if kind in ("copy", "move"):
                src_tokens = _pointer(str(op.get("from")))
                src_parent: Any = doc
                for token in src_tokens[:-1]:
                    src_parent = src_parent[_step(src_parent, token)]
                value = copy.deepcopy(src_parent[_step(src_parent, src_tokens[-1])])
                if kind == "move":
                    del src_parent[_step(src_parent, src_tokens[-1])]
            else:
                value = copy.deepcopy(op.get("value"))
            if isinstance(parent, list):
                index = len(parent) if last == "-" else int(last)
                if kind == "replace":
                    parent[index] = value
                else:
                    parent.insert(index, value)
                path.append(index)
            else:
                parent[last] = value
                path.append(last)
        elif kind == "remove":
            step = _step(parent, last)
            del parent[step]
            path.append(step)
        else:  # test
            path.append(_step(parent, last))
        resolved.append((kind, tuple(path)))
    return doc, resolved


# -- images -------------------------------------------------------------------------------------------


def image_parts(image: str) -> tuple[str, str | None, str | None]:
    """(name, tag, digest) of an image reference."""
    name, _, digest = image.partition("@")
    slash = name.rfind("/")
    colon = name.rfind(":")
    tag = None
    if colon > slash:
        name, tag = name[:colon], name[colon + 1 :]
    return name, tag, (digest or None)


def _image_paths(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    if isinstance(value, dict):
        for key, item in value.items():
            if key in ("containers", "initContainers", "ephemeralContainers") and isinstance(item, list):
                for i, c in enumerate(item):
                    if isinstance(c, dict) and isinstance(c.get("image"), str):
                        yield (*path, key, i, "image")
            else:
                yield from _image_paths(item, (*path, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _image_paths(item, (*path, i))


def _get(obj: Any, path: Sequence[Any]) -> Any:
    cur = obj
    for step in path:
        if (isinstance(cur, dict) and step in cur) or (
            isinstance(cur, list) and isinstance(step, int) and 0 <= step < len(cur)
        ):
            cur = cur[step]
        else:
            return _MISSING
    return cur


_MISSING = object()


def _set(obj: Any, path: Sequence[Any], value: Any) -> None:
    cur = obj
    for step in path[:-1]:
        cur = cur[step]
    cur[path[-1]] = value


# -- the renderer ---------------------------------------------------------------------------------------


class Renderer:
    """Renders kustomizations of one repository (its files as read, or as they would be written)."""

    def __init__(self, repo: Repo, kustomizations: dict[str, Kustomization]) -> None:
        self.repo = repo
        self.kustomizations = kustomizations
        self.notes: list[str] = []

    def _note(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)

    def render(self, kdir: str, _stack: tuple[str, ...] = ()) -> list[RObj]:
        """The objects ``kustomize build kdir`` makes (for the features this module knows)."""
        k = self.kustomizations[kdir]
        if kdir in _stack:
            self._note(f"{k.file}: resources form a cycle through {' → '.join(_stack)}")
            return []
        stack = (*_stack, kdir)
        objs: list[RObj] = []
        for entry, _ in k.resources:
            objs.extend(self._resource(k, entry, stack))
        for entry in k.components:
            path = _join(k.dir, entry)
            comp = self.kustomizations.get(path) if path is not None else None
            if comp is None:
                self._note(f"{k.file}: component {entry} not found in the repository")
                continue
            for res, _ in comp.resources:
                objs.extend(self._resource(comp, res, stack))
            self._transform(comp, objs)
        self._transform(k, objs)
        return objs

    def _resource(self, k: Kustomization, entry: str, stack: tuple[str, ...]) -> list[RObj]:
        if _is_remote(entry):
            self._note(f"{k.file}: remote resource {entry} is not translated (translate that repository too)")
            return []
        path = _join(k.dir, entry)
        if path is None:
            self._note(f"{k.file}: {entry} is outside the repository and not translated")
            return []
        if path in self.kustomizations:
            return self.render(path, stack)
        file = self.repo.files.get(path)
        if file is None:
            self._note(f"{k.file}: resource {entry} not found (or not readable) in the repository")
            return []
        out = []
        for i, doc in enumerate(file.docs):
            if (
                isinstance(doc, dict)
                and str(doc.get("kind") or "").endswith("List")
                and isinstance(doc.get("items"), list)
            ):
                for j, item in enumerate(doc["items"]):
                    if is_manifest(item):
                        out.append(RObj(copy.deepcopy(item), DocRef(path, i, ("items", j)), item["metadata"]["name"]))
            elif is_manifest(doc):
                out.append(RObj(copy.deepcopy(doc), DocRef(path, i), doc["metadata"]["name"]))
        return out

    # -- transformers ------------------------------------------------------------------------------

    def _targets(self, objs: list[RObj], target: dict[str, Any] | None, patch: Any) -> list[RObj]:
        if target:
            out = []
            for r in objs:
                group, kind, ns, name = r.key
                api = str(r.obj.get("apiVersion") or "")
                version = api.rpartition("/")[2]
                checks = [
                    ("kind", kind),
                    ("group", group),
                    ("version", version),
                    ("namespace", ns),
                ]
                if any(target.get(f) not in (None, "") and target.get(f) != v for f, v in checks):
                    continue
                want = target.get("name")
                if want and not (re.fullmatch(str(want), name) or re.fullmatch(str(want), r.orig_name)):
                    continue
                selector = target.get("labelSelector")
                if selector and not _labels_match(r.obj, str(selector)):
                    continue
                if target.get("annotationSelector"):
                    self._note("annotationSelector in a patch target is not evaluated by portkit")
                out.append(r)
            return out
        if not isinstance(patch, dict):
            return []
        meta = patch.get("metadata") or {}
        out = []
        for r in objs:
            _, kind, ns, name = r.key
            if patch.get("kind") != kind or meta.get("name") not in (name, r.orig_name):
                continue
            if meta.get("namespace") and meta.get("namespace") != ns:
                continue
            out.append(r)
        return out

    def _transform(self, k: Kustomization, objs: list[RObj]) -> None:
        for spec in k.patches:
            self._patch(k, spec, objs)
        ns = k.data.get("namespace")
        prefix, suffix = k.data.get("namePrefix") or "", k.data.get("nameSuffix") or ""
        labels: dict[str, Any] = {}
        if isinstance(k.data.get("commonLabels"), dict):
            labels.update(k.data["commonLabels"])
        for entry in k.data.get("labels") or []:
            if isinstance(entry, dict) and isinstance(entry.get("pairs"), dict):
                labels.update(entry["pairs"])
        annotations: dict[str, Any] = {}
        if isinstance(k.data.get("commonAnnotations"), dict):
            annotations.update(k.data["commonAnnotations"])
        for r in objs:
            paths: list[tuple[str | int, ...]] = []
            meta = r.obj.setdefault("metadata", {})
            group, kind, _, _ = r.key
            if isinstance(ns, str) and ns and (group, kind) not in CLUSTER_SCOPED_KINDS:
                meta["namespace"] = ns
                paths.append(("metadata", "namespace"))
            if (prefix or suffix) and isinstance(meta.get("name"), str):
                meta["name"] = f"{prefix}{meta['name']}{suffix}"
                paths.append(("metadata", "name"))
            for field, pairs in (("labels", labels), ("annotations", annotations)):
                for key, value in (pairs or {}).items():
                    meta.setdefault(field, {})
                    if isinstance(meta[field], dict):
                        meta[field][key] = value
                        paths.append(("metadata", field, key))
            if paths:
                r.layers.append(Layer("meta", k.file, paths=paths))
        for entry in k.data.get("replicas") or []:
            if isinstance(entry, dict) and isinstance(entry.get("count"), int):
                for r in objs:
                    named = entry.get("name") in (r.orig_name, r.obj["metadata"].get("name"))
                    if named and isinstance(r.obj.get("spec"), dict):
                        r.obj["spec"]["replicas"] = entry["count"]
                        r.layers.append(Layer("meta", k.file, paths=[("spec", "replicas")]))
        for index, image in k.images:
            for r in objs:
                for path in list(_image_paths(r.obj)):
                    before = _get(r.obj, path)
                    name, tag, digest = image_parts(before)
                    if name != image["name"]:
                        continue
                    new_name = image.get("newName") or name
                    if image.get("digest"):
                        after = f"{new_name}@{image['digest']}"
                    elif image.get("newTag") is not None:
                        after = f"{new_name}:{image['newTag']}"
                    else:
                        after = new_name + (f":{tag}" if tag else "") + (f"@{digest}" if digest else "")
                    _set(r.obj, path, after)
                    r.layers.append(
                        Layer(
                            "images",
                            k.file,
                            DocRef(k.file, 0, ("images", index)),
                            "images",
                            image,
                            index,
                            [path],
                            [before],
                        )
                    )

    def _patch(self, k: Kustomization, spec: PatchSpec, objs: list[RObj]) -> None:
        content = spec.content
        if content is None:
            return
        if isinstance(content, tuple):  # several documents: each a strategic-merge patch
            for d, doc in enumerate(content[1]):
                if isinstance(doc, dict) and spec.source is not None:
                    sub = attrs.evolve(
                        spec,
                        source=attrs.evolve(spec.source, doc=d) if not spec.source.inline else spec.source,
                        content=doc,
                    )
                    if spec.source.inline:
                        self._note(
                            f"{k.file}: {spec.field}[{spec.index}] holds several documents; changes to it "
                            "are not carried"
                        )
                        sub = attrs.evolve(sub, source=None)
                    self._patch(k, sub, objs)
            return
        targets = self._targets(objs, spec.target, content)
        if not targets:
            self._note(f"{k.file}: {spec.field}[{spec.index}] matches no object portkit rendered")
        for r in targets:
            if spec.json6902:
                if not isinstance(content, list):
                    continue
                try:
                    new, resolved = _json_patch(r.obj, content)
                except (KeyError, IndexError, ValueError, TypeError):
                    self._note(f"{k.file}: {spec.field}[{spec.index}] does not apply to {r.key[1]} {r.key[3]}")
                    continue
                r.obj = new
                r.layers.append(
                    Layer(
                        "json6902",
                        k.file,
                        spec.source,
                        spec.field,
                        content,
                        spec.index,
                        [p for _, p in resolved],
                        [op for op, _ in resolved],
                    )
                )
            else:
                merged = smp_merge(r.obj, content)
                if merged is _DELETE:
                    self._note(f"{k.file}: {spec.field}[{spec.index}] deletes {r.key[1]} {r.key[3]}; not followed")
                    continue
                r.obj = merged
                r.layers.append(Layer("smp", k.file, spec.source, spec.field, content, spec.index))


def _labels_match(obj: dict[str, Any], selector: str) -> bool:
    labels = (obj.get("metadata") or {}).get("labels") or {}
    for term in selector.split(","):
        term = term.strip()
        if "!=" in term:
            key, _, value = term.partition("!=")
            if labels.get(key.strip()) == value.strip():
                return False
        elif "=" in term:
            key, _, value = term.partition("=")
            if labels.get(key.strip()) != value.strip().lstrip("="):
                return False
        elif term and term not in labels:
            return False
    return True


# -- who wrote a field --------------------------------------------------------------------------------


def _map_into_patch(patch: Any, obj: Any, path: Sequence[Any]) -> tuple[Any, ...] | None:
    """The path inside a strategic-merge ``patch`` that wrote ``path`` of the rendered ``obj``."""
    cur_p, cur_r = patch, obj
    out: list[Any] = []
    for i, step in enumerate(path):
        if isinstance(cur_p, dict):
            if isinstance(step, str) and step in cur_p and not step.startswith("$"):
                out.append(step)
                cur_p = cur_p[step]
                cur_r = cur_r.get(step) if isinstance(cur_r, dict) else None
                continue
            return None
        if isinstance(cur_p, list):
            field = path[i - 1] if i else None
            items = cur_p + (cur_r if isinstance(cur_r, list) else [])
            key = merge_key(field, items)
            if key is None:
                return (*out, *path[i:])  # the patch replaced the whole list
            element = cur_r[step] if isinstance(cur_r, list) and isinstance(step, int) and step < len(cur_r) else None
            if not isinstance(element, dict) or key not in element:
                return None
            j = next((n for n, e in enumerate(cur_p) if isinstance(e, dict) and e.get(key) == element[key]), None)
            if j is None:
                return None
            out.append(j)
            cur_p, cur_r = cur_p[j], element
            continue
        return tuple(out)  # a scalar of the patch above the path
    return tuple(out)


def owner_of(r: RObj, path: Sequence[Any]) -> Owner:
    """The layer that last wrote ``path`` of the rendered object ``r``."""
    p = tuple(path)
    for layer in reversed(r.layers):
        if layer.kind == "images":
            if p in layer.paths:
                return Owner("images", layer.source, p, layer)
        elif layer.kind == "meta":
            if any(p[: len(q)] == q for q in layer.paths):
                return Owner("meta", None, p, layer)
        elif layer.kind == "json6902":
            for i in range(len(layer.paths) - 1, -1, -1):
                q, op = layer.paths[i], layer.before[i]
                if op in ("add", "replace", "copy", "move") and p[: len(q)] == q:
                    if layer.source is None or op not in ("add", "replace"):
                        return Owner("meta", None, p, layer)
                    return Owner("patch", layer.source, (i, "value", *p[len(q) :]), layer)
                if op == "remove" and (p[: len(q)] == q or q[: len(p)] == p):
                    return Owner("removed", layer.source, p, layer)
        elif layer.kind == "smp":
            mapped = _map_into_patch(layer.content, r.obj, p)
            if mapped is not None:
                if layer.source is None:
                    return Owner("meta", None, p, layer)
                return Owner("patch", layer.source, mapped, layer)
    return Owner("base", r.base, p)


def get_path(obj: Any, path: Sequence[Any]) -> Any:
    """The value at ``path`` or :data:`MISSING`."""
    return _get(obj, path)


MISSING = _MISSING
