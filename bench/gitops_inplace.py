"""Benchmark: in-place translation of a large GitOps tree (``portkit.gitops.translate_tree``).

The tree is the test corpus (``tests/corpus/**/*.yaml`` and the golden apps, each file under its own
source provider's directory) copied N times (default 20). The in-place translation (read, translate,
splice, write) is timed against the bundle translation of the same files (``Bundle.from_manifests`` +
``portkit.translate`` file by file: some corpus files define the same objects), which reads and
translates but keeps no formatting and writes nothing.

    python bench/gitops_inplace.py                    # 20 copies, 3 rounds
    python bench/gitops_inplace.py --copies 5 --rounds 1
    python bench/gitops_inplace.py --composer ruamel    # node positions from ruamel.yaml's composer
    python bench/gitops_inplace.py -o json

Prints files, objects, bytes, wall-clock and CPU seconds and the CPU-time ratio to the bundle translation
per round and as medians (CPU time, because the machine may be shared); exits 0 either way (a benchmark,
not a test).
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PROVIDERS = {"eks": "aws", "gke": "gke", "aks": "aks", "openshift": "openshift"}


def corpus_files() -> list[tuple[str, Path]]:
    """(source provider, file) of every corpus YAML file and golden app."""
    out = [(PROVIDERS[p.parent.name], p) for p in sorted((ROOT / "tests" / "corpus").glob("*/*.yaml"))]
    for provider in ("aws", "gke", "aks", "openshift"):
        out.append((provider, ROOT / "tests" / "unit" / "golden" / "apps" / f"{provider}-shop.yaml"))
    return out


def build_tree(dest: Path, copies: int) -> dict[str, Path]:
    """One directory per source provider under ``dest``, each holding ``copies`` copies of its files."""
    roots: dict[str, Path] = {}
    for provider, file in corpus_files():
        root = roots.setdefault(provider, dest / provider)
        for n in range(copies):
            target = root / f"copy{n:02d}" / file.name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(file, target)
    return roots


def run_round(copies: int, target: str) -> dict[str, Any]:
    from portkit.bundle import Bundle
    from portkit.gitops import translate_tree
    from portkit.translate import translate

    with tempfile.TemporaryDirectory(prefix="portkit-gitops-bench-") as tmp:
        roots = build_tree(Path(tmp), copies)
        files = sum(1 for r in roots.values() for _ in r.rglob("*.yaml"))
        size = sum(p.stat().st_size for r in roots.values() for p in r.rglob("*.yaml"))
        t0, c0 = time.perf_counter(), time.process_time()
        objects = changed = 0
        methods: dict[str, int] = {}
        for provider, root in sorted(roots.items()):
            result = translate_tree(root, provider, target, namespace="bench", in_place=True)
            objects += result.objects
            changed += len(result.changed_files)
            for f in result.files:
                for m in f.methods:
                    methods[m] = methods.get(m, 0) + 1
        in_place, in_place_cpu = time.perf_counter() - t0, time.process_time() - c0
        t0, c0 = time.perf_counter(), time.process_time()
        bundle_objects = 0
        for provider, root in sorted(roots.items()):
            # one bundle per file: some corpus files define the same objects, so a directory is no bundle
            for file in sorted(root.rglob("*.yaml")):
                bundle = Bundle.from_manifests(file, namespace="bench")
                bundle_objects += len(translate(bundle, source=provider, target=target).bundle)
        bundle_time, bundle_cpu = time.perf_counter() - t0, time.process_time() - c0
    return {
        "files": files,
        "bytes": size,
        "objects": objects,
        "files_changed": changed,
        "methods": methods,
        "in_place_s": round(in_place, 3),
        "bundle_translate_s": round(bundle_time, 3),
        "in_place_cpu_s": round(in_place_cpu, 3),
        "bundle_translate_cpu_s": round(bundle_cpu, 3),
        # CPU time: the machine may be shared; wall-clock ratios drift with the load
        "ratio_in_place_to_bundle": round(in_place_cpu / bundle_cpu, 2) if bundle_cpu else None,
        "files_per_s": round(files / in_place, 1),
        "mb_per_s": round(size / in_place / 2**20, 2),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--copies", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--to", dest="target", default="ionos")
    parser.add_argument(
        "--composer",
        choices=["libyaml", "ruamel"],
        default=None,
        help="the YAML composer giving node positions (default: libyaml when PyYAML has it)",
    )
    parser.add_argument("-o", "--output", choices=["text", "json"], default="text")
    args = parser.parse_args(argv)
    if args.composer:
        import portkit.gitops._splice as splice

        splice.COMPOSER = args.composer
    rounds = [run_round(args.copies, args.target) for _ in range(args.rounds)]
    import portkit.gitops._splice as splice

    summary = {
        "composer": splice.COMPOSER,
        "copies": args.copies,
        "target": args.target,
        "rounds": rounds,
        "median_in_place_s": statistics.median(r["in_place_s"] for r in rounds),
        "median_ratio_in_place_to_bundle": statistics.median(r["ratio_in_place_to_bundle"] for r in rounds),
    }
    if args.output == "json":
        json.dump(summary, sys.stdout, indent=2)
        print()
        return 0
    first = rounds[0]
    print(
        f"tree: {first['files']} files, {first['bytes'] / 2**20:.1f} MiB, {first['objects']} objects "
        f"({args.copies} copies of the corpus), target {args.target}, composer {summary['composer']}"
    )
    for i, r in enumerate(rounds, 1):
        print(
            f"round {i}: in place {r['in_place_s']:.2f} s wall / {r['in_place_cpu_s']:.2f} s CPU "
            f"({r['files_per_s']} files/s, {r['mb_per_s']} MiB/s wall, {r['files_changed']} files written, "
            f"{r['methods']}); bundle translation {r['bundle_translate_s']:.2f} s wall / "
            f"{r['bundle_translate_cpu_s']:.2f} s CPU; CPU ratio {r['ratio_in_place_to_bundle']}"
        )
    print(
        f"median: in place {summary['median_in_place_s']:.2f} s wall, "
        f"{summary['median_ratio_in_place_to_bundle']}x the bundle translation's CPU time"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
