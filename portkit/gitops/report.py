"""What :func:`portkit.gitops.translate_tree` returns: per file the new text, the changes, warnings and
manual actions; a unified diff, and text, Markdown (for a pull request), HTML and JSON renderings."""

from __future__ import annotations

import difflib
import html
import re
from pathlib import Path
from typing import Any

import attrs

from portkit.display import html_table, terminal_safe, truncate
from portkit.gitops._documents import split_documents
from portkit.translate import Change, ManualAction, Translation, TranslationWarning

__all__ = ["ChartReport", "FileReport", "TreeTranslation", "translation_markdown", "unified_diff"]


@attrs.frozen
class FileReport:
    """One file of the repository that portkit changed, added, or has something to say about.

    ``old`` is None for a file portkit adds; ``new`` equals ``old`` for a file left as it was.
    ``methods``: how each changed document was written (``spliced``: only the changed bytes;
    ``round-trip``: re-emitted by ruamel.yaml; ``rewritten``: written from the translated object).
    """

    path: str
    old: str | None
    new: str
    changes: tuple[Change, ...] = ()
    warnings: tuple[TranslationWarning, ...] = ()
    manual_actions: tuple[ManualAction, ...] = ()
    notes: tuple[str, ...] = ()
    methods: tuple[str, ...] = ()
    #: the file on disk has CRLF line endings
    crlf: bool = False
    mode: int = 0o644

    @property
    def changed(self) -> bool:
        """True when the file is new or its text changes."""
        return self.old != self.new

    def __repr__(self) -> str:
        state = "added" if self.old is None else ("changed" if self.changed else "unchanged")
        return f"<FileReport {self.path} {state}: {len(self.changes)} changes>"

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form (no file contents)."""
        return {
            "path": self.path,
            "status": "added" if self.old is None else ("changed" if self.changed else "unchanged"),
            "methods": list(self.methods),
            "changes": [c.to_dict() for c in self.changes],
            "warnings": [w.to_dict() for w in self.warnings],
            "manual_actions": [a.to_dict() for a in self.manual_actions],
            "notes": list(self.notes),
        }


@attrs.frozen
class ChartReport:
    """A Helm chart in the repository: not translated in place (templates are not YAML); its rendered
    output's translation when ``helm template`` could run."""

    path: str
    command: str
    translation: Translation | None = None
    error: str = ""

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form."""
        return {
            "path": self.path,
            "command": self.command,
            "rendered": self.translation.to_dict() if self.translation is not None else None,
            "error": self.error,
        }


HELM_NOTE = (
    "Helm values files are not templates: portkit does not edit charts. A chart is translated through its "
    "rendered output (helm template RELEASE CHART -f values.yaml | portkit translate - --from SOURCE --to TARGET "
    "--report-format markdown); carry the changes that report lists into your values file, or keep a values "
    "mapping of your own."
)

_SECRET_KEEP = re.compile(r"^\s*(?:- )?(?:apiVersion|kind|name|namespace|type):")
_KEY_VALUE = re.compile(r"^(\s*(?:- )?(?:\"[^\"]*\"|'[^']*'|[^\s#:'\"][^#]*?)\s*:)(?:\s+(\S.*))?$")


def _mask_secret_line(line: str) -> str:
    stripped = line.strip()
    if not stripped or stripped.startswith("#") or stripped == "---" or _SECRET_KEEP.match(line):
        return line
    m = _KEY_VALUE.match(line)
    if m and (m.group(2) is None or m.group(2).startswith("#")):
        return line  # a key that opens a block
    if m:
        return f"{m.group(1)} <redacted>"
    return line[: len(line) - len(line.lstrip())] + "<redacted>"


_PRIVATE_KEY = re.compile(r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----.*?-----END [A-Z0-9 ]*PRIVATE KEY-----", re.DOTALL)


def secret_lines(text: str) -> set[int]:
    """The indices of the lines of ``text`` that may show a secret: every line of a Secret document
    (a ``kind: List`` holding one too) and every line of a private key anywhere (an OpenShift Route's
    inline TLS key)."""
    from portkit._yaml import load_yaml_documents
    from portkit.errors import BundleError

    lines: set[int] = set()

    def mark(start: int, end: int) -> None:
        first = text.count("\n", 0, start)
        lines.update(range(first, first + text.count("\n", start, end) + 1))

    for chunk in split_documents(text):
        part = text[chunk.start : chunk.end]
        if not chunk.is_doc or "Secret" not in part:
            continue
        try:
            docs = load_yaml_documents(part, where="diff")
            secret = any(
                isinstance(d, dict)
                and (d.get("kind") == "Secret" or (str(d.get("kind") or "").endswith("List") and "Secret" in part))
                for d in docs
            )
        except BundleError:
            secret = True
        if secret:
            mark(chunk.start, chunk.end)
    for m in _PRIVATE_KEY.finditer(text):
        mark(m.start(), m.end())
    return lines


def _md(text: Any, limit: int = 120) -> str:
    """A Markdown table cell / inline text: pipes and backticks escaped, one line."""
    value = truncate(text, limit).replace("\n", " ")
    return value.replace("\\", "\\\\").replace("|", "\\|").replace("`", "\\`").replace("<", "&lt;")


def _code(text: Any, limit: int = 80) -> str:
    value = truncate(text, limit).replace("\n", " ").replace("|", "\\|")
    ticks = "``" if "`" in value else "`"
    return f"{ticks}{value}{ticks}" if value else ""


def unified_diff(old: str, new: str, a: str, b: str, *, context: int = 3, masked: bool = False) -> str:
    """A unified diff like ``git diff`` shows (no line is taken for junk, so repeated lines such as ``---``
    or ``metadata:`` do not scatter the hunks). ``masked``: values on lines that may show a secret
    (:func:`secret_lines`) read ``<redacted>``; a changed secret still shows as a changed line."""
    x, y = old.splitlines(keepends=True), new.splitlines(keepends=True)
    groups = list(difflib.SequenceMatcher(None, x, y, autojunk=False).get_grouped_opcodes(context))
    if masked:  # after the lines were compared: a changed secret is a changed line
        for lines, marked in ((x, secret_lines(old)), (y, secret_lines(new))):
            for i in marked:
                if i < len(lines):
                    end = "\n" if lines[i].endswith("\n") else ""
                    lines[i] = _mask_secret_line(lines[i].rstrip("\n")) + end
    out: list[str] = []
    for group in groups:
        if not out:
            out += [f"--- {a}\n", f"+++ {b}\n"]
        i1, i2, j1, j2 = group[0][1], group[-1][2], group[0][3], group[-1][4]
        out.append(f"@@ -{_range(i1, i2)} +{_range(j1, j2)} @@\n")
        for tag, a1, a2, b1, b2 in group:
            if tag == "equal":
                out += [" " + line for line in x[a1:a2]]
                continue
            out += ["-" + line for line in x[a1:a2]]
            out += ["+" + line for line in y[b1:b2]]
    return "".join(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n" for line in out)


def _range(start: int, stop: int) -> str:
    length = stop - start
    first = start + 1 if length else start
    return str(first) if length == 1 else f"{first},{length}"


def _translation_md(t: Translation) -> list[str]:
    out = [_md(t.summary(), 400), ""]
    if t.manual_actions:
        out += ["**Manual actions**", ""]
        out += [f"- [ ] {_md(a.ref or '')}{': ' if a.ref else ''}{_md(a.message, 400)}" for a in t.manual_actions]
        out.append("")
    if t.warnings:
        out += ["**Warnings**", ""]
        out += [f"- {_md(w.ref or '')}{': ' if w.ref else ''}{_md(w.message, 400)}" for w in t.warnings]
        out.append("")
    if t.changes:
        out += ["| object | field | change | why |", "|---|---|---|---|"]
        out += [
            f"| {_md(c.ref)} | {_code(c.path) or '(object)'} | {_change_md(c)} | {_md(c.translator)}: "
            f"{_md(c.reason, 200)} |"
            for c in t.changes
        ]
        out.append("")
    return out


def _change_md(c: Change) -> str:
    if c.op in ("drop", "add", "replace"):
        return {"drop": "removed", "add": "added", "replace": f"became {_md(c.new)}"}[c.op]
    if c.op == "remove":
        return f"{_code(c.old)} removed"
    return f"{_code(c.old) or '(none)'} → {_code(c.new)}"


def translation_markdown(t: Translation) -> str:
    """A Markdown report of a plain translation (``helm template ... | portkit translate -``)."""
    lines = [f"## portkit: {t.source} → {t.target}", "", *_translation_md(t)]
    return "\n".join(lines).rstrip("\n") + "\n"


@attrs.frozen(repr=False)
class TreeTranslation:
    """The translation of a directory of manifests (a GitOps repository), file by file.

    Attributes:
        root: the directory translated.
        source / target: the providers.
        files: every file portkit changes or adds, or has a warning, manual action or note for.
        warnings / manual_actions: those not about one file.
        notes: what was left alone and why (Helm charts, kustomize generators, files that are not
            manifests, documents re-emitted rather than spliced).
        charts: Helm charts found (with the translation of their rendered output when helm could run).
        added_file: the file holding objects the translation added (None when none were added).
        objects: how many objects were translated.
        written_to: where the files were written (None until :meth:`write`).
    """

    root: Path
    source: str
    target: str
    files: tuple[FileReport, ...]
    warnings: tuple[TranslationWarning, ...] = ()
    manual_actions: tuple[ManualAction, ...] = ()
    notes: tuple[str, ...] = ()
    charts: tuple[ChartReport, ...] = ()
    added_file: str | None = None
    objects: int = 0
    files_read: int = 0
    written_to: Path | None = None
    single_file: bool = False

    # -- views -------------------------------------------------------------------------------------

    @property
    def changed_files(self) -> list[FileReport]:
        """Files whose text changes (or that are added)."""
        return [f for f in self.files if f.changed]

    @property
    def changes(self) -> list[Change]:
        """Every change, file by file."""
        return [c for f in self.files for c in f.changes]

    @property
    def all_warnings(self) -> list[TranslationWarning]:
        """Warnings about files and the others."""
        return [*(w for f in self.files for w in f.warnings), *self.warnings]

    @property
    def all_manual_actions(self) -> list[ManualAction]:
        """Manual actions about files and the others."""
        return [*(a for f in self.files for a in f.manual_actions), *self.manual_actions]

    @property
    def needs_attention(self) -> bool:
        """True when there are warnings or manual actions for a person to look at."""
        return bool(self.all_warnings or self.all_manual_actions)

    def file(self, path: str) -> FileReport | None:
        """The report of one file (path relative to the root, ``/``-separated)."""
        return next((f for f in self.files if f.path == path), None)

    def summary(self) -> str:
        """One line."""
        changed = self.changed_files
        dropped = sum(1 for c in self.changes if c.op == "drop")
        added = sum(1 for c in self.changes if c.op == "add")
        return (
            f"Translated {self.objects} objects in {self.files_read} files {self.source} → {self.target}: "
            f"{len(changed)} files to change ({len(self.changes)} changes, {dropped} objects removed, {added} added), "
            f"{len(self.all_warnings)} warnings, {len(self.all_manual_actions)} manual actions."
        )

    def __repr__(self) -> str:
        return (
            f"<TreeTranslation {self.source}→{self.target} {self.root}: {len(self.changed_files)} files to change, "
            f"{len(self.changes)} changes, {len(self.all_warnings)} warnings, "
            f"{len(self.all_manual_actions)} manual actions>"
        )

    def diff(self, *, context: int = 3) -> str:
        """A unified diff of every file that changes (``a/PATH`` → ``b/PATH``). Values in Secret documents
        are shown as ``<redacted>``."""
        parts = []
        for f in self.changed_files:
            a = f"a/{f.path}" if f.old is not None else "/dev/null"
            parts.append(unified_diff(f.old or "", f.new, a, f"b/{f.path}", context=context, masked=True))
        return "".join(parts)

    def to_text(self, *, max_changes: int = 200) -> str:
        """A report for terminals."""
        parts = [self.summary()]
        actions = [(f.path, a) for f in self.files for a in f.manual_actions] + [("", a) for a in self.manual_actions]
        if actions:
            parts.append("\nMANUAL ACTIONS (do these on the target):")
            parts += [f"  - {path + ': ' if path else ''}{a}" for path, a in actions]
        warnings = [(f.path, w) for f in self.files for w in f.warnings] + [("", w) for w in self.warnings]
        if warnings:
            parts.append("\nWARNINGS:")
            parts += [f"  - {path + ': ' if path else ''}{w}" for path, w in warnings]
        shown = 0
        for f in self.files:
            if not f.changes and not f.notes:
                continue
            state = "new file" if f.old is None else ("changed" if f.changed else "unchanged")
            parts.append(f"\n{f.path} ({state})")
            for c in f.changes:
                if shown >= max_changes:
                    break
                parts.append(f"  - {c}")
                shown += 1
            parts += [f"  note: {n}" for n in f.notes]
        if shown >= max_changes:
            parts.append(f"\n({len(self.changes) - shown} more changes: see -o json or --report-format markdown)")
        for chart in self.charts:
            parts.append(f"\nHELM CHART {chart.path}: {HELM_NOTE}")
            if chart.translation is not None:
                parts.append(f"  rendered with `{chart.command}`:")
                parts += ["    " + line for line in chart.translation.to_text().splitlines()]
            else:
                parts.append(f"  run: {chart.command}" + (f" ({chart.error})" if chart.error else ""))
        if self.notes:
            parts.append("\nNOTES:")
            parts += [f"  - {n}" for n in self.notes]
        if self.written_to is not None:
            parts.append(f"\nWrote {len(self.changed_files)} files to {self.written_to}.")
        else:
            parts.append("\nNothing written yet (in_place=True / output_dir=..., or --in-place / -d DIR).")
        return terminal_safe("\n".join(parts))

    def __str__(self) -> str:
        return self.to_text()

    def to_markdown(self) -> str:
        """A summary fit for a pull request: manual actions (as a checklist), warnings, and the changes
        of each file. Secret values are never in it (changes of Secrets are recorded redacted)."""
        out = [f"## portkit: {self.source} → {self.target}", "", self.summary(), ""]
        actions = [(f.path, a) for f in self.files for a in f.manual_actions] + [("", a) for a in self.manual_actions]
        if actions:
            out += ["### Manual actions", ""]
            out += [
                f"- [ ] {'`' + _md(p) + '` — ' if p else ''}{_md(a.ref or '')}{': ' if a.ref else ''}"
                f"{_md(a.message, 400)}"
                for p, a in actions
            ]
            out.append("")
        warnings = [(f.path, w) for f in self.files for w in f.warnings] + [("", w) for w in self.warnings]
        if warnings:
            out += ["### Warnings", ""]
            out += [
                f"- {'`' + _md(p) + '` — ' if p else ''}{_md(w.ref or '')}{': ' if w.ref else ''}{_md(w.message, 400)}"
                for p, w in warnings
            ]
            out.append("")
        files = [f for f in self.files if f.changes or f.notes]
        if files:
            out += ["### Changes by file", ""]
        for f in files:
            state = " (new file)" if f.old is None else ("" if f.changed else " (unchanged)")
            out += [f"#### `{_md(f.path)}`{state}", ""]
            if f.changes:
                out += ["| object | field | change | why |", "|---|---|---|---|"]
                for c in f.changes:
                    out.append(
                        f"| {_md(c.ref)} | {_code(c.path) or '(object)'} | {_change_md(c)} | "
                        f"{_md(c.translator)}: {_md(c.reason, 200)} |"
                    )
                out.append("")
            out += [f"- _{_md(n, 300)}_" for n in f.notes]
            if f.notes:
                out.append("")
        if self.charts:
            out += ["### Helm charts", "", _md(HELM_NOTE, 1000), ""]
            for chart in self.charts:
                out.append(f"#### `{_md(chart.path)}`")
                out.append("")
                if chart.translation is None:
                    out += [
                        f"Not rendered{' (' + _md(chart.error, 300) + ')' if chart.error else ''}; run:",
                        "",
                        f"```\n{chart.command}\n```",
                        "",
                    ]
                    continue
                out += [f"Rendered with `{_md(chart.command, 300)}`:", "", *_translation_md(chart.translation)]
        if self.notes:
            out += ["### Notes", ""] + [f"- {_md(n, 400)}" for n in self.notes] + [""]
        return "\n".join(out).rstrip("\n") + "\n"

    def _repr_html_(self) -> str:
        parts = [f"<p><strong>{html.escape(self.summary())}</strong></p>"]
        actions = [(f.path, a) for f in self.files for a in f.manual_actions] + [("", a) for a in self.manual_actions]
        if actions:
            parts.append(
                html_table(
                    ["file", "object", "manual action"],
                    [(p, str(a.ref or ""), a.message) for p, a in actions],
                    title="Manual actions",
                )
            )
        warnings = [(f.path, w) for f in self.files for w in f.warnings] + [("", w) for w in self.warnings]
        if warnings:
            parts.append(
                html_table(
                    ["file", "object", "warning"],
                    [(p, str(w.ref or ""), w.message) for p, w in warnings],
                    title="Warnings",
                )
            )
        rows = [
            (f.path, str(c.ref), c.path or "(object)", c.op, c.old, c.new, c.reason)
            for f in self.files
            for c in f.changes
        ]
        if rows:
            parts.append(html_table(["file", "object", "path", "op", "old", "new", "reason"], rows, title="Changes"))
        return "".join(parts)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form (no file contents; Secret values are never recorded)."""
        return {
            "root": str(self.root),
            "source": self.source,
            "target": self.target,
            "objects": self.objects,
            "files_read": self.files_read,
            "summary": {
                "files_changed": len(self.changed_files),
                "changes": len(self.changes),
                "warnings": len(self.all_warnings),
                "manual_actions": len(self.all_manual_actions),
            },
            "needs_attention": self.needs_attention,
            "added_file": self.added_file,
            "written_to": str(self.written_to) if self.written_to is not None else None,
            "files": [f.to_dict() for f in self.files],
            "warnings": [w.to_dict() for w in self.warnings],
            "manual_actions": [a.to_dict() for a in self.manual_actions],
            "charts": [c.to_dict() for c in self.charts],
            "notes": list(self.notes),
        }
