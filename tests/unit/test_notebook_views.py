"""What notebooks show: ``to_dataframe()`` of every result, the ``plot_*()`` charts, and HTML tables that hold
every row (collapsed after the first). pandas and matplotlib are optional: the core never imports them, and
without them the methods say what to install."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import matplotlib
import pandas as pd
import pytest

matplotlib.use("Agg")  # no display in tests; set before pyplot is imported
import matplotlib.pyplot as plt
from test_replay_flow import FakeCluster, cm, deployment, ns, shop
from test_verify_data import manifest_text

import portkit
from portkit.charts import plot_residue, plot_timings, residue_category
from portkit.display import html_table
from portkit.errors import ConfigurationError
from portkit.migration import STEPS, MigrationReport
from portkit.replay import apply, plan
from portkit.replay.order import WAVE_NAMES
from portkit.translate import lint_residue
from portkit.volumes.verify import DEFAULT_IMAGE, ClaimCheck, DataVerifyResult, parse_manifest

SHOP = Path(__file__).resolve().parents[2] / "examples" / "shop-eks" / "app"


@pytest.fixture(autouse=True)
def close_figures() -> Iterator[None]:
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def translation() -> portkit.Translation:
    return portkit.translate(portkit.Bundle.from_manifests([SHOP]), source="aws", target="ionos")


def bar_widths(ax: Any) -> dict[str, list[float]]:
    """Each legend series of a bar chart → the widths of its bars, top to bottom."""
    return {c.get_label(): [p.get_width() for p in c.patches] for c in ax.containers}


def y_labels(ax: Any) -> list[str]:
    return [t.get_text() for t in ax.get_yticklabels()]


# ------------------------------------------------------------------------------------------- HTML tables
def test_html_table_holds_every_row_the_first_open_the_rest_collapsed() -> None:
    rows = [(f"obj-{i}", i) for i in range(120)]
    out = html_table(["object", "n"], rows, title="Objects", max_rows=50)
    assert all(f"<td>obj-{i}</td>" in out for i in range(120)), "every row is in the HTML"
    head, details = out.split("<details>")
    assert head.count("<tr>") == 51 and "obj-49<" in head and "obj-50<" not in head  # header + 50 rows open
    assert "<summary>… 70 more rows (51 to 120): click to show</summary>" in details
    assert details.count("<tr>") == 71 and details.endswith("</table></details>")  # same headers again
    assert "more rows not shown" not in out


def test_html_table_without_overflow_has_no_details() -> None:
    out = html_table(["a"], [("x",), ("y",)])
    assert "<details>" not in out and out.count("<tr>") == 3


def test_html_table_escapes_collapsed_rows_and_titles_too() -> None:
    rows = [("<b>open</b>",)] + [(f"<script>alert({i})</script>",) for i in range(5)]
    out = html_table(["<th>"], rows, title="<i>t</i>", max_rows=1)
    assert "<script>" not in out and "<b>" not in out and "<i>" not in out and "<th><th>" not in out
    assert "&lt;script&gt;alert(4)&lt;/script&gt;" in out and "&lt;i&gt;t&lt;/i&gt;" in out


def test_html_table_past_its_limit_points_at_to_dataframe() -> None:
    out = html_table(["n"], [(i,) for i in range(30)], max_rows=5, limit=20)
    assert "<td>19</td>" in out and "<td>20</td>" not in out
    assert "… and 10 more rows not shown here: use to_dataframe() or to_dict()" in out
    assert "<td>29</td>" in html_table(["n"], [(i,) for i in range(30)], max_rows=5, limit=None)


def test_result_views_show_more_than_fifty_rows() -> None:
    fake = FakeCluster()
    p = plan([ns("shop")] + [cm(f"c{i:03d}") for i in range(80)], fake)  # type: ignore[arg-type]
    view = p._repr_html_()
    assert "shop/c079" in view and "<details>" in view


# ------------------------------------------------------------------------------------------ Translation
def test_translation_dataframe_has_a_row_per_change_warning_and_manual_action(
    translation: portkit.Translation,
) -> None:
    t = translation
    df = t.to_dataframe()
    assert isinstance(df, pd.DataFrame)
    assert len(df) == len(t.changes) + len(t.warnings) + len(t.manual_actions)
    assert df["record"].value_counts().to_dict() == {
        "change": len(t.changes),
        "warning": len(t.warnings),
        "manual action": len(t.manual_actions),
    }
    changes = df[df["record"] == "change"]
    assert changes.groupby("translator").size().to_dict() == t.by_translator()
    sc = changes[changes["path"] == "/spec/storageClassName"].iloc[0]
    assert (sc["kind"], sc["namespace"], sc["name"]) == ("PersistentVolumeClaim", "shop", "uploads")
    assert (sc["old"], sc["new"], sc["translator"], sc["op"]) == ("gp3", "ionos-enterprise-ssd", "storage", "set")
    assert sc["object"] == "PersistentVolumeClaim shop/uploads" and sc["message"]
    actions = df[df["record"] == "manual action"]
    assert sorted(actions["message"]) == sorted(a.message for a in t.manual_actions)
    bundle_wide = actions[actions["object"] == ""]  # a manual action about no single object
    assert len(bundle_wide) == sum(1 for a in t.manual_actions if a.ref is None) > 0


def test_translation_dataframe_lists_lint_residue_and_keeps_columns_when_empty(
    translation: portkit.Translation,
) -> None:
    import attrs

    linted = attrs.evolve(translation, residue=("Deployment.apps shop/web: image x.dkr.ecr.amazonaws.com/w:1",))
    residue = linted.to_dataframe().query("record == 'residue'")
    assert list(residue["message"]) == list(linted.residue)
    empty = attrs.evolve(translation, changes=(), warnings=(), manual_actions=())
    frame = empty.to_dataframe()
    assert frame.empty and list(frame.columns)[:3] == ["record", "object", "kind"] and "translator" in frame


def test_translation_plot_changes_stacks_records_per_translator(translation: portkit.Translation) -> None:
    t = translation
    ax = t.plot_changes()
    assert ax.figure is not None
    translators = y_labels(ax)
    widths = bar_widths(ax)
    assert set(widths) == {"changes", "warnings", "manual actions"}
    for i, name in enumerate(translators):
        assert widths["changes"][i] == sum(1 for c in t.changes if c.translator == name)
        assert widths["warnings"][i] == sum(1 for w in t.warnings if w.translator == name)
    totals = [sum(w[i] for w in widths.values()) for i in range(len(translators))]
    assert totals == sorted(totals, reverse=True), "most records first"
    assert "aws → ionos" in ax.get_title()


# ------------------------------------------------------------------------------------------- residue
def test_residue_categories_follow_lint_wording() -> None:
    cases = {
        "Namespace shop: label elbv2.k8s.aws/pod-readiness-gate-inject": "labels and annotations",
        "Service shop/web: annotation service.beta.kubernetes.io/aws-load-balancer-type": "labels and annotations",
        "Deployment.apps shop/web: image 1.dkr.ecr.eu-central-1.amazonaws.com/shop/web:2": "images",
        "StatefulSet.apps shop/db: storage class gp3": "storage",
        "PersistentVolume pv-1: CSI driver ebs.csi.aws.com": "storage",
        "Deployment.apps shop/orders: topology.kubernetes.io/zone=eu-central-1a": "topology",
        "Deployment.apps shop/web: node label eks.amazonaws.com/nodegroup": "topology",
        "TargetGroupBinding.elbv2.k8s.aws shop/x: a kind only aws has": "provider-only kinds",
        "Ingress.networking.k8s.io shop/web: ingress class alb": "ingress",
        "Pod shop/p: extended resource vpc.amazonaws.com/pod-eni": "extended resources",
        "something else": "other",
    }
    assert {text: residue_category(text) for text in cases} == cases


def test_plot_residue_compares_before_and_after_per_kind(translation: portkit.Translation) -> None:
    before = lint_residue(portkit.Bundle.from_manifests([SHOP]), "aws", "ionos")
    after = lint_residue(translation, "aws", "ionos")
    assert len(before) > len(after) > 0
    ax = plot_residue(before, after)
    widths = bar_widths(ax)
    assert set(widths) == {f"before ({len(before)})", f"after ({len(after)})"}
    kinds = y_labels(ax)
    assert kinds[0] == "labels and annotations"  # the most residue before the translation
    assert dict(zip(kinds, widths[f"after ({len(after)})"], strict=True))["images"] == len(after)
    assert sum(widths[f"before ({len(before)})"]) == len(before)
    assert ax.get_title() == f"Provider residue: {len(before)} items before the translation, {len(after)} after"


# -------------------------------------------------------------------------------------- Plan / apply
def test_plan_dataframe_and_wave_chart() -> None:
    fake = FakeCluster()
    fake.add(ns("shop-eu"))
    fake.add(cm("settings", "shop-eu", color="red"))
    fake.reject = lambda obj: "spec.replicas: Invalid value" if obj["kind"] == "Deployment" else None
    p = plan(shop(), fake, namespace_map={"shop": "shop-eu"})  # type: ignore[arg-type]
    df = p.to_dataframe()
    assert len(df) == len(p.actions) and list(df["op"]) == [a.op for a in p.actions]
    assert set(df["namespace"]) - {""} == {"shop-eu"}, "namespaces after the map"
    web = df[(df["kind"] == "Deployment") & (df["name"] == "web")].iloc[0]
    assert web["wave"] == "workloads" and web["group"] == "apps" and "Invalid value" in web["error"]
    assert list(df["wave_index"]) == [a.wave for a in p.actions]
    assert list(df["wave"]) == [a.wave_name for a in p.actions]

    ax = p.plot_waves()
    waves = y_labels(ax)
    assert waves == [w for w in WAVE_NAMES if w in set(df["wave"])], "apply order"
    widths = bar_widths(ax)
    counts = df.groupby(["wave", "op"]).size()
    for op, values in widths.items():
        assert values == [counts.get((w, op), 0) for w in waves]
    assert sum(sum(v) for v in widths.values()) == len(p.actions)


def test_apply_dataframe_has_outcome_and_seconds_per_object() -> None:
    fake = FakeCluster()
    real_create = fake.create

    def slow_create(obj: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        if obj["kind"] == "Deployment":
            time.sleep(0.2)
        return real_create(obj, **kwargs)

    fake.create = slow_create  # type: ignore[method-assign]
    p = plan([ns("shop"), cm("a"), deployment("web")], fake)  # type: ignore[arg-type]
    result = apply(p)
    df = result.to_dataframe()
    assert list(df["outcome"]) == ["created"] * 3
    assert list(df.columns) == [
        "outcome",
        "op",
        "object",
        "kind",
        "group",
        "namespace",
        "name",
        "wave",
        "seconds",
        "message",
    ]
    seconds = dict(zip(df["name"], df["seconds"], strict=True))
    assert 0.2 <= seconds["web"] < 5 and seconds["a"] < 0.2
    assert json.loads(json.dumps(result.to_dict()))["objects"][2]["seconds"] >= 0.2

    again = apply(p)  # the in-memory journal: nothing is sent, nothing is timed
    assert set(again.to_dataframe()["outcome"]) == {"unchanged"}
    assert set(again.to_dataframe()["seconds"]) == {0.0}

    ax = result.plot_waves()
    assert bar_widths(ax) == {"created": [1, 1, 1]}
    assert y_labels(ax) == ["namespaces", "config", "workloads"]


# -------------------------------------------------------------------------------- migration / data
def report(completed: list[str], timings: dict[str, float]) -> MigrationReport:
    return MigrationReport(
        namespaces=["shop"],
        source_provider="aws",
        target_provider="ionos",
        completed=completed,
        timings=timings,
        objects_by_kind={"Deployment": 2},
    )


def test_migration_report_dataframe_has_every_step_in_order() -> None:
    r = report(["export", "translate", "lint"], {"export": 1.5, "translate": 0.25, "lint": 0.1})
    df = r.to_dataframe()
    assert list(df["step"]) == list(STEPS)
    assert list(df["status"][:3]) == ["completed"] * 3 and set(df["status"][3:]) == {"not run"}
    assert df["seconds"][0] == 1.5 and df["seconds"][3:].isna().all()


def test_migration_report_plot_timings_shows_steps_that_ran_in_order() -> None:
    r = report(["export", "translate", "volumes"], {"volumes": 61.0, "export": 1.5, "translate": 0.25})
    ax = r.plot_timings()
    assert y_labels(ax) == ["export", "translate", "volumes"]  # the order of STEPS, not of the dict
    assert [p.get_width() for p in ax.patches] == [1.5, 0.25, 61.0]
    assert [t.get_text() for t in ax.texts] == ["1.5 s", "0.25 s", "61.0 s"]  # short steps do not read as 0
    assert "63 s" in ax.get_title()


def test_charts_draw_into_a_given_axes() -> None:
    _, (left, right) = plt.subplots(1, 2)
    assert plot_timings({"a": 1.0}, ax=left) is left
    assert report(["export"], {"export": 2.0}).plot_timings(ax=right) is right
    assert len(plt.get_fignums()) == 1


def test_data_verify_dataframe_has_a_row_per_claim() -> None:
    tree = parse_manifest(manifest_text([b"./f"], ["81a4 3 0 0"], ["ab" * 32]))
    equal = ClaimCheck("shop/data", "shop-eu/data", "equal", source_tree=tree, target_tree=tree)
    diff = ClaimCheck(
        "shop/logs",
        "shop-eu/logs",
        "different",
        source_tree=tree,
        target_tree=tree,
        different=(("x", "content"),),
        missing=("a", "b"),
    )
    gone = ClaimCheck("shop/tmp", "shop-eu/tmp", "missing", reason="no such claim", source_tree=tree)
    df = DataVerifyResult((equal, diff, gone), DEFAULT_IMAGE).to_dataframe()
    assert list(df["status"]) == ["equal", "different", "missing"]
    assert list(df["files"]) == [1, 1, 1] and list(df["bytes"]) == [3, 3, 3]
    assert list(df["missing"]) == [0, 2, 0] and list(df["different"]) == [0, 1, 0]
    assert df["source_digest"][0] == tree.digest and pd.isna(df["target_digest"][2])
    assert df["reason"][2] == "no such claim"


# ------------------------------------------------------------------------------------ optional extras
def test_without_pandas_to_dataframe_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch, translation: portkit.Translation
) -> None:
    monkeypatch.setitem(sys.modules, "pandas", None)  # `import pandas` now raises ImportError
    with pytest.raises(ConfigurationError, match=r"needs the 'pandas' package.*pip install 'portkit\[notebook\]'"):
        translation.to_dataframe()
    with pytest.raises(ConfigurationError, match="pandas"):
        report([], {}).to_dataframe()


def test_without_matplotlib_charts_say_what_to_install(
    monkeypatch: pytest.MonkeyPatch, translation: portkit.Translation
) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    with pytest.raises(ConfigurationError, match=r"'matplotlib' package.*pip install 'portkit\[notebook\]'"):
        translation.plot_changes()
    with pytest.raises(ConfigurationError, match="matplotlib"):
        report(["export"], {"export": 1.0}).plot_timings()


def test_the_core_never_imports_pandas_or_matplotlib() -> None:
    code = (
        "import sys, portkit, portkit.cli, portkit.migration, portkit.charts, portkit.frames\n"
        "b = portkit.Bundle.from_manifests([sys.argv[1]])\n"
        "t = portkit.translate(b, source='aws', target='ionos')\n"
        "t.to_text(); t._repr_html_(); t.to_dict()\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('pandas', 'matplotlib', 'numpy')))\n"
    )
    out = subprocess.run([sys.executable, "-c", code, str(SHOP)], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout


# ------------------------------------------------------------------------------------ the notebooks
NOTEBOOKS = sorted((Path(__file__).resolve().parents[2] / "notebooks").glob("*.ipynb"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebooks_are_committed_with_their_outputs(path: Path) -> None:
    """A reader on a forge sees the tables and charts: every code cell was run, in order, without an error
    (refresh with ``pytest --nbmake --overwrite notebooks/``; nbmake re-runs them in the test command)."""
    nb = json.loads(path.read_text())
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert code and [c["execution_count"] for c in code] == list(range(1, len(code) + 1))
    outputs = [o for c in code for o in c["outputs"]]
    assert not [o for o in outputs if o["output_type"] == "error"]
    kinds = {k for o in outputs for k in o.get("data", {})}
    assert {"text/html", "image/png"} <= kinds, "tables and charts"
    assert not [o for o in outputs if o.get("name") == "stderr"], "no warnings or tracebacks in the outputs"
