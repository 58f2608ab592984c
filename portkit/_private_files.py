"""Writing files that may hold something from a Secret: owner-only (0600), replaced atomically."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

__all__ = ["PRIVATE_MODE", "write_private_bytes", "write_private_text"]

#: Mode of every report and state file portkit writes (``--report``, a Migration's JSON files).
PRIVATE_MODE = 0o600


def write_private_text(path: str | os.PathLike[str], text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` with mode 0600 and return the path (see :func:`write_private_bytes`)."""
    return write_private_bytes(path, text.encode("utf-8"))


def write_private_bytes(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write ``data`` to ``path`` with mode 0600 and return the path.

    The file is written next to ``path`` under a temporary name (created 0600 whatever the umask) and
    renamed over it, so an existing file — of any mode, or a symlink — is replaced, never written through,
    and a reader sees the old content or the new one, never a part. Kubeconfigs and private keys of local
    clusters are written this way too.
    """
    target = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            os.fchmod(handle.fileno(), PRIVATE_MODE)
            handle.write(data)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return target
