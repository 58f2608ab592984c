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
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import json
import os
import re
import secrets
import shutil
import threading
import warnings
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from importlib import metadata as _metadata
from pathlib import Path
from typing import Any

import attrs
import yaml

from portkit._cipher import (
    KEY_ENV,
    SCHEME,
    Cipher,
    LegacyFernetCipher,
    generate_key,
    refuse_ciphertext,
    resolve_key,
)
from portkit._yaml import Dumper, dump_yaml, load_yaml_documents
from portkit.display import html_table, text_table
from portkit.errors import BundleError
from portkit.model import CLUSTER_SCOPED_KINDS, ObjectRef, split_api_version

__all__ = [
    "CLUSTER_DIR",
    "FORMAT_VERSION",
    "KEY_ENV",
    "MANIFEST",
    "Bundle",
    "BundleFormatWarning",
    "BundleWriter",
    "dump_yaml",
    "generate_key",
    "load_yaml_documents",
    "object_path",
    "upgrade",
]

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


def _validate(obj: Any, where: str) -> ObjectRef:
    """Check the identity fields of a manifest; BundleError naming ``where`` when one is missing."""
    if not isinstance(obj, dict):
        raise BundleError(f"{where}: expected a Kubernetes object (a mapping), found {type(obj).__name__}.")
    meta = obj.get("metadata")
    name = meta.get("name") if isinstance(meta, dict) else None
    what = f"{obj.get('kind') or 'object'} {name or ''}".strip()
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
    for label, value in (("name", name), ("namespace", namespace or "")):
        if "/" in value or value in (".", ".."):
            raise BundleError(f"{where}: {what} has an invalid metadata.{label} {value!r}.")
    return ObjectRef.from_obj(obj)


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
        try:
            ref = data["ref"]
            group, version = split_api_version(str(ref["apiVersion"]))
            entry = cls(
                ref=ObjectRef(group, version, str(ref["kind"]), str(ref.get("namespace") or ""), str(ref["name"])),
                file=str(data["file"]),
                sha256=str(data["sha256"]),
                encrypted=bool(data.get("encrypted", False)),
            )
        except (KeyError, TypeError, AttributeError):
            raise BundleError(f"{where}: an object entry is malformed.", hint="Regenerate the bundle.") from None
        if entry.file.startswith("/") or ".." in entry.file.split("/"):
            raise BundleError(f"{where}: entry file {entry.file!r} points outside the bundle.")
        return entry


def _read_entry(root: Path, entry: _Entry, cipher: Cipher | LegacyFernetCipher | None) -> Manifest:
    path = root / entry.file
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise BundleError(
            f"Bundle file {path} is missing (listed in {root / MANIFEST}).", hint="Restore it or re-export."
        ) from None
    except OSError as exc:
        raise BundleError(f"Cannot read bundle file {path}: {exc.strerror}.") from None
    if hashlib.sha256(data).hexdigest() != entry.sha256:
        raise BundleError(
            f"Bundle file {path} was changed after it was written (checksum mismatch).",
            hint="Restore it, re-export, or build a bundle from edited files with Bundle.from_manifests().",
        )
    docs = load_yaml_documents(data, where=str(path))
    if len(docs) != 1:
        raise BundleError(f"Bundle file {path} must hold exactly one object, found {len(docs)}.")
    obj = docs[0]
    ref = _validate(obj, str(path))
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


def _read_manifest(root: Path) -> dict[str, Any]:
    path = root / MANIFEST
    if not root.is_dir():
        raise BundleError(f"Bundle directory {root} does not exist.", hint="Check the path or export first.")
    try:
        text = path.read_bytes()
    except FileNotFoundError:
        raise BundleError(
            f"{path} is missing: {root} is not a portkit bundle.",
            hint="Export one with portkit.export(), or read plain YAML with Bundle.from_manifests().",
        ) from None
    docs = load_yaml_documents(text, where=str(path))
    data = docs[0] if len(docs) == 1 else None
    if not isinstance(data, dict) or "format" not in data or not isinstance(data.get("objects"), list):
        raise BundleError(f"{path} is not a portkit bundle manifest.")
    fmt = data["format"]
    if not isinstance(fmt, int) or fmt < 1:
        raise BundleError(f"{path} has an unknown format version {fmt!r}.")
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


def _is_bundle_dir(root: Path) -> bool:
    try:
        _read_manifest(root)
    except BundleError:
        return False
    return True


def _visible_files(root: Path) -> Iterator[Path]:
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            if not name.startswith("."):
                yield Path(dirpath) / name


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
    but a small index; :meth:`commit` moves them into ``path`` (replacing the files of a bundle already
    there, leaving unrelated files such as ``.git`` alone) and writes ``manifest.yaml`` last.

    Args:
        path: the bundle directory: new, empty, or holding an earlier bundle.
        key: key to encrypt Secret values and annotations with (default: ``$PORTKIT_BUNDLE_KEY`` if set).
    """

    def __init__(self, path: str | Path, *, key: str | bytes | None = None) -> None:
        self.root = Path(path)
        _check_target(self.root)
        self._key = _resolve_key(key)
        self._cipher = Cipher(self._key) if self._key else None
        self.root.parent.mkdir(parents=True, exist_ok=True)
        self._staging = self.root.parent / f".{self.root.name}.portkit-{secrets.token_hex(6)}"
        self._staging.mkdir()  # mode from the umask, like any directory the user makes
        self._dirs: set[Path] = set()
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
        target = self._staging / file
        parent = target.parent
        if parent not in self._dirs:
            parent.mkdir(parents=True, exist_ok=True)
            self._dirs.add(parent)
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600 if secret else 0o644)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        entry = _Entry(ref=ref, file=file, sha256=hashlib.sha256(data).hexdigest(), encrypted=encrypted)
        with self._lock:
            self._entries[ref.key] = entry
        return ref

    def commit(self, meta: Mapping[str, Any]) -> Bundle:
        """Move the written objects into place, write ``manifest.yaml`` and return the (lazy) bundle."""
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
        (self._staging / MANIFEST).write_bytes(_manifest_bytes(full_meta, entries))
        _check_target(self.root)
        if not self.root.exists():
            os.rename(self._staging, self.root)  # a new bundle: one rename
        elif not any(self.root.iterdir()):
            self.root.rmdir()
            os.rename(self._staging, self.root)
        else:
            self._move_into_existing(entries)
        self._closed = True
        return Bundle._lazy(self.root, full_meta, entries, self._key)

    def _move_into_existing(self, entries: list[_Entry]) -> None:
        """Replace the bundle in ``root`` file by file, leaving files it does not own (``.git``) alone."""
        old_files: set[str] = set()
        if (self.root / MANIFEST).exists():
            old = _read_manifest(self.root)
            old_files = {str(e.get("file")) for e in old["objects"] if isinstance(e, dict)}
            (self.root / MANIFEST).unlink()
        new_files = {e.file for e in entries}
        for stale in sorted(old_files - new_files):
            if stale.startswith("/") or ".." in stale.split("/"):
                continue
            (self.root / stale).unlink(missing_ok=True)
        made: set[Path] = set()
        for entry in entries:
            dest = self.root / entry.file
            if dest.parent not in made:
                dest.parent.mkdir(parents=True, exist_ok=True)
                made.add(dest.parent)
            os.replace(self._staging / entry.file, dest)
        os.replace(self._staging / MANIFEST, self.root / MANIFEST)
        _prune_empty_dirs(self.root)
        shutil.rmtree(self._staging, ignore_errors=True)

    def abort(self) -> None:
        """Throw away what was written (the target directory is left as it was)."""
        shutil.rmtree(self._staging, ignore_errors=True)
        self._closed = True


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


def _check_target(root: Path) -> None:
    if not root.exists():
        return
    if not root.is_dir():
        raise BundleError(f"{root} exists and is not a directory.", hint="Choose a directory for the bundle.")
    visible = [p for p in root.iterdir() if not p.name.startswith(".")]
    if visible and not _is_bundle_dir(root):
        raise BundleError(
            f"{root} is not empty and holds no portkit bundle; refusing to write into it.",
            hint="Choose a new or empty directory.",
        )


def _prune_empty_dirs(root: Path) -> None:
    for dirpath, dirnames, filenames in os.walk(root, topdown=False):
        path = Path(dirpath)
        if path == root or any(part.startswith(".") for part in path.relative_to(root).parts):
            continue
        if not filenames and not any((path / d).exists() for d in dirnames):
            with contextlib.suppress(OSError):
                path.rmdir()


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
        self._lock = threading.Lock()
        self._index: dict[tuple[str, str], list[int]] | None = None

    # -- construction -------------------------------------------------------------------------------

    @classmethod
    def _lazy(cls, root: Path, meta: dict[str, Any], entries: list[_Entry], key: str | bytes | None) -> Bundle:
        """A bundle on disk whose objects are read (and verified) on first access."""
        bundle = cls.__new__(cls)
        bundle.meta = meta
        bundle.path = root
        bundle._refs = [e.ref for e in entries]
        bundle._objects = None
        bundle._entries = entries
        bundle._key = key
        bundle._lock = threading.Lock()
        bundle._index = None
        return bundle

    @classmethod
    def load(cls, path: str | Path, *, key: str | bytes | None = None) -> Bundle:
        """Read a bundle directory, checking its format version and the checksum of every file.

        Args:
            path: the bundle directory.
            key: key of a bundle with encrypted Secrets (default: ``$PORTKIT_BUNDLE_KEY``).

        Raises:
            BundleError: naming the file that is missing, corrupt, edited, unlisted, or of another format; an
                encrypted bundle read without its key, with another key, with a ciphertext moved to another
                object or field, with a plain value or a missing ``encrypted`` flag.

        Warns:
            BundleFormatWarning: the bundle is format 1 (Fernet); saving it writes format 2.
        """
        root = Path(path)
        manifest = _read_manifest(root)
        where = str(root / MANIFEST)
        entries = [_Entry.from_manifest(e, where) for e in manifest["objects"]]
        listed = {e.file for e in entries}
        if len(listed) != len(entries) or len({e.ref.key for e in entries}) != len(entries):
            raise BundleError(f"{where} lists the same file or object twice.", hint="Regenerate the bundle.")
        for file in _visible_files(root):
            rel = file.relative_to(root).as_posix()
            if rel != MANIFEST and file.suffix in (".yaml", ".yml") and rel not in listed:
                raise BundleError(
                    f"Bundle file {file} is not listed in {MANIFEST}.",
                    hint="Remove it, or build a bundle from edited files with Bundle.from_manifests().",
                )
        scheme = _encryption_scheme(manifest, entries, where)
        if scheme == "fernet":
            warnings.warn(
                BundleFormatWarning(
                    f"{root} is bundle format 1: its Secret values are encrypted with Fernet, not bound to their "
                    "objects, and its Secret annotations are not encrypted. Save it (or run `portkit bundle upgrade "
                    f"{root} --key-file FILE`) to rewrite it as format {FORMAT_VERSION}."
                ),
                stacklevel=2,
            )
        meta = {k: v for k, v in manifest.items() if k != "objects"}
        bundle = cls._lazy(root, _ordered_meta(meta), entries, _resolve_key(key))
        bundle._materialize()
        return bundle

    @classmethod
    def from_manifests(
        cls,
        sources: str | Path | Mapping[str, Any] | Iterable[str | Path | Mapping[str, Any]],
        *,
        namespace: str | None = None,
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

        Raises:
            BundleError: a file is missing or unreadable, or an object lacks apiVersion, kind or
                metadata.name, or two objects are the same; the message names the file and document.
        """
        items: list[tuple[Manifest, str]] = []
        for source in _as_sources(sources):
            if isinstance(source, Mapping):
                items.append((copy.deepcopy(dict(source)), f"object #{len(items) + 1}"))
            else:
                items.extend(_read_source(Path(source)))
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

    def _materialize(self) -> list[Manifest]:
        with self._lock:
            if self._objects is None:
                assert self.path is not None and self._entries is not None
                cipher = _open_cipher(self.meta, self._key)
                self._objects = [_read_entry(self.path, e, cipher) for e in self._entries]
            return self._objects

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


def _read_source(path: Path) -> list[tuple[Manifest, str]]:
    if path.is_dir():
        if _is_bundle_dir(path):
            bundle = Bundle.load(path)
            return [(o, f"{path / object_path(r)}") for r, o in zip(bundle._refs, bundle.objects, strict=True)]
        items: list[tuple[Manifest, str]] = []
        for file in _visible_files(path):
            if file.suffix in (".yaml", ".yml", ".json"):
                items.extend(_read_file(file))
        return items
    if not path.exists():
        raise BundleError(f"Manifest file {path} does not exist.")
    return _read_file(path)


def _read_file(path: Path) -> list[tuple[Manifest, str]]:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise BundleError(f"Cannot read manifest file {path}: {exc.strerror}.") from None
    if path.suffix == ".json":
        try:
            docs = [json.loads(data)]
        except ValueError as exc:
            raise BundleError(f"{path}: cannot parse JSON: {exc}.") from None
    else:
        docs = load_yaml_documents(data, where=str(path))
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
