"""Micro-benchmark: reading and writing a bundle on disk, no cluster needed.

Builds a bundle of about ``--objects`` objects (the golden "shop" application repeated across namespaces,
as ``bench/translate.py`` does, plus the ConfigMap/Secret/Service/Deployment/custom-resource mix of
``bench/export.py``), saves it to a temporary directory, then times, best of ``--repeat`` runs:

* ``Bundle.load(dir)``: manifest, every object file read, checksum-verified and parsed;
* ``Bundle.from_manifests(dir)`` on a copy without ``manifest.yaml`` (plain YAML, no checksums);
* ``bundle.save(dir)`` over the existing bundle.

Times are CPU time of this process (``time.process_time``: other load on the machine does not count) plus
wall time for reference. Usage: ``python bench/bundle_load.py [--objects 20000] [--repeat 3] [--profile]``.
The last line is a JSON summary.
"""

from __future__ import annotations

import argparse
import copy
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path[:0] = [str(Path(__file__).resolve().parent), str(Path(__file__).resolve().parents[1])]

from export import MIX, make_object  # noqa: E402  (bench/export.py: the export benchmark's objects)
from translate import workload  # noqa: E402

from portkit.bundle import MANIFEST, Bundle  # noqa: E402


def objects(count: int) -> list[dict[str, Any]]:
    """Half shop application objects, half the export benchmark's mix."""
    objs = workload(count // 2)
    i = 0
    while len(objs) < count:
        ns = f"mix-{i // 1000}"
        for kind, _share in MIX:
            objs.append(make_object(kind, ns, i))
            i += 1
    return objs[:count]


def timed(fn: Any, repeat: int) -> tuple[float, float]:
    """Best CPU and best wall seconds of ``repeat`` calls."""
    cpu = wall = float("inf")
    for _ in range(repeat):
        w0, c0 = time.perf_counter(), time.process_time()
        fn()
        cpu = min(cpu, time.process_time() - c0)
        wall = min(wall, time.perf_counter() - w0)
    return cpu, wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--objects", type=int, default=20000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--profile", action="store_true", help="print a cProfile of one Bundle.load")
    args = parser.parse_args()
    objs = objects(args.objects)
    with tempfile.TemporaryDirectory(prefix="portkit-bench-") as tmp:
        root = Path(tmp) / "bundle"
        plain = Path(tmp) / "plain"
        bundle = Bundle(copy.deepcopy(objs))
        bundle.save(root)
        shutil.copytree(root, plain)
        (plain / MANIFEST).unlink()
        size = sum(p.stat().st_size for p in root.rglob("*") if p.is_file())
        n = len(bundle)
        load_cpu, load_wall = timed(lambda: Bundle.load(root), args.repeat)
        plain_cpu, plain_wall = timed(lambda: Bundle.from_manifests(plain), args.repeat)
        save_cpu, save_wall = timed(lambda: bundle.save(root), args.repeat)
        print(f"objects: {n}  files: {size / 2**20:.1f} MiB")
        print(f"Bundle.load:           {load_cpu:.2f} s CPU ({n / load_cpu:,.0f} objects/s), {load_wall:.2f} s wall")
        print(f"Bundle.from_manifests: {plain_cpu:.2f} s CPU ({n / plain_cpu:,.0f} objects/s), {plain_wall:.2f} s wall")
        print(f"Bundle.save (over):    {save_cpu:.2f} s CPU ({n / save_cpu:,.0f} objects/s), {save_wall:.2f} s wall")
        if args.profile:
            import cProfile
            import pstats

            prof = cProfile.Profile()
            prof.enable()
            Bundle.load(root)
            prof.disable()
            pstats.Stats(prof).sort_stats("tottime").print_stats(20)
        summary = {
            "objects": n,
            "load_cpu_s": round(load_cpu, 3),
            "from_manifests_cpu_s": round(plain_cpu, 3),
            "save_cpu_s": round(save_cpu, 3),
        }
        print(json.dumps(summary))


if __name__ == "__main__":
    main()
