"""Putting a freshly written bundle in place of a directory: atomically, keeping what portkit did not write.

A bundle is written into a *staging* directory next to its target (``.<name>.portkit-<random>``, holding a
locked marker file ``.portkit-staging`` while its writer lives). :func:`commit` then:

1. takes a lock on the parent directory (one commit at a time per parent) and runs :func:`recover` on
   what an earlier, interrupted save left behind;
2. plans which entries of the old directory to keep: everything except the object files its
   ``manifest.yaml`` lists at their proper paths (:func:`portkit.bundle.object_path`), found without
   following any symbolic link, and the manifest itself. README files, ``.git``, a link to elsewhere are
   kept. An entry that is in the way of the new bundle (a link where a namespace directory goes) stops the
   save before anything changes;
3. gives the staging directory the old directory's mode, renames it to ``.<name>.portkit-old-<random>``
   and swaps it with the target in one atomic ``renameat2(RENAME_EXCHANGE)``: the target now holds the new
   bundle, ``...-old-...`` the old one. Where the file system cannot swap, two renames do it (a kill
   between them leaves the old directory under the ``-old-`` name; the next save puts it back);
4. moves the kept entries from the old directory into the new one (renames: nothing is copied), deletes
   the old object files and manifest, then the emptied directories, then the marker.

A kill at any moment leaves the target holding the old bundle or the new one, both complete. A kill after
the swap leaves the kept entries in the ``-old-`` directory; :func:`recover`, run by the next save (or
export) into the same place, finishes the move. It also deletes staging directories whose writer is gone
(their marker is no longer locked) and puts back an old directory whose swap did not happen. Nothing is
written through a symbolic link and nothing is deleted that portkit did not write.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import fcntl
import json
import logging
import os
import secrets
import shutil
import stat
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

from portkit.errors import BundleError, UnsafeFileError

__all__ = ["MARKER", "Staging", "commit", "displaced_dirs", "recover"]

log = logging.getLogger(__name__)

#: The marker file in a staging directory (locked while its writer lives).
MARKER = ".portkit-staging"
_OLD = "old-"
_O_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_O_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_O_DIRECTORY = getattr(os, "O_DIRECTORY", 0)
_DIR_FLAGS = os.O_RDONLY | _O_NOFOLLOW | _O_DIRECTORY | _O_CLOEXEC
_YAML_SUFFIXES = (".yaml", ".yml")
_WHAT = {"link": "a symbolic link", "dir": "a directory", "file": "a file", "other": "a special file"}

#: Reads the object files a bundle directory's manifest lists at their proper paths (relative, POSIX),
#: and the manifest itself; an empty set when the directory holds no readable manifest.
OwnedFiles = Callable[[Path], set[str]]


def _reached(step: str) -> None:
    """Called at each step of a commit (a seam for tests that simulate a crash there); does nothing."""


def _prefix(root: Path) -> str:
    return f".{root.name}.portkit-"


# ------------------------------------------------------------------------------------------ staging


class Staging:
    """A new staging directory next to ``root``, with a marker file locked while this writer lives.

    Creating one first runs :func:`recover` on what interrupted saves into ``root`` left behind.

    Args:
        root: the target directory (its real path: not a symbolic link).
        owned_files: reads which files of a bundle directory portkit wrote (for :func:`recover`).
    """

    def __init__(self, root: Path, owned_files: OwnedFiles) -> None:
        self.root = root
        self.path = root.parent / f"{_prefix(root)}{secrets.token_hex(6)}"
        self.committed = False
        with _parent_lock(root.parent):  # recover() never sees this directory without its locked marker
            recover(root, owned_files)
            os.mkdir(self.path)  # mode from the umask, like any directory the user makes
            flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | _O_NOFOLLOW | _O_CLOEXEC
            fd = os.open(self.path / MARKER, flags, 0o600)
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        os.write(fd, json.dumps({"pid": os.getpid(), "target": root.name}).encode() + b"\n")
        self._lock_fd: int | None = fd

    def release(self) -> None:
        """Give up the lock (the staging directory, if still there, becomes stale)."""
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None

    def discard(self) -> None:
        """Delete the staging directory (unless it was committed) and release the lock."""
        if not self.committed:
            shutil.rmtree(self.path, ignore_errors=True)
        self.release()


def _locked_by_someone(path: Path) -> bool:
    """True when another live writer holds the lock of the marker file ``path``."""
    try:
        fd = os.open(path, os.O_RDONLY | _O_NOFOLLOW | _O_CLOEXEC)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return True
    finally:
        os.close(fd)  # also releases our lock
    return False


@contextlib.contextmanager
def _parent_lock(parent: Path) -> Iterator[None]:
    """One commit (or recovery) at a time among the bundles of one parent directory."""
    try:
        fd = os.open(parent, os.O_RDONLY | _O_DIRECTORY | _O_CLOEXEC)
    except OSError:  # e.g. no read permission on the parent: go on without the lock
        yield
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


# ------------------------------------------------------------------------------------------ swapping


def _libc_swap() -> Callable[[Path, Path], int] | None:
    """A function swapping two paths atomically (0 on success, else the errno), or None."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
    except OSError:  # pragma: no cover - no C library to load
        return None
    if sys.platform.startswith("linux") and hasattr(libc, "renameat2"):
        renameat2 = libc.renameat2
        renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
        at_fdcwd, rename_exchange = -100, 2

        def linux_swap(a: Path, b: Path) -> int:
            rc = renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange)
            return 0 if rc == 0 else ctypes.get_errno()

        return linux_swap
    if sys.platform == "darwin" and hasattr(libc, "renamex_np"):  # pragma: no cover - macOS
        renamex_np = libc.renamex_np
        renamex_np.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_uint]
        rename_swap = 2

        def darwin_swap(a: Path, b: Path) -> int:
            rc = renamex_np(os.fsencode(a), os.fsencode(b), rename_swap)
            return 0 if rc == 0 else ctypes.get_errno()

        return darwin_swap
    return None  # pragma: no cover - other platforms


_SWAP = _libc_swap()
_CANNOT_SWAP = {errno.EINVAL, errno.ENOSYS, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV}


def _exchange(a: Path, b: Path) -> bool:
    """Swap two directory entries atomically; False when the platform or file system cannot."""
    if _SWAP is None:
        return False
    err = _SWAP(a, b)
    if err == 0:
        return True
    if err in _CANNOT_SWAP:
        return False
    raise OSError(err, os.strerror(err), str(b))


# ------------------------------------------------------------------------------------ walking the old


def _ancestors(files: set[str]) -> set[str]:
    dirs: set[str] = set()
    for file in files:
        parts = file.split("/")[:-1]
        for i in range(1, len(parts) + 1):
            dirs.add("/".join(parts[:i]))
    return dirs


def _open_dir(base_fd: int, rel: str) -> int:
    """Open ``rel`` below ``base_fd`` component by component, never following a link (OSError if one is)."""
    fd = os.dup(base_fd)
    try:
        for part in rel.split("/") if rel else ():
            nxt = os.open(part, _DIR_FLAGS, dir_fd=fd)
            os.close(fd)
            fd = nxt
    except BaseException:
        os.close(fd)
        raise
    return fd


def _lstat_at(base_fd: int, rel: str) -> os.stat_result | None:
    """``lstat`` of ``rel`` below ``base_fd`` without following links on the way; None if it is not there."""
    parent, _, name = rel.rpartition("/")
    try:
        fd = _open_dir(base_fd, parent)
    except OSError:
        return None
    try:
        return os.stat(name, dir_fd=fd, follow_symlinks=False)
    except OSError:
        return None
    finally:
        os.close(fd)


def _kind(entry: os.DirEntry[str]) -> str:
    """``file`` (regular), ``dir``, ``link`` or ``other`` (FIFO, socket, device), never following a link."""
    if entry.is_symlink():
        return "link"
    if entry.is_dir(follow_symlinks=False):
        return "dir"
    return "file" if entry.is_file(follow_symlinks=False) else "other"


def _foreign_entries(old_fd: int, owned: set[str], is_taken: Callable[[str], str | None]) -> Iterator[tuple[str, str]]:
    """The entries of the old directory to keep, as (relative path, kind), outermost first.

    Owned object files are skipped; a real directory holding owned files, or one the new bundle has too, is
    entered; anything else (a file, a link, a FIFO, a directory of the user's) is kept whole. ``is_taken``
    says what the new bundle has at a path (``"dir"``, ``"file"`` or None).
    """
    owned_dirs = _ancestors(owned)
    stack = [""]
    while stack:
        rel_dir = stack.pop()
        try:
            fd = _open_dir(old_fd, rel_dir)
        except OSError:
            continue
        try:
            with os.scandir(fd) as it:
                entries = sorted(((e.name, _kind(e)) for e in it), reverse=True)
        finally:
            os.close(fd)
        for name, kind in entries:
            rel = f"{rel_dir}/{name}" if rel_dir else name
            if kind == "file" and rel in owned:
                continue
            if kind == "dir" and (rel in owned_dirs or is_taken(rel) == "dir"):
                stack.append(rel)
                continue
            yield rel, kind


def _plan_keep(root: Path, owned: set[str], new_files: set[str]) -> list[str]:
    """The entries of ``root`` to carry over into the new bundle; UnsafeFileError when one is in the way."""
    new_dirs = _ancestors(new_files)

    def taken(rel: str) -> str | None:
        return "dir" if rel in new_dirs else "file" if rel in new_files else None

    keep: list[str] = []
    fd = os.open(root, os.O_RDONLY | _O_DIRECTORY | _O_CLOEXEC)
    try:
        for rel, kind in _foreign_entries(fd, owned | {MARKER}, taken):
            what = _WHAT[kind]
            if taken(rel) is not None:
                raise UnsafeFileError(
                    f"{root / rel} is {what} that portkit did not write (it is not listed in "
                    f"{root / 'manifest.yaml'}), where the new bundle needs to write; refusing to replace it.",
                    hint="Move it away, or save the bundle to another directory.",
                )
            hidden = any(part.startswith(".") for part in rel.split("/"))
            if not hidden and kind != "dir" and rel.endswith(_YAML_SUFFIXES):
                raise UnsafeFileError(
                    f"{root / rel} is {what} that portkit did not write; kept, it would make the new bundle "
                    "fail to load (a YAML file its manifest does not list); refusing to save over it.",
                    hint="Move it away, or save the bundle to another directory.",
                )
            keep.append(rel)
    finally:
        os.close(fd)
    return keep


# ---------------------------------------------------------------------------------------- finishing


def _make_dirs(root_fd: int, rel_dir: str, mode: int) -> int:
    """Open (creating as needed) ``rel_dir`` below ``root_fd``, never following a link."""
    fd = os.dup(root_fd)
    try:
        for part in rel_dir.split("/") if rel_dir else ():
            with contextlib.suppress(FileExistsError):
                os.mkdir(part, mode, dir_fd=fd)
            nxt = os.open(part, _DIR_FLAGS, dir_fd=fd)
            os.close(fd)
            fd = nxt
    except BaseException:
        os.close(fd)
        raise
    return fd


def _unlink_owned(old_fd: int, files: list[str]) -> None:
    """Delete those of ``files`` that are regular files (reached without following links), in order."""
    by_dir: dict[str, list[str]] = {}
    for rel in files:
        parent, _, name = rel.rpartition("/")
        by_dir.setdefault(parent, []).append(name)
    for parent, names in by_dir.items():
        try:
            fd = _open_dir(old_fd, parent)
        except OSError:
            continue
        try:
            for name in names:
                try:
                    if stat.S_ISREG(os.stat(name, dir_fd=fd, follow_symlinks=False).st_mode):
                        _reached(f"delete {parent}/{name}" if parent else f"delete {name}")
                        os.unlink(name, dir_fd=fd)
                except FileNotFoundError:
                    pass
        finally:
            os.close(fd)


def _remove_empty_dirs(old_fd: int, dirs: set[str]) -> None:
    """Remove those of ``dirs`` (directories portkit made) that are empty, deepest first."""
    for rel in sorted(dirs, key=lambda d: (-d.count("/"), d)):
        parent, _, name = rel.rpartition("/")
        try:
            fd = _open_dir(old_fd, parent)
        except OSError:
            continue
        try:
            os.rmdir(name, dir_fd=fd)
        except OSError:
            pass  # not empty (the user's files are in it), or gone
        finally:
            os.close(fd)


def _finish(root: Path, old: Path, owned_files: OwnedFiles, owned: set[str] | None = None) -> None:
    """Delete the object files portkit wrote from the displaced old directory, carry what is left (the
    user's entries) into ``root``, remove the emptied directories portkit made, then the old manifest and the
    directory. Safe to run again after a crash at any point: the old manifest, which says what portkit
    wrote, goes last."""
    owned = (owned if owned is not None else owned_files(old)) | {MARKER}
    top = {f for f in owned if "/" not in f}  # manifest.yaml and the marker
    old_fd = os.open(old, os.O_RDONLY | _O_DIRECTORY | _O_CLOEXEC | _O_NOFOLLOW)
    root_fd = os.open(root, os.O_RDONLY | _O_DIRECTORY | _O_CLOEXEC | _O_NOFOLLOW)
    try:
        _unlink_owned(old_fd, sorted(owned - top))

        def taken(rel: str) -> str | None:
            st = _lstat_at(root_fd, rel)
            if st is None:
                return None
            return "dir" if stat.S_ISDIR(st.st_mode) else "file"

        for rel, _ in list(_foreign_entries(old_fd, owned, taken)):
            if taken(rel) is not None:
                log.warning("%s left in %s: the new bundle has %s too.", rel, old, root / rel)
                continue
            parent, _, name = rel.rpartition("/")
            src_fd = _open_dir(old_fd, parent)
            try:
                dst_fd = _make_dirs(root_fd, parent, stat.S_IMODE(os.fstat(src_fd).st_mode))
                try:
                    _reached(f"keep {rel}")
                    os.rename(name, name, src_dir_fd=src_fd, dst_dir_fd=dst_fd)
                finally:
                    os.close(dst_fd)
            finally:
                os.close(src_fd)
        _remove_empty_dirs(old_fd, _ancestors(owned))  # the directories portkit made, once emptied
        _unlink_owned(old_fd, sorted(top))
    finally:
        os.close(old_fd)
        os.close(root_fd)
    try:
        os.rmdir(old)
    except OSError:
        log.warning("%s still holds files portkit did not write; left in place.", old)


# ----------------------------------------------------------------------------------------- recovery


def _ours(path: Path) -> bool:
    """A real directory (not a link) owned by this user."""
    try:
        st = os.lstat(path)
    except OSError:
        return False
    return stat.S_ISDIR(st.st_mode) and st.st_uid == os.geteuid()


def _has_marker(path: Path) -> bool:
    try:
        return stat.S_ISREG(os.lstat(path / MARKER).st_mode)
    except OSError:
        return False


def displaced_dirs(root: Path) -> list[Path]:
    """The old bundle directories that interrupted saves into ``root`` left next to it, oldest first."""
    prefix = _prefix(root) + _OLD
    try:
        paths = [root.parent / n for n in os.listdir(root.parent) if n.startswith(prefix)]
    except OSError:
        return []
    found = [p for p in paths if _ours(p) and not _has_marker(p)]
    return sorted(found, key=lambda p: os.lstat(p).st_mtime_ns)


def recover(root: Path, owned_files: OwnedFiles, *, skip: str | None = None) -> None:
    """Finish or undo what interrupted saves into ``root`` left behind (see the module docstring).

    Args:
        root: the target directory (real path).
        owned_files: reads which files of a bundle directory portkit wrote.
        skip: the name of this writer's own staging directory.
    """
    parent = root.parent
    prefix = _prefix(root)
    try:
        names = sorted(n for n in os.listdir(parent) if n.startswith(prefix) and n != skip)
    except OSError:
        return
    candidates = [parent / n for n in names if _ours(parent / n)]
    displaced: list[Path] = []
    for path in candidates:
        if _has_marker(path):
            if not _locked_by_someone(path / MARKER):
                log.info("Removing %s, left by an interrupted save.", path)
                shutil.rmtree(path, ignore_errors=True)
        elif path.name.startswith(prefix + _OLD):
            displaced.append(path)
        else:  # a staging directory of an earlier portkit (before markers): only ever held its own output
            shutil.rmtree(path, ignore_errors=True)
    if displaced and not os.path.lexists(root):
        newest = max(displaced, key=lambda p: os.lstat(p).st_mtime_ns)
        log.warning("Putting back %s as %s (a save was interrupted before the new bundle was in place).", newest, root)
        os.rename(newest, root)
        displaced.remove(newest)
    for path in displaced:
        if os.path.isdir(root) and not os.path.islink(root):
            _finish(root, path, owned_files)
    marker = root / MARKER
    if _ours(root) and _has_marker(root) and not _locked_by_someone(marker):
        with contextlib.suppress(OSError):
            os.unlink(marker)


# ------------------------------------------------------------------------------------------- commit


def commit(staging: Staging, owned_files: OwnedFiles, new_files: set[str], check_target: OwnedFiles) -> None:
    """Put the bundle in ``staging`` in place of ``staging.root`` (see the module docstring).

    Args:
        staging: the complete new bundle (manifest included).
        owned_files: reads which files of a bundle directory portkit wrote.
        new_files: the files of the new bundle (relative paths), for conflicts with kept entries.
        check_target: raises when the existing target must not be replaced, else returns its owned files
            (called under the lock, right before the swap).

    Raises:
        UnsafeFileError: an entry portkit did not write is in the way; nothing was changed.
        BundleError: the target is not a directory.
        OSError: the file system failed (the target holds the old or the new bundle).
    """
    root = staging.root
    with _parent_lock(root.parent):
        recover(root, owned_files, skip=staging.path.name)  # again: another save may have been killed since
        try:
            st = os.lstat(root)
        except FileNotFoundError:
            _reached("rename new")
            os.rename(staging.path, root)
            staging.committed = True
            _reached("renamed new")
            staging.release()
            with contextlib.suppress(OSError):
                os.unlink(root / MARKER)
            return
        if not stat.S_ISDIR(st.st_mode):
            raise BundleError(f"{root} exists and is not a directory.", hint="Choose a directory for the bundle.")
        owned = check_target(root)
        _plan_keep(root, owned, new_files | {MARKER})
        os.chmod(staging.path, stat.S_IMODE(st.st_mode))
        swap = root.parent / f"{_prefix(root)}{_OLD}{secrets.token_hex(6)}"
        _reached("rename staging")
        os.rename(staging.path, swap)
        staging.path = swap
        _reached("swap")
        if not _exchange(swap, root):
            old = root.parent / f"{_prefix(root)}{_OLD}{secrets.token_hex(6)}"
            os.rename(root, old)
            _reached("moved old away")
            os.rename(swap, root)
            swap = old
        staging.committed = True  # the new bundle is in place; from here on nothing is undone
        _reached("swapped")
        try:
            _finish(root, swap, owned_files, owned)
        except OSError as exc:  # the next save finishes it (recover)
            log.warning("Could not finish replacing %s: %s; the next save into it finishes the job.", root, exc)
        _reached("finished")
        staging.release()
        with contextlib.suppress(OSError):
            os.unlink(root / MARKER)
