"""Reading untrusted files the way a careful archiver does.

* Only regular files are read. A FIFO is opened non-blocking and refused (it never hangs a read); devices,
  sockets and directories are refused; all as :class:`~portkit.errors.UnsafeFileError` naming the path.
* Inside a directory tree (:class:`SafeTree`) no symbolic link is followed, at any depth: every path is
  opened component by component relative to directory descriptors with ``O_NOFOLLOW``, so a link swapped in
  during the read cannot redirect it either. Only the root itself may be a link (the user named it).
* Every file has a size limit and all files of one read together have another (:class:`Budget`), checked
  before reading (``fstat``) and again while reading, in chunks, so a sparse 3 GiB file or a file that grows
  is refused with :class:`~portkit.errors.FileTooLargeError` instead of filling memory.
* The sha256 of a file is computed while it is read (streamed, chunk by chunk).
"""

from __future__ import annotations

import errno
import hashlib
import os
import stat
from collections.abc import Iterator
from pathlib import Path

from portkit.errors import BundleError, FileTooLargeError, UnsafeFileError
from portkit.limits import DEFAULT_LIMITS, ReadLimits

__all__ = ["Budget", "SafeTree", "describe_mode", "read_user_file"]

_CHUNK = 1 << 20
_MAX_OPEN_DIRS = 64
_O_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_O_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_O_NONBLOCK = getattr(os, "O_NONBLOCK", 0)
_O_DIRECTORY = getattr(os, "O_DIRECTORY", 0)
_FILE_FLAGS = os.O_RDONLY | _O_NOFOLLOW | _O_NONBLOCK | _O_CLOEXEC
_DIR_FLAGS = os.O_RDONLY | _O_NOFOLLOW | _O_DIRECTORY | _O_CLOEXEC


def describe_mode(mode: int) -> str:
    """What kind of file a ``st_mode`` is, for messages: ``a symbolic link``, ``a FIFO (named pipe)``, ..."""
    if stat.S_ISLNK(mode):
        return "a symbolic link"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISREG(mode):
        return "a regular file"
    return "not a regular file"


def _size_text(n: int) -> str:
    return f"{n / 2**20:.1f} MiB" if n >= 2**20 else f"{n} bytes"


class Budget:
    """The bytes left for one read of many files (``ReadLimits.max_total_bytes``).

    Args:
        limits: the limits of this read.
        what: what is being read, for the message (``bundle /x``, ``the manifests``).
    """

    def __init__(self, limits: ReadLimits = DEFAULT_LIMITS, what: str = "the input") -> None:
        self.limits = limits
        self.what = what
        self.used = 0

    def check(self, size: int, where: str) -> None:
        """Refuse a file of ``size`` bytes at ``where`` that would not fit, before reading it."""
        if size > self.limits.max_file_bytes:
            raise FileTooLargeError(
                f"{where} is {_size_text(size)}, over the limit of {_size_text(self.limits.max_file_bytes)} per file.",
                hint="Check the file; if it is right, raise ReadLimits(max_file_bytes=...).",
            )
        if self.used + size > self.limits.max_total_bytes:
            raise FileTooLargeError(
                f"{where}: {self.what} is over the limit of {_size_text(self.limits.max_total_bytes)} in all.",
                hint="Check the input; if it is right, raise ReadLimits(max_total_bytes=...).",
            )

    def charge(self, size: int) -> None:
        """Count ``size`` bytes as read."""
        self.used += size


def _read_fd(fd: int, where: str, budget: Budget, want_hash: bool) -> tuple[bytes, str | None]:
    """The content (and sha256) of an open file: regular files only, within the budget, read in chunks."""
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode):
        raise UnsafeFileError(
            f"{where} is {describe_mode(st.st_mode)}, not a regular file; refusing to read it.",
            hint="Replace it with a regular file.",
        )
    budget.check(st.st_size, where)
    limit = min(budget.limits.max_file_bytes, budget.limits.max_total_bytes - budget.used)
    digest = hashlib.sha256() if want_hash else None
    chunks: list[bytes] = []
    total = 0
    while True:
        # never more than limit + 1 bytes: a file that grows (or lies about its size) is caught
        chunk = os.read(fd, min(_CHUNK, limit + 1 - total))
        if not chunk:
            break
        total += len(chunk)
        if total > limit:
            budget.check(max(total, st.st_size + 1), where)
            raise FileTooLargeError(f"{where} grew over the size limit while it was read.")  # pragma: no cover
        if digest is not None:
            digest.update(chunk)
        chunks.append(chunk)
    budget.charge(total)
    data = chunks[0] if len(chunks) == 1 else b"".join(chunks)
    return data, digest.hexdigest() if digest is not None else None


def _os_error(exc: OSError, where: str) -> BundleError:
    if exc.errno == errno.ENAMETOOLONG:
        return BundleError(f"{where}: the path is too long for the file system.")
    return BundleError(f"Cannot read {where}: {exc.strerror or exc}.")


def read_user_file(
    path: str | Path, budget: Budget | None = None, *, want_hash: bool = False
) -> tuple[bytes, str | None]:
    """Read a file the user named (a symlink given by name is followed): a regular file within the limits.

    Raises:
        FileNotFoundError: it does not exist (the caller says what that means).
        UnsafeFileError: it is a FIFO, device, socket or directory.
        FileTooLargeError: over a size limit.
        BundleError: any other OS error (permissions, ...).
    """
    budget = budget if budget is not None else Budget()
    where = str(path)
    try:
        st = os.stat(path)
        if not stat.S_ISREG(st.st_mode):  # checked before open: opening some devices has effects
            raise UnsafeFileError(
                f"{where} is {describe_mode(st.st_mode)}, not a regular file; refusing to read it.",
                hint="Give a regular file.",
            )
        fd = os.open(path, os.O_RDONLY | _O_NONBLOCK | _O_CLOEXEC)
    except FileNotFoundError:
        raise
    except ValueError:  # a NUL in the path
        raise BundleError(f"{where!r} is not a valid path.") from None
    except OSError as exc:
        raise _os_error(exc, where) from None
    try:
        return _read_fd(fd, where, budget, want_hash)
    finally:
        os.close(fd)


class SafeTree:
    """A directory tree whose files are read without following any symbolic link below the root.

    Use as a context manager (it holds directory descriptors). Paths are POSIX, relative to the root.

    Args:
        root: the directory (it may itself be a symbolic link: the user named it).
        budget: the size budget shared by every read (default: a new one with the default limits).

    Raises:
        FileNotFoundError / NotADirectoryError: the root is missing or not a directory.
    """

    def __init__(self, root: str | Path, budget: Budget | None = None) -> None:
        self.root = Path(root)
        self.budget = budget if budget is not None else Budget()
        self._dirs: dict[str, int] = {"": os.open(self.root, os.O_RDONLY | _O_DIRECTORY | _O_CLOEXEC)}

    def __enter__(self) -> SafeTree:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the directory descriptors."""
        for fd in self._dirs.values():
            os.close(fd)
        self._dirs.clear()

    def where(self, rel: str) -> str:
        """The path of ``rel`` for messages."""
        return str(self.root / rel) if rel else str(self.root)

    def _unsafe(self, parent_fd: int, name: str, rel: str) -> UnsafeFileError | None:
        """The error for an entry that is not what it should be (a link, a FIFO...), or None."""
        try:
            st = os.stat(name, dir_fd=parent_fd, follow_symlinks=False)
        except OSError:
            return None
        if stat.S_ISLNK(st.st_mode):
            return UnsafeFileError(
                f"{self.where(rel)} is a symbolic link; portkit does not follow links inside {self.root}.",
                hint="Replace the link with the file or directory itself.",
            )
        return None

    def dir_fd(self, rel_dir: str) -> int:
        """A descriptor of the directory ``rel_dir`` (``""`` is the root), opened link by link, never following."""
        fd = self._dirs.get(rel_dir)
        if fd is not None:
            return fd
        if len(self._dirs) > _MAX_OPEN_DIRS:  # callers go in path order: a small cache is enough
            for key in [k for k in self._dirs if k]:
                os.close(self._dirs.pop(key))
        parent, _, name = rel_dir.rpartition("/")
        parent_fd = self.dir_fd(parent)
        try:
            fd = os.open(name, _DIR_FLAGS, dir_fd=parent_fd)
        except (NotADirectoryError, OSError) as exc:
            if isinstance(exc, FileNotFoundError):
                raise
            unsafe = self._unsafe(parent_fd, name, rel_dir)
            if unsafe is not None:
                raise unsafe from None
            if isinstance(exc, NotADirectoryError):
                raise UnsafeFileError(f"{self.where(rel_dir)} is not a directory.") from None
            raise _os_error(exc, self.where(rel_dir)) from None
        self._dirs[rel_dir] = fd
        return fd

    def read(self, rel: str, *, want_hash: bool = False) -> tuple[bytes, str | None]:
        """The content (and sha256 when ``want_hash``) of the regular file ``rel``.

        Raises:
            FileNotFoundError: it (or a directory above it) does not exist.
            UnsafeFileError: it or a directory above it is a symbolic link, or it is not a regular file.
            FileTooLargeError: over a size limit.
        """
        parent, _, name = rel.rpartition("/")
        parent_fd = self.dir_fd(parent)
        where = self.where(rel)
        try:
            fd = os.open(name, _FILE_FLAGS, dir_fd=parent_fd)
        except FileNotFoundError:
            raise
        except OSError as exc:
            unsafe = self._unsafe(parent_fd, name, rel)
            if unsafe is not None:
                raise unsafe from None
            raise _os_error(exc, where) from None
        try:
            return _read_fd(fd, where, self.budget, want_hash)
        finally:
            os.close(fd)

    def walk(self) -> Iterator[tuple[str, os.DirEntry[str]]]:
        """Every visible entry that is not a directory, sorted by path; hidden entries (``.git``) are skipped
        and linked directories are not entered (the link itself is yielded).

        Raises:
            BundleError: directories nested deeper than ``ReadLimits.max_depth``.
        """
        stack: list[tuple[str, os.DirEntry[str] | None]] = [("", None)]
        while stack:
            rel, entry = stack.pop()
            if entry is not None and not entry.is_dir(follow_symlinks=False):
                yield rel, entry
                continue
            if rel.count("/") >= self.budget.limits.max_depth:
                raise BundleError(
                    f"{self.where(rel)}: directories nested deeper than {self.budget.limits.max_depth} levels."
                )
            with os.scandir(self.dir_fd(rel)) as it:
                entries = sorted((e for e in it if not e.name.startswith(".")), key=lambda e: e.name)
            stack.extend((f"{rel}/{e.name}" if rel else e.name, e) for e in reversed(entries))
