"""``verify_data``: prove that the data of PersistentVolumeClaims arrived — file by file, digest by digest.

For every claim of the source namespaces (and the claim of the same name in the mapped target namespace) a
short-lived checker pod is started on each side. It mounts the claim read-only, has no service-account token,
no privileges (root with every capability dropped but ``DAC_OVERRIDE`` — allowed by Pod Security "baseline" —
so it can read every file; the claim is mounted read-only and so is its own root file system), resource limits,
is labelled ``app.kubernetes.io/managed-by: portkit``, and prints a manifest of the tree: every entry's path
(hex-encoded, so any byte in a name survives), type, permission bits, owner, size, the SHA-256 of every regular
file and the target of every symbolic link (links are compared, never followed). portkit parses both manifests and
compares them; the pods are deleted afterwards, also on failure.

Compared: presence, type, size and content (SHA-256) of files, symbolic link targets, permission bits and
owner (uid:gid). Not compared: modification times, directory sizes, extended attributes, and a top-level
``lost+found`` directory (file-system bookkeeping).

Where the checker runs: a ReadWriteOnce claim mounted by a running pod is checked on that pod's node; a
ReadWriteOncePod claim in use cannot be mounted a second time and is reported as not checkable; anything
else goes where the scheduler puts it (the volume's node affinity decides).
"""

from __future__ import annotations

import contextlib
import hashlib
import html
import logging
import secrets
import time
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, Literal

import attrs

from portkit import observe
from portkit.cluster import Cluster
from portkit.display import html_table, text_table
from portkit.errors import ApiError, NotFoundError, PortkitError
from portkit.volumes._pods import MANAGED_BY, ROLE_LABEL, delete_now, helper_spec

if TYPE_CHECKING:
    import pandas

__all__ = [
    "DEFAULT_IMAGE",
    "ClaimCheck",
    "DataVerifyError",
    "DataVerifyResult",
    "TreeManifest",
    "checker_pod",
    "compare_trees",
    "parse_manifest",
    "verify_data",
]

log = logging.getLogger(__name__)

DEFAULT_IMAGE = "docker.io/library/busybox:1.36.1"
"""The checker pods' image: a widely available public busybox, fully qualified and pinned to a release."""
ROLE = "verify-data"
IGNORED_TOP_LEVEL = ("lost+found",)
COMPARED = ("presence", "type", "size", "content (sha256)", "symlink target", "permission bits", "owner")

_MAGIC = "@portkit-verify v1"
# Sections: the paths of every entry (NUL-separated, hex), then in the same order a stat line per entry,
# a digest line per regular file and the hex target of every symlink; errors of find/stat/sha256sum last.
_SCRIPT = r"""
cd /data || { echo "@fatal cannot enter the volume"; exit 3; }
echo "@portkit-verify v1"
echo "@paths"
find . -mindepth 1 -print0 2>>/tmp/errors | od -An -v -tx1
echo "@stat"
find . -mindepth 1 -exec stat -c '%f %s %u %g' {} + 2>>/tmp/errors
echo "@hash"
find . -mindepth 1 -type f -exec sh -c 'for f; do sha256sum < "$f" || echo "unreadable  -"; done' sh {} + 2>>/tmp/errors
echo "@links"
find . -mindepth 1 -type l -exec sh -c 'for f; do readlink "$f" | od -An -v -tx1; echo @@; done' sh {} + 2>>/tmp/errors
echo "@errors"
cat /tmp/errors
echo "@end"
"""

Status = Literal["equal", "different", "not-checkable", "missing"]


class DataVerifyError(PortkitError):
    """A checker pod could not run or report (image pull, scheduling, timeout, unreadable output)."""


# -- manifests ------------------------------------------------------------------------------------------------
@attrs.frozen
class Entry:
    """One file-system entry of a claim's tree."""

    path: str
    kind: Literal["file", "dir", "symlink", "other"]
    mode: int  # permission bits
    size: int
    owner: str  # uid:gid
    digest: str = ""  # sha256 of a file's content
    target: str = ""  # a symlink's target


@attrs.frozen
class TreeManifest:
    """What a checker pod saw in one claim: entries by path, totals, a digest of the whole tree."""

    entries: Mapping[str, Entry]
    errors: tuple[str, ...] = ()

    @property
    def files(self) -> int:
        """Regular files."""
        return sum(1 for e in self.entries.values() if e.kind == "file")

    @property
    def bytes(self) -> int:
        """Bytes in regular files."""
        return sum(e.size for e in self.entries.values() if e.kind == "file")

    @property
    def digest(self) -> str:
        """SHA-256 over every entry's path, type, mode, owner, size and content digest or link target."""
        h = hashlib.sha256()
        for path in sorted(self.entries):
            e = self.entries[path]
            size = e.size if e.kind == "file" else 0
            h.update(
                f"{e.kind}\0{e.mode:o}\0{e.owner}\0{size}\0{e.digest}\0{e.target}\0{path}\n".encode(
                    "utf-8", "surrogateescape"
                )
            )
        return h.hexdigest()

    def summary(self) -> dict[str, Any]:
        """Counts and digest."""
        return {
            "files": self.files,
            "bytes": self.bytes,
            "entries": len(self.entries),
            "digest": self.digest,
            "errors": list(self.errors),
        }


def _hex_bytes(lines: Iterable[str]) -> bytes:
    return bytes(int(tok, 16) for line in lines for tok in line.split())


def _kind(raw_mode: int) -> Literal["file", "dir", "symlink", "other"]:
    fmt = raw_mode & 0o170000
    if fmt == 0o100000:
        return "file"
    if fmt == 0o040000:
        return "dir"
    if fmt == 0o120000:
        return "symlink"
    return "other"


def parse_manifest(text: str) -> TreeManifest:
    """Parse a checker pod's output; raises :class:`DataVerifyError` when it is not a complete manifest."""
    sections: dict[str, list[str]] = {}
    current: str | None = None
    magic = False
    for line in text.splitlines():
        if line == _MAGIC:
            magic = True
            continue
        if line.startswith("@fatal"):
            raise DataVerifyError(f"The checker could not read the volume: {line[7:]}.")
        if line.startswith("@") and line[1:] in ("paths", "stat", "hash", "links", "errors", "end"):
            current = line[1:]
            sections[current] = []
            continue
        if current is not None:
            sections[current].append(line)
    if not magic or "end" not in sections:
        raise DataVerifyError(
            "The checker's output is incomplete (the pod may have been killed or its log cut).",
            hint="Check the pod's memory limit and the node's log size; retry.",
        )
    try:
        raw_paths = _hex_bytes(sections["paths"]).split(b"\0")
        paths = [p.decode("utf-8", "surrogateescape").removeprefix("./") for p in raw_paths if p]
        stats = [line.split() for line in sections["stat"] if line.strip()]
        hashes = [line.split()[0] for line in sections["hash"] if line.strip()]
        links: list[str] = []
        chunk: list[str] = []
        for line in sections["links"]:
            if line == "@@":
                links.append(_hex_bytes(chunk).rstrip(b"\n").decode("utf-8", "surrogateescape"))
                chunk = []
            else:
                chunk.append(line)
    except (ValueError, IndexError) as exc:
        raise DataVerifyError(f"The checker's output could not be parsed: {exc}.") from exc
    if len(stats) != len(paths):
        raise DataVerifyError(
            f"The checker saw {len(paths)} entries but stat reported {len(stats)}: the tree changed while it was read.",
            hint="Stop the writers (Migration(quiesce=True)) and verify again.",
        )
    entries: dict[str, Entry] = {}
    file_i = link_i = 0
    for path, fields in zip(paths, stats, strict=True):
        raw_mode, size, uid, gid = int(fields[0], 16), int(fields[1]), fields[2], fields[3]
        kind = _kind(raw_mode)
        digest = target = ""
        if kind == "file":
            if file_i >= len(hashes):
                raise DataVerifyError(
                    "The checker reported fewer digests than files: the tree changed while it was read.",
                    hint="Stop the writers and verify again.",
                )
            digest, file_i = hashes[file_i], file_i + 1
        elif kind == "symlink":
            if link_i >= len(links):
                raise DataVerifyError("The checker reported fewer link targets than links.")
            target, link_i = links[link_i], link_i + 1
        if path.split("/", 1)[0] in IGNORED_TOP_LEVEL:
            continue
        entries[path] = Entry(path, kind, raw_mode & 0o7777, size, f"{uid}:{gid}", digest, target)
    errors = tuple(line for line in sections.get("errors", []) if line.strip())
    return TreeManifest(entries, errors)


def compare_trees(source: TreeManifest, target: TreeManifest) -> tuple[list[str], list[str], list[tuple[str, str]]]:
    """(missing on target, extra on target, [(path, what differs)]) — paths relative to the claim's root."""
    missing = sorted(set(source.entries) - set(target.entries))
    extra = sorted(set(target.entries) - set(source.entries))
    different = []
    for path in sorted(set(source.entries) & set(target.entries)):
        a, b = source.entries[path], target.entries[path]
        whats = []
        if a.kind != b.kind:
            whats.append(f"type {a.kind} → {b.kind}")
        else:
            if a.kind == "file" and a.size != b.size:
                whats.append(f"size {a.size} → {b.size}")
            if a.kind == "file" and a.digest != b.digest:
                whats.append("content")
            if a.kind == "symlink" and a.target != b.target:
                whats.append(f"link target {a.target!r} → {b.target!r}")
            if a.mode != b.mode and a.kind != "symlink":
                whats.append(f"mode {a.mode:04o} → {b.mode:04o}")
            if a.owner != b.owner:
                whats.append(f"owner {a.owner} → {b.owner}")
        if whats:
            different.append((path, ", ".join(whats)))
    return missing, extra, different


# -- results --------------------------------------------------------------------------------------------------
@attrs.frozen
class ClaimCheck:
    """One claim on both sides and how they compare.

    ``status``: ``equal``; ``different`` (see ``missing``/``extra``/``different``); ``missing`` (no such claim
    on the target, or it is not bound to a volume); ``not-checkable`` (``reason`` says why, e.g. a
    ReadWriteOncePod claim in use).
    """

    source: str
    target: str
    status: Status
    reason: str = ""
    source_tree: TreeManifest | None = attrs.field(default=None, repr=False)
    target_tree: TreeManifest | None = attrs.field(default=None, repr=False)
    missing: tuple[str, ...] = ()
    extra: tuple[str, ...] = ()
    different: tuple[tuple[str, str], ...] = ()

    @property
    def ok(self) -> bool:
        """True when both trees are equal."""
        return self.status == "equal"

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form."""
        return {
            "source": self.source,
            "target": self.target,
            "status": self.status,
            "reason": self.reason,
            "source_tree": self.source_tree.summary() if self.source_tree else None,
            "target_tree": self.target_tree.summary() if self.target_tree else None,
            "missing": list(self.missing),
            "extra": list(self.extra),
            "different": [{"path": p, "what": w} for p, w in self.different],
        }

    def cells(self) -> tuple[str, ...]:
        """Table cells."""
        src, dst = self.source_tree, self.target_tree
        return (
            self.source if self.source == self.target else f"{self.source} → {self.target}",
            str(src.files) if src else "-",
            str(src.bytes) if src else "-",
            src.digest[:12] if src else "-",
            dst.digest[:12] if dst else "-",
            self.status + (f" ({self.reason})" if self.reason else ""),
        )


_HEADERS = ["claim", "files", "bytes", "source digest", "target digest", "result"]
#: The columns of :meth:`DataVerifyResult.to_dataframe`.
DATA_FRAME_COLUMNS = (
    "source",
    "target",
    "status",
    "reason",
    "files",
    "bytes",
    "target_files",
    "target_bytes",
    "source_digest",
    "target_digest",
    "missing",
    "extra",
    "different",
)


@attrs.frozen
class DataVerifyResult:
    """The outcome of :func:`verify_data`: one :class:`ClaimCheck` per claim."""

    claims: tuple[ClaimCheck, ...]
    image: str
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        """True when every claim is equal on both sides (and there was at least one)."""
        return bool(self.claims) and all(c.ok for c in self.claims)

    @property
    def files(self) -> int:
        """Files compared (source side)."""
        return sum(c.source_tree.files for c in self.claims if c.source_tree)

    @property
    def bytes(self) -> int:
        """Bytes compared (source side)."""
        return sum(c.source_tree.bytes for c in self.claims if c.source_tree)

    def __repr__(self) -> str:
        state = (
            "all equal"
            if self.ok
            else "DIFFERENT"
            if any(c.status == "different" for c in self.claims)
            else "not all verified"
        )
        return f"<DataVerifyResult {len(self.claims)} claims, {self.files} files, {self.bytes} bytes: {state}>"

    def to_text(self) -> str:
        """A terminal report: a row per claim, then every differing path."""
        lines = [text_table(_HEADERS, [c.cells() for c in self.claims])]
        for c in self.claims:
            details = [f"  missing on target: {p}" for p in c.missing]
            details += [f"  only on target: {p}" for p in c.extra]
            details += [f"  different: {p} ({what})" for p, what in c.different]
            if details:
                lines += ["", f"{c.source} → {c.target}:", *details]
        lines += [
            "",
            f"Compared: {', '.join(COMPARED)} (not modification times). "
            f"{'All equal.' if self.ok else 'NOT all equal.'}",
        ]
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.to_text()

    def _repr_html_(self) -> str:
        rows = [c.cells() for c in self.claims]
        diffs = [
            (f"{c.source}", kind, p)
            for c in self.claims
            for kind, paths in (("missing", c.missing), ("extra", c.extra))
            for p in paths
        ]
        diffs += [(c.source, f"different: {what}", p) for c in self.claims for p, what in c.different]
        parts = [f"<h4>{html.escape(repr(self))}</h4>", html_table(_HEADERS, rows, title="Claims")]
        if diffs:
            parts.append(html_table(["claim", "difference", "path"], diffs, title="Differences"))
        return "".join(parts)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form for automation."""
        return {
            "ok": self.ok,
            "image": self.image,
            "seconds": round(self.seconds, 3),
            "files": self.files,
            "bytes": self.bytes,
            "compared": list(COMPARED),
            "claims": [c.to_dict() for c in self.claims],
        }

    def to_dataframe(self) -> pandas.DataFrame:
        """One row per claim (needs pandas: ``pip install 'portkit[notebook]'``).

        Columns: ``source`` and ``target`` (``namespace/claim``), ``status`` (``equal``, ``different``,
        ``missing``, ``not-checkable``), ``reason``, ``files`` and ``bytes`` (source side), ``target_files``,
        ``target_bytes``, ``source_digest`` and ``target_digest`` (of the whole tree), and the number of paths
        ``missing`` on the target, ``extra`` on the target and ``different`` (the paths: :meth:`to_dict`).
        Counts and digests are None where a side could not be read.
        """
        from portkit.frames import dataframe

        rows = []
        for c in self.claims:
            src, dst = c.source_tree, c.target_tree
            rows.append(
                {
                    "source": c.source,
                    "target": c.target,
                    "status": c.status,
                    "reason": c.reason,
                    "files": src.files if src else None,
                    "bytes": src.bytes if src else None,
                    "target_files": dst.files if dst else None,
                    "target_bytes": dst.bytes if dst else None,
                    "source_digest": src.digest if src else None,
                    "target_digest": dst.digest if dst else None,
                    "missing": len(c.missing),
                    "extra": len(c.extra),
                    "different": len(c.different),
                }
            )
        return dataframe(rows, DATA_FRAME_COLUMNS)


# -- checker pods ---------------------------------------------------------------------------------------------
def checker_pod(
    claim: str,
    namespace: str,
    *,
    image: str = DEFAULT_IMAGE,
    node: str | None = None,
    name: str | None = None,
    restricted: bool = False,
) -> dict[str, Any]:
    """The read-only, unprivileged pod that prints the manifest of ``claim``'s tree.

    ``restricted``: fit Pod Security "restricted" (non-root, no capability): files only root may read are then
    reported as unreadable instead of compared.
    """
    pod_name = name or f"portkit-verify-{secrets.token_hex(4)}"
    spec: dict[str, Any] = {
        **helper_spec("Never"),
        "securityContext": {
            **(
                {"runAsNonRoot": True, "runAsUser": 65534, "runAsGroup": 65534}
                if restricted
                else {"runAsUser": 0, "runAsGroup": 0}
            ),
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "containers": [
            {
                "name": "checker",
                "image": image,
                "imagePullPolicy": "IfNotPresent",
                "command": ["sh", "-c", _SCRIPT],
                "securityContext": {
                    "privileged": False,
                    "allowPrivilegeEscalation": False,
                    "readOnlyRootFilesystem": True,
                    "capabilities": {"drop": ["ALL"]} if restricted else {"drop": ["ALL"], "add": ["DAC_OVERRIDE"]},
                },
                "resources": {"requests": {"cpu": "50m", "memory": "32Mi"}, "limits": {"cpu": "1", "memory": "128Mi"}},
                "volumeMounts": [
                    {"name": "data", "mountPath": "/data", "readOnly": True},
                    {"name": "scratch", "mountPath": "/tmp"},
                ],
            }
        ],
        "volumes": [
            {"name": "data", "persistentVolumeClaim": {"claimName": claim, "readOnly": True}},
            {"name": "scratch", "emptyDir": {"medium": "Memory", "sizeLimit": "16Mi"}},
        ],
    }
    if node:
        spec["nodeName"] = node
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": pod_name, "namespace": namespace, "labels": {MANAGED_BY: "portkit", ROLE_LABEL: ROLE}},
        "spec": spec,
    }


_PULL_FAILURES = {
    "ErrImagePull",
    "ImagePullBackOff",
    "InvalidImageName",
    "ErrImageNeverPull",
    "CreateContainerConfigError",
    "CreateContainerError",
    "RunContainerError",
}


def _pod_problem(pod: Mapping[str, Any]) -> str | None:
    status = pod.get("status") or {}
    for cs in status.get("containerStatuses") or []:
        waiting = (cs.get("state") or {}).get("waiting") or {}
        if waiting.get("reason") in _PULL_FAILURES:
            return f"{waiting['reason']}: {waiting.get('message') or 'no message'}"
    return None


def _pending_reason(pod: Mapping[str, Any]) -> str:
    status = pod.get("status") or {}
    for cond in status.get("conditions") or []:
        if cond.get("type") == "PodScheduled" and cond.get("status") == "False":
            return f"not scheduled: {cond.get('message') or cond.get('reason')}"
    for cs in status.get("containerStatuses") or []:
        waiting = (cs.get("state") or {}).get("waiting") or {}
        if waiting:
            return f"{waiting.get('reason')}: {waiting.get('message') or ''}".rstrip(": ")
    return f"phase {status.get('phase') or 'unknown'}"


def _run_checker(
    cluster: Cluster, namespace: str, claim: str, *, image: str, node: str | None, timeout: float, side: str
) -> TreeManifest:
    pods = cluster.resource_for("v1", "Pod")
    manifest = checker_pod(claim, namespace, image=image, node=node)
    name = manifest["metadata"]["name"]
    where = f"claim {namespace}/{claim} on the {side} ({cluster.name or cluster.server})"
    try:
        try:
            cluster.create(manifest)
        except ApiError as exc:
            if exc.status != 403 or "PodSecurity" not in exc.message:
                raise DataVerifyError(f"Cannot start the checker pod for {where}: {exc.message}") from exc
            # Pod Security "restricted": no root; files only root may read are reported unreadable
            manifest = checker_pod(claim, namespace, image=image, node=node, name=name, restricted=True)
            try:
                cluster.create(manifest)
            except ApiError as again:
                raise DataVerifyError(
                    f"Cannot start the checker pod for {where}: {again.message}",
                    hint="Allow a read-only pod in that namespace, or verify from a namespace whose policy permits it.",
                ) from again
        deadline = time.monotonic() + timeout
        pod: dict[str, Any] = {}
        while True:
            pod = cluster.get(pods, name, namespace)
            phase = (pod.get("status") or {}).get("phase")
            if phase in ("Succeeded", "Failed"):
                break
            problem = _pod_problem(pod)
            if problem:
                raise DataVerifyError(
                    f"The checker pod for {where} cannot start: {problem}.",
                    hint=f"Make the image {image} available to that cluster's nodes, or pass "
                    "image= (CLI: --image) with one your registry serves.",
                )
            if time.monotonic() > deadline:
                raise DataVerifyError(
                    f"The checker pod for {where} did not finish within {timeout:.0f} s ({_pending_reason(pod)}).",
                    hint="Raise timeout= for large volumes, or check why the pod cannot run.",
                )
            time.sleep(0.5)
        log = cluster.pod_log(namespace, name, container="checker")
        if phase == "Failed":
            tail = log.strip().splitlines()[-3:]
            raise DataVerifyError(f"The checker pod for {where} failed: {' / '.join(tail) or 'no output'}.")
        return parse_manifest(log)
    finally:
        with contextlib.suppress(PortkitError):  # never hide the original error behind a failed clean-up
            delete_now(cluster, namespace, name, "checker")


def _claim_usage(cluster: Cluster, namespace: str) -> dict[str, list[dict[str, Any]]]:
    """Running (or starting) pods by the claims they mount."""
    pods = cluster.resource_for("v1", "Pod")
    usage: dict[str, list[dict[str, Any]]] = {}
    for pod in cluster.list(pods, namespace):
        if (pod.get("status") or {}).get("phase") not in ("Running", "Pending"):
            continue
        if ((pod.get("metadata") or {}).get("labels") or {}).get(ROLE_LABEL) == ROLE:
            continue
        for vol in (pod.get("spec") or {}).get("volumes") or []:
            claim = (vol.get("persistentVolumeClaim") or {}).get("claimName")
            if claim:
                usage.setdefault(claim, []).append(pod)
    return usage


@attrs.frozen
class _Side:
    cluster: Cluster
    namespace: str
    claim: str
    side: str


def _placement(
    side: _Side, claim_obj: Mapping[str, Any] | None, usage: Mapping[str, list[dict[str, Any]]]
) -> tuple[str | None, str | None]:
    """(node to run on, reason it cannot be checked)."""
    if claim_obj is None:
        return None, f"no claim {side.namespace}/{side.claim} on the {side.side}"
    if (claim_obj.get("status") or {}).get("phase") != "Bound":
        return None, f"claim {side.namespace}/{side.claim} on the {side.side} is not bound to a volume"
    modes = set((claim_obj.get("spec") or {}).get("accessModes") or [])
    users = usage.get(side.claim, [])
    nodes = sorted({str((p.get("spec") or {}).get("nodeName")) for p in users if (p.get("spec") or {}).get("nodeName")})
    if users and "ReadWriteOncePod" in modes:
        return None, (
            f"claim {side.namespace}/{side.claim} on the {side.side} is ReadWriteOncePod and in use by "
            f"{users[0]['metadata']['name']}: it cannot be mounted a second time"
        )
    if nodes and ("ReadWriteOnce" in modes or not modes):  # only mountable on the node that has it
        return nodes[0], None
    return None, None


@observe.step("verify_data")
def verify_data(
    source: Cluster,
    target: Cluster,
    namespaces: Sequence[str] | str,
    *,
    namespace_map: Mapping[str, str] | None = None,
    claims: Sequence[str] | None = None,
    image: str = DEFAULT_IMAGE,
    timeout: float = 600.0,
    parallel: int = 4,
) -> DataVerifyResult:
    """Compare the files of every PersistentVolumeClaim in ``namespaces`` of ``source`` with the claim of the
    same name in the mapped namespace of ``target``.

    Args:
        namespaces: source namespaces.
        namespace_map: ``{"shop": "shop-eu"}`` (target namespace per source namespace).
        claims: only these claims (``name`` or ``namespace/name``); default every claim.
        image: the checker pods' image (a busybox: ``sh``, ``find``, ``stat``, ``sha256sum``, ``od``); default
            :data:`DEFAULT_IMAGE`. Use your registry's copy in air-gapped clusters.
        timeout: seconds one checker pod may take.
        parallel: claims checked at the same time.

    Returns a :class:`DataVerifyResult`; raises :class:`DataVerifyError` when a checker pod cannot run
    (image pull, scheduling, timeout), naming the claim and the reason.
    """
    started = time.monotonic()
    nss = [namespaces] if isinstance(namespaces, str) else list(namespaces)
    nsmap = dict(namespace_map or {})
    wanted = set(claims or [])
    pvc_src = source.resource_for("v1", "PersistentVolumeClaim")
    pvc_dst = target.resource_for("v1", "PersistentVolumeClaim")
    jobs: list[tuple[_Side, _Side, dict[str, Any], dict[str, Any] | None, Any, Any]] = []
    for ns in nss:
        tns = nsmap.get(ns, ns)
        src_usage, dst_usage = _claim_usage(source, ns), _claim_usage(target, tns)
        for claim in source.list(pvc_src, ns):
            name = claim["metadata"]["name"]
            if wanted and name not in wanted and f"{ns}/{name}" not in wanted:
                continue
            try:
                tclaim: dict[str, Any] | None = target.get(pvc_dst, name, tns)
            except NotFoundError:
                tclaim = None
            jobs.append(
                (
                    _Side(source, ns, name, "source"),
                    _Side(target, tns, name, "target"),
                    claim,
                    tclaim,
                    src_usage,
                    dst_usage,
                )
            )

    def check(job: tuple[_Side, _Side, dict[str, Any], dict[str, Any] | None, Any, Any]) -> ClaimCheck:
        src, dst, sclaim, tclaim, src_usage, dst_usage = job
        label_src, label_dst = f"{src.namespace}/{src.claim}", f"{dst.namespace}/{dst.claim}"
        src_node, src_why = _placement(src, sclaim, src_usage)
        dst_node, dst_why = _placement(dst, tclaim, dst_usage)
        if src_why:
            return ClaimCheck(label_src, label_dst, "not-checkable", src_why)
        if dst_why:
            absent: Status = "missing" if tclaim is None or "not bound" in dst_why else "not-checkable"
            return ClaimCheck(label_src, label_dst, absent, dst_why)
        with ThreadPoolExecutor(max_workers=2) as pool:
            a = pool.submit(
                _run_checker,
                src.cluster,
                src.namespace,
                src.claim,
                image=image,
                node=src_node,
                timeout=timeout,
                side="source",
            )
            b = pool.submit(
                _run_checker,
                dst.cluster,
                dst.namespace,
                dst.claim,
                image=image,
                node=dst_node,
                timeout=timeout,
                side="target",
            )
            stree, ttree = a.result(), b.result()
        missing, extra, different = compare_trees(stree, ttree)
        equal = not (missing or extra or different)
        status: Status = "equal" if equal else "different"
        reason = ""
        unread = [
            f"{len(tree.errors)} on the {side}" for side, tree in (("source", stree), ("target", ttree)) if tree.errors
        ]
        if unread and equal:  # what could be read is equal, but not everything could be read
            status = "not-checkable"
            example = (stree.errors or ttree.errors)[0]
            reason = (
                f"entries that could not be read: {', '.join(unread)} (e.g. {example}); "
                "a namespace with Pod Security 'restricted' runs the checker without root"
            )
        return ClaimCheck(
            label_src, label_dst, status, reason, stree, ttree, tuple(missing), tuple(extra), tuple(different)
        )

    with ThreadPoolExecutor(max_workers=max(1, parallel)) as pool:
        results = tuple(pool.map(check, jobs))
    return DataVerifyResult(results, image, time.monotonic() - started)
