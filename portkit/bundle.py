"""Bundles: a set of plain manifest dicts with metadata, in memory or on disk.

On disk a bundle is a directory (the format is documented in ``docs/bundle-format.md``)::

    manifest.yaml                                  format version, source, namespaces, failures, and one
                                                   entry per object: ref, file, sha256
    _cluster/<group>/<Kind>/<name>.yaml            cluster-scoped objects (Namespaces, CRDs, StorageClasses...)
    <namespace>/<group>/<Kind>/<name>.yaml         namespaced objects; <group> is ``core`` for the core group

Object files are written with a fixed key order by a small YAML emitter (:mod:`portkit._yaml`), so the
same objects always give the same bytes. :meth:`Bundle.load` checks the format version and the sha256 of
every file: a missing, corrupt or edited file raises :class:`~portkit.errors.BundleError` naming it. Files
holding Secrets are written with mode 0600; Secret values (data, stringData, annotations) can also be
encrypted at rest, each bound to its object and field (``pip install 'portkit[crypto]'``, :func:`generate_key`,
:mod:`portkit._cipher`). Format-1 bundles (Fernet) are still read; :func:`upgrade` rewrites one as format 2.

Bundles and manifest files are untrusted input: they are read like a careful archiver reads an archive
(:mod:`portkit._files`: regular files only, no symbolic link followed inside a bundle, size limits per file
and per bundle; :mod:`portkit._safe_yaml`: no alias bombs, no nesting deeper than portkit can walk, no
duplicate keys), with the limits of :class:`portkit.limits.ReadLimits`. Saving replaces the directory
atomically and never deletes or writes through anything portkit did not write (:mod:`portkit._commit`).
"""

from __future__ import annotations

import copy
import hashlib
import json
import logging
import os
import re
import stat
import threading
import warnings
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from importlib import metadata as _metadata
from pathlib import Path
from typing import Any

import attrs
import yaml

from portkit import _commit
from portkit._cipher import (
    KEY_ENV,
    SCHEME,
    Cipher,
    LegacyFernetCipher,
    generate_key,
    refuse_ciphertext,
    resolve_key,
)
from portkit._files import Budget, SafeTree, read_user_file
from portkit._identity import identity_problem
from portkit._safe_yaml import load_json
from portkit._yaml import Dumper, dump_yaml, load_yaml_documents
from portkit.display import html_table, text_table
from portkit.errors import BundleError, BundleWriteError, UnsafeFileError
from portkit.limits import DEFAULT_LIMITS, ReadLimits
from portkit.model import CLUSTER_SCOPED_KINDS, ObjectRef, split_api_version

__all__ = [
    "CLUSTER_DIR",
    "FORMAT_VERSION",
    "KEY_ENV",
    "MANIFEST",
    "Bundle",
    "BundleFormatWarning",
    "BundleWriter",
    "ReadLimits",
    "dump_yaml",
    "generate_key",
    "load_yaml_documents",
    "object_path",
    "upgrade",
]

log = logging.getLogger(__name__)

Manifest = dict[str, Any]

#: Version of the on-disk format this portkit writes (it reads every version up to it). 2: Secret values
#: and annotations encrypted with AES-256-GCM bound to their object (1: Fernet, data and stringData only).
FORMAT_VERSION = 2
#: Name of the manifest file at the root of a bundle directory.
MANIFEST = "manifest.yaml"
#: Directory holding cluster-scoped objects (no namespace can be named like this).
CLUSTER_DIR = "_cluster"
#: Directory name standing for the core (empty) API group.
CORE_GROUP_DIR = "core"


class BundleFormatWarning(UserWarning):
    """A bundle was read in an older format that is weaker than the current one; save it to upgrade it."""


_MAX_NAME_CHARS = 150
_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]")
_META_ORDER = ("format", "portkit_version", "created", "source", "namespaces", "selector", "failures")


def _portkit_version() -> str:
    try:
        return _metadata.version("portkit")
    except _metadata.PackageNotFoundError:  # pragma: no cover - running from a source tree
        return "0+unknown"


# ------------------------------------------------------------------------------------------------ paths


def _encode_segment(text: str) -> str:
    encoded = _SAFE_NAME.sub(lambda m: "".join(f"%{b:02X}" for b in m.group().encode()), text)
    if encoded.startswith("."):
        encoded = "%2E" + encoded[1:]
    return encoded


def object_path(ref: ObjectRef) -> str:
    """The file of an object inside a bundle (POSIX, relative): ``<ns>/<group>/<Kind>/<name>.yaml``.

    Cluster-scoped objects go under ``_cluster/``; the core group is ``core``. Characters other than
    letters, digits, ``.``, ``_`` and ``-`` are percent-encoded; names with capital letters or longer
    than 150 characters get a ``~`` and a short hash, so that no two objects share a file even on
    case-insensitive file systems.
    """
    name = _encode_segment(ref.name)
    if ref.name != ref.name.lower() or len(name) > _MAX_NAME_CHARS:
        digest = hashlib.sha256(ref.name.encode()).hexdigest()[:10]
        name = f"{name[:_MAX_NAME_CHARS]}~{digest}"
    top = _encode_segment(ref.namespace) if ref.namespace else CLUSTER_DIR
    group = _encode_segment(ref.group) if ref.group else CORE_GROUP_DIR
    return f"{top}/{group}/{_encode_segment(ref.kind)}/{name}.yaml"


def _sort_key(ref: ObjectRef) -> tuple[bool, str, str, str, str]:
    return (bool(ref.namespace), ref.namespace, ref.group, ref.kind, ref.name)


def _resolve_key(key: str | bytes | None) -> str | bytes | None:
    return resolve_key(key)


def _is_secret(ref: ObjectRef) -> bool:
    return ref.kind == "Secret" and ref.group == ""


# ------------------------------------------------------------------------------------------- validation


def _validate(obj: object, where: str) -> ObjectRef:
    """Check the identity fields of a manifest; BundleError naming ``where`` when one is missing or invalid."""
    if not isinstance(obj, dict):
        raise BundleError(f"{where}: expected a Kubernetes object (a mapping), found {type(obj).__name__}.")
    meta = obj.get("metadata")
    name = meta.get("name") if isinstance(meta, dict) else None
    kind = obj.get("kind")
    what = f"{kind if isinstance(kind, str) else 'object'} {name if isinstance(name, str) else ''}"
    what = what.strip()[:100].encode("unicode_escape").decode("ascii")  # no control characters in messages
    hint = "Every manifest needs apiVersion, kind and metadata.name."
    for field, value in (("apiVersion", obj.get("apiVersion")), ("kind", obj.get("kind"))):
        if not isinstance(value, str) or not value:
            raise BundleError(f"{where}: {what} has no {field}.", hint=hint)
    if not isinstance(meta, dict):
        raise BundleError(f"{where}: {what} has no metadata.", hint=hint)
    if not isinstance(name, str) or not name:
        extra = " (generateName is not supported in bundles)" if meta.get("generateName") else ""
        raise BundleError(f"{where}: {what} has no metadata.name{extra}.", hint=hint)
    namespace = meta.get("namespace")
    if namespace is not None and not isinstance(namespace, str):
        raise BundleError(f"{where}: {what} has a metadata.namespace that is not a string.")
    ref = ObjectRef.from_obj(obj)
    problem = identity_problem(ref.group, ref.version, ref.kind, ref.namespace, ref.name)
    if problem is not None:
        raise BundleError(f"{where}: {what} has {problem}.", hint="Fix the manifest.")
    return ref


# ------------------------------------------------------------------------------------------------ entries


@attrs.frozen
class _Entry:
    """One object of a bundle on disk: its reference, file, checksum and whether it is encrypted."""

    ref: ObjectRef
    file: str
    sha256: str
    encrypted: bool = False

    @classmethod
    def from_manifest(cls, data: Any, where: str) -> _Entry:
        """An entry of ``manifest.yaml``, checked: string fields, a valid identity and its proper file."""
        ref_data = data.get("ref") if isinstance(data, dict) else None
        fields = ("apiVersion", "kind", "name")
        if (
            not isinstance(ref_data, dict)
            or not all(isinstance(ref_data.get(f), str) for f in fields)
            or not isinstance(ref_data.get("namespace", ""), str)
            or not isinstance(data.get("file"), str)
            or not isinstance(data.get("sha256"), str)
        ):
            raise BundleError(f"{where}: an object entry is malformed.", hint="Regenerate the bundle.")
        group, version = split_api_version(ref_data["apiVersion"])
        ref = ObjectRef(group, version, ref_data["kind"], ref_data.get("namespace") or "", ref_data["name"])
        problem = identity_problem(ref.group, ref.version, ref.kind, ref.namespace, ref.name)
        if problem is not None:
            raise BundleError(f"{where}: an object entry has {problem}.", hint="Regenerate the bundle.")
        file = data["file"]
        if file != object_path(ref):
            shown = file[:200].encode("unicode_escape").decode("ascii").replace("'", "\\'")
            raise BundleError(
                f"{where} lists the file '{shown}' for {ref}; a bundle keeps that object in '{object_path(ref)}'.",
                hint="Regenerate the bundle.",
            )
        if not re.fullmatch(r"[0-9a-f]{64}", data["sha256"]):
            raise BundleError(f"{where}: the entry of {ref} has a malformed sha256.", hint="Regenerate the bundle.")
        return cls(ref=ref, file=file, sha256=data["sha256"], encrypted=bool(data.get("encrypted", False)))


def _read_entry(tree: SafeTree, entry: _Entry, cipher: Cipher | LegacyFernetCipher | None) -> Manifest:
    path = tree.where(entry.file)
    try:
        data, digest = tree.read(entry.file, want_hash=True)
    except FileNotFoundError:
        raise BundleError(
            f"Bundle file {path} is missing (listed in {tree.where(MANIFEST)}).", hint="Restore it or re-export."
        ) from None
    if digest != entry.sha256:
        raise BundleError(
            f"Bundle file {path} was changed after it was written (checksum mismatch).",
            hint="Restore it, re-export, or build a bundle from edited files with Bundle.from_manifests().",
        )
    docs = load_yaml_documents(data, where=path, limits=tree.budget.limits)
    if len(docs) != 1:
        raise BundleError(f"Bundle file {path} must hold exactly one object, found {len(docs)}.")
    obj = docs[0]
    ref = _validate(obj, path)
    if ref.key != entry.ref.key:
        raise BundleError(f"Bundle file {path} holds {ref}, but {MANIFEST} lists {entry.ref} for it.")
    if entry.encrypted:
        if cipher is None:
            raise BundleError(
                f"Bundle file {path} holds an encrypted Secret and no key was given.",
                hint=f"Pass key=... (CLI: --key-file) or set {KEY_ENV}.",
            )
        cipher.decrypt(obj, where=str(path))
    elif _is_secret(ref):
        refuse_ciphertext(obj, where=str(path))
    result: Manifest = obj
    return result


def _read_manifest(tree: SafeTree) -> dict[str, Any]:
    path = tree.where(MANIFEST)
    try:
        text, _ = tree.read(MANIFEST)
    except FileNotFoundError:
        raise BundleError(
            f"{path} is missing: {tree.root} is not a portkit bundle.",
            hint="Export one with portkit.export(), or read plain YAML with Bundle.from_manifests().",
        ) from None
    docs = load_yaml_documents(text, where=path, limits=tree.budget.limits)
    data = docs[0] if len(docs) == 1 else None
    if not isinstance(data, dict) or "format" not in data or not isinstance(data.get("objects"), list):
        raise BundleError(f"{path} is not a portkit bundle manifest.")
    fmt = data["format"]
    if not isinstance(fmt, int) or isinstance(fmt, bool) or fmt < 1:
        raise BundleError(f"{path} has an unknown format version {str(fmt)[:20]!r}.")
    if fmt > FORMAT_VERSION:
        raise BundleError(
            f"{path} is bundle format {fmt}; this portkit reads format {FORMAT_VERSION}.",
            hint="Upgrade portkit to read this bundle.",
        )
    return data


def _encryption_scheme(manifest: Mapping[str, Any], entries: list[_Entry], where: str) -> str | None:
    """The encryption scheme a manifest declares (None: not encrypted), checked against its entries.

    Refuses an unknown scheme, an encrypted bundle whose Secret entries lack the ``encrypted`` flag (the
    flags were removed: ciphertext would be loaded as data), and flags without an ``encryption`` section.
    """
    section = manifest.get("encryption")
    fmt = manifest.get("format")
    scheme: str | None = None
    if section is not None:
        scheme = section.get("scheme") if isinstance(section, Mapping) else None
        known = {1: "fernet", 2: SCHEME}
        if scheme != known.get(fmt if isinstance(fmt, int) else 0):
            raise BundleError(
                f"{where}: unknown encryption scheme {scheme!r} for bundle format {fmt}.",
                hint="Restore the manifest as it was written, or re-export.",
            )
        if scheme == SCHEME and not isinstance(section.get("key_id"), str):
            raise BundleError(f"{where}: the encryption section has no key_id (the manifest was edited).")
    for entry in entries:
        if entry.encrypted and not _is_secret(entry.ref):
            raise BundleError(f"{where}: {entry.ref} is marked encrypted, but only Secrets are encrypted.")
        if entry.encrypted and scheme is None:
            raise BundleError(
                f"{where}: {entry.ref} is marked encrypted, but the manifest has no encryption section.",
                hint="Restore the manifest as it was written, or re-export.",
            )
        if scheme is not None and _is_secret(entry.ref) and not entry.encrypted:
            raise BundleError(
                f"{where}: the bundle is encrypted but {entry.ref} is not marked encrypted (the flag was removed "
                "or the entry edited); refusing to load it as plain data.",
                hint="Restore the manifest as it was written, or re-export.",
            )
    return scheme


def _open_cipher(meta: Mapping[str, Any], key: str | bytes | None) -> Cipher | LegacyFernetCipher | None:
    """The cipher that reads a bundle with this metadata (None without a key); checks the key's id."""
    if not key:
        return None
    section = meta.get("encryption")
    scheme = section.get("scheme") if isinstance(section, Mapping) else None
    if scheme == "fernet":
        return LegacyFernetCipher(key)
    cipher = Cipher(key)
    if isinstance(section, Mapping) and section.get("key_id") not in (None, cipher.key_id):
        raise BundleError(
            f"The key given is not the one this bundle was encrypted with (its key id is {section['key_id']}, "
            f"this key's is {cipher.key_id}).",
            hint=f"Pass the bundle's key (key=..., CLI: --key-file, or {KEY_ENV}).",
        )
    return cipher


def _open_tree(root: Path, limits: ReadLimits) -> SafeTree:
    """The bundle directory ``root`` for reading; BundleError when it is missing or not a directory."""
    try:
        return SafeTree(root, Budget(limits, f"bundle {root}"))
    except FileNotFoundError:
        displaced = _commit.displaced_dirs(Path(os.path.abspath(root)))
        if displaced:
            raise BundleError(
                f"Bundle directory {root} does not exist: a save into it was interrupted and left the previous "
                f"bundle in {displaced[-1]}.",
                hint="Save into it again (portkit puts the old one back first), or rename that directory back.",
            ) from None
        raise BundleError(f"Bundle directory {root} does not exist.", hint="Check the path or export first.") from None
    except NotADirectoryError:
        raise BundleError(f"{root} is not a directory.", hint="Give a bundle directory.") from None
    except (OSError, ValueError) as exc:
        raise BundleError(f"Cannot open the bundle directory {root}: {exc}.") from None


def _inspect(root: Path) -> set[str] | None:
    """The files of the bundle directory ``root`` that portkit wrote (``manifest.yaml`` and the object files it
    lists at their proper paths), or None when ``root`` holds no readable bundle manifest. Never raises."""
    try:
        with _open_tree(root, DEFAULT_LIMITS) as tree:
            manifest = _read_manifest(tree)
    except (BundleError, OSError):
        return None
    owned = {MANIFEST}
    for item in manifest["objects"]:
        try:
            owned.add(_Entry.from_manifest(item, MANIFEST).file)
        except BundleError:
            continue  # not a file portkit wrote (README.md, .git/config, ../x): never deleted
    return owned


def _is_bundle_dir(root: Path) -> bool:
    return _inspect(root) is not None


def _owned_files(root: Path) -> set[str]:
    """The files of the bundle directory ``root`` that portkit wrote; empty when it holds no bundle."""
    return _inspect(root) or set()


def _default_meta() -> dict[str, Any]:
    return {
        "format": FORMAT_VERSION,
        "portkit_version": _portkit_version(),
        "created": None,
        "source": {"server_version": None, "provider": None},
        "namespaces": [],
        "failures": [],
    }


def _ordered_meta(meta: Mapping[str, Any]) -> dict[str, Any]:
    out = {k: meta[k] for k in _META_ORDER if k in meta}
    out.update((k, v) for k, v in meta.items() if k not in out and k != "objects")
    return out


# ------------------------------------------------------------------------------------------------ writer


class BundleWriter:
    """Writes a bundle object by object (thread-safe), then commits it into place.

    Objects are written to a staging directory next to ``path`` as they come, so nothing is held in memory
    but a small index; :meth:`commit` writes ``manifest.yaml`` there and puts the staging directory in
    place of ``path`` atomically (:mod:`portkit._commit`): ``path`` holds the old bundle or the new one,
    never neither; files portkit did not write (``.git``, notes) are carried over; the directory's mode is
    kept; nothing is written through or deleted behind a symbolic link. Staging directories left behind by
    a killed save are cleaned up (or finished) when the next writer for the same path starts.

    Args:
        path: the bundle directory: new, empty, or holding an earlier bundle.
        key: key to encrypt Secret values and annotations with (default: ``$PORTKIT_BUNDLE_KEY`` if set).

    Raises:
        BundleError: ``path`` is not a directory, or holds something other than a bundle.
        BundleWriteError: the staging directory cannot be made (permissions, disk full).
    """

    def __init__(self, path: str | Path, *, key: str | bytes | None = None) -> None:
        self.root = Path(path)
        self._key = _resolve_key(key)
        self._cipher = Cipher(self._key) if self._key else None
        self._real = _real_target(self.root)
        _check_target(self._real)
        try:
            self._real.parent.mkdir(parents=True, exist_ok=True)
            self._staging = _commit.Staging(self._real, _owned_files)
        except OSError as exc:
            raise _write_error(exc, self.root) from None
        self._dirs: set[str] = set()
        self._entries: dict[tuple[str, str, str, str], _Entry] = {}
        self._lock = threading.Lock()
        self._closed = False

    def __enter__(self) -> BundleWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        if not self._closed:
            self.abort()

    def __len__(self) -> int:
        return len(self._entries)

    def add(self, obj: Manifest, *, where: str = "object") -> ObjectRef:
        """Write one object (validated); adding the same object again replaces it."""
        ref = _validate(obj, where)
        file = object_path(ref)
        secret = _is_secret(ref)
        encrypted = bool(secret and self._cipher is not None)
        data = dump_yaml(self._cipher.encrypt(obj) if encrypted and self._cipher else obj)
        parent = file.rpartition("/")[0]
        try:
            if parent not in self._dirs:
                os.makedirs(self._staging.path / parent, exist_ok=True)  # our own new directory: no links in it
                self._dirs.add(parent)
            flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | _O_NOFOLLOW | _O_CLOEXEC
            fd = os.open(self._staging.path / file, flags, 0o600 if secret else 0o644)
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
        except OSError as exc:
            raise _write_error(exc, self.root) from None
        entry = _Entry(ref=ref, file=file, sha256=hashlib.sha256(data).hexdigest(), encrypted=encrypted)
        with self._lock:
            self._entries[ref.key] = entry
        return ref

    def commit(self, meta: Mapping[str, Any]) -> Bundle:
        """Write ``manifest.yaml``, put the bundle in place of ``path`` and return the (lazy) bundle.

        Raises:
            UnsafeFileError: an entry portkit did not write is in the way (a symbolic link where a namespace
                directory goes, an unlisted YAML file); nothing was changed.
            BundleWriteError: the file system failed; ``path`` holds the old bundle or the new one.
        """
        entries = sorted(self._entries.values(), key=lambda e: _sort_key(e.ref))
        full_meta = _default_meta()
        full_meta.update(copy.deepcopy(dict(meta)))
        full_meta["format"] = FORMAT_VERSION
        full_meta["portkit_version"] = _portkit_version()
        if self._cipher is not None:
            full_meta["encryption"] = {
                "scheme": self._cipher.scheme,
                "kdf": "hkdf-sha256",
                "key_id": self._cipher.key_id,
                "kinds": ["Secret"],
                "fields": ["data", "stringData", "metadata.annotations"],
            }
        else:
            full_meta.pop("encryption", None)
        full_meta = _ordered_meta(full_meta)
        try:
            (self._staging.path / MANIFEST).write_bytes(_manifest_bytes(full_meta, entries))
            _commit.commit(self._staging, _owned_files, {e.file for e in entries} | {MANIFEST}, _check_target)
        except OSError as exc:
            raise _write_error(exc, self.root) from None
        self._closed = True
        return Bundle._lazy(self.root, full_meta, entries, self._key)

    def abort(self) -> None:
        """Throw away what was written (the target directory is left as it was)."""
        self._staging.discard()
        self._closed = True


_O_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_O_CLOEXEC = getattr(os, "O_CLOEXEC", 0)


def _write_error(exc: OSError, root: Path) -> BundleWriteError:
    where = exc.filename or root
    return BundleWriteError(
        f"Cannot write the bundle {root}: {exc.strerror or exc} ({where}).",
        hint="Check the free space and the permissions of the directory.",
    )


def _real_target(root: Path) -> Path:
    """The directory to replace: ``root`` itself, or what it points to when it is a symbolic link (the user
    named it), so that the link stays a link and staging happens on the target's file system."""
    try:
        if root.is_symlink():
            return Path(os.path.realpath(root))
        return Path(os.path.abspath(root))
    except (OSError, ValueError) as exc:
        raise BundleError(f"{root!s} is not a usable path for a bundle: {exc}.") from None


def _quote(text: str) -> str:
    """A YAML double-quoted scalar (JSON string syntax, ASCII only: valid YAML)."""
    return json.dumps(text)


def _manifest_bytes(meta: Mapping[str, Any], entries: list[_Entry]) -> bytes:
    """``manifest.yaml``: the metadata, then one flow-style line group per object (fast for 50,000 objects)."""
    head: str = yaml.dump(
        dict(meta), Dumper=Dumper, sort_keys=False, default_flow_style=False, allow_unicode=True, width=2**31 - 1
    )
    if not entries:
        return (head + "objects: []\n").encode("utf-8")
    parts = [head, "objects:\n"]
    for e in entries:
        ref = e.ref
        namespace = f", namespace: {_quote(ref.namespace)}" if ref.namespace else ""
        parts.append(
            f"- ref: {{apiVersion: {_quote(ref.api_version)}, kind: {_quote(ref.kind)}{namespace}, "
            f"name: {_quote(ref.name)}}}\n  file: {_quote(e.file)}\n  sha256: {e.sha256}\n"
        )
        if e.encrypted:
            parts.append("  encrypted: true\n")
    return "".join(parts).encode("utf-8")


def _check_target(root: Path) -> set[str]:
    """Refuse a target that is not a directory, or a non-empty one that holds no bundle; return the files of
    the bundle in it that portkit wrote (empty for a new or empty directory)."""
    try:
        st = os.lstat(root)
    except FileNotFoundError:
        return set()
    except (OSError, ValueError) as exc:
        raise BundleError(f"{root} is not a usable path for a bundle: {exc}.") from None
    if not stat.S_ISDIR(st.st_mode):
        raise BundleError(f"{root} exists and is not a directory.", hint="Choose a directory for the bundle.")
    try:
        visible = [n for n in os.listdir(root) if not n.startswith(".")]
    except OSError as exc:
        raise BundleError(f"Cannot read the directory {root}: {exc.strerror}.") from None
    owned = _inspect(root) if visible else set()
    if owned is None:
        raise BundleError(
            f"{root} is not empty and holds no portkit bundle; refusing to write into it.",
            hint="Choose a new or empty directory.",
        )
    return owned


# ------------------------------------------------------------------------------------------------ bundle


class Bundle:
    """A set of plain manifest dicts plus metadata, in memory or on disk.

    Args:
        objects: the manifests (validated: each needs apiVersion, kind and metadata.name; no two may share
            group, kind, namespace and name).
        meta: metadata; missing keys get defaults (``format``, ``portkit_version``, ``created``,
            ``source`` {server_version, provider}, ``namespaces``, ``failures``); extra keys are kept.
        path: the directory the bundle lives in, if any.

    Objects are kept in a stable order (cluster-scoped first, then by namespace, group, kind and name).
    The dicts are shared, not copied: copy one before changing it (:func:`portkit.model.deep_copy`).
    """

    def __init__(
        self,
        objects: Iterable[Manifest] = (),
        *,
        meta: Mapping[str, Any] | None = None,
        path: str | Path | None = None,
    ) -> None:
        pairs: list[tuple[ObjectRef, Manifest]] = []
        seen: dict[tuple[str, str, str, str], int] = {}
        for i, obj in enumerate(objects):
            ref = _validate(obj, f"object #{i + 1}")
            if ref.key in seen:
                raise BundleError(
                    f"Objects #{seen[ref.key] + 1} and #{i + 1} are both {ref}; a bundle holds one of each."
                )
            seen[ref.key] = i
            pairs.append((ref, obj))
        pairs.sort(key=lambda p: _sort_key(p[0]))
        merged = _default_meta()
        if meta:
            merged.update(copy.deepcopy(dict(meta)))
        if not (meta and "namespaces" in meta):
            merged["namespaces"] = sorted({r.namespace for r, _ in pairs if r.namespace})
        self.meta: dict[str, Any] = _ordered_meta(merged)
        self.path: Path | None = Path(path) if path is not None else None
        self._refs: list[ObjectRef] = [r for r, _ in pairs]
        self._objects: list[Manifest] | None = [o for _, o in pairs]
        self._entries: list[_Entry] | None = None
        self._key: str | bytes | None = None
        self._limits: ReadLimits = DEFAULT_LIMITS
        self._lock = threading.Lock()
        self._index: dict[tuple[str, str], list[int]] | None = None

    # -- construction -------------------------------------------------------------------------------

    @classmethod
    def _lazy(
        cls,
        root: Path,
        meta: dict[str, Any],
        entries: list[_Entry],
        key: str | bytes | None,
        limits: ReadLimits = DEFAULT_LIMITS,
    ) -> Bundle:
        """A bundle on disk whose objects are read (and verified) on first access."""
        bundle = cls.__new__(cls)
        bundle.meta = meta
        bundle.path = root
        bundle._refs = [e.ref for e in entries]
        bundle._objects = None
        bundle._entries = entries
        bundle._key = key
        bundle._limits = limits
        bundle._lock = threading.Lock()
        bundle._index = None
        return bundle

    @classmethod
    def load(cls, path: str | Path, *, key: str | bytes | None = None, limits: ReadLimits | None = None) -> Bundle:
        """Read a bundle directory, checking its format version and the checksum of every file.

        The bundle is untrusted input: only regular files are read, no symbolic link below ``path`` is
        followed, and files, YAML aliases and nesting are limited (:class:`~portkit.limits.ReadLimits`).

        Args:
            path: the bundle directory.
            key: key of a bundle with encrypted Secrets (default: ``$PORTKIT_BUNDLE_KEY``).
            limits: size and complexity limits (default: :data:`portkit.limits.DEFAULT_LIMITS`).

        Raises:
            BundleError: naming the file that is missing, corrupt, edited, unlisted, or of another format;
                :class:`~portkit.errors.UnsafeFileError` for a symbolic link, FIFO or device,
                :class:`~portkit.errors.FileTooLargeError`, :class:`~portkit.errors.DocumentTooComplexError`
                and :class:`~portkit.errors.DuplicateKeyError` for files over the limits; an encrypted bundle
                read without its key, with another key, with a ciphertext moved to another object or field,
                with a plain value or a missing ``encrypted`` flag.

        Warns:
            BundleFormatWarning: the bundle is format 1 (Fernet); saving it writes format 2.
        """
        root = Path(path)
        limits = limits if limits is not None else DEFAULT_LIMITS
        with _open_tree(root, limits) as tree:
            manifest = _read_manifest(tree)
            where = tree.where(MANIFEST)
            entries = [_Entry.from_manifest(e, where) for e in manifest["objects"]]
            listed = {e.file for e in entries}
            if len(listed) != len(entries) or len({e.ref.key for e in entries}) != len(entries):
                raise BundleError(f"{where} lists the same file or object twice.", hint="Regenerate the bundle.")
            for rel, _entry in tree.walk():
                if rel != MANIFEST and rel.endswith((".yaml", ".yml")) and rel not in listed:
                    raise BundleError(
                        f"Bundle file {tree.where(rel)} is not listed in {MANIFEST}.",
                        hint="Remove it, or build a bundle from edited files with Bundle.from_manifests().",
                    )
            scheme = _encryption_scheme(manifest, entries, where)
            if scheme == "fernet":
                warnings.warn(
                    BundleFormatWarning(
                        f"{root} is bundle format 1: its Secret values are encrypted with Fernet, not bound to "
                        "their objects, and its Secret annotations are not encrypted. Save it (or run `portkit "
                        f"bundle upgrade {root} --key-file FILE`) to rewrite it as format {FORMAT_VERSION}."
                    ),
                    stacklevel=2,
                )
            meta = {k: v for k, v in manifest.items() if k != "objects"}
            bundle = cls._lazy(root, _ordered_meta(meta), entries, _resolve_key(key), limits)
            bundle._read_all(tree)
        return bundle

    @classmethod
    def from_manifests(
        cls,
        sources: str | Path | Mapping[str, Any] | Iterable[str | Path | Mapping[str, Any]],
        *,
        namespace: str | None = None,
        limits: ReadLimits | None = None,
    ) -> Bundle:
        """Build a bundle from plain YAML/JSON files, directories or dicts; no cluster needed.

        Files may hold several documents (``---``) and ``kind: List`` documents (``kubectl get -o yaml``);
        directories (a GitOps repository, ``helm template`` output) are read recursively, skipping hidden
        entries; a directory that is a portkit bundle is loaded as one. Kustomize ``Kustomization`` files
        are skipped. Dicts are copied.

        Args:
            sources: a path, a dict, or an iterable of them.
            namespace: namespace for namespaced objects that have none (as ``kubectl apply -n`` does);
                without it such objects are an error.
            limits: size and complexity limits for the files (default:
                :data:`portkit.limits.DEFAULT_LIMITS`); ``max_total_bytes`` counts all files together.

        Files are untrusted input, read as :meth:`load` reads a bundle: regular files only (a FIFO or
        device is refused, never read), within the size limits; a symbolic link inside a directory is
        followed only when it stays inside that directory. YAML aliases and nesting are limited and
        duplicate keys are an error, as kubectl has them.

        Raises:
            BundleError: a file is missing, unreadable, unsafe or over a limit (see :meth:`load`), or an
                object lacks apiVersion, kind or metadata.name, or two objects are the same; the message
                names the file and document.
        """
        budget = Budget(limits if limits is not None else DEFAULT_LIMITS, "the manifests")
        items: list[tuple[Manifest, str]] = []
        for source in _as_sources(sources):
            if isinstance(source, Mapping):
                items.append((copy.deepcopy(dict(source)), f"object #{len(items) + 1}"))
            else:
                items.extend(_read_source(Path(source), budget))
        crd_scopes = {
            (str(_get(o, "spec", "group") or ""), str(_get(o, "spec", "names", "kind") or "")): str(
                _get(o, "spec", "scope") or "Namespaced"
            )
            for o, _ in items
            if isinstance(o, dict) and o.get("kind") == "CustomResourceDefinition"
        }
        objects: list[Manifest] = []
        where_of: dict[tuple[str, str, str, str], str] = {}
        for obj, where in items:
            ref = _validate(obj, where)
            cluster_scoped = _cluster_scoped(ref.group, ref.kind, crd_scopes)
            meta = obj["metadata"]
            if cluster_scoped and meta.get("namespace"):
                del meta["namespace"]
            elif not cluster_scoped and not meta.get("namespace"):
                if namespace is None:
                    raise BundleError(
                        f"{where}: {ref.kind} {ref.name} has no metadata.namespace.",
                        hint="Pass namespace=... (CLI: -n NAMESPACE) for objects without one.",
                    )
                meta["namespace"] = namespace
            ref = ObjectRef.from_obj(obj)
            if ref.key in where_of:
                raise BundleError(f"{where}: {ref} is also defined in {where_of[ref.key]}.")
            where_of[ref.key] = where
            objects.append(obj)
        return cls(objects)

    # -- access ---------------------------------------------------------------------------------------

    def _read_all(self, tree: SafeTree) -> list[Manifest]:
        """Read every object of a lazy bundle from ``tree`` (once)."""
        with self._lock:
            if self._objects is None:
                assert self._entries is not None
                cipher = _open_cipher(self.meta, self._key)
                self._objects = [_read_entry(tree, e, cipher) for e in self._entries]
            return self._objects

    def _materialize(self) -> list[Manifest]:
        if self._objects is not None:
            return self._objects
        assert self.path is not None
        with _open_tree(self.path, self._limits) as tree:  # a bundle this process wrote (BundleWriter.commit)
            return self._read_all(tree)

    @property
    def objects(self) -> list[Manifest]:
        """The manifests, in a stable order (read from disk and verified on first access if needed)."""
        return self._materialize()

    @property
    def refs(self) -> list[ObjectRef]:
        """The references of the objects, in the same order (cheap: no object is read)."""
        return list(self._refs)

    def __iter__(self) -> Iterator[Manifest]:
        return iter(self.objects)

    def __len__(self) -> int:
        return len(self._refs)

    @property
    def namespaced_objects(self) -> list[Manifest]:
        """Objects with a namespace."""
        return [o for r, o in zip(self._refs, self.objects, strict=True) if r.namespace]

    @property
    def cluster_objects(self) -> list[Manifest]:
        """Cluster-scoped objects (Namespaces, CRDs, StorageClasses, PersistentVolumes, ...)."""
        return [o for r, o in zip(self._refs, self.objects, strict=True) if not r.namespace]

    def get(self, kind: str, name: str, namespace: str | None = None, group: str | None = None) -> Manifest | None:
        """The object of this kind and name, or ``None``.

        ``namespace=None`` matches any namespace (and cluster-scoped objects), ``group=None`` any group;
        when that leaves more than one object a :class:`BundleError` asks for the namespace or group.
        """
        objects = self.objects
        if self._index is None:
            index: dict[tuple[str, str], list[int]] = {}
            for i, ref in enumerate(self._refs):
                index.setdefault((ref.kind, ref.name), []).append(i)
            self._index = index
        hits = [
            i
            for i in self._index.get((kind, name), ())
            if (namespace is None or self._refs[i].namespace == namespace)
            and (group is None or self._refs[i].group == group)
        ]
        if len(hits) > 1:
            where = ", ".join(str(self._refs[i]) for i in hits)
            raise BundleError(
                f"{kind} {name} is ambiguous in this bundle ({where}).", hint="Pass namespace= or group=."
            )
        return objects[hits[0]] if hits else None

    # -- derivation and persistence --------------------------------------------------------------------

    def evolve(self, objects: Iterable[Manifest] | None = None, **meta_updates: Any) -> Bundle:
        """A new in-memory bundle: these objects (default: the same ones) and the same meta plus updates."""
        meta = copy.deepcopy(self.meta)
        meta.update(meta_updates)
        new = Bundle(self.objects if objects is None else objects, meta=meta)
        new._key = self._key
        return new

    def save(self, path: str | Path, *, key: str | bytes | None = None) -> Bundle:
        """Write the bundle to a directory and return the saved bundle.

        ``path`` must be new, empty, or hold a bundle (whose object files are replaced; unrelated files
        such as ``.git`` are left alone).

        Args:
            path: the bundle directory.
            key: key to encrypt Secret values and annotations with; default: the key this bundle was loaded
                with, else ``$PORTKIT_BUNDLE_KEY``, else no encryption. Always written in the current format.
        """
        objects = self.objects
        with BundleWriter(path, key=key or self._key) as writer:
            for i, obj in enumerate(objects):
                writer.add(obj, where=f"object #{i + 1}")
            saved = writer.commit(self.meta)
        result = Bundle(objects, meta=saved.meta, path=saved.path)
        result._key = saved._key
        return result

    # -- rendering -------------------------------------------------------------------------------------

    def kind_counts(self) -> dict[str, int]:
        """Number of objects per ``Kind.group``, sorted by name."""
        counts = Counter(r.group_kind for r in self._refs)
        return dict(sorted(counts.items()))

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able summary: metadata, object counts and failures (no object content)."""
        out: dict[str, Any] = {"path": str(self.path) if self.path else None}
        out.update(copy.deepcopy(self.meta))
        out["objects"] = len(self)
        out["cluster_objects"] = sum(1 for r in self._refs if not r.namespace)
        out["kinds"] = self.kind_counts()
        return json.loads(json.dumps(out, default=str))  # type: ignore[no-any-return]

    def _source_text(self) -> str:
        source = self.meta.get("source") or {}
        parts = [str(source.get(k)) for k in ("provider", "server_version") if source.get(k)]
        return " ".join(parts)

    def __repr__(self) -> str:
        namespaces = ",".join(self.meta.get("namespaces") or []) or "-"
        parts = [f"{len(self)} objects", f"namespaces={namespaces}"]
        if self._source_text():
            parts.append(f"source={self._source_text()}")
        if self.meta.get("failures"):
            parts.append(f"failures={len(self.meta['failures'])}")
        if self.path:
            parts.append(f"path={self.path}")
        return f"<Bundle {' '.join(parts)}>"

    def _count_rows(self) -> list[tuple[str, str, int]]:
        counts = Counter((r.namespace or "(cluster)", r.group_kind) for r in self._refs)
        return [(ns, kind, n) for (ns, kind), n in sorted(counts.items())]

    def _failure_rows(self) -> list[tuple[str, str, str]]:
        rows = []
        for f in self.meta.get("failures") or []:
            what = f.get("kind") or f.get("resource") or "?"
            if f.get("group"):
                what = f"{what}.{f['group']}"
            rows.append((what, f.get("namespace") or "(cluster)", str(f.get("message") or f.get("reason") or "")))
        return rows

    def to_text(self) -> str:
        """A terminal rendering: summary line, objects per namespace and kind, failures."""
        lines = [repr(self), text_table(["namespace", "kind", "objects"], self._count_rows(), max_rows=200)]
        if self._failure_rows():
            lines.append("Could not be read:")
            lines.append(text_table(["kind", "namespace", "error"], self._failure_rows()))
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        html = html_table(["namespace", "kind", "objects"], self._count_rows(), title=repr(self))
        if self._failure_rows():
            html += html_table(["kind", "namespace", "error"], self._failure_rows(), title="Could not be read")
        return html


def upgrade(path: str | Path, *, key: str | bytes | None = None) -> Bundle:
    """Rewrite a bundle directory in place in the current format and return it.

    A format-1 bundle with encrypted Secrets is decrypted with ``key`` (default ``$PORTKIT_BUNDLE_KEY``)
    and written again as format 2: every value of data, stringData and annotations encrypted with
    AES-256-GCM, bound to its object and field. The same key works for both formats. A bundle already in the
    current format is rewritten unchanged (except for fresh ciphertexts).

    Raises:
        BundleError: the bundle cannot be read (see :meth:`Bundle.load`), e.g. it is encrypted and no key
            or the wrong key was given.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", BundleFormatWarning)  # upgrading is what the warning asks for
        bundle = Bundle.load(path, key=key)
    return bundle.save(path, key=key)


# ---------------------------------------------------------------------------------------- from_manifests


def _get(obj: Mapping[str, Any], *path: str) -> Any:
    cur: Any = obj
    for step in path:
        if not isinstance(cur, Mapping):
            return None
        cur = cur.get(step)
    return cur


def _cluster_scoped(group: str, kind: str, crd_scopes: Mapping[tuple[str, str], str]) -> bool:
    if (group, kind) in CLUSTER_SCOPED_KINDS:
        return True
    if (group, kind) in crd_scopes:
        return crd_scopes[(group, kind)] == "Cluster"
    return group not in ("", "apps", "batch") and kind.startswith("Cluster")


def _as_sources(
    sources: str | Path | Mapping[str, Any] | Iterable[str | Path | Mapping[str, Any]],
) -> list[str | Path | Mapping[str, Any]]:
    if isinstance(sources, str | Path | Mapping):
        return [sources]
    return list(sources)


def _read_source(path: Path, budget: Budget) -> list[tuple[Manifest, str]]:
    try:
        is_dir = path.is_dir()
        exists = is_dir or path.exists()
    except (OSError, ValueError):
        exists = is_dir = False
    if is_dir:
        if _is_bundle_dir(path):
            bundle = Bundle.load(path, limits=budget.limits)
            return [(o, f"{path / object_path(r)}") for r, o in zip(bundle._refs, bundle.objects, strict=True)]
        items: list[tuple[Manifest, str]] = []
        real_root = os.path.realpath(path)
        with _open_tree(path, budget.limits) as tree:
            tree.budget = budget
            for rel, entry in tree.walk():
                if not rel.endswith((".yaml", ".yml", ".json")):
                    continue
                where = tree.where(rel)
                if entry.is_symlink():  # followed only when it stays inside the directory
                    target = os.path.realpath(path / rel)
                    if os.path.commonpath([real_root, target]) != real_root:
                        raise UnsafeFileError(
                            f"{where} is a symbolic link to {target}, outside {path}; refusing to follow it.",
                            hint="Copy the file into the directory, or name it on its own.",
                        )
                    data = _read_named(Path(where), budget)
                else:
                    try:
                        data, _ = tree.read(rel)
                    except FileNotFoundError:
                        continue  # removed while we walked
                items.extend(_parse_file(data, Path(where), budget.limits))
        return items
    if not exists:
        raise BundleError(f"Manifest file {path} does not exist.")
    return _parse_file(_read_named(path, budget), path, budget.limits)


def _read_named(path: Path, budget: Budget) -> bytes:
    try:
        data, _ = read_user_file(path, budget)
    except FileNotFoundError:
        raise BundleError(f"Manifest file {path} does not exist.") from None
    return data


def _parse_file(data: bytes, path: Path, limits: ReadLimits) -> list[tuple[Manifest, str]]:
    if path.suffix == ".json":
        docs = [load_json(data, where=str(path), limits=limits)]
    else:
        docs = load_yaml_documents(data, where=str(path), limits=limits)
    items: list[tuple[Manifest, str]] = []
    for n, doc in enumerate(docs, start=1):
        where = f"{path} (document {n})" if len(docs) > 1 else str(path)
        if doc is None:
            continue
        if isinstance(doc, dict) and str(doc.get("apiVersion") or "").startswith("kustomize.config.k8s.io/"):
            continue
        if isinstance(doc, dict) and str(doc.get("kind") or "").endswith("List") and isinstance(doc.get("items"), list):
            items.extend((item, f"{where} item {i}") for i, item in enumerate(doc["items"], start=1))
            continue
        items.append((doc, where))
    return items
