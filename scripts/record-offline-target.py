#!/usr/bin/env python3
"""Record the IONOS-looking target of the demo for ``portkit demo --offline`` (run once; commit the result).

Starts a real local cluster that looks like IONOS (``LocalCluster(provider="ionos")``: the ionos profile's
StorageClasses and node labels, kwok nodes), installs what the demo's target platform team installs
(``portkit/demo_data/shop-eks/target-platform``: the nginx IngressClass, the shop's PriorityClass), records
its API surface with :func:`portkit.recording.record_target` and writes it to
``portkit/demo_data/recorded/ionos-local.json`` (or the path given). Needs the local-cluster binaries
(``python -m portkit.testing.binaries``) and the ``[local]`` extra.

    .venv/bin/python scripts/record-offline-target.py [OUT.json]
"""

from __future__ import annotations

import sys
from pathlib import Path

from portkit.demo_data import RECORDED_IONOS, SHOP
from portkit.recording import record_target
from portkit.testing import LocalCluster
from portkit.testing.binaries import KUBERNETES_VERSION

DESCRIPTION = (
    "a real local kube-apiserver made to look like IONOS by portkit's ionos profile (its StorageClasses and "
    "node labels), with the demo's target platform installed (IngressClass nginx, PriorityClass shop-critical); "
    "not IONOS's own control plane"
)


def main(argv: list[str]) -> int:
    """Record and write; prints the path and what was recorded."""
    out = Path(argv[0]) if argv else RECORDED_IONOS
    with LocalCluster(name="ionos-recording", provider="ionos") as lc:
        lc.apply(SHOP / "target-platform")
        recording = record_target(lc.cluster(), name="ionos-local", description=DESCRIPTION)
    path = recording.save(out)
    print(f"recorded {recording.name!r} (kube-apiserver {KUBERNETES_VERSION}) into {path}:")
    for api_path, body in sorted(recording.responses.items()):
        if isinstance(body, dict) and body.get("kind", "").endswith("List") and api_path not in ("/api", "/apis"):
            print(f"  {api_path}: {len(body.get('items') or ())} objects")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
