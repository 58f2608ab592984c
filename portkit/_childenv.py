"""The environment portkit gives the processes it starts (the velero CLI).

A child gets portkit's own environment minus every ``PORTKIT_*`` variable — ``PORTKIT_BUNDLE_KEY``, the
bundle encryption key, among them — and minus the variables the caller names (velero: ``VELERO_NAMESPACE``,
whose value portkit always passes as a flag). Everything else passes unchanged, because the child may need
it: ``PATH``, ``HOME`` (velero's client config), ``KUBECONFIG`` (when no kubeconfig file is named),
proxy settings (``HTTPS_PROXY``, ``NO_PROXY``), and the cloud credentials kubeconfig exec plugins read
(``AWS_*``, ``GOOGLE_*``, ``AZURE_*``).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping

__all__ = ["DROPPED_PREFIX", "child_environment"]

#: Variables with this prefix are portkit's own and never passed to a child.
DROPPED_PREFIX = "PORTKIT_"


def child_environment(drop: Iterable[str] = (), *, base: Mapping[str, str] | None = None) -> dict[str, str]:
    """A copy of ``base`` (default ``os.environ``) for a child process: no ``PORTKIT_*`` variable, none of ``drop``."""
    dropped = set(drop)
    source = os.environ if base is None else base
    return {k: v for k, v in source.items() if not k.startswith(DROPPED_PREFIX) and k not in dropped}
