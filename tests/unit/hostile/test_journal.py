"""Hostile journals and wrong clusters: apply, resume and rollback parse the journal, validate every record
and refuse a journal of another cluster; rollback deletes only objects whose uid portkit recorded creating.

The clusters are the in-memory stand-ins of tests/unit/test_replay_flow.py with a ``kube-system``
namespace, whose uid names the cluster as on a real one.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from test_replay_flow import FakeCluster, cm, ns

from portkit.cli import main
from portkit.cluster import Cluster
from portkit.errors import ClusterMismatchError, InputError, JournalError
from portkit.migration import Migration
from portkit.replay import apply, plan, rollback
from portkit.replay.journal import JOURNAL_FILE, Journal


class Target(FakeCluster):
    """A stand-in cluster with a kube-system namespace (its identity) that records every raw request."""

    def __init__(self, name: str = "a", *, server: str | None = None) -> None:
        super().__init__(name)
        if server is not None:
            self.server = server
        self.add(ns("kube-system"), manager="kube-apiserver")
        self.raw: list[tuple[str, str, Any]] = []

    @property
    def uid(self) -> str:
        live = self.live("Namespace", "kube-system")
        assert live is not None
        return str(live["metadata"]["uid"])

    def request(self, method: str, path: str, *, body: Any = None, query: Any = None, **kw: Any) -> Any:
        self.raw.append((method, path, body))
        return super().request(method, path, body=body, query=query, **kw)

    def deletes(self) -> list[tuple[str, Any]]:
        return [(path, body) for method, path, body in self.raw if method == "DELETE"]

    def close(self) -> None:
        pass


def shop() -> list[dict[str, Any]]:
    return [ns("shop"), cm("settings"), cm("other")]


def applied(cluster: Target, workdir: Path, objs: list[dict[str, Any]] | None = None) -> None:
    result = apply(plan(objs or shop(), cluster), workdir=workdir)  # type: ignore[arg-type]
    assert result.ok, result.to_text()


def records(workdir: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (workdir / JOURNAL_FILE).read_text().splitlines()]


def rewrite(workdir: Path, lines: list[str]) -> None:
    (workdir / JOURNAL_FILE).write_text("".join(line + "\n" for line in lines))


def copy_into(other: Target, objs: list[dict[str, Any]]) -> None:
    for obj in objs:
        other.add(obj, manager="portkit")


# ------------------------------------------------------------------------------------ cluster identity
def test_rollback_refuses_a_journal_of_another_cluster_and_deletes_nothing(tmp_path: Path) -> None:
    a, b = Target("a"), Target("b")
    applied(a, tmp_path)
    copy_into(b, shop())  # B has objects of the same names
    writes = b.stats.writes
    with pytest.raises(ClusterMismatchError) as info:
        rollback(tmp_path, b)  # type: ignore[arg-type]
    message = str(info.value)
    assert "https://a.invalid" in message and a.uid in message, "says which cluster the journal belongs to"
    assert "https://b.invalid" in message and "nothing was deleted" in message
    assert "--allow-other-cluster" in message, "says what to do"
    assert isinstance(info.value, InputError)
    assert b.deletes() == [] and b.stats.writes == writes
    assert all(b.live(o["kind"], o["metadata"]["name"], o["metadata"].get("namespace", "")) for o in shop())
    done = rollback(tmp_path, a)  # type: ignore[arg-type]
    assert sorted(r.name for r in done.deleted) == ["other", "settings", "shop"]


def test_a_cluster_recreated_at_the_same_address_is_another_cluster(tmp_path: Path) -> None:
    old, new = Target("x"), Target("x")  # same server URL, different kube-system uids
    assert old.server == new.server and old.uid != new.uid
    applied(old, tmp_path)
    copy_into(new, shop())
    with pytest.raises(ClusterMismatchError, match="nothing was applied"):
        apply(plan([*shop(), cm("more")], new), workdir=tmp_path)  # type: ignore[arg-type]
    with pytest.raises(ClusterMismatchError, match="nothing was deleted"):
        rollback(tmp_path, new)  # type: ignore[arg-type]
    assert new.live("ConfigMap", "more", "shop") is None and new.deletes() == []


def test_the_same_cluster_at_a_new_address_resumes_and_rolls_back(tmp_path: Path) -> None:
    a = Target("a")
    applied(a, tmp_path)
    a.server = "https://a-behind-a-new-load-balancer.invalid"  # same kube-system uid
    applied(a, tmp_path, [*shop(), cm("more")])
    done = rollback(tmp_path, a)  # type: ignore[arg-type]
    assert sorted(r.name for r in done.deleted) == ["more", "other", "settings", "shop"]


def test_the_run_record_names_the_server_without_its_password_and_the_kube_system_uid(tmp_path: Path) -> None:
    a = Target("a", server="https://admin:s3cret-pw@a.invalid:6443")
    applied(a, tmp_path)
    text = (tmp_path / JOURNAL_FILE).read_text()
    assert "s3cret-pw" not in text
    run = next(r for r in records(tmp_path) if r["event"] == "run")
    assert run["server"] == "https://***@a.invalid:6443"  # portkit.cluster.redact_url: the whole userinfo
    assert run["cluster_uid"] == a.uid


@pytest.mark.parametrize(
    "dump",
    [
        pytest.param(lambda r: json.dumps(r), id="spaces"),
        pytest.param(lambda r: json.dumps(r, indent=None, separators=(" ,\t", " :\t")), id="tabs"),
        pytest.param(lambda r: json.dumps(r).replace('"run"', '"\\u0072un"'), id="unicode-escapes"),
    ],
)
def test_a_journal_written_with_other_json_spacing_is_still_checked(
    tmp_path: Path, dump: Callable[[dict[str, Any]], str]
) -> None:
    a, b = Target("a"), Target("b")
    applied(a, tmp_path)
    rewrite(tmp_path, [dump(r) for r in records(tmp_path)])
    assert Journal(tmp_path).servers() == {"https://a.invalid"}
    with pytest.raises(ClusterMismatchError, match=r"journal of an apply to https://a\.invalid"):
        apply(plan([*shop(), cm("more")], b), workdir=tmp_path)  # type: ignore[arg-type]
    assert b.stats.writes == 0
    with pytest.raises(ClusterMismatchError):
        rollback(tmp_path, b)  # type: ignore[arg-type]


def test_object_records_without_a_run_record_are_refused(tmp_path: Path) -> None:
    a = Target("a")
    applied(a, tmp_path)
    rewrite(tmp_path, [json.dumps(r) for r in records(tmp_path) if r["event"] != "run"])
    with pytest.raises(ClusterMismatchError, match="do not say which cluster"):
        rollback(tmp_path, a)  # type: ignore[arg-type]
    assert a.deletes() == []


# ------------------------------------------------------------------------- journals of older portkit
def without_cluster_uid(workdir: Path, server: str | None = None) -> None:
    out = []
    for r in records(workdir):
        r.pop("cluster_uid", None)
        if server is not None and r["event"] == "run":
            r["server"] = server
        out.append(json.dumps(r, separators=(",", ":")))
    rewrite(workdir, out)


def test_an_old_journal_of_the_same_server_rolls_back_by_recorded_uid(tmp_path: Path) -> None:
    a = Target("a")
    applied(a, tmp_path)
    without_cluster_uid(tmp_path)
    done = rollback(tmp_path, a)  # type: ignore[arg-type]
    assert sorted(r.name for r in done.deleted) == ["other", "settings", "shop"] and not done.warnings


def test_an_old_journal_of_another_server_needs_the_loud_override(tmp_path: Path) -> None:
    a = Target("a")
    applied(a, tmp_path)
    without_cluster_uid(tmp_path, server="https://user:old-pw@a-old-address.invalid")
    with pytest.raises(ClusterMismatchError) as info:
        rollback(tmp_path, a)  # type: ignore[arg-type]
    assert "old-pw" not in str(info.value) and "https://***@a-old-address.invalid" in str(info.value)
    assert a.deletes() == []
    done = rollback(tmp_path, a, allow_other_cluster=True)  # type: ignore[arg-type]
    assert done.warnings and "overridden" in done.warnings[0]
    assert done.to_text().startswith("WARNING: ")
    assert sorted(r.name for r in done.deleted) == ["other", "settings", "shop"]


def test_the_override_on_another_cluster_deletes_nothing_and_leaves_the_journal_usable(tmp_path: Path) -> None:
    a, b = Target("a"), Target("b")
    applied(a, tmp_path)
    copy_into(b, shop())
    done = rollback(tmp_path, b, allow_other_cluster=True)  # type: ignore[arg-type]
    assert done.deleted == [] and len(done.kept) == 3 and done.warnings
    assert b.deletes() == []
    # nothing was journaled as deleted: the rollback in the right cluster still removes everything
    assert sorted(r.name for r in rollback(tmp_path, a).deleted) == ["other", "settings", "shop"]  # type: ignore[arg-type]


# ------------------------------------------------------------------------ only recorded uids are deleted
def test_the_delete_carries_the_recorded_uid_as_precondition(tmp_path: Path) -> None:
    a = Target("a")
    applied(a, tmp_path)
    uids = {r["ref"]["name"]: r["uid"] for r in records(tmp_path) if r["event"] == "applied"}
    rollback(tmp_path, a)  # type: ignore[arg-type]
    sent = a.deletes()
    assert len(sent) == 3
    for path, body in sent:
        assert body["preconditions"] == {"uid": uids[path.rsplit("/", 1)[1]]}


def test_an_object_recreated_between_get_and_delete_is_not_deleted(tmp_path: Path) -> None:
    class Racy(Target):
        def get(self, resource: Any, name: str, namespace: str | None = None, **kw: Any) -> dict[str, Any]:
            seen = super().get(resource, name, namespace, **kw)
            if name == "settings":  # someone deletes and re-creates it right after portkit looked
                self.store.pop(self.key(cm("settings")))
                self.add(cm("settings"), manager="someone")
            return seen

    a = Racy("a")
    applied(a, tmp_path)
    done = rollback(tmp_path, a)  # type: ignore[arg-type]
    assert [r.name for r, _why in done.kept] == ["settings"]
    assert a.live("ConfigMap", "settings", "shop") is not None


@pytest.mark.parametrize("how", ["intent-only", "applied-without-uid"])
def test_objects_whose_uid_portkit_never_recorded_are_kept(tmp_path: Path, how: str) -> None:
    a = Target("a")
    applied(a, tmp_path)
    out = []
    for r in records(tmp_path):
        if r.get("ref", {}).get("name") == "settings" and r["event"] == "applied":
            if how == "intent-only":
                continue  # the run was killed after the POST, before the answer was journaled
            r.pop("uid")
        out.append(json.dumps(r))
    rewrite(tmp_path, out)
    done = rollback(tmp_path, a)  # type: ignore[arg-type]
    assert [(r.name, "no uid" in why) for r, why in done.kept] == [("settings", True)]
    assert a.live("ConfigMap", "settings", "shop") is not None
    assert sorted(r.name for r in done.deleted) == ["other", "shop"]


# ---------------------------------------------------------------------------------- invalid records
def _set_ref(field: str, value: Any) -> Callable[[dict[str, Any]], Any]:
    return lambda r: r["ref"].__setitem__(field, value)


INVALID: dict[str, Callable[[dict[str, Any]], Any]] = {
    "empty name": _set_ref("name", ""),
    "name with a slash": _set_ref("name", "a/b"),
    "name ..": _set_ref("name", ".."),
    "name with %2F": _set_ref("name", "a%2Fb"),
    "name with CR LF": _set_ref("name", "x\r\nImpersonate-User: admin"),
    "name with ESC": _set_ref("name", "x\x1b[2J"),
    "name not a string": _set_ref("name", 7),
    "namespace not a name": _set_ref("namespace", "../kube-system"),
    "kind with a space": _set_ref("kind", "Config Map"),
    "empty kind": _set_ref("kind", ""),
    "group with a slash": _set_ref("group", "a/b"),
    "empty version": _set_ref("version", ""),
    "extra ref key": _set_ref("uid", "x"),
    "missing ref": lambda r: r.pop("ref"),
    "ref a string": lambda r: r.__setitem__("ref", "ConfigMap shop/settings"),
    "ts a string": lambda r: r.__setitem__("ts", "yesterday"),
    "ts infinite": lambda r: r.__setitem__("ts", float("inf")),
    "wave a bool": lambda r: r.__setitem__("wave", True),
    "created a string": lambda r: r.__setitem__("created", "yes"),
    "uid a list": lambda r: r.__setitem__("uid", ["x"]),
    "uid with a space": lambda r: r.__setitem__("uid", "a b"),
    "unknown event": lambda r: r.__setitem__("event", "explode"),
}


@pytest.mark.parametrize("case", sorted(INVALID))
def test_an_invalid_record_is_an_error_naming_the_file_and_line_before_any_request(tmp_path: Path, case: str) -> None:
    a = Target("a")
    applied(a, tmp_path)
    rows = records(tmp_path)
    index = next(i for i, r in enumerate(rows) if r["event"] == "applied" and r["ref"]["name"] == "settings")
    INVALID[case](rows[index])
    rewrite(tmp_path, [json.dumps(r, allow_nan=True) for r in rows])
    requests = a.stats.requests
    with pytest.raises(JournalError) as info:
        rollback(tmp_path, a)  # type: ignore[arg-type]
    message = str(info.value)
    assert str(tmp_path / JOURNAL_FILE) in message and f"line {index + 1}:" in message, message
    assert isinstance(info.value, InputError)
    assert a.stats.requests == requests and a.raw == [], "not one request"


@pytest.mark.parametrize("line", ["[" * 100_000 + "]" * 100_000, "[1, 2]", '"run"', "null"])
def test_json_that_is_not_a_record_is_an_error(tmp_path: Path, line: str) -> None:
    a = Target("a")
    applied(a, tmp_path)
    rows = [json.dumps(r) for r in records(tmp_path)]
    rewrite(tmp_path, [*rows, line, rows[-1]])
    with pytest.raises(JournalError, match=rf"line {len(rows) + 1}:"):
        rollback(tmp_path, a)  # type: ignore[arg-type]
    assert a.deletes() == []


def test_apply_validates_the_journal_before_it_writes(tmp_path: Path) -> None:
    a = Target("a")
    applied(a, tmp_path)
    rows = records(tmp_path)
    for r in rows:
        if r.get("ref", {}).get("name") == "settings":
            r["ref"]["name"] = ""
    rewrite(tmp_path, [json.dumps(r) for r in rows])
    writes = a.stats.writes
    with pytest.raises(JournalError, match="line"):
        apply(plan([*shop(), cm("more")], a), workdir=tmp_path)  # type: ignore[arg-type]
    assert a.stats.writes == writes


# ------------------------------------------------------------------------------------------ Migration
def test_a_migration_work_dir_refuses_other_clusters(tmp_path: Path) -> None:
    src, a, b = Target("src"), Target("a"), Target("b")

    def migration(target: Target) -> Migration:
        return Migration(
            source=src,
            target=target,
            namespaces=["shop"],
            target_provider="ionos",  # type: ignore[arg-type]
            workdir=tmp_path,
        )

    migration(a).volumes()  # a step that touches no cluster itself (volumes=None)
    state = json.loads((tmp_path / "state.json").read_text())
    assert state["clusters"]["target"] == {"server": "https://a.invalid", "uid": a.uid}
    with pytest.raises(ClusterMismatchError, match=r"whose target cluster is https://a\.invalid"):
        migration(b).volumes()
    migration(a).volumes()  # the same clusters again: fine


# ---------------------------------------------------------------------------------------------- CLI
def test_cli_rollback_against_another_cluster_exits_2_and_names_the_cluster(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    a, b = Target("a"), Target("b")
    workdir = tmp_path / "work"
    applied(a, workdir)
    copy_into(b, shop())
    monkeypatch.setattr(Cluster, "from_kubeconfig", classmethod(lambda cls, path=None, context=None: b))
    argv = ["apply", str(tmp_path / "bundle"), "--kubeconfig", "k", "--workdir", str(workdir), "--rollback"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "https://a.invalid" in err and a.uid in err and "nothing was deleted" in err
    assert "Traceback" not in err
    assert b.deletes() == []
    assert main([*argv, "--allow-other-cluster"]) == 0
    err = capsys.readouterr().err
    assert "portkit: warning: " in err and "overridden" in err
    assert b.deletes() == [], "B's objects have other uids: still nothing deleted"


def test_cli_rollback_of_an_invalid_journal_exits_2_naming_the_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    a = Target("a")
    applied(a, tmp_path)
    rows = records(tmp_path)
    rows[-1]["ref"]["name"] = ""
    rewrite(tmp_path, [json.dumps(r) for r in rows])
    monkeypatch.setattr(Cluster, "from_kubeconfig", classmethod(lambda cls, path=None, context=None: a))
    assert main(["apply", "b", "--kubeconfig", "k", "--workdir", str(tmp_path), "--rollback"]) == 2
    err = capsys.readouterr().err
    assert f"line {len(rows)}" in err and "Traceback" not in err
    assert a.deletes() == []
