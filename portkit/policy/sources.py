"""Read a policy directory: Rego modules, Gatekeeper ConstraintTemplates and constraints, and what is not used.

* ``*.rego`` files (recursively; ``*_test.rego`` files, which hold ``opa test`` / ``conftest verify`` tests,
  are left out) are conftest-style policies: their ``deny``/``violation``/``warn`` rules are evaluated with
  each object as ``input``;
* YAML/JSON documents of kind ``ConstraintTemplate`` (``templates.gatekeeper.sh``) and constraints
  (``constraints.gatekeeper.sh``) are Gatekeeper policies;
* Kyverno policies (``kyverno.io``) are listed as not evaluated (portkit does not run Kyverno);
* any other YAML/JSON document is listed as ignored; files of other types (READMEs, ...) are passed over.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import attrs

from portkit.errors import BundleError
from portkit.policy.errors import PolicyInputError
from portkit.policy.result import ACTIONS

__all__ = ["Constraint", "PolicySet", "RegoFile", "Template", "load_policies", "policy_digest"]

PolicyPaths = str | os.PathLike[str] | Sequence[str | os.PathLike[str]]

_TEMPLATE_GROUP = "templates.gatekeeper.sh"
_CONSTRAINT_GROUP = "constraints.gatekeeper.sh"
_YAML_SUFFIXES = (".yaml", ".yml", ".json")


@attrs.frozen
class RegoFile:
    """A Rego module: where it came from and its text."""

    origin: str
    text: str


@attrs.frozen
class Template:
    """A Gatekeeper ConstraintTemplate: the constraint kind it defines and its Rego (plus libraries).

    ``rego`` is empty when the template has no Rego (only ``K8sNativeValidation``/CEL code), which portkit
    does not evaluate; ``version`` is ``"v1"`` when the template declares its Rego as v1, else ``""``
    (detected like any other file).
    """

    name: str
    kind: str
    origin: str
    rego: str = ""
    libs: tuple[str, ...] = ()
    version: str = ""


@attrs.frozen
class Constraint:
    """A Gatekeeper constraint: its kind (a template's), name, match, parameters and enforcement action."""

    kind: str
    name: str
    origin: str
    match: dict[str, Any] = attrs.field(factory=dict)
    parameters: Any = attrs.field(factory=dict)
    enforcement_action: str = "deny"

    @property
    def id(self) -> str:
        """``Kind/name``, how violations name it."""
        return f"{self.kind}/{self.name}"


@attrs.frozen
class PolicySet:
    """Everything found in the policy paths."""

    rego: tuple[RegoFile, ...] = ()
    templates: tuple[Template, ...] = ()
    constraints: tuple[Constraint, ...] = ()
    not_evaluated: tuple[str, ...] = ()
    ignored: tuple[str, ...] = ()

    def __len__(self) -> int:
        return len(self.rego) + len(self.templates) + len(self.constraints)


def _files(paths: PolicyPaths) -> list[Path]:
    items = [paths] if isinstance(paths, (str, os.PathLike)) else list(paths)
    found: list[Path] = []
    for item in items:
        path = Path(item).expanduser()
        if path.is_dir():
            for root, dirs, names in os.walk(path):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                found.extend(Path(root) / n for n in sorted(names) if not n.startswith("."))
        elif path.is_file():
            found.append(path)
        else:
            raise PolicyInputError(
                f"The policy path {item} does not exist.", hint="Give a directory or files of Rego or Gatekeeper YAML."
            )
    return found


def _template(doc: dict[str, Any], origin: str) -> Template:
    name = str((doc.get("metadata") or {}).get("name") or "")
    spec = doc.get("spec") or {}
    kind = str((((spec.get("crd") or {}).get("spec") or {}).get("names") or {}).get("kind") or "")
    if not kind:
        raise PolicyInputError(
            f"{origin}: ConstraintTemplate {name or '?'} has no spec.crd.spec.names.kind.",
            hint="Every ConstraintTemplate names the constraint kind it defines there.",
        )
    rego, version = "", ""
    libs: tuple[str, ...] = ()
    for target in spec.get("targets") or []:
        if not isinstance(target, dict):
            continue
        if target.get("rego"):
            rego, libs = str(target["rego"]), tuple(str(x) for x in target.get("libs") or ())
        for code in target.get("code") or []:
            source = (code or {}).get("source") or {}
            if (code or {}).get("engine") == "Rego" and source.get("rego"):
                rego = str(source["rego"])
                libs = tuple(str(x) for x in source.get("libs") or ())
                version = str(source.get("version") or "")
    return Template(name=name, kind=kind, origin=origin, rego=rego, libs=libs, version=version)


def _constraint(doc: dict[str, Any], origin: str) -> Constraint:
    meta = doc.get("metadata") or {}
    spec = doc.get("spec") or {}
    action = str(spec.get("enforcementAction") or "deny")
    if action == "scoped":
        # the strictest action any enforcement point asks for (portkit's gate stands in for admission)
        scoped = spec.get("scopedEnforcementActions") or []
        actions = {str(a.get("action") or "") for a in scoped if isinstance(a, dict)}
        action = next((a for a in ACTIONS if a in actions), "dryrun")
    if action not in ACTIONS:
        raise PolicyInputError(
            f"{origin}: constraint {doc.get('kind')}/{meta.get('name')} has enforcementAction {action!r}.",
            hint="Use deny, warn, dryrun or scoped.",
        )
    match = spec.get("match") or {}
    if not isinstance(match, dict):
        raise PolicyInputError(f"{origin}: constraint {doc.get('kind')}/{meta.get('name')}: spec.match is not a map.")
    return Constraint(
        kind=str(doc.get("kind") or ""),
        name=str(meta.get("name") or ""),
        origin=origin,
        match=match,
        parameters=spec.get("parameters") if spec.get("parameters") is not None else {},
        enforcement_action=action,
    )


def _yaml_documents(path: Path) -> list[Any]:
    from portkit._yaml import load_yaml_documents

    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise PolicyInputError(f"Cannot read the policy file {path}: {exc}.") from None
    try:
        docs = load_yaml_documents(text, where=str(path))
    except BundleError as exc:
        raise PolicyInputError(exc.message, hint=exc.hint) from None
    out: list[Any] = []
    for doc in docs:
        if isinstance(doc, dict) and doc.get("kind") == "List" and isinstance(doc.get("items"), list):
            out.extend(doc["items"])
        elif doc is not None:
            out.append(doc)
    return out


def load_policies(paths: PolicyPaths) -> PolicySet:
    """Read the policy files under ``paths`` (directories are searched recursively).

    Raises:
        PolicyInputError: a path does not exist, a file cannot be read or parsed, a template or constraint
            lacks what it needs, or two templates define the same constraint kind.
    """
    rego: list[RegoFile] = []
    templates: dict[str, Template] = {}
    constraints: list[Constraint] = []
    not_evaluated: list[str] = []
    ignored: list[str] = []
    for path in _files(paths):
        origin = str(path)
        if path.suffix == ".rego":
            if path.name.endswith("_test.rego"):
                ignored.append(f"{origin} (a Rego test file)")
                continue
            try:
                rego.append(RegoFile(origin, path.read_text(encoding="utf-8")))
            except (OSError, UnicodeDecodeError) as exc:
                raise PolicyInputError(f"Cannot read the policy file {path}: {exc}.") from None
            continue
        if path.suffix not in _YAML_SUFFIXES:
            continue  # READMEs, scripts, data: not policies
        for doc in _yaml_documents(path):
            api_group = str(doc.get("apiVersion") or "").partition("/")[0] if isinstance(doc, dict) else ""
            kind = str(doc.get("kind") or "") if isinstance(doc, dict) else ""
            name = str((doc.get("metadata") or {}).get("name") or "") if isinstance(doc, dict) else ""
            if api_group == _TEMPLATE_GROUP and kind == "ConstraintTemplate":
                template = _template(doc, origin)
                if template.kind in templates:
                    raise PolicyInputError(
                        f"Two ConstraintTemplates define the constraint kind {template.kind}: "
                        f"{templates[template.kind].origin} and {origin}.",
                        hint="Keep one of them.",
                    )
                templates[template.kind] = template
            elif api_group == _CONSTRAINT_GROUP:
                constraints.append(_constraint(doc, origin))
            elif api_group.endswith("kyverno.io"):
                not_evaluated.append(
                    f"{origin}: Kyverno {kind} {name} (portkit evaluates OPA/Rego and Gatekeeper policies; "
                    "check Kyverno policies with `kyverno apply`)"
                )
            else:
                ignored.append(f"{origin}: {kind or 'a document'} {name}".rstrip())
    for c in constraints:
        if c.kind not in templates:
            raise PolicyInputError(
                f"{c.origin}: constraint {c.id} has no ConstraintTemplate defining the kind {c.kind} in the policies.",
                hint="Add the template next to it (or remove the constraint).",
            )
    for t in templates.values():
        if not t.rego:
            users = [c.id for c in constraints if c.kind == t.kind]
            not_evaluated.append(
                f"{t.origin}: ConstraintTemplate {t.name} has no Rego (only CEL/K8sNativeValidation code, which "
                "portkit does not evaluate)"
                + (f"; its constraints {', '.join(users)} are not checked" if users else "")
            )
    return PolicySet(
        rego=tuple(rego),
        templates=tuple(templates.values()),
        constraints=tuple(constraints),
        not_evaluated=tuple(not_evaluated),
        ignored=tuple(ignored),
    )


def policy_digest(paths: PolicyPaths | None, namespaces: Sequence[str] | None = None) -> str | None:
    """A digest of every file under ``paths`` (names and bytes) and the package selection: tells whether a
    resumed migration is checked against the same policies as before. None without policies."""
    import hashlib

    if paths is None:
        return None
    h = hashlib.sha256()
    for path in _files(paths):
        h.update(str(path).encode() + b"\0")
        try:
            h.update(path.read_bytes())
        except OSError as exc:
            raise PolicyInputError(f"Cannot read the policy file {path}: {exc.strerror}.") from None
        h.update(b"\0")
    h.update(repr(sorted(namespaces) if namespaces is not None else None).encode())
    return h.hexdigest()[:16]
