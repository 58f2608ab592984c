"""The apply journal: a durable record of every object an apply sent, so a killed run resumes and
rollback knows what the run created.

One JSON object per line in ``<workdir>/journal.jsonl``; records are appended, flushed and fsynced in
group commits (see :meth:`Journal.record_many`). A line cut short by a crash (not JSON) is ignored when the
journal is read back; a line that is JSON but not a valid record (wrong types, a reference that is not a
valid Kubernetes kind, namespace or name, ...) is a :class:`~portkit.errors.JournalError` naming the file
and the line, before anything is sent. Records hold references and hashes only, never object content
(Secrets stay out of it).

Events:
    ``run``      an apply started: run id, the target's identity (``server`` with any password redacted,
                 ``cluster_uid``: the uid of its ``kube-system`` namespace; see :mod:`portkit.replay.identity`)
    ``intent``   an object is about to be created (written, in one fsync per wave, before the requests)
    ``applied``  the server accepted the object (sha256 of what was sent, whether this run created it, uid)
    ``failed``   the server rejected it (the API's message)
    ``deleted``  rollback removed it (or decided to keep it: ``message`` says why)
"""

from __future__ import annotations

import json
import math
import os
import re
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import attrs

from portkit._names import is_api_group, is_dns_label, is_kind, is_object_name, is_version
from portkit.errors import ApplyError, JournalError
from portkit.model import ObjectRef
from portkit.replay.identity import ClusterIdentity, redact_url, valid_uid

__all__ = ["EVENTS", "JOURNAL_FILE", "InvalidRecord", "Journal", "JournalEntry"]

JOURNAL_FILE = "journal.jsonl"

#: The events a journal record can have.
EVENTS = ("run", "intent", "applied", "failed", "deleted")

_REF_KEYS = ("group", "version", "kind", "namespace", "name")
_SHA256_RE = re.compile(r"[0-9A-Za-z]{1,128}")
_OP_RE = re.compile(r"[a-z-]{1,32}")
_RUN_RE = re.compile(r"[A-Za-z0-9_-]{1,64}")
# a record whose event is "run" contains `: "run"` literally unless the value is written with escapes
_MAYBE_RUN_RECORD = re.compile(r':[ \t\r]*"run"|\\')


class InvalidRecord(ValueError):
    """A journal line is JSON but not a valid record (the message says which field is wrong)."""


def _str(data: dict[str, Any], key: str, *, limit: int = 4096) -> str:
    value = data.get(key, "")
    if not isinstance(value, str):
        raise InvalidRecord(f"{key!r} must be a string, not {type(value).__name__}")
    if len(value) > limit:
        raise InvalidRecord(f"{key!r} is longer than {limit} characters")
    return value


def _ref(value: Any) -> ObjectRef:
    if not isinstance(value, dict) or set(value) != set(_REF_KEYS):
        raise InvalidRecord(f"'ref' must be a mapping with exactly the keys {', '.join(_REF_KEYS)}")
    if not all(isinstance(value[k], str) for k in _REF_KEYS):
        raise InvalidRecord("every field of 'ref' must be a string")
    group, version, kind, namespace, name = (value[k] for k in _REF_KEYS)
    if not is_api_group(group):
        raise InvalidRecord(f"ref group {group!r} is not a valid API group")
    if not is_version(version):
        raise InvalidRecord(f"ref version {version!r} is not a valid API version")
    if not is_kind(kind):
        raise InvalidRecord(f"ref kind {kind!r} is not a valid kind")
    if namespace != "" and not is_dns_label(namespace):
        raise InvalidRecord(f"ref namespace {namespace!r} is not a valid namespace name")
    if not is_object_name(name):
        raise InvalidRecord(f"ref name {name!r} is not a valid object name")
    return ObjectRef(group=group, version=version, kind=kind, namespace=namespace, name=name)


@attrs.frozen
class JournalEntry:
    """One journal record."""

    event: str
    ts: float
    ref: ObjectRef | None = None
    sha256: str = ""
    op: str = ""
    wave: int = -1
    created: bool = False
    uid: str = ""
    message: str = ""
    run: str = ""
    server: str = ""
    cluster_uid: str = ""

    @property
    def identity(self) -> ClusterIdentity:
        """The cluster a ``run`` record names (unknown for other records and for old journals)."""
        return ClusterIdentity(self.server, self.cluster_uid)

    def to_json(self) -> str:
        """The JSON line (without the newline)."""
        data: dict[str, Any] = {"event": self.event, "ts": self.ts}
        if self.ref is not None:
            data["ref"] = self.ref.to_dict()
        for name in ("sha256", "op", "uid", "message", "run", "cluster_uid"):
            value = getattr(self, name)
            if value:
                data[name] = value
        if self.server:
            data["server"] = redact_url(self.server)  # never a password from the URL in the journal
        if self.wave >= 0:
            data["wave"] = self.wave
        if self.created:
            data["created"] = True
        return json.dumps(data, separators=(",", ":"), sort_keys=True)

    @classmethod
    def from_json(cls, line: str) -> JournalEntry:
        """Parse and validate one line: ValueError when it is not JSON (a line cut short),
        :class:`InvalidRecord` (a ValueError) when it is JSON but not a valid record."""
        try:
            data = json.loads(line)
        except RecursionError as exc:
            raise InvalidRecord("the line is nested too deeply to be a journal record") from exc
        return cls.from_data(data)

    @classmethod
    def from_data(cls, data: Any) -> JournalEntry:
        """Validate a decoded record (:class:`InvalidRecord` naming the bad field)."""
        if not isinstance(data, dict):
            raise InvalidRecord(f"a record must be a JSON object, not {type(data).__name__}")
        event = data.get("event")
        if event not in EVENTS:
            raise InvalidRecord(f"'event' must be one of {', '.join(EVENTS)}, not {event!r}")
        ts = data.get("ts")
        if isinstance(ts, bool) or not isinstance(ts, int | float) or not math.isfinite(ts):
            raise InvalidRecord("'ts' must be a finite number")
        if event == "run":
            if data.get("ref") is not None:
                raise InvalidRecord("a 'run' record has no 'ref'")
            ref = None
        else:
            if "ref" not in data:
                raise InvalidRecord(f"a {event!r} record needs a 'ref'")
            ref = _ref(data["ref"])
        sha256 = _str(data, "sha256")
        if sha256 and not _SHA256_RE.fullmatch(sha256):
            raise InvalidRecord("'sha256' must be a hex digest")
        op = _str(data, "op")
        if op and not _OP_RE.fullmatch(op):
            raise InvalidRecord(f"'op' {op!r} is not an apply operation")
        wave = data.get("wave", -1)
        if isinstance(wave, bool) or not isinstance(wave, int) or not -1 <= wave < 1000:
            raise InvalidRecord("'wave' must be an integer from 0 to 999")
        created = data.get("created", False)
        if not isinstance(created, bool):
            raise InvalidRecord("'created' must be true or false")
        uid, cluster_uid = _str(data, "uid"), _str(data, "cluster_uid")
        for key, value in (("uid", uid), ("cluster_uid", cluster_uid)):
            if value and not valid_uid(value):
                raise InvalidRecord(f"{key!r} {value!r} is not a Kubernetes uid")
        run = _str(data, "run")
        if run and not _RUN_RE.fullmatch(run):
            raise InvalidRecord(f"'run' {run!r} is not a run id")
        server = _str(data, "server", limit=2048)
        if any(ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F for c in server):
            raise InvalidRecord("'server' holds control characters")
        return cls(
            event=event,
            ts=float(ts),
            ref=ref,
            sha256=sha256,
            op=op,
            wave=wave,
            created=created,
            uid=uid,
            message=_str(data, "message", limit=65536),
            run=run,
            server=redact_url(server) if server else "",
            cluster_uid=cluster_uid,
        )


class Journal:
    """An append-only journal in ``workdir`` (or in memory when ``workdir`` is None).

    Thread-safe: apply workers record concurrently.
    """

    def __init__(self, workdir: str | os.PathLike[str] | None = None) -> None:
        self.workdir: Path | None = Path(workdir) if workdir is not None else None
        self._lock = threading.RLock()
        self._cond = threading.Condition(self._lock)
        self._queued: list[str] = []
        self._enqueued = 0
        self._durable = 0
        self._writing = False
        self._last_commit = 0.0
        self._failure: ApplyError | None = None
        #: seconds an unsynchronised record may wait for the next group commit (see record_many)
        self.flush_interval = 0.05
        self._entries: list[JournalEntry] = []
        self._last: dict[tuple[str, str, str, str], JournalEntry] = {}
        self._damaged_lines = 0
        self._needs_newline = False
        self._loaded = self.workdir is None  # a file journal is read on first use (a no-op apply never needs it)

    @property
    def path(self) -> Path | None:
        """The journal file, or None for an in-memory journal."""
        return self.workdir / JOURNAL_FILE if self.workdir is not None else None

    def __repr__(self) -> str:
        where = str(self.path) if self.path else "in memory"
        return f"<Journal {where}: {len(self)} records>"

    def __len__(self) -> int:
        with self._lock:
            self._ensure_loaded()
            return len(self._entries)

    @property
    def damaged_lines(self) -> int:
        """Lines that could not be read back (typically the last line of a run killed mid-write)."""
        with self._lock:
            self._ensure_loaded()
            return self._damaged_lines

    def _ensure_loaded(self) -> None:
        """Read the file once (callers hold ``self._lock``)."""
        if not self._loaded:
            self._load()
            self._loaded = True

    def _read_text(self) -> str:
        path = self.path
        assert path is not None
        try:
            return path.read_text(encoding="utf-8", errors="replace") if path.exists() else ""
        except OSError as exc:
            raise ApplyError(
                f"Cannot read the apply journal {path}: {exc}.", hint="Check the permissions of the work directory."
            ) from exc

    def _parse(self, number: int, line: str) -> JournalEntry | None:
        """One line: its record, None when it is not JSON (cut short by a crash), JournalError when invalid."""
        try:
            return JournalEntry.from_json(line)
        except InvalidRecord as exc:
            raise JournalError(
                f"The apply journal {self.path} has an invalid record on line {number}: {exc}. Nothing was sent.",
                hint="The journal was edited or written by another program. Apply with a new work directory "
                "(--workdir); to roll back, restore the journal portkit wrote.",
            ) from exc
        except ValueError:
            return None

    def _load(self) -> None:
        path = self.path
        assert path is not None
        if not path.exists():
            return
        text = self._read_text()
        self._needs_newline = bool(text) and not text.endswith("\n")
        entries = []
        for number, line in enumerate(text.split("\n"), start=1):
            if not line.strip():
                continue
            entry = self._parse(number, line)
            if entry is None:
                self._damaged_lines += 1  # typically the last line of a run killed mid-write
                continue
            entries.append(entry)
        for entry in entries:  # all or nothing: an invalid line leaves the journal unread
            self._remember(entry)

    def _remember(self, entry: JournalEntry) -> None:
        self._entries.append(entry)
        if entry.ref is not None:
            self._last[entry.ref.key] = entry

    def record_many(self, entries: Iterable[JournalEntry], *, sync: bool = True) -> None:
        """Append records.

        With ``sync=True`` they are written, flushed and fsynced when this returns. Concurrent callers
        share fsyncs (group commit): one of them writes everything queued so far while the others wait.

        With ``sync=False`` the records are queued and the caller goes on: they are written with the next
        group commit, which happens once :attr:`flush_interval` has passed since the last one, or at the
        latest at :meth:`flush`. Apply records outcomes this way and flushes at the end of every wave; a
        crash can lose only the outcomes of the last moments, which a resumed run re-reads from the target
        (the ``intent`` records before the creates are always synchronous).
        """
        batch = list(entries)
        if not batch:
            return
        if self.workdir is None:
            with self._lock:
                for entry in batch:
                    self._remember(entry)
            return
        lines = "".join(e.to_json() + "\n" for e in batch)
        with self._cond:
            if self._failure is not None:
                raise self._failure
            self._ensure_loaded()
            self._queued.append(lines)
            self._enqueued += 1
            for entry in batch:
                self._remember(entry)
            if not sync and (self._writing or time.monotonic() - self._last_commit < self.flush_interval):
                return
            self._commit(self._enqueued)

    def flush(self) -> None:
        """Write and fsync every queued record (no-op when nothing is queued)."""
        if self.workdir is None:
            return
        with self._cond:
            if self._failure is not None:
                raise self._failure
            self._commit(self._enqueued)

    def _commit(self, upto_record: int) -> None:
        """Wait (holding ``self._cond``) until records up to ``upto_record`` are durable, writing if needed."""
        while self._durable < upto_record:
            if self._failure is not None:
                raise self._failure
            if self._writing:
                self._cond.wait()
                continue
            self._writing = True
            pending, self._queued = self._queued, []
            upto = self._enqueued
            self._cond.release()
            failure: ApplyError | None = None
            try:
                self._write("".join(pending))
            except ApplyError as exc:
                failure = exc
            finally:
                self._cond.acquire()
                self._writing = False
                self._last_commit = time.monotonic()
                if failure is not None:
                    self._failure = failure
                else:
                    self._durable = upto
                self._cond.notify_all()
        if self._failure is not None:
            raise self._failure

    def _write(self, text: str) -> None:
        assert self.workdir is not None and self.path is not None
        try:
            self.workdir.mkdir(parents=True, exist_ok=True)
            with open(self.path, "a", encoding="utf-8") as handle:
                prefix = "\n" if self._needs_newline else ""  # after a line cut short by a crash
                handle.write(prefix + text)
                self._needs_newline = False
                handle.flush()
                os.fsync(handle.fileno())
        except OSError as exc:
            raise ApplyError(
                f"Cannot write the apply journal {self.path}: {exc}.",
                hint="Free disk space or choose another (writable) work directory, then apply again.",
            ) from exc

    def record(self, event: str, ref: ObjectRef | None = None, *, sync: bool = True, **fields: Any) -> JournalEntry:
        """Append one record and return it (``ts`` defaults to now); see :meth:`record_many` for ``sync``."""
        fields.setdefault("ts", time.time())
        entry = JournalEntry(event=event, ref=ref, **fields)
        self.record_many([entry], sync=sync)
        return entry

    def close(self) -> None:
        """Write what is queued; no file stays open (every commit opens, fsyncs and closes the file)."""
        self.flush()

    @property
    def entries(self) -> list[JournalEntry]:
        """Every record, oldest first."""
        with self._lock:
            self._ensure_loaded()
            return list(self._entries)

    def last(self, ref: ObjectRef) -> JournalEntry | None:
        """The newest record about an object (any version of it)."""
        with self._lock:
            self._ensure_loaded()
            return self._last.get(ref.key)

    def identities(self) -> list[ClusterIdentity]:
        """The clusters the runs of this journal went to (one per distinct ``run`` record identity).

        Every record is parsed (never matched as text); before the journal is otherwise needed only the
        lines that can be ``run`` records are, so a no-op apply does not parse the whole file.
        """
        found: list[ClusterIdentity] = []

        def add(entry: JournalEntry | None) -> None:
            if entry is not None and entry.event == "run" and entry.identity not in found:
                found.append(entry.identity)

        with self._lock:
            if self._loaded:
                for entry in self._entries:
                    add(entry)
                return found
        for number, line in enumerate(self._read_text().split("\n"), start=1):
            if line.strip() and _MAYBE_RUN_RECORD.search(line):
                add(self._parse(number, line))
        return found

    def servers(self) -> set[str]:
        """The API servers (passwords redacted) runs in this journal went to."""
        return {i.server for i in self.identities() if i.server}

    def created(self) -> list[JournalEntry]:
        """Objects runs of this journal created and rollback has not deleted yet, in creation order.

        Includes objects whose creation was announced (``intent``) but whose outcome was never recorded
        (the run was killed): the caller must check the live object before deleting it.
        """
        with self._lock:
            self._ensure_loaded()
            state: dict[tuple[str, str, str, str], JournalEntry] = {}
            order: list[tuple[str, str, str, str]] = []
            for entry in self._entries:
                if entry.ref is None:
                    continue
                key = entry.ref.key
                if entry.event == "intent":
                    if key not in state:
                        state[key] = entry
                        order.append(key)
                elif entry.event == "applied":
                    previous = state.get(key)
                    if entry.created:
                        if key not in state:
                            order.append(key)
                        state[key] = entry
                    elif previous is not None and previous.event == "intent" and previous.run == entry.run:
                        del state[key]  # announced, but the object turned out to exist already
                        order.remove(key)
                elif entry.event == "failed":
                    previous = state.get(key)
                    if previous is not None and previous.event == "intent" and previous.run == entry.run:
                        del state[key]
                        order.remove(key)
                elif entry.event == "deleted" and key in state:
                    del state[key]
                    order.remove(key)
            return [state[k] for k in order]
