"""Benchmark: the full aws → ionos translation chain, in objects per second.

Builds a realistic workload by repeating the golden "shop" application (Deployments, StatefulSets,
CronJobs, PVCs, LoadBalancer Services, ALB Ingresses, IRSA ServiceAccounts, ConfigMaps, Secrets, ...)
across namespaces, then times:

* baseline: ``copy.deepcopy`` of every object (the irreducible cost of producing new objects), and
* translate: ``portkit.translate(bundle, source="aws", target="ionos", mappings=...)``, every translator on,
  Bundle construction of the result included.

Prints objects/s for both and the ratio translate/baseline (higher is better), best of ``--repeat`` runs,
measured in CPU time of this process (one core; other load on the machine does not count).
Usage: ``python bench/translate.py [--objects 20000] [--repeat 3] [--profile]``
"""

from __future__ import annotations

import argparse
import copy
import time
from pathlib import Path
from typing import Any

from portkit.bundle import Bundle
from portkit.translate import translate

APP = Path(__file__).resolve().parents[1] / "tests" / "unit" / "golden" / "apps" / "aws-shop.yaml"
MAPPINGS = {"images": {"123456789012.dkr.ecr.eu-central-1.amazonaws.com/": "shop.cr.de-fra.ionos.com/"}}


def workload(count: int) -> list[dict[str, Any]]:
    """About ``count`` objects: the shop app's namespaced objects repeated in many namespaces."""
    app = Bundle.from_manifests(APP).objects
    cluster = [o for o in app if not o["metadata"].get("namespace")]
    namespaced = [o for o in app if o["metadata"].get("namespace")]
    objs: list[dict[str, Any]] = [copy.deepcopy(o) for o in cluster]
    i = 0
    while len(objs) < count:
        ns = f"shop-{i // 50}"
        for o in namespaced:
            c = copy.deepcopy(o)
            c["metadata"]["namespace"] = ns
            c["metadata"]["name"] = f"{c['metadata']['name']}-{i}"
            objs.append(c)
        i += 1
    return objs[:count]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--objects", type=int, default=20000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--profile", action="store_true", help="print a cProfile of one translation")
    args = parser.parse_args()
    objs = workload(args.objects)
    bundle = Bundle(objs, meta={"source": {"provider": "aws"}})
    base_best = tr_best = float("inf")
    result = None
    for _ in range(args.repeat):
        t0 = time.process_time()
        for o in objs:
            copy.deepcopy(o)
        t1 = time.process_time()
        result = translate(bundle, source="aws", target="ionos", mappings=MAPPINGS)
        t2 = time.process_time()
        base_best = min(base_best, t1 - t0)
        tr_best = min(tr_best, t2 - t1)
    assert result is not None
    n = len(objs)
    base_rate, tr_rate = n / base_best, n / tr_best
    print(f"objects: {n}  (changes {len(result.changes)}, warnings {len(result.warnings)}, "
          f"manual actions {len(result.manual_actions)}, out {len(result.bundle)})")  # fmt: skip
    print(f"baseline copy.deepcopy: {base_rate:,.0f} objects/s")
    print(f"translate aws->ionos:   {tr_rate:,.0f} objects/s")
    print(f"ratio translate/deepcopy: {tr_rate / base_rate:.2f}  (target: >= 20,000 objects/s)")
    if args.profile:
        import cProfile
        import pstats

        prof = cProfile.Profile()
        prof.enable()
        translate(bundle, source="aws", target="ionos", mappings=MAPPINGS)
        prof.disable()
        pstats.Stats(prof).sort_stats("cumulative").print_stats(25)


if __name__ == "__main__":
    main()
