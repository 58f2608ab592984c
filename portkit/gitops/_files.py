"""The files of a repository as portkit sees them: YAML and JSON files with their text and parsed
documents, Helm charts, and what was left alone and why."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs

from portkit._yaml import load_yaml_documents
from portkit.errors import BundleError, ConfigurationError

__all__ = ["MANIFEST_SUFFIXES", "Repo", "SourceFile", "is_manifest", "object_key"]

MANIFEST_SUFFIXES = (".yaml", ".yml", ".json")
#: larger files are left alone (a generated dump, not something a person reviews)
MAX_FILE_BYTES = 32 * 1024 * 1024


@attrs.define
class SourceFile:
    """One YAML or JSON file: its path relative to the repository root (``/``-separated), its text and
    its parsed documents (PyYAML with timestamps kept as strings, as everywhere in portkit)."""

    rel: str
    text: str
    docs: list[Any]
    is_json: bool = False
    mode: int = 0o644
    #: the file on disk has CRLF line endings (``text`` has LF; they are put back when it is written)
    crlf: bool = False

    @classmethod
    def parse(cls, rel: str, text: str, *, mode: int = 0o644, crlf: bool = False) -> SourceFile:
        """Parse ``text``; BundleError (naming the file) when it is not valid YAML/JSON."""
        is_json = rel.endswith(".json")
        if is_json:
            try:
                docs = [json.loads(text)]
            except ValueError as exc:
                raise BundleError(f"{rel}: cannot parse JSON: {exc}.") from None
        else:
            docs = load_yaml_documents(text, where=rel)
        return cls(rel, text, docs, is_json, mode, crlf)


def is_manifest(doc: Any) -> bool:
    """A document that is a Kubernetes object: apiVersion, kind and metadata.name are strings."""
    if not isinstance(doc, dict):
        return False
    meta = doc.get("metadata")
    return (
        isinstance(doc.get("apiVersion"), str)
        and isinstance(doc.get("kind"), str)
        and isinstance(meta, dict)
        and isinstance(meta.get("name"), str)
        and bool(meta.get("name"))
    )


def object_key(obj: dict[str, Any]) -> tuple[str, str, str, str]:
    """(group, kind, namespace, name) of a manifest."""
    api = str(obj.get("apiVersion") or "")
    meta = obj.get("metadata") or {}
    return (
        api.partition("/")[0] if "/" in api else "",
        str(obj.get("kind") or ""),
        str(meta.get("namespace") or ""),
        str(meta.get("name") or ""),
    )


@attrs.define
class Repo:
    """A directory of manifests: every YAML/JSON file in it (hidden entries and Helm charts left out)."""

    root: Path
    files: dict[str, SourceFile] = attrs.field(factory=dict)
    #: directories holding a Chart.yaml, relative to the root
    charts: list[str] = attrs.field(factory=list)
    #: (relative path, why it was left alone)
    skipped: list[tuple[str, str]] = attrs.field(factory=list)
    #: True when the input is one file rather than a directory
    single_file: bool = False

    @classmethod
    def read(cls, path: str | os.PathLike[str]) -> Repo:
        """Read a directory (recursively) or a single YAML/JSON file.

        Raises:
            ConfigurationError: the path does not exist or is not a directory or YAML/JSON file.
        """
        root = Path(path)
        if root.is_file() and not root.is_symlink():
            if root.suffix not in MANIFEST_SUFFIXES:
                raise ConfigurationError(
                    f"{root} is not a YAML or JSON file.", hint="Give a directory or a .yaml file."
                )
            repo = cls(root.parent, single_file=True)
            repo._add(root, root.name)
            return repo
        if not root.is_dir():
            raise ConfigurationError(
                f"{root} does not exist or is not a directory.",
                hint="Give the directory of a GitOps repository (or a YAML file).",
            )
        repo = cls(root)
        for file, rel in repo._walk():
            repo._add(file, rel)
        return repo

    def _walk(self) -> Iterator[tuple[Path, str]]:
        for dirpath, dirnames, filenames in os.walk(self.root, followlinks=False):
            here = Path(dirpath)
            rel_dir = here.relative_to(self.root).as_posix()
            rel_dir = "" if rel_dir == "." else rel_dir + "/"
            if "Chart.yaml" in filenames and rel_dir:
                self.charts.append(rel_dir.rstrip("/"))
                dirnames[:] = []
                continue
            kept = []
            for d in sorted(dirnames):
                if d.startswith("."):
                    continue
                if (here / d).is_symlink():
                    self.skipped.append((rel_dir + d, "a symbolic link (not followed)"))
                    continue
                kept.append(d)
            dirnames[:] = kept
            for name in sorted(filenames):
                if name.startswith(".") or not (name.endswith(MANIFEST_SUFFIXES) or name == "Kustomization"):
                    continue
                file = here / name
                if file.is_symlink():
                    self.skipped.append((rel_dir + name, "a symbolic link (not followed)"))
                    continue
                yield file, rel_dir + name

    def _add(self, file: Path, rel: str) -> None:
        try:
            st = file.stat()
            if st.st_size > MAX_FILE_BYTES:
                self.skipped.append((rel, f"larger than {MAX_FILE_BYTES // 2**20} MiB"))
                return
            raw = file.read_bytes()
        except OSError as exc:
            self.skipped.append((rel, f"cannot be read: {exc.strerror}"))
            return
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            self.skipped.append((rel, "not UTF-8 text"))
            return
        crlf = "\r\n" in text
        mixed = crlf and text.count("\n") != text.count("\r\n")
        if crlf:
            text = text.replace("\r\n", "\n")
        if "\r" in text or mixed:
            self.skipped.append((rel, "mixes line endings (convert it to LF or CRLF first)"))
            return
        try:
            self.files[rel] = SourceFile.parse(rel, text, mode=st.st_mode & 0o7777, crlf=crlf)
        except BundleError as exc:
            self.skipped.append((rel, exc.message.removeprefix(f"{rel}: ").rstrip(".")))
