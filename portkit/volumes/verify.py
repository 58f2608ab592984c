"""Data verification: compare the files of source and target PersistentVolumeClaims through checker pods."""

from __future__ import annotations

__all__ = ["DEFAULT_IMAGE"]

DEFAULT_IMAGE = "docker.io/library/busybox:1.36.1"
"""The checker pods' image: a widely available public busybox, fully qualified and pinned to a release."""
