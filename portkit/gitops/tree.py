"""translate_tree: a directory of manifests translated file by file, written back with only the changed
values (see :mod:`portkit.gitops`)."""

from __future__ import annotations

import copy
import os
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs

from portkit._yaml import dump_yaml
from portkit.errors import ConfigurationError
from portkit.gitops import _helm
from portkit.gitops._diff import same
from portkit.gitops._files import Repo, SourceFile, is_manifest, object_key
from portkit.gitops._splice import CommentAt
from portkit.gitops._writer import REWRITTEN, ROUNDTRIP, DocPlan, RewriteError, rewrite
from portkit.gitops.kustomize import (
    KUSTOMIZATION_NAMES,
    MISSING,
    DocRef,
    Kustomization,
    Owner,
    Renderer,
    RObj,
    find_kustomizations,
    get_path,
    image_parts,
    owner_of,
)
from portkit.gitops.report import ChartReport, FileReport, TreeTranslation
from portkit.model import ObjectRef
from portkit.translate import Change, ManualAction, Translation, TranslationWarning, translate

__all__ = ["ADDED_FILE", "translate_tree"]

ADDED_FILE = "portkit-added.yaml"
_ADDED_HEADER = "# Objects portkit added while translating this repository"
_REMOVE = object()
Key = tuple[str, str, str, str]


@attrs.define
class _Obj:
    """A resource document (or ``kind: List`` item) and what its translation made of it."""

    ref: DocRef
    original: dict[str, Any]
    input: dict[str, Any]
    injected_namespace: bool = False
    expected: dict[str, Any] | None = None
    dropped: Change | None = None
    changes: list[Change] = attrs.field(factory=list)

    @property
    def key(self) -> Key:
        return object_key(self.input)


@attrs.define
class _Records:
    """Changes, warnings and manual actions by file."""

    changes: dict[str, list[Change]] = attrs.field(factory=dict)
    warnings: dict[str, list[TranslationWarning]] = attrs.field(factory=dict)
    manual: dict[str, list[ManualAction]] = attrs.field(factory=dict)
    notes: dict[str, list[str]] = attrs.field(factory=dict)
    global_warnings: list[TranslationWarning] = attrs.field(factory=list)
    global_manual: list[ManualAction] = attrs.field(factory=list)

    def add_change(self, file: str, change: Change) -> None:
        bucket = self.changes.setdefault(file, [])
        if change not in bucket:
            bucket.append(change)

    def add_warning(self, file: str | None, warning: TranslationWarning) -> None:
        bucket = self.warnings.setdefault(file, []) if file else self.global_warnings
        if not any(w.message == warning.message and w.ref == warning.ref for w in bucket):
            bucket.append(warning)

    def add_manual(self, file: str | None, action: ManualAction) -> None:
        bucket = self.manual.setdefault(file, []) if file else self.global_manual
        if not any(a.message == action.message and a.ref == action.ref for a in bucket):
            bucket.append(action)

    def add_note(self, file: str, note: str) -> None:
        bucket = self.notes.setdefault(file, [])
        if note not in bucket:
            bucket.append(note)


def translate_tree(
    path: str | os.PathLike[str],
    source: str | Sequence[str] | None = None,
    target: str | Sequence[str] | None = None,
    rules: Any = None,
    mappings: Mapping[str, Any] | None = None,
    *,
    in_place: bool = False,
    output_dir: str | os.PathLike[str] | None = None,
    keep_dropped: bool = False,
    namespace: str | None = None,
    added_file: str = ADDED_FILE,
    helm: str | bool | None = None,
) -> TreeTranslation:
    """Translate a directory of plain YAML manifests (a GitOps repository) and write back only what changes.

    Every YAML/JSON file under ``path`` is read (hidden entries, symbolic links and Helm charts left out);
    multi-document files and ``kind: List`` documents are understood; kustomizations are rendered so that a
    change to an overlay's object lands in the overlay's patch or ``images:`` entry that set the field.
    The objects go through the same translators as :func:`portkit.translate`; each changed value is
    written into the file it came from without touching anything else: comments, key order, quoting,
    indentation, document markers and anchors stay, files without changes are not written at all.

    Args:
        path: the repository directory (or one YAML file).
        source / target / rules / mappings: as for :func:`portkit.translate`; without ``source`` the
            provider is detected from the manifests (as ``portkit lint`` does).
        in_place: write the changed files back into ``path``.
        output_dir: write a translated copy of the whole directory there (same layout; ``.git`` left out);
            it must not exist yet or be empty.
        keep_dropped: objects the target has no use for stay in their file with a comment above them
            (default: they are removed, leaving a comment where they were).
        namespace: namespace assumed, for the translation only, for objects that have none (it is not
            written into the files).
        added_file: the file (relative to ``path``) for objects the translation adds.
        helm: Helm charts are not translated in place; ``None`` renders each chart with the ``helm``
            found on PATH (if any) and reports the translation of its rendered output, ``False`` never
            runs helm, a string names the helm binary.

    Returns:
        a :class:`~portkit.gitops.report.TreeTranslation` (files, changes, warnings, manual actions,
        ``diff()``, ``to_markdown()``). Nothing is written unless ``in_place`` or ``output_dir`` is given;
        ``result.write(...)`` writes later.

    Raises:
        ConfigurationError: the path does not exist, both ``in_place`` and ``output_dir`` were given, or the
            output directory is not empty.
        TranslationError: as :func:`portkit.translate`.
    """
    if in_place and output_dir is not None:
        raise ConfigurationError("in_place and output_dir exclude each other.", hint="Give one of them.")
    if target is None:
        raise ConfigurationError("no target provider given.", hint="Name it: target='ionos' or --to ionos.")
    repo = Repo.read(path)
    result = _Run(repo, source, target, rules, mappings, keep_dropped, namespace, added_file, helm).run()
    if in_place:
        result = write_tree(result, None)
    elif output_dir is not None:
        result = write_tree(result, Path(output_dir))
    return result


class _Run:
    def __init__(self, repo: Repo, source: Any, target: Any, rules: Any, mappings: Any, keep_dropped: bool,
                 namespace: str | None, added_file: str, helm: str | bool | None) -> None:
        self.repo = repo
        self.source = source
        self.target = target
        self.rules = rules
        self.mappings = mappings
        self.keep_dropped = keep_dropped
        self.namespace = namespace
        self.added_file = added_file
        self.helm = helm
        self.records = _Records()
        self.notes: list[str] = []
        self.objs: list[_Obj] = []
        self.by_doc: dict[tuple[str, int, tuple[Any, ...]], _Obj] = {}
        self.added: dict[Key, tuple[dict[str, Any], list[Change]]] = {}
        self.kustomizations: dict[str, Kustomization] = {}
        # edits of patch documents and kustomizations: (file, doc, inline prefix) -> {path: value | _REMOVE}
        self.edits: dict[tuple[str, int, tuple[Any, ...]], dict[tuple[Any, ...], Any]] = {}
        self.removed_entries: dict[tuple[str, str], dict[int, str]] = {}  # (kfile, field) -> {index: comment}
        # JSON patch documents portkit edits: slot -> (kustomization file, field, entry index)
        self.json_patches: dict[tuple[str, int, tuple[Any, ...]], tuple[str, str, int]] = {}
        self.src_name = ""
        self.dst_name = ""

    # -- reading -----------------------------------------------------------------------------------

    def _roles(self) -> dict[str, str]:
        roles: dict[str, str] = {}
        for k in self.kustomizations.values():
            roles[k.file] = "kustomization"
            for spec in k.patches:
                if spec.source is not None and not spec.source.inline:
                    roles.setdefault(spec.source.file, "patch")
            for gen in k.generator_files:
                roles.setdefault(gen, "generator")
        return roles

    def _collect(self) -> None:
        roles = self._roles()
        not_manifests = []
        for rel, file in sorted(self.repo.files.items()):
            role = roles.get(rel, "resource")
            if role != "resource" or rel.rsplit("/", 1)[-1] in KUSTOMIZATION_NAMES:
                continue
            found = False
            for i, doc in enumerate(file.docs):
                if isinstance(doc, dict) and str(doc.get("apiVersion") or "").startswith("kustomize.config.k8s.io/"):
                    continue
                if isinstance(doc, dict) and str(doc.get("kind") or "").endswith("List") and isinstance(
                    doc.get("items"), list
                ):
                    for j, item in enumerate(doc["items"]):
                        if is_manifest(item):
                            self._add_obj(DocRef(rel, i, ("items", j)), item)
                            found = True
                elif is_manifest(doc):
                    self._add_obj(DocRef(rel, i), doc)
                    found = True
            if not found and any(d is not None for d in file.docs):
                not_manifests.append(rel)
        if not_manifests:
            shown = ", ".join(not_manifests[:10]) + (f" and {len(not_manifests) - 10} more" if len(not_manifests) > 10
                                                     else "")
            self.notes.append(f"left as they are (no Kubernetes objects in them): {shown}")
        for rel, why in self.repo.skipped:
            self.notes.append(f"{rel}: not read ({why})")

    def _add_obj(self, ref: DocRef, obj: dict[str, Any]) -> None:
        inp = obj
        injected = False
        if self.namespace and not (obj.get("metadata") or {}).get("namespace"):
            from portkit.model import CLUSTER_SCOPED_KINDS

            group = str(obj.get("apiVersion") or "").rpartition("/")[0] if "/" in str(obj.get("apiVersion")) else ""
            if (group, obj.get("kind")) not in CLUSTER_SCOPED_KINDS:
                inp = {**obj, "metadata": {**obj["metadata"], "namespace": self.namespace}}
                injected = True
        o = _Obj(ref, obj, inp, injected)
        self.objs.append(o)
        self.by_doc[(ref.file, ref.doc, ref.prefix)] = o

    # -- translating -------------------------------------------------------------------------------

    def _translate(self, objects: list[dict[str, Any]]) -> Translation:
        t = translate(objects, source=self.source, target=self.target, rules=self.rules, mappings=self.mappings)
        self.src_name, self.dst_name = t.source, t.target
        return t

    def _batches(self) -> list[list[_Obj]]:
        batches: list[list[_Obj]] = []
        seen: list[set[Key]] = []
        for o in self.objs:
            for n, keys in enumerate(seen):
                if o.key not in keys:
                    keys.add(o.key)
                    batches[n].append(o)
                    break
            else:
                seen.append({o.key})
                batches.append([o])
        return batches

    def _phase_resources(self) -> None:
        for batch in self._batches():
            t = self._translate([o.input for o in batch])
            outputs, added = _match(t, [o.key for o in batch])
            for o, (expected, dropped) in zip(batch, outputs, strict=True):
                o.dropped = dropped
                if expected is not None:
                    if o.injected_namespace and expected.get("metadata", {}).get("namespace") == self.namespace:
                        expected = {**expected, "metadata": {k: v for k, v in expected["metadata"].items()
                                                             if k != "namespace"}}
                    o.expected = expected
                keys = {o.key, object_key(expected) if expected is not None else o.key}
                o.changes = [c for c in t.changes if c.ref.key in keys and c.op != "add"]
                for c in o.changes:
                    self.records.add_change(o.ref.file, c)
            files: dict[Key, str] = {}
            for o in batch:
                files.setdefault(o.key, o.ref.file)
            for w in t.warnings:
                self.records.add_warning(files.get(w.ref.key) if w.ref else None, w)
            for a in t.manual_actions:
                self.records.add_manual(files.get(a.ref.key) if a.ref else None, a)
            for obj, changes in added:
                self.added.setdefault(object_key(obj), (obj, changes))

    # -- kustomize overlays ------------------------------------------------------------------------

    def _expected_of(self, ref: DocRef) -> Any:
        o = self.by_doc.get((ref.file, ref.doc, ref.prefix))
        if o is None:
            return MISSING
        if o.expected is None:
            return None
        return o.expected

    def _phase_overlays(self, renderer: Renderer) -> dict[str, list[tuple[RObj, dict[str, Any] | None]]]:
        checked: dict[str, list[tuple[RObj, dict[str, Any] | None]]] = {}
        for kdir, k in sorted(self.kustomizations.items()):
            if k.data.get("kind") == "Component":
                continue
            rendered = renderer.render(kdir)
            if not any(layer.kind in ("smp", "json6902", "images") for r in rendered for layer in r.layers):
                continue
            keys = [r.key for r in rendered]
            if len(set(keys)) != len(keys):
                self.records.add_note(k.file, "renders two objects with one identity; its overlays were not checked")
                continue
            t = self._translate([r.obj for r in rendered])
            outputs, added = _match(t, keys)
            pairs = []
            for r, (expected, _dropped) in zip(rendered, outputs, strict=True):
                pairs.append((r, expected))
                self._carry(k, r, expected, t)
            checked[kdir] = pairs
            for obj, changes in added:
                self.added.setdefault(object_key(obj), (obj, changes))
            for w in t.warnings:
                if not self._known(w):
                    self.records.add_warning(k.file, w)
            for a in t.manual_actions:
                if not self._known(a):
                    self.records.add_manual(k.file, a)
        return checked

    def _known(self, note: TranslationWarning | ManualAction) -> bool:
        """A record of an overlay's rendering that the resources' translation made already (the same
        message once the overlay's namespace is taken out of it)."""
        everything = [*self.records.global_warnings, *self.records.global_manual,
                      *(w for ws in self.records.warnings.values() for w in ws),
                      *(a for acts in self.records.manual.values() for a in acts)]
        message = note.message
        if note.ref is not None and note.ref.namespace:
            message = message.replace(f"{note.ref.namespace}/", "/")
        for other in everything:
            if type(other) is not type(note) or other.message not in (note.message, message):
                continue
            if note.ref is None or other.ref is None or (other.ref.kind, other.ref.name) == (note.ref.kind,
                                                                                            note.ref.name):
                return True
        return False

    def _carry(self, k: Kustomization, r: RObj, expected: dict[str, Any] | None, t: Translation) -> None:
        """Carry the changes of one rendered object to the layers that wrote the fields."""
        from portkit.gitops._diff import AddKeys, InsertItems, RemoveItem, RemoveKey, SetValue, diff

        base_expected = self._expected_of(r.base)
        if expected is None:
            if base_expected is not None and base_expected is not MISSING:
                self._manual(k.file, r, f"the translation of {k.dir or '.'} leaves this object out but the "
                             f"translation of {r.base.file} keeps it; leave it out of the overlay by hand")
            elif base_expected is None and not self.keep_dropped:
                self._drop_patches_of(k, r)
            return
        if base_expected is None:
            self._manual(k.file, r, f"the translation of {r.base.file} leaves this object out but the translation "
                         f"of {k.dir or '.'} keeps it; check the overlay")
            return
        for layer in r.layers:
            if layer.kind == "images":
                self._carry_image(k, r, layer, expected, t)
            elif layer.kind == "json6902" and layer.source is not None and isinstance(base_expected, dict):
                self._reindex_json(k, r, layer, base_expected)
        for op in diff(r.obj, expected):
            if isinstance(op, SetValue):
                self._carry_path(k, r, op.path, expected, t)
            elif isinstance(op, AddKeys):
                for key, _ in op.items:
                    self._carry_path(k, r, (*op.path, key), expected, t, new_key=True)
            elif isinstance(op, RemoveKey):
                self._carry_path(k, r, (*op.path, op.key), expected, t)
            elif isinstance(op, InsertItems | RemoveItem):
                self._carry_path(k, r, op.path, expected, t, whole_list=True)

    def _reindex_json(self, k: Kustomization, r: RObj, layer: Any, base_expected: dict[str, Any]) -> None:
        """JSON patch paths name list items by index: when the translation of the base removes or adds
        items before the one a path names, the path is moved to follow its item."""
        base = self.by_doc.get((r.base.file, r.base.doc, r.base.prefix))
        if base is None or not isinstance(layer.content, list):
            return
        for i, op in enumerate(layer.content):
            if not isinstance(op, dict) or not isinstance(op.get("path"), str) or not op["path"].startswith("/"):
                continue
            tokens = [t.replace("~1", "/").replace("~0", "~") for t in op["path"][1:].split("/")]
            new_tokens: list[str] = []
            old_cur: Any = base.original
            new_cur: Any = base_expected
            for n, token in enumerate(tokens):
                if isinstance(old_cur, list) and isinstance(new_cur, list) and token.isdigit():
                    mapped = _map_index(old_cur, new_cur, int(token))
                    if mapped is None:
                        self._manual(k.file, r, f"{layer.source.file} operation {i} ({op['path']}) names a list item "
                                     "the translation removes; change or remove the operation by hand")
                        new_tokens = tokens
                        break
                    new_tokens.append(str(mapped))
                    old_cur = old_cur[int(token)] if int(token) < len(old_cur) else None
                    new_cur = new_cur[mapped] if mapped < len(new_cur) else None
                elif isinstance(old_cur, dict) and isinstance(new_cur, dict) and token in old_cur and token in new_cur:
                    new_tokens.append(token)
                    old_cur, new_cur = old_cur[token], new_cur[token]
                else:
                    new_tokens += tokens[n:]
                    break
            if new_tokens != tokens:
                pointer = "/" + "/".join(t.replace("~", "~0").replace("/", "~1") for t in new_tokens)
                self._edit(layer.source, (i, "path"), pointer, k.file, r)
                where = "/".join(map(str, layer.source.prefix)) + " " if layer.source.inline else ""
                self.records.add_note(layer.source.file, f"{where}operation {i}: path {op['path']} → {pointer} (the "
                                      "translation of the base moved the list item it names)")

    def _manual(self, file: str, r: RObj, message: str) -> None:
        self.records.add_manual(file, ManualAction(ObjectRef.from_obj(r.obj), message, "gitops"))

    def _carry_path(self, k: Kustomization, r: RObj, path: tuple[Any, ...], expected: dict[str, Any],
                    t: Translation, *, new_key: bool = False, whole_list: bool = False) -> None:
        owner = owner_of(r, path)
        if whole_list and owner.kind == "base" and _touched_below(r, path):
            return  # items of this list are patched: the rendering check after writing compares them
        if new_key and owner.kind == "base":
            container = owner_of(r, path[:-1])
            base_expected = self._expected_of(r.base)
            base_value = get_path(base_expected, path[:-1]) if isinstance(base_expected, dict) else MISSING
            if container.kind == "patch" and base_value is MISSING:
                owner = Owner("patch", container.doc, (*container.path, path[-1]), container.layer)
        want = get_path(expected, path)
        if owner.kind == "base":
            base_expected = self._expected_of(r.base)
            have = get_path(base_expected, path) if isinstance(base_expected, dict) else MISSING
            if not (have is MISSING and want is MISSING) and (have is MISSING or want is MISSING or
                                                              not same(have, want)):
                self._manual(k.file, r, f"{_pointer(path)} is {_show(want)} in the translation of "
                             f"{k.dir or '.'} but {_show(have)} in the translation of {r.base.file}; add a patch to "
                             f"{k.file} for it")
            return
        if owner.kind == "images":
            return  # carried by _carry_image
        if owner.kind != "patch" or owner.doc is None:
            self._manual(k.file, r, f"{_pointer(path)} should become {_show(want)} but it is set by "
                         f"{k.file} in a way portkit does not edit ({owner.kind}); change it by hand")
            return
        value: Any = want
        layer = owner.layer
        edit_path = owner.path
        if want is MISSING:
            base_expected = self._expected_of(r.base)
            still = get_path(base_expected, path) if isinstance(base_expected, dict) else MISSING
            if layer is not None and layer.kind == "json6902" and owner.path[1:] == ("value",):
                # the operation writes exactly this field: it goes (or becomes a removal)
                slot = (owner.doc.file, owner.doc.doc, owner.doc.prefix if owner.doc.inline else ())
                self.json_patches[slot] = (layer.kfile, layer.field, layer.entry)
                if still is MISSING:
                    edit_path, value = owner.path[:1], _REMOVE
                else:
                    self._edit(owner.doc, (owner.path[0], "op"), "remove", k.file, r)
                    edit_path, value = owner.path, _REMOVE
            else:
                value = None if still is not MISSING and layer is not None and layer.kind == "smp" else _REMOVE
        self._edit(owner.doc, edit_path, value, k.file, r)
        for c in t.changes:
            if c.ref.key == ObjectRef.from_obj(expected).key and _overlaps(c.path, path):
                self.records.add_change(owner.doc.file, c)

    def _edit(self, doc: DocRef, path: tuple[Any, ...], value: Any, kfile: str, r: RObj | None) -> None:
        slot = (doc.file, doc.doc, doc.prefix if doc.inline else ())
        full = path if doc.inline else (*doc.prefix, *path)
        edits = self.edits.setdefault(slot, {})
        if full in edits and not (edits[full] is value or (edits[full] is not _REMOVE and value is not _REMOVE
                                                           and same(edits[full], value))):
            where = doc.file + (f" {'/'.join(map(str, doc.prefix))}" if doc.inline else "")
            message = (f"{where} {_pointer(full)}: two overlays need different values ({_show(edits[full])}, "
                       f"{_show(value)}); the first is written, check the other by hand")
            if r is not None:
                self._manual(kfile, r, message)
            return
        edits[full] = value

    def _carry_image(self, k: Kustomization, r: RObj, layer: Any, expected: dict[str, Any], t: Translation) -> None:
        """Keep an ``images`` entry matching its (translated) base image, and carry the translated image."""
        entry: dict[str, Any] = layer.content
        before = layer.before[0]
        path = layer.paths[0]
        rendered_new = get_path(expected, path)
        # the image field's value before the override, as it will be written (base translation or a patch)
        owner = _owner_before(r, layer, path)
        source_value = before
        if owner is not None and owner.kind == "base":
            base_expected = self._expected_of(r.base)
            value = get_path(base_expected, path) if isinstance(base_expected, dict) else MISSING
            if isinstance(value, str):
                source_value = value
        base_name = image_parts(source_value)[0]
        assert layer.source is not None
        doc = layer.source
        if base_name != entry["name"]:
            self._edit(DocRef(doc.file, doc.doc, (*doc.prefix,)), ("name",), base_name, k.file, r)
        if not isinstance(rendered_new, str):
            return
        old_name, old_tag, old_digest = image_parts(get_path(r.obj, path))
        new_name, new_tag, new_digest = image_parts(rendered_new)
        moved = new_name != old_name or (entry.get("newName") and new_name != entry.get("newName"))
        if moved and (entry.get("newName") or new_name != base_name):
            self._edit(DocRef(doc.file, doc.doc, doc.prefix), ("newName",), new_name, k.file, r)
        if new_tag != old_tag and entry.get("newTag") is not None and new_tag is not None:
            self._edit(DocRef(doc.file, doc.doc, doc.prefix), ("newTag",), new_tag, k.file, r)
        if new_digest != old_digest and entry.get("digest") and new_digest:
            self._edit(DocRef(doc.file, doc.doc, doc.prefix), ("digest",), new_digest, k.file, r)
        key = ObjectRef.from_obj(expected).key
        for c in t.changes:
            if c.ref.key == key and _overlaps(c.path, path):
                self.records.add_change(k.file, c)

    def _drop_patches_of(self, k: Kustomization, r: RObj) -> None:
        """Patches of an object that is removed from its base would fail ``kustomize build``: remove them."""
        for layer in r.layers:
            if layer.kind not in ("smp", "json6902") or layer.source is None:
                continue
            owner_k = next((kk for kk in self.kustomizations.values() if kk.file == layer.kfile), None)
            if owner_k is None:
                continue
            field = layer.field
            comment = (f"portkit: removed this patch of {r.key[1]} {r.orig_name}, which is not used on "
                       f"{self.dst_name}")
            src = layer.source
            if not src.inline and len(self.repo.files[src.file].docs) > 1:
                self.edits.setdefault((src.file, src.doc, ()), {})[()] = ("drop", comment)
            else:
                self.removed_entries.setdefault((owner_k.file, field), {})[layer.entry] = comment

    # -- plans and files ---------------------------------------------------------------------------

    def _resource_removals(self) -> None:
        """Files whose every object is removed: their ``resources`` entries go too (kustomize would fail
        on a file without objects in some versions, and the entry would only confuse)."""
        if self.keep_dropped:
            return
        by_file: dict[str, list[_Obj]] = {}
        for o in self.objs:
            by_file.setdefault(o.ref.file, []).append(o)
        for k in self.kustomizations.values():
            for entry, index in k.resources:
                rel = _join(k.dir, entry)
                objs = by_file.get(rel or "")
                if objs and all(o.expected is None and o.dropped is not None for o in objs):
                    comment = f"portkit: removed {entry}: it holds only objects not used on {self.dst_name}"
                    self.removed_entries.setdefault((k.file, k.resources_field), {})[index] = comment

    def _plans(self) -> dict[str, dict[int, DocPlan]]:
        plans: dict[str, dict[int, DocPlan]] = {}
        lists: dict[tuple[str, int], list[_Obj]] = {}
        for o in self.objs:
            if o.ref.prefix:
                lists.setdefault((o.ref.file, o.ref.doc), []).append(o)
                continue
            plan = self._plan_of(o)
            if plan is not None:
                plans.setdefault(o.ref.file, {})[o.ref.doc] = plan
        for (file, doc), items in lists.items():
            plan = self._list_plan(self.repo.files[file].docs[doc], items)
            if plan is not None:
                plans.setdefault(file, {})[doc] = plan
        for (file, doc, inline), edits in self.edits.items():
            if inline:
                continue
            original = self.repo.files[file].docs[doc]
            plan = self._edited_plan(original, edits, plans.get(file, {}).get(doc),
                                     prune=file not in self._kustomization_files())
            owner = self.json_patches.get((file, doc, ()))
            if owner is not None and plan.expected == [] and original:
                kfile, field, entry = owner
                comment = f"portkit: removed this patch: its every operation wrote values not used on {self.dst_name}"
                self.removed_entries.setdefault((kfile, field), {})[entry] = comment
                plan = DocPlan(drop=f"portkit: {file} is no longer used (see {kfile}): every operation in it wrote "
                                    f"values not used on {self.dst_name}")
            plans.setdefault(file, {})[doc] = plan
        self._kustomization_plans(plans)
        return plans

    def _reason(self, o: _Obj) -> str:
        c = o.dropped
        why = f"{c.translator}: {c.reason}" if c is not None else "left out by the translation"
        ref = ObjectRef.from_obj(o.original)
        if self.keep_dropped:
            return (f"portkit: {ref} is not used on {self.dst_name} ({why}); kept here on request: remove it or "
                    "keep it knowingly")
        return f"portkit: removed {ref}, not used on {self.dst_name} ({why})"

    def _plan_of(self, o: _Obj) -> DocPlan | None:
        if o.expected is None:
            if self.keep_dropped:
                return DocPlan(note=self._reason(o))
            return DocPlan(drop=self._reason(o))
        if same(o.expected, o.original):
            return None
        return DocPlan(expected=o.expected, unchanged=False)

    def _list_plan(self, doc: dict[str, Any], items: list[_Obj]) -> DocPlan | None:
        new_items: list[Any] = []
        comments: list[CommentAt] = []
        changed = False
        by_index = {o.ref.prefix[1]: o for o in items}
        for j, item in enumerate(doc["items"]):
            o = by_index.get(j)
            if o is None:
                new_items.append(item)
                continue
            if o.expected is None:
                changed = True
                comments.append(CommentAt(("items", j), self._reason(o)))
                if self.keep_dropped:
                    new_items.append(item)
                continue
            if not same(o.expected, item):
                changed = True
            new_items.append(o.expected)
        if not changed:
            return None
        return DocPlan(expected={**doc, "items": new_items}, unchanged=False, comments=comments)

    def _edited_plan(self, doc: Any, edits: dict[tuple[Any, ...], Any], plan: DocPlan | None,
                     *, prune: bool = False) -> DocPlan:
        if () in edits and isinstance(edits[()], tuple) and edits[()][0] == "drop":
            return DocPlan(drop=edits[()][1])
        base = copy.deepcopy(plan.expected if plan is not None and not plan.unchanged else doc)
        sets = [(p, v) for p, v in edits.items() if v is not _REMOVE]
        removals = [p for p, v in edits.items() if v is _REMOVE]
        for path, value in sorted(sets, key=lambda e: len(e[0])):
            _put(base, path, value)
        for path in sorted(removals, key=_sort_key, reverse=True):  # later list items first
            _put(base, path, _REMOVE)
            if prune:
                _prune(base, path[:-1])
        return DocPlan(expected=base, unchanged=same(base, doc))

    def _kustomization_plans(self, plans: dict[str, dict[int, DocPlan]]) -> None:
        # inline patches: their text is edited like a file, then set into the kustomization
        inline: dict[str, dict[tuple[Any, ...], str]] = {}
        for (file, doc, prefix), edits in self.edits.items():
            if not prefix:
                continue
            kdata = self.repo.files[file].docs[doc]
            text = get_path(kdata, prefix)
            if not isinstance(text, str):
                continue
            virtual = SourceFile.parse(f"{file}:{'/'.join(map(str, prefix))}", text)
            sub = self._edited_plan(virtual.docs[0], edits, None, prune=True) if len(virtual.docs) == 1 else None
            if sub is None:
                continue
            owner = self.json_patches.get((file, doc, prefix))
            if owner is not None and sub.expected == [] and virtual.docs[0]:
                kfile, field, entry = owner
                self.removed_entries.setdefault((kfile, field), {})[entry] = (
                    f"portkit: removed this patch: its every operation wrote values not used on {self.dst_name}")
                continue
            try:
                new_text, _ = rewrite(virtual, {0: sub})
            except RewriteError:
                continue
            if not text.endswith("\n"):
                new_text = new_text.removesuffix("\n")
            inline.setdefault(file, {})[prefix] = new_text
        for kfile in self._kustomization_files():
            sets = inline.get(kfile, {})
            removals = {field: idx for (f, field), idx in self.removed_entries.items() if f == kfile}
            if not sets and not removals:
                continue
            doc = self.repo.files[kfile].docs[0]
            current = plans.get(kfile, {}).get(0)
            base = copy.deepcopy(current.expected if current is not None and not current.unchanged else doc)
            for prefix, text in sets.items():
                _put(base, prefix, text)
            comments = []
            for field, indices in removals.items():
                for index in sorted(indices, reverse=True):
                    if isinstance(base.get(field), list) and index < len(base[field]):
                        entry = base[field][index]
                        del base[field][index]
                        comments.append(CommentAt((field, index), indices[index]))
                        what = entry if isinstance(entry, str) else (entry.get("path") if isinstance(entry, dict)
                                                                      else None) or "an inline patch"
                        self.records.add_note(kfile, f"{field}[{index}] ({what}): "
                                              f"{indices[index].removeprefix('portkit: ')}")
                if isinstance(base.get(field), list) and not base[field]:
                    # an empty list: the field goes, one comment says why where it was
                    del base[field]
                    texts = [c.text for c in comments if c.path[0] == field]
                    comments = [c for c in comments if c.path[0] != field]
                    comments.append(CommentAt((field,), "\n".join(texts)))
            plans.setdefault(kfile, {})[0] = DocPlan(expected=base, unchanged=same(base, doc), comments=comments)

    def _kustomization_files(self) -> set[str]:
        return {k.file for k in self.kustomizations.values()}

    def _write_plans(self, plans: dict[str, dict[int, DocPlan]]) -> dict[str, tuple[str, dict[int, str]]]:
        out: dict[str, tuple[str, dict[int, str]]] = {}
        for rel, file_plans in plans.items():
            file = self.repo.files[rel]
            try:
                out[rel] = rewrite(file, file_plans)
            except RewriteError as exc:
                self.records.add_manual(rel, ManualAction(None, f"{rel} was not changed: {exc}; make the changes "
                                                          "listed for it by hand", "gitops"))
        return out

    # -- checks ------------------------------------------------------------------------------------

    def _verify(self, checked: dict[str, list[tuple[RObj, dict[str, Any] | None]]],
                texts: dict[str, tuple[str, dict[int, str]]]) -> None:
        """Render each checked kustomization again from the files as they will be written and compare
        with the translation of its original rendering."""
        if not checked:
            return
        from portkit.errors import BundleError

        files = dict(self.repo.files)
        for rel, (text, _) in texts.items():
            if text != files[rel].text:
                try:
                    files[rel] = SourceFile.parse(rel, text, mode=files[rel].mode)
                except BundleError:
                    continue
        repo = Repo(self.repo.root, files)
        kusts = find_kustomizations(repo)
        renderer = Renderer(repo, kusts)
        for kdir, pairs in checked.items():
            if kdir not in kusts:
                continue
            after = {r.key: r.obj for r in renderer.render(kdir)}
            for r, expected in pairs:
                if expected is None:
                    continue
                got = after.get(object_key(expected))
                if got is None or not same(got, expected):
                    from portkit.gitops._diff import diff

                    where = ", ".join(sorted({_pointer(getattr(op, "path", ())) for op in diff(got or {}, expected)}))
                    self._manual(self.kustomizations[kdir].file, r,
                                 f"after this translation, {kdir or '.'} would render it differently from the "
                                 f"translation of its original rendering (at {where[:300]}); check the overlay")

    def _coverage(self) -> None:
        """Every value written must be backed by a recorded Change (none is made silently)."""
        from portkit.gitops._diff import diff

        for o in self.objs:
            if o.expected is None or same(o.expected, o.original):
                continue
            recorded = [c.path for c in o.changes]
            if any(c.op == "replace" for c in o.changes):
                continue
            for op in diff(o.original, o.expected):
                p = _pointer(getattr(op, "path", ()))
                if not any(_overlaps(r, p) or r == "" for r in recorded):
                    self.records.add_warning(o.ref.file, TranslationWarning(
                        ObjectRef.from_obj(o.original), f"{p} changed without a recorded change (please report)",
                        "gitops"))

    # -- the run -----------------------------------------------------------------------------------

    def run(self) -> TreeTranslation:
        self.kustomizations = find_kustomizations(self.repo)
        for k in self.kustomizations.values():
            for note in k.notes:
                self.records.add_note(k.file, note)
        self._collect()
        if self.source is None:
            from portkit.translate import detect_source

            self.source = detect_source([o.input for o in self.objs])
            if self.source is None:
                raise ConfigurationError(
                    "cannot tell which provider these manifests come from: nothing in them is specific to one "
                    "provider.", hint="Name it: source='aws' or --from aws (see `portkit providers`).")
            self.notes.append(f"source provider detected from the manifests: {self.source}")
        self._phase_resources()
        renderer = Renderer(self.repo, self.kustomizations)
        checked = self._phase_overlays(renderer)
        for note in renderer.notes:
            self.notes.append(note)
        self._resource_removals()
        plans = self._plans()
        texts = self._write_plans(plans)
        self._verify(checked, texts)
        self._coverage()
        charts = self._charts()
        return self._result(texts, charts)

    def _charts(self) -> list[ChartReport]:
        reports = []
        for chart in self.repo.charts:
            reports.append(_helm.render_and_translate(self.repo.root, chart, self.helm, self._translate,
                                                      source=str(self.source), target=str(self.target)))
        return reports

    def _result(self, texts: dict[str, tuple[str, dict[int, str]]], charts: list[ChartReport]) -> TreeTranslation:
        reports: list[FileReport] = []
        rels = sorted({*texts, *self.records.changes, *self.records.warnings, *self.records.manual,
                       *self.records.notes, *(self.repo.files if self.repo.single_file else ())})
        for rel in rels:
            file = self.repo.files.get(rel)
            old = file.text if file is not None else None
            new, methods = texts.get(rel, (old or "", {}))
            notes = list(self.records.notes.get(rel, []))
            for index, method in sorted(methods.items()):
                if method == ROUNDTRIP:
                    notes.append(f"document {index + 1} was written by a ruamel.yaml round trip (its formatting "
                                 "may differ in places)")
                elif method == REWRITTEN:
                    notes.append(f"document {index + 1} was written anew (its comments are gone)")
            reports.append(FileReport(
                rel, old, new, tuple(self.records.changes.get(rel, [])), tuple(self.records.warnings.get(rel, [])),
                tuple(self.records.manual.get(rel, [])), tuple(notes), tuple(sorted(set(methods.values()))),
                crlf=file.crlf if file is not None else False, mode=file.mode if file is not None else 0o644,
            ))
        added_rel = None
        if self.added:
            added_rel = self._added_path()
            text, mode = self._added_text()
            changes = tuple(c for _, cs in self.added.values() for c in cs)
            reports.append(FileReport(added_rel, self.repo.files[added_rel].text if added_rel in self.repo.files
                                      else None, text, changes,
                                      notes=("objects the translation added: move each where it belongs (and list "
                                             "it in a kustomization's resources if you use kustomize)",),
                                      mode=mode))
        return TreeTranslation(
            root=self.repo.root,
            source=self.src_name or str(self.source),
            target=self.dst_name or str(self.target),
            files=tuple(reports),
            warnings=tuple(self.records.global_warnings),
            manual_actions=tuple(self.records.global_manual),
            notes=tuple(self.notes),
            charts=tuple(charts),
            added_file=added_rel,
            objects=len(self.objs),
            files_read=len(self.repo.files),
            single_file=self.repo.single_file,
        )

    def _added_path(self) -> str:
        rel = self.added_file
        existing = self.repo.files.get(rel)
        if existing is not None and not existing.text.startswith(_ADDED_HEADER):
            raise ConfigurationError(f"{rel} exists and was not written by portkit.",
                                     hint="Name another file for added objects (added_file=... / --added-file).")
        return rel

    def _added_text(self) -> tuple[str, int]:
        parts = [f"{_ADDED_HEADER} from {self.src_name} to {self.dst_name}.\n"
                 "# Move each one where it belongs (and list its file in a kustomization's resources if you use "
                 "kustomize).\n"]
        secret = False
        for obj, changes in self.added.values():
            secret = secret or obj.get("kind") == "Secret"
            why = "; ".join(f"{c.translator}: {c.reason}" for c in changes) or "added by the translation"
            parts.append("---\n" + "".join(line + "\n" for line in _comment(f"added by {why}")) +
                         dump_yaml(obj).decode("utf-8"))
        return "".join(parts), 0o600 if secret else 0o644


def _comment(text: str) -> list[str]:
    from portkit.gitops._splice import comment_lines

    return comment_lines(text)


def _match(t: Translation, keys: list[Key]) -> tuple[list[tuple[dict[str, Any] | None, Change | None]],
                                                    list[tuple[dict[str, Any], list[Change]]]]:
    """The translated object (None: left out) and the drop record for each input key, and the objects the
    translation added (with their records)."""
    pool: dict[Key, list[dict[str, Any]]] = {}
    for obj in t.bundle.objects:
        pool.setdefault(object_key(obj), []).append(obj)
    summaries = {f"<{ObjectRef.from_obj(o)}>": object_key(o) for o in t.bundle.objects}
    outputs: list[tuple[dict[str, Any] | None, Change | None]] = []
    for key in keys:
        dropped = next((c for c in t.changes if c.op == "drop" and c.ref.key == key), None)
        replaced = next((c for c in t.changes if c.op == "replace" and c.ref.key == key), None)
        found = pool.get(key)
        if found:
            outputs.append((found.pop(0), None))
            continue
        if replaced is not None and str(replaced.new) in summaries:
            new_key = summaries[str(replaced.new)]
            if pool.get(new_key):
                outputs.append((pool[new_key].pop(0), None))
                continue
        outputs.append((None, dropped))
    added = []
    for key, objs in pool.items():
        for obj in objs:
            added.append((obj, [c for c in t.changes if c.op == "add" and c.ref.key == key]))
    return outputs, added


def _map_index(old: list[Any], new: list[Any], index: int) -> int | None:
    """Where item ``index`` of ``old`` is in ``new`` (aligned as the diff aligns them); None: removed."""
    import difflib
    import json

    if index >= len(old):
        return index - len(old) + len(new)
    canon = [json.dumps(v, sort_keys=True, default=repr) for v in old], [
        json.dumps(v, sort_keys=True, default=repr) for v in new]
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, *canon, autojunk=False).get_opcodes():
        if i1 <= index < i2:
            if tag == "equal" or (tag == "replace" and index - i1 < j2 - j1):
                return j1 + index - i1
            return None
    return None


def _touched_below(r: RObj, path: tuple[Any, ...]) -> bool:
    """A patch of ``r`` writes somewhere below ``path``."""
    from portkit.gitops.kustomize import _map_into_patch

    for layer in r.layers:
        if layer.kind == "json6902" and any(q[: len(path)] == path and len(q) > len(path) for q in layer.paths):
            return True
        if layer.kind == "smp" and _map_into_patch(layer.content, r.obj, path) is not None:
            return True
    return False


def _owner_before(r: RObj, layer: Any, path: tuple[Any, ...]) -> Owner | None:
    """The owner of ``path`` among the layers applied before ``layer``."""
    index = r.layers.index(layer)
    earlier = RObj(r.obj, r.base, r.orig_name, r.layers[:index])
    return owner_of(earlier, path)


def _join(base_dir: str, entry: str) -> str | None:
    from portkit.gitops.kustomize import _join as join

    return join(base_dir, entry)


def _pointer(path: Sequence[Any]) -> str:
    from portkit.translate._base import pointer

    return pointer(list(path)) or "/"


def _overlaps(a: str, b: Any) -> bool:
    """JSON pointer ``a`` is ``b``, above it or below it."""
    b_text = b if isinstance(b, str) else _pointer(b)
    if b_text == "/":
        return True
    return a == b_text or b_text.startswith(a + "/") or a.startswith(b_text + "/")


def _show(value: Any) -> str:
    from portkit.display import truncate

    if value is MISSING:
        return "absent"
    return truncate(repr(value), 80)


def _sort_key(path: tuple[Any, ...]) -> tuple[Any, ...]:
    return tuple((0, step, "") if isinstance(step, int) else (1, 0, str(step)) for step in path)


def _prune(obj: Any, path: tuple[Any, ...]) -> None:
    """Remove the mappings left empty at ``path`` and above it (not the document itself): an empty mapping
    in a strategic-merge patch changes nothing."""
    while path:
        value = get_path(obj, path)
        if not (isinstance(value, dict) and not value):
            return
        _put(obj, path, _REMOVE)
        path = path[:-1]


def _put(obj: Any, path: tuple[Any, ...], value: Any) -> None:
    cur = obj
    for i, step in enumerate(path[:-1]):
        nxt = cur[step] if (isinstance(cur, dict) and step in cur) or (
            isinstance(cur, list) and isinstance(step, int) and step < len(cur)) else None
        if not isinstance(nxt, dict | list):
            nxt = [] if isinstance(path[i + 1], int) else {}
            cur[step] = nxt
        cur = nxt
    if not path:
        return
    if value is _REMOVE:
        if isinstance(cur, dict):
            cur.pop(path[-1], None)
        elif isinstance(cur, list) and isinstance(path[-1], int) and path[-1] < len(cur):
            del cur[path[-1]]
    else:
        cur[path[-1]] = copy.deepcopy(value)


def write_tree(result: TreeTranslation, output_dir: Path | None) -> TreeTranslation:
    """Write the changed files of ``result``: into its root (``output_dir`` None) or into a copy of the
    root at ``output_dir``. Files are replaced atomically and keep their mode; nothing else is touched.

    Raises:
        ConfigurationError: the output directory exists and is not empty, or lies inside the root.
    """
    root = result.root
    if output_dir is not None:
        out = output_dir.resolve()
        if out.exists() and (not out.is_dir() or any(out.iterdir())):
            raise ConfigurationError(f"{output_dir} exists and is not empty.",
                                     hint="Give a new directory for the translated copy (or --in-place).")
        if not result.single_file and out.is_relative_to(root.resolve()):
            raise ConfigurationError(f"{output_dir} is inside {root}.", hint="Give a directory outside the repository.")
        if result.single_file:
            out.mkdir(parents=True, exist_ok=True)
            target = out
        else:
            if out.exists():
                out.rmdir()
            shutil.copytree(root, out, symlinks=True, ignore=shutil.ignore_patterns(".git"))
            target = out
    else:
        target = root
    # a single file is always written to an output directory, changed or not
    written = result.files if result.single_file and output_dir is not None else result.changed_files
    for f in written:
        dest = target / f.path
        text = f.new.replace("\n", "\r\n") if f.crlf else f.new
        _atomic_write(dest, text.encode("utf-8"), f.mode)
    return attrs.evolve(result, written_to=target)


def _atomic_write(dest: Path, data: bytes, mode: int) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".tmp", dir=dest.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            os.fchmod(handle.fileno(), mode & 0o777)
            handle.write(data)
        os.replace(tmp, dest)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
