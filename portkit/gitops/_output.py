"""Writing a tree translation: in place, or into a copy of the repository."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import attrs

from portkit.errors import ConfigurationError
from portkit.gitops.report import TreeTranslation

__all__ = ["write_tree"]


def write_tree(result: TreeTranslation, output_dir: Path | None) -> TreeTranslation:
    """Write the changed files of ``result``: into its root (``output_dir`` None) or into a copy of the
    root at ``output_dir``. Files are replaced atomically and keep their mode; nothing else is touched.

    Raises:
        ConfigurationError: the output directory exists and is not empty, or lies inside the root.
    """
    root = result.root
    if output_dir is not None:
        out = output_dir.resolve()
        if out.exists() and (not out.is_dir() or any(out.iterdir())):
            raise ConfigurationError(
                f"{output_dir} exists and is not empty.",
                hint="Give a new directory for the translated copy (or --in-place).",
            )
        if not result.single_file and out.is_relative_to(root.resolve()):
            raise ConfigurationError(f"{output_dir} is inside {root}.", hint="Give a directory outside the repository.")
        if result.single_file:
            out.mkdir(parents=True, exist_ok=True)
            target = out
        else:
            if out.exists():
                out.rmdir()
            shutil.copytree(root, out, symlinks=True, ignore=shutil.ignore_patterns(".git"))
            target = out
    else:
        target = root
    # a single file is always written to an output directory, changed or not
    written = result.files if result.single_file and output_dir is not None else result.changed_files
    for f in written:
        dest = target / f.path
        text = f.new.replace("\n", "\r\n") if f.crlf else f.new
        _atomic_write(dest, text.encode("utf-8"), f.mode)
    return attrs.evolve(result, written_to=target)


def _atomic_write(dest: Path, data: bytes, mode: int) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".tmp", dir=dest.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            os.fchmod(handle.fileno(), mode & 0o777)
            handle.write(data)
        os.replace(tmp, dest)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
