"""Helm charts in a repository: never edited (values files are not templates), translated through their
rendered output when ``helm template`` can run, so the report says which rendered values change."""

from __future__ import annotations

import posixpath
import shlex
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

from portkit._childenv import child_environment
from portkit._yaml import load_yaml_documents
from portkit.display import truncate
from portkit.errors import PortkitError
from portkit.gitops._files import is_manifest
from portkit.gitops.report import ChartReport
from portkit.translate import Translation

__all__ = ["HELM_TIMEOUT", "render_and_translate"]

HELM_TIMEOUT = 120.0


def _objects(docs: list[Any]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for doc in docs:
        if isinstance(doc, dict) and str(doc.get("kind") or "").endswith("List") and isinstance(doc.get("items"), list):
            out.extend(item for item in doc["items"] if is_manifest(item))
        elif is_manifest(doc):
            out.append(doc)
    return out


def render_and_translate(
    root: Path,
    chart: str,
    helm: str | bool | None,
    translate: Callable[[list[dict[str, Any]]], Translation],
    *,
    source: str = "SOURCE",
    target: str = "TARGET",
) -> ChartReport:
    """Render ``chart`` (relative to ``root``) with ``helm template`` and translate the result.

    ``helm``: None uses ``helm`` from PATH when there is one, False never runs it, a string names the binary.
    Rendering errors are reported in the result (``error``), never raised.
    """
    release = posixpath.basename(chart) or "release"
    command = (
        f"helm template {shlex.quote(release)} {shlex.quote(chart)} | portkit translate - -n NAMESPACE "
        f"--from {source} --to {target} --report-format markdown"
    )
    if helm is False:
        return ChartReport(chart, command)
    binary = helm if isinstance(helm, str) else shutil.which("helm")
    if not binary:
        return ChartReport(chart, command, error="helm was not found on PATH")
    try:
        proc = subprocess.run(
            [binary, "template", release, str(root / chart)],
            capture_output=True,
            text=True,
            timeout=HELM_TIMEOUT,
            env=child_environment(),
            check=False,
            stdin=subprocess.DEVNULL,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return ChartReport(chart, command, error=f"helm could not run: {truncate(exc, 200)}")
    if proc.returncode != 0:
        first = (proc.stderr.strip().splitlines() or ["no message"])[0]
        return ChartReport(chart, command, error=f"helm template failed: {truncate(first, 200)}")
    try:
        objects = _objects(load_yaml_documents(proc.stdout, where=f"helm template {chart}"))
        translation = translate(objects)
    except PortkitError as exc:
        return ChartReport(chart, command, error=truncate(str(exc), 300))
    return ChartReport(chart, command, translation)
