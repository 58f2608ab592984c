"""VolumeMoveResult / VolumeRow views, and VeleroMover's notes about data paths."""

from __future__ import annotations

import json

import pytest

from portkit.errors import ConfigurationError
from portkit.volumes import VeleroMover, VolumeMover, VolumeMoveResult, VolumeRow


def _result(phase: str = "Bound") -> VolumeMoveResult:
    rows = (
        VolumeRow("shop", "data", "gp3", "1500Mi", "shop-eu", "ionos-enterprise-ssd", "2Gi", phase, "pv-1"),
        VolumeRow("shop", "logs", "gp2", "1Gi", "shop-eu", "ionos-enterprise-ssd", "1Gi", "Pending"),
    )
    return VolumeMoveResult(
        backup="b1",
        restore="r1",
        backup_phase="Completed",
        restore_phase="Completed",
        data_path="fs-backup",
        namespace_map={"shop": "shop-eu"},
        storage_classes={"gp3": "ionos-enterprise-ssd"},
        volumes=rows,
        items_backed_up=13,
        items_restored=9,
    )


def test_result_views() -> None:
    result = _result()
    assert repr(result) == ("<VolumeMoveResult backup=b1 Completed restore=r1 Completed volumes=2 data_path=fs-backup>")
    text = result.to_text()
    assert "shop/data → shop-eu/data" in text and "gp3 1500Mi" in text and "ionos-enterprise-ssd 2Gi" in text
    data = json.loads(json.dumps(result.to_dict()))
    assert data["volumes"][0]["target_size"] == "2Gi" and data["ok"] is True
    html = result._repr_html_()
    assert "<table>" in html and "shop-eu/data" in html
    assert result.volumes[0].changed and not result.needs_attention


def test_missing_volume_needs_attention() -> None:
    result = _result(phase="Missing")
    assert not result.ok and result.needs_attention


def test_html_is_escaped() -> None:
    row = VolumeRow("<b>", "x", None, None, "<b>")
    result = VolumeMoveResult(
        backup="b",
        restore=None,
        backup_phase="Completed",
        restore_phase=None,
        data_path="none",
        volumes=(row,),
        messages=("<script>",),
    )
    assert "<script>" not in result._repr_html_() and "&lt;script&gt;" in result._repr_html_()


class _FakeCluster:  # only name/kubeconfig are read by the constructor
    def __init__(self, name: str) -> None:
        self.name, self.kubeconfig = name, "/nonexistent/kubeconfig"


def test_native_snapshots_across_providers_are_flagged(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PORTKIT_VELERO", "/bin/echo")
    same = VeleroMover(
        _FakeCluster("a"),
        _FakeCluster("b"),
        data_path="native",  # type: ignore[arg-type]
        source_provider="aws",
        target_provider="aws",
    )
    assert same.notes() == []
    across = VeleroMover(
        _FakeCluster("a"),
        _FakeCluster("b"),
        data_path="native",  # type: ignore[arg-type]
        source_provider="aws",
        target_provider="ionos",
    )
    assert any("cannot be restored on ionos" in n for n in across.notes())
    assert isinstance(across, VolumeMover) and across.name == "velero"
    fs = VeleroMover(
        _FakeCluster("a"),
        _FakeCluster("b"),
        data_path="fs-backup",  # type: ignore[arg-type]
        source_provider="aws",
        target_provider="ionos",
    )
    assert fs.notes() == []
    with pytest.raises(ConfigurationError, match="data path"):
        VeleroMover(_FakeCluster("a"), _FakeCluster("b"), data_path="magic")  # type: ignore[arg-type]
