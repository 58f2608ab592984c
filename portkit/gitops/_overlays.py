"""Translations of rendered kustomize overlays carried to the layer that wrote each field (a patch, an
``images`` entry, the base), and the check that each overlay renders the translation of what it rendered."""

from __future__ import annotations

from typing import Any

from portkit.gitops._diff import same
from portkit.gitops._files import Repo, SourceFile, object_key
from portkit.gitops._records import (
    REMOVE,
    Records,
    TreeObject,
    match_outputs,
    overlaps,
    pointer_of,
    show,
)
from portkit.gitops.kustomize import (
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
from portkit.model import ObjectRef
from portkit.translate import ManualAction, Translation, TranslationWarning

__all__ = ["OverlayCarrier"]


class OverlayCarrier:
    """The overlay half of a tree translation (mixed into the run, which provides these attributes)."""

    repo: Repo
    records: Records
    by_doc: dict[tuple[str, int, tuple[Any, ...]], TreeObject]
    added: dict[tuple[str, str, str, str], tuple[dict[str, Any], list[Any]]]
    kustomizations: dict[str, Kustomization]
    edits: dict[tuple[str, int, tuple[Any, ...]], dict[tuple[Any, ...], Any]]
    removed_entries: dict[tuple[str, str], dict[int, str]]
    json_patches: dict[tuple[str, int, tuple[Any, ...]], tuple[str, str, int]]
    keep_dropped: bool
    dst_name: str

    def _translate(self, objects: list[dict[str, Any]]) -> Translation:  # pragma: no cover - provided by the run
        raise NotImplementedError

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
            outputs, added = match_outputs(t, keys)
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
        everything = [
            *self.records.global_warnings,
            *self.records.global_manual,
            *(w for ws in self.records.warnings.values() for w in ws),
            *(a for acts in self.records.manual.values() for a in acts),
        ]
        message = note.message
        if note.ref is not None and note.ref.namespace:
            message = message.replace(f"{note.ref.namespace}/", "/")
        for other in everything:
            if type(other) is not type(note) or other.message not in (note.message, message):
                continue
            if (
                note.ref is None
                or other.ref is None
                or (other.ref.kind, other.ref.name) == (note.ref.kind, note.ref.name)
            ):
                return True
        return False

    def _carry(self, k: Kustomization, r: RObj, expected: dict[str, Any] | None, t: Translation) -> None:
        """Carry the changes of one rendered object to the layers that wrote the fields."""
        from portkit.gitops._diff import AddKeys, InsertItems, RemoveItem, RemoveKey, SetValue, diff

        base_expected = self._expected_of(r.base)
        if expected is None:
            if base_expected is not None and base_expected is not MISSING:
                self._manual(
                    k.file,
                    r,
                    f"the translation of {k.dir or '.'} leaves this object out but the "
                    f"translation of {r.base.file} keeps it; leave it out of the overlay by hand",
                )
            elif base_expected is None and not self.keep_dropped:
                self._drop_patches_of(k, r)
            return
        if base_expected is None:
            self._manual(
                k.file,
                r,
                f"the translation of {r.base.file} leaves this object out but the translation "
                f"of {k.dir or '.'} keeps it; check the overlay",
            )
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
                        self._manual(
                            k.file,
                            r,
                            f"{layer.source.file} operation {i} ({op['path']}) names a list item "
                            "the translation removes; change or remove the operation by hand",
                        )
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
                self.records.add_note(
                    layer.source.file,
                    f"{where}operation {i}: path {op['path']} → {pointer} (the "
                    "translation of the base moved the list item it names)",
                )

    def _manual(self, file: str, r: RObj, message: str) -> None:
        self.records.add_manual(file, ManualAction(ObjectRef.from_obj(r.obj), message, "gitops"))

    def _carry_path(
        self,
        k: Kustomization,
        r: RObj,
        path: tuple[Any, ...],
        expected: dict[str, Any],
        t: Translation,
        *,
        new_key: bool = False,
        whole_list: bool = False,
    ) -> None:
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
            if not (have is MISSING and want is MISSING) and (
                have is MISSING or want is MISSING or not same(have, want)
            ):
                self._manual(
                    k.file,
                    r,
                    f"{pointer_of(path)} is {show(want)} in the translation of "
                    f"{k.dir or '.'} but {show(have)} in the translation of {r.base.file}; add a patch to "
                    f"{k.file} for it",
                )
            return
        if owner.kind == "images":
            return  # carried by _carry_image
        if owner.kind != "patch" or owner.doc is None:
            self._manual(
                k.file,
                r,
                f"{pointer_of(path)} should become {show(want)} but it is set by "
                f"{k.file} in a way portkit does not edit ({owner.kind}); change it by hand",
            )
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
                    edit_path, value = owner.path[:1], REMOVE
                else:
                    self._edit(owner.doc, (owner.path[0], "op"), "remove", k.file, r)
                    edit_path, value = owner.path, REMOVE
            else:
                value = None if still is not MISSING and layer is not None and layer.kind == "smp" else REMOVE
        self._edit(owner.doc, edit_path, value, k.file, r)
        for c in t.changes:
            if c.ref.key == ObjectRef.from_obj(expected).key and overlaps(c.path, path):
                self.records.add_change(owner.doc.file, c)

    def _edit(self, doc: DocRef, path: tuple[Any, ...], value: Any, kfile: str, r: RObj | None) -> None:
        slot = (doc.file, doc.doc, doc.prefix if doc.inline else ())
        full = path if doc.inline else (*doc.prefix, *path)
        edits = self.edits.setdefault(slot, {})
        if full in edits and not (
            edits[full] is value or (edits[full] is not REMOVE and value is not REMOVE and same(edits[full], value))
        ):
            where = doc.file + (f" {'/'.join(map(str, doc.prefix))}" if doc.inline else "")
            message = (
                f"{where} {pointer_of(full)}: two overlays need different values ({show(edits[full])}, "
                f"{show(value)}); the first is written, check the other by hand"
            )
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
            if c.ref.key == key and overlaps(c.path, path):
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
            comment = f"portkit: removed this patch of {r.key[1]} {r.orig_name}, which is not used on {self.dst_name}"
            src = layer.source
            if not src.inline and len(self.repo.files[src.file].docs) > 1:
                self.edits.setdefault((src.file, src.doc, ()), {})[()] = ("drop", comment)
            else:
                self.removed_entries.setdefault((owner_k.file, field), {})[layer.entry] = comment

    # -- plans and files ---------------------------------------------------------------------------

    def _verify(
        self, checked: dict[str, list[tuple[RObj, dict[str, Any] | None]]], texts: dict[str, tuple[str, dict[int, str]]]
    ) -> None:
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

                    where = ", ".join(sorted({pointer_of(getattr(op, "path", ())) for op in diff(got or {}, expected)}))
                    self._manual(
                        self.kustomizations[kdir].file,
                        r,
                        f"after this translation, {kdir or '.'} would render it differently from the "
                        f"translation of its original rendering (at {where[:300]}); check the overlay",
                    )


def _map_index(old: list[Any], new: list[Any], index: int) -> int | None:
    """Where item ``index`` of ``old`` is in ``new`` (aligned as the diff aligns them); None: removed."""
    import difflib
    import json

    if index >= len(old):
        return index - len(old) + len(new)
    canon = (
        [json.dumps(v, sort_keys=True, default=repr) for v in old],
        [json.dumps(v, sort_keys=True, default=repr) for v in new],
    )
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
