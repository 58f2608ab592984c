"""A cluster's API surface, recorded once, and a read-only :class:`~portkit.Cluster` that answers from it.

``record_target(cluster)`` captures what a plan reads from a target besides the objects in the namespaces it
moves: the server version, the discovery documents (which kinds are served, in which versions, namespaced
or not) and the cluster-scoped objects (Namespaces, StorageClasses, IngressClasses, PriorityClasses,
CustomResourceDefinitions, ClusterRoles, ...). ``RecordedCluster`` then plays it back to
:func:`portkit.plan` — no network, no credentials — which is what ``portkit demo --offline`` does.

What such a plan can tell: whether every kind is served (or its CRD comes with the bundle), whether the
StorageClasses, IngressClasses, PriorityClasses and namespaces the objects need exist (and whether there is
a default StorageClass), whether namespaces are being deleted, and create / update / unchanged for
cluster-scoped objects. What it cannot: anything a server-side dry run would say (validation, defaulting,
admission webhooks, quotas, immutable fields), anything that changed since the recording, objects inside
namespaces that already exist in the target (none are recorded; reading them raises
:class:`RecordedTargetError`), and whether the real user may do it (RBAC). Writes always raise.

A recording is one JSON document: ``{"format": ..., "name": ..., "description": ..., "recorded_at": ...,
"responses": {API path: response body}}``; list responses have ``managedFields`` removed. It holds no
Secrets, no tokens and no server address.
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import attrs

from portkit._transport import Response, Transport
from portkit.cluster import Cluster
from portkit.discovery import Discovery
from portkit.errors import ApiError, ForbiddenError, NotFoundError, PortkitError, api_error_from_status

__all__ = [
    "FORMAT",
    "RecordedCluster",
    "RecordedTargetError",
    "Recording",
    "record_target",
]

#: The format identifier written into (and required of) every recording.
FORMAT = "portkit/recorded-target/v1"

_NAMESPACES_PATH = "/api/v1/namespaces"
#: Cluster-scoped resources left out: deprecated, never planned, and they quote the server's own addresses.
_NOT_RECORDED = frozenset({"componentstatuses"})
# /api/v1/namespaces/NS/PLURAL[/NAME[/SUB]] and /apis/GROUP/VERSION/namespaces/NS/PLURAL[/NAME[/SUB]]
_NAMESPACED = re.compile(r"^/(?:api/[^/]+|apis/[^/]+/[^/]+)/namespaces/(?P<ns>[^/]+)/(?P<plural>[^/]+)(?P<rest>/.*)?$")


class RecordedTargetError(PortkitError):
    """A recorded target was asked for something it does not hold, or to write."""


@attrs.frozen
class Recording:
    """A recorded API surface (see the module docstring).

    Attributes:
        name: a short name for the target (``ionos-local``).
        description: where and how it was recorded, shown with every offline plan.
        recorded_at: when (UTC, ISO 8601).
        responses: API path → the JSON body the server answered.
    """

    name: str
    description: str
    recorded_at: str
    responses: Mapping[str, Any] = attrs.field(repr=False)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Recording:
        """Read a recording file.

        Raises:
            RecordedTargetError: the file is missing, not JSON or not a recording of this format.
        """
        try:
            data = json.loads(Path(path).read_text())
        except (OSError, ValueError) as exc:
            raise RecordedTargetError(
                f"Cannot read the recorded target {path}: {exc}",
                hint="Record it again with scripts/record-offline-target.py (or reinstall portkit).",
            ) from exc
        return cls.from_dict(data, origin=str(path))

    @classmethod
    def from_dict(cls, data: Any, *, origin: str = "recording") -> Recording:
        """A recording from its JSON form (checks the format and that Namespaces were recorded)."""
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            found = data.get("format") if isinstance(data, dict) else type(data).__name__
            raise RecordedTargetError(
                f"{origin} is not a recorded target of format {FORMAT} (found {found!r}).",
                hint="Record it again with scripts/record-offline-target.py.",
            )
        responses = data.get("responses")
        if not isinstance(responses, dict) or not all(p in responses for p in ("/api", "/apis", _NAMESPACES_PATH)):
            raise RecordedTargetError(
                f"{origin} lacks the discovery documents or the Namespace list every recording holds.",
                hint="Record it again with scripts/record-offline-target.py.",
            )
        return cls(
            name=str(data.get("name") or "recorded"),
            description=str(data.get("description") or ""),
            recorded_at=str(data.get("recorded_at") or ""),
            responses=responses,
        )

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (what :meth:`save` writes)."""
        return {
            "format": FORMAT,
            "name": self.name,
            "description": self.description,
            "recorded_at": self.recorded_at,
            "responses": dict(sorted(self.responses.items())),
        }

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the recording as stable, diff-friendly JSON; returns the path."""
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(self.to_dict(), indent=1, sort_keys=True) + "\n")
        return target

    @property
    def server_version(self) -> str:
        """The recorded server's ``gitVersion`` (``""`` when not recorded)."""
        return str((self.responses.get("/version") or {}).get("gitVersion") or "")

    @property
    def namespaces(self) -> set[str]:
        """The names of the namespaces the target had."""
        return {str((i.get("metadata") or {}).get("name")) for i in self.responses[_NAMESPACES_PATH].get("items") or ()}

    def summary(self) -> str:
        """One short line for output: that this is a recording, of what, when (the description is apart)."""
        version = f"Kubernetes {self.server_version}, " if self.server_version else ""
        return f"RECORDED target {self.name!r} ({version}recorded {self.recorded_at})"


def _strip_list(page: Mapping[str, Any]) -> dict[str, Any]:
    items = []
    for item in page.get("items") or ():
        meta = dict(item.get("metadata") or {})
        meta.pop("managedFields", None)
        items.append({**item, "metadata": meta})
    return {
        "apiVersion": page.get("apiVersion", "v1"),
        "kind": page.get("kind", "List"),
        "metadata": {"resourceVersion": str((page.get("metadata") or {}).get("resourceVersion") or "")},
        "items": sorted(items, key=lambda i: str(i["metadata"].get("name") or "")),
    }


def record_target(cluster: Cluster, *, name: str, description: str) -> Recording:
    """Record a live cluster's API surface: version, discovery, and every cluster-scoped object.

    Every cluster-scoped resource that may be listed is recorded in full (``managedFields`` removed):
    Namespaces, StorageClasses, IngressClasses, PriorityClasses, CRDs, ClusterRoles, Nodes, ... — what a plan
    reads besides the objects inside namespaces. Secrets are namespaced, so none is recorded; cluster-scoped
    custom resources are, so look at the file before sharing a recording of a real cluster.
    Reads only; needs list permission on cluster-scoped kinds (those it may not list are left out).
    """
    responses: dict[str, Any] = {"/version": cluster.request("GET", "/version")}

    def fetch(path: str, accept: str | None) -> Any:
        body = cluster.request("GET", path, accept=accept or "application/json")
        responses[path] = body
        return body

    Discovery.fetch(fetch)  # records /api, /apis (and the legacy per-version documents on old servers)
    for resource in sorted(cluster.resources(namespaced=False, verb="list"), key=lambda r: r.path()):
        if resource.group_resource in _NOT_RECORDED:
            continue
        try:
            page = cluster.request("GET", resource.path(), action=f"list {resource.group_resource}")
        except (ForbiddenError, NotFoundError):
            continue
        responses[resource.path()] = _strip_list(page)
    return Recording(
        name=name,
        description=description,
        recorded_at=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        responses=responses,
    )


class _RecordedTransport(Transport):
    """Answers GETs from a :class:`Recording`; refuses writes. Never opens a connection."""

    def __init__(self, recording: Recording) -> None:  # no super().__init__: there is no server
        self.host = f"recorded:{recording.name}"
        self._recording = recording
        self._namespaces = recording.namespaces

    def request(
        self,
        method: str,
        path: str,
        *,
        query: dict[str, Any] | None = None,
        body: bytes | None = None,
        content_type: str | None = None,
        accept: str = "application/json",
        action: str | None = None,
        timeout: float | None = None,
    ) -> Response:
        """Answer one request from the recording (see :class:`RecordedCluster`)."""
        what = action or f"{method} {path}"
        name = self._recording.name
        if method not in ("GET", "HEAD") and (query or {}).get("dryRun"):
            raise RecordedTargetError(
                f"{what}: the target {name!r} is a recording, which cannot run a server-side dry run.",
                hint="Plan with dry_run_check=False against a recording (`portkit demo --offline` does), or plan "
                "against the live cluster.",
            )
        if method not in ("GET", "HEAD"):
            raise RecordedTargetError(
                f"{what}: the target {name!r} is a recording, which cannot be written to.",
                hint="Plan against the live cluster (--kubeconfig) to apply, or to run a server-side dry run.",
            )
        query = {k: v for k, v in (query or {}).items() if v not in (None, "")}
        if query.get("labelSelector") or query.get("fieldSelector"):
            raise RecordedTargetError(
                f"{what}: a recording cannot evaluate label or field selectors.",
                hint="Read the live cluster for selective lists.",
            )
        responses = self._recording.responses
        if path in responses:
            return _json_response(_page(responses[path], query))
        parent, _, item = path.rpartition("/")
        if parent in responses and "items" in responses[parent]:
            for obj in responses[parent]["items"]:
                if (obj.get("metadata") or {}).get("name") == item:
                    return _json_response(obj)
            raise self._not_found(what, parent, item)
        match = _NAMESPACED.match(path)
        if match and match["ns"] not in self._namespaces:
            # the namespace does not exist in the target: it holds nothing, as a live server would answer
            if match["rest"]:
                raise self._not_found(what, match["plural"], match["rest"].strip("/"))
            list_version = str(responses[_NAMESPACES_PATH].get("metadata", {}).get("resourceVersion") or "")
            return _json_response(
                {"kind": "List", "apiVersion": "v1", "items": [], "metadata": {"resourceVersion": list_version}}
            )
        where = f" in namespace {match['ns']!r}, which exists in the target," if match else ""
        raise RecordedTargetError(
            f"{what}: the recording of {name!r} holds no answer for GET {path}{where} (it holds discovery and "
            "the cluster-scoped objects only).",
            hint="Plan into a namespace the target does not have yet, or plan against the live cluster.",
        )

    def _not_found(self, what: str, collection: str, item: str) -> ApiError:
        plural = collection.rpartition("/")[2]
        status = {
            "kind": "Status",
            "apiVersion": "v1",
            "status": "Failure",
            "reason": "NotFound",
            "code": 404,
            "message": f'{plural} "{item}" not found',
            "details": {"name": item, "kind": plural},
        }
        return api_error_from_status(404, status, action=what)

    def close(self) -> None:
        """Nothing to close."""


def _page(body: Any, query: Mapping[str, Any]) -> Any:
    """A list response paged like a server pages it (``limit`` / ``continue``); other bodies as they are."""
    if not isinstance(body, dict) or "items" not in body or not (query.get("limit") or query.get("continue")):
        return body
    items = list(body.get("items") or ())
    start = int(query.get("continue") or 0)
    limit = int(query.get("limit") or 0) or len(items) or 1
    chunk = items[start : start + limit]
    meta = dict(body.get("metadata") or {})
    meta.pop("continue", None)
    if start + limit < len(items):
        meta["continue"] = str(start + limit)
        meta["remainingItemCount"] = len(items) - start - limit
    return {**body, "items": chunk, "metadata": meta}


def _json_response(body: Any) -> Response:
    return Response(200, {"Content-Type": "application/json"}, json.dumps(body).encode())


class _NoServer:
    """The configuration of a Cluster that has no server (the transport is replaced before any request)."""

    host = "http://recorded.invalid"
    proxy = None


class RecordedCluster(Cluster):
    """A read-only :class:`~portkit.Cluster` answering from a :class:`Recording` (no network).

    Pass it to :func:`portkit.plan` with ``dry_run_check=False`` (a recording cannot run a dry run; plans
    made with it say so in their notes). ``name`` reads ``"<recording> (recorded)"``; ``server`` is
    ``recorded:<recording>``. Reads of objects the recording does not hold and every write raise
    :class:`RecordedTargetError`; objects missing from a recorded list answer 404 like a live server, and
    every namespaced list in a namespace the target did not have is empty.
    """

    def __init__(self, recording: Recording) -> None:
        super().__init__(_NoServer(), name=f"{recording.name} (recorded)")
        self._transport.close()
        self._transport = _RecordedTransport(recording)
        self.server = f"recorded:{recording.name}"
        self.recording = recording

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> RecordedCluster:
        """A RecordedCluster from a recording file."""
        return cls(Recording.load(path))

    def __repr__(self) -> str:
        return f"<RecordedCluster {self.recording.name} recorded {self.recording.recorded_at}>"
