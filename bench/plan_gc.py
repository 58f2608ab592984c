"""Benchmark: what pausing the cyclic garbage collector during ``portkit.plan`` saves, in CPU time.

A no-op re-plan (every object already in the target, as applied) against the in-memory stand-in for the API
server of the unit tests (``tests/unit/test_replay_flow.py``): no network, so the figure is portkit's own CPU.
Each round plans once with the pause (``portkit._gc.gc_paused``, as ``plan`` does) and once with the
collector left running; ``--hold N`` keeps N other small containers alive in the process, as a notebook
kernel or a service would. Prints the median and minimum CPU seconds of each and their ratio.
Usage: ``python bench/plan_gc.py [--objects 20000] [--rounds 5] [--hold 300000]``
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import statistics
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "unit"))

from test_replay_flow import FakeCluster, cm, deployment, ns, secret

from portkit.replay import apply, plan

plan_module = importlib.import_module("portkit.replay.plan")  # the module (``portkit.replay.plan`` is the function)


@contextlib.contextmanager
def collector_on() -> Iterator[None]:
    yield


def workload(count: int) -> list[dict[str, Any]]:
    """``count`` ConfigMaps, Secrets and Deployments over 10 namespaces (and the namespaces)."""
    objs = [ns(f"ns{i}") for i in range(10)]
    for i in range(count):
        kind = i % 3
        obj = (
            cm(f"c{i}", a=str(i)) if kind == 0 else secret(f"s{i}", value=f"v{i}") if kind == 1 else deployment(f"d{i}")
        )
        obj["metadata"]["namespace"] = f"ns{i % 10}"
        objs.append(obj)
    return objs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--objects", type=int, default=20000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--hold", type=int, default=0, help="other containers kept alive in the process")
    args = parser.parse_args()
    objs = workload(args.objects)
    fake = FakeCluster()
    apply(plan(objs, fake))  # type: ignore[arg-type]
    held = [{"k": [i, {"x": i}]} for i in range(args.hold)]
    paused = plan_module.gc_paused
    seconds: dict[str, list[float]] = {"paused": [], "collector on": []}
    for _ in range(args.rounds):
        for mode, pause in (("paused", paused), ("collector on", collector_on)):
            plan_module.gc_paused = pause
            started = time.process_time()
            result = plan(objs, fake)  # type: ignore[arg-type]
            seconds[mode].append(time.process_time() - started)
            assert result.counts()["unchanged"] == len(objs), result.counts()
    plan_module.gc_paused = paused
    for mode, values in seconds.items():
        print(f"{mode:13s} plan of {len(objs)} objects: median {statistics.median(values):.3f} s CPU, "
              f"min {min(values):.3f} s")  # fmt: skip
    ratio = statistics.median(seconds["collector on"]) / statistics.median(seconds["paused"])
    print(f"collector on / paused: {ratio:.2f}  (holding {len(held)} other containers)")


if __name__ == "__main__":
    main()
