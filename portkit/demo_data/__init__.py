"""Data the demo ships with the package, so ``pip install portkit`` then ``portkit demo`` works from a wheel.

- ``shop-eks/``: the sample application (also reachable as ``examples/shop-eks`` in a source checkout, a
  symbolic link to this directory: one copy).
- ``recorded/``: API surfaces recorded from real local clusters (see :mod:`portkit.recording` and
  ``scripts/record-offline-target.py``), for ``portkit demo --offline``.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["RECORDED_IONOS", "SHOP", "shop_dir"]

_HERE = Path(__file__).resolve().parent

#: The sample shop as it runs on AWS EKS (``app/``, ``source-platform/``, ``target-platform/``).
SHOP = _HERE / "shop-eks"

#: The IONOS-looking target of the demo, recorded (discovery and the cluster-scoped objects a plan reads).
RECORDED_IONOS = _HERE / "recorded" / "ionos-local.json"


def shop_dir() -> Path:
    """The sample shop's directory (raises when an incomplete installation lacks it)."""
    from portkit.errors import ConfigurationError

    if not (SHOP / "app").is_dir():
        raise ConfigurationError(
            f"The demo's sample application is missing from this installation ({SHOP}).",
            hint="Reinstall portkit (pip install --force-reinstall portkit); the wheel ships it as package data.",
        )
    return SHOP
