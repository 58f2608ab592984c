"""The apply journal: durable JSON lines, crash-tolerant reading, what was created."""

from __future__ import annotations

import json
from pathlib import Path

from portkit.model import ObjectRef
from portkit.replay.journal import JOURNAL_FILE, Journal, JournalEntry

CM = ObjectRef("", "v1", "ConfigMap", "shop", "a")
DEP = ObjectRef("apps", "v1", "Deployment", "shop", "web")
NS = ObjectRef("", "v1", "Namespace", "", "shop")


def test_records_are_on_disk_when_record_returns(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "w")
    journal.record("run", None, run="r1", server="https://x")
    journal.record("applied", CM, sha256="abc", op="create", wave=4, run="r1", created=True, uid="u1")
    lines = (tmp_path / "w" / JOURNAL_FILE).read_text().splitlines()  # read by another handle, no close()
    assert len(lines) == 2
    data = json.loads(lines[1])
    assert data["ref"]["name"] == "a" and data["sha256"] == "abc" and data["created"] is True
    reread = Journal(tmp_path / "w")
    assert reread.last(CM) == journal.last(CM)
    assert reread.servers() == {"https://x"}
    journal.close()


def test_a_line_cut_short_by_a_crash_is_ignored(tmp_path: Path) -> None:
    journal = Journal(tmp_path)
    journal.record("applied", CM, sha256="abc", run="r1")
    journal.close()
    with open(tmp_path / JOURNAL_FILE, "a") as handle:
        handle.write('{"event":"applied","ts":1.0,"ref":{"gro')  # killed mid-write
    reread = Journal(tmp_path)
    assert reread.damaged_lines == 1
    assert len(reread) == 1 and reread.last(CM) is not None
    reread.record("applied", DEP, sha256="d", run="r2")  # appending after the damaged line still works
    assert Journal(tmp_path).last(DEP) is not None


def test_created_tracks_creations_across_runs_and_deletions() -> None:
    j = Journal()
    t = 1.0
    # run 1: namespace created; configmap announced but the run was killed before confirming it
    j.record_many([JournalEntry("intent", t, NS, op="create", wave=0, run="r1")])
    j.record("applied", NS, ts=t, op="create", wave=0, run="r1", created=True, uid="n1")
    j.record_many([JournalEntry("intent", t, CM, op="create", wave=4, run="r1")])
    # run 2 found the configmap already there (created by run 1): not created by run 2, still a candidate
    j.record("applied", CM, ts=t, op="update", wave=4, run="r2", created=False)
    # run 2: deployment announced and then rejected: not created
    j.record_many([JournalEntry("intent", t, DEP, op="create", wave=7, run="r2")])
    j.record("failed", DEP, ts=t, op="create", wave=7, run="r2", message="invalid")
    created = j.created()
    assert [(e.ref, e.event) for e in created] == [(NS, "applied"), (CM, "intent")]
    j.record("deleted", NS, ts=t, run="r1")
    assert [e.ref for e in j.created()] == [CM]


def test_intent_then_existing_object_in_the_same_run_is_not_a_creation() -> None:
    j = Journal()
    j.record_many([JournalEntry("intent", 1.0, CM, op="create", wave=4, run="r1")])
    j.record("applied", CM, op="create", wave=4, run="r1", created=False)
    assert j.created() == []


def test_unsynchronised_records_are_group_committed_and_flushed(tmp_path: Path) -> None:
    journal = Journal(tmp_path)
    journal.flush_interval = 3600.0  # no time-based commit during the test
    journal.record("run", None, run="r1", server="https://a")  # synchronous: commits, starts the interval
    ref = ObjectRef(group="", version="v1", kind="ConfigMap", namespace="shop", name="c")
    journal.record("applied", ref, sync=False, sha256="abc", run="r1")
    assert journal.last(ref) is not None, "visible in memory at once"
    on_disk = [e.event for e in Journal(tmp_path).entries]
    assert on_disk == ["run"], "not yet written: it waits for the next group commit"
    journal.flush()
    assert [e.event for e in Journal(tmp_path).entries] == ["run", "applied"]

    journal.flush_interval = 0.0  # due at once: the recording call commits it itself
    journal.record("failed", ref, sync=False, message="no", run="r1")
    assert [e.event for e in Journal(tmp_path).entries] == ["run", "applied", "failed"]
