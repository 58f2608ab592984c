"""translate(): the source provider detected when not given, translators chosen by name."""

from __future__ import annotations

import importlib
import logging
from typing import Any

import pytest

from portkit.bundle import Bundle
from portkit.errors import TranslationError

T = importlib.import_module("portkit.translate")


def pvc(name: str = "data", cls: str = "gp3") -> dict[str, Any]:
    return {
        "apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": name, "namespace": "shop"},
        "spec": {"storageClassName": cls, "accessModes": ["ReadWriteOnce"],
                 "resources": {"requests": {"storage": "10Gi"}}},
    }  # fmt: skip


def nlb() -> dict[str, Any]:
    return {
        "apiVersion": "v1", "kind": "Service",
        "metadata": {"name": "web", "namespace": "shop",
                     "annotations": {"service.beta.kubernetes.io/aws-load-balancer-type": "nlb"}},
        "spec": {"type": "LoadBalancer", "selector": {"app": "web"}, "ports": [{"port": 80}]},
    }  # fmt: skip


def objects_of(t: Any, kind: str) -> dict[str, Any]:
    return next(o for o in t.bundle if o["kind"] == kind)


def test_source_detected_from_the_objects_is_said_and_recorded(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="portkit")
    t = T.translate(Bundle([pvc(), nlb()]), target="ionos")
    assert t.source == "aws"
    assert t.source_evidence and any("gp3" in e or "aws-load-balancer" in e for e in t.source_evidence)
    detected = [r for r in caplog.records if "source provider detected: aws" in r.getMessage()]
    assert detected and detected[0].name == "portkit.translate" and detected[0].levelno == logging.INFO
    assert objects_of(t, "PersistentVolumeClaim")["spec"]["storageClassName"] != "gp3"


def test_a_given_or_recorded_source_is_not_detected() -> None:
    assert T.translate([pvc()], source="gke", target="ionos").source_evidence == ()
    recorded = Bundle([pvc()], meta={"source": {"provider": "aws"}})
    t = T.translate(recorded, target="ionos")
    assert (t.source, t.source_evidence) == ("aws", ())


def test_translators_runs_only_those_named() -> None:
    t = T.translate([pvc(), nlb()], source="aws", target="ionos", translators=["storage"])
    assert t.translators == ("storage",)
    assert {c.translator for c in t.changes} <= {"storage", "residue"}
    assert objects_of(t, "PersistentVolumeClaim")["spec"]["storageClassName"] != "gp3"
    assert objects_of(t, "Service")["metadata"]["annotations"] == nlb()["metadata"]["annotations"]


def test_exclude_leaves_a_translator_out() -> None:
    everything = T.translate([pvc(), nlb()], source="aws", target="ionos")
    t = T.translate([pvc(), nlb()], source="aws", target="ionos", exclude=["storage"])
    assert "storage" in everything.translators and "storage" not in t.translators
    assert len(t.translators) == len(everything.translators) - 1
    assert not any(c.translator == "storage" for c in t.changes)


def test_a_registered_plugin_translator_can_be_excluded_by_name() -> None:
    class Stamp(T.BaseTranslator):
        name = "stamp"
        order = 95

        def translate(self, item: T.Item, ctx: T.Context) -> None:
            item.set(("metadata", "labels", "stamped"), "yes", "test stamp")

    T.register_translator(Stamp)
    try:
        assert "stamp" in T.translate([pvc()], source="aws", target="ionos").translators
        t = T.translate([pvc()], source="aws", target="ionos", exclude=["stamp"])
        assert "stamp" not in t.translators
        assert "labels" not in objects_of(t, "PersistentVolumeClaim")["metadata"]
    finally:
        T.unregister_translator("stamp")


def test_bad_translator_choices_are_clear_errors() -> None:
    with pytest.raises(TranslationError, match="no translator named 'storrage'") as err:
        T.translate([pvc()], source="aws", target="ionos", translators=["storrage"])
    assert "storage" in str(err.value)  # the names there are
    with pytest.raises(TranslationError, match="exclude=: no translator named 'nope'"):
        T.translate([pvc()], source="aws", target="ionos", exclude=["nope"])
    with pytest.raises(TranslationError, match="list of translator names"):
        T.translate([pvc()], source="aws", target="ionos", translators="storage")  # type: ignore[arg-type]
    rules = [{"conditions": {"groupResource": "persistentvolumeclaims"},
              "mergePatches": [{"patchData": '{"metadata": {"labels": {"a": "b"}}}'}]}]  # fmt: skip
    with pytest.raises(TranslationError, match="'rules' translator that applies them is not selected"):
        T.translate([pvc()], source="aws", target="ionos", rules=rules, exclude=["rules"])
    t = T.translate([pvc()], source="aws", target="ionos", rules=rules, translators=["rules"])
    assert objects_of(t, "PersistentVolumeClaim")["metadata"]["labels"] == {"a": "b"}
