"""Limits on untrusted input: how large a file, a bundle and a YAML/JSON document may be.

A bundle or a manifest file may come from anyone (a repository, a colleague, a CI artifact). portkit
reads such files the way a careful archiver does: regular files only, each and all of them together under a
size limit, YAML without alias bombs and nothing nested deeper than portkit's own code can walk. The
defaults fit every real Kubernetes workload by a wide margin (the API server stores at most ~1.5 MiB per
object); pass other limits where a bundle is read::

    from portkit.limits import ReadLimits
    bundle = portkit.Bundle.load("work/huge", limits=ReadLimits(max_total_bytes=8 * 2**30))

Going over a limit raises a :class:`~portkit.errors.BundleError` subclass naming the file:
:class:`~portkit.errors.FileTooLargeError` or :class:`~portkit.errors.DocumentTooComplexError`.
"""

from __future__ import annotations

import attrs

__all__ = ["DEFAULT_LIMITS", "ReadLimits"]

MiB = 2**20


def _positive(instance: object, attribute: attrs.Attribute[int], value: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ValueError(f"ReadLimits.{attribute.name} must be a positive integer, not {value!r}.")


@attrs.frozen
class ReadLimits:
    """How much untrusted input portkit accepts in one read.

    Args:
        max_file_bytes: largest single file (an object file, ``manifest.yaml``, a YAML/JSON manifest file,
            a rule file). Default 64 MiB.
        max_total_bytes: largest sum of all files read for one bundle (``Bundle.load``) or one
            ``Bundle.from_manifests`` call. Default 1 GiB (a 50,000-object export is about 40 MiB).
        max_depth: deepest nesting of mappings and sequences in one document. Default 128 (CRD schemas,
            the deepest real manifests, stay well under 64).
        max_alias_nodes: nodes that YAML aliases (``*name``) may add to one document when expanded
            (a "billion laughs" document adds billions). Default 200,000.
    """

    max_file_bytes: int = attrs.field(default=64 * MiB, validator=_positive)
    max_total_bytes: int = attrs.field(default=1024 * MiB, validator=_positive)
    max_depth: int = attrs.field(default=128, validator=_positive)
    max_alias_nodes: int = attrs.field(default=200_000, validator=_positive)


#: The limits used when none are given.
DEFAULT_LIMITS = ReadLimits()
