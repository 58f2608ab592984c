"""The input of commands that read manifests: bundle directories, YAML files or directories, and ``-`` (stdin).

``portkit lint DIR``, ``portkit lint -f a.yaml -f b.yaml`` and ``helm template ... | portkit lint - --to ionos``
all go through :func:`add_input_flags` and :func:`load_input`.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from pathlib import Path
from typing import Any

from portkit.cli._parser import add_check
from portkit.errors import ConfigurationError

__all__ = ["STDIN", "add_input_flags", "input_identity", "input_items", "load_input", "read_stdin_manifests"]

#: The input name meaning standard input.
STDIN = "-"


def add_input_flags(parser: argparse.ArgumentParser, *, what: str = "a bundle directory, YAML files or directories"
                    ) -> None:  # fmt: skip
    """The input: positional ``DIR|FILE|-`` (several allowed) and ``-f/--filename`` (repeatable, like kubectl);
    at least one is required. ``-`` reads YAML or JSON documents from stdin."""
    positional = parser.add_argument(
        "input", metavar="DIR|FILE|-", nargs="*", help=f"{what}; - reads manifests from stdin"
    )
    positional.required_after_parse = True  # type: ignore[attr-defined]  # one input, here or with -f
    parser.add_argument(
        "-f",
        "--filename",
        dest="filenames",
        action="append",
        default=[],
        metavar="DIR|FILE|-",
        help="input, as kubectl takes it (repeatable; the same as the positional input)",
    )
    add_check(parser, _need_input)


def _need_input(args: argparse.Namespace) -> str | None:
    items = input_items(args)
    if not items:
        return "give the input: a bundle directory, YAML files or directories, or - for stdin (-f works too)"
    if items.count(STDIN) > 1:
        return "stdin (-) can be read only once"
    return None


def input_items(args: argparse.Namespace) -> list[str]:
    """Every input given, positional and ``-f``, in order."""
    return [*(getattr(args, "input", None) or []), *(getattr(args, "filenames", None) or [])]


def read_stdin_manifests(stream: Any = None) -> list[dict[str, Any]]:
    """The objects in a YAML (or JSON) stream on stdin: documents, ``kind: List`` items flattened, empty
    documents and kustomize files left out. Non-objects are an error naming their document."""
    from portkit._yaml import load_yaml_documents
    from portkit.cli._progress import write_err

    source = stream if stream is not None else sys.stdin
    try:
        if source.isatty():
            write_err("portkit: reading manifests from stdin (end with Ctrl-D)")
    except (AttributeError, ValueError):
        pass
    raw = source.buffer.read() if hasattr(source, "buffer") else source.read()
    docs = load_yaml_documents(raw, where="stdin")
    objects: list[dict[str, Any]] = []
    for n, doc in enumerate(docs, start=1):
        if doc is None:
            continue
        if not isinstance(doc, dict):
            raise ConfigurationError(f"stdin (document {n}) is not a Kubernetes object but a {type(doc).__name__}.")
        if str(doc.get("apiVersion") or "").startswith("kustomize.config.k8s.io/"):
            continue
        if str(doc.get("kind") or "").endswith("List") and isinstance(doc.get("items"), list):
            objects.extend(item for item in doc["items"] if item is not None)
            continue
        objects.append(doc)
    if not objects:
        raise ConfigurationError("stdin holds no Kubernetes objects.", hint="Pipe YAML manifests into portkit.")
    return objects


def load_input(args: argparse.Namespace, *, key: str | None = None) -> Any:
    """The input as a Bundle: one bundle directory is loaded as a bundle (its meta and key kept); anything
    else (files, directories, stdin) is read as plain manifests (``-n`` names the namespace of objects
    that have none)."""
    from portkit.bundle import MANIFEST, Bundle

    items = input_items(args)
    for item in items:
        if item != STDIN and not Path(item).exists():
            raise ConfigurationError(f"{item} does not exist.", hint="Give a bundle directory, YAML files or -.")
    if len(items) == 1 and items[0] != STDIN and (Path(items[0]) / MANIFEST).is_file():
        return Bundle.load(items[0], key=key)
    sources: list[Any] = []
    for item in items:
        if item == STDIN:
            objects = read_stdin_manifests()
            refs = sorted(
                f"{o.get('apiVersion')}/{o.get('kind')}/{(o.get('metadata') or {}).get('namespace')}/"
                f"{(o.get('metadata') or {}).get('name')}"
                for o in objects
                if isinstance(o, dict)
            )
            args._stdin_sha256 = hashlib.sha256("\n".join(refs).encode()).hexdigest()
            sources.extend(objects)
        else:
            sources.append(item)
    namespace = getattr(args, "namespace", None)
    return Bundle.from_manifests(sources if len(sources) != 1 else sources[0], namespace=namespace)


def input_identity(args: argparse.Namespace) -> str:
    """A stable name of the input (resolved paths; for stdin, a digest of the objects' identities) —
    what per-input state such as apply's journal directory is keyed by."""
    parts = []
    for item in input_items(args):
        if item == STDIN:
            parts.append(f"stdin-{getattr(args, '_stdin_sha256', '')[:16]}")
        else:
            parts.append(str(Path(item).resolve()))
    return "|".join(parts)
