"""The public surface: what `import portkit` offers, with the signatures DESIGN.md promises users."""

from __future__ import annotations

import inspect

import portkit
from portkit.testing import LocalCluster

EXPECTED = {
    "ApiError", "ApiResource", "ApplyError", "ApplyResult", "Bundle", "BundleError", "Change", "Cluster",
    "ClusterUnreachableError", "ConfigurationError", "ConflictError", "DataVerifyError", "DataVerifyResult",
    "ExportReport", "ForbiddenError",
    "GoneError", "InvalidError", "LocalClusterError", "ManualAction", "Migration", "MigrationEvent",
    "MigrationReport", "NotFoundError", "ObjectRef", "Plan", "PlanError", "PortkitError", "Profile",
    "ServerError", "ThrottledError", "Translation", "TranslationError", "TranslationWarning", "Translator",
    "VerifyResult", "VolumeMoveError", "WaitResult", "__version__", "apply", "export", "fleet", "plan",
    "providers", "register_translator", "rollback", "translate", "verify", "verify_data",
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


def test_design_signatures() -> None:
    empty = inspect.Parameter.empty
    assert params(portkit.Cluster.from_kubeconfig) == {"path": None, "context": None}
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
    for name in ("source", "target", "namespaces", "source_provider", "target_provider", "volumes",
                 "namespace_map", "mappings", "rules", "workdir"):
        assert name in mig, name
    assert mig["source_provider"] is None and mig["volumes"] is None and mig["source"] is empty
    assert mig["quiesce"] is False and mig["verify_data"] is False
    vd = params(portkit.verify_data)
    assert list(vd)[:3] == ["source", "target", "namespaces"] and vd["namespace_map"] is None
    assert callable(portkit.Bundle.load) and callable(portkit.Bundle.from_manifests)
    lc = params(LocalCluster)
    assert list(lc)[:2] == ["name", "provider"] and "velero" in lc
    assert lc["real_nodes"] == 0


def test_results_have_the_views_notebooks_and_automation_use() -> None:
    for cls in (portkit.Bundle, portkit.Translation, portkit.Plan, portkit.ApplyResult, portkit.VerifyResult,
                portkit.WaitResult, portkit.MigrationReport, portkit.ExportReport):
        for method in ("_repr_html_", "to_dict"):
            assert callable(getattr(cls, method, None)), f"{cls.__name__}.{method}"
