"""The apply journal: a durable record of every object an apply sent, so a killed run resumes and
rollback knows what the run created.

One JSON object per line in ``<workdir>/journal.jsonl``; records are appended, flushed and fsynced in
group commits (see :meth:`Journal.record_many`). A line cut short by a crash is ignored when the journal is
read back. Records
hold references and hashes only, never object content (Secrets stay out of it).

Events:
    ``run``      an apply started (target server, run id)
    ``intent``   an object is about to be created (written, in one fsync per wave, before the requests)
    ``applied``  the server accepted the object (sha256 of what was sent, whether this run created it, uid)
    ``failed``   the server rejected it (the API's message)
    ``deleted``  rollback removed it
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import attrs

from portkit.errors import ApplyError
from portkit.model import ObjectRef

__all__ = ["JOURNAL_FILE", "Journal", "JournalEntry"]

JOURNAL_FILE = "journal.jsonl"


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

    def to_json(self) -> str:
        """The JSON line (without the newline)."""
        data: dict[str, Any] = {"event": self.event, "ts": self.ts}
        if self.ref is not None:
            data["ref"] = self.ref.to_dict()
        for name in ("sha256", "op", "uid", "message", "run", "server"):
            value = getattr(self, name)
            if value:
                data[name] = value
        if self.wave >= 0:
            data["wave"] = self.wave
        if self.created:
            data["created"] = True
        return json.dumps(data, separators=(",", ":"), sort_keys=True)

    @classmethod
    def from_json(cls, line: str) -> JournalEntry:
        """Parse one line (ValueError/KeyError/TypeError when it is not a journal record)."""
        data = json.loads(line)
        ref = ObjectRef(**data["ref"]) if data.get("ref") else None
        return cls(
            event=str(data["event"]),
            ts=float(data["ts"]),
            ref=ref,
            sha256=str(data.get("sha256", "")),
            op=str(data.get("op", "")),
            wave=int(data.get("wave", -1)),
            created=bool(data.get("created", False)),
            uid=str(data.get("uid", "")),
            message=str(data.get("message", "")),
            run=str(data.get("run", "")),
            server=str(data.get("server", "")),
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

    def _load(self) -> None:
        path = self.path
        assert path is not None
        if not path.exists():
            return
        text = self._read_text()
        self._needs_newline = bool(text) and not text.endswith("\n")
        for line in text.splitlines():
            if not line.strip():
                continue
            try:
                entry = JournalEntry.from_json(line)
            except (ValueError, KeyError, TypeError):
                self._damaged_lines += 1  # typically the last line of a run killed mid-write
                continue
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

    def servers(self) -> set[str]:
        """The API servers runs in this journal went to."""
        with self._lock:
            if self._loaded:
                return {e.server for e in self._entries if e.event == "run" and e.server}
        # not read yet: only the (few) run records are needed, so do not parse the whole file
        found: set[str] = set()
        for line in self._read_text().splitlines():
            if '"event":"run"' in line:
                with contextlib.suppress(ValueError, KeyError, TypeError):
                    entry = JournalEntry.from_json(line)
                    if entry.event == "run" and entry.server:
                        found.add(entry.server)
        return found

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
