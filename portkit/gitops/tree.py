"""translate_tree: a directory of manifests translated file by file, written back with only the changed
values (see :mod:`portkit.gitops`)."""

from __future__ import annotations

import copy
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from portkit._yaml import dump_yaml
from portkit.errors import ConfigurationError
from portkit.gitops import _helm
from portkit.gitops._diff import same
from portkit.gitops._files import Repo, SourceFile, is_manifest, object_key
from portkit.gitops._output import write_tree
from portkit.gitops._overlays import OverlayCarrier
from portkit.gitops._records import (
    REMOVE,
    Key,
    Records,
    TreeObject,
    join_path,
    match_outputs,
    overlaps,
    pointer_of,
    prune_empty,
    put,
    sort_key,
)
from portkit.gitops._splice import CommentAt
from portkit.gitops._writer import REWRITTEN, ROUNDTRIP, DocPlan, RewriteError, rewrite
from portkit.gitops.kustomize import (
    KUSTOMIZATION_NAMES,
    DocRef,
    Kustomization,
    Renderer,
    find_kustomizations,
    get_path,
)
from portkit.gitops.report import ChartReport, FileReport, TreeTranslation
from portkit.model import ObjectRef
from portkit.translate import Change, ManualAction, Translation, TranslationWarning, translate

__all__ = ["ADDED_FILE", "translate_tree", "write_tree"]

#: The default file (relative to the tree's root, ``added_file=``) for the objects a translation adds.
ADDED_FILE = "portkit-added.yaml"
_ADDED_HEADER = "# Objects portkit added while translating this repository"


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


class _Run(OverlayCarrier):
    def __init__(
        self,
        repo: Repo,
        source: Any,
        target: Any,
        rules: Any,
        mappings: Any,
        keep_dropped: bool,
        namespace: str | None,
        added_file: str,
        helm: str | bool | None,
    ) -> None:
        self.repo = repo
        self.source = source
        self.target = target
        self.rules = rules
        self.mappings = mappings
        self.keep_dropped = keep_dropped
        self.namespace = namespace
        self.added_file = added_file
        self.helm = helm
        self.records = Records()
        self.notes: list[str] = []
        self.objs: list[TreeObject] = []
        self.by_doc: dict[tuple[str, int, tuple[Any, ...]], TreeObject] = {}
        self.added: dict[Key, tuple[dict[str, Any], list[Change]]] = {}
        self.kustomizations: dict[str, Kustomization] = {}
        # edits of patch documents and kustomizations: (file, doc, inline prefix) -> {path: value | REMOVE}
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
                if (
                    isinstance(doc, dict)
                    and str(doc.get("kind") or "").endswith("List")
                    and isinstance(doc.get("items"), list)
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
            shown = ", ".join(not_manifests[:10]) + (
                f" and {len(not_manifests) - 10} more" if len(not_manifests) > 10 else ""
            )
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
        o = TreeObject(ref, obj, inp, injected)
        self.objs.append(o)
        self.by_doc[(ref.file, ref.doc, ref.prefix)] = o

    # -- translating -------------------------------------------------------------------------------

    def _translate(self, objects: list[dict[str, Any]]) -> Translation:
        t = translate(objects, source=self.source, target=self.target, rules=self.rules, mappings=self.mappings)
        self.src_name, self.dst_name = t.source, t.target
        return t

    def _batches(self) -> list[list[TreeObject]]:
        batches: list[list[TreeObject]] = []
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
            outputs, added = match_outputs(t, [o.key for o in batch])
            by_key: dict[Key, list[Change]] = {}
            for c in t.changes:
                if c.op != "add":
                    by_key.setdefault(c.ref.key, []).append(c)
            for o, (expected, dropped) in zip(batch, outputs, strict=True):
                o.dropped = dropped
                keys = [o.key] if expected is None or object_key(expected) == o.key else [o.key, object_key(expected)]
                o.changes = [c for key in keys for c in by_key.get(key, [])]
                if expected is not None:
                    if o.injected_namespace and expected.get("metadata", {}).get("namespace") == self.namespace:
                        expected = {
                            **expected,
                            "metadata": {k: v for k, v in expected["metadata"].items() if k != "namespace"},
                        }
                    o.expected = expected
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

    def _resource_removals(self) -> None:
        """Files whose every object is removed: their ``resources`` entries go too (kustomize would fail
        on a file without objects in some versions, and the entry would only confuse)."""
        if self.keep_dropped:
            return
        by_file: dict[str, list[TreeObject]] = {}
        for o in self.objs:
            by_file.setdefault(o.ref.file, []).append(o)
        for k in self.kustomizations.values():
            for entry, index in k.resources:
                rel = join_path(k.dir, entry)
                objs = by_file.get(rel or "")
                if objs and all(o.expected is None and o.dropped is not None for o in objs):
                    comment = f"portkit: removed {entry}: it holds only objects not used on {self.dst_name}"
                    self.removed_entries.setdefault((k.file, k.resources_field), {})[index] = comment

    def _plans(self) -> dict[str, dict[int, DocPlan]]:
        plans: dict[str, dict[int, DocPlan]] = {}
        lists: dict[tuple[str, int], list[TreeObject]] = {}
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
            plan = self._edited_plan(
                original, edits, plans.get(file, {}).get(doc), prune=file not in self._kustomization_files()
            )
            owner = self.json_patches.get((file, doc, ()))
            if owner is not None and plan.expected == [] and original:
                kfile, field, entry = owner
                comment = f"portkit: removed this patch: its every operation wrote values not used on {self.dst_name}"
                self.removed_entries.setdefault((kfile, field), {})[entry] = comment
                plan = DocPlan(
                    drop=f"portkit: {file} is no longer used (see {kfile}): every operation in it wrote "
                    f"values not used on {self.dst_name}"
                )
            plans.setdefault(file, {})[doc] = plan
        self._kustomization_plans(plans)
        return plans

    def _reason(self, o: TreeObject) -> str:
        c = o.dropped
        why = f"{c.translator}: {c.reason}" if c is not None else "left out by the translation"
        ref = ObjectRef.from_obj(o.original)
        if self.keep_dropped:
            return (
                f"portkit: {ref} is not used on {self.dst_name} ({why}); kept here on request: remove it or "
                "keep it knowingly"
            )
        return f"portkit: removed {ref}, not used on {self.dst_name} ({why})"

    def _plan_of(self, o: TreeObject) -> DocPlan | None:
        if o.expected is None:
            if self.keep_dropped:
                return DocPlan(note=self._reason(o))
            return DocPlan(drop=self._reason(o))
        if same(o.expected, o.original):
            return None
        return DocPlan(expected=o.expected, unchanged=False)

    def _list_plan(self, doc: dict[str, Any], items: list[TreeObject]) -> DocPlan | None:
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

    def _edited_plan(
        self, doc: Any, edits: dict[tuple[Any, ...], Any], plan: DocPlan | None, *, prune: bool = False
    ) -> DocPlan:
        if () in edits and isinstance(edits[()], tuple) and edits[()][0] == "drop":
            return DocPlan(drop=edits[()][1])
        base = copy.deepcopy(plan.expected if plan is not None and not plan.unchanged else doc)
        sets = [(p, v) for p, v in edits.items() if v is not REMOVE]
        removals = [p for p, v in edits.items() if v is REMOVE]
        for path, value in sorted(sets, key=lambda e: len(e[0])):
            put(base, path, value)
        for path in sorted(removals, key=sort_key, reverse=True):  # later list items first
            put(base, path, REMOVE)
            if prune:
                prune_empty(base, path[:-1])
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
                    f"portkit: removed this patch: its every operation wrote values not used on {self.dst_name}"
                )
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
                put(base, prefix, text)
            comments = []
            for field, indices in removals.items():
                for index in sorted(indices, reverse=True):
                    if isinstance(base.get(field), list) and index < len(base[field]):
                        entry = base[field][index]
                        del base[field][index]
                        comments.append(CommentAt((field, index), indices[index]))
                        what = (
                            entry
                            if isinstance(entry, str)
                            else (entry.get("path") if isinstance(entry, dict) else None) or "an inline patch"
                        )
                        self.records.add_note(
                            kfile, f"{field}[{index}] ({what}): {indices[index].removeprefix('portkit: ')}"
                        )
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
                self.records.add_manual(
                    rel,
                    ManualAction(
                        None, f"{rel} was not changed: {exc}; make the changes listed for it by hand", "gitops"
                    ),
                )
        return out

    # -- checks ------------------------------------------------------------------------------------

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
                p = pointer_of(getattr(op, "path", ()))
                if not any(overlaps(r, p) or r == "" for r in recorded):
                    self.records.add_warning(
                        o.ref.file,
                        TranslationWarning(
                            ObjectRef.from_obj(o.original),
                            f"{p} changed without a recorded change (please report)",
                            "gitops",
                        ),
                    )

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
                    "provider.",
                    hint="Name it: source='aws' or --from aws (see `portkit providers`).",
                )
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
            reports.append(
                _helm.render_and_translate(
                    self.repo.root, chart, self.helm, self._translate, source=str(self.source), target=str(self.target)
                )
            )
        return reports

    def _result(self, texts: dict[str, tuple[str, dict[int, str]]], charts: list[ChartReport]) -> TreeTranslation:
        reports: list[FileReport] = []
        rels = sorted(
            {
                *texts,
                *self.records.changes,
                *self.records.warnings,
                *self.records.manual,
                *self.records.notes,
                *(self.repo.files if self.repo.single_file else ()),
            }
        )
        for rel in rels:
            file = self.repo.files.get(rel)
            old = file.text if file is not None else None
            new, methods = texts.get(rel, (old or "", {}))
            notes = list(self.records.notes.get(rel, []))
            for index, method in sorted(methods.items()):
                if method == ROUNDTRIP:
                    notes.append(
                        f"document {index + 1} was written by a ruamel.yaml round trip (its formatting "
                        "may differ in places)"
                    )
                elif method == REWRITTEN:
                    notes.append(f"document {index + 1} was written anew (its comments are gone)")
            reports.append(
                FileReport(
                    rel,
                    old,
                    new,
                    tuple(self.records.changes.get(rel, [])),
                    tuple(self.records.warnings.get(rel, [])),
                    tuple(self.records.manual.get(rel, [])),
                    tuple(notes),
                    tuple(sorted(set(methods.values()))),
                    crlf=file.crlf if file is not None else False,
                    mode=file.mode if file is not None else 0o644,
                )
            )
        added_rel = None
        if self.added:
            added_rel = self._added_path()
            text, mode = self._added_text()
            changes = tuple(c for _, cs in self.added.values() for c in cs)
            reports.append(
                FileReport(
                    added_rel,
                    self.repo.files[added_rel].text if added_rel in self.repo.files else None,
                    text,
                    changes,
                    notes=(
                        "objects the translation added: move each where it belongs (and list "
                        "it in a kustomization's resources if you use kustomize)",
                    ),
                    mode=mode,
                )
            )
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
            raise ConfigurationError(
                f"{rel} exists and was not written by portkit.",
                hint="Name another file for added objects (added_file=... / --added-file).",
            )
        return rel

    def _added_text(self) -> tuple[str, int]:
        parts = [
            f"{_ADDED_HEADER} from {self.src_name} to {self.dst_name}.\n"
            "# Move each one where it belongs (and list its file in a kustomization's resources if you use "
            "kustomize).\n"
        ]
        secret = False
        for obj, changes in self.added.values():
            secret = secret or obj.get("kind") == "Secret"
            why = "; ".join(f"{c.translator}: {c.reason}" for c in changes) or "added by the translation"
            parts.append(
                "---\n" + "".join(line + "\n" for line in _comment(f"added by {why}")) + dump_yaml(obj).decode("utf-8")
            )
        return "".join(parts), 0o600 if secret else 0o644


def _comment(text: str) -> list[str]:
    from portkit.gitops._splice import comment_lines

    return comment_lines(text)
