"""Which cluster a journal or a work directory belongs to.

A cluster is named by its API server URL (with any password in the URL's userinfo redacted) and by the
uid of its ``kube-system`` namespace, which is created once with the cluster and never changes: two
clusters reached at the same URL (a local cluster re-created on the same port, ``127.0.0.1:6443``
of different kind clusters) have different uids, and one cluster reached at a new URL keeps its uid.

Two identities are the same cluster when both uids are known and equal, or, when either uid is unknown
(journals written before portkit recorded it; credentials that may not read ``kube-system``), when the
servers are equal.
"""

from __future__ import annotations

import re
from typing import TypeGuard

import attrs

from portkit._redact import redact_url as _redact_url
from portkit.errors import ForbiddenError, NotFoundError

__all__ = ["ClusterIdentity", "cluster_identity", "redact_url"]

_UID_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}")


def redact_url(url: str) -> str:
    """``url`` as portkit shows and records it: the shared :func:`portkit.cluster.redact_url` (any
    ``user:password@`` becomes ``***@``), with a trailing ``/`` dropped."""
    return _redact_url(str(url).rstrip("/"))


def valid_uid(value: object) -> TypeGuard[str]:
    """True for a string that can be a Kubernetes uid (``""`` excluded)."""
    return isinstance(value, str) and _UID_RE.fullmatch(value) is not None


@attrs.frozen
class ClusterIdentity:
    """A cluster's API server URL (password redacted) and its ``kube-system`` namespace uid (``""``: unknown)."""

    server: str = ""
    uid: str = ""

    def __attrs_post_init__(self) -> None:
        object.__setattr__(self, "server", redact_url(self.server) if self.server else "")

    @property
    def known(self) -> bool:
        """True when anything identifies the cluster."""
        return bool(self.server or self.uid)

    def same_cluster(self, other: ClusterIdentity) -> bool:
        """True when both name the same cluster (uids when both know theirs, else servers)."""
        if self.uid and other.uid:
            return self.uid == other.uid
        return bool(self.server) and self.server == other.server

    def describe(self) -> str:
        """``https://h:6443 (kube-system uid 1234...)`` for messages."""
        server = self.server or "an unknown server"
        return f"{server} (kube-system uid {self.uid})" if self.uid else server

    def to_dict(self) -> dict[str, str]:
        """Plain dict form."""
        return {"server": self.server, "uid": self.uid}

    @classmethod
    def from_dict(cls, data: object) -> ClusterIdentity:
        """Read :meth:`to_dict` output back (ValueError when it is not that)."""
        if not isinstance(data, dict):
            raise ValueError("a cluster identity must be a mapping with 'server' and 'uid'")
        server, uid = data.get("server", ""), data.get("uid", "")
        if not isinstance(server, str) or len(server) > 2048 or any(ord(c) < 0x20 for c in server):
            raise ValueError("the cluster's 'server' must be a URL")
        if uid != "" and not valid_uid(uid):
            raise ValueError("the cluster's 'uid' is not a Kubernetes uid")
        return cls(server, uid)


def cluster_identity(cluster: object) -> ClusterIdentity:
    """The identity of a :class:`portkit.Cluster` (one GET of the ``kube-system`` namespace).

    The uid is ``""`` when the namespace does not exist or the credentials may not read it (or ``cluster`` is
    a stand-in that cannot read objects); connection failures propagate.
    """
    server = str(getattr(cluster, "server", "") or "")
    resource_for, get = getattr(cluster, "resource_for", None), getattr(cluster, "get", None)
    if resource_for is None or get is None:  # a stand-in without reads: known by its server only
        return ClusterIdentity(server, "")
    try:
        live = get(resource_for("v1", "Namespace"), "kube-system")
    except (NotFoundError, ForbiddenError):
        return ClusterIdentity(server, "")
    uid = (live.get("metadata") or {}).get("uid") if isinstance(live, dict) else None
    return ClusterIdentity(server, uid if valid_uid(uid) else "")
