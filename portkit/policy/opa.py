"""Find (or build once, from its Go module) the ``opa`` binary the policy gate runs.

Where the binary comes from, in this order:

1. ``$PORTKIT_OPA`` — the path of an ``opa`` binary (an explicit choice: an unusable one is an error);
2. ``opa`` on ``PATH``, if it is OPA 1.0 or newer (older ones read Rego differently and are passed over);
3. the cached build, ``<cache>/bin/opa-<version>/opa`` (``$PORTKIT_CACHE_DIR``, default ``~/.cache/portkit``);
4. a build of ``github.com/open-policy-agent/opa`` at :data:`OPA_VERSION` with ``go install`` into that cache,
   when Go is installed (first use only, about as long as ``go install`` of OPA takes on the machine).

Run ``python -m portkit.policy.opa`` to build it ahead of time and print its path.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

from portkit.policy.errors import OpaUnavailableError

__all__ = ["OPA_MODULE", "OPA_VERSION", "ensure_opa", "find_opa", "opa_version"]

log = logging.getLogger(__name__)

OPA_MODULE = "github.com/open-policy-agent/opa"
#: The OPA release :func:`ensure_opa` builds (once, with Go, into portkit's cache) when it is not cached yet (the
#: newest v1 release the Go module proxy served when this was written).
OPA_VERSION = "v1.22.4"

_INSTALL_HINT = (
    "Install OPA 1.x (https://www.openpolicyagent.org/docs/#running-opa; e.g. `go install "
    f"{OPA_MODULE}@{OPA_VERSION}`) and put it on PATH or name it in $PORTKIT_OPA, or install Go 1.26+ so that "
    "portkit builds it once (`python -m portkit.policy.opa`)."
)
_found: dict[tuple[str, int, int], str] = {}  # (path, mtime_ns, size) -> version, checked once per process
_found_lock = threading.Lock()


def opa_version(binary: str | os.PathLike[str]) -> str:
    """The version an ``opa`` binary reports (``1.22.4``).

    Raises:
        OpaUnavailableError: it cannot be run or does not answer like OPA.
    """
    path = str(binary)
    try:
        st = os.stat(path)
    except OSError as exc:
        raise OpaUnavailableError(f"{path} cannot be used as opa: {exc.strerror}.", hint=_INSTALL_HINT) from None
    key = (path, st.st_mtime_ns, st.st_size)
    with _found_lock:
        if key in _found:
            return _found[key]
    try:
        proc = subprocess.run([path, "version"], capture_output=True, text=True, timeout=60, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise OpaUnavailableError(f"{path} cannot be run: {exc}.", hint=_INSTALL_HINT) from None
    match = re.search(r"^Version:\s*v?(\S+)", proc.stdout, re.MULTILINE)
    if proc.returncode != 0 or not match:
        raise OpaUnavailableError(
            f"{path} does not answer `version` like OPA (exit {proc.returncode}).", hint=_INSTALL_HINT
        )
    version = match.group(1)
    with _found_lock:
        _found[key] = version
    return version


def _major(version: str) -> int:
    head = version.split(".", 1)[0]
    return int(head) if head.isdigit() else 0


def _cached_dir() -> Path:
    from portkit.testing.binaries import cache_dir

    return cache_dir() / "bin" / f"opa-{OPA_VERSION}"


def _log_progress(message: str) -> None:
    log.info("%s", message)


def _stderr_progress(message: str) -> None:
    print(f"portkit: {message}", file=sys.stderr, flush=True)


def _build_opa(dest: Path, progress: Callable[[str], None]) -> None:
    """``go install`` OPA at :data:`OPA_VERSION` into ``dest`` (a static binary, CGO off, no Wasm runtime)."""
    from portkit.testing.binaries import _go, _go_env, tail

    log = dest.parent / f"{dest.name}.build.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    progress(f"building OPA {OPA_VERSION} from its Go module into {dest} (first use only; log: {log})")
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="build-", dir=dest.parent) as tmp:
        staging = Path(tmp) / "out"
        staging.mkdir()
        env = _go_env(Path(tmp))
        env["GOBIN"] = str(staging)
        env["GOFLAGS"] = "-buildvcs=false"  # `go install pkg@version` takes no -mod flag
        args = ["install", "-trimpath", "-ldflags", "-s -w", f"{OPA_MODULE}@{OPA_VERSION}"]
        with log.open("ab") as fh:
            fh.write(f"$ go {' '.join(args)}\n".encode())
            fh.flush()
            proc = subprocess.run([_go(), *args], cwd=tmp, stdout=fh, stderr=subprocess.STDOUT, env=env, check=False)
        if proc.returncode != 0:
            raise OpaUnavailableError(
                f"Building OPA {OPA_VERSION} failed (go exited {proc.returncode}). Last lines of {log}:\n{tail(log)}",
                hint="Check Go (1.26+) and access to the Go module proxy, or install opa yourself. " + _INSTALL_HINT,
            )
        dest.mkdir(parents=True, exist_ok=True)
        shutil.move(str(staging / "opa"), dest / "opa")
    progress(f"built OPA {OPA_VERSION} in {time.monotonic() - started:.0f} s")


def ensure_opa(progress: Callable[[str], None] | None = None) -> Path:
    """The cached OPA build, building it first if it is missing (needs Go; safe from several processes).

    Raises:
        OpaUnavailableError: Go is missing or the build failed (the message has the end of the build log).
    """
    from portkit.errors import LocalClusterError
    from portkit.testing.binaries import _ensure

    if shutil.which("go") is None and not (_cached_dir() / ".complete").exists():
        raise OpaUnavailableError(
            "OPA is needed to evaluate policies and none was found: no $PORTKIT_OPA, no OPA 1.x `opa` on PATH, "
            f"no cached build in {_cached_dir()}, and no Go to build one.",
            hint=_INSTALL_HINT,
        )
    try:
        return _ensure(_cached_dir().name, ["opa"], _build_opa, progress or _log_progress) / "opa"
    except LocalClusterError as exc:  # from the shared cache helper (e.g. the build produced no binary)
        raise OpaUnavailableError(exc.message, hint=_INSTALL_HINT) from exc


def find_opa(*, build: bool = True, progress: Callable[[str], None] | None = None) -> Path:
    """The ``opa`` binary to run: ``$PORTKIT_OPA``, an OPA 1.x on PATH, the cached build, or a new build.

    Args:
        build: build OPA into the cache when nothing else is found (needs Go).
        progress: receives progress lines of a build (default: printed on stderr).

    Raises:
        OpaUnavailableError: no usable binary (says what to install).
    """
    explicit = os.environ.get("PORTKIT_OPA")
    if explicit:
        path = Path(explicit).expanduser()
        version = opa_version(path)
        if _major(version) < 1:
            raise OpaUnavailableError(
                f"$PORTKIT_OPA names OPA {version}; the policy gate needs OPA 1.0 or newer.", hint=_INSTALL_HINT
            )
        return path
    on_path = shutil.which("opa")
    if on_path:
        try:
            if _major(opa_version(on_path)) >= 1:
                return Path(on_path)
        except OpaUnavailableError:
            pass  # not OPA, or broken: fall back to the cached build
    cached = _cached_dir()
    if (cached / ".complete").exists() and (cached / "opa").exists():
        return cached / "opa"
    if not build:
        raise OpaUnavailableError(
            f"OPA is needed to evaluate policies and none was found (no $PORTKIT_OPA, no OPA 1.x `opa` on PATH, "
            f"no cached build in {cached}).",
            hint=_INSTALL_HINT,
        )
    return ensure_opa(progress)


def main() -> int:
    """Build (or find) OPA and print ``opa<TAB>path`` (``python -m portkit.policy.opa``)."""
    try:
        path = ensure_opa(_stderr_progress)
        version = opa_version(path)
    except OpaUnavailableError as exc:
        print(f"portkit: error: {exc}", file=sys.stderr)
        return 1
    print(f"opa\t{path}\t{version}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
