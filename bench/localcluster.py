"""Benchmark: warm start time of LocalCluster (one, and two in parallel) and memory per cluster.

Run: python bench/localcluster.py [--rounds 3]
Binaries must be built already (python -m portkit.testing.binaries); their build is not timed here.
Baseline for the ratio: the time kube-apiserver alone takes to become ready (measured in the same run,
inside the one-cluster start), i.e. what the rest of the cluster costs on top of the API server.
"""

from __future__ import annotations

import argparse
import statistics
import threading
import time

from portkit.testing import LocalCluster


def start_one(name: str, provider: str | None) -> tuple[float, dict[str, float], int]:
    t = time.monotonic()
    lc = LocalCluster(name=name, provider=provider, progress=lambda _m: None)
    lc.start()
    elapsed = time.monotonic() - t
    memory = sum(lc.memory().values())
    timings = dict(lc.timings)
    lc.stop()
    return elapsed, timings, memory


def start_two() -> float:
    pair = [
        LocalCluster(name="bench-a", provider="aws", progress=lambda _m: None),
        LocalCluster(name="bench-b", provider="ionos", progress=lambda _m: None),
    ]
    t = time.monotonic()
    threads = [threading.Thread(target=lc.start) for lc in pair]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    elapsed = time.monotonic() - t
    for lc in pair:
        lc.stop()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    ones, apiservers, mems, twos = [], [], [], []
    for i in range(args.rounds):
        elapsed, timings, memory = start_one(f"bench-{i}", "aws")
        ones.append(elapsed)
        apiservers.append(timings["apiserver"])
        mems.append(memory)
        twos.append(start_two())
    one, two, api = statistics.median(ones), statistics.median(twos), statistics.median(apiservers)
    print(
        f"one cluster (aws), warm start: median {one:.1f} s over {args.rounds} "
        f"(min {min(ones):.1f}, max {max(ones):.1f})"
    )
    print(f"  of which kube-apiserver to ready: median {api:.1f} s -> whole cluster / apiserver = {one / api:.2f}x")
    print(f"two clusters (aws + ionos) in parallel: median {two:.1f} s -> parallel / one = {two / one:.2f}x")
    print(f"memory per cluster (RSS of all components, after start): median {statistics.median(mems) / 2**20:.0f} MiB")


if __name__ == "__main__":
    main()
