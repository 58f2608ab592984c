"""Runs corpus files through ``portkit translate`` and ``portkit lint`` and judges the result.

A run fails on a crash, an invalid object in the output, or a provider-bound item (found by
``scanner.py``, which does not use portkit's profiles) that came from the input, is still in the output
and is quoted by no record: no Change, warning, manual action or lint finding mentions it.

``python tests/corpus/runner.py`` prints the per-target table (runs, failing runs, unreported items).
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import json
import re
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

CORPUS = Path(__file__).resolve().parent
if __name__ == "__main__":  # run as a script: this checkout's portkit, not an installed one
    sys.path.insert(0, str(CORPUS.parents[1]))
TARGETS = ("ionos", "scaleway", "hetzner", "ovh", "openstack", "rook-ceph+metallb", "longhorn", "ibm", "oci")
SOURCES = {"eks": "aws", "gke": "gke", "aks": "aks", "openshift": "openshift", "iks": "ibm", "oke": "oci"}

_spec = importlib.util.spec_from_file_location("corpus_scanner", CORPUS / "scanner.py")
assert _spec is not None and _spec.loader is not None
scanner = importlib.util.module_from_spec(_spec)
sys.modules.setdefault("corpus_scanner", scanner)
_spec.loader.exec_module(scanner)

_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
_NAME = re.compile(r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")


def corpus_files() -> list[Path]:
    """Every corpus manifest, sorted."""
    return sorted(p for p in CORPUS.rglob("*") if p.suffix in (".yaml", ".yml", ".json") and p.parent != CORPUS)


def source_of(path: Path) -> str:
    """The source provider of a corpus file (its folder)."""
    return SOURCES[path.relative_to(CORPUS).parts[0]]


def pairs() -> list[tuple[Path, str]]:
    """Every (file, target) run: each file against every target but its own provider."""
    return [(p, t) for p in corpus_files() for t in TARGETS if t != source_of(p)]


def _records(t: Any, residue: list[str]) -> tuple[dict[str, str], str]:
    """Record text per object name, and the bundle-wide text."""
    per: dict[str, list[str]] = {}
    glob: list[str] = list(residue)
    for c in t.changes:
        path = c.path.replace("~1", "/").replace("~0", "~")
        per.setdefault(c.ref.name, []).append(f"{path} {c.old!s} {c.new!s} {c.reason}")
    for n in (*t.warnings, *t.manual_actions):
        if n.ref is None:
            glob.append(n.message)
        else:
            per.setdefault(n.ref.name, []).append(n.message)
    return {k: "\n".join(v) for k, v in per.items()}, "\n".join(glob)


def _label_values(obj: Mapping[str, Any]) -> list[str]:
    bad = []
    for meta_path in (("metadata",), ("spec", "template", "metadata")):
        meta: Any = obj
        for step in meta_path:
            meta = meta.get(step) if isinstance(meta, Mapping) else None
        labels = meta.get("labels") if isinstance(meta, Mapping) else None
        if isinstance(labels, Mapping):
            bad += [f"label {k}={v!r}" for k, v in labels.items() if not _LABEL_VALUE.match(str(v)) or len(str(v)) > 63]
    pod = scanner._get(obj, *scanner._POD_PATHS.get(str(obj.get("kind")), ("-",)))
    if isinstance(pod, Mapping):
        for k, v in (pod.get("nodeSelector") or {}).items():
            if not _LABEL_VALUE.match(str(v)) or len(str(v)) > 63:
                bad.append(f"nodeSelector {k}={v!r}")
        terms = scanner._get(pod, "affinity", "nodeAffinity", "requiredDuringSchedulingIgnoredDuringExecution",
                             "nodeSelectorTerms")  # fmt: skip
        for term in scanner._dicts(terms):
            for e in scanner._dicts(term.get("matchExpressions")):
                for v in e.get("values") or []:
                    if not _LABEL_VALUE.match(str(v)) or len(str(v)) > 63:
                        bad.append(f"affinity {e.get('key')}={v!r}")
    return bad


def invalid_objects(objects: list[dict[str, Any]], records: dict[str, str]) -> list[str]:
    """What in the output cannot be applied (or cannot work) and is not reported."""
    from portkit.model import CLUSTER_SCOPED_KINDS

    problems = []
    for o in objects:
        meta = o.get("metadata")
        if not o.get("apiVersion") or not o.get("kind") or not isinstance(meta, Mapping) or not meta.get("name"):
            problems.append(f"{o.get('kind')}: no apiVersion/kind/name")
            continue
        where = f"{o['kind']} {meta.get('namespace') or ''}/{meta['name']}"
        api = str(o["apiVersion"])
        group = api.partition("/")[0] if "/" in api else ""
        if (group, o["kind"]) in CLUSTER_SCOPED_KINDS and meta.get("namespace"):
            problems.append(f"{where}: a cluster-scoped kind with a namespace")
        if o["kind"] not in ("Template",) and not _NAME.match(str(meta["name"]).lower()):
            pass  # publishers' placeholders (${NAME}) are not portkit's to fix
        problems += [f"{where}: {b}" for b in _label_values(o)]
        if o["kind"] == "PersistentVolumeClaim":
            spec = o.get("spec") or {}
            unbound = spec.get("storageClassName") == "" and not spec.get("volumeName") and not spec.get("selector")
            if unbound and str(meta["name"]) not in records.get(str(meta["name"]), ""):
                problems.append(f'{where}: storageClassName "" without a volume: it can never bind')
    return problems


def run(path: Path, target: str) -> dict[str, Any]:
    """One file against one target: crash, invalid objects, unreported items, lint's exit code."""
    from portkit.bundle import Bundle
    from portkit.cli import main
    from portkit.translate import lint_residue, translate

    source = source_of(path)
    result: dict[str, Any] = {"file": str(path.relative_to(CORPUS)), "target": target, "crash": None,
                              "invalid": [], "unreported": [], "lint_rc": None, "items_in": 0}  # fmt: skip
    try:
        bundle = Bundle.from_manifests(path, namespace="corpus")
        t = translate(bundle, source=source, target=target)
        residue = lint_residue(t, source, target)
    except Exception as exc:  # a crash is what this looks for
        result["crash"] = f"translate: {type(exc).__name__}: {exc}"
        return result
    out, err = io.StringIO(), io.StringIO()
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            result["lint_rc"] = main(
                ["lint", str(path), "--from", source, "--to", target, "-n", "corpus", "-o", "json"]
            )
    except SystemExit as exc:  # argparse
        result["lint_rc"] = exc.code
    if result["lint_rc"] not in (0, 3):
        result["crash"] = f"lint exit {result['lint_rc']}: {err.getvalue().strip()[:300]}"
        return result
    lint = json.loads(out.getvalue())
    residue = [*residue, *lint.get("residue", [])]
    per, glob = _records(t, residue)
    before = scanner.scan(bundle.objects)
    seen_in = {item for items in before.values() for item in items}
    result["items_in"] = len(seen_in)
    after = scanner.scan(t.bundle.objects)
    for (kind, ns, name), items in after.items():
        text = per.get(name, "") + "\n" + glob
        for what, value in items:
            if (what, value) in seen_in and value not in text:
                result["unreported"].append(f"{kind} {ns}/{name}: {what} {value}")
    result["invalid"] = invalid_objects(t.bundle.objects, per)
    result["lint_attention"] = bool(lint.get("needs_attention"))
    return result


def table(results: list[dict[str, Any]]) -> str:
    """Per target: runs, failing runs (crash/invalid/unreported), unreported items, lint exit 0 with items."""
    rows = [
        "| target | runs | crashes | invalid | runs with unreported | unreported items |",
        "|---|---|---|---|---|---|",
    ]
    tot = [0, 0, 0, 0, 0]
    for target in TARGETS:
        rs = [r for r in results if r["target"] == target]
        n = [len(rs), sum(1 for r in rs if r["crash"]), sum(1 for r in rs if r["invalid"]),
             sum(1 for r in rs if r["unreported"]), sum(len(r["unreported"]) for r in rs)]  # fmt: skip
        tot = [a + b for a, b in zip(tot, n, strict=True)]
        rows.append(f"| {target} | " + " | ".join(map(str, n)) + " |")
    rows.append("| all | " + " | ".join(map(str, tot)) + " |")
    return "\n".join(rows)


def main() -> None:
    """Print the table (and, with -v, every unreported item)."""
    results = [run(p, t) for p, t in pairs()]
    print(f"files: {len(corpus_files())}, targets: {len(TARGETS)}, runs: {len(results)}")
    print(table(results))
    if "-v" in sys.argv:
        for r in results:
            for what in ("crash", "invalid", "unreported"):
                if r[what]:
                    print(r["file"], r["target"], what, r[what])


if __name__ == "__main__":
    main()
