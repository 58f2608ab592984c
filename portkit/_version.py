"""The installed portkit version."""

from importlib.metadata import PackageNotFoundError, version

try:
    #: The installed version of portkit (PEP 440, from the package metadata; ``0.0.0+unknown`` when running from a
    #: source tree that is not installed).
    __version__ = version("portkit")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+unknown"
