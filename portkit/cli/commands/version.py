"""``portkit version``: the version of portkit and of what it runs on."""

from __future__ import annotations

import argparse
import platform
import sys

from portkit.cli._common import EXIT_OK, Subparsers, add_output_flag, emit

__all__ = ["register", "run", "version_info"]


def register(subparsers: Subparsers) -> None:
    """Add the ``version`` subcommand."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "version",
        help="print the version of portkit (and of Python and the Kubernetes client library)",
        description="Print the version of portkit, Python, the kubernetes client library and the platform. "
        "`portkit --version` prints only portkit's.",
    )
    add_output_flag(parser)
    parser.set_defaults(func=run)


class VersionInfo(dict[str, str]):
    """The versions, as a dict with a one-line text form."""

    def to_dict(self) -> dict[str, str]:
        """Plain dict form."""
        return dict(self)

    def to_text(self) -> str:
        """``portkit 0.1.0 (Python 3.11.7, kubernetes 37.0.3, Linux x86_64)``."""
        return (
            f"portkit {self['portkit']} (Python {self['python']}, kubernetes client {self['kubernetes_client']}, "
            f"{self['platform']})"
        )


def version_info() -> VersionInfo:
    """portkit's version and those of Python, the kubernetes client library and the platform."""
    from importlib.metadata import PackageNotFoundError, version

    from portkit._version import __version__

    try:
        kubernetes = version("kubernetes")
    except PackageNotFoundError:  # pragma: no cover - a dependency
        kubernetes = "not installed"
    return VersionInfo(
        portkit=__version__,
        python=platform.python_version(),
        kubernetes_client=kubernetes,
        platform=f"{platform.system()} {platform.machine()}",
        executable=sys.executable,
    )


def run(args: argparse.Namespace) -> int:
    """Print the versions."""
    emit(version_info(), args.output_format)
    return EXIT_OK
