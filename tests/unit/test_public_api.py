"""The public surface: what `import portkit` offers, with the signatures the design promises users.

The promise is ``docs/design-contract.md``: the section "The public API" of the product design (which lives
outside this repository, as ``shared/DESIGN.md``), copied into the repository. Its calls name the parameters
the tests below check (names, order, defaults); everything after a function's first arguments is passed by
keyword there. ``test_every_call_of_the_design_contract_binds`` reads that file and binds each call in it to
the signature the package has, so the copy and the code cannot drift apart unnoticed.
"""

from __future__ import annotations

import ast
import inspect
import re
import typing
from pathlib import Path

import attrs

import portkit
from portkit.testing import LocalCluster

EXPECTED = {
    "Action",
    "ApiError",
    "ApiResource",
    "ApplyError",
    "ApplyInterrupted",
    "ApplyResult",
    "Blocker",
    "Bundle",
    "BundleError",
    "Change",
    "ClaimCheck",
    "Cluster",
    "ClusterStats",
    "ClusterUnreachableError",
    "ConfigurationError",
    "ConflictError",
    "DataVerifyError",
    "DataVerifyResult",
    "ExportReport",
    "FieldDiff",
    "ForbiddenError",
    "GoneError",
    "InvalidError",
    "LocalClusterError",
    "ManualAction",
    "MappingResult",
    "Migration",
    "MigrationBlocked",
    "MigrationEvent",
    "MigrationReport",
    "Mismatch",
    "NamespaceChange",
    "NotFoundError",
    "NotReady",
    "ObjectRef",
    "ObjectResult",
    "Plan",
    "PlanError",
    "PolicyError",
    "PolicyResult",
    "PortkitError",
    "Profile",
    "ProviderTable",
    "QuiesceState",
    "RetryPolicy",
    "RollbackResult",
    "ScaledWorkload",
    "ServerError",
    "ThrottledError",
    "Translation",
    "TranslationError",
    "TranslationWarning",
    "Translator",
    "VerifyResult",
    "Violation",
    "VolumeMoveError",
    "VolumeMoveResult",
    "VolumeRow",
    "WaitResult",
    "__version__",
    "apply",
    "check_policies",
    "export",
    "fleet",
    "plan",
    "providers",
    "register_translator",
    "rollback",
    "translate",
    "verify",
    "verify_data",
}


def test_all_is_exactly_the_curated_surface() -> None:
    assert set(portkit.__all__) == EXPECTED
    assert sorted(portkit.__all__) == portkit.__all__, "keep __all__ sorted"
    for name in portkit.__all__:
        assert getattr(portkit, name) is not None


def test_every_error_derives_from_portkit_error() -> None:
    errors = [getattr(portkit, n) for n in portkit.__all__ if n.endswith("Error")]
    assert len(errors) >= 15
    assert all(issubclass(e, portkit.PortkitError) for e in errors)


def params(fn: object) -> dict[str, object]:
    return {n: p.default for n, p in inspect.signature(fn).parameters.items()}  # type: ignore[arg-type]


def keyword_only(fn: object) -> set[str]:
    return {
        n
        for n, p in inspect.signature(fn).parameters.items()  # type: ignore[arg-type]
        if p.kind is inspect.Parameter.KEYWORD_ONLY
    }


def test_design_signatures() -> None:
    empty = inspect.Parameter.empty
    for build in (portkit.Cluster.from_kubeconfig, portkit.Cluster.auto):
        kc = params(build)
        assert list(kc)[:2] == ["path", "context"] and (kc["path"], kc["context"]) == (None, None)
        assert keyword_only(build) == {"timeout", "retry", "pool_size"}
    assert list(params(portkit.Cluster.from_dict))[:2] == ["config", "context"]
    assert keyword_only(portkit.Cluster.in_cluster) == {"timeout", "retry", "pool_size"}
    exp = params(portkit.export)
    assert list(exp)[:4] == ["cluster", "namespaces", "path", "selector"] and exp["selector"] is None
    tr = params(portkit.translate)
    assert list(tr)[:5] == ["bundle", "source", "target", "rules", "mappings"]
    assert tr["rules"] is None and tr["mappings"] is None
    pl = params(portkit.plan)
    assert list(pl)[:4] == ["bundle", "cluster", "namespace_map", "existing"] and pl["existing"] == "update"
    ap = params(portkit.apply)
    assert list(ap)[:4] == ["plan", "wait", "timeout", "dry_run"]
    assert (ap["wait"], ap["timeout"], ap["dry_run"]) == (False, 600, False)
    assert list(params(portkit.verify))[:2] == ["bundle", "cluster"]
    mig = params(portkit.Migration)
    for name in (
        "source",
        "target",
        "namespaces",
        "source_provider",
        "target_provider",
        "volumes",
        "namespace_map",
        "mappings",
        "rules",
        "workdir",
    ):
        assert name in mig, name
    assert mig["source_provider"] is None and mig["volumes"] is None and mig["source"] is empty
    assert mig["quiesce"] is False and mig["verify_data"] is False
    vd = params(portkit.verify_data)
    assert list(vd)[:3] == ["source", "target", "namespaces"] and vd["namespace_map"] is None
    assert callable(portkit.Bundle.load) and callable(portkit.Bundle.from_manifests)
    lc = params(LocalCluster)
    assert list(lc)[:2] == ["name", "provider"] and "velero" in lc
    assert lc["real_nodes"] == 0


CONTRACT = Path(__file__).resolve().parents[2] / "docs" / "design-contract.md"


def _contract_code() -> str:
    text = CONTRACT.read_text(encoding="utf-8")
    found = re.search(r"```python\n(.*?)```", text, re.DOTALL)
    assert found, f"{CONTRACT} has no python block"
    return found.group(1)


def _callee(node: ast.expr, instances: dict[str, type]) -> tuple[str, object] | None:
    """``portkit.X``, ``portkit.X.Y``, ``LocalCluster`` or ``m.run`` (``m`` an instance made in the block)."""
    dotted: list[str] = []
    while isinstance(node, ast.Attribute):
        dotted.insert(0, node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    if node.id == "portkit":
        obj: object = portkit
    elif node.id == "LocalCluster":
        obj = LocalCluster
    elif node.id in instances and dotted:
        obj = instances[node.id]
    else:
        return None
    for part in dotted:
        obj = getattr(obj, part)
    return ".".join([node.id, *dotted]), obj


def test_every_call_of_the_design_contract_binds() -> None:
    """Each call of docs/design-contract.md binds to the real signature, and the type a ``# -> Type`` comment
    promises is the function's return annotation."""
    code = _contract_code()
    tree = ast.parse(code)
    lines = code.splitlines()
    instances: dict[str, type] = {}
    checked: list[str] = []
    for statement in tree.body:
        for node in ast.walk(statement):
            if not isinstance(node, ast.Call):
                continue
            found = _callee(node.func, instances)
            if found is None:
                continue
            name, fn = found
            signature = inspect.signature(fn)  # type: ignore[arg-type]
            args = [object()] * len(node.args)
            if (
                isinstance(node.func, ast.Attribute)
                and isinstance(node.func.value, ast.Name)
                and (node.func.value.id in instances)
            ):
                args.insert(0, object())  # self, for a method looked up on the class
            signature.bind(*args, **{kw.arg: None for kw in node.keywords if kw.arg})
            promised = re.search(r"# -> (\w+)", lines[node.lineno - 1])
            if promised and node.lineno == statement.lineno:
                hint = _return_hint(fn)
                assert hint is getattr(portkit, promised.group(1)), f"{name} returns {hint}, not {promised.group(1)}"
            checked.append(name)
        if isinstance(statement, ast.Assign) and isinstance(statement.value, ast.Call):
            target = statement.targets[0]
            made = _callee(statement.value.func, instances)
            if isinstance(target, ast.Name) and made and inspect.isclass(made[1]):
                instances[target.id] = made[1]
    assert {"portkit.Cluster.from_kubeconfig", "portkit.export", "portkit.Bundle.load", "portkit.Bundle.from_manifests",
            "portkit.translate", "portkit.plan", "portkit.apply", "portkit.Migration", "m.run", "portkit.verify_data",
            "portkit.providers"} <= set(checked), checked  # fmt: skip
    # what the comments of the block name
    assert [f.name for f in attrs.fields(portkit.Change)][:6] == ["ref", "path", "old", "new", "translator", "reason"]
    assert {"bundle", "changes", "warnings", "manual_actions"} <= {f.name for f in attrs.fields(portkit.Translation)}
    inspect.signature(portkit.Bundle.get).bind(object(), kind="Deployment", name="web", namespace="shop")
    inspect.signature(portkit.Bundle.save).bind(object(), "work/shop")
    assert callable(portkit.Plan.diff) and "actions" in {f.name for f in attrs.fields(portkit.Plan)}
    assert callable(portkit.Bundle.__len__) and callable(portkit.Bundle.__iter__)
    assert "real_nodes" in inspect.signature(LocalCluster).parameters


def test_results_have_the_views_notebooks_and_automation_use() -> None:
    for cls in (
        portkit.Bundle,
        portkit.Translation,
        portkit.Plan,
        portkit.ApplyResult,
        portkit.VerifyResult,
        portkit.WaitResult,
        portkit.MigrationReport,
        portkit.ExportReport,
    ):
        for method in ("_repr_html_", "to_dict"):
            assert callable(getattr(cls, method, None)), f"{cls.__name__}.{method}"


def test_options_and_booleans_are_keyword_only() -> None:
    """The calls of DESIGN.md pass them by keyword; a positional ``apply(plan, True)`` is an error."""
    assert keyword_only(portkit.apply) >= {"wait", "timeout", "dry_run", "workdir", "force", "on_error"}
    assert keyword_only(portkit.plan) >= {"namespace_map", "existing", "dry_run_check", "policies"}
    assert keyword_only(portkit.export) >= {"selector", "progress", "workers"}
    assert keyword_only(portkit.translate) >= {"rules", "mappings", "translators", "exclude"}
    assert keyword_only(portkit.verify) >= {"namespace_map", "rewrite_dns"}
    assert keyword_only(portkit.verify_data) >= {"namespace_map"}
    mig = inspect.signature(portkit.Migration).parameters
    assert [n for n, p in mig.items() if p.kind is not inspect.Parameter.KEYWORD_ONLY] == [
        "source",
        "target",
        "namespaces",
    ]
    for fn in (
        portkit.apply,
        portkit.plan,
        portkit.export,
        portkit.translate,
        portkit.verify,
        portkit.verify_data,
        portkit.rollback,
        portkit.Migration,
        portkit.check_policies,
        LocalCluster,
    ):
        for name, p in inspect.signature(fn).parameters.items():
            if p.default is True or p.default is False:
                assert p.kind is inspect.Parameter.KEYWORD_ONLY, f"{fn.__name__}({name}=...) is a positional bool"


def test_fixed_choices_are_literal_types() -> None:
    def choices(fn: object, name: str) -> set[str]:
        hint = typing.get_type_hints(fn)[name]
        return {
            a
            for arg in (typing.get_args(hint) or (hint,))
            for a in typing.get_args(arg) or (arg,)
            if isinstance(a, str)
        }

    from portkit.replay.apply import apply as apply_fn

    assert choices(apply_fn, "on_error") == {"continue", "stop"}
    assert choices(portkit.ObjectResult, "op") == {"create", "update", "unchanged", "conflict", "skip"}
    assert choices(portkit.Action, "op") == {"create", "update", "unchanged", "conflict", "skip"}
    assert choices(portkit.Change, "op") == {"set", "remove", "drop", "add", "replace"}
    assert choices(portkit.MigrationEvent, "kind") == {"step_start", "step_end", "step_skipped", "warning"}
    assert "verify_data" in choices(portkit.MigrationEvent, "step")
    assert choices(portkit.Plan, "existing") == {"update", "skip", "fail"}
    assert choices(portkit.Migration.__init__, "volumes") == {"velero"}
    from portkit.volumes.migrate import migrate_volumes

    assert choices(migrate_volumes, "data_path") == {"data-mover", "fs-backup", "native", "none"}


# Types reachable from a public result that stay in their subpackage: the apply journal (resume machinery,
# portkit.replay), the sections of a provider profile (portkit.profiles) and the file listings of a data check
# (portkit.volumes.verify).
NOT_EXPORTED = {
    "Journal",
    "JournalEntry",
    "ClusterIdentity",
    "TreeManifest",
    "Entry",
    "StorageProfile",
    "LoadBalancerProfile",
    "IngressProfile",
    "IdentityProfile",
    "TopologyProfile",
    "Registry",
    "ProviderKind",
    "ProviderResource",
    "ServiceImage",
    "ConceptBinding",
    "IngressEquivalent",
    "StorageClassSpec",
    "SnapshotClassSpec",
}


def _portkit_classes(hint: object, out: set[type]) -> None:
    if isinstance(hint, type):
        if hint.__module__.startswith("portkit."):
            out.add(hint)
        return
    for arg in typing.get_args(hint):
        _portkit_classes(arg, out)


def _return_hint(fn: object) -> object:
    """The return annotation of ``fn``, resolved in its module (other annotations may need names that are only
    imported for type checking)."""
    raw = inspect.signature(fn).return_annotation  # type: ignore[arg-type]
    if isinstance(raw, str):
        module = __import__(fn.__module__, fromlist=["_"])  # type: ignore[attr-defined]
        try:
            return eval(raw, vars(module))
        except NameError:
            return None
    return raw


def test_every_type_a_public_result_holds_is_exported() -> None:
    """What a public function returns, and what the returned objects hold, can be named: ``portkit.X``."""
    exported = {getattr(portkit, n) for n in portkit.__all__ if inspect.isclass(getattr(portkit, n))}
    todo: list[object] = [getattr(portkit, n) for n in portkit.__all__]
    seen: set[int] = set()
    missing: dict[str, str] = {}
    while todo:
        item = todo.pop()
        if id(item) in seen:
            continue
        seen.add(id(item))
        found: set[type] = set()
        if inspect.isfunction(item):
            _portkit_classes(_return_hint(item), found)
        elif inspect.isclass(item) and item.__module__.startswith("portkit") and not issubclass(item, BaseException):
            if attrs.has(item) or item is portkit.Cluster:
                for hint in typing.get_type_hints(item).values():
                    _portkit_classes(hint, found)
            for name, member in vars(item).items():
                if name.startswith("_"):
                    continue
                fn = member.fget if isinstance(member, property) else getattr(member, "__func__", member)
                if inspect.isfunction(fn):
                    _portkit_classes(_return_hint(fn), found)
        for cls in found:
            if cls.__name__ in NOT_EXPORTED:
                continue
            if cls not in exported:
                missing[cls.__name__] = getattr(item, "__qualname__", repr(item))
            todo.append(cls)
    assert not missing, f"returned or held by a public result but not in portkit.__all__: {missing}"
