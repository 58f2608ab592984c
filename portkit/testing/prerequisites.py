"""What local clusters need on this machine, checked before anything starts.

``portkit demo`` (and anyone starting :class:`~portkit.testing.LocalCluster`) asks :func:`missing` first, so a
machine without Go, root or the ``[local]`` extra hears so at once, with what to do, instead of after a build.
"""

from __future__ import annotations

import shutil
from types import ModuleType

from portkit.errors import LocalClusterError

__all__ = ["LOCAL_EXTRA_HINT", "missing", "missing_builds", "require_local_extra"]

LOCAL_EXTRA_HINT = "pip install 'portkit[local]'"


def require_local_extra() -> ModuleType:
    """The PKI module of local clusters; raises :class:`LocalClusterError` when ``cryptography`` is missing."""
    try:
        from portkit.testing import _pki
    except ModuleNotFoundError as exc:
        if not (exc.name or "").startswith("cryptography"):
            raise
        raise LocalClusterError(
            "Local clusters need the 'cryptography' package (for their certificates), which is not installed.",
            hint=f"Install the local-cluster extra: {LOCAL_EXTRA_HINT}",
        ) from exc
    return _pki


def missing_builds(*, velero: bool, real_nodes: bool) -> list[str]:
    """Names of the Go builds local clusters need that are not in the cache yet (built on first use)."""
    from portkit.testing import binaries
    from portkit.testing import velero as velero_module
    from portkit.testing.binaries import _module_digest, cache_dir

    wanted = {
        "Kubernetes " + binaries.KUBERNETES_VERSION: f"kube-{binaries.KUBERNETES_VERSION}-{_module_digest('kube')}",
        "kwok " + binaries.KWOK_VERSION: f"kwok-{binaries.KWOK_VERSION}",
    }
    if velero:
        version = velero_module.VELERO_VERSION
        wanted["Velero " + version] = f"velero-{version}-{_module_digest('velero')}"
    if real_nodes:
        wanted["the pod sandbox (pause)"] = f"pause-{_module_digest('node')}"
    return [label for label, name in wanted.items() if not (cache_dir() / "bin" / name / ".complete").exists()]


def missing(*, velero: bool = False, real_nodes: bool = False) -> list[str]:
    """What this machine lacks for local clusters, one sentence each with what to do (empty: all there)."""
    problems: list[str] = []
    try:
        require_local_extra()
    except LocalClusterError as exc:
        problems.append(str(exc))
    if real_nodes:
        from portkit.testing.node import check_host

        try:
            check_host()
        except LocalClusterError as exc:
            problems.append(str(exc))
    builds = missing_builds(velero=velero, real_nodes=real_nodes)
    if builds and shutil.which("go") is None:
        from portkit.testing.binaries import cache_dir

        problems.append(
            f"Go 1.26 or newer is needed to build {', '.join(builds)} once (about 20 minutes on 2 cores, with "
            f"progress; cached in {cache_dir()}), and there is no `go` on PATH. Install Go from your "
            "distribution or go.dev."
        )
    return problems
