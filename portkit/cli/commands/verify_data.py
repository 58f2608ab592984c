"""``portkit verify-data``: compare the files of PersistentVolumeClaims in two clusters."""

from __future__ import annotations

import argparse

from portkit.cli._common import (
    EXIT_FAILED,
    EXIT_OK,
    Subparsers,
    add_kube_flags,
    add_observe_flags,
    add_output_flag,
    add_timeout_flag,
    connect,
    emit,
    progress,
)


def register(sub: Subparsers) -> None:
    """Add ``verify-data``."""
    p: argparse.ArgumentParser = sub.add_parser(
        "verify-data",
        help="prove the volume data arrived: compare every claim's files in source and target",
        description="For every PersistentVolumeClaim in the namespaces, start a short-lived read-only checker pod on "
        "each side (no service-account token, no privileges but reading files) that lists every file with its "
        "SHA-256, then compare: files, bytes, tree digests, and every path that is missing, extra or different "
        "(content, size, type, symlink target, mode, owner). Exit 1 when anything differs.",
    )
    add_kube_flags(p, "from-")
    add_kube_flags(p, "to-")
    p.add_argument(
        "-n",
        "--namespace",
        dest="namespaces",
        action="append",
        required=True,
        metavar="NS",
        help="source namespace (repeat)",
    )
    p.add_argument(
        "--namespace-map",
        action="append",
        default=[],
        metavar="OLD=NEW",
        help="target namespace of a source namespace (repeatable)",
    )
    p.add_argument(
        "--claim",
        dest="claims",
        action="append",
        default=[],
        metavar="NAME",
        help="only this claim (NAME or NAMESPACE/NAME; repeat)",
    )
    p.add_argument(
        "--image",
        default=None,
        metavar="IMAGE",
        help="checker image (a busybox; default docker.io/library/busybox:1.36.1)",
    )
    add_timeout_flag(p, default=600, help="how long one checker pod may take")
    add_output_flag(p)
    add_observe_flags(p, serve=True)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Compare and print the result; exit 1 unless every claim is equal."""
    from portkit.replay import parse_namespace_map
    from portkit.volumes.verify import DEFAULT_IMAGE, verify_data

    namespace_map = parse_namespace_map(args.namespace_map, flag="--namespace-map")
    with progress("verify-data") as status, connect(args, "from-") as source, connect(args, "to-") as target:
        status.update(note="checker pods on both sides")
        result = verify_data(
            source,
            target,
            args.namespaces,
            namespace_map=namespace_map,
            claims=args.claims or None,
            image=args.image or DEFAULT_IMAGE,
            timeout=args.timeout,
        )
    emit(result, args.output_format)
    return EXIT_OK if result.ok else EXIT_FAILED
