"""The shipped recording still tells what a live IONOS-looking local cluster tells (re-record when this fails)."""

from __future__ import annotations

import pytest

import portkit
from portkit.cli.commands.demo import DEMO_MAPPINGS
from portkit.demo_data import RECORDED_IONOS, SHOP
from portkit.recording import RecordedCluster, record_target
from portkit.testing import LocalCluster

pytestmark = pytest.mark.integration


def _surface(cluster: portkit.Cluster) -> set[tuple[str, str, str, bool, frozenset[str]]]:
    return {(r.group, r.version, r.kind, r.namespaced, r.verbs) for r in cluster.resources()}


def _plan_outline(plan: portkit.Plan) -> tuple[list[tuple[str, str, bool]], list[tuple[str, str]]]:
    return ([(a.op, str(a.ref), a.deferred) for a in plan.actions], [(b.what, b.name) for b in plan.blockers])


def test_the_recording_plans_like_the_live_cluster_it_was_recorded_from() -> None:
    recorded = RecordedCluster.load(RECORDED_IONOS)
    with LocalCluster(name="rec-check", provider="ionos") as lc:
        lc.apply(SHOP / "target-platform")
        live = lc.cluster()
        assert _surface(live) == _surface(recorded)  # same kinds, versions, scopes and verbs served
        fresh = record_target(live, name="fresh", description="now")
        for path, body in recorded.recording.responses.items():
            if path not in ("/version", "/api", "/apis") and isinstance(body, dict) and "items" in body:
                names = {i["metadata"]["name"] for i in body["items"]}
                assert names == {i["metadata"]["name"] for i in fresh.responses[path]["items"]}, path
        t = portkit.translate(
            portkit.Bundle.from_manifests([SHOP / "app"]), source="aws", target="ionos", mappings=DEMO_MAPPINGS
        )
        on_live = portkit.plan(t.bundle, live, dry_run_check=False)
        on_recording = portkit.plan(t.bundle, recorded, dry_run_check=False)
        assert _plan_outline(on_recording) == _plan_outline(on_live)
        # and with a class the target lacks, both block alike
        bad = portkit.translate(
            portkit.Bundle.from_manifests([SHOP / "app"]),
            source="aws",
            target="ionos",
            mappings={"storage_classes": {"gp3": "fast"}},
        )
        assert _plan_outline(portkit.plan(bad.bundle, recorded, dry_run_check=False)) == _plan_outline(
            portkit.plan(bad.bundle, live, dry_run_check=False)
        )
