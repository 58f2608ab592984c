"""Writing files that hold credentials (kubeconfigs with client keys, private keys): always mode 0600.

``open(path, O_CREAT, 0o600)`` only sets the mode of a *new* file: written over an existing 0644 file it
stays 0644. :func:`write_private` writes a new 0600 file next to the target and renames it over the
target, so the result is 0600 whatever was there (a symlink at the path is replaced, not followed).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

__all__ = ["write_private"]


def write_private(path: str | os.PathLike[str], data: bytes) -> None:
    """Write ``data`` to ``path`` atomically with mode 0600 (a crash leaves the old file or the new one)."""
    target = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        os.fchmod(fd, 0o600)  # mkstemp makes 0600 already; be explicit
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
