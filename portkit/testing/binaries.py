"""Build and cache the binaries LocalCluster runs, from Go modules (no downloads of release binaries).

The Kubernetes binaries (kube-apiserver, kube-controller-manager, kube-scheduler, kubectl, kubelet) and etcd are
built from the wrapper module in ``gomod/kube`` (pinned ``k8s.io/kubernetes`` with its staging modules
replaced by their published tags); kwok is built with ``go install`` at a pinned version. Results are cached
by version under ``$PORTKIT_CACHE_DIR`` (default ``$XDG_CACHE_HOME/portkit`` or ``~/.cache/portkit``), so a
machine builds them once. A file lock keeps concurrent processes from building the same set twice.

Run ``python -m portkit.testing.binaries`` to build everything ahead of time and print the paths.
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import attrs

from portkit.errors import LocalClusterError

__all__ = [
    "ETCD_VERSION",
    "KUBERNETES_VERSION",
    "KWOK_VERSION",
    "Binaries",
    "cache_dir",
    "ensure_binaries",
    "tail",
]

log = logging.getLogger(__name__)

KUBERNETES_VERSION = "v1.34.4"
ETCD_VERSION = "v3.6.4"  # the version k8s.io/kubernetes v1.34.4 requires; built from its module graph
KWOK_VERSION = "v0.7.0"

_GOMOD = Path(__file__).parent / "gomod"
_KUBE_COMMANDS = {
    "kube-apiserver": "k8s.io/kubernetes/cmd/kube-apiserver",
    "kube-controller-manager": "k8s.io/kubernetes/cmd/kube-controller-manager",
    "kube-scheduler": "k8s.io/kubernetes/cmd/kube-scheduler",
    "kubectl": "k8s.io/kubernetes/cmd/kubectl",
    "kubelet": "k8s.io/kubernetes/cmd/kubelet",
}

Progress = Callable[[str], None]


def cache_dir() -> Path:
    """Where built binaries are cached (``$PORTKIT_CACHE_DIR`` overrides)."""
    env = os.environ.get("PORTKIT_CACHE_DIR")
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "portkit"


@attrs.frozen
class Binaries:
    """Paths of the built binaries."""

    etcd: Path
    kube_apiserver: Path
    kube_controller_manager: Path
    kube_scheduler: Path
    kubectl: Path
    kwok: Path
    kubelet: Path

    def to_dict(self) -> dict[str, str]:
        """Name → path."""
        return {k: str(v) for k, v in attrs.asdict(self).items()}


def tail(path: Path, lines: int = 20) -> str:
    """The last lines of a (log) file, or a note that it is missing."""
    try:
        with path.open("rb") as fh:
            fh.seek(0, os.SEEK_END)
            size = fh.tell()
            fh.seek(max(0, size - 16384))
            text = fh.read().decode("utf-8", "replace")
    except OSError:
        return f"(no log at {path})"
    return "\n".join(text.splitlines()[-lines:])


def _log_progress(message: str) -> None:
    """The default progress of builds: INFO records of this module's logger (``portkit.testing.binaries``)."""
    log.info("%s", message)


def stderr_progress(message: str) -> None:
    """Progress for the command-line entry points (``python -m portkit.testing.binaries``): a line on stderr."""
    print(f"portkit: {message}", file=sys.stderr, flush=True)


def _go() -> str:
    go = shutil.which("go")
    if not go:
        raise LocalClusterError(
            "Go is not installed (no `go` on PATH); LocalCluster builds its Kubernetes binaries from Go modules.",
            hint="Install Go 1.24 or newer (e.g. `apt-get install golang` or from your distribution) and retry.",
        )
    return go


def _go_env(workdir: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update({"GOTOOLCHAIN": "local", "CGO_ENABLED": "0", "GOFLAGS": "-mod=readonly -buildvcs=false"})
    env.setdefault("GOPATH", str(Path.home() / "go"))
    env["GOWORK"] = "off"
    return env


def _run_go(args: list[str], *, cwd: Path, log: Path, what: str) -> None:
    with log.open("ab") as fh:
        fh.write(f"$ go {' '.join(args)}\n".encode())
        fh.flush()
        proc = subprocess.run(
            [_go(), *args], cwd=cwd, stdout=fh, stderr=subprocess.STDOUT, env=_go_env(cwd), check=False
        )
    if proc.returncode != 0:
        raise LocalClusterError(
            f"Building {what} failed (go exited {proc.returncode}). Last lines of {log}:\n{tail(log)}",
            hint="Check Go and access to the Go module proxy; the full log is in the file named above.",
        )


def _kube_ldflags() -> str:
    major, minor = KUBERNETES_VERSION.lstrip("v").split(".")[:2]
    flags = ["-s", "-w"]
    for pkg in ("k8s.io/component-base/version", "k8s.io/client-go/pkg/version"):
        flags += [
            f"-X {pkg}.gitVersion={KUBERNETES_VERSION}",
            f"-X {pkg}.gitMajor={major}",
            f"-X {pkg}.gitMinor={minor}",
            f"-X {pkg}.gitTreeState=clean",
        ]
    return " ".join(flags)


def _module_digest(name: str) -> str:
    h = hashlib.sha256()
    for f in sorted((_GOMOD / name).iterdir()):
        if f.is_file():
            h.update(f.name.encode())
            h.update(f.read_bytes())
    return h.hexdigest()[:12]


class _Lock:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._fh = path.open("a")

    def __enter__(self) -> _Lock:
        fcntl.flock(self._fh, fcntl.LOCK_EX)
        return self

    def __exit__(self, *exc: object) -> None:
        fcntl.flock(self._fh, fcntl.LOCK_UN)
        self._fh.close()


def _build_kube(dest: Path, progress: Progress) -> None:
    with tempfile.TemporaryDirectory(prefix="build-", dir=dest.parent) as tmp:
        work = Path(tmp) / "kube"
        shutil.copytree(_GOMOD / "kube", work)
        staging = Path(tmp) / "out"
        staging.mkdir()
        log = dest.parent / f"{dest.name}.build.log"
        progress(
            f"building Kubernetes {KUBERNETES_VERSION} and etcd {ETCD_VERSION} from Go modules into {dest} "
            f"(first use only; 5-25 minutes on 2 cores; log: {log})"
        )
        started = time.monotonic()
        common = ["build", "-trimpath", "-tags", "selinux,notest"]
        _run_go(
            [*common, "-ldflags", _kube_ldflags(), "-o", str(staging) + "/", *_KUBE_COMMANDS.values()],
            cwd=work,
            log=log,
            what=f"Kubernetes {KUBERNETES_VERSION}",
        )
        _run_go(
            [*common, "-ldflags", "-s -w", "-o", str(staging / "etcd"), "go.etcd.io/etcd/server/v3"],
            cwd=work,
            log=log,
            what=f"etcd {ETCD_VERSION}",
        )
        dest.mkdir(parents=True, exist_ok=True)
        for f in staging.iterdir():
            shutil.move(str(f), dest / f.name)
        progress(f"built Kubernetes binaries in {time.monotonic() - started:.0f} s")


def _build_kwok(dest: Path, progress: Progress) -> None:
    with tempfile.TemporaryDirectory(prefix="build-", dir=dest.parent) as tmp:
        log = dest.parent / f"{dest.name}.build.log"
        progress(f"building kwok {KWOK_VERSION} from Go modules (first use only; log: {log})")
        started = time.monotonic()
        staging = Path(tmp) / "out"
        staging.mkdir()
        env_bin = ["install", "-trimpath", "-ldflags", "-s -w", f"sigs.k8s.io/kwok/cmd/kwok@{KWOK_VERSION}"]
        log.parent.mkdir(parents=True, exist_ok=True)
        with log.open("ab") as fh:
            env = _go_env(Path(tmp))
            env["GOBIN"] = str(staging)
            env["GOFLAGS"] = "-buildvcs=false"
            proc = subprocess.run([_go(), *env_bin], cwd=tmp, stdout=fh, stderr=subprocess.STDOUT, env=env, check=False)
        if proc.returncode != 0:
            raise LocalClusterError(
                f"Building kwok {KWOK_VERSION} failed (go exited {proc.returncode}). Last lines of {log}:\n{tail(log)}",
                hint="Check Go and access to the Go module proxy.",
            )
        dest.mkdir(parents=True, exist_ok=True)
        shutil.move(str(staging / "kwok"), dest / "kwok")
        progress(f"built kwok in {time.monotonic() - started:.0f} s")


def _ensure(name: str, files: list[str], build: Callable[[Path, Progress], None], progress: Progress) -> Path:
    dest = cache_dir() / "bin" / name
    stamp = dest / ".complete"
    if stamp.exists() and all((dest / f).exists() for f in files):
        return dest
    with _Lock(cache_dir() / "bin" / f".{name}.lock"):
        if stamp.exists() and all((dest / f).exists() for f in files):
            return dest  # another process built it while we waited
        if dest.exists():
            shutil.rmtree(dest)
        build(dest, progress)
        missing = [f for f in files if not (dest / f).exists()]
        if missing:
            raise LocalClusterError(f"The build of {name} did not produce {', '.join(missing)}.")
        stamp.write_text(time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()) + "\n")
    return dest


def ensure_binaries(progress: Progress | None = None) -> Binaries:
    """Return the binaries, building (and caching) the ones missing. Safe to call from several processes."""
    report = progress or _log_progress
    kube = _ensure(
        f"kube-{KUBERNETES_VERSION}-{_module_digest('kube')}",
        [*_KUBE_COMMANDS, "etcd"],
        _build_kube,
        report,
    )
    kwok = _ensure(f"kwok-{KWOK_VERSION}", ["kwok"], _build_kwok, report)
    return Binaries(
        etcd=kube / "etcd",
        kube_apiserver=kube / "kube-apiserver",
        kube_controller_manager=kube / "kube-controller-manager",
        kube_scheduler=kube / "kube-scheduler",
        kubectl=kube / "kubectl",
        kwok=kwok / "kwok",
        kubelet=kube / "kubelet",
    )


def build_and_print(ensure: Callable[[], Any]) -> int:
    """Run ``ensure()`` (a build that returns paths with ``to_dict()``), print ``name<TAB>path`` lines;
    exit code 1 with a one-paragraph error when the build fails."""
    try:
        built = ensure()
    except LocalClusterError as exc:
        print(f"portkit: error: {exc}", file=sys.stderr)
        return 1
    for name, path in built.to_dict().items():
        print(f"{name}\t{path}")
    return 0


def main() -> int:
    """Build everything missing and print the paths (``python -m portkit.testing.binaries``)."""
    return build_and_print(lambda: ensure_binaries(stderr_progress))


if __name__ == "__main__":
    sys.exit(main())
