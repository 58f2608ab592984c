"""Pausing Python's cyclic garbage collector while translate and plan build many small containers.

Measured on the development machine (2 shared cores), in CPU time of the process, with the pause and with
``PORTKIT_GC_PAUSE=0``:

* ``python bench/translate.py --objects 20000 --repeat 3`` (the aws → ionos chain), three runs each:
  21,118-22,170 objects/s paused, 16,799-17,669 objects/s with the collector running;
* ``python bench/plan_gc.py --objects 20000`` (a no-op re-plan against an in-memory cluster): median 1.22 s
  of CPU paused, 2.28 s running (1.37 s and 2.21 s while the process holds 300,000 other containers); with
  2,000 objects 0.13 s and 0.16 s. In ``python bench/apply.py --objects 2000 --rounds 1`` the difference is
  lost in the API server's time.

The collector's generation-2 passes walk every container the process holds, again and again while these
steps allocate; reference counting frees everything they make that is not in a cycle, so the pause only
defers cycles (of any thread) until it ends.

The collector is process-wide, so the pause is too; it is made safe to share:

* reference-counted: overlapping pauses (threads planning at once) end when the last one ends, and the
  collector is switched back on only if it was on when the first one began;
* short: a translation's or a plan's duration; reference counting still frees everything that is not in
  a cycle, and cycles made meanwhile (by any thread) are collected once the collector runs again;
* optional: ``PORTKIT_GC_PAUSE=0`` in the environment (read at each pause) leaves the collector alone, for
  a service or a notebook kernel that must never see it switched off.
"""

from __future__ import annotations

import contextlib
import gc
import os
import threading
from collections.abc import Iterator

__all__ = ["gc_paused"]

_lock = threading.Lock()
_holders = 0
_switched_off = False  # True when the first of the current pauses switched the collector off


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector for a block (see the module's documentation)."""
    global _holders, _switched_off
    if os.environ.get("PORTKIT_GC_PAUSE", "1").strip().lower() in ("0", "false", "no", "off"):
        yield
        return
    with _lock:
        if _holders == 0:
            _switched_off = gc.isenabled()
            if _switched_off:
                gc.disable()
        _holders += 1
    try:
        yield
    finally:
        with _lock:
            _holders -= 1
            if _holders == 0 and _switched_off:
                _switched_off = False
                gc.enable()
